//! [`Shared`]: everything the workers, wakers and handles of one runtime
//! share, and the timer-driver role.
//!
//! # The timer-driver role
//!
//! At most one parked worker holds the role (`timer_driver` is its index,
//! or `NO_DRIVER`): it sleeps in the netpoller with the earliest timer's
//! deadline. A worker takes it with a compare-exchange just before
//! parking and releases it when it wakes. `unpark_worker` sets the
//! worker's parker, then loads the role and, if that worker holds it,
//! wakes the poller; the driver stores the role, then checks its parker
//! (`Parker::try_take`) before polling. All four accesses are `SeqCst`, so
//! either the driver sees the notification or the notifier sees the role.
//! A timer that becomes the earliest kicks the driver
//! (`kick_timer_driver`), or a parked worker when nobody holds the role.
//!
//! # Lock order
//!
//! The runtime's internal locks (all `std` mutexes taken through the
//! poison-ignoring `lock`). Only three pairs nest, always in this order;
//! every other lock is a leaf, held for a few loads and stores while
//! calling nothing that locks:
//!
//! 1. sysmon `Helper::watch` → `Sysmon::helpers` (`watch_helpers` starts
//!    helpers while it holds a helper's watch).
//! 2. `IoDriver::state` (the poller, held across `epoll_wait`) →
//!    `IoDriver::table` → a source's `ScheduledIo::dirs` (`turn` hands
//!    out readiness).
//! 3. `TimerDriver::heap` → an entry's `Timer::waker` slot
//!    (`fire_expired` takes the wakers of the due timers).
//!
//! Leaves: `Idle::sleepers`, the injector's `Inject::queue`, the
//! `OwnedTasks` shard lists, `BlockingPool::state`, `Parker::lock`,
//! `Shared::blocked`, `MainGoroutine::parker`, `Sysmon::thread`, sysmon's
//! warned-sites set, and the dump registry (`dump::RUNTIMES`).
//!
//! Wakers never run under any of these locks.

use std::{
    ptr,
    sync::Arc,
    time::{Duration, Instant},
};

use crossbeam_utils::CachePadded;

use super::{
    blocking, context, deadlock, idle, inject, io, owned, park::Parker, queue, sysmon, worker,
    MainGoroutine,
};
use crate::{
    loom::{
        atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering::*},
        lock, Mutex,
    },
    task::Notified,
    time::driver::TimerDriver,
    wait::ThreadWaker,
};

/// `TimerRole`'s word when no worker holds the role.
const NO_DRIVER: usize = usize::MAX;

/// The timer-driver role: which parked worker, if any, sleeps in the
/// netpoller with the earliest timer's deadline (see the module docs).
/// Every access is `SeqCst`: the role pairs with the parker
/// (`TimerRole::unpark`) and with the timer heap's earliest-deadline
/// mirror (`TimerDriver::insert` / `next_deadline`). Both pairs are
/// store-then-load on two locations (Dekker): a `SeqCst` fence sits
/// between the store and the load on each side, which is what the loom
/// models check (loom models `SeqCst` exactly only for fences; on x86 the
/// role's compare-exchange and the parker's swap are full barriers
/// already).
pub(crate) struct TimerRole(AtomicUsize);

impl TimerRole {
    pub(crate) fn new() -> TimerRole {
        TimerRole(AtomicUsize::new(NO_DRIVER))
    }

    /// A worker about to park volunteers to drive timers; true when it got
    /// the role.
    pub(crate) fn take(&self, worker: usize) -> bool {
        let took = self
            .0
            .compare_exchange(NO_DRIVER, worker, SeqCst, SeqCst)
            .is_ok();
        // Before the driver reads its parker and the earliest deadline.
        fence(SeqCst);
        took
    }

    /// The driver woke: nobody holds the role.
    pub(crate) fn release(&self) {
        self.0.store(NO_DRIVER, SeqCst);
    }

    /// The worker to kick after a timer became the earliest (its deadline
    /// is published): the holder, read after a fence.
    pub(crate) fn holder_after_insert(&self) -> Option<usize> {
        fence(SeqCst);
        self.holder()
    }

    /// The worker holding the role, if any.
    pub(crate) fn holder(&self) -> Option<usize> {
        match self.0.load(SeqCst) {
            NO_DRIVER => None,
            w => Some(w),
        }
    }

