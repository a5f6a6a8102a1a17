//! Which heap a timer lives in (the runtime's, or the global one with its
//! own thread for timers outside any runtime), the clock ([`now`]), and
//! arming one heap entry (`Armed`, `Callback`).

use std::{
    panic::Location,
    sync::{Arc, OnceLock},
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use super::driver::{TimerDriver, TimerEntry};

use crate::{
    runtime::{context, park::Parker, Shared},
    wait::{self, WaitReason},
};

/// Which heap a timer lives in.
#[derive(Clone)]
pub(super) enum Handle {
    Runtime(Arc<Shared>),
    Global(&'static Global),
}

impl Handle {
    pub(super) fn current() -> Handle {
        context::with(|ctx| match ctx {
            Some(ctx) => Handle::Runtime(ctx.shared().arc()),
            None => Handle::Global(Global::get()),
        })
    }

    pub(super) fn driver(&self) -> &TimerDriver {
        match self {
            Handle::Runtime(s) => &s.timers,
            Handle::Global(g) => &g.driver,
        }
    }

    pub(super) fn insert(&self, deadline: Instant, entry: Arc<TimerEntry>) {
        if self.driver().insert(deadline, entry) {
            match self {
                Handle::Runtime(s) => s.kick_timer_driver(),
                Handle::Global(g) => g.parker.unpark(),
            }
        }
    }

    /// Disarms `entry` if it has not fired; true when it was disarmed.
    pub(super) fn cancel(&self, entry: &TimerEntry) -> bool {
        self.driver().cancel(entry)
    }

    /// The time on this heap's clock.
    pub(super) fn now(&self) -> Instant {
        self.driver().now()
    }
}

/// `t + d`, or a far future (about 30 years on) when that is past the end
/// of `Instant`'s range: every goro API that takes a duration accepts
/// `Duration::MAX`.
pub(crate) fn add_saturating(t: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(86400 * 365 * 30);
    t.checked_add(d).or_else(|| t.checked_add(FAR)).unwrap_or(t)
}

/// A timer that wakes `waker` at `deadline`, for code that reacts to time
/// without a future of its own (`after`, `tick`, context deadlines).
pub(crate) struct Callback {
    handle: Handle,
    entry: Arc<TimerEntry>,
}

impl Callback {
    /// Arms a timer in the current runtime's heap (or the global one).
    pub(crate) fn arm(deadline: Instant, waker: Waker) -> Callback {
        Callback::arm_in(Handle::current(), deadline, waker)
    }

    /// Arms a timer in `shared`'s heap, whichever thread calls (a socket's
    /// deadline lives on its runtime's clock).
    #[cfg_attr(not(feature = "net"), allow(dead_code))]
    pub(crate) fn arm_on(shared: Arc<Shared>, deadline: Instant, waker: Waker) -> Callback {
        Callback::arm_in(Handle::Runtime(shared), deadline, waker)
    }

    fn arm_in(handle: Handle, deadline: Instant, waker: Waker) -> Callback {
        let entry = TimerEntry::new(waker);
        handle.insert(deadline, entry.clone());
        Callback { handle, entry }
    }

    /// Disarms the timer if it has not fired.
    pub(crate) fn disarm(&self) {
        self.handle.cancel(&self.entry);
    }
}

/// The heap for timers used outside any runtime, and its thread.
pub(super) struct Global {
    driver: TimerDriver,
    parker: Parker,
}

pub(super) static GLOBAL: OnceLock<Global> = OnceLock::new();

/// A runtime's heap shuts down: its armed timers move to the global heap
/// (driver.rs `clear`), so a `sleep`, `Timer` or `after` that outlives its
/// runtime still fires.
pub(super) fn global_insert(deadline: Instant, entry: Arc<TimerEntry>) {
    Handle::Global(Global::get()).insert(deadline, entry);
}

/// The global heap, for cancelling an entry handed off to it.
pub(super) fn global_driver() -> &'static TimerDriver {
    &Global::get().driver
}

/// Timers armed in the global heap (made outside any runtime, such as a
/// `time::after` receiver created before `run`): the deadlock detector
/// counts them as wake sources like a runtime's own.
pub(crate) fn global_timers() -> usize {
    GLOBAL.get().map_or(0, |g| g.driver.len())
}

impl Global {
    fn get() -> &'static Global {
        static STARTED: std::sync::Once = std::sync::Once::new();
        let g = GLOBAL.get_or_init(|| Global {
            driver: TimerDriver::new(),
            parker: Parker::new(),
        });
        STARTED.call_once(|| {
            let counted = crate::runtime::deadlock::goro_thread();
            std::thread::Builder::new()
                .name("goro-timer".into())
                .spawn(move || {
                    let _counted = counted;
                    loop {
                        g.driver.fire_expired(Instant::now());
                        match g.driver.next_deadline() {
                            Some(d) => {
                                let now = Instant::now();
                                if d > now {
                                    g.parker.park_timeout(d - now);
                                }
                            }
                            None => g.parker.park(),
                        }
                    }
                })
                .expect("goro: cannot start the timer thread");
        });
        g
    }
}

