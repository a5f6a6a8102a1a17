//! The timer heap that drives `sleep`, `Timer`, `Ticker` and `timeout`.
//!
//! One heap per runtime (and one global heap, with its own thread, for
//! timers used outside any runtime). Entries are ordered by deadline, then
//! by insertion, so timers with equal deadlines fire in the order they were
//! set. The earliest deadline is mirrored in an atomic (`next`) so that a
//! worker can tell "nothing is due" without taking the lock, and so that a
//! worker about to park knows how long it may sleep.
//!
//! Cancellation is lazy: a cancelled entry stays in the heap, marked, until
//! it reaches the top; when marked entries outnumber live ones the heap is
//! rebuilt without them, so a loop of long timeouts that never fire does
//! not grow memory without bound.
//!
//! Shutdown: when its runtime is dropped, a heap hands its armed entries
//! to the global heap (`clear`) and forwards every later insert and cancel
//! there, so a timer that outlives its runtime still fires.
//!
//! Waking: an entry whose deadline is now the earliest returns `true` from
//! `insert`; the caller then kicks whoever sleeps on this heap (the
//! runtime's timer-driver worker, or the global timer thread).

use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    sync::Arc,
    task::Waker,
    time::{Duration, Instant},
};

use crate::loom::{
    atomic::{AtomicU64, AtomicU8, Ordering::*},
    lock, Mutex, MutexGuard,
};

const WAITING: u8 = 0;
const FIRED: u8 = 1;
const CANCELLED: u8 = 2;
const NONE: u64 = u64::MAX;

/// One armed timer, shared by its future and the heap.
#[derive(Debug)]
pub(crate) struct TimerEntry {
    state: AtomicU8,
    waker: Mutex<Option<Waker>>,
}

impl TimerEntry {
    pub(crate) fn new(waker: Waker) -> Arc<TimerEntry> {
        Arc::new(TimerEntry {
            state: AtomicU8::new(WAITING),
            waker: Mutex::new(Some(waker)),
        })
    }

    pub(crate) fn has_fired(&self) -> bool {
        self.state.load(Acquire) == FIRED
    }

    /// Replaces the stored waker unless it would wake the same task.
    pub(crate) fn set_waker(&self, waker: &Waker) {
        crate::wait::update_waker(&mut lock(&self.waker), waker);
    }
}

struct Entry {
    when: u64,
    seq: u64,
    timer: Arc<TimerEntry>,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.when, self.seq) == (o.when, o.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.when, self.seq).cmp(&(o.when, o.seq))
    }
}

struct Heap {
    entries: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    cancelled: usize,
    /// The runtime is gone: entries live in the global heap.
    closed: bool,
}

pub(crate) struct TimerDriver {
    heap: Mutex<Heap>,
    next: AtomicU64,
    epoch: Instant,
    /// The virtual clock of a paused runtime: nanoseconds since `epoch`
    /// (moved only by `advance_to`); `NONE` when the clock is real.
    paused_at: AtomicU64,
}

impl TimerDriver {
    pub(crate) fn new() -> TimerDriver {
        TimerDriver {
            heap: Mutex::new(Heap {
                entries: BinaryHeap::new(),
                seq: 0,
                cancelled: 0,
                closed: false,
            }),
            next: AtomicU64::new(NONE),
            epoch: Instant::now(),
            paused_at: AtomicU64::new(NONE),
        }
    }

    /// Stops this heap's clock: from now on `now()` moves only by
    /// `advance_to` (the test-mode virtual clock).
    pub(crate) fn pause(&self) {
        let now = self.to_nanos(Instant::now());
        self.paused_at.store(now, SeqCst);
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused_at.load(Relaxed) != NONE
    }

