//! Sysmon: the monitor thread that keeps goroutines moving when one of
//! them blocks its worker thread (Go's `sysmon`/`retake`/`handoffp`).
//!
//! A Rust future cannot be preempted. A goroutine that calls
//! `std::thread::sleep`, a blocking syscall, or spins for a long time holds
//! its worker for that long, and every goroutine queued on that worker
//! waits. Sysmon notices, moves the queued goroutines away, and starts a
//! replacement thread so that `procs` threads keep running goroutines. It
//! also names the guilty goroutine's spawn site, once.
//!
//! # What the worker does (the hot path)
//!
//! Before each poll, a worker (or replacement thread) writes its
//! `PollStamp`: the goroutine's id and spawn site, then the poll count with
//! the `IN_POLL` bit — three plain stores (`Relaxed`, `Release`) to a cache
//! line only it writes, no read-modify-write (this replaced the per-poll
//! `fetch_add` of the poll counter, so the hot path got cheaper). A worker
//! that parks clears `IN_POLL` first. Its wake path (`Worker::schedule`)
//! reads one flag, `retaken`, kept in its ring's header (which it is
//! about to write anyway). That is all: the worker never waits for sysmon
//! and never asks whether it was "retaken".
//!
//! # What sysmon does
//!
//! Sysmon sleeps a twentieth of the threshold (500 µs by default; at least
//! 20 µs, Go's start), doubling after 50 quiet rounds up to half the
//! threshold (at most 10 ms, Go's cap) — Go's schedule, scaled to the
//! threshold since nothing can be detected faster. When every worker has been parked for
//! `QUIET_ROUNDS` rounds it parks with no timeout (0% CPU); the first worker to wake up wakes it
//! (`Sysmon::worker_woke`, a `SeqCst` flag on the cold unpark path, paired
//! with sysmon's re-check of the parked count).
//!
//! Each round it reads every stamp. A stamp that has not changed since an
//! earlier round and has `IN_POLL` set means "inside the same poll since at
//! least then" (Go's `schedtick` check). Once that lasts `threshold`
//! (default 10 ms), the thread is **stuck**:
//! 1. sysmon sets the worker's `retaken` flag, so that goroutines the
//!    stuck one wakes go onto its ring (where other workers and replacement
//!    threads steal from) rather than into `runnext` (which only sysmon
//!    takes from another thread);
//! 2. takes its `runnext` and its whole ring (both stealable: see
//!    `queue.rs`) and pushes them to the injector, then wakes a worker;
//! 3. makes sure `stuck` replacement threads are active, so that
//!    `procs` threads run goroutines; it reuses a retired one, or starts
//!    one while the runtime has fewer than `max_threads` threads (when the
//!    limit is reached it logs once and carries on without).
//!
//! While a worker stays stuck, sysmon re-takes its queue every round (the
//! stuck goroutine may have woken others in the meantime, racing with the
//! flag) and fires due timers (the stuck worker cannot), sleeping at most
//! 1 ms or until the next timer.
//!
//! When the stamp changes (the poll ended), sysmon clears `retaken`,
//! lowers the number of replacements wanted, and prints the warning (one per
//! spawn site per process) with how long the poll lasted, as measured by
//! sysmon's rounds (from the first round that saw the poll, so up to one
//! round short). A goroutine that is still stuck after `WARN_STILL_STUCK`
//! is reported then. The warning goes through the `log` facade when the
//! program set a maximum level above `Off` (it installed a logger), else
//! to stderr.
//!
//! Before handing off (and before blaming the goroutine), sysmon asks the
//! OS (Linux: `/proc`) about the thread on each round that finds it past
//! the threshold. Inside a goro `_blocking` call (the thread, worker or
//! replacement, marks that in its stamp, reached through its context), blocked in a system call other than a futex wait (a sleep, a
//! read), or on the CPU for a quarter of the time or more: the goroutine
//! holds the thread, so hand off and warn. Runnable but not scheduled, or
//! waiting on a futex (a lock whose holder the OS descheduled): the host's
//! doing, and the thread comes back by itself; moving its queue and
//! starting a thread would only add contention (it did, measurably, in
//! spawn-heavy programs on a busy 2-core host), so such a thread is handed
//! off, and reported, only once the poll lasts `BLAME_ANYWAY` (100 ms).
//! Sysmon sleeps for good only after a quiet stretch with every worker
//! parked, so that a runtime going idle between two bursts of work does
//! not turn every worker wake-up into a wake-up of sysmon.
//!
//! # The hand-off, and why no task is lost or run twice
//!
//! The stuck worker keeps its core (its ring's owner end). Sysmon only ever
//! *takes* from it, with the same compare-and-swap on `head` that thieves
//! use, and takes `runnext` with a swap; the owner, once its poll ends,
//! takes its queue with the same operations. Each task pointer therefore
//! goes to exactly one of them (the loom model
//! `queue::loom_tests::sysmon_takes_a_stuck_workers_queue` checks this
//! against a worker that keeps queueing during its stuck poll and then
//! resumes). The `retaken` flag is advisory — a late or stale read only
//! changes *where* a woken goroutine is queued, never whether — so it needs
//! no ordering with the stamp.
//!
//! Go hands the stuck thread's P to another thread, and the stuck thread
//! gives up its P when its syscall returns. goro cannot take the core from
//! under a thread that may touch it in the middle of a poll (the stuck
//! goroutine may wake others) without a lock or fence on every wake, so the
//! roles are swapped: the stuck thread keeps its (emptied) core, the
//! replacement runs without one (from the injector and by stealing), and
//! when the stuck poll ends the *replacement* gives way — it retires to a
//! pool of spare threads at its next scheduling point (and exits after
//! `SPARE_KEEP_ALIVE` unused). In steady state at most `procs` threads run
//! goroutines, as in Go; for at most one sysmon round after a stuck poll
//! ends there may be one more.
//!
//! # Replacement threads
//!
//! A replacement ("helper") is a worker without a core: it pops from the
//! injector, steals from the workers' rings (keeping one task and putting
//! the rest on the injector), and queues the goroutines it wakes on the
//! injector. It has a stamp too, so a helper that gets stuck is itself
//! replaced. An active helper with nothing to run parks in `idle`;
//! `Shared::notify_parked` wakes one when there is no parked worker to
//! wake (one `SeqCst` load of `idle_n`, which is 0 unless a thread is
//! stuck).
//!
//! # Files
//!
//! `stamp.rs` the per-thread `PollStamp` and the OS's view of a thread
//! (`/proc`); `watch.rs` the decisions (stuck, still stuck, unstuck, and
//! the blame rule), pure functions of observations, unit-tested;
//! `helper.rs` the replacement threads (which steal with the workers'
//! `worker::steal_round`); `report.rs` the warnings; this file the monitor
//! loop and the hand-off.

