//! Seeded, replayable scheduling ([`Builder::seed`](super::Builder::seed),
//! `#[goro::test(seed = N)]`, `#[goro::test(seeds = K)]`).
//!
//! With a seed the runtime starts no worker thread: the thread inside
//! `block_on` runs the main future and every goroutine, one poll at a
//! time, and every choice comes from one generator seeded with the seed
//! (`rand::reseed` on that thread):
//!
//! 1. which runnable goroutine (or main) is polled next — picked uniformly
//!    from everything runnable, so the order in which goroutines were woken
//!    (by a channel, a lock, or timers firing at the same instant) is
//!    shuffled by the seed;
//! 2. which ready arm a `select!` takes (it draws from the same thread's
//!    generator);
//! 3. with chaos ([`Builder::chaos`](super::Builder::chaos)), whether a
//!    channel operation or a lock acquisition first yields its goroutine
//!    to the back of the run set — the yields that shake out
//!    check-then-act races;
//! 4. the clock is the virtual one (`start_paused`): when nothing is
//!    runnable it jumps to the next timer.
//!
//! So the same seed replays the same interleaving, run after run, as long
//! as the program's own inputs are the same.
//!
//! # What breaks determinism
//!
//! - `spawn_blocking` runs its closure as a goroutine on the seeded thread
//!   (a deterministic stand-in: it is scheduled like any goroutine, and
//!   while it runs nothing else does).
//! - Sockets are polled only when nothing else is runnable, with a short
//!   timeout: the order in which the kernel makes them ready is not the
//!   seed's. Programs under a seed should not depend on the network.
//! - A `_blocking` call made inside a goroutine parks the only thread:
//!   nothing else runs until something outside (another thread, a timer
//!   of the global heap) ends it; waiting on another goroutine that way
//!   hangs. Use `.await` under a seed.
//! - Foreign threads (a `std::thread` holding a `Sender`, a tokio task,
//!   a `_blocking` call on another thread) wake goroutines when the OS
//!   schedules them; their wake-ups join the run set in arrival order.
//!
//! # The idle step
//!
//! Nothing runnable: fire the timers due now; else move the virtual clock
//! to the next timer; else, when nothing outside can act either (no
//! blocking call, socket, signal subscription, global timer) and main and
//! every goroutine wait on goro primitives, it is a deadlock (reported as
//! the detector does, after its confirmation wait); otherwise wait a
//! little for the outside.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use super::{deadlock::Mode, dump, Shared};
use crate::{
    loom::atomic::{AtomicBool, Ordering::SeqCst},
    task::Notified,
    wait::{self, ThreadWaker},
};

/// A runtime's seed and chaos level, fixed at build.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedConfig {
    pub(crate) seed: u64,
    /// 0: no injected yields; n: about one operation in n yields first.
    pub(crate) chaos: u32,
}

/// The injected-yield odds for the seeded thread (0: off).
const CHAOS_ODDS: u32 = 2;

