//! The per-worker run queue: a fixed ring that its owner pushes and pops,
//! and that idle workers steal half of (Go's `runq`).
//!
//! Protocol:
//! - `tail` is written only by the owner (Release), after the slot.
//! - `head` is advanced by compare-and-swap, by the owner (pop) and by
//!   thieves (steal). A consumer reads slots `[head, head+n)` first and then
//!   claims them with the CAS; if the CAS fails the values read are thrown
//!   away and it retries.
//! - Only the owner writes slots, and only outside `[head, tail)`. A thief
//!   that read a stale `head` may read a slot while the owner overwrites
//!   it; its CAS then fails. Slots are `AtomicPtr`s (Relaxed) so that race
//!   is defined behaviour.
//! - A task pointer carries the queue's reference; whoever wins the CAS owns
//!   it.
//!
//! When the ring is full the owner moves half of it, plus the new task, to
//! the global injector in one batch (Go's `runqputslow`).
//!
//! `runnext` (the goroutine to run next, Go's `runnext`) lives here too, as
//! one `AtomicPtr` slot, so that sysmon can take it from a worker stuck in a
//! poll. Only the owner puts a task in it; the owner and sysmon take it out
//! with a swap, so exactly one of them gets it. A put into an empty slot is
//! a plain store: nobody but the owner can make an empty slot non-empty.

use std::ptr::{self, NonNull};

use crate::{
    loom::atomic::{
        AtomicBool, AtomicPtr, AtomicU32,
        Ordering::{AcqRel, Acquire, Relaxed, Release},
    },
    task::{Header, Notified},
};

#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;
const MASK: u32 = CAPACITY as u32 - 1;

pub(crate) struct Inner {
    head: AtomicU32,
    tail: AtomicU32,
    buf: Box<[AtomicPtr<Header>]>,
    /// `runnext`: null or a task carrying its queue reference.
    next: AtomicPtr<Header>,
    /// The owner's `tail` after it last queued new work (a spawned
    /// goroutine, one the netpoller or a timer made ready): everything
    /// below it is for any idle worker to take at once. Goroutines woken
    /// by the one running sit above it until they have waited a while
    /// (see `Worker::steal_waiting`). Advisory, like `retaken`.
    eager: AtomicU32,
    /// Set by sysmon while the owner is stuck in one poll: the owner then
    /// queues the goroutines it wakes on its ring instead of `runnext`
    /// (the ring is stealable; see `Worker::schedule`). Advisory: a stale
    /// read only changes where a task is queued.
    retaken: AtomicBool,
}

/// The owner's end.
pub(crate) struct Local(std::sync::Arc<Inner>);

/// Everybody else's end: steal and look.
#[derive(Clone)]
pub(crate) struct Steal(std::sync::Arc<Inner>);

pub(crate) fn new() -> (Local, Steal) {
    let inner = std::sync::Arc::new(Inner {
        head: AtomicU32::new(0),
        tail: AtomicU32::new(0),
        buf: (0..CAPACITY)
            .map(|_| AtomicPtr::new(ptr::null_mut()))
            .collect(),
        next: AtomicPtr::new(ptr::null_mut()),
        eager: AtomicU32::new(0),
        retaken: AtomicBool::new(false),
    });
    (Local(inner.clone()), Steal(inner))
}

impl Inner {
    fn len(&self) -> u32 {
        let t = self.tail.load(Acquire);
        let h = self.head.load(Acquire);
        t.wrapping_sub(h)
    }

    /// Takes `runnext`, if any (owner or sysmon).
    #[inline]
    fn take_next(&self) -> Option<Notified> {
        if self.next.load(Relaxed).is_null() {
            return None;
        }
        let p = self.next.swap(ptr::null_mut(), Acquire);
        // SAFETY: a non-null slot holds a queue reference, which the swap
        // gave to us alone.
        NonNull::new(p).map(|p| unsafe { Notified::from_raw(p) })
    }
}

