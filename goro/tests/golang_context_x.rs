// Copyright 2016 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

//! Ported from Go's `src/context/x_test.go`: cancellation causes
//! (`WithCancelCause`, `Cause`), `AfterFunc`, and the cancel storms.
//!
//! Left out: `WithValue` (no goro twin), `WithTimeoutCause` /
//! `WithDeadlineCause` / `WithoutCancel` (not in goro), custom `Context`
//! implementations (goro's `Context` is a concrete type), nil-parent
//! panics (no nil in Rust), `String()` forms, allocation counts.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use goro::{
    chan::TryRecvError,
    context::{
        self, background, with_cancel, with_cancel_cause, with_timeout, Cause, Context,
        ContextError,
    },
    time::{after, sleep},
};

const SHORT: Duration = Duration::from_millis(1);
const VERY_LONG: Duration = Duration::from_secs(1000 * 3600);
/// Go's `quiescent(t)`: by then any remaining work must be done.
const QUIESCENT: Duration = Duration::from_secs(10);

fn cause_of(msg: &str) -> Cause {
    Arc::new(std::io::Error::other(msg.to_string()))
}

fn is_done_now(c: &Context) -> bool {
    c.done().try_recv() == Err(TryRecvError::Closed)
}

/// `Cause(ctx) == want`: the same error value (by identity), or the same
/// `ContextError`.
fn same(got: Option<Cause>, want: Option<&Cause>) -> bool {
    match (got, want) {
        (None, None) => true,
        (Some(g), Some(w)) => {
            Arc::ptr_eq(&g, w)
                || matches!(
                    (g.downcast_ref::<ContextError>(), w.downcast_ref::<ContextError>()),
                    (Some(a), Some(b)) if a == b
                )
        }
        _ => false,
    }
}

#[goro::test]
async fn test_simultaneous_cancels() {
    let (root, cancel) = with_cancel(&background());
    let mut m = vec![(root.clone(), cancel)];
    let mut q = std::collections::VecDeque::from([root]);
    // Create a tree of contexts.
    while let Some(parent) = q.pop_front() {
        if m.len() >= 100 {
            break;
        }
        for _ in 0..4 {
            let (ctx, cancel) = with_cancel(&parent);
            m.push((ctx.clone(), cancel));
            q.push_back(ctx);
        }
    }
    // Start all the cancels in a scrambled order.
    let wg = goro::sync::WaitGroup::new();
    for (i, (_, cancel)) in m.iter().enumerate().rev() {
        let cancel = cancel.clone();
        if i % 2 == 0 {
            wg.go(async move { cancel() });
        } else {
            let wg2 = wg.clone();
            wg2.add(1);
            std::thread::spawn(move || {
                cancel();
                wg2.done();
            });
        }
    }
    let stuck = after(QUIESCENT);
    // Wait on all the contexts.
    for (ctx, _) in &m {
        goro::select! {
            recv(ctx.done()) -> _ => {}
            recv(stuck) -> _ => panic!("timed out waiting for <-ctx.Done()"),
        }
    }
    // Wait for all the cancel functions to return.
    assert!(goro::time::timeout(QUIESCENT, wg.wait()).await.is_ok());
}

#[goro::test]
async fn test_interlocked_cancels() {
    let (parent, cancel_parent) = with_cancel(&background());
    let (child, cancel_child) = with_cancel(&parent);
    let p = parent.clone();
    let h = goro::go(async move {
        p.wait().await;
        cancel_child();
    });
    cancel_parent();
    goro::select! {
        recv(child.done()) -> _ => {}
        recv(after(QUIESCENT)) -> _ => panic!("timed out waiting for child.Done()"),
    }
    h.await.unwrap();
}

fn test_layers(seed: u64, test_timeout: bool) {
    goro::run(async move {
        let mut s = seed | 1;
        let mut r = move |n: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % n
        };
        let mut cancels = Vec::new();
        let mut num_timers = 0;
        let mut ctx = background();
        let mut i = 0;
        while i < 30 || num_timers == 0 || cancels.is_empty() {
            // Go's case 0 (WithValue) has no goro twin.
            match r(2) {
                0 => {
                    let (c, cancel) = with_cancel(&ctx);
                    ctx = c;
                    cancels.push(cancel);
                }
                _ => {
                    let d = if test_timeout { SHORT } else { VERY_LONG };
                    let (c, cancel) = with_timeout(&ctx, d);
                    ctx = c;
                    cancels.push(cancel);
                    num_timers += 1;
                }
            }
            i += 1;
        }
        if !test_timeout {
            assert!(
                !is_done_now(&ctx),
                "seed={seed}: ctx should not be canceled yet"
            );
        }
        if test_timeout {
            goro::select! {
                recv(ctx.done()) -> _ => {}
                recv(after(QUIESCENT)) -> _ => panic!("seed={seed}: ctx should have timed out"),
            }
        } else {
            let cancel = &cancels[r(cancels.len() as u64) as usize];
            cancel();
            assert!(is_done_now(&ctx), "seed={seed}: ctx should be canceled");
        }
    });
}

