//! Sync, lesson 5: a context with a timeout stops a worker.
//!
//! Go's `context.WithTimeout(parent, d)` returns a context whose `Done()`
//! channel closes when `d` has passed (or when its `cancel` is called);
//! a worker loop selects on `<-ctx.Done()` next to its work and returns
//! `ctx.Err()` when it fires. goro: `goro::context::with_timeout(&parent,
//! d)` → `(ctx, cancel)`, `ctx.done()` is a `Receiver<()>` for `select!`,
//! `ctx.err()` says `DeadlineExceeded` or `Canceled`. Cancelling a parent
//! cancels its children.
//!
//! Run: `cargo run --example context_cancel`

use std::time::{Duration, Instant};

use goro::context::{self, Context, ContextError};

/// Works in 10 ms steps until the context is done; returns the steps done
/// and why it stopped.
async fn worker(name: &'static str, ctx: Context) -> (u32, ContextError) {
    let done = ctx.done();
    let ticks = goro::time::tick(Duration::from_millis(10));
    let mut steps = 0;
    loop {
        goro::select! {
            recv(done) => {
                let err = ctx.err().expect("done is closed only when the context is");
                println!("  {name}: stopping after {steps} steps: {err}");
                return (steps, err);
            }
            recv(ticks) => steps += 1,
        }
    }
}

#[goro::main]
async fn main() {
    let start = Instant::now();

    // A deadline: the worker runs ~50 ms, then ctx.done() closes.
    let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_millis(55));
    println!("with_timeout(55 ms):");
    let (steps, err) = goro::go(worker("worker", ctx.clone())).await.unwrap();
    cancel(); // Go: defer cancel() -- harmless after the deadline
    let took = start.elapsed();
    println!("  returned after {took:.2?}");
    assert_eq!(err, ContextError::DeadlineExceeded);
    assert!((1..=6).contains(&steps), "{steps} steps"); // ~5; fewer if ticks were dropped under load
    assert!(took >= Duration::from_millis(55) && took < Duration::from_millis(500));

    // Cancelled by hand, through the parent: both children stop.
    let (parent, cancel_parent) = context::with_cancel(&context::background());
    let (child, _cancel_child) = context::with_timeout(&parent, Duration::from_secs(10));
    println!("with_cancel, cancelled by hand after 30 ms:");
    let a = goro::go(worker("child a", child.clone()));
    let b = goro::go(worker("child b", child));
    goro::time::sleep(Duration::from_millis(30)).await;
    cancel_parent();
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!((a.1, b.1), (ContextError::Canceled, ContextError::Canceled));
    assert_eq!(parent.err(), Some(ContextError::Canceled));

    // A context never done: background() has a done() that never fires.
    let bg = context::background();
    let r = goro::select! {
        recv(bg.done()) => "done",
        default => "not done",
    };
    println!("background(): {r}, err() = {:?}", bg.err());
    assert_eq!(r, "not done");
    println!("total {:.2?}", start.elapsed());
}