impl Local {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.0.len() as usize
    }

    /// Appends a task; when the ring is full, moves half of it and the task
    /// to `overflow` as one batch.
    #[inline]
    pub(crate) fn push_back(&mut self, task: Notified, overflow: impl FnOnce(Vec<Notified>)) {
        let q = &*self.0;
        loop {
            let h = q.head.load(Acquire);
            // Only we write `tail`.
            let t = q.tail.load(Relaxed);
            if t.wrapping_sub(h) < CAPACITY as u32 {
                q.buf[(t & MASK) as usize].store(task.into_raw().as_ptr(), Relaxed);
                q.tail.store(t.wrapping_add(1), Release);
                return;
            }
            // Full: grab half for the injector.
            let n = CAPACITY as u32 / 2;
            let mut batch = Vec::with_capacity(n as usize + 1);
            for i in 0..n {
                batch.push(q.buf[(h.wrapping_add(i) & MASK) as usize].load(Relaxed));
            }
            if q.head
                .compare_exchange(h, h.wrapping_add(n), AcqRel, Acquire)
                .is_err()
            {
                // A thief took some: there is room now.
                continue;
            }
            let mut tasks: Vec<Notified> = batch
                .into_iter()
                .map(|p| {
                    // SAFETY: we won the slots with the CAS; each holds a
                    // queue reference to a live task.
                    unsafe { Notified::from_raw(NonNull::new_unchecked(p)) }
                })
                .collect();
            tasks.push(task);
            overflow(tasks);
            return;
        }
    }

    /// Takes the oldest task.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Notified> {
        let q = &*self.0;
        loop {
            let h = q.head.load(Acquire);
            let t = q.tail.load(Relaxed);
            if h == t {
                return None;
            }
            let p = q.buf[(h & MASK) as usize].load(Relaxed);
            if q.head
                .compare_exchange(h, h.wrapping_add(1), AcqRel, Acquire)
                .is_ok()
            {
                // SAFETY: we won the slot; it holds a queue reference.
                return Some(unsafe { Notified::from_raw(NonNull::new_unchecked(p)) });
            }
        }
    }

    /// Makes `task` the next to run; returns the task it displaced.
    #[inline]
    pub(crate) fn put_next(&mut self, task: Notified) -> Option<Notified> {
        let q = &*self.0;
        let p = task.into_raw().as_ptr();
        if q.next.load(Relaxed).is_null() {
            // Only the owner fills the slot, so it stays empty until this
            // store; Release publishes the task to a taker's Acquire swap.
            q.next.store(p, Release);
            return None;
        }
        let prev = q.next.swap(p, AcqRel);
        // SAFETY: the swap gave us the slot's previous reference, if any.
        NonNull::new(prev).map(|p| unsafe { Notified::from_raw(p) })
    }

    /// Takes `runnext`, if any.
    #[inline]
    pub(crate) fn take_next(&mut self) -> Option<Notified> {
        self.0.take_next()
    }

    /// Whether sysmon marked this queue's owner as stuck.
    #[inline]
    pub(crate) fn is_retaken(&self) -> bool {
        self.0.retaken.load(Relaxed)
    }

    /// Marks everything queued so far as new work, for idle workers to
    /// steal at once.
    #[inline]
    pub(crate) fn mark_eager(&self) {
        // Only we write `tail`.
        self.0.eager.store(self.0.tail.load(Relaxed), Relaxed);
    }

    /// Room left before the ring is full.
    pub(crate) fn remaining(&self) -> usize {
        CAPACITY - self.len()
    }
}

