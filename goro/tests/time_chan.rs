//! Timers as channels (issue 15): `Timer::chan()` and `Ticker::chan()` in
//! `select!`, `select_blocking!` and `Select`, with Go 1.23's semantics;
//! as a `Stream` and under `Select::ready`, where nobody waits in the
//! channel's queue and only a watcher learns that the timer fired.

use std::{
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use futures::StreamExt;
use goro::{
    chan::{Receiver, Select, SelectTimeoutError, TryRecvError},
    time::{after, sleep, tick, timeout, Ticker, Timer},
};

/// Runs `f` on a plain thread (no goroutine parks: only a watcher can wake
/// it) and fails, rather than hangs, if it does not finish in 20 s.
fn on_thread_within_20s<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the timer channel never woke its watcher")
}

fn rt() -> goro::Runtime {
    goro::Runtime::builder().procs(2).build().unwrap()
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn timer_chan_is_a_select_arm_everywhere() {
    rt().block_on(async {
        let (_tx, work) = goro::chan::<u32>(0);
        let start = Instant::now();
        let t = Timer::new(5 * MS);
        let fired = goro::select! {
            recv(work) -> v => panic!("nobody sends: {v:?}"),
            recv(t.chan()) -> at => at.unwrap(),
        };
        assert!(fired >= start + 5 * MS);
        // Reset and select again: one value per arming.
        assert!(!t.reset(2 * MS));
        let again = goro::select! {
            recv(work) -> v => panic!("nobody sends: {v:?}"),
            recv(t.chan()) -> at => at.unwrap(),
        };
        assert!(again > fired);
    });
    // Threads: select_blocking! and the dynamic Select.
    let (_tx, work) = goro::chan::<u32>(0);
    let t = Timer::new(2 * MS);
    let got = goro::select_blocking! {
        recv(work) -> v => panic!("nobody sends: {v:?}"),
        recv(t.chan()) -> at => at.is_some(),
    };
    assert!(got);
    t.reset(2 * MS);
    let mut sel = Select::new();
    let w = sel.recv(&work);
    let i = sel.recv(t.chan());
    let op = sel.select_blocking();
    assert_ne!(op.index(), w);
    assert_eq!(op.index(), i);
    assert!(op.recv(t.chan()).is_some());
}

#[test]
fn no_stale_value_after_stop_or_reset() {
    rt().block_on(async {
        for _ in 0..50 {
            let t = Timer::new(Duration::ZERO);
            sleep(MS).await; // expired, and the heap has fired it
            assert!(
                t.stop(),
                "an expired value never received counts as stopped"
            );
            assert_eq!(t.chan().try_recv(), Err(TryRecvError::Empty));
            assert!(!t.stop());

            let t = Timer::new(Duration::ZERO);
            sleep(MS).await;
            assert!(t.reset(Duration::from_secs(3600)));
            assert_eq!(t.chan().try_recv(), Err(TryRecvError::Empty));
            let stale = goro::select! {
                recv(t.chan()) -> _ => true,
                recv(after(2 * MS)) -> _ => false,
            };
            assert!(!stale, "a value of the earlier arming was received");
        }
        // A ticker's missed tick is dropped by stop and by reset.
        let tk = Ticker::new(MS);
        sleep(5 * MS).await;
        tk.stop();
        assert_eq!(tk.chan().try_recv(), Err(TryRecvError::Empty));
        tk.reset(Duration::from_secs(3600));
        assert_eq!(tk.chan().try_recv(), Err(TryRecvError::Empty));
        tk.reset(MS);
        assert!(timeout(Duration::from_secs(10), tk.chan().recv())
            .await
            .unwrap()
            .is_some());
    });
}

#[test]
fn ticker_chan_in_a_select_loop() {
    rt().block_on(async {
        let tk = Ticker::new(MS);
        let (tx, rx) = goro::chan::<u32>(8);
        let (mut ticks, mut msgs) = (0, 0);
        let mut last = Instant::now() - Duration::from_secs(1);
        while ticks < 5 {
            if msgs < 3 {
                tx.send(msgs).await.unwrap();
            }
            goro::select! {
                recv(rx) -> v => { assert_eq!(v, Some(msgs)); msgs += 1; }
                recv(tk.chan()) -> t => {
                    let t = t.unwrap();
                    assert!(t > last, "ticks go forward");
                    last = t;
                    ticks += 1;
                }
            }
        }
        assert_eq!(msgs, 3);
        // One entry at most: the ticker re-arms only when a tick is taken.
        assert!(goro::runtime::stats().unwrap().timers <= 1);
        drop(tk);
        // A firing in flight on a worker may hold the timer a moment
        // longer; it disarms when that one lets go.
        let start = Instant::now();
        while goro::runtime::stats().unwrap().timers != 0 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the ticker stayed armed"
            );
            goro::yield_now().await;
        }
    });
}

