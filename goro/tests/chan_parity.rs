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

#[test]
fn select_reused_many_times() {
    use goro::chan::Select;
    let (tx1, rx1) = goro::chan::<i32>(8);
    let (tx2, rx2) = goro::chan::<i32>(8);
    let (txo, rxo) = goro::chan::<i32>(1);
    let mut sel = Select::new();
    let a = sel.recv(&rx1);
    let b = sel.recv(&rx2);
    let s = sel.send(&txo, 99);
    // The send arm fires once, then is spent.
    let op = sel.select_blocking();
    assert_eq!(op.index(), s);
    assert_eq!(op.send(&txo), Ok(()));
    assert_eq!(rxo.try_recv(), Ok(99));
    let mut got = Vec::new();
    for i in 0..10 {
        if i % 2 == 0 {
            tx1.send_blocking(i).unwrap();
        } else {
            tx2.send_blocking(i).unwrap();
        }
        let op = sel.select_blocking();
        let v = if op.index() == a {
            op.recv(&rx1)
        } else {
            assert_eq!(op.index(), b);
            op.recv(&rx2)
        };
        got.push(v.unwrap());
    }
    assert_eq!(got, (0..10).collect::<Vec<_>>());
    assert_eq!(rxo.try_recv(), Err(goro::chan::TryRecvError::Empty));
    // A result left untaken goes back to its channel.
    tx1.send_blocking(5).unwrap();
    drop(sel.select_blocking());
    assert_eq!(rx1.try_recv(), Ok(5));
}

#[test]
fn select_timeout_deadline_and_remove() {
    use goro::chan::{Select, SelectTimeoutError};
    let (tx, rx) = goro::chan::<i32>(0);
    let (tx2, rx2) = goro::chan::<i32>(1);
    let mut sel = Select::new();
    let a = sel.recv(&rx);
    let b = sel.recv(&rx2);
    let t0 = Instant::now();
    assert_eq!(
        sel.select_timeout(Duration::from_millis(20)).unwrap_err(),
        SelectTimeoutError
    );
    assert!(t0.elapsed() >= Duration::from_millis(20));
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send_blocking(1).unwrap();
        tx
    });
    let op = sel
        .select_deadline(Instant::now() + Duration::from_secs(20))
        .unwrap();
    assert_eq!(op.index(), a);
    assert_eq!(op.recv(&rx), Some(1));
    let _tx = t.join().unwrap();
    sel.remove(a);
    tx2.send_blocking(2).unwrap();
    let op = sel.select_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(op.index(), b);
    assert_eq!(op.recv(&rx2), Some(2));
    assert!(sel.try_select().is_none());
}

#[test]
#[should_panic(expected = "not an arm")]
fn select_remove_twice_panics() {
    let (_tx, rx) = goro::chan::<i32>(0);
    let mut sel = goro::chan::Select::new();
    let a = sel.recv(&rx);
    sel.remove(a);
    sel.remove(a);
}

