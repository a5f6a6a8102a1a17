//! `#[goro::main]`, `#[goro::test]`, `go!` and the leak check.

use std::{future::pending, time::Duration};

#[goro::test]
async fn test_macro_runs_the_body_in_a_runtime() {
    assert_eq!(goro::num_goroutine(), 1);
    let h = goro::go! { 21 * 2 };
    assert_eq!(h.await.unwrap(), 42);
}

#[goro::test(procs = 1)]
async fn test_macro_takes_procs() {
    assert_eq!(goro::procs(), 1);
}

#[goro::test(leak_check = false)]
async fn leak_check_can_be_turned_off() {
    goro::go(pending::<()>());
}

#[goro::test]
async fn goroutines_that_finish_within_the_grace_period_are_not_leaks() {
    goro::go(goro::time::sleep(Duration::from_millis(20)));
}

#[test]
fn leak_check_reports_each_leaked_goroutine() {
    let rt = goro::Runtime::builder().procs(1).build().unwrap();
    let line = line!() + 3;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        goro::testing::run_test(rt, true, async {
            goro::go(pending::<()>());
            goro::go(goro::time::sleep(Duration::from_secs(3600)));
            let (tx, rx) = goro::chan::<u32>(0);
            goro::go(async move {
                let _keep = tx;
                rx.recv().await
            });
        })
    }));
    let msg = r.unwrap_err();
    let msg = msg.downcast_ref::<String>().expect("a String panic");
    assert!(msg.contains("found 3 leaked goroutine(s)"), "{msg}");
    assert!(msg.contains("[sleep]"), "{msg}");
    assert!(msg.contains("[chan receive]"), "{msg}");
    // Spawn sites, and the blocking call's own line for the channel wait.
    assert!(msg.contains(&format!("tests/macros.rs:{line}")), "{msg}");
    assert!(
        msg.contains(&format!("tests/macros.rs:{}", line + 5)),
        "{msg}"
    );
}

#[test]
fn assert_no_leaks_passes_when_all_exit() {
    goro::run(async {
        let hs: Vec<_> = (0..10).map(|_| goro::go(async {})).collect();
        for h in hs {
            h.await.unwrap();
        }
        goro::testing::assert_no_leaks();
    });
}

mod main_macro {
    #[goro::main(procs = 2)]
    async fn main() -> Result<u32, String> {
        Ok(goro::go(async { goro::procs() as u32 }).await.unwrap())
    }

    #[test]
    fn main_macro_returns_the_value() {
        assert_eq!(main(), Ok(2));
    }
}

#[test]
fn macro_error_messages() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