thread_local! {
    /// This thread's chaos level while it runs a seeded runtime (0: off).
    static CHAOS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Set once any thread has run a seeded runtime with chaos on: until then
/// the lock fast paths skip the chaos point without a thread-local read.
// loom-exempt: a process-wide latch (a static) read on lock fast paths.
static CHAOS_SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a chaos point may yield anywhere in the process (one relaxed
/// load; see [`CHAOS_SEEN`]).
#[inline]
pub(crate) fn chaos_possible() -> bool {
    // loom-exempt: the latch above.
    CHAOS_SEEN.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether a chaos yield is injected here: only on a thread running a
/// seeded runtime with chaos on, and only when the caller says it may
/// yield (a poll with the goroutine's own waker).
#[inline]
pub(crate) fn chaos_yield() -> bool {
    let level = CHAOS.try_with(|c| c.get()).unwrap_or(0);
    level != 0 && crate::rand::below(level) == 0
}

/// A chaos point (a lock acquisition): under a seeded runtime with chaos
/// on, sometimes yields the polling goroutine first (wakes it and returns
/// `Pending`). Never yields a poll by another waker (a `_blocking` call's
/// own loop would spin).
#[inline]
pub(crate) fn poll_chaos(cx: &mut Context<'_>) -> Poll<()> {
    if CHAOS.try_with(|c| c.get()).unwrap_or(0) == 0 {
        return Poll::Ready(());
    }
    if super::context::is_own_task_waker(cx.waker()) && chaos_yield() {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    Poll::Ready(())
}

/// The default chaos level (see [`chaos_yield`]).
pub(crate) fn default_chaos() -> u32 {
    CHAOS_ODDS
}

/// The main future's waker under a seed: marks main runnable and wakes
/// the thread if it waits for the outside.
struct MainWake {
    woken: AtomicBool,
    thread: Arc<ThreadWaker>,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        self.thread.0.unpark();
    }
}

/// Restores the thread's generator and chaos level when `block_on` ends
/// (or unwinds).
struct Restore {
    rand: u64,
    chaos: u32,
}

impl Drop for Restore {
    fn drop(&mut self) {
        crate::rand::restore(self.rand);
        let _ = CHAOS.try_with(|c| c.set(self.chaos));
    }
}

/// `block_on` under a seed: runs `fut` and every goroutine of `shared` on
/// this thread (see the module docs). `thread` is this thread's parker,
/// registered as main's.
pub(super) fn block_on<T>(
    shared: &Shared,
    thread: &Arc<ThreadWaker>,
    mut fut: Pin<&mut dyn Future<Output = T>>,
    cfg: SeedConfig,
) -> T {
    if cfg.chaos != 0 {
        // loom-exempt: the latch CHAOS_SEEN.
        CHAOS_SEEN.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let _restore = Restore {
        rand: crate::rand::reseed(cfg.seed),
        chaos: CHAOS.with(|c| c.replace(cfg.chaos)),
    };
    let main_wake = Arc::new(MainWake {
        woken: AtomicBool::new(true),
        thread: thread.clone(),
    });
    let waker = Waker::from(main_wake.clone());
    let mut cx = Context::from_waker(&waker);
    let main = &shared.main;
    let mut runnable: Vec<Notified> = Vec::new();
    // Main counts as parked (for the dump and the deadlock check) except
    // while it is polled.
    main.parked.fetch_add(1, SeqCst);
    struct Unpark<'a>(&'a Shared);
    impl Drop for Unpark<'_> {
        fn drop(&mut self) {
            self.0.main.parked.fetch_sub(1, SeqCst);
        }
    }
    let _unpark = Unpark(shared);
    loop {
        if let Some(report) = main.deadlock.get() {
            panic!("{report}");
        }
        // Everything woken since the last step joins the run set, in
        // arrival order (deterministic: one thread made them).
        let queued = shared.inject.len();
        if queued > 0 {
            if let Some(t) = shared.inject.pop_batch(queued, |t| runnable.push(t)) {
                runnable.push(t);
            }
        }
        let main_ready = main_wake.woken.load(SeqCst);
        let n = runnable.len() + usize::from(main_ready);
        if n == 0 {
            idle(shared, thread);
            continue;
        }
        let pick = crate::rand::below(n as u32) as usize;
        if pick == runnable.len() {
            main_wake.woken.store(false, SeqCst);
            main.begin_poll();
            main.parked.fetch_sub(1, SeqCst);
            let r = fut.as_mut().poll(&mut cx);
            main.parked.fetch_add(1, SeqCst);
            if let Poll::Ready(v) = r {
                return v;
            }
        } else {
            runnable.swap_remove(pick).run();
        }
    }
}

/// Nothing is runnable: the idle step of the module docs.
fn idle(shared: &Shared, thread: &ThreadWaker) {
    if shared.fire_timers() > 0 {
        return;
    }
    if let Some(d) = shared.timers.next_deadline() {
        shared.timers.advance_to(d);
        shared.fire_timers();
        return;
    }
    if shared.io_registered() != 0 {
        shared.io.wait(Some(Duration::from_millis(1))).wake_all();
        return;
    }
    let outside = shared.blocking.in_flight() != 0
        || wait::threads_in_blocking_calls() != 0
        || super::signal::subscriptions() != 0
        || crate::time::global_timers() != 0;
    let mode = shared.deadlock_mode();
    if !outside && mode != Mode::Off && all_on_goro_primitives(shared) {
        if thread.0.park_timeout(mode.confirm()) {
            return;
        }
        if shared.inject.is_empty() {
            shared.report_deadlock(mode);
        }
        return;
    }
    thread.0.park_timeout(Duration::from_millis(10));
}

/// Main and every goroutine wait on a goro primitive.
fn all_on_goro_primitives(shared: &Shared) -> bool {
    dump::collect(shared)
        .goroutines()
        .iter()
        .all(|g| g.status.blocked_on_goro_primitive())
}