    /// Wakes worker `w` parked on `parker`, and the poller
    /// (`wake_poller`) if `w` sleeps there as the driver. Pairs with the
    /// driver storing the role, then `Parker::try_take` before it polls:
    /// either the driver sees this notification, or this sees the role
    /// and wakes the poller.
    #[inline]
    pub(crate) fn unpark(&self, w: usize, parker: &Parker, wake_poller: impl FnOnce()) {
        parker.unpark();
        fence(SeqCst);
        if self.holder() == Some(w) {
            wake_poller();
        }
    }
}

/// The part of a worker that other threads touch.
pub(crate) struct Remote {
    pub(crate) steal: queue::Steal,
    pub(crate) parker: Parker,
    /// What this worker polls, for sysmon (also counts its polls).
    pub(crate) stamp: sysmon::PollStamp,
    /// Successful steals from this worker's ring (statistics).
    pub(crate) steals: AtomicU64,
}

/// How long the worker that just took the timer-driver role may sleep in
/// the poller: not at all if it was notified meanwhile (this consumes the
/// notification), until the earliest timer, or until woken (no timer, or
/// a paused clock, which never runs out on its own). The role is stored
/// before this reads the parker and the earliest deadline, so a notifier
/// or a timer insert either is seen here or sees the role (see the loom
/// models below).
pub(crate) fn driver_timeout(parker: &Parker, timers: &TimerDriver) -> Option<Duration> {
    match parker.try_take() {
        true => Some(Duration::ZERO),
        false if timers.is_paused() => None,
        false => timers
            .next_deadline()
            .map(|d| d.saturating_duration_since(Instant::now())),
    }
}

/// Locks a `std` mutex in a `static` (loom's are not `const`, see
/// `crate::loom`), ignoring poisoning; every other lock goes through
/// `crate::loom::lock`.
// loom-exempt: the lock helper for `static` std mutexes.
pub(crate) fn lock_static<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The goroutine threads parked in `_blocking` calls: the last key handed
/// out, and each thread's key and parker.
type BlockedCalls = (usize, Vec<(usize, Arc<ThreadWaker>)>);

/// Everything the workers, wakers and handles of one runtime share.
pub(crate) struct Shared {
    pub(crate) remotes: Box<[CachePadded<Remote>]>,
    pub(crate) inject: inject::Inject,
    pub(crate) idle: idle::Idle,
    pub(crate) owned: owned::OwnedTasks,
    /// The wakers of `JoinHandle`s waiting for their goroutine.
    pub(crate) join_wakers: crate::task::join_waker::JoinWakers,
    pub(crate) timers: TimerDriver,
    /// The netpoller; polled by the timer-driver worker while it parks.
    pub(crate) io: io::IoDriver,
    pub(super) timer_driver: TimerRole,
    pub(crate) blocking: blocking::BlockingPool,
    pub(super) shutdown: AtomicBool,
    pub(crate) procs: usize,
    pub(crate) main: MainGoroutine,
    /// A `deadlock::Mode`.
    pub(super) deadlock_mode: AtomicU8,
    pub(super) deadlock_reported: AtomicBool,
    pub(crate) sysmon: sysmon::Sysmon,
    /// Goroutine threads (workers, replacements) parked inside a goro
    /// `_blocking` call, with a key each: shutdown unparks them so that
    /// they give up the wait (see `BlockingCall` below).
    pub(super) blocked: Mutex<BlockedCalls>,
    /// Feature `tokio`: the tokio runtime whose context every thread of
    /// this runtime enters (set once by `Builder::build`).
    #[cfg(feature = "tokio")]
    pub(crate) tokio: std::sync::OnceLock<tokio::runtime::Handle>,
    /// Seeded scheduling (`Builder::seed`): set once by `Builder::build`;
    /// then no worker runs and `block_on`'s thread runs every goroutine.
    pub(crate) seed: std::sync::OnceLock<super::seeded::SeedConfig>,
    /// What a lock cycle does (`deadlock::LockCycles` as `u8`; `deadlock.rs`).
    pub(super) lock_cycles: AtomicU8,
    pub(super) lock_cycle_reported: AtomicBool,
}

impl Shared {
    /// Another strong reference to this `Shared` (which always lives in an `Arc`).
    pub(crate) fn arc(&self) -> Arc<Shared> {
        // SAFETY: every `Shared` is created inside an `Arc` (see
        // `Builder::build`) and `self` proves a strong count is alive.
        unsafe {
            Arc::increment_strong_count(self as *const Shared);
            Arc::from_raw(self as *const Shared)
        }
    }

    /// Registers a goroutine thread parked in a `_blocking` call on
    /// `parker`; returns its key.
    pub(crate) fn register_blocked(&self, parker: &Arc<ThreadWaker>) -> usize {
        let mut b = lock(&self.blocked);
        b.0 += 1;
        let key = b.0;
        b.1.push((key, parker.clone()));
        key
    }

