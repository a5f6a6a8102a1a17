//! Sync, lesson 3: waiting for workers with a WaitGroup.
//!
//! Go by Example's "WaitGroups": `wg.Add(1)` before each `go worker(i)`,
//! `defer wg.Done()` inside, `wg.Wait()` in main. goro's `WaitGroup` has
//! the same `add`, `done` and `wait().await`; it is a cheap `Clone` handle
//! (Go passes `*WaitGroup`), so each goroutine moves its own clone in. And
//! `wg.go(fut)` is Go 1.25's `wg.Go(f)`: `add(1)`, spawn, and `done()` when
//! the goroutine ends — even if it panics — so no `done` can be forgotten.
//!
//! Run: `cargo run --example waitgroup_workers`

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use goro::sync::WaitGroup;

async fn worker(id: u64, finished: Arc<AtomicUsize>) {
    println!("worker {id} starting");
    goro::time::sleep(Duration::from_millis(20 + 5 * id)).await;
    println!("worker {id} done");
    finished.fetch_add(1, Ordering::SeqCst);
}

#[goro::main]
async fn main() {
    let start = Instant::now();

    // The classic form: add / done / wait.
    let wg = WaitGroup::new();
    let finished = Arc::new(AtomicUsize::new(0));
    for id in 1..=5 {
        wg.add(1);
        let (wg, finished) = (wg.clone(), finished.clone());
        goro::go(async move {
            worker(id, finished).await;
            wg.done(); // Go: defer wg.Done()
        });
    }
    wg.wait().await;
    println!(
        "add/done: all 5 workers finished after {:.2?}",
        start.elapsed()
    );
    assert_eq!(finished.load(Ordering::SeqCst), 5);
    assert!(start.elapsed() < Duration::from_millis(150));

    // wg.go: the add and the done come with the spawn.
    let start = Instant::now();
    let finished = Arc::new(AtomicUsize::new(0));
    for id in 1..=5 {
        wg.go(worker(id, finished.clone()));
    }
    wg.wait().await;
    let elapsed = start.elapsed();
    println!("wg.go: all 5 workers finished after {elapsed:.2?}");
    assert_eq!(finished.load(Ordering::SeqCst), 5);
    // They ran concurrently: ~45 ms (the slowest), not the 175 ms of all.
    assert!(elapsed < Duration::from_millis(150));

    // done() runs even when the goroutine panics, so wait() cannot hang.
    println!("a worker that panics (the panic hook prints its message):");
    let failing = wg.go(async { panic!("worker failed") });
    wg.wait().await;
    println!("wg.go counted the panicking worker as done; wait() returned");
    assert!(failing.await.is_err(), "the panic reaches the JoinHandle");
}
