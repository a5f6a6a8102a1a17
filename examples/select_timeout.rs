//! Channels, lesson 5: a timeout is just another `select` arm.
//!
//! Go writes `case <-time.After(d):` next to the channel it waits on; the
//! first to be ready wins. `goro::time::after(d)` returns a
//! `Receiver<Instant>` that receives once after `d`, so it is a `recv` arm
//! in `goro::select!` like any other channel. (For a plain future,
//! `goro::time::timeout(d, fut)` does the same.)
//!
//! Run: `cargo run --example select_timeout`

use std::time::{Duration, Instant};

/// A slow call: answers on its channel after `delay`.
fn call(name: &'static str, delay: Duration) -> goro::chan::Receiver<String> {
    let (tx, rx) = goro::chan::<String>(1); // buffered: the sender never leaks
    goro::go(async move {
        goro::time::sleep(delay).await;
        let _ = tx.send(format!("{name} result")).await;
    });
    rx
}

#[goro::main]
async fn main() {
    let start = Instant::now();

    // Takes 100 ms, we wait 20 ms: the timeout arm wins.
    let res = call("slow", Duration::from_millis(100));
    let got = goro::select! {
        recv(res) -> v => Ok(v.unwrap()),
        recv(goro::time::after(Duration::from_millis(20))) => Err("timeout 1"),
    };
    println!("[{:>3} ms] {got:?}", start.elapsed().as_millis());
    assert_eq!(got, Err("timeout 1"));
    assert!(start.elapsed() < Duration::from_millis(90));

    // Takes 10 ms, we wait 200 ms: the result wins.
    let t = Instant::now();
    let res = call("fast", Duration::from_millis(10));
    let got = goro::select! {
        recv(res) -> v => Ok(v.unwrap()),
        recv(goro::time::after(Duration::from_millis(200))) => Err("timeout 2"),
    };
    println!("[{:>3} ms] {got:?}", start.elapsed().as_millis());
    assert_eq!(got.as_deref(), Ok("fast result"));
    assert!(t.elapsed() < Duration::from_millis(190));

    // A deadline for a whole loop: one `after` channel made before the
    // loop, checked in every select (a fresh `after` per iteration would
    // restart the clock each time).
    let ticks = goro::time::tick(Duration::from_millis(10));
    let deadline = goro::time::after(Duration::from_millis(55));
    let mut n = 0;
    loop {
        goro::select! {
            recv(ticks) => n += 1,
            recv(deadline) => break,
        }
    }
    println!(
        "[{:>3} ms] {n} ticks of 10 ms before the 55 ms deadline",
        start.elapsed().as_millis()
    );
    assert!((1..=6).contains(&n), "{n} ticks"); // ~5; a slow receiver misses ticks

    // The same for a future, without a channel: goro::time::timeout.
    let r = goro::time::timeout(
        Duration::from_millis(10),
        goro::time::sleep(Duration::from_secs(5)),
    )
    .await;
    println!("timeout(10 ms, sleep(5 s)) = {r:?}");
    assert!(r.is_err());
}