    pub(crate) fn unregister_blocked(&self, key: usize) {
        let mut b = lock(&self.blocked);
        if let Some(i) = b.1.iter().position(|(k, _)| *k == key) {
            b.1.swap_remove(i);
        }
    }

    /// Shutdown (the flag is set): every goroutine thread parked in a
    /// `_blocking` call wakes, sees the flag and gives up its wait. One
    /// registering after this sees the flag (it checks after registering,
    /// and this lock orders the two).
    pub(super) fn release_blocked(&self) {
        let parkers: Vec<Arc<ThreadWaker>> = lock(&self.blocked)
            .1
            .iter()
            .map(|(_, p)| p.clone())
            .collect();
        for p in parkers {
            p.0.unpark();
        }
    }

    #[inline]
    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// No worker holds the timer-driver role (none sleeps in the poller).
    pub(crate) fn no_timer_driver(&self) -> bool {
        self.timer_driver.holder().is_none()
    }

    /// Queues a task from outside the workers.
    pub(crate) fn push_remote(&self, task: Notified) {
        if self.inject.push(task) {
            self.notify_parked();
        }
        if self.seed.get().is_some() {
            // Seeded: the `block_on` thread is the only one running
            // goroutines; it may be waiting for the outside.
            self.main.wake();
        }
    }

    /// Any queued work anywhere (for the last searcher's re-check).
    pub(crate) fn has_work(&self) -> bool {
        !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty())
    }

    /// Fires the timers due now (on the runtime's clock, which is virtual
    /// when it started paused). Returns how many it woke.
    pub(crate) fn fire_timers(&self) -> usize {
        self.timers.fire_expired(self.timers.now())
    }

    /// Sockets registered with the netpoller (the deadlock detector counts
    /// them as wake sources).
    pub(crate) fn io_registered(&self) -> usize {
        self.io.registered()
    }

    /// A worker about to park volunteers to sleep with the timer deadline.
    pub(crate) fn take_timer_role(&self, worker: usize) -> bool {
        self.timer_driver.take(worker)
    }

    pub(crate) fn release_timer_role(&self) {
        self.timer_driver.release();
    }

    /// A timer became the earliest: wake the worker sleeping with the old
    /// deadline so it re-computes, or any worker if none holds the role.
    pub(crate) fn kick_timer_driver(&self) {
        match self.timer_driver.holder_after_insert() {
            None => {
                // Workers are running (they check timers as they go) or
                // about to take the role; if every worker is parked without
                // it, wake one.
                if self.idle.num_parked() == self.procs {
                    if let Some(w) = self.idle.all_parked().first() {
                        self.unpark_worker(*w);
                    }
                }
                // Sysmon drives timers while a worker is stuck.
                self.sysmon.kick_timers();
            }
            Some(w) => self.unpark_worker(w),
        }
    }

    /// A runtime's shared state with no threads started yet, and the
    /// owner ends of the workers' run queues.
    pub(crate) fn new(
        procs: usize,
        blocking: blocking::BlockingPool,
        sysmon: sysmon::Config,
    ) -> std::io::Result<(Arc<Shared>, Vec<queue::Local>)> {
        let (locals, steals) = worker::new_queues(procs);
        let shared = Arc::new(Shared {
            remotes: steals
                .into_iter()
                .map(|steal| {
                    CachePadded::new(Remote {
                        steal,
                        parker: Parker::new(),
                        stamp: sysmon::PollStamp::default(),
                        steals: AtomicU64::new(0),
                    })
                })
                .collect(),
            inject: inject::Inject::new(),
            idle: idle::Idle::new(procs),
            owned: owned::OwnedTasks::new(procs),
            join_wakers: crate::task::join_waker::JoinWakers::new(),
            timers: TimerDriver::new(),
            io: io::IoDriver::new()?,
            timer_driver: TimerRole::new(),
            blocking,
            shutdown: AtomicBool::new(false),
            #[cfg(feature = "tokio")]
            tokio: std::sync::OnceLock::new(),
            procs,
            main: MainGoroutine::new(),
            deadlock_mode: AtomicU8::new(deadlock::Mode::Off as u8),
            deadlock_reported: AtomicBool::new(false),
            sysmon: sysmon::Sysmon::new(sysmon),
            blocked: Mutex::new((0, Vec::new())),
            seed: std::sync::OnceLock::new(),
            lock_cycles: AtomicU8::new(0),
            lock_cycle_reported: AtomicBool::new(false),
        });
        Ok((shared, locals))
    }
}

