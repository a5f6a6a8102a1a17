//! `spawn/*`: the cost of a goroutine — creating and joining one, a tree of
//! them talking through channels, and the memory of one parked.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::workload::{ns_per, Cfg, Outcome, Unit, Workload};
use crate::{mem, rt};

/// Sizes (full, quick). The Go twin's sizes.go holds the same numbers.
pub const SPAWN_JOIN: (usize, usize) = (1_000_000, 100_000);
pub const SKYNET_LEAVES: (usize, usize) = (1_000_000, 100_000);
pub const PARKED: (usize, usize) = (1_000_000, 100_000);

/// The sum of the leaves `0..n`.
pub fn skynet_sum(n: usize) -> u64 {
    (n as u64) * (n as u64 - 1) / 2
}

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload::new(
            "spawn/spawn_join",
            Unit::NsPerOp,
            "spawn N tasks returning their index, keep the handles, await each; ns per task",
        )
        .with("tokio", spawn_join_tokio)
        .with("async-executor", spawn_join_async_executor),
        Workload::new(
            "spawn/skynet",
            Unit::NsPerOp,
            "10-ary tree down to 1M leaves, children send to the parent's channel \
             (goro/Go unbuffered, tokio mpsc(1), async-executor async-channel(1)); ns per leaf; \
             Rust impls box the recursive future",
        )
        .with("tokio", skynet_tokio)
        .with("async-executor", skynet_async_executor),
        Workload::new(
            "spawn/parked_mem",
            Unit::BytesPerGoroutine,
            "RSS growth per task blocked on receiving from one shared channel \
             (tokio: watch::Receiver::changed; async-executor: async-channel); one process per repetition",
        )
        .with("tokio", parked_mem_tokio)
        .with("async-executor", parked_mem_async_executor),
        Workload::new(
            "spawn/parked_mutex_mem",
            Unit::BytesPerGoroutine,
            "RSS growth per task blocked on locking one held mutex (a static, as Go's \
             package-level sync.Mutex; tokio: tokio::sync::Mutex); one process per repetition",
        )
        .with("tokio", parked_mutex_mem_tokio),
    ]
}

// ---- spawn/spawn_join -------------------------------------------------------

fn spawn_join_tokio(cfg: &Cfg) -> Outcome {
    let n = cfg.n(SPAWN_JOIN.0, SPAWN_JOIN.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            handles.push(tokio::spawn(async move { i }));
        }
        let mut sum = 0u64;
        for h in handles {
            sum += h.await.unwrap() as u64;
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, skynet_sum(n));
        ns_per(elapsed, n)
    })
}

fn spawn_join_async_executor(cfg: &Cfg) -> Outcome {
    let n = cfg.n(SPAWN_JOIN.0, SPAWN_JOIN.1);
    rt::async_executor(cfg, move |ex| async move {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            handles.push(ex.spawn(async move { i }));
        }
        let mut sum = 0u64;
        for h in handles {
            sum += h.await as u64;
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, skynet_sum(n));
        ns_per(elapsed, n)
    })
}

// ---- spawn/skynet -----------------------------------------------------------

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

fn skynet_tokio(cfg: &Cfg) -> Outcome {
    fn node(parent: tokio::sync::mpsc::Sender<u64>, num: u64, size: u64) -> BoxFut {
        Box::pin(async move {
            if size == 1 {
                parent.send(num).await.unwrap();
                return;
            }
            let (tx, mut rx) = tokio::sync::mpsc::channel(1);
            let sub = size / 10;
            for i in 0..10 {
                tokio::spawn(node(tx.clone(), num + i * sub, sub));
            }
            let mut sum = 0;
            for _ in 0..10 {
                sum += rx.recv().await.unwrap();
            }
            parent.send(sum).await.unwrap();
        })
    }
    let n = cfg.n(SKYNET_LEAVES.0, SKYNET_LEAVES.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(node(tx, 0, n as u64));
        let sum = rx.recv().await.unwrap();
        let elapsed = start.elapsed();
        assert_eq!(sum, skynet_sum(n));
        ns_per(elapsed, n)
    })
}

