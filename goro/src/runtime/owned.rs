//! Every live goroutine of a runtime, for shutdown, `num_goroutine`, the
//! leak check and the goroutine dump.
//!
//! One list per worker, plus one for every other thread (the `block_on`
//! thread, blocking-pool threads; and workers past the 255th): a spawn puts
//! the task in a free slot of its own thread's list, under a lock that
//! other threads take only to read the list (a dump, the deadlock check)
//! or to close it at shutdown. The slot's place is written into the task's
//! state word (its *entry*: list and index, `task/state.rs`), so a
//! goroutine that finishes leaves its list at once, on whatever thread it
//! finishes, without the lock: one compare-and-swap on its slot, which
//! hands the list's reference to the finisher. A finished task is then
//! freed while it is still hot in the cache, and its block is reused by
//! the next spawn (before, finished tasks stayed listed until a lazy sweep
//! read every header again, cold: a fifth of skynet's time).
//!
//! A slot holds a task's header address, or 0 when free, and two tag bits
//! (a header is 8-aligned):
//!
//! | slot                | meaning                                              |
//! |---------------------|------------------------------------------------------|
//! | `0`                 | free (only the inserter, under the lock, fills it)   |
//! | `p`                 | task `p` is listed; the slot holds the list's reference |
//! | `p \| READING`      | a reader (under the lock) is looking at `p`          |
//! | `p \| READING \| DONE` | `p` finished while read: the reader drops the list's reference |
//!
//! Who writes what: the inserter `0 → p` (under the lock); the finisher
//! `p → 0` (taking the reference) or `p|READING → p|READING|DONE` (leaving
//! it to the reader); a reader `p → p|READING` and back, or
//! `p|READING|DONE → 0`, under the lock; shutdown `p → 0` under the lock
//! (taking the reference; the finisher's exchange then fails and it leaves
//! the reference to shutdown). Readers hold the lock, so at most one tags a
//! slot at a time. A finisher compares against its own address: while it
//! runs its task is alive, so no other task can have that address.
//!
//! A list's slots are buckets that double (`FIRST << b` slots in bucket
//! `b`), allocated by the inserter and never moved or freed before the
//! runtime, so a finisher reaches its slot without the lock. An index has
//! 24 bits: a list that has handed out all 16.7 million slots and finds
//! none free keeps further tasks in a plain vector (`spill`), swept lazily
//! of finished tasks as every list was before.
//!
//! The exact number of live goroutines is the sum of the per-thread
//! counters (each may be negative on its own). A worker's counter has one
//! writer, its worker thread (spawns and exits are counted on the thread
//! where they happen), so it is updated with a plain load and store rather
//! than a locked read-modify-write. The last list's counter, shared by every
//! other thread, keeps `fetch_add`. A task is counted from spawn until it
//! is about to be marked complete, so whoever sees a task finished also
//! sees `num_goroutine()` without it.
//!
//! Once closed (shutdown), inserts fail and the spawner cancels the new
//! task at once.

use std::ptr::NonNull;

use crossbeam_utils::CachePadded;

use crate::{
    loom::{
        atomic::{
            AtomicIsize, AtomicPtr, AtomicUsize,
            Ordering::{AcqRel, Acquire, Relaxed, Release},
        },
        lock, Mutex,
    },
    task::{
        raw,
        state::{HAS_ENTRY, NO_ENTRY},
        Header,
    },
};

/// Slots in a list's first bucket; bucket `b` has `FIRST << b`.
const FIRST: usize = if cfg!(loom) { 2 } else { 64 };
/// Buckets per list.
const BUCKETS: usize = 18;
/// Bits of an entry that are the slot's index; the rest name the list.
const INDEX_BITS: u32 = 24;
/// Slots a list can hand out: `FIRST * (2^BUCKETS - 1)`, below `2^24`.
const CAPACITY: usize = FIRST * ((1 << BUCKETS) - 1);
/// The most lists an entry can name.
const MAX_LISTS: usize = 1 << (32 - INDEX_BITS);
/// Slot tags.
const READING: usize = 1;
const DONE: usize = 2;
/// Slots an insert looks at for a free one before it takes a new one.
const SCAN: usize = 16;
/// Sweep no spill vector shorter than this.
const MIN_SWEEP: usize = 64;

const _: () = assert!(CAPACITY < 1 << INDEX_BITS);

