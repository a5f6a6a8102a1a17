//! The runtime's list of live goroutines (runtime/owned.rs) from outside:
//! a goroutine leaves the list as it finishes, on whatever thread, while
//! dumps and the goroutine count read the list and shutdown empties it.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

mod common;
use common::within;

fn rt(procs: usize) -> goro::Runtime {
    goro::Runtime::builder().procs(procs).build().unwrap()
}

/// Counts drops: every goroutine's future is dropped exactly once.
struct Token(Arc<AtomicUsize>);
impl Drop for Token {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Dumps and counts from another thread race goroutines that finish on two
/// workers: every dump lists only goroutines still live, nothing is freed
/// under a reader, every future is dropped once, and the count ends at 0.
#[test]
fn dumps_race_finishing_goroutines() {
    within(120, || {
        const N: usize = 200_000;
        let rt = Arc::new(rt(2));
        let dropped = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (rt, stop) = (rt.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut dumps = 0;
                while !stop.load(SeqCst) {
                    let d = rt.dump();
                    assert!(d.len() <= N + 1, "{} goroutines listed", d.len());
                    for g in d.goroutines() {
                        assert!(g.id > 0);
                    }
                    let _ = rt.num_goroutine();
                    dumps += 1;
                }
                dumps
            })
        };
        let d2 = dropped.clone();
        rt.block_on(async move {
            let (tx, rx) = goro::chan::<usize>(64);
            let mut sum = 0;
            goro::go(async move {
                for i in 0..N {
                    let t = Token(d2.clone());
                    let tx = tx.clone();
                    goro::go(async move {
                        let _t = t;
                        if i % 7 == 0 {
                            goro::yield_now().await;
                        }
                        tx.send(i).await.unwrap();
                    });
                }
            });
            for _ in 0..N {
                sum += rx.recv().await.unwrap();
            }
            assert_eq!(sum, N * (N - 1) / 2);
        });
        // The last goroutines may still be finishing after their send.
        for _ in 0..1000 {
            if rt.num_goroutine() == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, SeqCst);
        let dumps = reader.join().unwrap();
        assert!(dumps > 0);
        assert_eq!(rt.num_goroutine(), 0);
        assert_eq!(rt.dump().len(), 0);
        assert_eq!(dropped.load(SeqCst), N, "every future dropped once");
    });
}

/// Goroutines spawned from a worker, from the `block_on` thread and from
/// the blocking pool (the shared list) are all listed while parked, leave
/// as they finish, and shutdown finds none of the finished ones again.
#[test]
fn every_spawning_thread_lists_its_goroutines() {
    within(60, || {
        const N: usize = 1000;
        let rt = rt(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = goro::chan::<()>(0);
        let spawn_parked = |n: usize, dropped: Arc<AtomicUsize>, rx: goro::chan::Receiver<()>| {
            for _ in 0..n {
                let t = Token(dropped.clone());
                let rx = rx.clone();
                goro::go(async move {
                    let _t = t;
                    let _ = rx.recv().await;
                });
            }
        };
        let (d, r) = (dropped.clone(), rx.clone());
        rt.block_on(async move {
            // From the block_on thread.
            spawn_parked(N, d.clone(), r.clone());
            // From a worker.
            let (d2, r2) = (d.clone(), r.clone());
            goro::go(async move { spawn_parked(N, d2, r2) })
                .await
                .unwrap();
            // From the blocking pool.
            goro::spawn_blocking(move || spawn_parked(N, d, r))
                .await
                .unwrap();
        });
        for _ in 0..1000 {
            if rt.dump().len() == 3 * N {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(rt.num_goroutine(), 3 * N);
        assert_eq!(rt.dump().len(), 3 * N);
        // Half of them finish; the rest stay parked until shutdown.
        let tx = rt.block_on(async move {
            for _ in 0..3 * N / 2 {
                tx.send(()).await.unwrap();
            }
            tx
        });
        for _ in 0..1000 {
            if rt.num_goroutine() == 3 * N - 3 * N / 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(rt.num_goroutine(), 3 * N - 3 * N / 2);
        assert_eq!(rt.dump().len(), 3 * N - 3 * N / 2);
        assert_eq!(dropped.load(SeqCst), 3 * N / 2);
        drop(rx);
        drop(rt);
        assert_eq!(
            dropped.load(SeqCst),
            3 * N,
            "shutdown dropped the rest once"
        );
        drop(tx);
    });
}

/// Shutdown while goroutines finish on the workers: each future is dropped
/// exactly once, by its finisher or by shutdown.
#[test]
fn shutdown_races_finishing_goroutines() {
    within(120, || {
        for round in 0..20 {
            let rt = rt(2);
            let dropped = Arc::new(AtomicUsize::new(0));
            let spawned = Arc::new(AtomicUsize::new(0));
            let (d, s) = (dropped.clone(), spawned.clone());
            rt.go(async move {
                let mut i = 0usize;
                loop {
                    let t = Token(d.clone());
                    s.fetch_add(1, SeqCst);
                    goro::go(async move {
                        let _t = t;
                        if i % 3 == 0 {
                            goro::yield_now().await;
                        }
                    });
                    i += 1;
                    if i % 64 == 0 {
                        goro::yield_now().await;
                    }
                }
            });
            std::thread::sleep(Duration::from_millis(1 + round % 5));
            drop(rt);
            assert_eq!(
                dropped.load(SeqCst),
                spawned.load(SeqCst),
                "round {round}: every future dropped once"
            );
        }
    });
}
