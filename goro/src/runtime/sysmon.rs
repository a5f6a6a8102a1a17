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

use std::{
    collections::HashSet,
    panic::Location,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use crate::loom::{
    atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*},
    Mutex,
};

use super::{
    context::{self, Kind, ThreadCtx},
    lock, lock_static,
    park::Parker,
    queue, Shared,
};
use crate::task::Header;

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
const STUCK_DELAY: Duration = Duration::from_millis(1);
/// Quiet rounds before the sleep starts doubling (Go: 50).
const QUIET_ROUNDS: u32 = 50;
/// A retired replacement thread exits after this long unused.
const SPARE_KEEP_ALIVE: Duration = Duration::from_secs(10);
/// A goroutine still stuck after this long is reported before its poll ends.
const WARN_STILL_STUCK: Duration = Duration::from_secs(1);

/// A poll this long is reported whatever the OS says about its thread.
const BLAME_ANYWAY: Duration = Duration::from_millis(100);

const IN_POLL: u64 = 1;

/// What one thread is polling, for sysmon (Go's `schedtick` + `curg`).
/// Written only by its thread, read by sysmon.
#[derive(Debug, Default)]
pub(crate) struct PollStamp {
    /// `polls << 1 | IN_POLL`.
    word: AtomicU64,
    id: AtomicU64,
    site: AtomicPtr<Location<'static>>,
    /// The OS thread id (Linux; 0 elsewhere), to ask the OS why it is stuck.
    tid: AtomicU64,
    /// Nonzero while the thread waits inside a goro `_blocking` call (a
    /// goroutine that called one blocks its worker: hand off at once).
    in_blocking_call: AtomicU64,
}

impl PollStamp {
    /// Records the calling thread as this stamp's owner (at thread start).
    pub(crate) fn set_thread(&self) {
        self.tid.store(os::current_tid(), Relaxed);
    }

    /// About to poll `task`, the `polls`-th poll of this thread. Only the
    /// owning thread calls this.
    #[inline]
    pub(crate) fn enter(&self, polls: u64, task: &Header) {
        self.id.store(task.id, Relaxed);
        self.site
            .store(task.spawned_at as *const _ as *mut _, Relaxed);
        self.word.store(polls << 1 | IN_POLL, Release);
    }

    /// Not polling any more (about to park).
    #[inline]
    pub(crate) fn leave(&self) {
        let w = self.word.load(Relaxed);
        if w & IN_POLL != 0 {
            self.word.store(w & !IN_POLL, Release);
        }
    }

    /// The thread enters (`true`) or leaves a goro `_blocking` wait.
    pub(crate) fn blocking_call(&self, entering: bool) {
        if entering {
            self.in_blocking_call.fetch_add(1, Relaxed);
        } else {
            self.in_blocking_call.fetch_sub(1, Relaxed);
        }
    }

    /// Polls started so far.
    pub(crate) fn polls(&self) -> u64 {
        self.word.load(Relaxed) >> 1
    }

    fn read(&self) -> (u64, u64, Option<&'static Location<'static>>) {
        let w = self.word.load(Acquire);
        let id = self.id.load(Relaxed);
        // SAFETY: only `&'static Location`s (or null) are stored.
        let site = unsafe { self.site.load(Relaxed).as_ref() };
        (w, id, site)
    }
}

/// Sysmon's view of one thread's stamp.
#[derive(Debug, Clone, Copy)]
struct Watch {
    word: u64,
    since: Instant,
    stuck: bool,
    reported: bool,
    id: u64,
    site: Option<&'static Location<'static>>,
    /// The OS's view is available (Linux).
    os_known: bool,
    /// The thread's CPU time at the last round that found it stuck.
    cpu_last: Option<(Instant, u64)>,
    /// Wall and CPU time (ns) between rounds that found it stuck.
    stuck_wall: u64,
    stuck_cpu: u64,
    /// The OS showed the thread blocked in a system call other than a
    /// futex wait while stuck.
    seen_blocked: bool,
}

