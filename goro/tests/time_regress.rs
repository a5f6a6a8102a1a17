//! Regression tests for the timer and context bugs of issue 11 (items 5,
//! 10, 11, 12, 14). Each test failed before its fix.

use std::{
    future::Future,
    sync::mpsc,
    time::{Duration, Instant},
};

use futures::FutureExt;
use goro::{
    chan::TryRecvError,
    context,
    time::{after, sleep, tick, timeout, Ticker, Timer},
};

fn rt() -> goro::Runtime {
    goro::Runtime::builder().procs(2).build().unwrap()
}

/// Runs `fut` to completion on a plain thread with `futures`' executor;
/// panics if it takes longer than 10 s (a hang).
fn finishes_elsewhere<F: Future + Send + 'static>(fut: F) -> F::Output
where
    F::Output: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(futures::executor::block_on(fut));
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the future never completed")
}

// Item 5: timers armed in a runtime that is then dropped still fire.
#[test]
fn a_sleep_armed_in_a_dropped_runtime_completes() {
    let rt = rt();
    let mut s = Box::pin(sleep(Duration::from_millis(20)));
    let mut t = Timer::new(Duration::from_millis(20));
    let (a, mut s, mut t) = rt.block_on(async move {
        // Poll once inside the runtime, so both are armed in its heap.
        assert!(s.as_mut().now_or_never().is_none());
        assert!((&mut t).now_or_never().is_none());
        (after(Duration::from_millis(20)), s, t)
    });
    drop(rt);
    finishes_elsewhere(async move {
        s.as_mut().await;
        (&mut t).await;
    });
    let got = std::thread::spawn(move || a.recv_blocking())
        .join()
        .unwrap();
    assert!(got.is_some());
}

// Item 10: a goroutine holding only `done()` never sees it close because
// every handle was dropped.
#[test]
fn done_stays_open_when_every_handle_is_dropped() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let done = ctx.done();
    drop(ctx);
    drop(cancel);
    assert_eq!(done.try_recv(), Err(TryRecvError::Empty));
    assert!(!done.is_closed());

    let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(60));
    let done = ctx.done();
    drop((ctx, cancel));
    assert_eq!(done.try_recv(), Err(TryRecvError::Empty));
}

// Item 10: the deadline of a child dropped without `cancel` still fires (its
// `done()` closes, as in Go) and removes it from its parent.
#[test]
fn expired_children_leave_their_parent() {
    rt().block_on(async {
        let (parent, cancel) = context::with_cancel(&context::background());
        let (c, cf) = context::with_timeout(&parent, Duration::from_millis(1));
        let done = c.done();
        drop((c, cf));
        assert_eq!(
            timeout(Duration::from_secs(10), done.recv()).await,
            Ok(None),
            "the deadline closes done() even with every handle dropped"
        );
        const N: usize = 20_000;
        for _ in 0..N {
            let (c, cf) = context::with_timeout(&parent, Duration::from_millis(1));
            drop((c, cf));
        }
        // Children with no deadline dropped without cancel leave at once.
        for _ in 0..N {
            let (c, cf) = context::with_cancel(&parent);
            drop((c, cf));
        }
        let start = Instant::now();
        while parent.__children() > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{} children still attached",
                parent.__children()
            );
            sleep(Duration::from_millis(5)).await;
        }
        cancel();
    });
}

// Item 11 (and issue 15's "Done when"): an `after()` whose receivers are
// dropped is disarmed, so a select loop holds O(1) timers.
#[test]
fn a_select_loop_with_fresh_after_arms_holds_o1_timers() {
    rt().block_on(async {
        let base = goro::runtime::stats().unwrap().timers;
        let (tx, rx) = goro::chan::<u32>(1);
        let mut got = 0u64;
        // The figure: 10^6 selects, each with a fresh `after(1 h)`.
        const N: u32 = 1_000_000;
        let mut most = 0;
        for i in 0..N {
            tx.send(i).await.unwrap();
            goro::select! {
                recv(rx) -> v => got += u64::from(v.unwrap()),
                recv(after(Duration::from_secs(3600))) -> _ => panic!("an hour passed"),
            }
            if i % 50_000 == 0 {
                most = most.max(goro::runtime::stats().unwrap().timers);
            }
        }
        assert!(
            most <= base + 2,
            "{most} timers armed during the loop (base {base})"
        );
        assert_eq!(got, u64::from(N) * u64::from(N - 1) / 2);
        let ticks: Vec<_> = (0..1000).map(|_| tick(Duration::from_secs(3600))).collect();
        drop(ticks);
        let timers = goro::runtime::stats().unwrap().timers;
        assert!(timers <= base + 2, "{timers} timers armed (base {base})");
    });
}

