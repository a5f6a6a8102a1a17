//! Quick local timing of skynet (the real benchmark lives in bench/).
use std::{future::Future, pin::Pin, time::Instant};

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;

fn node(parent: goro::chan::Sender<u64>, num: u64, size: u64) -> BoxFut {
    Box::pin(async move {
        if size == 1 {
            parent.send(num).await.unwrap();
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
        parent.send(sum).await.unwrap();
    })
}

fn main() {
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    for _ in 0..3 {
        let n = 1_000_000u64;
        let t = Instant::now();
        let s = rt.block_on(async move {
            let (tx, rx) = goro::chan::<u64>(0);
            goro::go(node(tx, 0, n));
            rx.recv().await.unwrap()
        });
        assert_eq!(s, n * (n - 1) / 2);
        println!(
            "skynet: {:.1} ns/leaf",
            t.elapsed().as_nanos() as f64 / n as f64
        );
    }
}
