//! What the runtime does when every goroutine is idle: Go's `checkdead`
//! (report `all goroutines are asleep - deadlock!`) and the test-mode
//! virtual clock (jump to the next timer, as tokio's paused time and Go's
//! `testing/synctest` do).
//!
//! When it runs: only when the last worker is about to park, or when the
//! main goroutine is about to park while every worker is parked — never
//! on the hot path.
//!
//! The verdict, in order (cheap checks first):
//! 1. *Something is still going on*: a worker awake, main running, work
//!    queued, a `spawn_blocking` call queued or running, an OS thread
//!    inside a goro `_blocking` call (counted for the whole call: while it
//!    spins before sleeping, asleep, and polling again after a wake-up;
//!    `wait::block_on_deadline`), a goroutine running or woken — then
//!    nothing to do.
//! 2. *Virtual clock* (`start_paused`): a timer is armed — move the clock to
//!    the earliest deadline and fire it.
//! 3. *Deadlock*: no timer armed, no socket registered, no signal
//!    subscription (`goro::signal::notify`: a signal from outside may
//!    come), and main and every
//!    goroutine blocked on a goro primitive (channel, select, Mutex,
//!    RwMutex, WaitGroup, Cond, Semaphore, Once, join, context). A
//!    goroutine asleep in `sleep`, in IO, or on a foreign future counts as
//!    possibly runnable. In a program (exit mode) every OS thread of the
//!    process must also be one of goro's: a plain thread can hold a
//!    `Sender` and send later, so a thread goro does not know about rules
//!    the report out. A test's runtime shares its process with the test
//!    harness, so there (panic mode) the state must instead hold still for a
//!    longer confirmation wait.
//! 4. *Confirm*: the checking thread sleeps briefly (woken early by any new
//!    work); if no goroutine was polled meanwhile and the verdict is the
//!    same, it is a deadlock: exit mode prints Go's message and the dump to
//!    stderr and exits with status 2; panic mode makes the main goroutine
//!    panic with the same text (the test fails instead of hanging).

// loom-exempt: static counts of live runtimes and goro threads (loom's constructors are not `const`).
use std::{
    sync::atomic::{AtomicUsize, Ordering::*},
    time::Duration,
};

use super::{dump, park::Parker, Shared};
use crate::wait;

/// Go's words.
pub(crate) const MESSAGE: &str = "fatal error: all goroutines are asleep - deadlock!";

/// What a runtime does about a deadlock.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Mode {
    /// Nothing (the builder's opt-out).
    Off = 0,
    /// Print the message and the dump, exit with status 2 (a program).
    Exit = 1,
    /// Make the main goroutine panic with the report (a test).
    Panic = 2,
}

impl Mode {
    pub(crate) fn from_u8(v: u8) -> Mode {
        match v {
            1 => Mode::Exit,
            2 => Mode::Panic,
            _ => Mode::Off,
        }
    }

    /// How long the state must hold still before it is reported.
    pub(super) fn confirm(self) -> Duration {
        match self {
            Mode::Panic => Duration::from_millis(1000),
            _ => Duration::from_millis(20),
        }
    }
}

/// OS threads goro started (workers, blocking-pool threads, timer, signal
/// and monitor threads), process-wide, for the thread accounting of exit
/// mode.
static GORO_THREADS: AtomicUsize = AtomicUsize::new(0);
/// Threads inside some runtime's `block_on`, process-wide.
pub(crate) static BLOCK_ON_THREADS: AtomicUsize = AtomicUsize::new(0);
/// Runtimes built and not yet shut down.
pub(crate) static LIVE_RUNTIMES: AtomicUsize = AtomicUsize::new(0);

/// Counts a thread as one of goro's own until the guard drops. Taken by
/// the spawner before the thread starts and moved into it, so the count
/// never lags behind the threads that exist.
pub(crate) fn goro_thread() -> GoroThread {
    GORO_THREADS.fetch_add(1, SeqCst);
    GoroThread(())
}

pub(crate) struct GoroThread(());

impl Drop for GoroThread {
    fn drop(&mut self) {
        GORO_THREADS.fetch_sub(1, SeqCst);
    }
}

