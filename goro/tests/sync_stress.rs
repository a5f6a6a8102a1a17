//! Stress tests for `goro::sync`: exact totals under contention with tokio
//! tasks and OS threads on the same primitive, writer starvation, and
//! cancelled waits that must not lose a lock or a permit.
//!
//! Sizes scale with the env var `GORO_STRESS` (a multiplier, default 1: the
//! whole file runs in a few seconds on 2 cores).

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    thread,
    time::{Duration, Instant},
};

use goro::sync::{Cond, Mutex, RwMutex, Semaphore, WaitGroup};

fn scale() -> usize {
    std::env::var("GORO_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn mutex_counter_threads_and_tasks() {
    let iters = 5_000 * scale();
    let (threads, tasks) = (4, 8);
    let m = Arc::new(Mutex::new(0usize));
    let rt = rt();
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let m = m.clone();
            rt.spawn(async move {
                for j in 0..iters {
                    let mut g = m.lock().await;
                    *g += 1;
                    if (i + j) % 64 == 0 {
                        // Hold the guard across an await point.
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    let ths: Vec<_> = (0..threads)
        .map(|_| {
            let m = m.clone();
            thread::spawn(move || {
                for _ in 0..iters {
                    *m.lock_blocking() += 1;
                }
            })
        })
        .collect();
    for t in ths {
        t.join().unwrap();
    }
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(*m.lock_blocking(), (threads + tasks) * iters);
}

#[test]
fn rwmutex_counter_threads_and_tasks() {
    let iters = 2_000 * scale();
    let m = Arc::new(RwMutex::new(0usize));
    let rt = rt();
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            rt.spawn(async move {
                for _ in 0..iters {
                    *m.write().await += 1;
                    let _r = m.read().await;
                }
            })
        })
        .collect();
    let ths: Vec<_> = (0..3)
        .map(|_| {
            let m = m.clone();
            thread::spawn(move || {
                for _ in 0..iters {
                    *m.write_blocking() += 1;
                    let v = *m.read_blocking();
                    assert!(v <= 7 * iters);
                }
            })
        })
        .collect();
    for t in ths {
        t.join().unwrap();
    }
    rt.block_on(async {
        for w in writers {
            w.await.unwrap();
        }
    });
    assert_eq!(*m.read_blocking(), 7 * iters);
}

#[test]
fn writer_not_starved_by_readers() {
    let m = Arc::new(RwMutex::new(0u64));
    let stop = Arc::new(AtomicBool::new(false));
    // Overlapping readers: at every moment some reader holds the lock.
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (m, stop) = (m.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(SeqCst) {
                    let _g = m.read_blocking();
                    thread::sleep(Duration::from_micros(200));
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(5));
    let start = Instant::now();
    for _ in 0..(20 * scale()) {
        *m.write_blocking() += 1;
    }
    let took = start.elapsed();
    stop.store(true, SeqCst);
    for r in readers {
        r.join().unwrap();
    }
    assert!(took < Duration::from_secs(5), "writer starved: {took:?}");
}

#[test]
fn readers_not_starved_by_writers() {
    let m = Arc::new(RwMutex::new(0u64));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let (m, stop) = (m.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(SeqCst) {
                    let mut g = m.write_blocking();
                    *g += 1;
                    thread::sleep(Duration::from_micros(100));
                }
            })
        })
        .collect();
    let start = Instant::now();
    for _ in 0..(20 * scale()) {
        drop(m.read_blocking());
    }
    let took = start.elapsed();
    stop.store(true, SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    assert!(took < Duration::from_secs(5), "reader starved: {took:?}");
}

/// Lock futures dropped mid-wait (by a timeout) never lose the lock: the
/// total is exact and the mutex ends up free.
#[test]
fn cancelled_lock_futures_never_lose_the_lock() {
    let rt = rt();
    let m = Arc::new(Mutex::new(0usize));
    let done = Arc::new(AtomicUsize::new(0));
    let iters = 300 * scale();
    rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (m, done) = (m.clone(), done.clone());
                tokio::spawn(async move {
                    for j in 0..iters {
                        let timeout = Duration::from_micros(((i * 31 + j * 17) % 50) as u64);
                        if let Ok(mut g) = tokio::time::timeout(timeout, m.lock()).await {
                            *g += 1;
                            done.fetch_add(1, SeqCst);
                            if j % 8 == 0 {
                                tokio::time::sleep(Duration::from_micros(20)).await;
                            }
                        }
                    }
                })
            })
            .collect();
        // Threads hammering the same mutex at once.
        let ths: Vec<_> = (0..2)
            .map(|_| {
                let (m, done) = (m.clone(), done.clone());
                thread::spawn(move || {
                    for _ in 0..iters {
                        *m.lock_blocking() += 1;
                        done.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        for t in ths {
            t.join().unwrap();
        }
    });
    assert_eq!(*m.try_lock().expect("mutex left locked"), done.load(SeqCst));
}

/// The same for semaphore permits: after many cancelled acquires all
/// permits come back.
#[test]
fn cancelled_acquires_never_lose_a_permit() {
    let rt = rt();
    let sem = Arc::new(Semaphore::new(5));
    let iters = 300 * scale();
    let held = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (sem, held) = (sem.clone(), held.clone());
                tokio::spawn(async move {
                    for j in 0..iters {
                        let n = 1 + (i + j) % 3;
                        let timeout = Duration::from_micros(((i * 13 + j * 7) % 60) as u64);
                        if let Ok(p) = tokio::time::timeout(timeout, sem.acquire(n)).await {
                            let now = held.fetch_add(n, SeqCst) + n;
                            assert!(now <= 5, "over-admitted: {now}");
                            tokio::task::yield_now().await;
                            held.fetch_sub(n, SeqCst);
                            drop(p);
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(sem.available(), 5);
    assert!(sem.try_acquire(5).is_some());
}

/// Cancelled read and write futures leave the `RwMutex` consistent.
#[test]
fn cancelled_rw_futures_leave_it_consistent() {
    let rt = rt();
    let m = Arc::new(RwMutex::new(0usize));
    let iters = 300 * scale();
    let writes = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (m, writes) = (m.clone(), writes.clone());
                tokio::spawn(async move {
                    for j in 0..iters {
                        let timeout = Duration::from_micros(((i * 13 + j * 7) % 40) as u64);
                        if (i + j) % 3 == 0 {
                            if let Ok(mut g) = tokio::time::timeout(timeout, m.write()).await {
                                *g += 1;
                                writes.fetch_add(1, SeqCst);
                                tokio::task::yield_now().await;
                            }
                        } else if let Ok(g) = tokio::time::timeout(timeout, m.read()).await {
                            let _ = *g;
                            tokio::task::yield_now().await;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(*m.try_write().expect("left locked"), writes.load(SeqCst));
}

#[test]
fn waitgroup_many_rounds() {
    let wg = WaitGroup::new();
    for _ in 0..(50 * scale()) {
        let hits = Arc::new(AtomicUsize::new(0));
        wg.add(8);
        for _ in 0..8 {
            let (wg, hits) = (wg.clone(), hits.clone());
            thread::spawn(move || {
                hits.fetch_add(1, SeqCst);
                wg.done();
            });
        }
        wg.wait_blocking();
        assert_eq!(hits.load(SeqCst), 8);
    }
}

#[test]
fn cond_ping_pong_threads_and_tasks() {
    // A token passed between a thread and a task through Cond::signal.
    let rounds = 500 * scale();
    let pair = Arc::new((Mutex::new(0usize), Cond::new()));
    let rt = rt();
    let task = {
        let pair = pair.clone();
        rt.spawn(async move {
            let (m, c) = &*pair;
            for i in 0..rounds {
                let mut g = m.lock().await;
                while *g != 2 * i + 1 {
                    g = c.wait(g).await;
                }
                *g += 1;
                c.signal();
            }
        })
    };
    let (m, c) = &*pair;
    for i in 0..rounds {
        let mut g = m.lock_blocking();
        while *g != 2 * i {
            g = c.wait_blocking(g);
        }
        *g += 1;
        c.signal();
    }
    rt.block_on(task).unwrap();
    assert_eq!(*m.lock_blocking(), 2 * rounds);
}
