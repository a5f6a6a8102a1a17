//! `stats()`: cheap counters about the scheduler, read without stopping it.

use std::sync::atomic::Ordering::Relaxed;

use super::{context, Shared};

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
/// });
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Goroutines alive, counting each thread inside `block_on`.
    pub goroutines: usize,
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
    /// `spawn_blocking` calls queued or running.
    pub blocking_in_flight: usize,
    /// Timers armed.
    pub timers: usize,
    /// OS threads (in the whole process) parked inside a goro `_blocking` call.
    pub threads_in_blocking_calls: usize,
    /// Sockets registered with the netpoller.
    pub io_registrations: usize,
}

/// Counters of one worker.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Goroutine polls this worker has run.
    pub polls: u64,
    /// Goroutines in its local run queue now.
    pub queued: usize,
}

pub(crate) fn collect(s: &Shared) -> Stats {
    Stats {
        goroutines: s.owned.len() + s.main.active.load(Relaxed),
        procs: s.procs,
        workers: s
            .remotes
            .iter()
            .map(|r| WorkerStats {
                polls: r.ran.load(Relaxed),
                queued: r.steal.len(),
            })
            .collect(),
        parked_workers: s.idle.num_parked(),
        searching_workers: s.idle.num_searching(),
        injector_queued: s.inject.len(),
        blocking_threads: s.blocking.threads(),
        blocking_in_flight: s.blocking.in_flight(),
        timers: s.timers.len(),
        threads_in_blocking_calls: crate::wait::threads_in_blocking_calls(),
        io_registrations: s.io.registered(),
    }
}

/// The counters of the runtime this thread serves; `None` outside one.
pub fn stats() -> Option<Stats> {
    context::with(|ctx| ctx.map(|c| collect(c.shared())))
}