#[test]
fn test_layers_cancel() {
    test_layers(now_seed(), false);
}

#[test]
fn test_layers_timeout() {
    test_layers(now_seed(), true);
}

fn now_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn test_with_cancel_canceled_parent() {
    let (parent, pcancel) = with_cancel_cause(&background());
    let cause = cause_of("Because!");
    pcancel(Some(cause.clone()));

    let (c, _) = with_cancel(&parent);
    assert!(
        is_done_now(&c),
        "child not done immediately upon construction"
    );
    assert_eq!(c.err(), Some(ContextError::Canceled));
    assert!(same(c.cause(), Some(&cause)), "child has wrong cause");
}

#[goro::test]
async fn test_with_cancel_simultaneously_canceled_parent() {
    // Cancel the parent concurrently with creating a child.
    for _ in 0..100 {
        let (parent, pcancel) = with_cancel_cause(&background());
        let cause = cause_of("Because!");
        let c2 = cause.clone();
        goro::go(async move { pcancel(Some(c2)) });

        let (c, _) = with_cancel(&parent);
        c.wait().await;
        assert_eq!(c.err(), Some(ContextError::Canceled));
        assert!(same(c.cause(), Some(&cause)), "child has wrong cause");
    }
}

#[test]
fn test_cause() {
    let parent_cause = cause_of("parentCause");
    let child_cause = cause_of("childCause");
    let canceled: Cause = Arc::new(ContextError::Canceled);
    let exceeded: Cause = Arc::new(ContextError::DeadlineExceeded);
    let forever = Duration::from_secs(1_000_000);
    type Case = (
        &'static str,
        Box<dyn Fn() -> Context>,
        Option<ContextError>,
        Option<Cause>,
    );
    let pc = parent_cause.clone();
    let cc = child_cause.clone();
    let cases: Vec<Case> = vec![
        ("Background", Box::new(background), None, None),
        ("TODO", Box::new(context::todo), None, None),
        (
            "WithCancel",
            Box::new(|| {
                let (ctx, cancel) = with_cancel(&background());
                cancel();
                ctx
            }),
            Some(ContextError::Canceled),
            Some(canceled.clone()),
        ),
        (
            "WithCancelCause",
            Box::new({
                let pc = pc.clone();
                move || {
                    let (ctx, cancel) = with_cancel_cause(&background());
                    cancel(Some(pc.clone()));
                    ctx
                }
            }),
            Some(ContextError::Canceled),
            Some(parent_cause.clone()),
        ),
        (
            "WithCancelCause nil",
            Box::new(|| {
                let (ctx, cancel) = with_cancel_cause(&background());
                cancel(None);
                ctx
            }),
            Some(ContextError::Canceled),
            Some(canceled.clone()),
        ),
        (
            "WithCancelCause: parent cause before child",
            Box::new({
                let (pc, cc) = (pc.clone(), cc.clone());
                move || {
                    let (ctx, cancel_parent) = with_cancel_cause(&background());
                    let (ctx, cancel_child) = with_cancel_cause(&ctx);
                    cancel_parent(Some(pc.clone()));
                    cancel_child(Some(cc.clone()));
                    ctx
                }
            }),
            Some(ContextError::Canceled),
            Some(parent_cause.clone()),
        ),
        (
            "WithCancelCause: parent cause after child",
            Box::new({
                let (pc, cc) = (pc.clone(), cc.clone());
                move || {
                    let (ctx, cancel_parent) = with_cancel_cause(&background());
                    let (ctx, cancel_child) = with_cancel_cause(&ctx);
                    cancel_child(Some(cc.clone()));
                    cancel_parent(Some(pc.clone()));
                    ctx
                }
            }),
            Some(ContextError::Canceled),
            Some(child_cause.clone()),
        ),
        (
            "WithCancelCause: parent cause before nil",
            Box::new({
                let pc = pc.clone();
                move || {
                    let (ctx, cancel_parent) = with_cancel_cause(&background());
                    let (ctx, cancel_child) = with_cancel(&ctx);
                    cancel_parent(Some(pc.clone()));
                    cancel_child();
                    ctx
                }
            }),
            Some(ContextError::Canceled),
            Some(parent_cause.clone()),
        ),
        (
            "WithCancelCause: parent cause after nil",
            Box::new({
                let pc = pc.clone();
                move || {
                    let (ctx, cancel_parent) = with_cancel_cause(&background());
                    let (ctx, cancel_child) = with_cancel(&ctx);
                    cancel_child();
                    cancel_parent(Some(pc.clone()));
                    ctx
                }
            }),
            Some(ContextError::Canceled),
            Some(canceled.clone()),
        ),
        (
            "WithCancelCause: child cause after nil",
            Box::new({
                let cc = cc.clone();
                move || {
                    let (ctx, cancel_parent) = with_cancel(&background());
                    let (ctx, cancel_child) = with_cancel_cause(&ctx);
                    cancel_parent();
                    cancel_child(Some(cc.clone()));
                    ctx
                }
            }),
            Some(ContextError::Canceled),
            Some(canceled.clone()),
        ),
        (
            "WithCancelCause: child cause before nil",
            Box::new({
                let cc = cc.clone();
                move || {
                    let (ctx, cancel_parent) = with_cancel(&background());
                    let (ctx, cancel_child) = with_cancel_cause(&ctx);
                    cancel_child(Some(cc.clone()));
                    cancel_parent();
                    ctx
                }
            }),
            Some(ContextError::Canceled),
            Some(child_cause.clone()),
        ),
        (
            "WithTimeout",
            Box::new(|| {
                let (ctx, cancel) = with_timeout(&background(), Duration::ZERO);
                cancel();
                ctx
            }),
            Some(ContextError::DeadlineExceeded),
            Some(exceeded.clone()),
        ),
        (
            "WithTimeout canceled",
            Box::new(move || {
                let (ctx, cancel) = with_timeout(&background(), forever);
                cancel();
                ctx
            }),
            Some(ContextError::Canceled),
            Some(canceled.clone()),
        ),
    ];
    for (name, ctx, err, cause) in cases {
        let ctx = ctx();
        assert_eq!(ctx.err(), err, "{name}: ctx.Err()");
        assert!(
            same(ctx.cause(), cause.as_ref()),
            "{name}: Cause(ctx) = {:?}",
            ctx.cause()
        );
    }
}

