//! Timers with channels: `Timer`, `Ticker`, `after` and `tick`, with Go
//! 1.23's semantics.
//!
//! # Protocol
//!
//! A timer's channel ([`chan::Due`](crate::chan::Due)) buffers nothing: its
//! value is made by the receive that finds the timer due, or handed to a
//! receiver already waiting when the heap fires the timer. So:
//!
//! - after `stop` or `reset` returns, no stale value can be received (there
//!   is none stored anywhere; Go 1.23's guarantee);
//! - an expired timer's channel is ready at once when received from or
//!   selected on, even before the heap has fired it;
//! - the channel never closes (no `Sender` exists): after a one-shot
//!   timer's value, further receives block, as Go's `t.C`;
//! - the heap entry holds only a `Weak` to the timer: when every handle
//!   (the `Timer`/`Ticker` and every `Receiver` clone of its channel) is
//!   dropped, the timer is dropped and its heap entry disarmed, so
//!   `select! { recv(after(1 h)) .. }` in a loop holds O(1) timers.
//!
//! **State** (`St`, under its mutex): `deadline`, `period` (`Some` for a
//! ticker), `active` (armed and its value not yet taken), `fired` (the heap
//! fired the entry of generation `gen`: due even if the timer's clock has
//! not caught up, as with a paused clock), `entry` (the armed heap entry),
//! `fut_waker` (a task awaiting the `Timer`/`Ticker` future directly).
//!
//! **Lock order:** channel lock → timer state → heap. `stop`, `reset` and
//! taking a value hold the channel lock, so the channel's "due then take"
//! under one lock sees one state (the `Due` contract). The heap fires
//! outside its lock: [`Fire`] sets `fired` (if its generation is current),
//! then asks the channel to deliver, then wakes `fut_waker`.
//!
//! A ticker that nobody receives from is not re-armed after it fires: the
//! next receive takes the missed tick at once and re-arms for the first
//! tick of the schedule after now (ticks are dropped, as Go's ticker does).

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    sync::{Arc, Weak},
    task::{Context, Poll, Wake, Waker},
    time::{Duration, Instant},
};

use super::{add_saturating, driver::TimerEntry, next_tick, now, Handle};
use crate::{
    chan::{Chan, Due, Receiver},
    loom::{lock, Mutex, MutexGuard},
    wait::{self, WaitReason},
};

/// The shared state of one timer with a channel.
pub(crate) struct ChanTimer {
    handle: Handle,
    state: Mutex<St>,
}

struct St {
    deadline: Instant,
    period: Option<Duration>,
    active: bool,
    fired: bool,
    gen: u64,
    entry: Option<Arc<TimerEntry>>,
    chan: Weak<Chan<Instant>>,
    fut_waker: Option<Waker>,
}

impl fmt::Debug for ChanTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("ChanTimer")
            .field("deadline", &st.deadline)
            .field("period", &st.period)
            .field("active", &st.active)
            .finish()
    }
}

impl ChanTimer {
    /// A timer first due at `deadline` (then every `period`, if any), and
    /// its channel; armed in the current runtime's heap (or the global one).
    pub(super) fn new(
        deadline: Instant,
        period: Option<Duration>,
    ) -> (Arc<ChanTimer>, Receiver<Instant>) {
        let t = Arc::new(ChanTimer {
            handle: Handle::current(),
            state: Mutex::new(St {
                deadline,
                period,
                active: true,
                fired: false,
                gen: 0,
                entry: None,
                chan: Weak::new(),
                fut_waker: None,
            }),
        });
        let rx = crate::chan::timer_chan::<Instant>(Box::new(TimerDue(t.clone())));
        {
            let mut st = t.lock();
            st.chan = Arc::downgrade(&rx.chan);
            t.arm(&mut st);
        }
        (t, rx)
    }