enum Event {
    Nothing,
    /// Inside one poll for longer than the threshold.
    Stuck,
    /// Still stuck (a later round).
    StillStuck,
    /// A stuck poll ended after about this long (with the watch of that
    /// poll).
    Unstuck(Watch, Duration),
}

impl Watch {
    fn new(now: Instant) -> Watch {
        Watch {
            word: 0,
            since: now,
            stuck: false,
            reported: false,
            id: 0,
            site: None,
            os_known: false,
            cpu_last: None,
            stuck_wall: 0,
            stuck_cpu: 0,
            seen_blocked: false,
        }
    }

    /// Asks the OS about the stuck thread (a round that found it stuck).
    fn sample(&mut self, stamp: &PollStamp, now: Instant) {
        let Some((blocked, cpu)) = os::sample(stamp.tid.load(Relaxed)) else {
            return;
        };
        let blocked = blocked == os::Blocked::Syscall;
        self.os_known = true;
        self.seen_blocked |= blocked;
        if let Some((t0, cpu0)) = self.cpu_last {
            self.stuck_wall += now.saturating_duration_since(t0).as_nanos() as u64;
            self.stuck_cpu += cpu.saturating_sub(cpu0);
        }
        self.cpu_last = Some((now, cpu));
    }

    /// Whether the goroutine, not the OS, kept the thread from coming
    /// back after `d` inside one poll. Yes when, while sysmon found it
    /// stuck, the thread was seen blocked in a system call (a blocking
    /// call), or was on the CPU for at least a quarter of the time
    /// (computing), or when the poll lasted `BLAME_ANYWAY` or more. A thread
    /// that stayed runnable but was mostly not scheduled (an overloaded
    /// host), or that waited on a futex for a short while (likely a lock
    /// whose holder the OS descheduled), is not blamed: no warning (the
    /// hand-off still happened). Without the OS's view (not Linux), always
    /// blamed.
    fn goroutine_at_fault(&self, d: Duration) -> bool {
        !self.os_known
            || d >= BLAME_ANYWAY
            || self.seen_blocked
            || (self.stuck_wall >= 1_000_000 && self.stuck_cpu.saturating_mul(4) >= self.stuck_wall)
    }

    fn observe(&mut self, stamp: &PollStamp, now: Instant, threshold: Duration) -> Event {
        let (w, id, site) = stamp.read();
        if w != self.word {
            let old = *self;
            let dur = now.saturating_duration_since(self.since);
            *self = Watch {
                word: w,
                since: now,
                id,
                site,
                ..Watch::new(now)
            };
            return if old.stuck {
                Event::Unstuck(old, dur)
            } else {
                Event::Nothing
            };
        }
        if w & IN_POLL == 0 {
            return Event::Nothing;
        }
        if self.stuck {
            if !self.seen_blocked && !self.reported && self.site.is_some() {
                self.sample(stamp, now);
            }
            return Event::StillStuck;
        }
        let d = now.saturating_duration_since(self.since);
        if d >= threshold {
            self.sample(stamp, now);
            // Hand off only when the thread itself is held: in a blocking
            // call, a system call other than a futex wait, or on the CPU. A
            // thread the OS merely did not schedule, or one waiting briefly
            // on a lock whose holder was descheduled, comes back by itself;
            // moving its queue and starting a thread would only add
            // contention (spawn-heavy programs on a busy host). Such a wait
            // is handed off too once it lasts `BLAME_ANYWAY`.
            if stamp.in_blocking_call.load(Relaxed) != 0 || self.goroutine_at_fault(d) {
                self.stuck = true;
                // Same word since `since`: the id and site written before
                // it belong to this poll.
                self.id = id;
                self.site = site;
                return Event::Stuck;
            }
        }
        Event::Nothing
    }
}

/// A replacement thread's slot.
#[derive(Debug)]
struct Helper {
    stamp: PollStamp,
    parker: Parker,
    watch: Mutex<Option<Watch>>,
}