#[test]
fn unreferenced_timers_are_collected() {
    rt().block_on(async {
        let base = goro::runtime::stats().unwrap().timers;
        for _ in 0..1000 {
            let t = Timer::new(Duration::from_secs(3600));
            let tk = Ticker::new(Duration::from_secs(3600));
            let c = t.chan().clone();
            drop(t);
            // A receiver clone keeps the timer armed...
            assert_eq!(goro::runtime::stats().unwrap().timers, base + 2);
            drop(c);
            drop(tk);
        }
        // ...and dropping every handle disarms it.
        assert_eq!(goro::runtime::stats().unwrap().timers, base);
    });
}

#[test]
fn a_received_timer_value_arrives_once_and_the_channel_stays_open() {
    let t = Timer::new(MS);
    assert!(t.chan().recv_blocking().is_some());
    assert_eq!(t.chan().try_recv(), Err(TryRecvError::Empty));
    assert!(!t.chan().is_closed());
    assert!(!t.stop(), "its value was received");
    // Awaiting the timer by `&mut` after a reset.
    let mut t = t;
    t.reset(MS);
    let at = futures::executor::block_on(&mut t);
    assert!(at <= Instant::now());
}

#[test]
fn timers_under_a_paused_clock() {
    let rt = goro::Runtime::builder()
        .procs(1)
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let start = goro::time::now();
        let t = Timer::new(Duration::from_secs(3600));
        let v = t.chan().recv().await.unwrap();
        assert_eq!(v, start + Duration::from_secs(3600));
        let tk = Ticker::new(Duration::from_secs(60));
        for i in 1..=3 {
            let v = tk.chan().recv().await.unwrap();
            assert_eq!(v, start + Duration::from_secs(3600 + 60 * i));
        }
    });
}

#[test]
fn timer_chan_as_a_stream() {
    // In a goroutine, the stream's waker is a goroutine's.
    rt().block_on(async {
        let start = Instant::now();
        let t = Timer::new(5 * MS);
        let mut c: Receiver<Instant> = t.chan().clone();
        let at = timeout(Duration::from_secs(20), c.next())
            .await
            .expect("the timer channel never woke its stream")
            .expect("a timer channel is never closed");
        assert!(at >= start + 5 * MS);
        assert_eq!(t.chan().try_recv(), Err(TryRecvError::Empty));
        // Re-armed: one more value, through the same stream.
        assert!(!t.reset(2 * MS));
        let again = timeout(Duration::from_secs(20), c.next())
            .await
            .unwrap()
            .unwrap();
        assert!(again > at);
    });
    // On a plain thread with another executor: only the watcher wakes it.
    let (start, at) = on_thread_within_20s(|| {
        let start = Instant::now();
        let t = Timer::new(5 * MS);
        let mut c = t.chan().clone();
        (start, futures::executor::block_on(c.next()).unwrap())
    });
    assert!(at >= start + 5 * MS);
}

