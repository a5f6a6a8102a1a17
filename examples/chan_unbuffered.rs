//! Channels, lesson 1: an unbuffered channel is a hand-off.
//!
//! Go's `make(chan T)` has no buffer: `ch <- v` blocks until another
//! goroutine takes the value with `<-ch`, so the send and the receive meet
//! (a rendezvous). `goro::chan::<T>(0)` is the same: `tx.send(v).await`
//! completes only once a receiver has taken `v`. Here the receiver is slow
//! on purpose; the timestamps show each send finishing only when the
//! receiver gets to it.
//!
//! Run: `cargo run --example chan_unbuffered`

use std::time::{Duration, Instant};

#[goro::main]
async fn main() {
    let start = Instant::now();
    let ms = move || start.elapsed().as_millis();

    let (tx, rx) = goro::chan::<u32>(0); // make(chan uint32)
    assert_eq!(tx.capacity(), 0);

    // The sender records when each of its sends completed.
    let sender = goro::go(async move {
        let mut completed = Vec::new();
        for i in 1..=3 {
            println!("[{:>3} ms] sender: sending {i} ...", ms());
            tx.send(i).await.expect("receiver is alive");
            let t = ms();
            println!("[{t:>3} ms] sender: {i} was taken");
            completed.push(t);
        }
        completed
    });

    // The receiver takes a value only every 30 ms.
    let mut taken = Vec::new();
    for _ in 1..=3 {
        goro::time::sleep(Duration::from_millis(30)).await;
        let t = ms();
        let v = rx.recv().await.expect("sender is alive");
        println!("[{t:>3} ms] receiver: took {v}");
        taken.push(t);
    }

    let completed = sender.await.unwrap();
    // The sender's tx is gone: the channel is closed and empty.
    assert_eq!(rx.recv().await, None);

    // Each send completed no earlier than the receive that took it: nothing
    // was buffered, the sender waited for the receiver every time.
    for (sent, took) in completed.iter().zip(&taken) {
        assert!(
            sent >= took,
            "send completed at {sent} ms before the receive at {took} ms"
        );
    }
    println!(
        "every send finished only once the receiver took it ({} sends in {} ms)",
        completed.len(),
        start.elapsed().as_millis()
    );
}
