//! Lesson 3: launching 1,000,000 goroutines.
//!
//! A goroutine is a heap allocation of a few dozen bytes plus its future,
//! not an OS thread: a million of them fit in a few hundred megabytes at
//! most and start in well under a second.
//!
//! Run: `cargo run --release --example million_goroutines`

use std::time::Instant;

#[goro::main]
async fn main() {
    const N: u64 = 1_000_000;
    let start = Instant::now();
    let handles: Vec<_> = (0..N).map(|i| goro::go(async move { i })).collect();
    let spawned = start.elapsed();
    let mut sum = 0;
    for h in handles {
        sum += h.await.unwrap();
    }
    assert_eq!(sum, N * (N - 1) / 2);
    let total = start.elapsed();
    println!(
        "{N} goroutines on {} procs: spawned in {spawned:.2?}, all joined in {total:.2?} ({:.0} ns per goroutine)",
        goro::procs(),
        total.as_nanos() as f64 / N as f64
    );
}
