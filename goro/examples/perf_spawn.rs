//! Quick local timing of spawn_join (the real benchmarks live in bench/).
use std::time::Instant;
fn main() {
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    for _ in 0..3 {
        let n = 1_000_000u64;
        let t = Instant::now();
        let s = rt.block_on(async move {
            let hs: Vec<_> = (0..n).map(|i| goro::go(async move { i })).collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(s, n * (n - 1) / 2);
        println!(
            "spawn_join: {:.1} ns/goroutine",
            t.elapsed().as_nanos() as f64 / n as f64
        );
    }
}