pub(crate) struct OwnedTasks {
    lists: Box<[CachePadded<Shard>]>,
}

struct Shard {
    list: Mutex<List>,
    /// Spawns minus exits counted on this list's thread(s).
    live: AtomicIsize,
    /// Bucket `b`: `FIRST << b` slots, null until the inserter needs it.
    buckets: [AtomicPtr<AtomicUsize>; BUCKETS],
}

/// The inserter's and the readers' side of a list, under its lock.
struct List {
    /// Slots handed out so far: `0..high` may be in use, the rest are
    /// untouched.
    high: usize,
    /// Where the next search for a free slot starts.
    cursor: usize,
    /// Slots this list may hand out (`CAPACITY`; less in tests).
    cap: usize,
    /// Tasks that found no slot, swept lazily.
    spill: Vec<NonNull<Header>>,
    /// Sweep `spill` when it reaches this length.
    sweep_at: usize,
    closed: bool,
}

// SAFETY: the raw pointers are only followed under the list's lock, the
// list holds a reference to each of its tasks, and tasks may be touched
// from any thread.
unsafe impl Send for List {}

/// The entry of slot `i` of list `n` ([`split`] reads it back).
#[inline]
fn entry(n: usize, i: usize) -> u32 {
    ((n as u32) << INDEX_BITS) | i as u32
}

/// List and slot of `entry` (not `NO_ENTRY`).
#[inline]
fn split(entry: u32) -> (usize, usize) {
    (
        (entry >> INDEX_BITS) as usize,
        (entry & ((1 << INDEX_BITS) - 1)) as usize,
    )
}

/// Bucket and offset of slot `i`.
#[inline]
fn locate(i: usize) -> (usize, usize) {
    let n = i / FIRST + 1;
    let b = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (b, i - FIRST * ((1 << b) - 1))
}

impl Shard {
    fn new(cap: usize) -> Shard {
        Shard {
            list: Mutex::new(List {
                high: 0,
                cursor: 0,
                cap,
                spill: Vec::new(),
                sweep_at: MIN_SWEEP,
                closed: false,
            }),
            live: AtomicIsize::new(0),
            buckets: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
        }
    }

    /// Slot `i`, if its bucket exists.
    #[inline]
    fn slot(&self, i: usize) -> Option<&AtomicUsize> {
        let (b, off) = locate(i);
        let bucket = self.buckets.get(b)?.load(Acquire);
        if bucket.is_null() {
            return None;
        }
        // SAFETY: bucket `b` has `FIRST << b` slots and `off` is below
        // that; buckets live as long as the shard.
        Some(unsafe { &*bucket.add(off) })
    }

    /// A free slot's index (`list` is this shard's, locked), making a
    /// bucket if needed; `None` when every slot is taken.
    fn free_slot(&self, list: &mut List) -> Option<usize> {
        for _ in 0..SCAN.min(list.high) {
            let i = list.cursor;
            list.cursor = if i + 1 >= list.high { 0 } else { i + 1 };
            // Only the inserter fills a free slot, and we hold its lock.
            if self.slot(i).is_some_and(|s| s.load(Relaxed) == 0) {
                return Some(i);
            }
        }
        if list.high >= list.cap {
            return None;
        }
        let i = list.high;
        let (b, off) = locate(i);
        if off == 0 && self.buckets[b].load(Relaxed).is_null() {
            let slots: Box<[AtomicUsize]> = (0..FIRST << b).map(|_| AtomicUsize::new(0)).collect();
            let p = Box::into_raw(slots) as *mut AtomicUsize;
            // Release: a finisher's Acquire load sees the zeroed slots.
            self.buckets[b].store(p, Release);
        }
        list.high += 1;
        Some(i)
    }
}

impl Drop for Shard {
    fn drop(&mut self) {
        for (b, bucket) in self.buckets.iter_mut().enumerate() {
            let p = bucket.load(Relaxed);
            if !p.is_null() {
                // SAFETY: made in `free_slot` from a boxed slice of this
                // length; nothing can reach it any more.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, FIRST << b)) });
            }
        }
    }
}

/// What a reader found in a slot it tagged.
enum Read {
    /// Not a task (free, or taken meanwhile).
    Empty,
    /// Task `p`, tagged `READING`: untag it with [`Slot::done_reading`].
    Task(usize),
}

