//! Time: [`sleep`], [`timeout`], [`Timer`] and [`Ticker`] (Go's
//! `time.Sleep`, `time.NewTimer`, `time.NewTicker`), and [`after`] /
//! [`tick`], which return a channel for `select!` as Go's `time.After` and
//! `time.Tick` do.
//!
//! Every timer lives in the runtime's timer heap: no thread or goroutine
//! per timer. Inside a goro runtime the workers fire timers (a worker about
//! to go idle sleeps until the earliest deadline); outside any runtime (a
//! tokio task, a plain thread in a `_blocking` call) a global timer thread,
//! started on first use, does the same, so every timer works everywhere.
//! Under `#[goro::test(start_paused = true)]` the clock is virtual and
//! [`now`] reads it.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use goro::time::{sleep, timeout};
//!
//! goro::run(async {
//!     sleep(Duration::from_millis(1)).await;
//!     // A future that takes too long: `Err(Elapsed)`.
//!     let r = timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
//!     assert!(r.is_err());
//!     // Or a timeout as a select! arm, as in Go.
//!     let (_tx, rx) = goro::chan::<u32>(0);
//!     goro::select! {
//!         recv(rx) -> _ => unreachable!(),
//!         recv(goro::time::after(Duration::from_millis(5))) -> _ => {}
//!     }
//! });
//! ```
//!
//! # Compared with Go and tokio
//!
//! `Timer`, `Ticker`, `after` and `tick` have channels with Go 1.23's
//! semantics (timer.rs): `Timer::chan()` is Go's `t.C`, a `select!` arm;
//! a `Timer` you `.await` is the Rust-shaped twin of `<-t.C`.
//!
//! Every duration is accepted: a deadline past the end of `Instant`'s range
//! saturates to a far future (`add_saturating`), as Go accepts any
//! duration.
//!
//! `sleep`, `timeout` and `Sleep::reset` work
//! as tokio's; the futures are `#[must_use]`: a `sleep(d);` without
//! `.await` does nothing and warns.

pub(crate) mod driver;
mod timer;

pub use timer::{after, tick, Tick, Ticker, Timer};

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use driver::{TimerDriver, TimerEntry};

use crate::{
    runtime::{context, park::Parker, Shared},
    wait::{self, WaitReason},
};

/// Which heap a timer lives in.
#[derive(Clone)]
enum Handle {
    Runtime(Arc<Shared>),
    Global(&'static Global),
}

impl Handle {
    fn current() -> Handle {
        context::with(|ctx| match ctx {
            Some(ctx) => Handle::Runtime(ctx.shared().arc()),
            None => Handle::Global(Global::get()),
        })
    }

    fn driver(&self) -> &TimerDriver {
        match self {
            Handle::Runtime(s) => &s.timers,
            Handle::Global(g) => &g.driver,
        }
    }

    fn insert(&self, deadline: Instant, entry: Arc<TimerEntry>) {
        if self.driver().insert(deadline, entry) {
            match self {
                Handle::Runtime(s) => s.kick_timer_driver(),
                Handle::Global(g) => g.parker.unpark(),
            }
        }
    }

    /// Disarms `entry` if it has not fired; true when it was disarmed.
    fn cancel(&self, entry: &TimerEntry) -> bool {
        self.driver().cancel(entry)
    }

