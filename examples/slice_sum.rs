//! Channels, lesson 7: splitting a sum across two goroutines.
//!
//! The Go tour's channel example: `sum(s[:len(s)/2], c)` and
//! `sum(s[len(s)/2:], c)` run as two goroutines, each sends its half's sum
//! on `c`, and main receives both: `x, y := <-c, <-c`. A goroutine in goro
//! must own what it uses, so each one gets its half of the slice as an
//! owned `Vec` (or an `Arc<[T]>` shared by both) moved into it.
//!
//! Run: `cargo run --example slice_sum`

use std::sync::Arc;

async fn sum(s: Arc<[i64]>, range: std::ops::Range<usize>, c: goro::chan::Sender<i64>) {
    let total = s[range].iter().sum();
    c.send(total).await.unwrap(); // send sum to c
}

#[goro::main]
async fn main() {
    // The tour's slice.
    let s: Arc<[i64]> = Arc::from(vec![7, 2, 8, -9, 4, 0]);
    let half = s.len() / 2;

    let (c, rx) = goro::chan::<i64>(0);
    goro::go(sum(s.clone(), 0..half, c.clone()));
    goro::go(sum(s.clone(), half..s.len(), c));

    // Either half may finish first.
    let (x, y) = (rx.recv().await.unwrap(), rx.recv().await.unwrap());
    println!("{x} {y} {}", x + y);
    assert_eq!(x + y, 12);
    assert!([x, y] == [17, -5] || [x, y] == [-5, 17]);

    // The same split over a bigger slice, with owned halves.
    let big: Vec<i64> = (1..=1_000_000).collect();
    let (left, right) = big.split_at(big.len() / 2);
    let (c, rx) = goro::chan::<i64>(2);
    for part in [left.to_vec(), right.to_vec()] {
        let c = c.clone();
        goro::go(async move { c.send(part.iter().sum()).await.unwrap() });
    }
    drop(c);
    let mut total = 0;
    while let Some(part) = rx.recv().await {
        println!("half sum: {part}");
        total += part;
    }
    println!("sum of 1..=1_000_000 from two goroutines: {total}");
    assert_eq!(total, 1_000_000 * 1_000_001 / 2);
}
