//! goro: `spawn/*`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::mem;
use crate::spawn::{skynet_sum, PARKED, PARKED_COUNT, SKYNET_LEAVES, SPAWN_JOIN, WOKEN_COUNT};
use crate::workload::{ns_per, Cfg, Outcome};

pub(crate) fn spawn_join(cfg: &Cfg) -> Outcome {
    let n = cfg.n(SPAWN_JOIN.0, SPAWN_JOIN.1);
    super::run(cfg, move || async move {
        let start = Instant::now();
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            handles.push(goro::go(async move { i }));
        }
        let mut sum = 0u64;
        for h in handles {
            match h.await {
                Ok(i) => sum += i as u64,
                Err(_) => panic!("goroutine panicked"),
            }
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, skynet_sum(n));
        ns_per(elapsed, n)
    })
}

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Go's canonical skynet: each parent makes an unbuffered channel and its
/// ten children send into it.
fn skynet_node(parent: goro::chan::Sender<u64>, num: u64, size: u64) -> BoxFut {
    Box::pin(async move {
        if size == 1 {
            assert!(parent.send(num).await.is_ok());
            return;
        }
        let (tx, rx) = goro::chan::<u64>(0);
        let sub = size / 10;
        for i in 0..10 {
            goro::go(skynet_node(tx.clone(), num + i * sub, sub));
        }
        let mut sum = 0;
        for _ in 0..10 {
            sum += rx.recv().await.expect("skynet child value");
        }
        assert!(parent.send(sum).await.is_ok());
    })
}

pub(crate) fn skynet(cfg: &Cfg) -> Outcome {
    let n = cfg.n(SKYNET_LEAVES.0, SKYNET_LEAVES.1);
    super::run(cfg, move || async move {
        let start = Instant::now();
        let (tx, rx) = goro::chan::<u64>(0);
        goro::go(skynet_node(tx, 0, n as u64));
        let sum = rx.recv().await.expect("skynet root value");
        let elapsed = start.elapsed();
        assert_eq!(sum, skynet_sum(n));
        ns_per(elapsed, n)
    })
}

pub(crate) fn parked_mem(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PARKED.0, PARKED.1);
    super::run(cfg, move || async move {
        PARKED_COUNT.store(0, Ordering::SeqCst);
        WOKEN_COUNT.store(0, Ordering::SeqCst);
        let (tx, rx) = goro::chan::<()>(0);
        let before = mem::rss_bytes();
        for _ in 0..n {
            let rx = rx.clone();
            goro::go(async move {
                PARKED_COUNT.fetch_add(1, Ordering::Relaxed);
                assert!(
                    rx.recv().await.is_none(),
                    "nobody sends: only the close wakes"
                );
                WOKEN_COUNT.fetch_add(1, Ordering::Relaxed);
            });
        }
        while PARKED_COUNT.load(Ordering::Acquire) < n {
            goro::yield_now().await;
        }
        let after = mem::rss_bytes();
        assert!(tx.close());
        while WOKEN_COUNT.load(Ordering::Acquire) < n {
            goro::yield_now().await;
        }
        Ok(mem::per_goroutine(before, after, n))
    })
}

/// The mutex `spawn/parked_mutex_mem`'s goroutines wait for: a static, as
/// Go's twin uses a package-level `sync.Mutex`.
static PARKED_MU: goro::sync::Mutex<()> = goro::sync::Mutex::new(());

pub(crate) fn parked_mutex_mem(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PARKED.0, PARKED.1);
    super::run(cfg, move || async move {
        PARKED_COUNT.store(0, Ordering::SeqCst);
        WOKEN_COUNT.store(0, Ordering::SeqCst);
        let held = PARKED_MU.lock().await;
        let before = mem::rss_bytes();
        for _ in 0..n {
            goro::go(async move {
                PARKED_COUNT.fetch_add(1, Ordering::Relaxed);
                drop(PARKED_MU.lock().await);
                WOKEN_COUNT.fetch_add(1, Ordering::Relaxed);
            });
        }
        while PARKED_COUNT.load(Ordering::Acquire) < n {
            goro::yield_now().await;
        }
        let after = mem::rss_bytes();
        drop(held);
        while WOKEN_COUNT.load(Ordering::Acquire) < n {
            goro::yield_now().await;
        }
        Ok(mem::per_goroutine(before, after, n))
    })
}
