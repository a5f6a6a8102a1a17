//! Context extras (issue 15): `after_func`, `with_cancel_cause` and
//! `cause`, `Context::run`, and the dump line of `Context::wait` and
//! `errgroup::Group::wait`.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

use goro::{
    context::{self, Cause, ContextError},
    runtime::{dump, Status},
    time::{sleep, timeout},
};

#[derive(Debug)]
struct Boom;

impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}

impl std::error::Error for Boom {}

#[goro::test]
async fn after_func_runs_once_on_cancel_and_stop_prevents_it() {
    let ran = Arc::new(AtomicUsize::new(0));
    let (ctx, cancel) = context::with_cancel(&context::background());
    let (tx, rx) = goro::chan::<()>(4);
    let r = ran.clone();
    let stop = context::after_func(&ctx, move || {
        r.fetch_add(1, SeqCst);
        tx.try_send(()).unwrap();
    });
    let stopped = context::after_func(&ctx, || panic!("stopped before the cancel"));
    assert!(stopped());
    assert!(!stopped(), "a second stop reports it did nothing");
    cancel();
    cancel();
    assert_eq!(
        timeout(Duration::from_secs(10), rx.recv()).await,
        Ok(Some(()))
    );
    assert!(!stop(), "it had started already");
    assert_eq!(ran.load(SeqCst), 1);

    // Registered on a context already done: it runs at once.
    let (tx, rx) = goro::chan::<u8>(1);
    let stop = context::after_func(&ctx, move || tx.try_send(7).unwrap());
    assert_eq!(
        timeout(Duration::from_secs(10), rx.recv()).await,
        Ok(Some(7))
    );
    assert!(!stop());

    // A parent's cancel reaches a child's function; a deadline does too.
    let (parent, cancel) = context::with_cancel(&context::background());
    let (child, _c) = context::with_timeout(&parent, Duration::from_secs(3600));
    let (tx, rx) = goro::chan::<ContextError>(2);
    let c2 = child.clone();
    let tx2 = tx.clone();
    let _s = context::after_func(&child, move || tx2.try_send(c2.err().unwrap()).unwrap());
    cancel();
    assert_eq!(rx.recv().await, Some(ContextError::Canceled));
    let (d, _c) = context::with_timeout(&context::background(), Duration::from_millis(1));
    let d2 = d.clone();
    let _s = context::after_func(&d, move || tx.try_send(d2.err().unwrap()).unwrap());
    assert_eq!(rx.recv().await, Some(ContextError::DeadlineExceeded));
}

#[test]
fn after_func_outside_a_runtime_runs_on_a_thread() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let (tx, rx) = goro::chan::<u8>(1);
    let _stop = context::after_func(&ctx, move || tx.try_send(1).unwrap());
    cancel();
    assert_eq!(rx.recv_blocking(), Some(1));
}

#[test]
fn cause_is_inherited_and_first_cancel_wins() {
    let (ctx, cancel) = context::with_cancel_cause(&context::background());
    let (child, _c) = context::with_cancel(&ctx);
    assert!(ctx.cause().is_none());
    cancel(Some(Arc::new(Boom)));
    cancel(Some(Arc::new(std::io::Error::other("second"))));
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    assert_eq!(ctx.cause().unwrap().to_string(), "boom");
    assert_eq!(child.cause().unwrap().to_string(), "boom");
    // A child derived after the cancel inherits the cause too.
    let (late, _c) = context::with_cancel(&ctx);
    assert_eq!(late.cause().unwrap().to_string(), "boom");

    // No cause: the error is the cause.
    let (ctx, cancel) = context::with_cancel_cause(&context::background());
    cancel(None);
    let c: Cause = ctx.cause().unwrap();
    assert_eq!(c.to_string(), ContextError::Canceled.to_string());
    let (d, _c) = context::with_deadline(&context::background(), std::time::Instant::now());
    assert_eq!(
        d.cause().unwrap().to_string(),
        ContextError::DeadlineExceeded.to_string()
    );
}

#[goro::test]
async fn run_ends_the_future_when_the_context_is_done() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    assert_eq!(ctx.run(async { 5 }).await, Ok(5));
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let g = Guard(dropped.clone());
    let c2 = ctx.clone();
    let h = goro::go(async move {
        c2.run(async move {
            let _g = g;
            sleep(Duration::from_secs(3600)).await;
        })
        .await
    });
    sleep(Duration::from_millis(2)).await;
    cancel();
    assert_eq!(h.await.unwrap(), Err(ContextError::Canceled));
    assert_eq!(dropped.load(SeqCst), 1);
    // Already done: the future is not polled.
    let polled = Arc::new(AtomicUsize::new(0));
    let p = polled.clone();
    assert_eq!(
        ctx.run(async move { p.fetch_add(1, SeqCst) }).await,
        Err(ContextError::Canceled)
    );
    assert_eq!(polled.load(SeqCst), 0);
}

/// Yields until `pred` holds for the current dump.
async fn until(pred: impl Fn(&goro::runtime::Dump) -> bool) -> goro::runtime::Dump {
    loop {
        let d = dump();
        if pred(&d) {
            return d;
        }
        sleep(Duration::from_millis(1)).await;
    }
}

#[goro::test]
async fn the_dump_shows_the_callers_line_for_context_and_errgroup_waits() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let c2 = ctx.clone();
    let line_ctx = line!() + 1;
    let a = goro::go(async move { c2.wait().await });
    let g = goro::errgroup::Group::<()>::new();
    let (tx, rx) = goro::chan::<()>(0);
    g.go(async move {
        let _ = rx.recv().await;
        Ok(())
    })
    .await;
    let g2 = g.clone();
    let line_group = line!() + 1;
    let b = goro::go(async move { g2.wait().await });
    let d = until(|d| {
        [a.id(), b.id()].iter().all(|id| {
            d.goroutines()
                .iter()
                .any(|g| g.id == id.as_u64() && matches!(g.status, Status::Waiting(_)))
        })
    })
    .await;
    for (id, line) in [(a.id(), line_ctx), (b.id(), line_group)] {
        let g = d.goroutines().iter().find(|g| g.id == id.as_u64()).unwrap();
        let at = g.blocked_at.unwrap();
        assert_eq!((at.file(), at.line()), (file!(), line), "{d}");
    }
    cancel();
    drop(tx);
    assert_eq!(a.await.unwrap(), ContextError::Canceled);
    assert_eq!(b.await.unwrap(), Ok(()));
}
