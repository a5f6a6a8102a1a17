//! Which workers are awake, which are searching for work, and waking a
//! parked one when work appears (Go's `npidle`/`nmspinning`/`wakep`).
//!
//! State: one atomic word packing `searching` (low half) and `unparked`
//! (high half), plus the list of parked workers under a mutex.
//!
//! Rules:
//! - A producer (spawn, wake, timer) that queued work calls
//!   `Shared::notify_parked` (below): if
//!   nobody is searching and somebody is parked, it unparks one worker,
//!   which starts out searching. One searcher is enough: when a searcher
//!   finds work and it was the last one searching, it calls `notify_parked`
//!   again
//!   (Go's `resetspinning`), so wake-ups chain only while work remains.
//! - At most half the workers search at once, so stealing does not turn
//!   into a stampede.
//! - A worker parks in three steps: announce (`to_parked`), re-check every
//!   queue if it was the last searcher, then sleep. The `SeqCst` fence in
//!   `worker_to_notify` and the lock in `to_parked` make sure that a producer either
//!   sees the worker parked (and wakes it) or the worker's re-check sees
//!   the producer's work.

use super::Shared;
use crate::loom::{
    atomic::{fence, AtomicUsize, Ordering::SeqCst},
    lock, Mutex,
};

const UNPARKED_SHIFT: u32 = usize::BITS / 2;
const SEARCH_MASK: usize = (1 << UNPARKED_SHIFT) - 1;
const UNPARKED_ONE: usize = 1 << UNPARKED_SHIFT;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    procs: usize,
}

impl Idle {
    /// All workers start unparked and not searching.
    pub(crate) fn new(procs: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(procs << UNPARKED_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(procs)),
            procs,
        }
    }

    fn searching(s: usize) -> usize {
        s & SEARCH_MASK
    }

    fn unparked(s: usize) -> usize {
        s >> UNPARKED_SHIFT
    }

    pub(crate) fn num_searching(&self) -> usize {
        Self::searching(self.state.load(SeqCst))
    }

    pub(crate) fn num_parked(&self) -> usize {
        self.procs - Self::unparked(self.state.load(SeqCst))
    }

    /// Called after queueing work: the worker to unpark, if one should be.
    /// The returned worker has been counted as unparked and searching.
    #[inline]
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        fence(SeqCst);
        if !self.should_notify() {
            return None;
        }
        self.notify_slow()
    }

    #[inline]
    fn should_notify(&self) -> bool {
        let s = self.state.load(SeqCst);
        Self::searching(s) == 0 && Self::unparked(s) < self.procs
    }

    #[cold]
    fn notify_slow(&self) -> Option<usize> {
        let mut sleepers = lock(&self.sleepers);
        if !self.should_notify() {
            return None;
        }
        let w = sleepers.pop()?;
        self.state.fetch_add(UNPARKED_ONE | 1, SeqCst);
        Some(w)
    }

    /// A worker with nothing to run asks to search (steal). False when
    /// enough workers already search.
    pub(crate) fn to_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * Self::searching(s) >= self.procs.max(2) {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searching worker stops searching. True when it was the last one.
    pub(crate) fn stop_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        debug_assert!(Self::searching(prev) > 0);
        Self::searching(prev) == 1
    }

    /// The worker goes to sleep. True when it was the last searcher, in
    /// which case the caller must re-check every queue before sleeping.
    pub(crate) fn to_parked(&self, worker: usize, searching: bool) -> bool {
        let mut sleepers = lock(&self.sleepers);
        let dec = UNPARKED_ONE | usize::from(searching);
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(worker);
        searching && Self::searching(prev) == 1
    }

    /// A parked worker woke on its own (timer, shutdown, spurious): take it
    /// out of the list. Returns false if a notifier already did (it is then
    /// counted as searching).
    pub(crate) fn unpark_self(&self, worker: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        if let Some(i) = sleepers.iter().position(|&w| w == worker) {
            sleepers.swap_remove(i);
            self.state.fetch_add(UNPARKED_ONE, SeqCst);
            true
        } else {
            false
        }
    }

    /// Every parked worker, for shutdown.
    pub(crate) fn all_parked(&self) -> Vec<usize> {
        lock(&self.sleepers).clone()
    }
}

impl Shared {
    /// Wakes a parked worker if work was queued and nobody searches.
    #[inline]
    pub(crate) fn notify_parked(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.unpark_worker(w);
        } else {
            // While a worker is stuck in a poll, its replacement may be
            // the one to wake (one load; 0 otherwise).
            self.sysmon.notify_helper();
        }
    }

    /// Wakes worker `w`: its parker, and the netpoller if `w` sleeps in
    /// `epoll_wait` as the timer driver. Pairs with the driver storing the
    /// role, then `Parker::try_take` before it polls (all `SeqCst`): either
    /// the driver sees this notification, or this sees the role and wakes
    /// the poller.
    pub(crate) fn unpark_worker(&self, w: usize) {
        self.timer_driver
            .unpark(w, &self.remotes[w].parker, || self.io.wake());
    }
}
