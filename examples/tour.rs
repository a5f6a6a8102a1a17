//! A walk through goro, lesson by lesson, in the order a Go course teaches
//! concurrency. Each lesson prints what it shows; the whole tour runs in a
//! few seconds. `cargo run --release --example tour`

use std::time::{Duration, Instant};

fn lesson(n: u32, title: &str) {
    println!("\n== {n}. {title}");
}

#[goro::main]
async fn main() {
    println!(
        "goro tour: {} procs (GOMAXPROCS={})",
        goro::procs(),
        std::env::var("GOMAXPROCS").unwrap_or_else(|_| "unset".into())
    );

    lesson(1, "a goroutine main does not wait for");
    {
        let rt = goro::Runtime::builder().procs(2).build().unwrap();
        let printed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p = printed.clone();
        rt.go(async move {
            for i in 0..5 {
                goro::time::sleep(Duration::from_millis(20)).await;
                p.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                println!("   background goroutine: tick {i}");
            }
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(rt); // "main returns": the goroutine is dropped mid-loop
        println!(
            "   main returned after {} of 5 ticks; the goroutine was dropped with it",
            printed.load(std::sync::atomic::Ordering::SeqCst)
        );
    }

    lesson(2, "main waits: JoinHandle is a future of the goroutine's result");
    {
        let hs: Vec<_> = (1..=3)
            .map(|id| {
                goro::go(async move {
                    goro::time::sleep(Duration::from_millis(5 * id)).await;
                    id * 10
                })
            })
            .collect();
        for h in hs {
            println!("   result {}", h.await.unwrap());
        }
        let e = goro::go(async { panic!("oops") }).await.unwrap_err();
        println!("   a panicking goroutine gives its handle: {e}");
    }

    lesson(3, "1,000,000 goroutines");
    {
        let n = 1_000_000u64;
        let t = Instant::now();
        let hs: Vec<_> = (0..n).map(|i| goro::go(async move { i })).collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        assert_eq!(s, n * (n - 1) / 2);
        println!(
            "   spawned and joined {n} goroutines in {:.2?}",
            t.elapsed()
        );
    }

    lesson(4, "yield_now, num_goroutine, timers");
    {
        let h = goro::go(async {
            goro::time::sleep(Duration::from_millis(10)).await;
        });
        println!("   goroutines alive (main + 1 sleeping): {}", goro::num_goroutine());
        h.await.unwrap();
        goro::yield_now().await;
        let r = goro::time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
        println!("   timeout on a future that never completes: {r:?}");
    }

    println!("\ntour done.");
}
