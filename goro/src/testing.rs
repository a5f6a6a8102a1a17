//! Test support: the leak check behind `#[goro::test]` (uber-go/goleak's
//! job), usable from any harness through [`assert_no_leaks`].
//!
//! Most tests need only the attribute: `#[goro::test]` runs the test on
//! its own runtime, fails it when goroutines are left behind or when it
//! deadlocks, and with `start_paused = true` gives it a virtual clock.
//!
//! # Examples
//!
//! ```
//! #[goro::test]
//! async fn workers_finish() {
//!     let wg = goro::sync::WaitGroup::new();
//!     for _ in 0..4 {
//!         wg.add(1);
//!         let wg = wg.clone();
//!         goro::go(async move { wg.done() });
//!     }
//!     wg.wait().await; // without it, a goroutine could outlive the test
//! }
//! # fn main() {}
//! ```
//!
//! From another harness, or a test that builds its own runtime:
//!
//! ```
//! goro::run(async {
//!     goro::go(async {}).await.unwrap();
//!     goro::testing::assert_no_leaks(); // panics, listing them, if any remain
//! });
//! ```

use std::{
    future::Future,
    time::{Duration, Instant},
};

use crate::runtime::{context, deadlock, dump, Runtime, Shared};

/// How long leftover goroutines get to finish before they count as leaked.
const GRACE: Duration = Duration::from_millis(500);

/// Runs a test body on `rt`; with `leak_check`, panics if goroutines are
/// left behind. A deadlock (every goroutine blocked on goro primitives
/// with nothing to wake them) fails the test with Go's message and the
/// dump instead of hanging it. Used by `#[goro::test]`.
#[doc(hidden)]
pub fn run_test<F: Future>(rt: Runtime, leak_check: bool, body: F) -> F::Output {
    if rt.shared().deadlock_mode() != deadlock::Mode::Off {
        rt.shared().set_deadlock_mode(deadlock::Mode::Panic);
    }
    let out = rt.block_on(body);
    if leak_check {
        if let Some(report) = leaks(rt.shared(), GRACE) {
            drop(rt);
            panic!("{report}");
        }
    }
    out
}

/// Panics when the current runtime has goroutines other than the caller,
/// after giving them a short grace period to finish; the message lists
/// each leaked goroutine with its wait reason, blocking call and spawn
/// site. Call it at the end of a test body (inside the runtime).
///
/// # Examples
///
/// ```
/// goro::run(async {
///     goro::go(async {}).await.unwrap();
///     goro::testing::assert_no_leaks();
/// });
/// ```
#[track_caller]
pub fn assert_no_leaks() {
    let report = context::with(|ctx| {
        let ctx = ctx.expect("assert_no_leaks called outside a goro runtime");
        leaks(ctx.shared(), GRACE)
    });
    if let Some(r) = report {
        panic!("{r}");
    }
}

/// After `grace`, the goroutines still alive (the main one aside),
/// listed as the dump lists them.
fn leaks(shared: &Shared, grace: Duration) -> Option<String> {
    let start = Instant::now();
    while shared.owned.len() > 0 {
        if start.elapsed() >= grace {
            let leaked = dump::collect(shared).without_main();
            if leaked.is_empty() {
                return None;
            }
            return Some(format!(
                "goro: found {} leaked goroutine(s):\n\n{leaked}",
                leaked.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}
