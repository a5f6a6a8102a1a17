//! Races, lesson: the bank-account race that compiles, and the seed that
//! finds it.
//!
//! Two customers withdraw 80 from an account holding 100. The racy
//! withdrawal checks the balance under one lock and withdraws under
//! another (see `examples/bank.rs`). A plain run almost always leaves 20:
//! nothing forces a switch between the two steps. Seeded scheduling with
//! chaos tries interleavings one seed at a time, finds one where both
//! customers pass the check (the balance ends at -60), and names the seed
//! that replays it: `GORO_SEED=<n>`. The fixed withdrawal passes every
//! seed.
//!
//! Run: `cargo run --example bank_race`

use goro::testing::{find_failing_seed, seeds, DEFAULT_SEEDS};
use goro_examples::bank::{spend, Account};

fn main() {
    let plain = goro::Runtime::builder().procs(1).build().unwrap();
    let left = plain.block_on(spend(Account::new(100), 2, 80, true));
    println!("plain run, racy withdrawal: balance {left}");
    drop(plain);

    let body = |racy: bool| {
        move || async move {
            let left = spend(Account::new(100), 2, 80, racy).await;
            assert!(left >= 0, "overdrawn: balance {left}");
        }
    };
    // The failing seed's panic message is printed by the panic hook too.
    match find_failing_seed(seeds(DEFAULT_SEEDS), true, body(true)) {
        Some(f) => println!("seeded, racy withdrawal: found it, {f}"),
        None => println!("seeded, racy withdrawal: no seed of {DEFAULT_SEEDS} overdrew"),
    }
    match find_failing_seed(seeds(DEFAULT_SEEDS), true, body(false)) {
        Some(f) => println!("seeded, fixed withdrawal: FAILED, {f}"),
        None => println!("seeded, fixed withdrawal: all {DEFAULT_SEEDS} seeds pass"),
    }
}