#[derive(Default)]
struct Helpers {
    /// Every helper thread alive, with its handle (joined at shutdown).
    all: Vec<(Arc<Helper>, Option<std::thread::JoinHandle<()>>)>,
    /// Active helpers parked for want of work.
    idle: Vec<Arc<Helper>>,
    /// Retired helpers waiting to be reused.
    spare: Vec<Arc<Helper>>,
    /// Helper threads ever started (for names).
    started: usize,
    /// Logged that `max_threads` was reached.
    limit_logged: bool,
}

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
            match w.observe(&remote.stamp, now, threshold) {
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

/// Watches the helpers' stamps; true when one got stuck.
fn watch_helpers(shared: &Shared, now: Instant, threshold: Duration) -> bool {
    let sm = &shared.sysmon;
    let helpers: Vec<Arc<Helper>> = {
        let hs = lock(&sm.helpers);
        if hs.all.is_empty() {
            return false;
        }
        hs.all.iter().map(|(h, _)| h.clone()).collect()
    };
    let mut acted = false;
    for h in helpers {
        let mut g = lock(&h.watch);
        let w = g.get_or_insert_with(|| Watch::new(now));
        match w.observe(&h.stamp, now, threshold) {
            Event::Nothing => {}
            Event::Stuck => {
                acted = true;
                sm.handoffs.fetch_add(1, Relaxed);
                sm.target.fetch_add(1, SeqCst);
                ensure_helpers(shared);
            }
            Event::StillStuck => maybe_report(shared, w, now),
            Event::Unstuck(old, d) => {
                sm.target.fetch_sub(1, SeqCst);
                sm.wake_idle_helpers();
                report_ended(shared, &old, d);
            }
        }
    }
    acted
}

/// Activates helpers until `active == target`: spare ones first, then new
/// threads while under `max_threads`.
fn ensure_helpers(shared: &Shared) {
    let sm = &shared.sysmon;
    loop {
        let active = sm.active.load(SeqCst);
        if active >= sm.target.load(SeqCst) {
            return;
        }
        let mut hs = lock(&sm.helpers);
        if let Some(h) = hs.spare.pop() {
            sm.active.fetch_add(1, SeqCst);
            drop(hs);
            h.parker.unpark();
            continue;
        }
        // Workers, sysmon, and helpers.
        let threads = shared.procs + 1 + hs.all.len();
        if threads >= sm.config.max_threads {
            if !hs.limit_logged {
                hs.limit_logged = true;
                emit(format!(
                    "goro: {threads} runtime threads reached max_threads ({}); \
                     not starting a replacement for a blocked worker",
                    sm.config.max_threads
                ));
            }
            return;
        }
        let helper = Arc::new(Helper {
            stamp: PollStamp::default(),
            parker: Parker::new(),
            watch: Mutex::new(None),
        });
        let n = hs.started;
        hs.started += 1;
        let mut b =
            std::thread::Builder::new().name(format!("{}-helper-{n}", sm.config.thread_name));
        if let Some(s) = sm.config.stack_size {
            b = b.stack_size(s);
        }
        let sh = shared.arc();
        let me = helper.clone();
        sm.active.fetch_add(1, SeqCst);
        let counted = super::deadlock::goro_thread();
        match b.spawn(move || {
            let _counted = counted;
            helper_run(sh, me)
        }) {
            Ok(t) => {
                hs.all.push((helper, Some(t)));
                sm.threads_started.fetch_add(1, Relaxed);
            }
            Err(e) => {
                sm.active.fetch_sub(1, SeqCst);
                emit(format!(
                    "goro: cannot start a replacement worker thread: {e}"
                ));
                return;
            }
        }
    }
}

/// Claims one retirement if more helpers are active than wanted.
fn should_retire(sm: &Sysmon) -> bool {
    loop {
        let a = sm.active.load(SeqCst);
        if a <= sm.target.load(SeqCst) {
            return false;
        }
        if sm.active.compare_exchange(a, a - 1, SeqCst, SeqCst).is_ok() {
            return true;
        }
    }
}

/// The body of a replacement thread.
fn helper_run(shared: Arc<Shared>, me: Arc<Helper>) {
    let ctx = ThreadCtx {
        shared: Arc::as_ptr(&shared),
        kind: Kind::Worker(std::cell::RefCell::new(None)),
        worker: None,
        stamp: &me.stamp,
    };
    let _enter = context::enter(&ctx);
    #[cfg(feature = "tokio")]
    let _tokio = shared.enter_tokio();
    let sm = &shared.sysmon;
    me.stamp.set_thread();
    let (mut scratch, _) = queue::new();
    let mut polls = 0u64;
    loop {
        if shared.is_shutdown() {
            break;
        }
        if should_retire(sm) {
            me.stamp.leave();
            if !retire(&shared, &me) {
                break;
            }
            continue;
        }
        if let Some(task) = find_work(&shared, &mut scratch) {
            polls += 1;
            me.stamp.enter(polls, task.header());
            task.run();
            continue;
        }
        me.stamp.leave();
        // Park for want of work: announce, re-check, sleep.
        {
            let mut hs = lock(&sm.helpers);
            hs.idle.push(me.clone());
            sm.idle_n.store(hs.idle.len(), SeqCst);
        }
        fence(SeqCst);
        if !(shared.has_work()
            || shared.is_shutdown()
            || sm.active.load(SeqCst) > sm.target.load(SeqCst))
        {
            me.parker.park_timeout(STUCK_DELAY * 10);
        }
        let mut hs = lock(&sm.helpers);
        if let Some(i) = hs.idle.iter().position(|h| Arc::ptr_eq(h, &me)) {
            hs.idle.swap_remove(i);
            sm.idle_n.store(hs.idle.len(), SeqCst);
        }
    }
    let mut hs = lock(&sm.helpers);
    hs.all.retain(|(h, _)| !Arc::ptr_eq(h, &me));
    hs.spare.retain(|h| !Arc::ptr_eq(h, &me));
}

/// Parks a retired helper in the spare pool. True when it was reactivated,
/// false when it should exit (keep-alive passed, or shutdown).
fn retire(shared: &Shared, me: &Arc<Helper>) -> bool {
    let sm = &shared.sysmon;
    lock(&sm.helpers).spare.push(me.clone());
    let deadline = Instant::now() + SPARE_KEEP_ALIVE;
    loop {
        let now = Instant::now();
        if !shared.is_shutdown() && now < deadline {
            me.parker.park_timeout(deadline - now);
        }
        let mut hs = lock(&sm.helpers);
        let listed = hs.spare.iter().position(|h| Arc::ptr_eq(h, me));
        match listed {
            // Reactivated by `ensure_helpers` (which counted us active).
            None => return true,
            Some(i) if shared.is_shutdown() || Instant::now() >= deadline => {
                hs.spare.swap_remove(i);
                return false;
            }
            Some(_) => {}
        }
    }
}

/// A goroutine for a helper: from the injector, else stolen from a worker
/// (one kept, the rest put on the injector for everybody).
fn find_work(shared: &Shared, scratch: &mut queue::Local) -> Option<crate::task::Notified> {
    if let Some(t) = shared.inject.pop_batch(1, |_| {}) {
        return Some(t);
    }
    let n = shared.procs;
    let start = crate::rand::below(n as u32) as usize;
    for i in 0..n {
        let r = &shared.remotes[(start + i) % n];
        if let Some(t) = r.steal.steal_into(scratch) {
            r.steals.fetch_add(1, Relaxed);
            let mut rest = Vec::new();
            while let Some(x) = scratch.pop() {
                rest.push(x);
            }
            if !rest.is_empty() {
                shared.inject.push_batch(rest);
                shared.notify_parked();
            }
            return Some(t);
        }
    }
    None
}

/// A spawn site: file, line, column.
type Site = (&'static str, u32, u32);

/// Spawn sites already warned about, process-wide.
// loom-exempt: a static set of warned spawn sites.
fn warned() -> &'static std::sync::Mutex<HashSet<Site>> {
    static W: OnceLock<std::sync::Mutex<HashSet<Site>>> = OnceLock::new();
    W.get_or_init(|| std::sync::Mutex::new(HashSet::new()))
}

fn first_warning(site: &'static Location<'static>) -> bool {
    lock_static(warned()).insert((site.file(), site.line(), site.column()))
}

fn warning_text(
    id: u64,
    site: Option<&'static Location<'static>>,
    d: Duration,
    ended: bool,
) -> String {
    let site = site.map_or_else(
        || "unknown".to_string(),
        |s| format!("{}:{}", s.file(), s.line()),
    );
    let ms = d.as_millis();
    let how = if ended {
        format!("for {ms} ms")
    } else {
        format!("for over {ms} ms (still blocked)")
    };
    format!(
        "goro: goroutine {id} (spawned at {site}) blocked its worker {how}; \
         use spawn_blocking for blocking calls"
    )
}

/// A stuck poll has ended after `d`: warn once for its spawn site.
fn report_ended(shared: &Shared, w: &Watch, d: Duration) {
    if !shared.sysmon.config.warn || w.reported {
        return;
    }
    if !w.goroutine_at_fault(d) {
        return;
    }
    if let Some(site) = w.site {
        if first_warning(site) {
            emit(warning_text(w.id, w.site, d, true));
        }
    }
}

/// Reports a poll still stuck after `WARN_STILL_STUCK` (one that may
/// never end).
fn maybe_report(shared: &Shared, w: &mut Watch, now: Instant) {
    if !shared.sysmon.config.warn || w.reported {
        return;
    }
    let d = now.saturating_duration_since(w.since);
    if d < WARN_STILL_STUCK || !w.goroutine_at_fault(d) {
        return;
    }
    w.reported = true;
    if let Some(site) = w.site {
        if first_warning(site) {
            emit(warning_text(w.id, w.site, d, false));
        }
    }
}

/// Prints a runtime warning: through `log` if the program installed a
/// logger, else on stderr.
pub(crate) fn emit(msg: String) {
    if log::max_level() != log::LevelFilter::Off {
        log::warn!(target: "goro", "{msg}");
    } else {
        eprintln!("{msg}");
    }
}

/// What the OS says about a thread (Linux: `/proc`, read only by sysmon,
/// only about a thread already found stuck).
mod os {
    /// The calling thread's id; 0 where unknown.
    pub(super) fn current_tid() -> u64 {
        #[cfg(target_os = "linux")]
        if let Ok(p) = std::fs::read_link("/proc/thread-self") {
            // "<pid>/task/<tid>"
            if let Some(tid) = p.file_name().and_then(|t| t.to_str()?.parse().ok()) {
                return tid;
            }
        }
        0
    }

    /// Whether a thread is blocked in the kernel, and how.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Blocked {
        /// Running or runnable.
        No,
        /// Waiting on a futex (a lock, a condition variable, a park).
        Futex,
        /// In another system call (sleep, read, poll, ...).
        Syscall,
    }

    /// `futex`'s system call number.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    const SYS_FUTEX: &str = "202";
    #[cfg(all(target_os = "linux", not(target_arch = "x86_64")))]
    const SYS_FUTEX: &str = "98";

    /// (blocked how, CPU time used in ns) of thread `tid`.
    #[cfg(target_os = "linux")]
    pub(super) fn sample(tid: u64) -> Option<(Blocked, u64)> {
        if tid == 0 {
            return None;
        }
        let dir = format!("/proc/self/task/{tid}");
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        let state = stat.get(stat.rfind(')')? + 2..)?.chars().next()?;
        let sched = std::fs::read_to_string(format!("{dir}/schedstat")).ok()?;
        let cpu = sched.split_whitespace().next()?.parse().ok()?;
        let blocked = if matches!(state, 'S' | 'D') {
            let sc = std::fs::read_to_string(format!("{dir}/syscall")).unwrap_or_default();
            if sc.split_whitespace().next() == Some(SYS_FUTEX) {
                Blocked::Futex
            } else {
                Blocked::Syscall
            }
        } else {
            Blocked::No
        };
        Some((blocked, cpu))
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn sample(_tid: u64) -> Option<(Blocked, u64)> {
        None
    }
}