/// True when every OS thread of the process is known to goro: its own
/// threads, and threads inside `block_on` of the only live runtime.
fn only_goro_threads() -> bool {
    if LIVE_RUNTIMES.load(SeqCst) != 1 {
        return false;
    }
    let known = GORO_THREADS.load(SeqCst) + BLOCK_ON_THREADS.load(SeqCst);
    match std::fs::read_dir("/proc/self/task") {
        Ok(dir) => dir.count() == known,
        // No way to count threads here: never claim there are no others.
        Err(_) => false,
    }
}

/// The verdict on an idle-looking runtime.
enum Verdict {
    /// Something can still happen.
    Busy,
    /// Virtual clock: timers can be fired by moving time.
    Advance,
    /// Looks like a deadlock; `progress` is the poll count to confirm with.
    Suspect { progress: u64 },
}

impl Shared {
    /// Whether anything at all is to be done when the runtime goes idle.
    #[inline]
    pub(crate) fn watches_idle(&self) -> bool {
        self.deadlock_mode() != Mode::Off || self.timers.is_paused()
    }

    pub(crate) fn deadlock_mode(&self) -> Mode {
        Mode::from_u8(self.deadlock_mode.load(Relaxed))
    }

    pub(crate) fn set_deadlock_mode(&self, m: Mode) {
        self.deadlock_mode.store(m as u8, Relaxed);
    }

    /// Feature `tokio`: a tokio task still alive (it may send on a goro
    /// channel later) rules a deadlock out.
    #[cfg(feature = "tokio")]
    fn tokio_busy(&self) -> bool {
        self.tokio
            .get()
            .is_some_and(|h| h.metrics().num_alive_tasks() != 0)
    }

    #[cfg(not(feature = "tokio"))]
    fn tokio_busy(&self) -> bool {
        false
    }

    /// Goroutine polls so far, on every worker and on main.
    fn progress(&self) -> u64 {
        self.remotes.iter().map(|r| r.stamp.polls()).sum::<u64>() + self.main.polls.load(SeqCst)
    }

    fn verdict(&self) -> Verdict {
        // Cheap checks first: most idle moments end here.
        if self.is_shutdown()
            || self.idle.num_parked() != self.procs
            || self.sysmon.stuck_workers() != 0
            || !self.main.is_idle()
            || self.has_work()
            || self.blocking.in_flight() != 0
            || wait::threads_in_blocking_calls() != 0
            || self.tokio_busy()
        {
            return Verdict::Busy;
        }
        let advance = self.timers.is_paused() && self.timers.next_deadline().is_some();
        let deadlock = self.deadlock_mode() != Mode::Off
            && self.timers.len() == 0
            && crate::time::global_timers() == 0
            && self.io_registered() == 0
            && super::signal::subscriptions() == 0
            && self.main.active.load(SeqCst) == 1
            && self
                .main
                .wait()
                .is_some_and(|(r, _, _)| r.is_goro_primitive());
        if !advance && !deadlock {
            return Verdict::Busy;
        }
        let progress = self.progress();
        // One pass over the goroutines, stopping at the first that decides.
        let mut running = false;
        let mut all_primitive = true;
        self.owned.all(|h| {
            let status = dump::Status::of(h, h.wait().0);
            if matches!(status, dump::Status::Running | dump::Status::Runnable) {
                running = true;
                return false;
            }
            all_primitive &= status.blocked_on_goro_primitive();
            // Without a clock to move, one wait that is not on a goro
            // primitive settles it.
            all_primitive || advance
        });
        if running {
            Verdict::Busy
        } else if advance {
            Verdict::Advance
        } else if all_primitive {
            Verdict::Suspect { progress }
        } else {
            Verdict::Busy
        }
    }