/// One slot's protocol (the table in the module docs), apart from the
/// lists around it so that the loom models can drive it directly.
struct Slot<'a>(&'a AtomicUsize);

impl Slot<'_> {
    /// The finisher of task `p`: takes `p` out. True when it took the
    /// list's reference; false when a reader or shutdown keeps it.
    fn remove(&self, p: usize) -> bool {
        let mut cur = p;
        loop {
            let new = if cur == p { 0 } else { p | READING | DONE };
            match self.0.compare_exchange(cur, new, AcqRel, Acquire) {
                Ok(_) => return cur == p,
                // A reader came or went: try again against what is there.
                Err(v) if v == p || v == p | READING => cur = v,
                // Not ours: taken by shutdown (or never listed here).
                Err(_) => return false,
            }
        }
    }

    /// A reader (holding the list's lock) tags the slot.
    fn start_reading(&self) -> Read {
        let v = self.0.load(Acquire);
        if v == 0 {
            return Read::Empty;
        }
        debug_assert_eq!(v & (READING | DONE), 0, "one reader at a time");
        match self.0.compare_exchange(v, v | READING, AcqRel, Acquire) {
            Ok(_) => Read::Task(v),
            // Only its finisher changes a listed slot we hold the lock of.
            Err(_) => Read::Empty,
        }
    }

    /// The reader is done with task `p`. True when `p` finished meanwhile:
    /// the slot is free and the list's reference is the reader's to drop.
    fn done_reading(&self, p: usize) -> bool {
        match self.0.compare_exchange(p | READING, p, AcqRel, Acquire) {
            Ok(_) => false,
            Err(v) => {
                debug_assert_eq!(v, p | READING | DONE);
                self.0.store(0, Release);
                true
            }
        }
    }

    /// Shutdown (holding the list's lock) takes whatever task is there,
    /// with the list's reference.
    fn take(&self) -> usize {
        let v = self.0.swap(0, AcqRel);
        debug_assert_eq!(v & (READING | DONE), 0, "no reader at shutdown");
        v
    }
}

impl OwnedTasks {
    /// Lists for `procs` workers and one for every other thread.
    pub(crate) fn new(procs: usize) -> OwnedTasks {
        OwnedTasks::with_capacity(procs, CAPACITY)
    }

    /// [`new`](Self::new) with `cap` slots a list (tests: the spill).
    fn with_capacity(procs: usize, cap: usize) -> OwnedTasks {
        let lists = procs.min(MAX_LISTS - 1) + 1;
        OwnedTasks {
            lists: (0..lists)
                .map(|_| CachePadded::new(Shard::new(cap.min(CAPACITY))))
                .collect(),
        }
    }

    /// The calling thread's list: its number and shard.
    fn shard(&self, worker: Option<usize>) -> (usize, &Shard) {
        let last = self.lists.len() - 1;
        let i = worker.map_or(last, |w| w.min(last));
        (i, &self.lists[i])
    }

    /// Adds `d` to the live counter of the calling thread's list (`worker`
    /// as for [`insert`](Self::insert)).
    #[inline]
    fn count(&self, worker: Option<usize>, d: isize) {
        let (i, shard) = self.shard(worker);
        if worker == Some(i) && i < self.lists.len() - 1 {
            // Worker `i`'s counter is written by worker thread `i` alone
            // (only that thread has `worker == Some(i)` in its context), so
            // no update can be lost between the load and the store.
            shard.live.store(shard.live.load(Relaxed) + d, Relaxed)
        } else {
            shard.live.fetch_add(d, Relaxed);
        }
    }