/// A send arm timing out in a `select_timeout` did not deliver: every
/// value is either reported sent or still with its owner.
#[test]
fn select_timeout_send_storm_exact() {
    const N: usize = 2000;
    let (tx, rx) = goro::chan::<usize>(0);
    let r = thread::spawn(move || {
        let mut got = Vec::new();
        let mut n = 0u64;
        loop {
            n += 1;
            match rx.recv_timeout(Duration::from_micros((n % 4) * 25)) {
                Ok(v) => got.push(v),
                Err(RecvTimeoutError::Closed) => return got,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    });
    let mut ok = HashSet::new();
    for v in 0..N {
        let mut sel = goro::chan::Select::new();
        sel.send(&tx, v);
        if let Ok(op) = sel.select_timeout(Duration::from_micros((v % 5) as u64 * 20)) {
            op.send(&tx).unwrap();
            ok.insert(v);
        };
    }
    drop(tx);
    let got = r.join().unwrap();
    let got_set: HashSet<usize> = got.iter().copied().collect();
    assert_eq!(got.len(), got_set.len());
    assert_eq!(got_set, ok);
}

#[test]
fn select_ready() {
    use goro::chan::Select;
    let (tx, rx) = goro::chan::<i32>(0);
    let (tx1, rx1) = goro::chan::<i32>(1);
    let mut sel = Select::new();
    let r = sel.recv(&rx);
    let s = sel.send(&tx1, 1);
    assert_eq!(sel.try_ready(), Some(s));
    tx1.send_blocking(0).unwrap();
    assert_eq!(sel.try_ready(), None);
    assert!(sel.ready_timeout(Duration::from_millis(10)).is_err());
    // A value leaving the full buffer makes the send arm ready.
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        rx1.recv_blocking()
    });
    assert_eq!(sel.ready_timeout(Duration::from_secs(20)), Ok(s));
    assert_eq!(t.join().unwrap(), Some(0));
    // A waiting sender makes the receive arm ready; nothing is taken.
    sel.remove(s);
    let t = thread::spawn(move || tx.send_blocking(3));
    assert_eq!(sel.ready(), r);
    assert_eq!(rx.recv_blocking(), Some(3));
    t.join().unwrap().unwrap();
    // An unbuffered send is ready when a receiver waits.
    let (tx0, rx0) = goro::chan::<i32>(0);
    let mut sel = Select::new();
    let s0 = sel.send(&tx0, 1);
    let t = thread::spawn(move || rx0.recv_blocking());
    assert_eq!(sel.ready(), s0);
    tx0.send_blocking(8).unwrap();
    assert_eq!(t.join().unwrap(), Some(8));
}

#[test]
fn select_nil_arms_and_guards() {
    let (tx, rx) = goro::chan::<i32>(1);
    tx.send_blocking(1).unwrap();
    let none: Option<&goro::chan::Receiver<i32>> = None;
    // A None operand is never ready: the default runs.
    let r = goro::select_blocking! {
        recv(none) -> v => v,
        default => Some(-1),
    };
    assert_eq!(r, Some(-1));
    // A false guard disables a ready arm.
    let r = goro::select_blocking! {
        recv(rx), if false => 0,
        default => 1,
    };
    assert_eq!(r, 1);
    let r = goro::select_blocking! {
        recv(Some(&rx)) -> v, if true => v.unwrap(),
        recv(none) => -2,
    };
    assert_eq!(r, 1);
    // Disabled send arms: the value is evaluated, not sent, and dropped.
    let (tx0, rx0) = goro::chan::<String>(1);
    let no_tx: Option<&goro::chan::Sender<String>> = None;
    let r = goro::select_blocking! {
        send(no_tx, "a".to_string()) => 0,
        send(tx0, "b".to_string()), if false => 1,
        default => 2,
    };
    assert_eq!(r, 2);
    assert!(rx0.try_recv().is_err());
    let r = goro::select_blocking! {
        send(Some(&tx0), "c".to_string()) -> res => res.is_ok(),
        default => false,
    };
    assert!(r);
    assert_eq!(rx0.try_recv().as_deref(), Ok("c"));
    // Owned Options work too.
    let opt_rx: Option<goro::chan::Receiver<i32>> = None;
    let r = goro::select_blocking! {
        recv(opt_rx) => 0,
        recv(&goro::chan::never::<i32>()) => 1,
        default => 2,
    };
    assert_eq!(r, 2);
}

#[test]
fn select_temporary_operand() {
    fn pick(r: &goro::chan::Receiver<i32>, on: bool) -> Option<&goro::chan::Receiver<i32>> {
        on.then_some(r)
    }
    let (tx, rx) = goro::chan::<i32>(1);
    let maybe = pick(&rx, false);
    let r = goro::select_blocking! {
        recv(maybe.unwrap_or(&goro::chan::never())) -> v => v,
        default => None,
    };
    assert_eq!(r, None);
    tx.send_blocking(3).unwrap();
    let r = goro::select_blocking! {
        recv(pick(&rx, true).unwrap_or(&goro::chan::never())) -> v => v,
        default => None,
    };
    assert_eq!(r, Some(3));
}

