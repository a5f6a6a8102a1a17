//! Go's safety net: `fatal error: all goroutines are asleep - deadlock!`
//!
//! Sending on an unbuffered channel blocks until somebody receives. If
//! nobody ever will, the sender waits forever. A Go program in that state
//! does not hang silently: the runtime notices that every goroutine is
//! blocked with nothing left to wake any of them, prints the message and
//! where each goroutine is stuck, and exits with status 2. goro does the
//! same, and points at your own lines: the blocking call, and the `go`
//! call that created each goroutine.
//!
//! Here the listener was meant to take orders, but it first waits for a
//! "shop is open" signal that main only sends after its first order: main
//! sends to a channel nobody is listening to yet, the listener waits for a
//! signal nobody will send. Each waits for the other.
//!
//! Run: `cargo run --example deadlock` (exits with status 2, like Go).
//!
//! Expected output (on stderr):
//!
//! ```text
//! fatal error: all goroutines are asleep - deadlock!
//!
//! goroutine 1 [chan send]:
//!     examples/deadlock.rs:45:20
//!
//! goroutine 2 [chan receive]:
//!     examples/deadlock.rs:37:25
//! created by goroutine 1 at
//!     examples/deadlock.rs:36:5
//! ```

#[goro::main]
async fn main() {
    let (orders, orders_rx) = goro::chan::<&str>(0); // make(chan string)
    let (open, open_rx) = goro::chan::<()>(0);
    goro::go(async move {
        let _ = open_rx.recv().await; // waits for "open" first ...
        while let Some(order) = orders_rx.recv().await {
            println!("listener: got {order}");
        }
    });

    println!("main: sending the first order; is anybody listening?");
    // ... but main sends an order first: nobody is listening.
    let _ = orders.send("espresso").await;
    let _ = open.send(()).await; // never reached
    println!("never printed");
}