mod helper;
mod report;
mod stamp;
mod watch;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::{lock, park::Parker, Shared};
use crate::loom::{
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*},
    Mutex,
};
use helper::{ensure_helpers, watch_helpers, Helpers};
use report::{maybe_report, report_ended};
pub(crate) use stamp::PollStamp;
use watch::{Event, Watch};

/// Sysmon's settings (from the `Builder`).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) enabled: bool,
    pub(crate) threshold: Duration,
    pub(crate) max_threads: usize,
    pub(crate) warn: bool,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            enabled: true,
            threshold: Duration::from_millis(10),
            max_threads: 10_000,
            warn: true,
            thread_name: "goro".into(),
            stack_size: None,
        }
    }
}

/// Shortest sleep between rounds (Go: 20 µs).
const MIN_DELAY: Duration = Duration::from_micros(20);
/// Longest sleep between rounds while the runtime is busy (Go: 10 ms).
const MAX_DELAY: Duration = Duration::from_millis(10);
/// Longest sleep while a thread is stuck (re-take, fire timers).
pub(super) const STUCK_DELAY: Duration = Duration::from_millis(1);
/// Quiet rounds before the sleep starts doubling (Go: 50).
const QUIET_ROUNDS: u32 = 50;
/// A retired replacement thread exits after this long unused.
pub(super) const SPARE_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Sysmon's part of `Shared`.
pub(crate) struct Sysmon {
    pub(crate) config: Config,
    parker: Parker,
    /// Parked with no timeout; the next worker to wake wakes it.
    sleeping: AtomicBool,
    helpers: Mutex<Helpers>,
    /// `helpers.idle.len()`, for the hot check in `notify_parked`.
    idle_n: AtomicUsize,
    /// Helpers that should be running goroutines (not retired).
    active: AtomicUsize,
    /// Helpers wanted: the number of stuck threads.
    target: AtomicUsize,
    /// Workers currently stuck (retaken).
    stuck_workers: AtomicUsize,
    /// Stuck polls detected (workers and helpers).
    pub(crate) handoffs: AtomicU64,
    /// Replacement threads started.
    pub(crate) threads_started: AtomicU64,
    /// The monitor thread.
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Sysmon {
    pub(crate) fn new(config: Config) -> Sysmon {
        Sysmon {
            config,
            parker: Parker::new(),
            sleeping: AtomicBool::new(false),
            helpers: Mutex::new(Helpers::default()),
            idle_n: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            target: AtomicUsize::new(0),
            stuck_workers: AtomicUsize::new(0),
            handoffs: AtomicU64::new(0),
            threads_started: AtomicU64::new(0),
            thread: Mutex::new(None),
        }
    }

    /// Starts the monitor thread (if enabled).
    pub(crate) fn start(shared: &Arc<Shared>) -> std::io::Result<()> {
        let sm = &shared.sysmon;
        if !sm.config.enabled {
            return Ok(());
        }
        let sh = shared.clone();
        let mut b = std::thread::Builder::new().name(format!("{}-sysmon", sm.config.thread_name));
        // Sysmon itself needs little stack.
        b = b.stack_size(256 * 1024);
        let counted = super::deadlock::goro_thread();
        let h = b.spawn(move || {
            let _counted = counted;
            monitor(&sh)
        })?;
        *lock(&sm.thread) = Some(h);
        Ok(())
    }

    /// A worker woke from its parker: wake sysmon if it sleeps for good.
    #[inline]
    pub(crate) fn worker_woke(&self) {
        if self.sleeping.load(SeqCst) && self.sleeping.swap(false, SeqCst) {
            self.parker.unpark();
        }
    }

    /// A timer became the earliest while no worker drives timers: wake
    /// sysmon if it drives them (a worker is stuck).
    pub(crate) fn kick_timers(&self) {
        if self.stuck_workers.load(SeqCst) > 0 {
            self.parker.unpark();
        }
    }

    /// Work was queued and no parked worker was woken: wake an idle
    /// replacement thread, if any.
    #[inline]
    pub(crate) fn notify_helper(&self) {
        if self.idle_n.load(SeqCst) == 0 {
            return;
        }
        self.notify_helper_slow();
    }

    #[cold]
    fn notify_helper_slow(&self) {
        let h = {
            let mut hs = lock(&self.helpers);
            let h = hs.idle.pop();
            self.idle_n.store(hs.idle.len(), SeqCst);
            h
        };
        if let Some(h) = h {
            h.parker.unpark();
        }
    }

    /// Wakes every idle helper (so that surplus ones retire).
    fn wake_idle_helpers(&self) {
        let idle = {
            let mut hs = lock(&self.helpers);
            self.idle_n.store(0, SeqCst);
            std::mem::take(&mut hs.idle)
        };
        for h in idle {
            h.parker.unpark();
        }
    }

    /// Workers stuck right now.
    pub(crate) fn stuck_workers(&self) -> usize {
        self.stuck_workers.load(Relaxed)
    }

    /// Replacement threads alive (active, idle or spare).
    pub(crate) fn helper_threads(&self) -> usize {
        lock(&self.helpers).all.len()
    }

    /// Stops sysmon and the helpers and waits for them (runtime shutdown;
    /// the shutdown flag is already set).
    pub(crate) fn shutdown(&self) {
        self.parker.unpark();
        let me = std::thread::current().id();
        if let Some(t) = lock(&self.thread).take() {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        let handles: Vec<_> = {
            let mut hs = lock(&self.helpers);
            hs.all
                .iter_mut()
                .map(|(h, t)| (h.clone(), t.take()))
                .collect()
        };
        for (h, _) in &handles {
            h.parker.unpark();
        }
        for (_, t) in handles {
            if let Some(t) = t.filter(|t| t.thread().id() != me) {
                let _ = t.join();
            }
        }
    }
}

/// The monitor thread's loop.
fn monitor(shared: &Shared) {
    let sm = &shared.sysmon;
    let threshold = sm.config.threshold;
    let max_delay = (threshold / 2).clamp(MIN_DELAY, MAX_DELAY);
    let min_delay = (threshold / 20).clamp(MIN_DELAY, max_delay);
    let now = Instant::now();
    let mut watches: Vec<Watch> = (0..shared.procs).map(|_| Watch::new(now)).collect();
    let mut delay = min_delay;
    let mut quiet = 0u32;
    loop {
        if shared.is_shutdown() {
            return;
        }
        let now = Instant::now();
        let mut acted = false;
        for (i, w) in watches.iter_mut().enumerate() {
            let remote = &shared.remotes[i];
            match w.observe(remote.stamp.observe(), now, threshold, || {
                remote.stamp.os_sample()
            }) {
                Event::Nothing => {}
                Event::Stuck => {
                    acted = true;
                    sm.handoffs.fetch_add(1, Relaxed);
                    remote.steal.set_retaken(true);
                    sm.stuck_workers.fetch_add(1, SeqCst);
                    sm.target.fetch_add(1, SeqCst);
                    ensure_helpers(shared);
                    take_queue(shared, i);
                }
                Event::StillStuck => {
                    take_queue(shared, i);
                    maybe_report(shared, w, now);
                }
                Event::Unstuck(old, d) => {
                    remote.steal.set_retaken(false);
                    sm.stuck_workers.fetch_sub(1, SeqCst);
                    sm.target.fetch_sub(1, SeqCst);
                    sm.wake_idle_helpers();
                    report_ended(shared, &old, d);
                }
            }
        }
        acted |= watch_helpers(shared, now, threshold);

        let stuck = sm.target.load(SeqCst) > 0;
        if stuck {
            // Nobody else fires timers while the worker that would have is
            // stuck (with one proc, always).
            shared.fire_timers();
        }
        if acted {
            delay = min_delay;
            quiet = 0;
        } else {
            quiet += 1;
            if quiet > QUIET_ROUNDS {
                delay = (delay * 2).min(max_delay);
            }
        }
        let mut sleep = delay;
        if stuck {
            sleep = sleep.min(STUCK_DELAY);
            if let Some(d) = shared.timers.next_deadline() {
                sleep = sleep.min(d.saturating_duration_since(Instant::now()));
            }
        } else if quiet > QUIET_ROUNDS
            && shared.idle.num_parked() == shared.procs
            && sm.active.load(SeqCst) == 0
        {
            // Idle for a while (not just between two bursts of work, which
            // would make every worker wake-up a wake-up of sysmon too):
            // sleep until a worker wakes. Announce, then re-check (the
            // worker sets its unparked count before it looks at the flag).
            sm.sleeping.store(true, SeqCst);
            if shared.idle.num_parked() == shared.procs && !shared.is_shutdown() {
                sm.parker.park();
            }
            sm.sleeping.store(false, SeqCst);
            delay = min_delay;
            quiet = 0;
            // Stamps did not change while parked; do not count the sleep
            // as time inside a poll.
            let now = Instant::now();
            for w in watches.iter_mut() {
                w.since = now;
            }
            continue;
        }
        sm.parker.park_timeout(sleep);
    }
}

/// Moves a stuck worker's `runnext` and ring to the injector and wakes
/// someone to run them.
fn take_queue(shared: &Shared, i: usize) {
    let steal = &shared.remotes[i].steal;
    let mut tasks = Vec::new();
    if let Some(t) = steal.take_next() {
        tasks.push(t);
    }
    tasks.extend(steal.take_all());
    if tasks.is_empty() {
        return;
    }
    let n = tasks.len();
    shared.inject.push_batch(tasks);
    for _ in 0..n.min(shared.procs) {
        shared.notify_parked();
    }
}