#[test]
fn after_and_tick_as_streams() {
    let (start, at) = on_thread_within_20s(|| {
        let start = Instant::now();
        let mut r = after(5 * MS);
        let at = futures::executor::block_on(r.next()).unwrap();
        // Fired once: nothing more comes.
        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
        (start, at)
    });
    assert!(at >= start + 5 * MS);

    let (start, ticks) = on_thread_within_20s(|| {
        let start = Instant::now();
        let r = tick(2 * MS);
        let ticks: Vec<Instant> = futures::executor::block_on(r.take(5).collect());
        (start, ticks)
    });
    assert_eq!(ticks.len(), 5);
    assert!(ticks[0] >= start + 2 * MS);
    assert!(ticks.windows(2).all(|w| w[0] < w[1]), "{ticks:?}");

    rt().block_on(async {
        let mut r = tick(2 * MS);
        let mut last = None;
        for _ in 0..3 {
            let t = timeout(Duration::from_secs(20), r.next())
                .await
                .expect("the ticker never woke its stream")
                .unwrap();
            assert!(last.is_none_or(|l| l < t));
            last = Some(t);
        }
        let mut a = after(2 * MS);
        assert!(timeout(Duration::from_secs(20), a.next())
            .await
            .unwrap()
            .is_some());
    });
}

#[test]
fn timer_chan_wakes_select_ready() {
    on_thread_within_20s(|| {
        let (_tx, work) = goro::chan::<u32>(0);
        let t = Timer::new(5 * MS);
        let mut sel = Select::new();
        let w = sel.recv(&work);
        let i = sel.recv(t.chan());
        assert_eq!(sel.try_ready(), None);
        assert_eq!(sel.ready(), i);
        assert_ne!(i, w);
        // `ready` performed nothing: the value is still there.
        assert!(t.chan().try_recv().is_ok());
        assert_eq!(sel.try_ready(), None);

        // `ready_timeout`: the timer fires before the timeout...
        t.reset(5 * MS);
        assert_eq!(sel.ready_timeout(Duration::from_secs(20)), Ok(i));
        assert!(t.chan().try_recv().is_ok());
        // ...or the timeout comes first.
        t.reset(Duration::from_secs(3600));
        assert_eq!(
            sel.ready_timeout(20 * MS),
            Err(SelectTimeoutError),
            "an unfired timer is not ready"
        );

        // A ticker, several times over.
        let tk = Ticker::new(2 * MS);
        let mut sel = Select::new();
        let i = sel.recv(tk.chan());
        for _ in 0..3 {
            assert_eq!(sel.ready_timeout(Duration::from_secs(20)), Ok(i));
            assert!(tk.chan().try_recv().is_ok());
        }
    });
}

#[test]
fn ticker_chan_in_select_blocking_with_default_timeout() {
    let tk = Ticker::new(2 * MS);
    let mut last = Instant::now() - Duration::from_secs(1);
    let mut ticks = 0;
    while ticks < 5 {
        goro::select_blocking! {
            recv(tk.chan()) -> t => {
                let t = t.unwrap();
                assert!(t > last, "ticks go forward");
                last = t;
                ticks += 1;
            }
            default(Duration::from_secs(20)) => panic!("the ticker stopped ticking"),
        }
    }
    assert_eq!(ticks, 5);
    // Stopped: no stale tick (Go 1.23), so the default arm runs.
    tk.stop();
    let timed_out = goro::select_blocking! {
        recv(tk.chan()) -> t => panic!("a stopped ticker ticked: {t:?}"),
        default(20 * MS) => true,
    };
    assert!(timed_out);
    // A slow ticker loses to the timeout; reset to a short period, it wins.
    tk.reset(Duration::from_secs(3600));
    let timed_out = goro::select_blocking! {
        recv(tk.chan()) -> t => panic!("ticked early: {t:?}"),
        default(20 * MS) => true,
    };
    assert!(timed_out);
    tk.reset(2 * MS);
    let got = goro::select_blocking! {
        recv(tk.chan()) -> t => t.is_some(),
        default(Duration::from_secs(20)) => false,
    };
    assert!(got, "the reset ticker did not tick");
}
