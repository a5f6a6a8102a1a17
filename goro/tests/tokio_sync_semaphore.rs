//! Ported from tokio's `tokio/tests/sync_semaphore.rs`
//! (github.com/tokio-rs/tokio).
//!
//! Adapted to goro's `Semaphore`, which is x/sync's weighted semaphore: a
//! fixed size, `acquire(n)`, `try_acquire(n)` → `Option`,
//! `acquire_blocking(n)`, and `release(n)` for permits given up with
//! `forget()`. `tokio::test` → `goro::test`, `tokio::spawn` → `goro::go`.
//! tokio's `add_permits(1)` on `new(0)` becomes a forgotten permit given
//! back with `release(1)`.
//!
//! Not ported, for want of the API: `add_permits_open`,
//! `add_permits_closed`, `forget_open`, `forget_closed`,
//! `blocking_acquire_closed` (no `close`, no growth past the size), the
//! `MAX_PERMITS` tests (any `usize` size is allowed). And deliberately:
//! the `blocking_acquire*_in_async_context` tests, which expect a panic —
//! goro allows `_blocking` calls in goroutines (sysmon hands the worker's
//! queue to another thread).
//!
//! MIT License
//!
//! Copyright (c) Tokio Contributors
//!
//! Permission is hereby granted, free of charge, to any person obtaining a copy
//! of this software and associated documentation files (the "Software"), to deal
//! in the Software without restriction, including without limitation the rights
//! to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
//! copies of the Software, and to permit persons to whom the Software is
//! furnished to do so, subject to the following conditions:
//!
//! The above copyright notice and this permission notice shall be included in all
//! copies or substantial portions of the Software.
//!
//! THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
//! IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
//! FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
//! AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
//! LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
//! OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
//! SOFTWARE.

use goro::sync::Semaphore;
use std::sync::Arc;

#[test]
fn no_permits() {
    // this should not panic
    Semaphore::new(0);
}

#[test]
fn try_acquire() {
    let sem = Semaphore::new(1);
    {
        let p1 = sem.try_acquire(1);
        assert!(p1.is_some());
        let p2 = sem.try_acquire(1);
        assert!(p2.is_none());
    }
    let p3 = sem.try_acquire(1);
    assert!(p3.is_some());
}

#[goro::test]
async fn acquire() {
    let sem = Arc::new(Semaphore::new(1));
    let p1 = sem.try_acquire(1).unwrap();
    let sem_clone = sem.clone();
    let j = goro::go(async move {
        let _p2 = sem_clone.acquire(1).await;
    });
    drop(p1);
    j.await.unwrap();
}

#[goro::test]
async fn add_permits() {
    let sem = Arc::new(Semaphore::new(1));
    sem.try_acquire(1).unwrap().forget();
    let sem_clone = sem.clone();
    let j = goro::go(async move {
        let _p2 = sem_clone.acquire(1).await;
    });
    sem.release(1);
    j.await.unwrap();
}

#[test]
fn forget() {
    let sem = Arc::new(Semaphore::new(1));
    {
        let p = sem.try_acquire(1).unwrap();
        assert_eq!(sem.available(), 0);
        p.forget();
        assert_eq!(sem.available(), 0);
    }
    assert_eq!(sem.available(), 0);
    assert!(sem.try_acquire(1).is_none());
}

#[test]
fn merge() {
    let sem = Arc::new(Semaphore::new(3));
    {
        let mut p1 = sem.try_acquire(1).unwrap();
        assert_eq!(sem.available(), 2);
        let p2 = sem.try_acquire(2).unwrap();
        assert_eq!(sem.available(), 0);
        p1.merge(p2);
        assert_eq!(sem.available(), 0);
    }
    assert_eq!(sem.available(), 3);
}

#[test]
#[should_panic]
fn merge_unrelated_permits() {
    let sem1 = Arc::new(Semaphore::new(3));
    let sem2 = Arc::new(Semaphore::new(3));
    let mut p1 = sem1.try_acquire(1).unwrap();
    let p2 = sem2.try_acquire(1).unwrap();
    p1.merge(p2);
}

#[test]
fn split() {
    let sem = Semaphore::new(5);
    let mut p1 = sem.try_acquire(3).unwrap();
    assert_eq!(sem.available(), 2);
    assert_eq!(p1.num_permits(), 3);
    let mut p2 = p1.split(1).unwrap();
    assert_eq!(sem.available(), 2);
    assert_eq!(p1.num_permits(), 2);
    assert_eq!(p2.num_permits(), 1);
    let p3 = p1.split(0).unwrap();
    assert_eq!(p3.num_permits(), 0);
    drop(p1);
    assert_eq!(sem.available(), 4);
    let p4 = p2.split(1).unwrap();
    assert_eq!(p2.num_permits(), 0);
    assert_eq!(p4.num_permits(), 1);
    assert!(p2.split(1).is_none());
    drop(p2);
    assert_eq!(sem.available(), 4);
    drop(p3);
    assert_eq!(sem.available(), 4);
    drop(p4);
    assert_eq!(sem.available(), 5);
}

#[goro::test]
async fn stress_test() {
    let sem = Arc::new(Semaphore::new(5));
    let mut join_handles = Vec::new();
    for _ in 0..1000 {
        let sem_clone = sem.clone();
        join_handles.push(goro::go(async move {
            let _p = sem_clone.acquire(1).await;
        }));
    }
    for j in join_handles {
        j.await.unwrap();
    }
    // there should be exactly 5 semaphores available now
    let _p1 = sem.try_acquire(1).unwrap();
    let _p2 = sem.try_acquire(1).unwrap();
    let _p3 = sem.try_acquire(1).unwrap();
    let _p4 = sem.try_acquire(1).unwrap();
    let _p5 = sem.try_acquire(1).unwrap();
    assert!(sem.try_acquire(1).is_none());
}

#[test]
fn blocking_acquire() {
    let sem = Semaphore::new(1);
    let permit = sem.acquire_blocking(1);
    assert_eq!(sem.available(), 0);
    drop(permit);
    assert_eq!(sem.available(), 1);
}

#[test]
fn blocking_acquire_waits_for_permit() {
    let sem = Arc::new(Semaphore::new(1));
    sem.try_acquire(1).unwrap().forget();

    let sem2 = sem.clone();
    let handle = std::thread::spawn(move || {
        // Blocks until a permit becomes available.
        let _permit = sem2.acquire_blocking(1);
    });

    sem.release(1);

    handle.join().unwrap();
}

#[test]
fn blocking_acquire_many() {
    let sem = Semaphore::new(5);
    let permit = sem.acquire_blocking(3);
    assert_eq!(sem.available(), 2);
    drop(permit);
    assert_eq!(sem.available(), 5);
}

#[test]
fn blocking_acquire_owned() {
    let sem = Arc::new(Semaphore::new(1));
    let permit = sem.clone().acquire_owned_blocking(1);
    assert_eq!(sem.available(), 0);
    drop(permit);
    assert_eq!(sem.available(), 1);
}

#[test]
fn blocking_acquire_many_owned() {
    let sem = Arc::new(Semaphore::new(5));
    let permit = sem.clone().acquire_owned_blocking(3);
    assert_eq!(sem.available(), 2);
    drop(permit);
    assert_eq!(sem.available(), 5);
}
