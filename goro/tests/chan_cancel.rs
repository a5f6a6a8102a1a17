//! Cancellation and fairness of channel operations (issue 11, items 8, 9,
//! 13, 19, 20): no value is handed to a receiver that is not waiting, a
//! dropped send did not deliver, blocked selects are uniform over their
//! arms, a panicking waker clone leaves no arm linked, and the ends are
//! unwind-safe.

use std::{
    collections::HashSet,
    panic::{catch_unwind, AssertUnwindSafe, RefUnwindSafe, UnwindSafe},
    pin::pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll, RawWaker, RawWakerVTable, Waker},
    thread,
    time::{Duration, Instant},
};

use futures::StreamExt;
use goro::chan::{Select, TryRecvError};

mod common;
use common::{poll_once, CountWaker};

/// Waits (up to a generous bound that only catches hangs) for `f` to
/// return `Some`.
fn eventually<R>(mut f: impl FnMut() -> Option<R>) -> R {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(r) = f() {
            return r;
        }
        assert!(Instant::now() < end, "timed out");
        thread::sleep(Duration::from_millis(1));
    }
}

// ---- item 8: a Receiver used as a Stream strands no value ----

#[test]
fn stream_next_dropped_strands_no_buffered_value() {
    let (tx, rx) = goro::chan::<i32>(1);
    let rx2 = rx.clone();
    let mut stream = rx;
    let w = Arc::new(CountWaker::default());
    {
        let next = pin!(stream.next());
        assert!(poll_once(next, &w).is_pending());
    } // the `next()` is dropped, e.g. by a timeout
    tx.try_send(7).unwrap();
    assert_eq!(rx2.try_recv(), Ok(7), "the value went to an idle stream");
    assert_eq!(w.wakes(), 1, "the stream was woken");
    // The stream still works when it is polled again.
    tx.try_send(8).unwrap();
    let next = pin!(stream.next());
    assert_eq!(poll_once(next, &w), Poll::Ready(Some(8)));
}

#[test]
fn stream_next_dropped_unbuffered_sender_not_blocked() {
    let (tx, rx) = goro::chan::<i32>(0);
    let rx2 = rx.clone();
    let mut stream = rx;
    let w = Arc::new(CountWaker::default());
    {
        let next = pin!(stream.next());
        assert!(poll_once(next, &w).is_pending());
    }
    let t = thread::spawn(move || tx.send_blocking(5));
    let v = eventually(|| rx2.try_recv().ok());
    assert_eq!(v, 5);
    assert_eq!(t.join().unwrap(), Ok(()));
    // Closed now: the stream ends.
    let next = pin!(stream.next());
    assert_eq!(poll_once(next, &w), Poll::Ready(None));
}

#[test]
fn stream_wakes_when_value_arrives() {
    let (tx, mut rx) = goro::chan::<i32>(0);
    let t = thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i).unwrap();
        }
    });
    let got: Vec<i32> = futures::executor::block_on(async { (&mut rx).collect().await });
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    t.join().unwrap();
}

// ---- item 9: a dropped send did not deliver ----

#[test]
fn send_dropped_in_flight_takes_its_value_back() {
    let (tx, rx) = goro::chan::<i32>(0);
    let (wr, ws) = (
        Arc::new(CountWaker::default()),
        Arc::new(CountWaker::default()),
    );
    let mut r = pin!(rx.recv());
    assert!(poll_once(r.as_mut(), &wr).is_pending());
    {
        let s = pin!(tx.send(1));
        assert!(poll_once(s, &ws).is_pending(), "in flight");
    } // dropped before it returned: it must not deliver
    assert!(
        poll_once(r.as_mut(), &wr).is_pending(),
        "a dropped send delivered its value"
    );
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // The receiver waits on and gets the next value.
    let t = thread::spawn(move || tx.send_blocking(2));
    let v = eventually(|| match poll_once(r.as_mut(), &wr) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    });
    assert_eq!(v, Some(2));
    assert_eq!(t.join().unwrap(), Ok(()));
}

#[test]
fn select_send_dropped_in_flight_takes_its_value_back() {
    let (tx, rx) = goro::chan::<i32>(0);
    let (_tx2, rx2) = goro::chan::<i32>(0);
    let w = Arc::new(CountWaker::default());
    let mut r = pin!(rx.recv());
    assert!(poll_once(r.as_mut(), &w).is_pending());
    {
        let mut sel = Select::new();
        sel.send(&tx, 1);
        sel.recv(&rx2);
        let f = pin!(sel.select());
        assert!(poll_once(f, &w).is_pending(), "in flight");
    }
    assert!(poll_once(r.as_mut(), &w).is_pending());
}

