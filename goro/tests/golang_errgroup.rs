// Copyright 2016 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

//! Ported from golang.org/x/sync `errgroup/errgroup_test.go`.
//!
//! One departure: goro's `wait` moves the first error out (errors need not
//! be `Clone`), so in TestZeroGroup only the first `Wait` after the first
//! error returns it; later ones return `Ok` (Go returns it every time).

use std::{
    sync::{
        atomic::{AtomicI32, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

use goro::{context, errgroup::Group};

#[goro::test]
async fn test_zero_group() {
    let cases: Vec<Vec<Option<&'static str>>> = vec![
        vec![],
        vec![None],
        vec![Some("errgroup_test: 1")],
        vec![Some("errgroup_test: 1"), None],
        vec![Some("errgroup_test: 1"), None, Some("errgroup_test: 2")],
    ];
    for errs in cases {
        let g = Group::<&str>::new();
        let mut reported = false;
        for e in errs {
            g.go(async move { e.map_or(Ok(()), Err) }).await;
            let got = g.wait().await;
            match (e, reported) {
                (Some(e), false) => {
                    assert_eq!(got, Err(e));
                    reported = true;
                }
                _ => assert_eq!(got, Ok(())),
            }
        }
    }
}

#[goro::test]
async fn test_with_context() {
    let cases: Vec<(Vec<Option<&'static str>>, Option<&'static str>)> = vec![
        (vec![], None),
        (vec![None], None),
        (vec![Some("group_test: doomed")], Some("group_test: doomed")),
        (
            vec![Some("group_test: doomed"), None],
            Some("group_test: doomed"),
        ),
    ];
    for (errs, want) in cases {
        let (g, ctx) = Group::<&str>::with_context(&context::background());
        for e in errs {
            g.go(async move { e.map_or(Ok(()), Err) }).await;
        }
        assert_eq!(g.wait().await.err(), want);
        assert!(
            matches!(ctx.done().try_recv(), Err(goro::chan::TryRecvError::Closed)),
            "ctx.Done() was not closed"
        );
    }
}

#[goro::test]
async fn test_try_go() {
    let g = Group::<()>::new();
    let n = 42;
    g.set_limit(Some(42));
    let (tx, rx) = goro::chan::<()>(0);
    let f = |tx: goro::chan::Sender<()>| async move {
        tx.send(()).await.unwrap();
        Ok(())
    };
    for i in 0..n {
        assert!(g.try_go(f(tx.clone())), "TryGo should succeed at call {i}");
    }
    assert!(!g.try_go(f(tx.clone())), "TryGo is expected to fail");
    let r = rx.clone();
    goro::go(async move {
        for _ in 0..n {
            r.recv().await;
        }
    });
    g.wait().await.unwrap();

    assert!(
        g.try_go(f(tx.clone())),
        "TryGo should succeed after all goroutines"
    );
    let r = rx.clone();
    goro::go(async move { r.recv().await });
    g.wait().await.unwrap();

    // Switch limit.
    g.set_limit(Some(1));
    assert!(g.try_go(f(tx.clone())));
    assert!(!g.try_go(f(tx.clone())));
    let r = rx.clone();
    goro::go(async move { r.recv().await });
    g.wait().await.unwrap();

    // Block all calls.
    g.set_limit(Some(0));
    for _ in 0..1 << 10 {
        assert!(!g.try_go(f(tx.clone())));
    }
    g.wait().await.unwrap();
}

#[goro::test]
async fn test_go_limit() {
    const LIMIT: i32 = 10;
    let g = Group::<String>::new();
    g.set_limit(Some(LIMIT as usize));
    let active = Arc::new(AtomicI32::new(0));
    for _ in 0..=1 << 10 {
        let active = active.clone();
        g.go(async move {
            let n = active.fetch_add(1, SeqCst) + 1;
            if n > LIMIT {
                return Err(format!("saw {n} active goroutines; want <= {LIMIT}"));
            }
            goro::time::sleep(Duration::from_micros(1)).await;
            active.fetch_sub(1, SeqCst);
            Ok(())
        })
        .await;
    }
    g.wait().await.unwrap();
}

#[goro::test]
async fn test_cancel_cause() {
    // Go checks context.Cause; goro's contexts carry Canceled as the cause.
    for errs in [
        vec![],
        vec![None],
        vec![Some("doomed")],
        vec![Some("doomed"), None],
    ] {
        let (g, ctx) = Group::<&str>::with_context(&context::background());
        let want = errs.iter().flatten().next().copied();
        for e in errs {
            g.try_go(async move { e.map_or(Ok(()), Err) });
        }
        assert_eq!(g.wait().await.err(), want);
        assert_eq!(ctx.err(), Some(context::ContextError::Canceled));
    }
}

#[goro::test]
async fn a_panicking_goroutine_is_re_raised_by_wait() {
    let g = Group::<()>::new();
    g.go(async { panic!("kaboom") }).await;
    g.go(async { Ok(()) }).await;
    let h = goro::go(async move { g.wait().await });
    let err = h.await.unwrap_err();
    assert_eq!(err.panic_message(), Some("kaboom"));
}

#[goro::test]
async fn the_first_error_cancels_the_others() {
    let (g, ctx) = Group::<&str>::with_context(&context::background());
    for _ in 0..10 {
        let ctx = ctx.clone();
        g.go(async move {
            ctx.wait().await;
            Ok(())
        })
        .await;
    }
    g.go(async { Err("first") }).await;
    assert_eq!(g.wait().await, Err("first"));
}
