//! crossbeam/flume parity on channels (issue 15): timed operations,
//! `try_iter`, counts, `is_full`, `WeakSender`, `FusedStream`, `Sink`.

use std::{
    collections::HashSet,
    thread,
    time::{Duration, Instant},
};

use goro::chan::{RecvTimeoutError, SendTimeoutError};

#[test]
fn recv_timeout_times_out_and_receives() {
    let (tx, rx) = goro::chan::<i32>(0);
    let t0 = Instant::now();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(20)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(t0.elapsed() >= Duration::from_millis(20));
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send_blocking(5).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)), Ok(5));
    t.join().unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(20)),
        Err(RecvTimeoutError::Closed)
    );
    // Huge timeouts do not overflow.
    let (tx, rx) = goro::chan::<i32>(1);
    tx.send_blocking(1).unwrap();
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(1));
}

#[test]
fn send_timeout_returns_value() {
    let (tx, rx) = goro::chan::<String>(0);
    match tx.send_timeout("a".into(), Duration::from_millis(10)) {
        Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, "a"),
        r => panic!("{r:?}"),
    }
    let t = thread::spawn(move || rx.recv_blocking());
    assert_eq!(tx.send_timeout("b".into(), Duration::from_secs(20)), Ok(()));
    assert_eq!(t.join().unwrap().as_deref(), Some("b"));
    assert_eq!(
        tx.send_deadline("c".into(), Instant::now() + Duration::from_secs(1)),
        Err(SendTimeoutError::Closed("c".into()))
    );
}

/// Cancellation storm on `send_timeout` / `recv_timeout` between threads:
/// every value reported sent was received exactly once, and nothing else
/// was.
#[test]
fn storm_send_timeout_delivered_equals_ok() {
    const SENDERS: usize = 3;
    const PER: usize = 1000;
    let (tx, rx) = goro::chan::<usize>(0);
    let mut hs = Vec::new();
    for s in 0..SENDERS {
        let tx = tx.clone();
        hs.push(thread::spawn(move || {
            let mut ok = Vec::new();
            for i in 0..PER {
                let v = s * PER + i;
                match tx.send_timeout(v, Duration::from_micros((v % 5) as u64 * 20)) {
                    Ok(()) => ok.push(v),
                    Err(e) => assert_eq!(e.into_inner(), v),
                }
            }
            ok
        }));
    }
    drop(tx);
    let mut rs = Vec::new();
    for k in 0..2u64 {
        let rx = rx.clone();
        rs.push(thread::spawn(move || {
            let mut got = Vec::new();
            let mut n = 0u64;
            loop {
                n += 1;
                match rx.recv_timeout(Duration::from_micros((n % 4) * 25 + k)) {
                    Ok(v) => got.push(v),
                    Err(RecvTimeoutError::Closed) => return got,
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
        }));
    }
    drop(rx);
    let ok: HashSet<usize> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let got: Vec<usize> = rs.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let got_set: HashSet<usize> = got.iter().copied().collect();
    assert_eq!(got.len(), got_set.len(), "duplicate delivery");
    assert_eq!(got_set, ok, "delivered != returned Ok");
}

#[test]
fn try_iter_counts_is_full() {
    let (tx, rx) = goro::chan::<i32>(2);
    assert!(!tx.is_full());
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(tx.is_full() && rx.is_full());
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(rx.try_iter().next(), None);
    let (tx0, rx0) = goro::chan::<i32>(0);
    assert!(tx0.is_full() && rx0.is_full());
    let tx2 = tx.clone();
    let rx2 = rx.clone();
    let _rx3 = rx.clone();
    assert_eq!((tx.sender_count(), tx.receiver_count()), (2, 3));
    drop(tx2);
    drop(rx2);
    assert_eq!((rx.sender_count(), rx.receiver_count()), (1, 2));
}

#[test]
fn weak_sender() {
    let (tx, rx) = goro::chan::<i32>(4);
    let weak = tx.downgrade();
    let w2 = weak.clone();
    let tx2 = w2.upgrade().unwrap();
    assert_eq!(tx.sender_count(), 2);
    drop(tx);
    tx2.send_blocking(1).unwrap();
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed(), "weak senders do not keep it open");
    assert!(weak.upgrade().is_none());
    assert_eq!(rx.recv_blocking(), Some(1));
    assert_eq!(rx.recv_blocking(), None);
}

#[test]
fn fused_stream() {
    use futures::stream::{FusedStream, StreamExt};
    let (tx, mut rx) = goro::chan::<i32>(1);
    tx.send_blocking(1).unwrap();
    drop(tx);
    futures::executor::block_on(async {
        assert!(!rx.is_terminated());
        assert_eq!(rx.next().await, Some(1));
        assert_eq!(rx.next().await, None);
        assert!(rx.is_terminated());
        assert_eq!(rx.next().await, None);
    });
}
