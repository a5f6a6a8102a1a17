//! Stress for the `_blocking` channel operations between OS threads
//! (issue 12): the wait loop behind them (`wait::block_on_deadline`) spins
//! for up to 10 µs before the thread sleeps (`Parker::spin_until_notified`),
//! so a wake-up may land while the waiter spins, while it goes from the
//! spin to sleep, or once it sleeps. Each test counts every message: none
//! lost, none twice, nothing after a close. Ping-pong between threads
//! (unbuffered and buffered), threads against goroutines, the `_timeout` /
//! `_deadline` twins with timeouts shorter and longer than the spin, many
//! threads on one channel, and a close while threads wait. Sizes scale
//! with `GORO_STRESS` (default 1).

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Barrier,
    },
    thread,
    time::{Duration, Instant},
};

use goro::chan::{RecvTimeoutError, SendTimeoutError};

mod common;
use common::{scale, Seen};

/// Two threads bounce a counter through two channels of capacity `cap`:
/// every round trip adds one.
fn pingpong_threads(cap: usize, rounds: usize) {
    let (ping_tx, ping_rx) = goro::chan::<u64>(cap);
    let (pong_tx, pong_rx) = goro::chan::<u64>(cap);
    let echo = thread::spawn(move || {
        let mut n = 0;
        while let Some(v) = ping_rx.recv_blocking() {
            pong_tx.send_blocking(v + 1).unwrap();
            n += 1;
        }
        n
    });
    let mut v = 0;
    for i in 0..rounds as u64 {
        ping_tx.send_blocking(v).unwrap();
        v = pong_rx.recv_blocking().unwrap();
        assert_eq!(v, i + 1);
    }
    ping_tx.close();
    assert_eq!(echo.join().unwrap(), rounds);
    assert_eq!(pong_rx.try_recv().ok(), None);
}

#[test]
fn pingpong_between_threads_unbuffered() {
    pingpong_threads(0, 20_000 * scale());
}

#[test]
fn pingpong_between_threads_buffered() {
    pingpong_threads(1, 20_000 * scale());
    pingpong_threads(4, 5_000 * scale());
}

/// A stream from one thread to another, with the receiver sometimes slow
/// (it sleeps, so the sender's wait outlasts its spin and it parks) and
/// sometimes fast (the waits end inside the spin): in order, none lost.
#[test]
fn stream_between_threads_with_slow_and_fast_phases() {
    for cap in [0, 1, 8] {
        let n = 5_000 * scale();
        let (tx, rx) = goro::chan::<usize>(cap);
        let producer = thread::spawn(move || {
            for i in 0..n {
                tx.send_blocking(i).unwrap();
                if i % 512 == 0 {
                    thread::sleep(Duration::from_micros(200));
                }
            }
        });
        let mut next = 0;
        while let Some(v) = rx.recv_blocking() {
            assert_eq!(v, next);
            next += 1;
            if next % 700 == 0 {
                thread::sleep(Duration::from_micros(200));
            }
        }
        assert_eq!(next, n);
        producer.join().unwrap();
    }
}

/// A thread drives, a goroutine echoes; then a goroutine drives and a
/// thread echoes.
#[test]
fn pingpong_between_a_thread_and_a_goroutine() {
    let rounds = 10_000 * scale() as u64;
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    for cap in [0, 1] {
        // Thread → goroutine → thread.
        let (ping_tx, ping_rx) = goro::chan::<u64>(cap);
        let (pong_tx, pong_rx) = goro::chan::<u64>(cap);
        let driver = thread::spawn(move || {
            let mut v = 0;
            for _ in 0..rounds {
                ping_tx.send_blocking(v).unwrap();
                v = pong_rx.recv_blocking().unwrap();
            }
            v
        });
        let echoed = rt.block_on(async move {
            let mut n = 0;
            while let Some(v) = ping_rx.recv().await {
                pong_tx.send(v + 1).await.unwrap();
                n += 1;
            }
            n
        });
        assert_eq!(echoed, rounds);
        assert_eq!(driver.join().unwrap(), rounds);

        // Goroutine → thread → goroutine.
        let (ping_tx, ping_rx) = goro::chan::<u64>(cap);
        let (pong_tx, pong_rx) = goro::chan::<u64>(cap);
        let echo = thread::spawn(move || {
            let mut n = 0;
            while let Some(v) = ping_rx.recv_blocking() {
                pong_tx.send_blocking(v + 1).unwrap();
                n += 1;
            }
            n
        });
        let v = rt.block_on(async move {
            let h = goro::go(async move {
                let mut v = 0;
                for _ in 0..rounds {
                    ping_tx.send(v).await.unwrap();
                    v = pong_rx.recv().await.unwrap();
                }
                v
            });
            h.await.unwrap()
        });
        assert_eq!(v, rounds);
        assert_eq!(echo.join().unwrap(), rounds);
    }
}

