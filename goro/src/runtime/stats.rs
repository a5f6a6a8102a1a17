//! `stats()`: cheap counters about the scheduler, read without stopping it.
//!
//! Every counter is either a gauge read from a structure that exists anyway
//! (queue lengths, the idle word, the owned list) or a `Relaxed` add on a
//! path that is already slow (a successful steal, a sysmon hand-off, a
//! thread start). Only `blocked` walks the goroutine list (one list lock
//! at a time), so `stats()` costs O(goroutines); the scheduler pays nothing.

use crate::loom::atomic::Ordering::Relaxed;

use super::{context, Shared};
use crate::{task::state, wait::WaitReason};

/// A snapshot of a runtime's counters. Each field is read on its own, so
/// a snapshot taken while goroutines run is approximate.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let s = goro::runtime::stats().unwrap();
///     assert_eq!(s.goroutines, 1); // main
///     assert_eq!(s.workers.len(), s.procs);
///
///     // Three goroutines blocked receiving from a channel.
///     let (tx, rx) = goro::chan::<u8>(0);
///     let hs: Vec<_> = (0..3)
///         .map(|_| {
///             let rx = rx.clone();
///             goro::go(async move { rx.recv().await })
///         })
///         .collect();
///     let receiving = |s: &goro::runtime::Stats| {
///         s.blocked
///             .iter()
///             .find(|(r, _)| *r == goro::runtime::WaitReason::ChanReceive)
///             .map_or(0, |(_, n)| *n)
///     };
///     while receiving(&goro::runtime::stats().unwrap()) < 3 {
///         goro::yield_now().await;
///     }
///     drop(tx); // closing wakes them
///     for h in hs {
///         assert_eq!(h.await.unwrap(), None);
///     }
/// });
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Goroutines alive, counting each thread inside `block_on`.
    pub goroutines: usize,
    /// Goroutines queued to run: in the injector, the workers' rings and
    /// their `runnext` slots (not counting the ones running now).
    pub runnable: usize,
    /// Goroutines blocked, by what they wait for (Go's wait reasons), in
    /// no particular order, only reasons with at least one goroutine.
    /// `WaitReason::None` counts goroutines waiting on something that is
    /// not a goro primitive (a foreign future). The main goroutine is not
    /// counted.
    pub blocked: Vec<(WaitReason, usize)>,
    /// Worker threads (Go's `GOMAXPROCS`).
    pub procs: usize,
    /// Per-worker counters, by worker index.
    pub workers: Vec<WorkerStats>,
    /// Workers parked (asleep with nothing to run).
    pub parked_workers: usize,
    /// Workers looking for work to steal.
    pub searching_workers: usize,
    /// Goroutines waiting in the global queue.
    pub injector_queued: usize,
    /// Threads in the `spawn_blocking` pool.
    pub blocking_threads: usize,
    /// Successful steals (a worker or replacement thread took half of
    /// another worker's ring), since the runtime started.
    pub steals: u64,
    /// Hand-offs: times sysmon found a thread stuck inside one poll for
    /// longer than the threshold and moved its queue to the others (Go's
    /// `retake`), since the runtime started.
    pub handoffs: u64,
    /// Workers stuck in one poll right now (as sysmon last saw them).
    pub stuck_workers: usize,
    /// Replacement threads sysmon has started since the runtime started.
    pub replacement_threads_started: u64,
    /// Replacement threads alive now (running, idle, or spare).
    pub replacement_threads: usize,
    /// `spawn_blocking` calls queued or running.
    pub blocking_in_flight: usize,
    /// Timers armed.
    pub timers: usize,
    /// OS threads (in the whole process) waiting inside a goro `_blocking`
    /// call: asleep, or spinning for a few microseconds before they sleep.
    pub threads_in_blocking_calls: usize,
    /// Sockets registered with the netpoller.
    pub io_registrations: usize,
}

/// Counters of one worker.
///
/// # Examples
///
/// ```
/// let rt = goro::Runtime::builder().procs(2).build().unwrap();
/// rt.block_on(async {
///     for _ in 0..10 {
///         goro::go(async {}).await.unwrap();
///     }
/// });
/// let polls: u64 = rt.stats().workers.iter().map(|w| w.polls).sum();
/// assert!(polls >= 10);
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Goroutine polls this worker has run.
    pub polls: u64,
    /// Goroutines in its local run queue now.
    pub queued: usize,
    /// Times another thread stole from its queue.
    pub stolen_from: u64,
}

pub(crate) fn collect(s: &Shared) -> Stats {
    let mut blocked: Vec<(WaitReason, usize)> = Vec::new();
    s.owned.for_each(|h| {
        let st = h.state.load();
        if st.has(state::RUNNING) || st.has(state::NOTIFIED) {
            return;
        }
        let (reason, _, _) = h.wait();
        match blocked.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => blocked.push((reason, 1)),
        }
    });
    let runnable = s.inject.len()
        + s.remotes
            .iter()
            .map(|r| r.steal.len() + usize::from(r.steal.has_next()))
            .sum::<usize>();
    Stats {
        goroutines: s.owned.len() + s.main.active.load(Relaxed),
        runnable,
        blocked,
        procs: s.procs,
        workers: s
            .remotes
            .iter()
            .map(|r| WorkerStats {
                polls: r.stamp.polls(),
                queued: r.steal.len(),
                stolen_from: r.steals.load(Relaxed),
            })
            .collect(),
        parked_workers: s.idle.num_parked(),
        searching_workers: s.idle.num_searching(),
        injector_queued: s.inject.len(),
        blocking_threads: s.blocking.threads(),
        steals: s.remotes.iter().map(|r| r.steals.load(Relaxed)).sum(),
        handoffs: s.sysmon.handoffs.load(Relaxed),
        stuck_workers: s.sysmon.stuck_workers(),
        replacement_threads_started: s.sysmon.threads_started.load(Relaxed),
        replacement_threads: s.sysmon.helper_threads(),
        blocking_in_flight: s.blocking.in_flight(),
        timers: s.timers.len(),
        threads_in_blocking_calls: crate::wait::threads_in_blocking_calls(),
        io_registrations: s.io.registered(),
    }
}

/// The counters of the runtime this thread serves; `None` outside one.
///
/// # Examples
///
/// ```
/// assert!(goro::runtime::stats().is_none()); // not in a runtime
/// goro::run(async {
///     let s = goro::runtime::stats().unwrap();
///     assert_eq!(s.goroutines, 1); // main
/// });
/// ```
pub fn stats() -> Option<Stats> {
    context::with(|ctx| ctx.map(|c| collect(c.shared())))
}