impl Steal {
    pub(crate) fn len(&self) -> usize {
        self.0.len() as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Marks the owner as stuck in one poll (sysmon), or not any more.
    pub(crate) fn set_retaken(&self, on: bool) {
        self.0.retaken.store(on, Relaxed);
    }

    /// Whether `runnext` holds a task (statistics).
    pub(crate) fn has_next(&self) -> bool {
        !self.0.next.load(Relaxed).is_null()
    }

    /// Takes the owner's `runnext`, if any (sysmon, from a stuck worker).
    pub(crate) fn take_next(&self) -> Option<Notified> {
        self.0.take_next()
    }

    /// Takes every task in the ring, oldest first (sysmon, from a stuck
    /// worker). Concurrent pops and steals take the others; each task goes
    /// to exactly one of them.
    pub(crate) fn take_all(&self) -> Vec<Notified> {
        let q = &*self.0;
        loop {
            let h = q.head.load(Acquire);
            let t = q.tail.load(Acquire);
            let n = t.wrapping_sub(h);
            if n == 0 {
                return Vec::new();
            }
            if n > CAPACITY as u32 {
                // Inconsistent read (head moved past our view of tail).
                continue;
            }
            let ptrs: Vec<*mut Header> = (0..n)
                .map(|i| q.buf[(h.wrapping_add(i) & MASK) as usize].load(Relaxed))
                .collect();
            if q.head.compare_exchange(h, t, AcqRel, Acquire).is_ok() {
                return ptrs
                    .into_iter()
                    .map(|p| {
                        // SAFETY: we won these slots with the CAS; each
                        // holds a queue reference to a live task.
                        unsafe { Notified::from_raw(NonNull::new_unchecked(p)) }
                    })
                    .collect();
            }
        }
    }

    /// The ring's `head`, `tail` and eager mark (see `Inner::eager`), as
    /// a thief sees them.
    pub(crate) fn ends(&self) -> (u32, u32, u32) {
        let h = self.0.head.load(Acquire);
        let t = self.0.tail.load(Acquire);
        (h, t, self.0.eager.load(Relaxed))
    }

    /// Steals half of this queue into `dst` (which must be empty), returning
    /// one of the stolen tasks to run at once.
    pub(crate) fn steal_into(&self, dst: &mut Local) -> Option<Notified> {
        if std::sync::Arc::ptr_eq(&self.0, &dst.0) {
            return None;
        }
        let src = &*self.0;
        let d = &*dst.0;
        let dst_tail = d.tail.load(Relaxed);
        let dst_head = d.head.load(Acquire);
        debug_assert_eq!(dst_tail, dst_head, "steal_into a non-empty queue");
        let _ = dst_head;
        let n = loop {
            let h = src.head.load(Acquire);
            let t = src.tail.load(Acquire);
            let len = t.wrapping_sub(h);
            if len == 0 || len > CAPACITY as u32 {
                // Empty, or an inconsistent read (head moved past our view
                // of tail): nothing to take this time.
                if len == 0 {
                    return None;
                }
                continue;
            }
            let n = len - len / 2;
            for i in 0..n {
                let p = src.buf[(h.wrapping_add(i) & MASK) as usize].load(Relaxed);
                d.buf[(dst_tail.wrapping_add(i) & MASK) as usize].store(p, Relaxed);
            }
            if src
                .head
                .compare_exchange(h, h.wrapping_add(n), AcqRel, Acquire)
                .is_ok()
            {
                break n;
            }
        };
        // Keep the last one to run now; publish the others.
        let last = dst_tail.wrapping_add(n - 1);
        let p = d.buf[(last & MASK) as usize].load(Relaxed);
        if n > 1 {
            d.tail.store(last, Release);
        }
        // SAFETY: we won these slots with the CAS on the victim's head.
        Some(unsafe { Notified::from_raw(NonNull::new_unchecked(p)) })
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Drop the references of tasks still queued (runtime shutdown).
        drop(self.take_next());
        while let Some(t) = self.pop() {
            drop(t);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The run queue against concurrent thieves: every task is run exactly
    //! once, none lost, none duplicated.
    use super::*;
    use crate::task::testing::{counted, shared, Counter};
    use loom::thread;

    #[test]
    fn push_pop_steal() {
        loom::model(|| {
            let counter = std::sync::Arc::new(Counter::default());
            let sh = shared();
            let (mut owner, steal) = new();
            let (mut thief_local, _) = new();
            let c2 = counter.clone();
            let th = thread::spawn(move || {
                let mut n = 0;
                if let Some(t) = steal.steal_into(&mut thief_local) {
                    c2.run(t);
                    n += 1;
                }
                while let Some(t) = thief_local.pop() {
                    c2.run(t);
                    n += 1;
                }
                n
            });
            let mut overflowed = Vec::new();
            for i in 0..3 {
                owner.push_back(counted(&sh, &counter, i), |b| overflowed.extend(b));
            }
            let mut n = 0;
            while let Some(t) = owner.pop() {
                counter.run(t);
                n += 1;
            }
            for t in overflowed {
                counter.run(t);
                n += 1;
            }
            n += th.join().unwrap();
            assert_eq!(n, 3);
            counter.assert_each_once(3);
        });
    }

    #[test]
    fn overflow_against_steal() {
        loom::model(|| {
            let counter = std::sync::Arc::new(Counter::default());
            let sh = shared();
            let (mut owner, steal) = new();
            let (mut thief_local, _) = new();
            // Fill the ring completely first.
            let mut overflowed = Vec::new();
            for i in 0..CAPACITY {
                owner.push_back(counted(&sh, &counter, i), |b| overflowed.extend(b));
            }
            let c2 = counter.clone();
            let th = thread::spawn(move || {
                let mut n = 0;
                if let Some(t) = steal.steal_into(&mut thief_local) {
                    c2.run(t);
                    n += 1;
                    while let Some(t) = thief_local.pop() {
                        c2.run(t);
                        n += 1;
                    }
                }
                n
            });
            owner.push_back(counted(&sh, &counter, CAPACITY), |b| overflowed.extend(b));
            let mut n = 0;
            while let Some(t) = owner.pop() {
                counter.run(t);
                n += 1;
            }
            for t in overflowed {
                counter.run(t);
                n += 1;
            }
            n += th.join().unwrap();
            assert_eq!(n, CAPACITY + 1);
            counter.assert_each_once(CAPACITY + 1);
        });
    }

    /// Sysmon's hand-off (see `sysmon/mod.rs`): a worker stuck in a poll keeps
    /// waking goroutines into its `runnext` and ring (displacing `runnext`
    /// to the ring) and then its poll ends and it takes its own queue
    /// again, while sysmon takes `runnext` and the whole ring for the
    /// injector. Every task is run exactly once, none lost.
    #[test]
    fn sysmon_takes_a_stuck_workers_queue() {
        loom::model(|| {
            let counter = std::sync::Arc::new(Counter::default());
            let sh = shared();
            let (mut owner, steal) = new();
            // Queued before the poll got stuck.
            owner
                .put_next(counted(&sh, &counter, 0))
                .map(|_| unreachable!());
            owner.push_back(counted(&sh, &counter, 1), |_| unreachable!());
            let c2 = counter.clone();
            let sysmon = thread::spawn(move || {
                let mut n = 0;
                for _ in 0..2 {
                    if let Some(t) = steal.take_next() {
                        c2.run(t);
                        n += 1;
                    }
                    for t in steal.take_all() {
                        c2.run(t);
                        n += 1;
                    }
                }
                n
            });
            // Inside the stuck poll: a wake displaces `runnext`.
            if let Some(prev) = owner.put_next(counted(&sh, &counter, 2)) {
                owner.push_back(prev, |_| unreachable!());
            }
            // The poll ends: the worker runs what is left of its queue.
            let mut n = 0;
            while let Some(t) = owner.take_next().or_else(|| owner.pop()) {
                counter.run(t);
                n += 1;
            }
            n += sysmon.join().unwrap();
            assert_eq!(n, 3);
            counter.assert_each_once(3);
        });
    }
}
