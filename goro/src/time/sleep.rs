//! [`sleep`], [`sleep_until`] and [`timeout`]: futures over one heap
//! entry.

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use super::{add_saturating, now, Armed};

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
