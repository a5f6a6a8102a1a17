//! Quick local timing of the channel rows (the real benchmarks live in bench/).
use std::time::Instant;

fn worker_pool(rt: &goro::Runtime, n: u64) -> f64 {
    on(rt, async move {
        let t = Instant::now();
        let (jobs_tx, jobs_rx) = goro::chan::<u64>(128);
        let (res_tx, res_rx) = goro::chan::<u64>(128);
        goro::go(async move {
            for x in 0..n {
                assert!(jobs_tx.send(x).await.is_ok());
            }
            jobs_tx.close();
        });
        for _ in 0..8 {
            let jobs = jobs_rx.clone();
            let res = res_tx.clone();
            goro::go(async move {
                while let Some(x) = jobs.recv().await {
                    assert!(res.send(x * 2).await.is_ok());
                }
            });
        }
        let mut sum = 0;
        for _ in 0..n {
            sum += res_rx.recv().await.expect("a result");
        }
        assert_eq!(sum, n * (n - 1));
        t.elapsed().as_nanos() as f64 / n as f64
    })
}

fn on<F: std::future::Future<Output = f64> + Send + 'static>(rt: &goro::Runtime, f: F) -> f64 {
    rt.block_on(async move { goro::go(f).await.unwrap() })
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let procs = std::env::var("PROCS").map_or(2, |v| v.parse().unwrap());
    let rt = goro::Runtime::builder().procs(procs).build().unwrap();
    let n = 2_000_000;
    for _ in 0..3 {
        if which.is_empty() || which == "wp" {
            println!("worker_pool: {:.1} ns/job", worker_pool(&rt, n));
        }
    }
}
