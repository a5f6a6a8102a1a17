//! `Ticker`: Go's `time.Ticker`, a periodic timer with a channel, on
//! [`ChanTimer`] (`chan_timer.rs`, which has the protocol).

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use super::{add_saturating, chan_timer::ChanTimer, now};
use crate::chan::Receiver;

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
