//! [`after`] and [`tick`]: a timer channel without a `Timer` to hold.

use std::time::{Duration, Instant};

use super::{add_saturating, chan_timer::ChanTimer, now};
use crate::chan::Receiver;

/// A channel that receives the instant it was due, once, after `d`: Go's
/// `time.After`, for timeouts as `select!` arms.
///
/// As in Go 1.23: the channel never closes (after its value, receives
/// block); once expired it is ready at once; dropping every receiver
/// disarms the timer, so a fresh `after` in a loop costs no more than one.
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
pub fn after(d: Duration) -> Receiver<Instant> {
    ChanTimer::new(add_saturating(now(), d), None).1
}

/// A channel that receives the time every `period`: Go's `time.Tick`.
/// Ticks a slow receiver misses are dropped; ticking stops once every
/// receiver is dropped. A zero `period` gives a channel that is never
/// ready, as Go's `Tick` returns nil for `d <= 0`.
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
pub fn tick(period: Duration) -> Receiver<Instant> {
    if period.is_zero() {
        return crate::chan::never();
    }
    ChanTimer::new(add_saturating(now(), period), Some(period)).1
}
