//! Quick local timing of `spawn/skynet` (the real benchmarks live in
//! bench/): Go's skynet, a 10-ary tree of goroutines down to a million
//! leaves, each sending its number to its parent over an unbuffered
//! channel. `PROCS=n` sets the workers (default 2); `PEAK=1` also reports
//! the most goroutines live at once, as the leaves saw it.
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

static PEAK: AtomicUsize = AtomicUsize::new(0);
static PROBE: AtomicUsize = AtomicUsize::new(0);

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

fn node(parent: goro::chan::Sender<u64>, num: u64, size: u64) -> BoxFut {
    Box::pin(async move {
        if size == 1 {
            if PROBE.load(Ordering::Relaxed) != 0 {
                PEAK.fetch_max(goro::num_goroutine(), Ordering::Relaxed);
            }
            assert!(parent.send(num).await.is_ok());
            return;
        }
        let (tx, rx) = goro::chan::<u64>(0);
        let sub = size / 10;
        for i in 0..10 {
            goro::go(node(tx.clone(), num + i * sub, sub));
        }
        let mut sum = 0;
        for _ in 0..10 {
            sum += rx.recv().await.unwrap();
        }
        assert!(parent.send(sum).await.is_ok());
    })
}

fn main() {
    let procs: usize = std::env::var("PROCS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    PROBE.store(std::env::var("PEAK").is_ok() as usize, Ordering::Relaxed);
    let rt = goro::Builder::new().procs(procs).build().unwrap();
    for _ in 0..5 {
        let ns = rt.block_on(async {
            let n = 1_000_000u64;
            let t = Instant::now();
            let (tx, rx) = goro::chan::<u64>(0);
            goro::go(node(tx, 0, n));
            let sum = rx.recv().await.unwrap();
            assert_eq!(sum, n * (n - 1) / 2);
            t.elapsed().as_nanos() as f64 / n as f64
        });
        println!(
            "skynet {ns:.1} ns/leaf peak {}",
            PEAK.load(Ordering::Relaxed)
        );
    }
}
