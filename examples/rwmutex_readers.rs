//! Sync, lesson 2: many readers and an occasional writer, with RwMutex.
//!
//! Go's `sync.RWMutex` lets any number of readers (`RLock`) in at once,
//! or one writer (`Lock`) alone. goro's `RwMutex<T>` is the same: `read()`
//! gives a shared guard (`&T`), `write()` an exclusive one (`&mut T`). A
//! waiting writer stops new readers from entering, so the writer is not
//! starved by a steady stream of readers. Here 8 readers look up prices in
//! a map while a writer raises them now and then; the readers are seen
//! holding the read lock together, and no reader ever sees a half-updated
//! map (every price is always the same).
//!
//! Run: `cargo run --example rwmutex_readers`

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use goro::sync::RwMutex;

#[goro::main]
async fn main() {
    const READERS: usize = 8;
    const ITEMS: [&str; 4] = ["apple", "bread", "cheese", "dates"];

    let prices = Arc::new(RwMutex::new(
        ITEMS
            .iter()
            .map(|&k| (k, 100u32))
            .collect::<HashMap<_, _>>(),
    ));
    let inside = Arc::new(AtomicUsize::new(0)); // readers holding the read lock now
    let max_inside = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicUsize::new(0));

    // The writer: five price rises, 10 ms apart; all prices rise together.
    let writer = {
        let prices = prices.clone();
        goro::go(async move {
            for _ in 0..5 {
                goro::time::sleep(Duration::from_millis(10)).await;
                let mut p = prices.write().await; // alone: no reader is inside
                for v in p.values_mut() {
                    *v += 10;
                }
                println!("writer: prices now {}", p["apple"]);
            }
        })
    };

    let wg = goro::sync::WaitGroup::new();
    for id in 0..READERS {
        let (prices, inside, max_inside, reads) = (
            prices.clone(),
            inside.clone(),
            max_inside.clone(),
            reads.clone(),
        );
        wg.go(async move {
            let mut seen = Vec::new();
            for i in 0.. {
                {
                    let p = prices.read().await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    max_inside.fetch_max(now, Ordering::SeqCst);
                    // Hold the read lock for a moment, as a real lookup would.
                    goro::time::sleep(Duration::from_millis(1)).await;
                    let first = p[ITEMS[0]];
                    assert!(
                        ITEMS.iter().all(|k| p[k] == first),
                        "reader saw a torn update"
                    );
                    if seen.last() != Some(&first) {
                        seen.push(first);
                    }
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
                reads.fetch_add(1, Ordering::SeqCst);
                if saw_last_price(&seen) || i > 1000 {
                    break;
                }
            }
            if id == 0 {
                println!("reader 0 saw the prices {seen:?}");
            }
        });
    }

    writer.await.unwrap();
    wg.wait().await;
    let final_price = prices.read().await["apple"];
    println!(
        "{} reads by {READERS} readers; up to {} readers held the read lock at once",
        reads.load(Ordering::SeqCst),
        max_inside.load(Ordering::SeqCst)
    );
    assert_eq!(final_price, 150);
    assert!(
        max_inside.load(Ordering::SeqCst) > 1,
        "readers never overlapped"
    );
}

/// A reader stops once it has seen the last price the writer sets.
fn saw_last_price(seen: &[u32]) -> bool {
    seen.last() == Some(&150)
}
