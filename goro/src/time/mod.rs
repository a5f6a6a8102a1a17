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
//! semantics (chan_timer.rs): `Timer::chan()` is Go's `t.C`, a `select!` arm;
//! a `Timer` you `.await` is the Rust-shaped twin of `<-t.C`.
//!
//! Every duration is accepted: a deadline past the end of `Instant`'s range
//! saturates to a far future (`add_saturating`), as Go accepts any
//! duration.
//!
//! `sleep`, `timeout` and `Sleep::reset` work
//! as tokio's; the futures are `#[must_use]`: a `sleep(d);` without
//! `.await` does nothing and warns.

mod after;
mod chan_timer;
pub(crate) mod driver;
mod handle;
mod sleep;
mod ticker;
mod timer;

pub use after::{after, tick};
pub use handle::now;
pub(crate) use handle::{add_saturating, global_timers, Callback};
pub use sleep::{sleep, sleep_until, timeout, Elapsed, Sleep, Timeout};
pub use ticker::{Tick, Ticker};
pub use timer::Timer;

use handle::{global_driver, global_insert, next_tick, Armed, Handle};