/// A goroutine that calls `recv_blocking` / `send_blocking` (it blocks its
/// worker, as a syscall does in Go) against another goroutine.
#[test]
fn blocking_calls_inside_goroutines() {
    let rounds = 5_000 * scale() as u64;
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    let v = rt.block_on(async move {
        let (ping_tx, ping_rx) = goro::chan::<u64>(0);
        let (pong_tx, pong_rx) = goro::chan::<u64>(0);
        let echo = goro::go(async move {
            while let Some(v) = ping_rx.recv().await {
                pong_tx.send(v + 1).await.unwrap();
            }
        });
        let driver = goro::go(async move {
            let mut v = 0;
            for _ in 0..rounds {
                ping_tx.send_blocking(v).unwrap();
                v = pong_rx.recv_blocking().unwrap();
            }
            v
        });
        let v = driver.await.unwrap();
        echo.await.unwrap();
        v
    });
    assert_eq!(v, rounds);
}

/// Many threads on one channel: 4 senders, 4 receivers, each value
/// received exactly once.
fn contended(cap: usize, per: usize) {
    const SIDES: usize = 4;
    let seen = Seen::new(SIDES * per);
    let (tx, rx) = goro::chan::<usize>(cap);
    let receivers: Vec<_> = (0..SIDES)
        .map(|_| {
            let (rx, seen) = (rx.clone(), seen.clone());
            thread::spawn(move || {
                let mut n = 0;
                while let Some(v) = rx.recv_blocking() {
                    seen.mark(v);
                    n += 1;
                }
                n
            })
        })
        .collect();
    drop(rx);
    let senders: Vec<_> = (0..SIDES)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for j in 0..per {
                    tx.send_blocking(p * per + j).unwrap();
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    tx.close();
    let total: usize = receivers.into_iter().map(|r| r.join().unwrap()).sum();
    assert_eq!(total, SIDES * per);
    seen.assert_all_once();
}

#[test]
fn many_threads_contend_unbuffered() {
    contended(0, 5_000 * scale());
}

#[test]
fn many_threads_contend_buffered() {
    contended(1, 5_000 * scale());
    contended(16, 10_000 * scale());
}

/// `recv_timeout` / `send_timeout` with timeouts shorter than the spin
/// (1–20 µs) and longer, racing each other: every value a send reports as
/// delivered is received exactly once, and every timed-out send gets its
/// value back (which it then sends again, until delivered).
#[test]
fn timeouts_racing_hand_offs_lose_nothing() {
    for cap in [0, 2] {
        let n = 3_000 * scale();
        let seen = Seen::new(n);
        let (tx, rx) = goro::chan::<usize>(cap);
        let sender = thread::spawn(move || {
            let mut timeouts = 0;
            for i in 0..n {
                let mut v = i;
                loop {
                    let t = Duration::from_micros(1 + (v as u64 * 7) % 20);
                    match tx.send_timeout(v, t) {
                        Ok(()) => break,
                        Err(SendTimeoutError::Timeout(back)) => {
                            assert_eq!(back, i);
                            v = back;
                            timeouts += 1;
                        }
                        Err(e) => panic!("send: {e:?}"),
                    }
                }
            }
            timeouts
        });
        let mut got = 0;
        let mut k = 0u64;
        loop {
            k += 1;
            let t = Duration::from_micros(1 + (k * 13) % 30);
            match rx.recv_timeout(t) {
                Ok(v) => {
                    seen.mark(v);
                    got += 1;
                    if got == n {
                        break;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Closed) => panic!("closed early"),
            }
        }
        sender.join().unwrap();
        seen.assert_all_once();
        assert_eq!(rx.try_recv().ok(), None);
    }
}

/// A timeout never ends before its deadline, even one shorter than the
/// spin; one far beyond it (or `Duration::MAX`) still receives.
#[test]
fn timeouts_and_deadlines_are_kept() {
    let (tx, rx) = goro::chan::<u32>(0);
    for us in [0, 1, 3, 9, 15, 40, 200, 2_000] {
        let t = Duration::from_micros(us);
        let start = Instant::now();
        assert_eq!(rx.recv_timeout(t), Err(RecvTimeoutError::Timeout));
        assert!(start.elapsed() >= t, "recv_timeout({t:?}) ended early");
        let start = Instant::now();
        assert_eq!(
            tx.send_timeout(1, t),
            Err(SendTimeoutError::Timeout(1)),
            "no receiver"
        );
        assert!(start.elapsed() >= t, "send_timeout({t:?}) ended early");
        let deadline = Instant::now() + t;
        assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
        assert!(Instant::now() >= deadline, "recv_deadline ended early");
    }
    // A deadline already past: one try, no wait.
    let past = Instant::now() - Duration::from_millis(5);
    assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
    // Long and endless timeouts still receive (the sender comes after the
    // spin gave up, and during it).
    for (delay, t) in [
        (Duration::from_millis(20), Duration::MAX),
        (Duration::from_millis(20), Duration::from_secs(3600)),
        (Duration::ZERO, Duration::MAX),
        (Duration::from_micros(3), Duration::from_secs(10)),
    ] {
        let s = thread::spawn({
            let tx = tx.clone();
            move || {
                thread::sleep(delay);
                tx.send_blocking(7).unwrap();
            }
        });
        assert_eq!(rx.recv_timeout(t), Ok(7));
        s.join().unwrap();
        let r = thread::spawn({
            let rx = rx.clone();
            move || {
                thread::sleep(delay);
                rx.recv_blocking()
            }
        });
        assert_eq!(tx.send_timeout(8, t), Ok(()));
        assert_eq!(r.join().unwrap(), Some(8));
    }
}

/// Threads blocked in `recv_blocking` and `send_blocking` on channels
/// closed after a varying delay (the close lands during the spin, or after
/// the thread sleeps): every one of them returns, and nothing sent before
/// the close is lost.
#[test]
fn close_while_threads_are_blocked() {
    const WAITERS: usize = 4;
    let delays_us = [0u64, 1, 5, 20, 100, 1_000];
    for round in 0..20 * scale() {
        let delay = Duration::from_micros(delays_us[round % delays_us.len()]);
        for cap in [0, 1] {
            // Receivers blocked on an empty channel.
            let (tx, rx) = goro::chan::<u32>(cap);
            let start = Arc::new(Barrier::new(WAITERS + 1));
            let receivers: Vec<_> = (0..WAITERS)
                .map(|_| {
                    let (rx, start) = (rx.clone(), start.clone());
                    thread::spawn(move || {
                        start.wait();
                        rx.recv_blocking()
                    })
                })
                .collect();
            start.wait();
            thread::sleep(delay);
            assert!(tx.close());
            for r in receivers {
                assert_eq!(r.join().unwrap(), None);
            }

            // Senders blocked on a full (or unbuffered) channel: those that
            // delivered before the close are the ones received.
            let (tx, rx) = goro::chan::<u32>(cap);
            for v in 0..cap as u32 {
                tx.send_blocking(1000 + v).unwrap();
            }
            let delivered = Arc::new(AtomicUsize::new(0));
            let start = Arc::new(Barrier::new(WAITERS + 1));
            let senders: Vec<_> = (0..WAITERS as u32)
                .map(|v| {
                    let (tx, start, delivered) = (tx.clone(), start.clone(), delivered.clone());
                    thread::spawn(move || {
                        start.wait();
                        match tx.send_blocking(v) {
                            Ok(()) => {
                                delivered.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => assert_eq!(e.into_inner(), v),
                        }
                    })
                })
                .collect();
            start.wait();
            thread::sleep(delay);
            // Take one value (it may let one sender through), then close.
            let first = rx.recv_blocking();
            assert!(first.is_some());
            assert!(rx.close());
            for s in senders {
                s.join().unwrap();
            }
            let mut received = 1;
            while rx.try_recv().is_ok() {
                received += 1;
            }
            assert_eq!(
                received,
                cap + delivered.load(Ordering::Relaxed),
                "round {round}, cap {cap}"
            );
        }
    }
}

/// A goroutine program whose only way forward goes through a thread
/// blocked in `recv_blocking` (spinning, then asleep) for longer than the
/// test-mode deadlock confirmation (1 s): not reported as a deadlock. A
/// thread inside a `_blocking` call counts as a possible waker for the
/// whole call, spin included (`wait::THREADS_IN_BLOCKING_CALLS`).
#[goro::test]
async fn thread_blocked_in_recv_blocking_is_not_a_deadlock() {
    let (to_thread, from_main) = goro::chan::<u32>(0);
    let (to_main, from_thread) = goro::chan::<u32>(0);
    let relay = thread::spawn(move || {
        let v = from_main.recv_blocking().unwrap();
        to_main.send_blocking(v + 1).unwrap();
    });
    let trigger = thread::spawn(move || {
        thread::sleep(Duration::from_millis(1_300));
        to_thread.send_blocking(41).unwrap();
    });
    assert_eq!(from_thread.recv().await, Some(42));
    relay.join().unwrap();
    trigger.join().unwrap();
}