/// Cancellation storm: unbuffered sends abandoned by a timer arm, against
/// receivers that are themselves cancelled by timeouts. Every value that
/// was received was reported sent, and every value reported sent was
/// received exactly once.
#[test]
fn storm_select_timer_arm_delivered_equals_ok() {
    const SENDERS: usize = 4;
    const PER: usize = 2500;
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    let (ok, got) = rt.block_on(async {
        let (tx, rx) = goro::chan::<usize>(0);
        let ok = Arc::new(Mutex::new(Vec::new()));
        let mut hs = Vec::new();
        for s in 0..SENDERS {
            let (tx, ok) = (tx.clone(), ok.clone());
            hs.push(goro::go(async move {
                for i in 0..PER {
                    let v = s * PER + i;
                    let d = Duration::from_micros((v % 7) as u64 * 20);
                    goro::select! {
                        send(tx, v) -> r => {
                            r.unwrap();
                            ok.lock().unwrap().push(v);
                        }
                        recv(goro::time::after(d)) => {}
                    }
                }
            }));
        }
        drop(tx);
        let mut rhs = Vec::new();
        for k in 0..2 {
            let rx = rx.clone();
            rhs.push(goro::go(async move {
                let mut got = Vec::new();
                let mut n = 0u64;
                loop {
                    n += 1;
                    // Slow receivers: many senders' timer arms fire first.
                    if n % 2 == 0 {
                        goro::time::sleep(Duration::from_micros(100)).await;
                    }
                    let d = Duration::from_micros((n % 5) * 30 + k);
                    match goro::time::timeout(d, rx.recv()).await {
                        Ok(Some(v)) => got.push(v),
                        Ok(None) => return got,
                        Err(_) => {}
                    }
                }
            }));
        }
        drop(rx);
        for h in hs {
            h.await.unwrap();
        }
        let mut got = Vec::new();
        for h in rhs {
            got.extend(h.await.unwrap());
        }
        let ok = std::mem::take(&mut *ok.lock().unwrap());
        (ok, got)
    });
    let got_set: HashSet<usize> = got.iter().copied().collect();
    assert_eq!(got_set.len(), got.len(), "a value was received twice");
    let ok_set: HashSet<usize> = ok.into_iter().collect();
    eprintln!("select storm: {} of {} sent", ok_set.len(), SENDERS * PER);
    assert_eq!(got_set, ok_set, "delivered != returned Ok");
}

/// The same storm with `time::timeout` around a plain `send`: a dropped
/// send takes its value back, except in the window between a receiver
/// taking it and the send being polled again (documented on `Send`).
/// Nothing is lost or duplicated; every `Ok` was delivered.
#[test]
fn storm_timeout_send_no_loss_no_dup() {
    const PER: usize = 10_000;
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    let (ok, got) = rt.block_on(async {
        let (tx, rx) = goro::chan::<usize>(0);
        let sender = goro::go(async move {
            let mut ok = Vec::new();
            for v in 0..PER {
                let d = Duration::from_micros((v % 7) as u64 * 20);
                if let Ok(r) = goro::time::timeout(d, tx.send(v)).await {
                    r.unwrap();
                    ok.push(v);
                }
            }
            ok
        });
        let receiver = goro::go(async move {
            let mut got = Vec::new();
            let mut n = 0u64;
            loop {
                n += 1;
                let d = Duration::from_micros((n % 5) * 30);
                match goro::time::timeout(d, rx.recv()).await {
                    Ok(Some(v)) => got.push(v),
                    Ok(None) => return got,
                    Err(_) => {}
                }
            }
        });
        (sender.await.unwrap(), receiver.await.unwrap())
    });
    let got_set: HashSet<usize> = got.iter().copied().collect();
    assert_eq!(got_set.len(), got.len(), "a value was received twice");
    let ok_set: HashSet<usize> = ok.iter().copied().collect();
    eprintln!(
        "timeout storm: {} of {PER} sent, {} received",
        ok_set.len(),
        got_set.len()
    );
    assert!(ok_set.is_subset(&got_set), "an Ok send was not received");
    // Delivered but reported as timed out: only the narrow window between
    // a send's last poll and its drop (before the fix, most sends abandoned
    // in flight were delivered: 6,067 of 10,241 in the run).
    let extra = got_set.len() - ok_set.len();
    assert!(extra <= PER / 20, "{extra} dropped sends delivered");
}

// ---- item 13: a blocked select is uniform over its arms ----

#[test]
fn blocked_select_send_arms_uniform() {
    const N: usize = 1000;
    let (tx, rx) = goro::chan::<usize>(0);
    let w = Arc::new(CountWaker::default());
    let mut counts = [0usize; 2];
    for _ in 0..N {
        let mut sel = Select::new();
        sel.send(&tx, 0);
        sel.send(&tx, 1);
        let mut f = pin!(sel.select());
        assert!(poll_once(f.as_mut(), &w).is_pending());
        let v = rx.try_recv().unwrap();
        counts[v] += 1;
        let Poll::Ready(op) = poll_once(f.as_mut(), &w) else {
            panic!("select not done")
        };
        assert_eq!(op.index(), v);
    }
    assert!(counts.iter().all(|&c| c > N / 10), "{counts:?}");
}

