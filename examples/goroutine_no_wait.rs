//! Lesson 1: a goroutine that `main` does not wait for.
//!
//! In Go, `go say("world")` followed by `main` returning ends the program
//! before the goroutine prints: goroutines die with `main`. goro does the
//! same: when the main future returns, every goroutine still alive is
//! dropped (its destructors run) and the program ends.
//!
//! Run: `cargo run --example goroutine_no_wait`

use std::time::Duration;

async fn say(word: &'static str, times: usize) {
    for _ in 0..times {
        goro::time::sleep(Duration::from_millis(100)).await;
        println!("{word}");
    }
}

#[goro::main]
async fn main() {
    // Started, never waited for: it prints "world" at most a few times.
    goro::go(say("world", 5));
    // main prints "hello" three times, then returns and takes the
    // goroutine with it, mid-loop.
    say("hello", 3).await;
    println!("main returns: the 'world' goroutine is dropped with it");
}
