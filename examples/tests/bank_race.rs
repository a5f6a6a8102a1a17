//! The bank-account race (issue 16): a plain run passes, seeded scheduling
//! with chaos finds the overdraw within the default seed count and replays
//! it by its seed, the fixed withdrawal passes every seed.

use goro::testing::{find_failing_seed, seeds, DEFAULT_SEEDS};
use goro_examples::bank::{spend, Account};

/// One worker, no seed: nothing switches between check and withdrawal,
/// so the race stays hidden (as it does in a typical Go run).
#[goro::test(procs = 1)]
async fn racy_bank_passes_a_plain_run() {
    assert_eq!(spend(Account::new(100), 2, 80, true).await, 20);
}

fn overdraw_check(
    racy: bool,
) -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    move || {
        Box::pin(async move {
            let left = spend(Account::new(100), 2, 80, racy).await;
            assert!(left >= 0, "overdrawn: balance {left}");
        })
    }
}

#[test]
fn seeded_chaos_finds_the_overdraw_and_replays_it() {
    let found = find_failing_seed(seeds(DEFAULT_SEEDS), true, overdraw_check(true))
        .expect("a seed within the default count overdraws");
    println!("found: {found}");
    assert!(found.message.contains("overdrawn: balance -60"), "{found}");
    assert!(found
        .to_string()
        .starts_with(&format!("GORO_SEED={}: ", found.seed)));
    // The same seed overdraws again, every time.
    for _ in 0..3 {
        let again = find_failing_seed([found.seed], true, overdraw_check(true))
            .expect("the seed replays the overdraw");
        assert_eq!(again.message, found.message);
    }
}

/// The fixed withdrawal, under every default seed with chaos.
#[goro::test(chaos = true)]
async fn fixed_bank_never_overdraws() {
    assert_eq!(spend(Account::new(100), 2, 80, false).await, 20);
}