#[test]
fn test_cause_race() {
    let cause = cause_of("TestCauseRace");
    let (ctx, cancel) = with_cancel_cause(&background());
    let c2 = cause.clone();
    let t = std::thread::spawn(move || cancel(Some(c2)));
    let start = Instant::now();
    loop {
        // Poll the cause rather than waiting for done, so that access to
        // it is checked to be synchronised.
        if let Some(err) = ctx.cause() {
            assert!(Arc::ptr_eq(&err, &cause), "Cause returned {err}");
            break;
        }
        assert!(start.elapsed() < QUIESCENT);
        std::thread::yield_now();
    }
    t.join().unwrap();
}

#[goro::test]
async fn test_after_func_called_after_cancel() {
    let (ctx, cancel) = with_cancel(&background());
    let (donec_tx, donec) = goro::chan::<()>(0);
    let stop = context::after_func(&ctx, move || {
        donec_tx.close();
    });
    goro::select! {
        recv(donec) -> _ => panic!("AfterFunc called before context is done"),
        recv(after(SHORT)) -> _ => {}
    }
    cancel();
    goro::select! {
        recv(donec) -> _ => {}
        recv(after(QUIESCENT)) -> _ => panic!("AfterFunc not called after context is canceled"),
    }
    assert!(!stop(), "stop() = true, want false");
}

#[goro::test]
async fn test_after_func_called_after_timeout() {
    let (ctx, cancel) = with_timeout(&background(), SHORT);
    let (donec_tx, donec) = goro::chan::<()>(0);
    context::after_func(&ctx, move || {
        donec_tx.close();
    });
    goro::select! {
        recv(donec) -> _ => {}
        recv(after(QUIESCENT)) -> _ => panic!("AfterFunc not called after context is canceled"),
    }
    cancel();
}

#[goro::test]
async fn test_after_func_called_immediately() {
    let (ctx, cancel) = with_cancel(&background());
    cancel();
    let (donec_tx, donec) = goro::chan::<()>(0);
    context::after_func(&ctx, move || {
        donec_tx.close();
    });
    goro::select! {
        recv(donec) -> _ => {}
        recv(after(QUIESCENT)) -> _ => panic!("AfterFunc not called for already-canceled context"),
    }
}

#[goro::test]
async fn test_after_func_not_called_after_stop() {
    let (ctx, cancel) = with_cancel(&background());
    let (donec_tx, donec) = goro::chan::<()>(0);
    // `stop` drops the function (and its sender), which Go's keeps.
    let _keep_open = donec_tx.clone();
    let stop = context::after_func(&ctx, move || {
        donec_tx.close();
    });
    assert!(stop(), "stop() = false, want true");
    cancel();
    goro::select! {
        recv(donec) -> _ => panic!("AfterFunc called for already-canceled context"),
        recv(after(SHORT)) -> _ => {}
    }
    assert!(!stop(), "stop() = true, want false");
}

/// Cancelling a context does not wait for its `after_func`s to finish.
#[goro::test]
async fn test_after_func_called_asynchronously() {
    let (ctx, cancel) = with_cancel(&background());
    let (donec_tx, donec) = goro::chan::<()>(0);
    let stop = context::after_func(&ctx, move || {
        // The send blocks until donec is read from.
        donec_tx.send_blocking(()).unwrap();
    });
    cancel();
    // After cancel returns, read from donec and unblock the function.
    goro::select! {
        recv(donec) -> _ => {}
        recv(after(QUIESCENT)) -> _ => panic!("AfterFunc not called after context is canceled"),
    }
    stop();
    sleep(SHORT).await;
}
