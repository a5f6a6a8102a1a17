//! Timers as channels (issue 15): `Timer::chan()` and `Ticker::chan()` in
//! `select!`, `select_blocking!` and `Select`, with Go 1.23's semantics.

use std::time::{Duration, Instant};

use goro::{
    chan::{Select, TryRecvError},
    time::{after, sleep, timeout, Ticker, Timer},
};

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
