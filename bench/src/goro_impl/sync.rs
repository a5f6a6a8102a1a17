//! goro: `sync/*`.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::join;
use crate::sync::{
    rw_writes, CONTENDED_PER_TASK, RW_PER_TASK, TASKS, UNCONTENDED, WG_GROUP, WG_ROUNDS,
    WRITE_EVERY,
};
use crate::workload::{ns_per, Cfg, Outcome};

pub(crate) fn mutex_contended(cfg: &Cfg) -> Outcome {
    let per = cfg.n(CONTENDED_PER_TASK.0, CONTENDED_PER_TASK.1);
    super::run(cfg, move || async move {
        let start = Instant::now();
        let m = Arc::new(goro::sync::Mutex::new(0u64));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let m = m.clone();
                goro::go(async move {
                    for _ in 0..per {
                        *m.lock().await += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            join(t).await;
        }
        let elapsed = start.elapsed();
        assert_eq!(*m.lock().await, (TASKS * per) as u64);
        ns_per(elapsed, TASKS * per)
    })
}

pub(crate) fn mutex_uncontended(cfg: &Cfg) -> Outcome {
    let n = cfg.n(UNCONTENDED.0, UNCONTENDED.1);
    super::run(cfg, move || async move {
        let m = black_box(goro::sync::Mutex::new(0u64));
        let start = Instant::now();
        for _ in 0..n {
            *m.lock().await += 1;
        }
        let elapsed = start.elapsed();
        assert_eq!(*m.lock().await, n as u64);
        ns_per(elapsed, n)
    })
}

/// `lock_blocking` on a plain thread: the fast path without a future.
pub(crate) fn mutex_uncontended_blocking(cfg: &Cfg) -> Outcome {
    let n = cfg.n(UNCONTENDED.0, UNCONTENDED.1);
    let m = black_box(goro::sync::Mutex::new(0u64));
    let start = Instant::now();
    for _ in 0..n {
        *black_box(&m).lock_blocking() += 1;
    }
    let elapsed = start.elapsed();
    assert_eq!(*m.lock_blocking(), n as u64);
    ns_per(elapsed, n)
}

pub(crate) fn rwmutex_read_heavy(cfg: &Cfg) -> Outcome {
    let per = cfg.n(RW_PER_TASK.0, RW_PER_TASK.1);
    super::run(cfg, move || async move {
        let start = Instant::now();
        let l = Arc::new(goro::sync::RwMutex::new(0u64));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let l = l.clone();
                goro::go(async move {
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
            join(t).await;
        }
        let elapsed = start.elapsed();
        assert_eq!(*l.read().await, rw_writes(per));
        ns_per(elapsed, TASKS * per)
    })
}

pub(crate) fn waitgroup(cfg: &Cfg) -> Outcome {
    let rounds = cfg.n(WG_ROUNDS.0, WG_ROUNDS.1);
    super::run(cfg, move || async move {
        let start = Instant::now();
        let wg = goro::sync::WaitGroup::new();
        let hits = Arc::new(AtomicUsize::new(0));
        for round in 1..=rounds {
            wg.add(WG_GROUP as isize);
            for _ in 0..WG_GROUP {
                let wg = wg.clone();
                let hits = hits.clone();
                goro::go(async move {
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