/// The tick after one due at `at`: one period later, or, for a receiver
/// that fell behind, the first tick of the schedule after `now` (missed
/// ticks are dropped, as Go's one-slot ticker channel does).
pub(super) fn next_tick(at: Instant, period: Duration, now: Instant) -> Instant {
    let next = add_saturating(at, period);
    if next > now {
        return next;
    }
    let behind = now.duration_since(at).as_nanos() / period.as_nanos().max(1);
    let skip = period.as_nanos().saturating_mul(behind + 1);
    add_saturating(
        at,
        Duration::from_nanos(u64::try_from(skip).unwrap_or(u64::MAX)),
    )
}

/// The state every timer future shares: a deadline and, once armed, an
/// entry in a heap.
pub(super) struct Armed {
    pub(super) deadline: Instant,
    pub(super) entry: Option<(Handle, Arc<TimerEntry>)>,
}

impl Armed {
    pub(super) fn new(deadline: Instant) -> Armed {
        Armed {
            deadline,
            entry: None,
        }
    }

    pub(super) fn poll_at(
        &mut self,
        cx: &mut Context<'_>,
        at: &'static Location<'static>,
    ) -> Poll<Instant> {
        match &self.entry {
            Some((_, e)) => {
                if e.has_fired() {
                    self.entry = None;
                    return Poll::Ready(self.deadline);
                }
                e.set_waker(cx.waker());
                // It may have fired between the check and the new waker.
                if e.has_fired() {
                    self.entry = None;
                    return Poll::Ready(self.deadline);
                }
            }
            None => {
                let h = Handle::current();
                if h.now() >= self.deadline {
                    return Poll::Ready(self.deadline);
                }
                let e = TimerEntry::new(cx.waker().clone());
                h.insert(self.deadline, e.clone());
                self.entry = Some((h, e));
            }
        }
        wait::record(WaitReason::Sleep, at);
        Poll::Pending
    }

    /// Disarms; true if it was armed and had not fired.
    pub(super) fn disarm(&mut self) -> bool {
        match self.entry.take() {
            Some((h, e)) => h.cancel(&e),
            None => false,
        }
    }

    pub(super) fn reset(&mut self, deadline: Instant) -> bool {
        let was_active = self.disarm();
        self.deadline = deadline;
        was_active
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        self.disarm();
    }
}

/// The current time on the clock of the runtime this thread serves: real
/// time, or a virtual clock that stands still until every goroutine is
/// blocked when the runtime started paused
/// ([`Builder::start_paused`](crate::Builder::start_paused),
/// `#[goro::test(start_paused = true)]`). Outside a runtime, real time.
/// Deadlines for goro's timers are instants on this clock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let start = goro::time::now();
///     goro::time::sleep(Duration::from_millis(5)).await;
///     assert!(goro::time::now() - start >= Duration::from_millis(5));
/// });
/// ```
pub fn now() -> Instant {
    context::with(|ctx| match ctx {
        Some(ctx) => ctx.shared().timers.now(),
        None => Instant::now(),
    })
}
