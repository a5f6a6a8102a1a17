//! Time: `sleep`, `timeout`, `Timer` and `Ticker` (Go's `time.Sleep`,
//! `time.NewTimer`, `time.NewTicker`), driven by the runtime's timer heap.
//!
//! Inside a goro runtime the workers fire timers: every 61 scheduling ticks,
//! and before parking, when one worker parks with a timeout to the
//! earliest deadline. Outside any runtime (a tokio task, a plain thread
//! using a `_blocking` call) a global timer thread, started on first use,
//! does the same, so every timer works everywhere.
//!
//! Why is `Timer` a future and not a channel? Channels come with the
//! channel package: `after` and `tick` return `Receiver<Instant>` there, so
//! timeouts are `select!` arms as in Go. A `Timer` you `.await` is the
//! Rust-shaped twin of `<-t.C`.

pub(crate) mod driver;

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    sync::{Arc, Mutex, OnceLock},
    task::{Context, Poll, Wake, Waker},
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
        self.handle.driver().cancel(&self.entry);
    }
}

/// The heap for timers used outside any runtime, and its thread.
struct Global {
    driver: TimerDriver,
    parker: Parker,
}

static GLOBAL: OnceLock<Global> = OnceLock::new();

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
    let next = at + period;
    if next > now {
        return next;
    }
    let behind = now.duration_since(at).as_nanos() / period.as_nanos();
    at + period * (behind as u32 + 1)
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
                if h.driver().now() >= self.deadline {
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
            Some((h, e)) => h.driver().cancel(&e),
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
    sleep_until(now().checked_add(d).unwrap_or_else(far_future))
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

fn far_future() -> Instant {
    // About 30 years: far enough to mean "never", near enough not to overflow.
    now() + Duration::from_secs(86400 * 365 * 30)
}

/// The future returned by [`sleep`] and [`sleep_until`].
pub struct Sleep {
    armed: Armed,
    at: &'static Location<'static>,
}

impl Sleep {
    /// When the sleep ends.
    pub fn deadline(&self) -> Instant {
        self.armed.deadline
    }

    /// Moves the deadline (the sleep must be polled again to re-arm).
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

/// A one-shot timer that can be stopped and reset: Go's `time.Timer`.
/// `.await` it (by `&mut`) for the instant it fired.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let mut t = goro::time::Timer::new(Duration::from_secs(60));
///     assert!(t.stop()); // it had not fired
///     t.reset(Duration::from_millis(1));
///     (&mut t).await;
/// });
/// ```
pub struct Timer {
    armed: Armed,
    stopped: bool,
    at: &'static Location<'static>,
}

impl Timer {
    /// A timer that fires after `d`.
    #[track_caller]
    pub fn new(d: Duration) -> Timer {
        Timer {
            armed: Armed::new(now().checked_add(d).unwrap_or_else(far_future)),
            stopped: false,
            at: Location::caller(),
        }
    }

    /// Stops the timer. True if that prevented it from firing (Go's
    /// `Stop`); a stopped timer never completes until `reset`.
    pub fn stop(&mut self) -> bool {
        let was_pending = !self.stopped && !self.fired();
        self.armed.disarm();
        self.stopped = true;
        was_pending
    }

    fn fired(&self) -> bool {
        match &self.armed.entry {
            Some((_, e)) => e.has_fired(),
            None => now() >= self.armed.deadline,
        }
    }

    /// Re-arms the timer to fire after `d`. True if it had been active.
    pub fn reset(&mut self, d: Duration) -> bool {
        let was_active = !self.stopped && !self.fired();
        self.armed
            .reset(now().checked_add(d).unwrap_or_else(far_future));
        self.stopped = false;
        was_active
    }

    /// When the timer fires (or would have, if stopped).
    pub fn deadline(&self) -> Instant {
        self.armed.deadline
    }
}

impl Future for Timer {
    type Output = Instant;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.stopped {
            wait::record(WaitReason::Sleep, self.at);
            return Poll::Pending;
        }
        let at = self.at;
        match self.armed.poll_at(cx, at) {
            Poll::Ready(t) => {
                self.stopped = true;
                Poll::Ready(t)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &self.armed.deadline)
            .field("stopped", &self.stopped)
            .finish()
    }
}

/// Ticks at a fixed period: Go's `time.Ticker`. A slow receiver gets one
/// late tick and then the schedule resumes (ticks are dropped, as Go's
/// one-slot channel does).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let mut t = goro::time::Ticker::new(Duration::from_millis(2));
///     let a = t.tick().await;
///     let b = t.tick().await;
///     assert!(b > a);
///     t.stop();
/// });
/// ```
pub struct Ticker {
    period: Duration,
    armed: Armed,
    stopped: bool,
}

impl Ticker {
    /// A ticker whose first tick comes after `period`. Panics if `period`
    /// is zero, as Go's `NewTicker` does ("non-positive interval").
    #[track_caller]
    pub fn new(period: Duration) -> Ticker {
        assert!(!period.is_zero(), "non-positive interval for NewTicker");
        Ticker {
            period,
            armed: Armed::new(now() + period),
            stopped: false,
        }
    }

    /// Waits for the next tick and returns its scheduled instant.
    #[track_caller]
    pub fn tick(&mut self) -> Tick<'_> {
        Tick {
            ticker: self,
            at: Location::caller(),
        }
    }

    /// Stops the ticker: `tick` then never completes until `reset`.
    pub fn stop(&mut self) {
        self.armed.disarm();
        self.stopped = true;
    }

    /// Restarts the ticker with a new period, the next tick one period from now.
    pub fn reset(&mut self, period: Duration) {
        assert!(!period.is_zero(), "non-positive interval for Ticker.Reset");
        self.period = period;
        self.armed.reset(now() + period);
        self.stopped = false;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    fn poll_tick(&mut self, cx: &mut Context<'_>, at: &'static Location<'static>) -> Poll<Instant> {
        if self.stopped {
            wait::record(WaitReason::Sleep, at);
            return Poll::Pending;
        }
        match self.armed.poll_at(cx, at) {
            Poll::Ready(t) => {
                self.armed.deadline = next_tick(t, self.period, now());
                Poll::Ready(t)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("period", &self.period)
            .field("next", &self.armed.deadline)
            .finish()
    }
}

/// The future returned by [`Ticker::tick`].
#[derive(Debug)]
pub struct Tick<'a> {
    ticker: &'a mut Ticker,
    at: &'static Location<'static>,
}

impl Future for Tick<'_> {
    type Output = Instant;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let at = self.at;
        self.ticker.poll_tick(cx, at)
    }
}

/// Sends the instant on a channel when its timer fires (`after`).
struct SendAt {
    tx: crate::chan::Sender<Instant>,
    deadline: Instant,
}

impl Wake for SendAt {
    fn wake(self: Arc<Self>) {
        // Capacity 1 and one send: never full.
        let _ = self.tx.try_send(self.deadline);
    }
}

/// A channel that receives the current time once, after `d`: Go's
/// `time.After`, for timeouts as `select!` arms.
///
/// Like Go before 1.23, the timer stays armed until it fires even if the
/// receiver is dropped early; in a hot loop prefer [`timeout`] or a
/// [`Timer`] that is reset.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let (_tx, rx) = goro::chan::<u32>(0);
///     let timeout = goro::time::after(Duration::from_millis(5));
///     goro::select! {
///         recv(rx) -> v => panic!("nobody sends: {v:?}"),
///         recv(timeout) -> t => assert!(t.is_some()),
///     }
/// });
/// ```
pub fn after(d: Duration) -> crate::chan::Receiver<Instant> {
    let (tx, rx) = crate::chan::chan::<Instant>(1);
    let deadline = now().checked_add(d).unwrap_or_else(far_future);
    let waker = Waker::from(Arc::new(SendAt { tx, deadline }));
    // Never disarmed: it fires once and drops its sender.
    drop(Callback::arm(deadline, waker));
    rx
}

/// Sends ticks on a channel and re-arms itself (`tick`).
struct TickAt {
    tx: crate::chan::Sender<Instant>,
    period: Duration,
    next: Mutex<Instant>,
    handle: Handle,
}

impl Wake for TickAt {
    fn wake(self: Arc<Self>) {
        let at = *self.next.lock().unwrap_or_else(|p| p.into_inner());
        // A full channel drops the tick, as Go's one-slot ticker channel does.
        if let Err(crate::chan::TrySendError::Closed(_)) = self.tx.try_send(at) {
            return; // every receiver is gone: stop ticking
        }
        let next = next_tick(at, self.period, now());
        *self.next.lock().unwrap_or_else(|p| p.into_inner()) = next;
        let handle = self.handle.clone();
        drop(Callback::arm_in(handle, next, Waker::from(self)));
    }
}

/// A channel that receives the time every `period`: Go's `time.Tick`.
/// Ticks a slow receiver misses are dropped; ticking stops once every
/// receiver is dropped. Panics if `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let ticks = goro::time::tick(Duration::from_millis(2));
///     let a = ticks.recv().await.unwrap();
///     let b = ticks.recv().await.unwrap();
///     assert!(b > a);
/// });
/// ```
pub fn tick(period: Duration) -> crate::chan::Receiver<Instant> {
    assert!(!period.is_zero(), "non-positive interval for Tick");
    let (tx, rx) = crate::chan::chan::<Instant>(1);
    let first = now() + period;
    let handle = Handle::current();
    let t = Arc::new(TickAt {
        tx,
        period,
        next: Mutex::new(first),
        handle: handle.clone(),
    });
    drop(Callback::arm_in(handle, first, Waker::from(t)));
    rx
}