    /// Makes a new task with `make` and adds it to the calling thread's
    /// list (`worker`: its index, or `None` for other threads), with the
    /// list's reference. `make` is given the task's entry (`NO_ENTRY` when
    /// it gets no slot) to write into its state word, and returns what the
    /// caller wants back and the task. Returns that, the task, and whether
    /// it was listed: false when the runtime is shutting down (the task is
    /// made anyway, for the caller to cancel).
    ///
    /// `make` runs under the list's lock: it must only allocate, never run
    /// user code (nor drop any).
    pub(crate) fn insert<R>(
        &self,
        worker: Option<usize>,
        make: impl FnOnce(u32) -> (R, NonNull<Header>),
    ) -> (R, NonNull<Header>, bool) {
        let (n, shard) = self.shard(worker);
        // The refused task is cancelled at once and its exit is counted
        // like any other's: count it live either way.
        self.count(worker, 1);
        let (made, task, swept) = {
            let mut list = lock(&shard.list);
            if list.closed {
                drop(list);
                let (r, task) = make(NO_ENTRY);
                return (r, task, false);
            }
            // Where the state word has no room for an entry (not 64-bit),
            // every task goes to the spill vector, swept when finished.
            let slot = if HAS_ENTRY {
                shard.free_slot(&mut list)
            } else {
                None
            };
            if let Some(i) = slot {
                let (r, task) = make(entry(n, i));
                let slot = shard.slot(i).expect("a handed-out slot's bucket");
                // Release: a reader's Acquire sees the task's header.
                slot.store(task.as_ptr() as usize, Release);
                return (r, task, true);
            }
            let (r, task) = make(NO_ENTRY);
            list.spill.push(task);
            if list.spill.len() < list.sweep_at {
                return (r, task, true);
            }
            let mut done = Vec::new();
            list.spill.retain(|t| {
                // SAFETY: the list holds a reference to each task.
                let finished = unsafe { t.as_ref() }
                    .state
                    .load()
                    .has(crate::task::state::COMPLETE);
                if finished {
                    done.push(*t);
                }
                !finished
            });
            list.sweep_at = (list.spill.len() * 2).max(MIN_SWEEP);
            (r, task, done)
        };
        // Drop the list's references outside the lock: a last reference
        // frees the task.
        for t in swept {
            // SAFETY: the list's reference, taken out of the list above.
            unsafe { raw::drop_ref(t) };
        }
        (made, task, true)
    }

    /// Task `task` (a listed goroutine, alive) is finishing: takes it out
    /// of its list. True when the list's reference is now the caller's to
    /// drop; false when shutdown or a reader took it, or the task is in a
    /// spill vector (swept later) or was never listed.
    pub(crate) fn remove(&self, task: NonNull<Header>) -> bool {
        // SAFETY: the caller's task is alive.
        let e = unsafe { task.as_ref() }.state.load().entry();
        if e == NO_ENTRY {
            return false;
        }
        let (n, i) = split(e);
        match self.lists.get(n).and_then(|s| s.slot(i)) {
            Some(slot) => Slot(slot).remove(task.as_ptr() as usize),
            None => false,
        }
    }

    /// A goroutine finished on the calling thread: one fewer live.
    pub(crate) fn exited(&self, worker: Option<usize>) {
        self.count(worker, -1);
    }

    /// How many goroutines are live.
    pub(crate) fn len(&self) -> usize {
        let n: isize = self.lists.iter().map(|s| s.live.load(Relaxed)).sum();
        n.max(0) as usize
    }

    /// Closes every list and takes every task out, each with the list's
    /// reference (finished ones included; their shutdown is a no-op).
    pub(crate) fn close_and_take_all(&self) -> Vec<NonNull<Header>> {
        let mut all = Vec::new();
        for shard in self.lists.iter() {
            let mut list = lock(&shard.list);
            list.closed = true;
            for i in 0..list.high {
                let Some(slot) = shard.slot(i) else { continue };
                if let Some(t) = NonNull::new(Slot(slot).take() as *mut Header) {
                    all.push(t);
                }
            }
            all.append(&mut list.spill);
        }
        all
    }

