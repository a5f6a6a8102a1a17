//! Channels, lesson 6: a worker pool.
//!
//! A fixed team of N worker goroutines pull jobs from one shared jobs
//! channel and push results onto a results channel (Go by Example's
//! "Worker Pools"). goro's channels are MPMC, so every worker simply holds
//! a clone of the same `Receiver` — no `Arc<Mutex<Receiver>>` — and each
//! job is received by exactly one worker. Closing the jobs channel ends
//! the workers' `range` loops; when the last worker drops its results
//! sender, the results channel closes and main's loop ends.
//!
//! Run: `cargo run --example worker_pool`

use std::time::{Duration, Instant};

/// One worker: takes jobs until the jobs channel is closed and drained.
async fn worker(
    id: usize,
    jobs: goro::chan::Receiver<u64>,
    results: goro::chan::Sender<(usize, u64)>,
) {
    while let Some(j) = jobs.recv().await {
        goro::time::sleep(Duration::from_millis(10)).await; // "work"
        results.send((id, j * 2)).await.unwrap();
    }
}

#[goro::main]
async fn main() {
    const WORKERS: usize = 4;
    const JOBS: u64 = 20;
    let start = Instant::now();

    let (jobs_tx, jobs_rx) = goro::chan::<u64>(JOBS as usize);
    let (results_tx, results_rx) = goro::chan::<(usize, u64)>(JOBS as usize);

    for id in 1..=WORKERS {
        goro::go(worker(id, jobs_rx.clone(), results_tx.clone()));
    }
    // Main keeps no results sender: the workers' clones are the last ones.
    drop(results_tx);

    for j in 1..=JOBS {
        jobs_tx.send(j).await.unwrap();
    }
    jobs_tx.close(); // no more jobs: the workers' loops end when it is drained

    let mut sum = 0;
    let mut per_worker = [0usize; WORKERS];
    while let Some((id, r)) = results_rx.recv().await {
        sum += r;
        per_worker[id - 1] += 1;
    }
    let elapsed = start.elapsed();

    println!("{JOBS} jobs of 10 ms on {WORKERS} workers took {elapsed:.2?}");
    for (i, n) in per_worker.iter().enumerate() {
        println!("  worker {} did {n} jobs", i + 1);
    }
    println!("sum of results: {sum}");
    assert_eq!(sum, JOBS * (JOBS + 1)); // 2 * (1 + 2 + ... + JOBS)
    assert_eq!(per_worker.iter().sum::<usize>(), JOBS as usize);
    // 20 jobs of 10 ms in sequence would take 200 ms; 4 workers take ~50 ms.
    assert!(
        elapsed < Duration::from_millis(180),
        "the workers did not run concurrently"
    );
}
