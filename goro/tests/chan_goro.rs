//! Channels and `select!` between goro goroutines (the runtime's own
//! wakers), and mixed with OS threads.

use std::time::Duration;

#[test]
fn ping_pong_between_goroutines() {
    goro::run(async {
        let (tx1, rx1) = goro::chan::<u32>(0);
        let (tx2, rx2) = goro::chan::<u32>(0);
        let echo = goro::go(async move {
            while let Some(v) = rx1.recv().await {
                tx2.send(v + 1).await.unwrap();
            }
        });
        for i in 0..10_000 {
            tx1.send(i).await.unwrap();
            assert_eq!(rx2.recv().await, Some(i + 1));
        }
        drop(tx1);
        echo.await.unwrap();
    });
}

#[test]
fn select_between_goroutines_counts_every_value() {
    goro::run(async {
        let n = 5_000u64;
        let (a_tx, a_rx) = goro::chan::<u64>(0);
        let (b_tx, b_rx) = goro::chan::<u64>(4);
        let (quit_tx, quit_rx) = goro::chan::<()>(0);
        let mut producers = Vec::new();
        for (k, tx) in [a_tx, b_tx].into_iter().enumerate() {
            producers.push(goro::go(async move {
                for i in 0..n {
                    tx.send(k as u64 * n + i).await.unwrap();
                }
            }));
        }
        let consumer = goro::go(async move {
            let (mut sum, mut count) = (0u64, 0u64);
            // A closed channel is always ready: like Go code that sets a
            // drained channel to nil, swap it for `never()`.
            let nil = goro::chan::never::<u64>();
            let (mut a_open, mut b_open) = (true, true);
            loop {
                let a = if a_open { &a_rx } else { &nil };
                let b = if b_open { &b_rx } else { &nil };
                goro::select! {
                    recv(a) -> v => match v {
                        Some(v) => { sum += v; count += 1 }
                        None => a_open = false,
                    },
                    recv(b) -> v => match v {
                        Some(v) => { sum += v; count += 1 }
                        None => b_open = false,
                    },
                    recv(quit_rx) => break,
                }
            }
            // Drain what is left after the quit signal.
            while let Ok(v) = a_rx.try_recv() {
                sum += v;
                count += 1;
            }
            while let Ok(v) = b_rx.try_recv() {
                sum += v;
                count += 1;
            }
            (sum, count)
        });
        for p in producers {
            p.await.unwrap();
        }
        drop(quit_tx);
        let (sum, count) = consumer.await.unwrap();
        assert_eq!(count, 2 * n);
        assert_eq!(sum, (2 * n) * (2 * n - 1) / 2);
    });
}

#[test]
fn goroutine_and_thread_rendezvous() {
    goro::run(async {
        let (tx, rx) = goro::chan::<i32>(0);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            (0..100).map(|i| tx.send_blocking(i)).all(|r| r.is_ok())
        });
        let mut got = 0;
        while let Some(v) = rx.recv().await {
            assert_eq!(v, got);
            got += 1;
        }
        assert_eq!(got, 100);
        assert!(t.join().unwrap());
    });
}