    /// Called by a worker that parked as the last one, or by the main
    /// goroutine about to park with every worker parked; `parker` is the
    /// caller's own. True when the caller must not go to sleep (the clock
    /// moved, or it was woken while confirming): it should look for work.
    #[cold]
    pub(crate) fn on_all_idle(&self, parker: &Parker) -> bool {
        match self.verdict() {
            Verdict::Busy => false,
            Verdict::Advance => {
                if let Some(d) = self.timers.next_deadline() {
                    self.timers.advance_to(d);
                }
                self.fire_timers();
                true
            }
            Verdict::Suspect { progress } => {
                let mode = self.deadlock_mode();
                if parker.park_timeout(mode.confirm()) {
                    // Woken: somebody had something for us after all.
                    return true;
                }
                match self.verdict() {
                    Verdict::Suspect { progress: p } if p == progress => {
                        // Counted only now: a thread just started or just
                        // leaving has had the confirmation wait to settle.
                        if mode == Mode::Exit && !only_goro_threads() {
                            // A thread goro does not know may still act:
                            // sleep as usual (no polling while it does not).
                            return false;
                        }
                        self.report_deadlock(mode);
                        true
                    }
                    // Something moved meanwhile: look again.
                    _ => true,
                }
            }
        }
    }

    #[cold]
    pub(super) fn report_deadlock(&self, mode: Mode) {
        if self.deadlock_reported.swap(true, SeqCst) {
            return;
        }
        let report = format!("{MESSAGE}\n\n{}", dump::collect(self));
        match mode {
            Mode::Off => {}
            Mode::Exit => {
                eprintln!("{report}");
                std::process::exit(2);
            }
            Mode::Panic => {
                let _ = self.main.deadlock.set(report);
                self.main.wake();
            }
        }
    }
}

/// What a runtime does when goroutines deadlock on locks (a cycle of
/// `Mutex`/`RwMutex` write waits, found as it closes while the rest of the
/// program runs): [`Builder::lock_cycles`](super::Builder::lock_cycles).
/// Go has no equivalent: its `checkdead` sees only a whole program asleep.
///
/// # Examples
///
/// ```
/// use goro::runtime::LockCycles;
/// let rt = goro::Runtime::builder().lock_cycles(LockCycles::Report).build().unwrap();
/// # drop(rt);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockCycles {
    /// No detection (the default in release builds; no cost at all once no
    /// runtime of the process asked for it).
    Off,
    /// Print `fatal error: goroutines deadlocked on locks` with each
    /// goroutine's lock site and the lock's holder to stderr, once, and let
    /// the rest of the program run on.
    Report,
    /// Print it and exit with status 2, as a deadlock does (the default in
    /// debug builds).
    Exit,
}

impl LockCycles {
    /// The default: `Exit` in debug builds, `Off` in release builds.
    pub(crate) fn default_for_build() -> LockCycles {
        if cfg!(debug_assertions) {
            LockCycles::Exit
        } else {
            LockCycles::Off
        }
    }
}

/// `Shared::lock_cycles` values; `PANIC` is the test mode (`#[goro::test]`).
const CYCLES_OFF: u8 = 0;
const CYCLES_REPORT: u8 = 1;
const CYCLES_EXIT: u8 = 2;
const CYCLES_PANIC: u8 = 3;

impl Shared {
    pub(crate) fn set_lock_cycles(&self, mode: LockCycles) {
        let v = match mode {
            LockCycles::Off => CYCLES_OFF,
            LockCycles::Report => CYCLES_REPORT,
            LockCycles::Exit => CYCLES_EXIT,
        };
        if v != CYCLES_OFF {
            crate::sync::cycle::enable();
        }
        self.lock_cycles.store(v, Relaxed);
    }

    /// Test mode: a lock cycle fails the test (the main goroutine panics
    /// with the report), if detection is on.
    pub(crate) fn lock_cycles_fail_test(&self) {
        if self.lock_cycles.load(Relaxed) != CYCLES_OFF {
            self.lock_cycles.store(CYCLES_PANIC, Relaxed);
        }
    }

    /// A goroutine of this runtime closed a lock cycle (`sync/cycle.rs`).
    #[cold]
    pub(crate) fn report_lock_cycle(&self, report: String) {
        let mode = self.lock_cycles.load(Relaxed);
        if mode == CYCLES_OFF || self.lock_cycle_reported.swap(true, SeqCst) {
            return;
        }
        match mode {
            CYCLES_PANIC => {
                let _ = self.main.deadlock.set(report);
                self.main.wake();
            }
            CYCLES_EXIT => {
                eprintln!("{report}");
                std::process::exit(2);
            }
            _ => eprintln!("{report}"),
        }
    }
}