#[test]
fn select_blocking_default_timeout() {
    let (tx, rx) = goro::chan::<i32>(0);
    let t0 = Instant::now();
    let r = goro::select_blocking! {
        recv(rx) -> v => v,
        default(Duration::from_millis(20)) => None,
    };
    assert_eq!(r, None);
    assert!(t0.elapsed() >= Duration::from_millis(20));
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send_blocking(4).unwrap();
    });
    let r = goro::select_blocking! {
        recv(rx) -> v => v,
        default(Duration::from_secs(20)) => None,
    };
    assert_eq!(r, Some(4));
    t.join().unwrap();
}

#[test]
fn select_async_default_timeout_and_nil() {
    goro::run(async {
        let (tx, rx) = goro::chan::<i32>(0);
        let r = goro::select! {
            recv(rx) -> v => v,
            default(Duration::from_millis(10)) => None,
        };
        assert_eq!(r, None);
        let h = goro::go(async move {
            goro::time::sleep(Duration::from_millis(5)).await;
            tx.send(9).await.unwrap();
        });
        let none: Option<&goro::chan::Receiver<i32>> = None;
        let r = goro::select! {
            recv(rx) -> v => v,
            recv(none) => Some(-1),
            default(Duration::from_secs(20)) => None,
        };
        assert_eq!(r, Some(9));
        h.await.unwrap();
    });
}

/// A send arm that loses to `default(timeout)` did not deliver.
#[test]
fn select_default_timeout_send_storm_exact() {
    const N: usize = 2000;
    let (tx, rx) = goro::chan::<usize>(0);
    let r = thread::spawn(move || {
        let mut got = Vec::new();
        let mut n = 0u64;
        loop {
            n += 1;
            match rx.recv_timeout(Duration::from_micros((n % 4) * 25)) {
                Ok(v) => got.push(v),
                Err(RecvTimeoutError::Closed) => return got,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    });
    let mut ok = HashSet::new();
    for v in 0..N {
        goro::select_blocking! {
            send(tx, v) -> res => {
                res.unwrap();
                ok.insert(v);
            }
            default(Duration::from_micros((v % 5) as u64 * 20)) => {}
        }
    }
    drop(tx);
    let got = r.join().unwrap();
    let got_set: HashSet<usize> = got.iter().copied().collect();
    assert_eq!(got.len(), got_set.len());
    assert_eq!(got_set, ok);
}

#[test]
fn sender_is_a_sink() {
    use futures::{SinkExt, StreamExt};
    let (mut tx, rx) = goro::chan::<i32>(0);
    let t = thread::spawn(move || rx.iter().collect::<Vec<_>>());
    futures::executor::block_on(async {
        for i in 0..50 {
            tx.send(i).await.unwrap(); // SinkExt::send: ready, start, flush
        }
        tx.send_all(&mut futures::stream::iter(50..100).map(Ok))
            .await
            .unwrap();
        SinkExt::close(&mut tx).await.unwrap();
    });
    assert_eq!(t.join().unwrap(), (0..100).collect::<Vec<_>>());
    // A closed channel fails the send with the value.
    let (mut tx, rx) = goro::chan::<i32>(1);
    drop(rx);
    let e = futures::executor::block_on(SinkExt::send(&mut tx, 5)).unwrap_err();
    assert_eq!(e.0, 5);
}

#[test]
fn sink_pending_send_dropped_with_sender() {
    use futures::SinkExt;
    use std::pin::Pin;
    let (mut tx, rx) = goro::chan::<i32>(0);
    let w = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(w);
    let mut s = Pin::new(&mut tx);
    assert!(futures::Sink::poll_ready(s.as_mut(), &mut cx).is_ready());
    futures::Sink::start_send(s.as_mut(), 1).unwrap();
    assert!(s.as_mut().poll_flush_unpin(&mut cx).is_pending());
    let tx2 = tx.clone();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(goro::chan::TryRecvError::Empty));
    drop(tx2);
    assert_eq!(rx.recv_blocking(), None);
}
