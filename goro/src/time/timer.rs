//! `Timer`: Go's `time.Timer`, a one-shot timer with a channel, on
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
