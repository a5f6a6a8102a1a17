//! Quick local measurement of RSS per parked goroutine (bench/ has the real one).
fn rss() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    s.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<usize>()
        .unwrap()
        * 4096
}
fn main() {
    sizes();
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let n = 1_000_000;
        let (tx, rx) = goro::chan::<()>(0);
        let before = rss();
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let rx = rx.clone();
                goro::go(async move { rx.recv().await })
            })
            .collect();
        while goro::runtime::stats()
            .unwrap()
            .workers
            .iter()
            .any(|w| w.queued > 0)
        {
            goro::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        goro::time::sleep(std::time::Duration::from_millis(100)).await;
        let after = rss();
        println!(
            "parked: {} bytes per goroutine (incl. 8 B of JoinHandle)",
            (after - before) / n
        );
        drop(tx);
        for h in hs {
            assert_eq!(h.await.unwrap(), None);
        }
    });
}

#[allow(dead_code)]
fn sizes() {
    let (_tx, rx) = goro::chan::<()>(0);
    let f = async move { rx.recv().await };
    println!("goroutine future: {} bytes", std::mem::size_of_val(&f));
    let (_tx, rx) = goro::chan::<()>(0);
    println!("Recv future: {} bytes", std::mem::size_of_val(&rx.recv()));
}
