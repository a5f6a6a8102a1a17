//! Channels, lesson 3: `for v := range ch` and `close(ch)`.
//!
//! In Go the producer closes the channel to say "no more values", and
//! `for v := range ch` stops once the channel is closed *and* drained:
//! values already in the buffer are still delivered after `close`. goro's
//! loop is `while let Some(v) = rx.recv().await`; `recv` returns `None` only
//! when the channel is closed and empty. `tx.close()` closes explicitly
//! (dropping the last sender closes too), and a send on a closed channel
//! returns the value in `Err` instead of panicking.
//!
//! Run: `cargo run --example chan_range_close`

use std::time::Duration;

/// Sends the first `n` Fibonacci numbers, then closes the channel.
async fn fibonacci(n: usize, tx: goro::chan::Sender<u64>) {
    let (mut x, mut y) = (0, 1);
    for _ in 0..n {
        tx.send(x).await.unwrap();
        (x, y) = (y, x + y);
    }
    assert!(tx.close()); // close(c); true: this call closed it
}

#[goro::main]
async fn main() {
    // The Go tour's range-and-close: a buffer of 10, ten values, close.
    let (tx, rx) = goro::chan::<u64>(10);
    goro::go(fibonacci(10, tx));
    let mut fib = Vec::new();
    while let Some(v) = rx.recv().await {
        fib.push(v);
    }
    println!("range over fibonacci: {fib:?}");
    assert_eq!(fib, [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]);

    // Close does not throw away what is buffered.
    let (tx, rx) = goro::chan::<&str>(3);
    tx.send("a").await.unwrap();
    tx.send("b").await.unwrap();
    tx.close();
    println!("closed with {} values still buffered", rx.len());
    assert!(rx.is_closed());
    // A send after close fails and returns the value (Go would panic).
    let err = tx.send("c").await.unwrap_err();
    println!("send after close: Err({:?})", err.0);
    assert_eq!(err.into_inner(), "c");
    // v, ok := <-ch: the buffered values first, then None (ok == false).
    assert_eq!(rx.recv().await, Some("a"));
    assert_eq!(rx.recv().await, Some("b"));
    assert_eq!(rx.recv().await, None);
    println!("drained a, b after close, then None");

    // Close wakes a receiver that is already waiting.
    let (tx, rx) = goro::chan::<i32>(0);
    let waiter = goro::go(async move { rx.recv().await });
    goro::time::sleep(Duration::from_millis(10)).await;
    drop(tx); // dropping the last Sender closes the channel
    assert_eq!(waiter.await.unwrap(), None);
    println!("a blocked receiver woke with None when the last sender was dropped");
}