// Item 12: an `after()` channel never closes: after its one value, further
// receives block.
#[test]
fn an_after_channel_never_closes() {
    rt().block_on(async {
        let rx = after(Duration::from_millis(1));
        assert!(rx.recv().await.is_some());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert!(!rx.is_closed());
        // Go's idiom: one timeout for a whole loop of selects.
        let (mut again, mut fired) = (0, 0);
        let until = after(Duration::from_millis(20));
        while fired == 0 {
            goro::select! {
                recv(rx) -> _ => again += 1,
                recv(until) -> v => fired += usize::from(v.is_some()),
            }
        }
        assert_eq!((again, fired), (0, 1), "a fired after() delivered again");
    });
}

// Item 12: an expired timer's channel is ready at once.
#[test]
fn an_expired_after_is_ready_at_once() {
    for _ in 0..100 {
        let rx = after(Duration::ZERO);
        assert!(rx.try_recv().is_ok());
        let rx = after(Duration::ZERO);
        let mut hit = false;
        goro::select_blocking! {
            recv(rx) -> v => hit = v.is_some(),
            default => {}
        }
        assert!(hit, "an expired after() was not ready in a select");
    }
    rt().block_on(async {
        for _ in 0..100 {
            let rx = after(Duration::ZERO);
            let mut hit = false;
            goro::select! {
                recv(rx) -> v => hit = v.is_some(),
                default => {}
            }
            assert!(hit);
        }
    });
}

// Item 12: `tick(0)` is Go's nil channel, not a panic.
#[test]
fn tick_zero_is_never_ready() {
    let t = tick(Duration::ZERO);
    assert_eq!(t.try_recv(), Err(TryRecvError::Empty));
    let timed_out = goro::select_blocking! {
        recv(t) -> v => panic!("tick(0) delivered {v:?}"),
        recv(after(Duration::from_millis(5))) -> v => v.is_some(),
    };
    assert!(timed_out);
}

// Item 14: `Duration::MAX` is accepted everywhere.
#[test]
fn duration_max_never_panics() {
    rt().block_on(async {
        let mut t = Ticker::new(Duration::MAX);
        t.reset(Duration::MAX);
        t.reset(Duration::from_millis(1));
        t.tick().await;
        t.reset(Duration::MAX);
        let ticks = tick(Duration::MAX);
        assert_eq!(ticks.try_recv(), Err(TryRecvError::Empty));
        let timer = Timer::new(Duration::MAX);
        assert!(timer.reset(Duration::MAX));
        assert!(timer.stop());
        let a = after(Duration::MAX);
        assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
        assert!(timeout(Duration::from_millis(1), sleep(Duration::MAX))
            .await
            .is_err());
        assert!(timeout(Duration::MAX, async { 1 }).await.is_ok());
        let (ctx, cancel) = context::with_timeout(&context::background(), Duration::MAX);
        assert_eq!(ctx.err(), None);
        cancel();
    });
    // And outside a runtime.
    let _t = Ticker::new(Duration::MAX);
    let _r = tick(Duration::MAX);
    // The runtime's own durations.
    let rt = goro::Runtime::builder()
        .procs(1)
        .blocking_keep_alive(Duration::MAX)
        .sysmon_threshold(Duration::MAX)
        .build()
        .unwrap();
    assert_eq!(
        rt.block_on(async { goro::spawn_blocking(|| 3).await.unwrap() }),
        3
    );
    drop(rt);
}