    /// Calls `f` on every live goroutine, one list locked at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        self.all(|h| {
            f(h);
            true
        });
    }

    /// Whether `f` holds for every live goroutine; stops at the first for
    /// which it does not. `f` runs with a list's lock held.
    pub(crate) fn all(&self, mut f: impl FnMut(&Header) -> bool) -> bool {
        // Tasks that finished while we looked at them: the list's
        // references are ours, dropped once no lock is held.
        let mut handed = Vec::new();
        let mut holds = true;
        'lists: for shard in self.lists.iter() {
            let list = lock(&shard.list);
            let live = |h: &Header| !h.state.load().has(crate::task::state::COMPLETE);
            for i in 0..list.high {
                let Some(slot) = shard.slot(i).map(Slot) else {
                    continue;
                };
                let Read::Task(p) = slot.start_reading() else {
                    continue;
                };
                // SAFETY: tagged READING, the slot keeps the list's
                // reference until we untag it.
                let h = unsafe { &*(p as *const Header) };
                let ok = !live(h) || f(h);
                if slot.done_reading(p) {
                    handed.push(p);
                }
                if !ok {
                    holds = false;
                    break 'lists;
                }
            }
            for t in list.spill.iter() {
                // SAFETY: spilled tasks are alive while the list is locked.
                let h = unsafe { t.as_ref() };
                if live(h) && !f(h) {
                    holds = false;
                    break 'lists;
                }
            }
        }
        for p in handed {
            // SAFETY: the list's reference, handed over by the finisher.
            unsafe { raw::drop_ref(NonNull::new_unchecked(p as *mut Header)) };
        }
        holds
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{locate, OwnedTasks, Read, Slot, CAPACITY, DONE, FIRST, READING};
    use crate::loom::atomic::{AtomicUsize, Ordering::Relaxed};

    /// A spawn refused at shutdown is cancelled at once, and its exit is
    /// counted like any other: the refusal must count it live first
    /// (before, `num_goroutine` drifted one lower per refused spawn).
    #[test]
    fn refused_insert_keeps_the_live_count() {
        let owned = OwnedTasks::new(1);
        assert!(owned.close_and_take_all().is_empty());
        let ((), _, listed) = owned.insert(None, |_| ((), std::ptr::NonNull::dangling()));
        assert!(!listed);
        owned.exited(None);
        let raw: isize = owned.lists.iter().map(|s| s.live.load(Relaxed)).sum();
        assert_eq!(raw, 0);
    }

    /// A list whose slots are all taken keeps further tasks in its spill
    /// vector: listed for readers and shutdown, swept (not removed) when
    /// they finish; the tasks in slots leave at once.
    #[test]
    fn a_full_list_spills() {
        use crate::task::{raw, testing::TestSched, JoinHandle, Notified};
        let sh = crate::task::testing::shared();
        let owned = OwnedTasks::with_capacity(1, 4);
        let mut tasks = Vec::new();
        for i in 0..6u64 {
            let (n, ptr, listed) = owned.insert(Some(0), |e| {
                raw::allocate_listed::<_, TestSched>(
                    async move { i },
                    &sh,
                    i + 1,
                    0,
                    std::panic::Location::caller(),
                    e,
                )
            });
            assert!(listed);
            // SAFETY: `allocate` gave us the join-handle reference.
            tasks.push((n, ptr, unsafe { JoinHandle::<u64>::from_raw(ptr) }));
        }
        let mut ids = Vec::new();
        owned.for_each(|h| ids.push(h.id()));
        ids.sort();
        assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
        assert_eq!(owned.len(), 6);
        // The first four have slots: they leave their list at once.
        assert!(owned.remove(tasks[0].1), "a slotted task leaves its list");
        // SAFETY: `remove` handed us the list's reference.
        unsafe { raw::drop_ref(tasks[0].1) };
        assert!(!owned.remove(tasks[0].1), "and only once");
        assert!(
            !owned.remove(tasks[5].1),
            "a spilled task stays for the sweep"
        );
        let mut n = 0;
        owned.for_each(|_| n += 1);
        assert_eq!(n, 5);
        // Shutdown takes the other five (the spilled ones included), once.
        let all = owned.close_and_take_all();
        assert_eq!(all.len(), 5);
        assert!(owned.close_and_take_all().is_empty());
        for t in all {
            // SAFETY: `close_and_take_all` hands over the list's reference.
            unsafe { Notified::from_raw(t) }.shutdown();
        }
        drop(tasks);
        crate::task::testing::shutdown(&sh);
    }

    /// Slot indices map onto doubling buckets without gaps or overlaps.
    #[test]
    fn slots_fill_doubling_buckets() {
        let mut expect = (0, 0);
        for i in 0..FIRST * 63 {
            assert_eq!(locate(i), expect, "slot {i}");
            expect.1 += 1;
            if expect.1 == FIRST << expect.0 {
                expect = (expect.0 + 1, 0);
            }
        }
        let (b, off) = locate(CAPACITY - 1);
        assert_eq!((b, off), (super::BUCKETS - 1, (FIRST << b) - 1));
        // And an entry names list and slot, never `NO_ENTRY`.
        for (n, i) in [(0, 0), (3, 77), (super::MAX_LISTS - 1, CAPACITY - 1)] {
            assert_eq!(super::split(super::entry(n, i)), (n, i));
            assert_ne!(super::entry(n, i), super::NO_ENTRY);
        }
    }

    /// Every interleaving a single thread can produce, in order: a finisher
    /// alone takes the reference; a finisher during a read leaves it to the
    /// reader; a read alone gives it back; shutdown takes it from a later
    /// finisher.
    #[test]
    fn slot_protocol_sequences() {
        let p = 8usize;
        let a = AtomicUsize::new(p);
        let s = Slot(&a);
        assert!(s.remove(p));
        assert_eq!(a.load(Relaxed), 0);

        a.store(p, Relaxed);
        let Read::Task(q) = s.start_reading() else {
            panic!("listed")
        };
        assert_eq!(q, p);
        assert!(!s.remove(p), "the reader keeps the reference");
        assert_eq!(a.load(Relaxed), p | READING | DONE);
        assert!(s.done_reading(p));
        assert_eq!(a.load(Relaxed), 0);
        assert!(matches!(s.start_reading(), Read::Empty));

        a.store(p, Relaxed);
        let Read::Task(_) = s.start_reading() else {
            panic!("listed")
        };
        assert!(!s.done_reading(p));
        assert_eq!(a.load(Relaxed), p);
        assert_eq!(s.take(), p);
        assert!(!s.remove(p), "shutdown took it");
    }
}

