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

/// Waits (at most `secs`) until `done` holds: goroutines finish on the
/// workers a moment after the test has seen their work. The caller
/// asserts what it waited for.
fn wait_until(secs: u64, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
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
        wait_until(5, || rt.num_goroutine() == 0);
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
        wait_until(2, || rt.dump().len() == 3 * N);
        assert_eq!(rt.num_goroutine(), 3 * N);
        assert_eq!(rt.dump().len(), 3 * N);
        // Half of them finish; the rest stay parked until shutdown.
        let tx = rt.block_on(async move {
            for _ in 0..3 * N / 2 {
                tx.send(()).await.unwrap();
            }
            tx
        });
        wait_until(2, || rt.num_goroutine() == 3 * N - 3 * N / 2);
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

/// Threads outside the runtime spawn through `Handle::go` into the shared
/// list at once (its lock taken by several inserters) while the workers
/// finish those goroutines (slots freed without the lock) and another
/// thread dumps: every goroutine runs and is dropped once, and the list
/// ends empty.
#[test]
fn foreign_threads_spawn_while_goroutines_finish() {
    within(120, || {
        const THREADS: usize = 4;
        const EACH: usize = 50_000;
        let rt = Arc::new(rt(2));
        let dropped = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let dumper = {
            let (rt, stop) = (rt.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    assert!(rt.dump().len() <= THREADS * EACH);
                }
            })
        };
        let spawners: Vec<_> = (0..THREADS)
            .map(|t| {
                let (h, dropped, ran) = (rt.handle(), dropped.clone(), ran.clone());
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        let tok = Token(dropped.clone());
                        let ran = ran.clone();
                        drop(h.go(async move {
                            let _t = tok;
                            if (t + i) % 5 == 0 {
                                goro::yield_now().await;
                            }
                            ran.fetch_add(1, SeqCst);
                        }));
                    }
                })
            })
            .collect();
        for s in spawners {
            s.join().unwrap();
        }
        wait_until(10, || rt.num_goroutine() == 0);
        stop.store(true, SeqCst);
        dumper.join().unwrap();
        assert_eq!(rt.num_goroutine(), 0);
        assert_eq!(rt.dump().len(), 0);
        assert_eq!(ran.load(SeqCst), THREADS * EACH);
        assert_eq!(dropped.load(SeqCst), THREADS * EACH);
    });
}

/// Hundreds of thousands of goroutines parked at once from one worker
/// (the list grows bucket by bucket), released, and as many again (the
/// freed slots reused): counts and dumps stay exact throughout.
#[test]
fn a_list_grows_and_reuses_its_slots() {
    within(180, || {
        const N: usize = 300_000;
        let rt = rt(1);
        let dropped = Arc::new(AtomicUsize::new(0));
        for round in 1..=2 {
            let d = dropped.clone();
            let (tx, rx) = goro::chan::<()>(0);
            let rx2 = rx.clone();
            rt.block_on(rt.go(async move {
                for _ in 0..N {
                    let (t, rx) = (Token(d.clone()), rx2.clone());
                    goro::go(async move {
                        let _t = t;
                        let _ = rx.recv().await;
                    });
                }
            }))
            .unwrap();
            assert_eq!(rt.num_goroutine(), N, "round {round}");
            assert_eq!(rt.dump().len(), N, "round {round}");
            drop(rx);
            drop(tx); // closing wakes every receiver
            wait_until(20, || rt.num_goroutine() == 0);
            assert_eq!(rt.num_goroutine(), 0, "round {round}");
            assert_eq!(rt.dump().len(), 0, "round {round}");
            assert_eq!(dropped.load(SeqCst), round * N);
        }
    });
}
