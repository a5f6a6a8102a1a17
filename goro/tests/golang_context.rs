// Copyright 2014 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

//! Ported from Go's `src/context/context_test.go` (the cancellation and
//! deadline semantics; `WithValue` and `AfterFunc` have no goro twin yet).

use std::time::{Duration, Instant};

use goro::context::{self, background, with_cancel, with_deadline, with_timeout, ContextError};

/// `select { case <-c.Done(): true; default: false }`
fn is_done_now(c: &context::Context) -> bool {
    matches!(c.done().try_recv(), Err(goro::chan::TryRecvError::Closed))
}

#[goro::test]
async fn test_background() {
    let c = background();
    assert!(c.deadline().is_none());
    assert!(!is_done_now(&c));
    assert_eq!(c.err(), None);
    // Go: `<-Background().Done()` blocks forever.
    assert!(
        goro::time::timeout(Duration::from_millis(10), c.done().recv())
            .await
            .is_err()
    );
}

#[goro::test]
async fn test_with_cancel() {
    let (c1, cancel) = with_cancel(&background());
    let (c2, _cancel2) = with_cancel(&c1);
    let (c3, _cancel3) = with_cancel(&c2);
    for c in [&c1, &c2, &c3] {
        assert_eq!(c.err(), None);
        assert!(!is_done_now(c));
    }
    cancel();
    goro::time::sleep(Duration::from_millis(10)).await; // let cancellation propagate
    for c in [&c1, &c2, &c3] {
        assert!(is_done_now(c), "context should be done");
        assert_eq!(c.err(), Some(ContextError::Canceled));
    }
}

#[goro::test]
async fn test_parent_finishes_child() {
    let (parent, cancel) = with_cancel(&background());
    let (cancel_child, _stop) = with_cancel(&parent);
    let (timer_child, _stop2) = with_timeout(&parent, Duration::from_secs(3600));
    assert!(!is_done_now(&parent));
    assert!(!is_done_now(&cancel_child));
    assert!(!is_done_now(&timer_child));
    cancel();
    for c in [&parent, &cancel_child, &timer_child] {
        assert_eq!(c.done().recv().await, None);
        assert_eq!(c.err(), Some(ContextError::Canceled));
    }
    // A child of a cancelled context is born cancelled.
    let (precanceled, _c) = with_cancel(&parent);
    assert!(is_done_now(&precanceled));
    assert_eq!(precanceled.err(), Some(ContextError::Canceled));
}

#[goro::test]
async fn test_child_finishes_first() {
    let (parent, cancel_parent) = with_cancel(&background());
    let (child, stop) = with_cancel(&parent);
    stop();
    assert_eq!(child.done().recv().await, None);
    assert_eq!(child.err(), Some(ContextError::Canceled));
    assert!(
        !is_done_now(&parent),
        "the parent is not cancelled by its child"
    );
    assert_eq!(parent.err(), None);
    cancel_parent();
    assert_eq!(parent.err(), Some(ContextError::Canceled));
    // The first cause wins.
    assert_eq!(child.err(), Some(ContextError::Canceled));
}

async fn test_deadline_exceeded(c: &context::Context, within: Duration) {
    let r = goro::time::timeout(within, c.done().recv()).await;
    assert_eq!(r, Ok(None), "context not timed out within {within:?}");
    assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
}

#[goro::test]
async fn test_deadline() {
    let (c, _cancel) = with_deadline(&background(), Instant::now() + Duration::from_millis(50));
    assert!(c.deadline().is_some());
    test_deadline_exceeded(&c, Duration::from_secs(5)).await;

    let (c, _cancel) = with_deadline(&background(), Instant::now() + Duration::from_millis(50));
    let (o, _c2) = with_deadline(&c, Instant::now() + Duration::from_secs(3600));
    assert_eq!(
        o.deadline(),
        c.deadline(),
        "a child keeps its parent's earlier deadline"
    );
    test_deadline_exceeded(&o, Duration::from_secs(5)).await;

    // A deadline already passed.
    let (c, _cancel) = with_deadline(&background(), Instant::now() - Duration::from_secs(1));
    assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
    test_deadline_exceeded(&c, Duration::from_secs(5)).await;
}

#[goro::test]
async fn test_timeout() {
    let (c, _cancel) = with_timeout(&background(), Duration::from_millis(50));
    test_deadline_exceeded(&c, Duration::from_secs(5)).await;
    let (c, _cancel) = with_timeout(&background(), Duration::from_millis(50));
    let (o, _c2) = with_timeout(&c, Duration::from_secs(3600));
    test_deadline_exceeded(&o, Duration::from_secs(5)).await;
}

#[goro::test]
async fn test_canceled_timeout() {
    let (c, _cancel) = with_timeout(&background(), Duration::from_secs(1));
    let (o, cancel) = with_cancel(&c);
    cancel();
    goro::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(o.done().recv().await, None);
    assert_eq!(o.err(), Some(ContextError::Canceled));
}

#[test]
fn cancellation_works_on_plain_threads() {
    let (c, cancel) = with_cancel(&background());
    let t = {
        let c = c.clone();
        std::thread::spawn(move || c.done().recv_blocking())
    };
    std::thread::sleep(Duration::from_millis(10));
    cancel();
    assert_eq!(t.join().unwrap(), None);
    // And a deadline with no runtime at all (the global timer thread).
    let (c, _cancel) = with_timeout(&background(), Duration::from_millis(10));
    assert_eq!(c.done().recv_blocking(), None);
    assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
}

#[goro::test]
async fn done_is_a_select_arm() {
    let (c, cancel) = with_cancel(&background());
    let (tx, rx) = goro::chan::<u32>(0);
    let worker = goro::go(async move {
        let done = c.done();
        let mut got = 0;
        loop {
            goro::select! {
                recv(rx) -> v => got += v.unwrap_or(0),
                recv(done) -> _ => return (got, c.err()),
            }
        }
    });
    for i in 1..=3 {
        tx.send(i).await.unwrap();
    }
    cancel();
    assert_eq!(worker.await.unwrap(), (6, Some(ContextError::Canceled)));
}

#[test]
fn error_texts_are_gos() {
    assert_eq!(ContextError::Canceled.to_string(), "context canceled");
    assert_eq!(
        ContextError::DeadlineExceeded.to_string(),
        "context deadline exceeded"
    );
}

#[goro::test]
async fn done_stays_open_while_the_cancel_func_lives() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let done = ctx.done();
    drop(ctx); // every Context handle gone; the CancelFunc remains
    assert_eq!(
        done.try_recv(),
        Err(goro::chan::TryRecvError::Empty),
        "done must not look closed before cancel is called"
    );
    cancel();
    assert_eq!(done.recv().await, None);
}