/// A goroutine-running thread (worker or replacement) waiting inside a goro
/// `_blocking` call: marked in its sysmon stamp (so sysmon hands its
/// goroutines off at once) and registered with its runtime (so shutdown
/// can release it). Elsewhere (plain threads, `block_on`, the blocking
/// pool) the guard does nothing.
pub(crate) struct BlockingCall {
    shared: *const Shared,
    stamp: *const sysmon::PollStamp,
    key: usize,
}

impl BlockingCall {
    /// Enters a blocking wait that parks on `parker`.
    pub(crate) fn enter(parker: &Arc<ThreadWaker>) -> BlockingCall {
        context::with(|ctx| match ctx {
            Some(c) if !c.stamp.is_null() => {
                // SAFETY: the stamp outlives the context (see `ThreadCtx`).
                unsafe { &*c.stamp }.blocking_call(true);
                let key = c.shared().register_blocked(parker);
                BlockingCall {
                    shared: c.shared,
                    stamp: c.stamp,
                    key,
                }
            }
            _ => BlockingCall {
                shared: ptr::null(),
                stamp: ptr::null(),
                key: 0,
            },
        })
    }

    /// True when this thread must give up the wait: its runtime shuts down.
    #[inline]
    pub(crate) fn released(&self) -> bool {
        // SAFETY: the context (and its `Shared`) outlives this guard.
        unsafe { self.shared.as_ref() }.is_some_and(|s| s.is_shutdown())
    }
}

impl Drop for BlockingCall {
    fn drop(&mut self) {
        // SAFETY: as in `released`.
        if let Some(s) = unsafe { self.shared.as_ref() } {
            s.unregister_blocked(self.key);
            // SAFETY: the stamp outlives the context.
            unsafe { &*self.stamp }.blocking_call(false);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use std::{
        task::Waker,
        time::{Duration, Instant},
    };

    use loom::sync::Arc;

    use super::{driver_timeout, TimerRole};
    use crate::{
        runtime::park::Parker,
        time::driver::{TimerDriver, TimerEntry},
    };

    /// Worker 0's parker, the poller it sleeps in as the timer driver (a
    /// second parker stands for `IoDriver::wait`/`wake`), the role and an
    /// empty timer heap.
    fn setup() -> (Arc<TimerRole>, Arc<Parker>, Arc<Parker>, Arc<TimerDriver>) {
        (
            Arc::new(TimerRole::new()),
            Arc::new(Parker::new()),
            Arc::new(Parker::new()),
            Arc::new(TimerDriver::new()),
        )
    }

    /// The driver's side of `worker::park`: take the role, compute the
    /// sleep, sleep in the poller when there is no deadline (a wake-up
    /// lost here would sleep forever: loom reports the deadlock), release.
    fn drive(role: &TimerRole, parker: &Parker, poller: &Parker, timers: &TimerDriver) {
        assert!(role.take(0));
        if driver_timeout(parker, timers).is_none() {
            poller.park();
        }
        role.release();
    }

    /// `Shared::unpark_worker` against worker 0 taking the timer-driver
    /// role: the notification is never lost.
    #[test]
    fn loom_timer_role_against_unpark_worker() {
        loom::model(|| {
            let (role, parker, poller, timers) = setup();
            let t = {
                let (role, parker, poller) = (role.clone(), parker.clone(), poller.clone());
                loom::thread::spawn(move || role.unpark(0, &parker, || poller.unpark()))
            };
            drive(&role, &parker, &poller, &timers);
            t.join().unwrap();
        });
    }

    /// A timer that becomes the earliest (`TimerDriver::insert`, then
    /// `Shared::kick_timer_driver`'s wake of the role holder) against
    /// worker 0 taking the role: the driver either sees the deadline or
    /// is woken.
    #[test]
    fn loom_timer_insert_against_taking_the_role() {
        loom::model(|| {
            let (role, parker, poller, timers) = setup();
            let t = {
                let (role, parker, poller, timers) =
                    (role.clone(), parker.clone(), poller.clone(), timers.clone());
                loom::thread::spawn(move || {
                    let deadline = Instant::now() + Duration::from_secs(3600);
                    let entry = TimerEntry::new(Waker::noop().clone());
                    if timers.insert(deadline, entry) {
                        if let Some(w) = role.holder_after_insert() {
                            role.unpark(w, &parker, || poller.unpark());
                        }
                    }
                })
            };
            drive(&role, &parker, &poller, &timers);
            t.join().unwrap();
        });
    }
}
