//! Lesson 2: `main` waits for its goroutines.
//!
//! Go waits with a `sync.WaitGroup` or a channel; in goro every `go`
//! returns a `JoinHandle`, a future of the goroutine's result, so waiting
//! is `.await` and results come back without a shared slice.
//!
//! Run: `cargo run --example goroutine_join`

use std::time::Duration;

async fn worker(id: u32) -> String {
    goro::time::sleep(Duration::from_millis(10 * id as u64)).await;
    format!("worker {id} done")
}

#[goro::main]
async fn main() {
    let handles: Vec<_> = (1..=5).map(|id| goro::go(worker(id))).collect();
    for h in handles {
        // `.await` is Go's `wg.Wait()` for one goroutine, and it carries
        // the result (or the goroutine's panic as a `JoinError` with `is_panic()`).
        println!("{}", h.await.expect("worker panicked"));
    }
    // A panic in a goroutine reaches its handle; the runtime goes on.
    let bad = goro::go(async { panic!("something went wrong") });
    match bad.await {
        Ok(()) => unreachable!(),
        Err(e) => println!("a goroutine failed: {e}"),
    }
    println!(
        "all goroutines finished; goroutines alive: {}",
        goro::num_goroutine()
    );
}