/// Loom models of the slot protocol: whatever the interleaving of a
/// finisher, a reader and shutdown, the list's reference to the task goes
/// to exactly one of them, and a reader sees the task only while its slot
/// keeps that reference.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::{Read, Slot, DONE, READING};
    use crate::loom::{
        atomic::{AtomicUsize, Ordering::Relaxed},
        thread, Mutex,
    };
    use loom::sync::Arc;

    const P: usize = 8;

    struct List {
        slot: AtomicUsize,
        /// Readers and shutdown hold the list's lock.
        lock: Mutex<()>,
    }

    fn listed() -> Arc<List> {
        Arc::new(List {
            slot: AtomicUsize::new(P),
            lock: Mutex::new(()),
        })
    }

    /// A read under the lock; true when it was handed the reference.
    fn read(l: &List) -> bool {
        let _g = l.lock.lock().unwrap();
        let s = Slot(&l.slot);
        match s.start_reading() {
            Read::Empty => false,
            Read::Task(p) => {
                assert_eq!(p, P);
                // The task is alive here: the slot still holds the list's
                // reference (tagged), nobody else can have taken it.
                assert_eq!(l.slot.load(Relaxed) & !(READING | DONE), P);
                s.done_reading(p)
            }
        }
    }

    /// Shutdown under the lock; true when it took the reference.
    fn take(l: &List) -> bool {
        let _g = l.lock.lock().unwrap();
        Slot(&l.slot).take() == P
    }

    #[test]
    fn finisher_and_reader() {
        loom::model(|| {
            let l = listed();
            let l2 = l.clone();
            let reader = thread::spawn(move || read(&l2));
            let finisher = Slot(&l.slot).remove(P);
            let handed = reader.join().unwrap();
            assert!(finisher ^ handed, "exactly one owner: {finisher} {handed}");
            assert_eq!(l.slot.load(Relaxed), 0, "the slot is free after both");
        });
    }

    #[test]
    fn finisher_and_shutdown() {
        loom::model(|| {
            let l = listed();
            let l2 = l.clone();
            let closer = thread::spawn(move || take(&l2));
            let finisher = Slot(&l.slot).remove(P);
            let took = closer.join().unwrap();
            assert!(finisher ^ took, "exactly one owner: {finisher} {took}");
            assert_eq!(l.slot.load(Relaxed), 0);
        });
    }

    #[test]
    fn finisher_reader_then_shutdown() {
        loom::model(|| {
            let l = listed();
            let l2 = l.clone();
            let other = thread::spawn(move || {
                let handed = read(&l2);
                let took = take(&l2);
                usize::from(handed) + usize::from(took)
            });
            let finisher = usize::from(Slot(&l.slot).remove(P));
            let others = other.join().unwrap();
            assert_eq!(finisher + others, 1, "exactly one owner");
            assert_eq!(l.slot.load(Relaxed), 0);
        });
    }
}
