//! Test support: the leak check behind `#[goro::test]` (uber-go/goleak's
//! job), usable from any harness through [`assert_no_leaks`].

use std::{
    fmt::Write as _,
    future::Future,
    time::{Duration, Instant},
};

use crate::runtime::{context, Runtime, Shared};

/// How long leftover goroutines get to finish before they count as leaked.
const GRACE: Duration = Duration::from_millis(500);

/// Runs a test body on `rt`; with `leak_check`, panics if goroutines are
/// left behind. Used by `#[goro::test]`.
#[doc(hidden)]
pub fn run_test<F: Future>(rt: Runtime, leak_check: bool, body: F) -> F::Output {
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

fn leaks(shared: &Shared, grace: Duration) -> Option<String> {
    let start = Instant::now();
    while shared.owned.len() > 0 {
        if start.elapsed() >= grace {
            let mut out = String::new();
            let mut n = 0;
            shared.owned.for_each(|h| {
                n += 1;
                let (reason, at) = h.wait();
                let _ = write!(out, "\ngoroutine {} [{}]:", h.id, reason);
                if let Some(at) = at {
                    let _ = write!(out, "\n\t{at}");
                }
                let _ = write!(
                    out,
                    "\ncreated by goroutine {} at\n\t{}\n",
                    h.parent, h.spawned_at
                );
            });
            if n == 0 {
                return None;
            }
            return Some(format!("goro: found {n} leaked goroutine(s):\n{out}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}
