//! `sync/*`: mutexes under contention and alone, a read-mostly RwMutex and
//! WaitGroup rounds.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::rt;
use crate::workload::{ns_per, Cfg, Outcome, Unit, Workload};

/// Sizes (full, quick). The Go twin's sizes.go holds the same numbers.
pub const CONTENDED_PER_TASK: (usize, usize) = (1_000_000, 100_000);
pub const UNCONTENDED: (usize, usize) = (10_000_000, 1_000_000);
pub const RW_PER_TASK: (usize, usize) = (1_000_000, 100_000);
pub const WG_ROUNDS: (usize, usize) = (1_000, 100);

pub const TASKS: usize = 8;
pub const WG_GROUP: usize = 100;
/// One op in this many is a write in rwmutex_read_heavy.
pub const WRITE_EVERY: usize = 10;

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload::new(
            "sync/mutex_contended",
            Unit::NsPerOp,
            "8 tasks each increment one counter 1M times under a mutex; ns per lock \
             (std: std::sync::Mutex locked inside tokio tasks)",
        )
        .with("tokio", contended_tokio)
        .with("std", contended_std),
        Workload::new(
            "sync/mutex_uncontended",
            Unit::NsPerOp,
            "lock+increment+unlock 10M times from one task; ns per lock \
             (goro_blocking: lock_blocking on a plain thread; std on a plain thread)",
        )
        .with("tokio", uncontended_tokio)
        .with("std", uncontended_std),
        Workload::new(
            "sync/rwmutex_read_heavy",
            Unit::NsPerOp,
            "8 tasks, 1M ops each, every 10th a write (increment), the rest reads; ns per op \
             (tokio: RwLock; std: std::sync::RwLock inside tokio tasks)",
        )
        .with("tokio", rw_tokio)
        .with("std", rw_std),
        Workload::new(
            "sync/waitgroup",
            Unit::NsPerOp,
            "1000 rounds of add(100), 100 tasks that each done(), wait(); ns per task \
             (tokio has no WaitGroup: an atomic counter + Notify)",
        )
        .with("tokio", wg_tokio),
    ]
}

// ---- sync/mutex_contended -------------------------------------------------------

fn contended_tokio(cfg: &Cfg) -> Outcome {
    let per = cfg.n(CONTENDED_PER_TASK.0, CONTENDED_PER_TASK.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let m = Arc::new(tokio::sync::Mutex::new(0u64));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move {
                    for _ in 0..per {
                        *m.lock().await += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(*m.lock().await, (TASKS * per) as u64);
        ns_per(elapsed, TASKS * per)
    })
}

fn contended_std(cfg: &Cfg) -> Outcome {
    let per = cfg.n(CONTENDED_PER_TASK.0, CONTENDED_PER_TASK.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let m = Arc::new(std::sync::Mutex::new(0u64));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move {
                    for _ in 0..per {
                        *m.lock().unwrap() += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(*m.lock().unwrap(), (TASKS * per) as u64);
        ns_per(elapsed, TASKS * per)
    })
}

// ---- sync/mutex_uncontended -----------------------------------------------------

fn uncontended_tokio(cfg: &Cfg) -> Outcome {
    let n = cfg.n(UNCONTENDED.0, UNCONTENDED.1);
    rt::tokio(cfg, move || async move {
        let m = black_box(tokio::sync::Mutex::new(0u64));
        let start = Instant::now();
        for _ in 0..n {
            *m.lock().await += 1;
        }
        let elapsed = start.elapsed();
        assert_eq!(*m.lock().await, n as u64);
        ns_per(elapsed, n)
    })
}

fn uncontended_std(cfg: &Cfg) -> Outcome {
    let n = cfg.n(UNCONTENDED.0, UNCONTENDED.1);
    let m = black_box(std::sync::Mutex::new(0u64));
    let start = Instant::now();
    for _ in 0..n {
        *black_box(&m).lock().unwrap() += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(*m.lock().unwrap(), n as u64);
    ns_per(elapsed, n)
}

// ---- sync/rwmutex_read_heavy ----------------------------------------------------

/// The final value: every task writes once per `WRITE_EVERY` ops.
pub fn rw_writes(per: usize) -> u64 {
    (TASKS * per.div_ceil(WRITE_EVERY)) as u64
}

fn rw_tokio(cfg: &Cfg) -> Outcome {
    let per = cfg.n(RW_PER_TASK.0, RW_PER_TASK.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let l = Arc::new(tokio::sync::RwLock::new(0u64));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    let mut seen = 0u64;
                    for i in 0..per {
                        if i % WRITE_EVERY == 0 {
                            *l.write().await += 1;
                        } else {
                            seen = seen.max(*l.read().await);
                        }
                    }
                    black_box(seen)
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(*l.read().await, rw_writes(per));
        ns_per(elapsed, TASKS * per)
    })
}

fn rw_std(cfg: &Cfg) -> Outcome {
    let per = cfg.n(RW_PER_TASK.0, RW_PER_TASK.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let l = Arc::new(std::sync::RwLock::new(0u64));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    let mut seen = 0u64;
                    for i in 0..per {
                        if i % WRITE_EVERY == 0 {
                            *l.write().unwrap() += 1;
                        } else {
                            seen = seen.max(*l.read().unwrap());
                        }
                    }
                    black_box(seen)
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(*l.read().unwrap(), rw_writes(per));
        ns_per(elapsed, TASKS * per)
    })
}

// ---- sync/waitgroup -----------------------------------------------------------

/// The WaitGroup tokio does not have: a counter and a `Notify`.
struct TokioWaitGroup {
    count: AtomicUsize,
    zero: tokio::sync::Notify,
}

impl TokioWaitGroup {
    fn add(&self, n: usize) {
        self.count.fetch_add(n, Ordering::AcqRel);
    }

    fn done(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            // notify_one keeps a permit if the waiter is not there yet.
            self.zero.notify_one();
        }
    }

    async fn wait(&self) {
        while self.count.load(Ordering::Acquire) != 0 {
            self.zero.notified().await;
        }
    }
}

fn wg_tokio(cfg: &Cfg) -> Outcome {
    let rounds = cfg.n(WG_ROUNDS.0, WG_ROUNDS.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let wg = Arc::new(TokioWaitGroup {
            count: AtomicUsize::new(0),
            zero: tokio::sync::Notify::new(),
        });
        let hits = Arc::new(AtomicUsize::new(0));
        for round in 1..=rounds {
            wg.add(WG_GROUP);
            for _ in 0..WG_GROUP {
                let wg = wg.clone();
                let hits = hits.clone();
                tokio::spawn(async move {
                    hits.fetch_add(1, Ordering::Relaxed);
                    wg.done();
                });
            }
            wg.wait().await;
            assert_eq!(hits.load(Ordering::Relaxed), round * WG_GROUP);
        }
        let elapsed = start.elapsed();
        ns_per(elapsed, rounds * WG_GROUP)
    })
}
