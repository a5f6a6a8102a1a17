//! Channels, lesson 2: a buffered channel is a queue.
//!
//! Go's `make(chan T, n)` holds up to `n` values: sends complete at once
//! while there is room, `len(ch)` and `cap(ch)` say how full it is, and a
//! `select` with a `default` arm is the non-blocking send that fails when
//! it is full. goro has the same: `goro::chan::<T>(n)`, `len()`,
//! `capacity()`, and `try_send`, which returns `TrySendError::Full(v)`
//! with the value handed back.
//!
//! Run: `cargo run --example chan_buffered`

use goro::chan::{TryRecvError, TrySendError};

#[goro::main]
async fn main() {
    let (tx, rx) = goro::chan::<&str>(3); // make(chan string, 3)
    println!("len {} cap {}", tx.len(), tx.capacity());
    assert_eq!((tx.len(), tx.capacity()), (0, 3));

    // No receiver anywhere, yet three sends complete at once: they only
    // need room in the buffer.
    for word in ["one", "two", "three"] {
        tx.send(word).await.unwrap();
        println!("sent {word:<5}  len {} cap {}", tx.len(), tx.capacity());
    }
    assert_eq!(tx.len(), 3);

    // A fourth send would block; try_send says so and hands the value back.
    match tx.try_send("four") {
        Err(TrySendError::Full(v)) => println!("try_send({v:?}): full, value handed back"),
        other => panic!("expected Full, got {other:?}"),
    }

    // Drain it: FIFO order; len goes down as values leave.
    let mut got = Vec::new();
    while let Ok(v) = rx.try_recv() {
        println!("received {v:<5}  len {}", rx.len());
        got.push(v);
    }
    assert_eq!(got, ["one", "two", "three"]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));

    // Room again: the value that did not fit goes in now.
    tx.try_send("four").unwrap();
    assert_eq!(rx.recv().await, Some("four"));
    println!("after draining: len {} - try_send fits again", rx.len());
}
