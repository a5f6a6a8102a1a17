//! Channels, lesson 4: `select`, and `select` with `default`.
//!
//! Go's `select` waits on several channel operations and runs the one that
//! is ready (a random one when several are); with a `default` case it does
//! not wait at all: `default` runs when nothing is ready, which makes a
//! non-blocking receive or send. `goro::select!` has the same arms:
//! `recv(rx) -> v => ..`, `send(tx, v) -> res => ..` and `default => ..`.
//!
//! Run: `cargo run --example select_default`

use std::time::Duration;

#[goro::main]
async fn main() {
    // --- Non-blocking receive: nothing sent yet, so `default` runs.
    let (tx, rx) = goro::chan::<String>(1);
    let got = goro::select! {
        recv(rx) -> msg => msg,
        default => None,
    };
    println!("non-blocking receive on an empty channel: {got:?} (default ran)");
    assert_eq!(got, None);

    // --- Non-blocking send: the first fits in the buffer, the second does not.
    let mut sent = 0;
    for word in ["hi", "there"] {
        goro::select! {
            send(tx, word.to_string()) -> res => {
                res.unwrap();
                sent += 1;
                println!("non-blocking send {word:?}: sent");
            }
            default => println!("non-blocking send {word:?}: no room, default ran (value dropped)"),
        }
    }
    assert_eq!(sent, 1);

    // --- Now the receive is ready, so its arm runs instead of `default`.
    let got = goro::select! {
        recv(rx) -> msg => msg,
        default => None,
    };
    println!("non-blocking receive after a send: {got:?}");
    assert_eq!(got.as_deref(), Some("hi"));

    // --- A select over two channels (Go by Example's "select"): two
    // goroutines answer after 60 ms and 10 ms; select takes whichever is
    // ready, twice, so c2's answer comes first and the whole wait takes
    // ~60 ms, not 70.
    let (c1_tx, c1) = goro::chan::<&str>(0);
    let (c2_tx, c2) = goro::chan::<&str>(0);
    // Main holds a sender of each too. Dropping the last sender closes a
    // channel, and a closed channel is always ready in a select (its recv
    // arm gets `None`): once c2's goroutine ended, the second select would
    // pick c2 again instead of waiting for c1.
    let _keep_open = (c1_tx.clone(), c2_tx.clone());
    goro::go(async move {
        goro::time::sleep(Duration::from_millis(60)).await;
        c1_tx.send("one").await.unwrap();
    });
    goro::go(async move {
        goro::time::sleep(Duration::from_millis(10)).await;
        c2_tx.send("two").await.unwrap();
    });
    let start = std::time::Instant::now();
    let mut order = Vec::new();
    for _ in 0..2 {
        goro::select! {
            recv(c1) -> msg => {
                println!("received {:?} from c1", msg.unwrap());
                order.push(1);
            }
            recv(c2) -> msg => {
                println!("received {:?} from c2", msg.unwrap());
                order.push(2);
            }
        }
    }
    println!("both answers in {:.0?}", start.elapsed());
    // (Only a machine stalled for 50 ms could see c1 first: then both are
    // ready and select picks one at random.)
    assert_eq!(order, [2, 1], "c2 answers first");

    // --- When several arms are ready, each is chosen at random (fair).
    let (a_tx, a) = goro::chan::<()>(1000);
    let (b_tx, b) = goro::chan::<()>(1000);
    for _ in 0..1000 {
        a_tx.try_send(()).unwrap();
        b_tx.try_send(()).unwrap();
    }
    let (mut from_a, mut from_b) = (0, 0);
    for _ in 0..1000 {
        goro::select! {
            recv(a) => from_a += 1,
            recv(b) => from_b += 1,
        }
    }
    println!("both always ready, 1000 selects: a {from_a}, b {from_b}");
    assert_eq!(from_a + from_b, 1000);
    assert!(
        from_a > 350 && from_b > 350,
        "select is not fair: {from_a} / {from_b}"
    );
    // Exactly one operation per select: what was not chosen is still there.
    assert_eq!(a.len() + b.len(), 1000);
}
