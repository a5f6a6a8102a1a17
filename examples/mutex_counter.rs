//! Sync, lesson 1: a counter shared by 1,000 goroutines, under a Mutex.
//!
//! The Go tour's `SafeCounter`: many goroutines increment one counter, and
//! a `sync.Mutex` makes each `c.v++` happen alone. In goro the
//! `goro::sync::Mutex<T>` holds the data it guards: `lock().await` returns
//! a guard through which the counter is reached, and the guard's drop is
//! `defer mu.Unlock()`. The goroutines share the mutex through an `Arc`.
//!
//! Without the lock, Go compiles the program and `go run -race` may catch
//! the race at run time; Rust refuses to compile it (see the doc test in
//! `examples/lib.rs`, a `compile_fail` test of exactly that program).
//!
//! Run: `cargo run --example mutex_counter`

use std::{collections::HashMap, sync::Arc};

use goro::sync::Mutex;

#[goro::main]
async fn main() {
    const GOROUTINES: u64 = 1_000;
    const INCREMENTS: u64 = 100;

    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..GOROUTINES)
        .map(|_| {
            let counter = counter.clone();
            goro::go(async move {
                for _ in 0..INCREMENTS {
                    *counter.lock().await += 1; // lock, c.v++, unlock
                    goro::yield_now().await; // let the others interleave
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let total = *counter.lock().await;
    println!("{GOROUTINES} goroutines x {INCREMENTS} increments = {total}");
    assert_eq!(total, GOROUTINES * INCREMENTS);

    // The tour's SafeCounter: a map of counters behind one mutex.
    let c = Arc::new(Mutex::new(HashMap::<&str, u32>::new()));
    let wg = goro::sync::WaitGroup::new();
    for _ in 0..GOROUTINES {
        let c = c.clone();
        wg.go(async move {
            let mut m = c.lock().await; // the guard unlocks when it goes out of scope
            *m.entry("somekey").or_default() += 1;
        });
    }
    wg.wait().await;
    let v = c.lock().await["somekey"];
    println!("SafeCounter: somekey = {v}");
    assert_eq!(v, GOROUTINES as u32);

    // Once no goroutine holds a clone, the Arc unwraps and so does the Mutex.
    let total = Arc::try_unwrap(counter).unwrap().into_inner();
    assert_eq!(total, GOROUTINES * INCREMENTS);
}