fn skynet_async_executor(cfg: &Cfg) -> Outcome {
    type Ex = std::sync::Arc<async_executor::Executor<'static>>;
    fn node(ex: Ex, parent: async_channel::Sender<u64>, num: u64, size: u64) -> BoxFut {
        Box::pin(async move {
            if size == 1 {
                parent.send(num).await.unwrap();
                return;
            }
            let (tx, rx) = async_channel::bounded(1);
            let sub = size / 10;
            for i in 0..10 {
                ex.spawn(node(ex.clone(), tx.clone(), num + i * sub, sub))
                    .detach();
            }
            let mut sum = 0;
            for _ in 0..10 {
                sum += rx.recv().await.unwrap();
            }
            parent.send(sum).await.unwrap();
        })
    }
    let n = cfg.n(SKYNET_LEAVES.0, SKYNET_LEAVES.1);
    rt::async_executor(cfg, move |ex| async move {
        let start = Instant::now();
        let (tx, rx) = async_channel::bounded(1);
        ex.spawn(node(ex.clone(), tx, 0, n as u64)).detach();
        let sum = rx.recv().await.unwrap();
        let elapsed = start.elapsed();
        assert_eq!(sum, skynet_sum(n));
        ns_per(elapsed, n)
    })
}

// ---- spawn/parked_mem -------------------------------------------------------

/// Counters shared by the parked tasks. Statics, so that a task carries
/// nothing but its receiver (Go's twin uses package variables the same way).
pub static PARKED_COUNT: AtomicUsize = AtomicUsize::new(0);
pub static WOKEN_COUNT: AtomicUsize = AtomicUsize::new(0);

fn parked_mem_tokio(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PARKED.0, PARKED.1);
    rt::tokio(cfg, move || async move {
        PARKED_COUNT.store(0, Ordering::SeqCst);
        WOKEN_COUNT.store(0, Ordering::SeqCst);
        let (tx, rx) = tokio::sync::watch::channel(());
        let before = mem::rss_bytes();
        for _ in 0..n {
            let mut rx = rx.clone();
            tokio::spawn(async move {
                PARKED_COUNT.fetch_add(1, Ordering::Relaxed);
                assert!(
                    rx.changed().await.is_err(),
                    "nobody sends: only the close wakes"
                );
                WOKEN_COUNT.fetch_add(1, Ordering::Relaxed);
            });
        }
        while PARKED_COUNT.load(Ordering::Acquire) < n {
            tokio::task::yield_now().await;
        }
        let after = mem::rss_bytes();
        drop(tx);
        drop(rx);
        while WOKEN_COUNT.load(Ordering::Acquire) < n {
            tokio::task::yield_now().await;
        }
        Ok(mem::per_goroutine(before, after, n))
    })
}

/// The mutex `spawn/parked_mutex_mem`'s tasks wait for (tokio).
static TOKIO_PARKED_MU: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn parked_mutex_mem_tokio(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PARKED.0, PARKED.1);
    rt::tokio(cfg, move || async move {
        PARKED_COUNT.store(0, Ordering::SeqCst);
        WOKEN_COUNT.store(0, Ordering::SeqCst);
        let held = TOKIO_PARKED_MU.lock().await;
        let before = mem::rss_bytes();
        for _ in 0..n {
            tokio::spawn(async move {
                PARKED_COUNT.fetch_add(1, Ordering::Relaxed);
                drop(TOKIO_PARKED_MU.lock().await);
                WOKEN_COUNT.fetch_add(1, Ordering::Relaxed);
            });
        }
        while PARKED_COUNT.load(Ordering::Acquire) < n {
            tokio::task::yield_now().await;
        }
        let after = mem::rss_bytes();
        drop(held);
        while WOKEN_COUNT.load(Ordering::Acquire) < n {
            tokio::task::yield_now().await;
        }
        Ok(mem::per_goroutine(before, after, n))
    })
}

fn parked_mem_async_executor(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PARKED.0, PARKED.1);
    rt::async_executor(cfg, move |ex| async move {
        PARKED_COUNT.store(0, Ordering::SeqCst);
        WOKEN_COUNT.store(0, Ordering::SeqCst);
        let (tx, rx) = async_channel::bounded::<()>(1);
        let before = mem::rss_bytes();
        for _ in 0..n {
            let rx = rx.clone();
            ex.spawn(async move {
                PARKED_COUNT.fetch_add(1, Ordering::Relaxed);
                assert!(
                    rx.recv().await.is_err(),
                    "nobody sends: only the close wakes"
                );
                WOKEN_COUNT.fetch_add(1, Ordering::Relaxed);
            })
            .detach();
        }
        while PARKED_COUNT.load(Ordering::Acquire) < n {
            futures_lite::future::yield_now().await;
        }
        let after = mem::rss_bytes();
        tx.close();
        while WOKEN_COUNT.load(Ordering::Acquire) < n {
            futures_lite::future::yield_now().await;
        }
        Ok(mem::per_goroutine(before, after, n))
    })
}