    /// The time on this heap's clock.
    fn now(&self) -> Instant {
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
struct Global {
    driver: TimerDriver,
    parker: Parker,
}

static GLOBAL: OnceLock<Global> = OnceLock::new();

/// A runtime's heap shuts down: its armed timers move to the global heap
/// (driver.rs `clear`), so a `sleep`, `Timer` or `after` that outlives its
/// runtime still fires.
fn global_insert(deadline: Instant, entry: Arc<TimerEntry>) {
    Handle::Global(Global::get()).insert(deadline, entry);
}

/// The global heap, for cancelling an entry handed off to it.
fn global_driver() -> &'static TimerDriver {
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
fn next_tick(at: Instant, period: Duration, now: Instant) -> Instant {
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
struct Armed {
    deadline: Instant,
    entry: Option<(Handle, Arc<TimerEntry>)>,
}

impl Armed {
    fn new(deadline: Instant) -> Armed {
        Armed {
            deadline,
            entry: None,
        }
    }

    fn poll_at(&mut self, cx: &mut Context<'_>, at: &'static Location<'static>) -> Poll<Instant> {
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
    fn disarm(&mut self) -> bool {
        match self.entry.take() {
            Some((h, e)) => h.cancel(&e),
            None => false,
        }
    }

    fn reset(&mut self, deadline: Instant) -> bool {
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

/// A future that completes after a duration: Go's `time.Sleep`.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// goro::run(async {
///     let start = Instant::now();
///     goro::time::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
#[track_caller]
pub fn sleep(d: Duration) -> Sleep {
    sleep_until(add_saturating(now(), d))
}

/// A future that completes at `deadline`.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// goro::run(async {
///     let at = Instant::now() + Duration::from_millis(5);
///     goro::time::sleep_until(at).await;
///     assert!(Instant::now() >= at);
/// });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        armed: Armed::new(deadline),
        at: Location::caller(),
    }
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let start = goro::time::now();
///     goro::time::sleep(Duration::from_millis(2)).await;
///     assert!(goro::time::now() - start >= Duration::from_millis(2));
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    armed: Armed,
    at: &'static Location<'static>,
}

impl Sleep {
    /// When the sleep ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let before = goro::time::now();
    /// let s = goro::time::sleep(Duration::from_secs(5));
    /// assert!(s.deadline() >= before + Duration::from_secs(5));
    /// ```
    pub fn deadline(&self) -> Instant {
        self.armed.deadline
    }

    /// Moves the deadline (the sleep must be polled again to re-arm).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{pin::pin, time::Duration};
    /// goro::run(async {
    ///     let mut s = pin!(goro::time::sleep(Duration::from_secs(3600)));
    ///     // Go's timer.Reset: end the sleep in 1 ms instead.
    ///     s.as_mut().reset(goro::time::now() + Duration::from_millis(1));
    ///     s.await;
    /// });
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.armed.reset(deadline);
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let at = self.at;
        self.armed.poll_at(cx, at).map(|_| ())
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.armed.deadline)
            .finish()
    }
}

/// The error of a [`timeout`] that ran out.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let r = goro::time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
///     let e: goro::time::Elapsed = r.unwrap_err();
///     assert_eq!(e.to_string(), "deadline has elapsed");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `fut` for at most `d`: `Ok(output)`, or `Err(Elapsed)` after
/// dropping the future (which cancels whatever it waited on).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let slow = goro::time::sleep(Duration::from_secs(60));
///     assert!(goro::time::timeout(Duration::from_millis(5), slow).await.is_err());
///     let quick = async { 7 };
///     assert_eq!(goro::time::timeout(Duration::from_secs(5), quick).await, Ok(7));
/// });
/// ```
#[track_caller]
pub fn timeout<F: Future>(d: Duration, fut: F) -> Timeout<F> {
    Timeout {
        fut: Some(fut),
        sleep: sleep(d),
    }
}

/// The future returned by [`timeout`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let (tx, rx) = goro::chan::<u32>(1);
///     tx.send(9).await.unwrap();
///     // Completes in time: Ok with the future's output.
///     assert_eq!(goro::time::timeout(Duration::from_secs(10), rx.recv()).await, Ok(Some(9)));
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    fut: Option<F>,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `fut` is structurally pinned (never moved out while
        // pinned; only dropped in place via `set(None)`), `sleep` is Unpin.
        let this = unsafe { self.get_unchecked_mut() };
        if let Some(fut) = this.fut.as_mut() {
            // SAFETY: see above.
            let fut = unsafe { Pin::new_unchecked(fut) };
            if let Poll::Ready(v) = fut.poll(cx) {
                // Assigning drops the pinned future in place, which `Pin`
                // allows (it is never moved).
                this.fut = None;
                return Poll::Ready(Ok(v));
            }
        } else {
            panic!("Timeout polled after completion");
        }
        match Pin::new(&mut this.sleep).poll(cx) {
            Poll::Ready(()) => {
                this.fut = None;
                Poll::Ready(Err(Elapsed(())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.sleep.deadline())
            .finish()
    }
}
