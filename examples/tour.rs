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

    lesson(
        2,
        "main waits: JoinHandle is a future of the goroutine's result",
    );
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
        println!(
            "   goroutines alive (main + 1 sleeping): {}",
            goro::num_goroutine()
        );
        h.await.unwrap();
        goro::yield_now().await;
        let r = goro::time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await;
        println!("   timeout on a future that never completes: {r:?}");
    }

    lesson(5, "an unbuffered channel is a hand-off");
    {
        let (tx, rx) = goro::chan::<&str>(0);
        let t = Instant::now();
        let sender = goro::go(async move {
            tx.send("ping").await.unwrap(); // waits for the receiver
            t.elapsed()
        });
        goro::time::sleep(Duration::from_millis(20)).await;
        let v = rx.recv().await.unwrap();
        let sent_after = sender.await.unwrap();
        println!("   received {v:?}; the send completed only then, after {sent_after:.0?}");
        assert!(sent_after >= Duration::from_millis(20));
    }

    lesson(6, "a buffered channel is a queue: len, cap, try_send");
    {
        let (tx, rx) = goro::chan::<u32>(2);
        tx.send(1).await.unwrap(); // room in the buffer: no receiver needed
        tx.send(2).await.unwrap();
        println!("   len {} cap {}", tx.len(), tx.capacity());
        let full = tx.try_send(3).unwrap_err();
        println!(
            "   try_send(3) on a full channel: {full} (value {} handed back)",
            full.into_inner()
        );
        assert_eq!((rx.recv().await, rx.recv().await), (Some(1), Some(2)));
    }

    lesson(
        7,
        "range over a channel until close; buffered values survive close",
    );
    {
        let (tx, rx) = goro::chan::<u64>(8);
        goro::go(async move {
            let (mut a, mut b) = (0, 1);
            for _ in 0..8 {
                tx.send(a).await.unwrap();
                (a, b) = (b, a + b);
            }
            tx.close(); // close(c): the values sent stay buffered
        });
        let mut fib = Vec::new();
        while let Some(v) = rx.recv().await {
            fib.push(v); // for v := range c
        }
        println!("   {fib:?}, then recv() = None: closed and drained");
        assert_eq!(fib, [0, 1, 1, 2, 3, 5, 8, 13]);
    }

    lesson(8, "select: with default (non-blocking), and with a timeout");
    {
        let (tx, rx) = goro::chan::<&str>(1);
        let r = goro::select! {
            recv(rx) -> v => v,
            default => None,
        };
        println!("   nothing sent yet: default ran ({r:?})");
        assert_eq!(r, None);
        tx.send("hello").await.unwrap();
        let r = goro::select! {
            recv(rx) -> v => v,
            default => None,
        };
        println!("   after a send: {r:?}");
        assert_eq!(r, Some("hello"));
        let t = Instant::now();
        let r = goro::select! {
            recv(rx) -> v => Ok(v),
            recv(goro::time::after(Duration::from_millis(15))) => Err("timed out"),
        };
        println!("   nobody sends: {r:?} after {:.0?}", t.elapsed());
        assert_eq!(r, Err("timed out"));
    }

    lesson(
        9,
        "a worker pool: N workers, one jobs channel, one results channel",
    );
    {
        let (jobs_tx, jobs) = goro::chan::<u64>(100);
        let (results_tx, results) = goro::chan::<u64>(100);
        for _ in 0..4 {
            let (jobs, results_tx) = (jobs.clone(), results_tx.clone()); // MPMC: clone the ends
            goro::go(async move {
                while let Some(j) = jobs.recv().await {
                    goro::time::sleep(Duration::from_millis(2)).await;
                    results_tx.send(j * 2).await.unwrap();
                }
            });
        }
        drop(results_tx); // the workers hold the last senders
        let t = Instant::now();
        for j in 1..=40 {
            jobs_tx.send(j).await.unwrap();
        }
        jobs_tx.close();
        let mut sum = 0;
        while let Some(r) = results.recv().await {
            sum += r;
        }
        println!(
            "   4 workers did 40 jobs of 2 ms in {:.0?}; sum {sum}",
            t.elapsed()
        );
        assert_eq!(sum, 2 * (1..=40).sum::<u64>());
    }

    lesson(10, "a counter shared by 1,000 goroutines, under a Mutex");
    {
        let counter = std::sync::Arc::new(goro::sync::Mutex::new(0u64));
        let hs: Vec<_> = (0..1000)
            .map(|_| {
                let c = counter.clone();
                goro::go(async move { *c.lock().await += 1 }) // the guard is `defer mu.Unlock()`
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        println!(
            "   counter = {} (without the Mutex, it does not compile)",
            *counter.lock().await
        );
        assert_eq!(*counter.lock().await, 1000);
    }

    lesson(11, "WaitGroup: add/done, and wg.go");
    {
        let wg = goro::sync::WaitGroup::new();
        let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for i in 0..5 {
            wg.add(1);
            let (wg, n) = (wg.clone(), n.clone());
            goro::go(async move {
                goro::time::sleep(Duration::from_millis(i)).await;
                n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                wg.done();
            });
        }
        for _ in 0..5 {
            let n = n.clone();
            wg.go(async move { n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) });
            // add + go + done
        }
        wg.wait().await;
        let n = n.load(std::sync::atomic::Ordering::SeqCst);
        println!("   wait() returned with {n} of 10 workers done");
        assert_eq!(n, 10);
    }

    lesson(12, "errgroup: at most 3 at once, the first error wins");
    {
        use std::sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        };
        let g = goro::errgroup::Group::<String>::new();
        g.set_limit(Some(3));
        let (running, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        for i in 0..9 {
            let (running, max) = (running.clone(), max.clone());
            g.go(async move {
                max.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                goro::time::sleep(Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                if i == 4 {
                    return Err(format!("job {i} failed"));
                }
                Ok(())
            })
            .await; // waits for a free slot
        }
        let r = g.wait().await;
        let max = max.load(Ordering::SeqCst);
        println!("   9 jobs, limit 3: at most {max} ran at once; wait() = {r:?}");
        assert!(max <= 3);
        assert_eq!(r, Err("job 4 failed".to_string()));
    }

    lesson(
        13,
        "context: a timeout stops a worker that selects on ctx.done()",
    );
    {
        use goro::context;
        let (ctx, cancel) =
            context::with_timeout(&context::background(), Duration::from_millis(30));
        let worker = goro::go(async move {
            let (done, ticks) = (ctx.done(), goro::time::tick(Duration::from_millis(5)));
            let mut steps = 0;
            loop {
                goro::select! {
                    recv(done) => return (steps, ctx.err()),
                    recv(ticks) => steps += 1,
                }
            }
        });
        let (steps, err) = worker.await.unwrap();
        cancel(); // defer cancel()
        println!(
            "   the worker did {steps} steps, then stopped: {}",
            err.unwrap()
        );
        assert_eq!(err, Some(context::ContextError::DeadlineExceeded));
    }

    println!("\ntour done.");
}