#[test]
fn blocked_select_five_recv_arms_uniform() {
    const N: usize = 1000;
    let (tx, rx) = goro::chan::<usize>(0);
    let w = Arc::new(CountWaker::default());
    let mut counts = [0usize; 5];
    for i in 0..N {
        let mut sel = Select::new();
        for _ in 0..5 {
            sel.recv(&rx);
        }
        let mut f = pin!(sel.select());
        assert!(poll_once(f.as_mut(), &w).is_pending());
        tx.try_send(i).unwrap();
        let Poll::Ready(op) = poll_once(f.as_mut(), &w) else {
            panic!("select not done")
        };
        counts[op.index()] += 1;
        assert_eq!(op.recv(&rx), Some(i));
    }
    assert!(counts.iter().all(|&c| c > N / 10), "{counts:?}");
}

// Go's TestPseudoRandomSend (src/runtime/chan_test.go), with the receiver
// on a thread that arrives late. Copyright 2009 The Go Authors. All rights
// reserved. Use of this source code is governed by a BSD-style license
// that can be found in Go's LICENSE file.
#[test]
fn go_pseudo_random_send() {
    let n = 100;
    for cap in [0, n] {
        let (tx, rx) = goro::chan::<usize>(cap);
        let t = thread::spawn(move || {
            let mut l = Vec::with_capacity(n);
            for _ in 0..n {
                thread::yield_now();
                l.push(rx.recv_blocking().unwrap());
            }
            l
        });
        for _ in 0..n {
            goro::select_blocking! {
                send(tx, 1) => {},
                send(tx, 0) => {},
            }
        }
        let l = t.join().unwrap();
        let n1: usize = l.iter().sum();
        let n0 = n - n1;
        assert!(
            n0 > n / 10 && n1 > n / 10,
            "want pseudorandom, got {n0} zeros and {n1} ones (cap {cap})"
        );
    }
}

// ---- item 19: a panicking waker clone leaves nothing linked ----

fn panicky_waker(clones_before_panic: usize) -> Waker {
    struct Data {
        left: AtomicUsize,
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, drop_raw);
    unsafe fn clone(p: *const ()) -> RawWaker {
        // SAFETY: `p` is the `Data` leaked below.
        let d = unsafe { &*(p as *const Data) };
        if d.left.fetch_sub(1, Ordering::SeqCst) == 0 {
            panic!("waker clone panics");
        }
        RawWaker::new(p, &VTABLE)
    }
    unsafe fn noop(_: *const ()) {}
    unsafe fn drop_raw(_: *const ()) {}
    let d: &'static Data = Box::leak(Box::new(Data {
        left: AtomicUsize::new(clones_before_panic),
    }));
    // SAFETY: the vtable's functions uphold the RawWaker contract (the data
    // is leaked, so always valid).
    unsafe { Waker::from_raw(RawWaker::new(d as *const Data as *const (), &VTABLE)) }
}

#[test]
fn select_waker_clone_panic_unlinks_arms() {
    let (txa, rxa) = goro::chan::<i32>(1);
    let (txb, rxb) = goro::chan::<i32>(1);
    for clones in 0..3 {
        let mut sel = Select::new();
        sel.recv(&rxa);
        sel.recv(&rxb);
        let mut f = Box::pin(sel.select());
        let bad = panicky_waker(clones);
        let r = catch_unwind(AssertUnwindSafe(|| {
            f.as_mut().poll(&mut Context::from_waker(&bad))
        }));
        if r.is_ok() {
            // Enough clones: it simply blocked; drop it.
            drop(f);
            continue;
        }
        // Nothing of this select may take the next value.
        txa.try_send(1).unwrap();
        assert_eq!(rxa.try_recv(), Ok(1), "clones={clones}");
        // Polled again with a good waker, the select works.
        let w = Arc::new(CountWaker::default());
        assert!(poll_once(f.as_mut(), &w).is_pending());
        txb.try_send(2).unwrap();
        let Poll::Ready(op) = poll_once(f.as_mut(), &w) else {
            panic!("select not done")
        };
        assert_eq!(op.recv(&rxb), Some(2));
    }
}

use std::future::Future;

// ---- item 20: unwind safety, nil channels ----

#[test]
fn ends_are_unwind_safe() {
    fn check<X: UnwindSafe + RefUnwindSafe>() {}
    check::<goro::chan::Sender<i32>>();
    check::<goro::chan::Receiver<i32>>();
    let (tx, rx) = goro::chan::<i32>(1);
    let r = catch_unwind(|| {
        tx.send_blocking(1).unwrap();
        rx.recv_blocking()
    });
    assert_eq!(r.unwrap(), Some(1));
}

#[test]
fn never_receivers_are_the_same_channel() {
    let a = goro::chan::never::<i32>();
    let b = goro::chan::never::<i32>();
    assert!(a.same_channel(&b));
    let (_tx, rx) = goro::chan::<i32>(0);
    assert!(!a.same_channel(&rx));
}