    fn lock(&self) -> MutexGuard<'_, St> {
        lock(&self.state)
    }

    /// Disarms the heap entry, if any, and starts a new generation.
    fn disarm(&self, st: &mut St) {
        if let Some(e) = st.entry.take() {
            self.handle.cancel(&e);
        }
        st.gen = st.gen.wrapping_add(1);
        st.fired = false;
    }

    /// (Re-)arms the heap entry for `st.deadline` if the timer is active.
    fn arm(self: &Arc<Self>, st: &mut St) {
        self.disarm(st);
        if st.active {
            let fire = Fire {
                timer: Arc::downgrade(self),
                gen: st.gen,
            };
            let e = TimerEntry::new(Waker::from(Arc::new(fire)));
            self.handle.insert(st.deadline, e.clone());
            st.entry = Some(e);
        }
    }

    fn is_due(&self, st: &St) -> bool {
        st.active && (st.fired || self.handle.now() >= st.deadline)
    }

    /// Takes the due value (lock order: the channel's lock is held).
    fn take_due(self: &Arc<Self>, st: &mut St) -> Option<Instant> {
        if !self.is_due(st) {
            return None;
        }
        let v = st.deadline;
        match st.period {
            None => {
                st.active = false;
                self.disarm(st);
            }
            Some(p) => {
                st.deadline = next_tick(v, p, self.handle.now());
                self.arm(st);
            }
        }
        Some(v)
    }

    /// Stops the timer; true if its value had not been taken yet.
    fn stop(&self, rx: &Receiver<Instant>) -> bool {
        let _chan = rx.chan.lock();
        let mut st = self.lock();
        let was_active = st.active;
        st.active = false;
        self.disarm(&mut st);
        was_active
    }

    /// Re-arms for `deadline` (and `period`); true if it had been active.
    fn reset(
        self: &Arc<Self>,
        rx: &Receiver<Instant>,
        deadline: Instant,
        period: Option<Duration>,
    ) -> bool {
        let _chan = rx.chan.lock();
        let mut st = self.lock();
        let was_active = st.active;
        st.active = true;
        st.deadline = deadline;
        st.period = period;
        self.arm(&mut st);
        was_active
    }

    /// A poll of the `Timer`/`Ticker` future: the due value, or pending
    /// with `cx`'s waker stored for the next firing.
    fn poll_value(
        &self,
        rx: &Receiver<Instant>,
        cx: &mut Context<'_>,
        at: &'static Location<'static>,
    ) -> Poll<Instant> {
        if let Ok(v) = rx.try_recv() {
            return Poll::Ready(v);
        }
        {
            let mut st = self.lock();
            wait::update_waker(&mut st.fut_waker, cx.waker());
        }
        // It may have fired between the first try and storing the waker.
        if let Ok(v) = rx.try_recv() {
            return Poll::Ready(v);
        }
        wait::record(WaitReason::Sleep, at);
        Poll::Pending
    }
}

impl Drop for ChanTimer {
    fn drop(&mut self) {
        let st = match self.state.get_mut() {
            Ok(st) => st,
            Err(p) => p.into_inner(),
        };
        if let Some(e) = st.entry.take() {
            self.handle.cancel(&e);
        }
    }
}

/// The channel's view of its timer.
#[derive(Debug)]
struct TimerDue(Arc<ChanTimer>);

impl Due<Instant> for TimerDue {
    fn is_due(&self) -> bool {
        self.0.is_due(&self.0.lock())
    }

    fn take_due(&self) -> Option<Instant> {
        self.0.take_due(&mut self.0.lock())
    }
}

/// The heap entry's waker: marks its generation fired and delivers.
struct Fire {
    timer: Weak<ChanTimer>,
    gen: u64,
}