    /// The time on this heap's clock: real, or virtual when paused.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self.paused_at.load(Relaxed) {
            NONE => Instant::now(),
            n => self.epoch + Duration::from_nanos(n),
        }
    }

    /// Moves a paused clock forward to `t` (never backward).
    pub(crate) fn advance_to(&self, t: Instant) {
        let n = self.to_nanos(t);
        if self.is_paused() {
            self.paused_at.fetch_max(n, SeqCst);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Heap> {
        lock(&self.heap)
    }

    fn to_nanos(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch)
            .as_nanos()
            .min(NONE as u128 - 1) as u64
    }

    /// Arms `timer` for `deadline`. True when it became the earliest.
    pub(crate) fn insert(&self, deadline: Instant, timer: Arc<TimerEntry>) -> bool {
        let when = self.to_nanos(deadline);
        let mut heap = self.lock();
        if heap.closed {
            drop(heap);
            super::global_insert(deadline, timer);
            return false;
        }
        heap.seq += 1;
        let seq = heap.seq;
        heap.entries.push(Reverse(Entry { when, seq, timer }));
        let earliest = when < self.next.load(SeqCst);
        if earliest {
            self.next.store(when, SeqCst);
        }
        earliest
    }

    /// Disarms `timer` if it has not fired. True when it was disarmed.
    pub(crate) fn cancel(&self, timer: &TimerEntry) -> bool {
        if timer
            .state
            .compare_exchange(WAITING, CANCELLED, AcqRel, Acquire)
            .is_err()
        {
            return false;
        }
        // Dropped after the entry's lock is released: a waker's drop may
        // drop anything (a context node, a task).
        let waker = lock(&timer.waker).take();
        drop(waker);
        let mut heap = self.lock();
        if heap.closed {
            drop(heap);
            super::global_driver().count_cancelled();
            return true;
        }
        heap.cancelled += 1;
        if heap.cancelled > 64 && heap.cancelled * 2 > heap.entries.len() {
            let entries = std::mem::take(&mut heap.entries);
            heap.entries = entries
                .into_iter()
                .filter(|Reverse(e)| e.timer.state.load(Acquire) == WAITING)
                .collect();
            heap.cancelled = 0;
            self.publish_next(&heap);
        }
        true
    }

    /// An entry handed to this (the global) heap was cancelled through its
    /// closed runtime heap.
    fn count_cancelled(&self) {
        self.lock().cancelled += 1;
    }

    fn publish_next(&self, heap: &Heap) {
        let next = heap.entries.peek().map_or(NONE, |Reverse(e)| e.when);
        self.next.store(next, SeqCst);
    }

    /// The earliest deadline, if any timer is armed (possibly a cancelled
    /// one still in the heap: waking for it early is harmless).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match self.next.load(SeqCst) {
            NONE => None,
            n => Some(self.epoch + Duration::from_nanos(n)),
        }
    }

    /// Fires every timer due at `now`. Returns how many it woke.
    pub(crate) fn fire_expired(&self, now: Instant) -> usize {
        let now_n = self.to_nanos(now);
        if self.next.load(SeqCst) > now_n {
            return 0;
        }
        let mut wakers = Vec::new();
        {
            let mut heap = self.lock();
            while let Some(Reverse(top)) = heap.entries.peek() {
                if top.when > now_n {
                    break;
                }
                let Reverse(e) = heap.entries.pop().expect("peeked");
                if e.timer
                    .state
                    .compare_exchange(WAITING, FIRED, AcqRel, Acquire)
                    .is_ok()
                {
                    if let Some(w) = lock(&e.timer.waker).take() {
                        wakers.push(w);
                    }
                } else {
                    heap.cancelled = heap.cancelled.saturating_sub(1);
                }
            }
            self.publish_next(&heap);
        }
        let n = wakers.len();
        for w in wakers {
            // A foreign waker may panic: it must not unwind through a
            // worker or the timer thread.
            crate::task::wake_contained(w);
        }
        n
    }

    /// Armed timers (including cancelled ones not yet swept).
    pub(crate) fn len(&self) -> usize {
        let heap = self.lock();
        heap.entries.len() - heap.cancelled.min(heap.entries.len())
    }

    /// Runtime shutdown: hands every armed entry to the global heap (a
    /// `sleep` or `Timer` polled again from another executor, an `after`
    /// channel received from on a thread, still fire) and forwards later
    /// inserts and cancels there. A paused clock resumes real time.
    /// Cancelled entries are dropped outside the lock.
    pub(crate) fn clear(&self) {
        let entries = {
            let mut heap = self.lock();
            heap.cancelled = 0;
            heap.closed = true;
            self.next.store(NONE, SeqCst);
            self.paused_at.store(NONE, SeqCst);
            std::mem::take(&mut heap.entries)
        };
        for Reverse(e) in entries {
            if e.timer.state.load(Acquire) == WAITING {
                let at = self.epoch + Duration::from_nanos(e.when);
                super::global_insert(at, e.timer);
            } else {
                // A fired or cancelled entry may hold the last handle to a
                // foreign waker whose drop panics.
                crate::task::drop_contained(e);
            }
        }
    }
}
