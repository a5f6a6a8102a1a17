//! Issue 15: Go's package-level `var mu sync.Mutex` (statics built by the
//! `const fn new` of every sync type), `Once::call_once` as a future, and
//! owned guards and permits moved into goroutines.

#![cfg(not(loom))]

use std::sync::{
    atomic::{AtomicUsize, Ordering::SeqCst},
    Arc,
};

use goro::sync::{Cond, Mutex, Once, OnceValue, RwMutex, Semaphore, WaitGroup};

static MU: Mutex<i32> = Mutex::new(0);
static RW: RwMutex<Vec<u32>> = RwMutex::new(Vec::new());
static ONCE: Once = Once::new();
static ONCE_RUNS: AtomicUsize = AtomicUsize::new(0);
static CONFIG: OnceValue<String> = OnceValue::new();
static CONFIG_RUNS: AtomicUsize = AtomicUsize::new(0);
static SEM: Semaphore = Semaphore::new(3);
static READY: Mutex<bool> = Mutex::new(false);
static COND: Cond = Cond::new();
static WG: WaitGroup = WaitGroup::new();
static WG_HITS: AtomicUsize = AtomicUsize::new(0);

/// Eight goroutines and two threads increment one static mutex.
#[goro::test]
async fn static_mutex_counts_every_increment() {
    const N: i32 = 500;
    let threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..N {
                    *MU.lock_blocking() += 1;
                }
            })
        })
        .collect();
    let hs: Vec<_> = (0..8)
        .map(|_| {
            goro::go(async {
                for _ in 0..N {
                    let mut g = MU.lock().await;
                    *g += 1;
                    if *g % 64 == 0 {
                        goro::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    for t in threads {
        goro::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
    }
    assert_eq!(*MU.lock().await, 10 * N);
}

#[goro::test]
async fn static_rwmutex_readers_and_writers() {
    let writers: Vec<_> = (0..4u32)
        .map(|w| {
            goro::go(async move {
                for i in 0..100 {
                    RW.write().await.push(w * 1000 + i);
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            goro::go(async {
                let mut last = 0;
                for _ in 0..100 {
                    let n = RW.read().await.len();
                    assert!(n >= last, "the vector only grows");
                    last = n;
                }
            })
        })
        .collect();
    for h in writers.into_iter().chain(readers) {
        h.await.unwrap();
    }
    let v = RW.read().await;
    assert_eq!(v.len(), 400);
    for w in 0..4u32 {
        let mine: Vec<_> = v.iter().filter(|x| **x / 1000 == w).collect();
        assert_eq!(mine.len(), 100);
        assert!(mine.windows(2).all(|p| p[0] < p[1]), "per-writer order");
    }
}

/// `call_once(f).await` from 32 goroutines and `call_once_blocking` from
/// two threads: `f` runs once, and nobody returns before it has.
#[goro::test]
async fn static_once_runs_once() {
    let threads: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                ONCE.call_once_blocking(|| {
                    ONCE_RUNS.fetch_add(1, SeqCst);
                });
                assert_eq!(ONCE_RUNS.load(SeqCst), 1);
            })
        })
        .collect();
    let hs: Vec<_> = (0..32)
        .map(|_| {
            goro::go(async {
                ONCE.call_once(|| {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    ONCE_RUNS.fetch_add(1, SeqCst);
                })
                .await;
                assert_eq!(ONCE_RUNS.load(SeqCst), 1);
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    for t in threads {
        goro::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
    }
    assert_eq!(ONCE_RUNS.load(SeqCst), 1);
    assert!(ONCE.is_completed());
}

#[goro::test]
async fn static_once_value_initialises_once() {
    let hs: Vec<_> = (0..16)
        .map(|i| {
            goro::go(async move {
                let v = CONFIG
                    .get_or_init(|| {
                        CONFIG_RUNS.fetch_add(1, SeqCst);
                        format!("config from {i}")
                    })
                    .await;
                v.clone()
            })
        })
        .collect();
    let t = std::thread::spawn(|| {
        CONFIG
            .get_or_init_blocking(|| {
                CONFIG_RUNS.fetch_add(1, SeqCst);
                "config from a thread".to_string()
            })
            .clone()
    });
    let mut seen = Vec::new();
    for h in hs {
        seen.push(h.await.unwrap());
    }
    seen.push(
        goro::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap(),
    );
    assert_eq!(CONFIG_RUNS.load(SeqCst), 1);
    assert!(seen.iter().all(|s| s == &seen[0]), "{seen:?}");
    assert_eq!(CONFIG.get(), Some(&seen[0]));
}

/// At most 3 of 20 goroutines inside at once; every permit comes back.
#[goro::test]
async fn static_semaphore_bounds_concurrency() {
    static INSIDE: AtomicUsize = AtomicUsize::new(0);
    static MAX: AtomicUsize = AtomicUsize::new(0);
    let hs: Vec<_> = (0..20)
        .map(|_| {
            goro::go(async {
                let _p = SEM.acquire(1).await;
                let now = INSIDE.fetch_add(1, SeqCst) + 1;
                MAX.fetch_max(now, SeqCst);
                goro::yield_now().await;
                INSIDE.fetch_sub(1, SeqCst);
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    assert!(MAX.load(SeqCst) <= 3);
    assert_eq!(SEM.available(), 3);
}

#[goro::test]
async fn static_cond_broadcast() {
    let hs: Vec<_> = (0..8)
        .map(|_| {
            goro::go(async {
                let mut g = READY.lock().await;
                while !*g {
                    g = COND.wait(g).await;
                }
            })
        })
        .collect();
    goro::yield_now().await;
    *READY.lock().await = true;
    COND.broadcast();
    for h in hs {
        h.await.unwrap();
    }
}

/// A static `WaitGroup` used directly (`add`, `done`, `go`, `wait`) and
/// through a clone: both see one counter.
#[goro::test]
async fn static_waitgroup() {
    for _ in 0..10 {
        WG.add(1);
        goro::go(async {
            WG_HITS.fetch_add(1, SeqCst);
            WG.done();
        });
    }
    for _ in 0..10 {
        WG.go(async {
            WG_HITS.fetch_add(1, SeqCst);
        });
    }
    let wg = WG.clone();
    wg.add(1);
    std::thread::spawn(move || {
        WG_HITS.fetch_add(1, SeqCst);
        wg.done();
    });
    WG.wait().await;
    assert_eq!(WG_HITS.load(SeqCst), 21);
}

mod owned {
    use super::*;

    /// A guard moved into a goroutine keeps the lock until it drops there.
    #[goro::test]
    async fn mutex_guard_moves_into_goroutine() {
        let m = Arc::new(Mutex::new(Vec::new()));
        let mut g = m.clone().lock_owned().await;
        let (tx, rx) = goro::chan::<()>(0);
        let holder = goro::go(async move {
            g.push(1);
            rx.recv().await; // hold the lock until told
            g.push(2);
        });
        let m2 = m.clone();
        let waiter = goro::go(async move {
            let mut g = m2.lock_owned().await;
            g.push(3);
        });
        goro::yield_now().await;
        assert!(m.try_lock().is_none(), "the moved guard still holds it");
        tx.send(()).await.unwrap();
        holder.await.unwrap();
        waiter.await.unwrap();
        assert_eq!(*m.lock().await, [1, 2, 3]);
    }

    #[goro::test]
    async fn owned_counter_from_goroutines_and_threads() {
        let m = Arc::new(Mutex::new(0usize));
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let m = m.clone();
                goro::go(async move {
                    for _ in 0..200 {
                        *m.clone().lock_owned().await += 1;
                    }
                })
            })
            .collect();
        let t = {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    *m.clone().lock_owned_blocking() += 1;
                }
            })
        };
        for h in hs {
            h.await.unwrap();
        }
        goro::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
        assert_eq!(*m.lock().await, 9 * 200);
    }

    #[goro::test]
    async fn rwmutex_owned_guards() {
        let m = Arc::new(RwMutex::new(0));
        let r1 = m.clone().read_owned().await;
        let r2 = m.clone().read_owned().await;
        assert!(m.clone().try_write_owned().is_none());
        let m2 = m.clone();
        let writer = goro::go(async move {
            let mut w = m2.write_owned().await;
            *w += 1;
        });
        let sum = goro::go(async move { *r1 + *r2 }).await.unwrap();
        assert_eq!(sum, 0);
        writer.await.unwrap();
        assert_eq!(*m.clone().read_owned().await, 1);
        let mut w = m.clone().write_owned_blocking_in_goroutine().await.unwrap();
        *w += 1;
        drop(w);
        assert_eq!(*m.read().await, 2);
    }

    /// `write_owned_blocking` parks a thread; from a goroutine, run it on
    /// the blocking pool.
    trait BlockingWrite {
        fn write_owned_blocking_in_goroutine(
            self,
        ) -> goro::JoinHandle<goro::sync::OwnedRwMutexWriteGuard<i32>>;
    }
    impl BlockingWrite for Arc<RwMutex<i32>> {
        fn write_owned_blocking_in_goroutine(
            self,
        ) -> goro::JoinHandle<goro::sync::OwnedRwMutexWriteGuard<i32>> {
            goro::spawn_blocking(move || self.write_owned_blocking())
        }
    }

    #[goro::test]
    async fn semaphore_owned_permits_in_goroutines() {
        let sem = Arc::new(Semaphore::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for _ in 0..10 {
            let permit = sem.clone().acquire_owned(1).await;
            let (inside, max) = (inside.clone(), max.clone());
            hs.push(goro::go(async move {
                let _permit = permit;
                let now = inside.fetch_add(1, SeqCst) + 1;
                max.fetch_max(now, SeqCst);
                goro::yield_now().await;
                inside.fetch_sub(1, SeqCst);
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        assert!(max.load(SeqCst) <= 2);
        assert_eq!(sem.available(), 2);
        let p = sem.clone().try_acquire_owned(2).unwrap();
        assert!(sem.clone().try_acquire_owned(1).is_none());
        p.forget();
        assert_eq!(sem.available(), 0);
        sem.release(2);
        assert_eq!(sem.available(), 2);
    }

    /// Dropping owned futures while they wait loses no lock or permit.
    #[goro::test]
    async fn cancelled_owned_waiters_lose_nothing() {
        let m = Arc::new(Mutex::new(()));
        let rw = Arc::new(RwMutex::new(()));
        let sem = Arc::new(Semaphore::new(1));
        for _ in 0..50 {
            let g = m.clone().lock_owned().await;
            let w = rw.clone().write_owned().await;
            let p = sem.clone().acquire_owned(1).await;
            let a = goro::go(m.clone().lock_owned());
            let b = goro::go(rw.clone().read_owned());
            let c = goro::go(rw.clone().write_owned());
            let d = goro::go(sem.clone().acquire_owned(1));
            goro::yield_now().await;
            a.abort();
            b.abort();
            c.abort();
            d.abort();
            drop((g, w, p));
            for r in [
                a.await.is_ok(),
                b.await.is_ok(),
                c.await.is_ok(),
                d.await.is_ok(),
            ] {
                let _ = r; // finished or aborted: either way nothing is held now
            }
            assert!(m.try_lock().is_some());
            assert!(rw.try_write().is_some());
            assert!(sem.try_acquire(1).is_some());
        }
    }
}