impl Wake for Fire {
    fn wake(self: Arc<Self>) {
        let Some(t) = self.timer.upgrade() else {
            return;
        };
        let (chan, waker) = {
            let mut st = t.lock();
            if st.gen != self.gen {
                return; // stopped or reset since it was armed
            }
            st.fired = true;
            st.entry = None;
            (st.chan.upgrade(), st.fut_waker.take())
        };
        if let Some(c) = chan {
            c.deliver_due();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A one-shot timer with a channel: Go's `time.Timer`. Receive from
/// [`chan`](Timer::chan) in a `select!` (Go's `case <-t.C`), or `.await`
/// the timer (by `&mut`) for the instant it was due.
///
/// Go 1.23's semantics: after [`stop`](Timer::stop) or
/// [`reset`](Timer::reset) returns, no stale value is received; an expired
/// timer's channel is ready at once; the channel never closes; a timer
/// whose handles are all dropped is disarmed.
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
#[must_use = "a timer does nothing unless received from or awaited"]
pub struct Timer {
    rx: Receiver<Instant>,
    timer: Arc<ChanTimer>,
    at: &'static Location<'static>,
}

impl Timer {
    /// A timer that fires after `d` (any duration: `Duration::MAX` never
    /// fires in practice).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// goro::run(async {
    ///     let t = goro::time::Timer::new(Duration::from_millis(1));
    ///     t.await; // Go's <-t.C
    /// });
    /// ```
    #[track_caller]
    pub fn new(d: Duration) -> Timer {
        let (timer, rx) = ChanTimer::new(add_saturating(now(), d), None);
        Timer {
            rx,
            timer,
            at: Location::caller(),
        }
    }

    /// The timer's channel (Go's `t.C`): it receives the instant the timer
    /// was due, once per arming. Use it as a `select!` arm.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// goro::run(async {
    ///     let t = goro::time::Timer::new(Duration::from_millis(5));
    ///     let (_tx, work) = goro::chan::<u32>(0);
    ///     goro::select! {
    ///         recv(work) -> v => panic!("nobody sends: {v:?}"),
    ///         recv(t.chan()) -> at => assert!(at.is_some()),
    ///     }
    ///     // Re-arm and wait again: no stale value is left behind.
    ///     t.reset(Duration::from_millis(1));
    ///     assert!(t.chan().recv().await.is_some());
    /// });
    /// ```
    pub fn chan(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the timer. True if that prevented its value from being
    /// received (Go 1.23's `Stop`, which also counts an expired value not
    /// yet received); after it returns, no value is received until `reset`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = goro::time::Timer::new(Duration::ZERO);
    /// assert!(t.stop()); // expired, but its value was never received
    /// assert!(t.chan().try_recv().is_err());
    /// ```
    pub fn stop(&self) -> bool {
        self.timer.stop(&self.rx)
    }

    /// Re-arms the timer to fire after `d`. True if it had been active
    /// (its value not yet received or stopped). No value of the earlier
    /// arming is received after it returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = goro::time::Timer::new(Duration::ZERO);
    /// assert!(t.reset(Duration::from_secs(60))); // the expired value is dropped
    /// assert!(t.chan().try_recv().is_err());
    /// ```
    pub fn reset(&self, d: Duration) -> bool {
        self.timer.reset(&self.rx, add_saturating(now(), d), None)
    }

    /// When the timer fires (or would have, if stopped).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = goro::time::Timer::new(Duration::from_secs(60));
    /// assert!(t.deadline() > goro::time::now());
    /// ```
    pub fn deadline(&self) -> Instant {
        self.timer.lock().deadline
    }
}

impl Future for Timer {
    type Output = Instant;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        self.timer.poll_value(&self.rx, cx, self.at)
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.timer.lock();
        f.debug_struct("Timer")
            .field("deadline", &st.deadline)
            .field("active", &st.active)
            .finish()
    }
}

/// Ticks at a fixed period: Go's `time.Ticker`. Receive from
/// [`chan`](Ticker::chan) in a `select!` (Go's `case <-ticker.C`), or await
/// [`tick`](Ticker::tick). A slow receiver gets one late tick and then the
/// schedule resumes (ticks are dropped, as Go's ticker does).
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
#[must_use = "a ticker does nothing unless received from"]
pub struct Ticker {
    rx: Receiver<Instant>,
    timer: Arc<ChanTimer>,
}

impl Ticker {
    /// A ticker whose first tick comes after `period`. Panics if `period`
    /// is zero, as Go's `NewTicker` does ("non-positive interval").
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// goro::run(async {
    ///     let mut t = goro::time::Ticker::new(Duration::from_millis(1));
    ///     let first = t.tick().await;
    ///     let second = t.tick().await;
    ///     assert!(second > first);
    /// });
    /// ```
    #[track_caller]
    pub fn new(period: Duration) -> Ticker {
        assert!(!period.is_zero(), "non-positive interval for NewTicker");
        let (timer, rx) = ChanTimer::new(add_saturating(now(), period), Some(period));
        Ticker { rx, timer }
    }

    /// The ticker's channel (Go's `ticker.C`): it receives the scheduled
    /// instant of each tick. Use it as a `select!` arm.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// goro::run(async {
    ///     let ticker = goro::time::Ticker::new(Duration::from_millis(1));
    ///     let mut n = 0;
    ///     while n < 3 {
    ///         goro::select! {
    ///             recv(ticker.chan()) -> t => { assert!(t.is_some()); n += 1; }
    ///         }
    ///     }
    /// });
    /// ```
    pub fn chan(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// goro::run(async {
    ///     let mut t = goro::time::Ticker::new(Duration::from_millis(1));
    ///     for _ in 0..3 {
    ///         t.tick().await; // Go's <-ticker.C
    ///     }
    /// });
    /// ```
    #[track_caller]
    pub fn tick(&mut self) -> Tick<'_> {
        Tick {
            ticker: self,
            at: Location::caller(),
        }
    }

    /// Stops the ticker: no tick is received after it returns, until
    /// `reset`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = goro::time::Ticker::new(Duration::from_millis(1));
    /// t.stop();
    /// std::thread::sleep(Duration::from_millis(5));
    /// assert!(t.chan().try_recv().is_err()); // no tick after stop
    /// ```
    pub fn stop(&self) {
        self.timer.stop(&self.rx);
    }

    /// Restarts the ticker with a new period, the next tick one period from
    /// now. Panics if `period` is zero, as Go's `Ticker.Reset` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = goro::time::Ticker::new(Duration::from_secs(3600));
    /// t.reset(Duration::from_millis(1));
    /// assert!(t.chan().recv_blocking().is_some());
    /// ```
    #[track_caller]
    pub fn reset(&self, period: Duration) {
        assert!(!period.is_zero(), "non-positive interval for Ticker.Reset");
        self.timer
            .reset(&self.rx, add_saturating(now(), period), Some(period));
    }

    /// The period.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = goro::time::Ticker::new(Duration::from_secs(1));
    /// assert_eq!(t.period(), Duration::from_secs(1));
    /// ```
    pub fn period(&self) -> Duration {
        self.timer.lock().period.unwrap_or(Duration::MAX)
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.timer.lock();
        f.debug_struct("Ticker")
            .field("period", &st.period)
            .field("next", &st.deadline)
            .finish()
    }
}

/// The future returned by [`Ticker::tick`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// goro::run(async {
///     let mut t = goro::time::Ticker::new(Duration::from_millis(1));
///     let tick = t.tick(); // a Tick: nothing happens until awaited
///     let when = tick.await;
///     assert!(when <= goro::time::now());
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Tick<'a> {
    ticker: &'a mut Ticker,
    at: &'static Location<'static>,
}

impl Future for Tick<'_> {
    type Output = Instant;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let t = &*self.ticker;
        t.timer.poll_value(&t.rx, cx, self.at)
    }
}
