//! The two-phase rendezvous of unbuffered channels: a send completes only
//! once a receiver has taken its value. A receiver cancelled after a
//! sender chose it gives the value back to that sender; a sender cancelled
//! while its value is in flight takes it back from the receiver (nothing
//! was sent). Sizes of the
//! stress test scale with `GORO_STRESS` (default 1).

use std::{
    collections::HashMap,
    pin::pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    task::Poll,
    thread,
    time::Duration,
};

use goro::chan::{SendError, TryRecvError};

mod common;
use common::{poll_once, CountWaker};

/// A value that counts how many times it has been dropped.
#[derive(Debug)]
struct Tok(Arc<AtomicUsize>);
impl Drop for Tok {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn send_completes_when_receiver_takes() {
    let (tx, rx) = goro::chan::<i32>(0);
    let (wr, ws) = (
        Arc::new(CountWaker::default()),
        Arc::new(CountWaker::default()),
    );
    let mut r = pin!(rx.recv());
    assert!(poll_once(r.as_mut(), &wr).is_pending());
    let mut s = pin!(tx.send(1));
    assert!(poll_once(s.as_mut(), &ws).is_pending(), "in flight");
    assert_eq!(wr.wakes(), 1, "the receiver is woken");
    assert!(poll_once(s.as_mut(), &ws).is_pending(), "not taken yet");
    assert_eq!(poll_once(r.as_mut(), &wr), Poll::Ready(Some(1)));
    assert_eq!(ws.wakes(), 1, "taking the value wakes the sender once");
    assert_eq!(poll_once(s.as_mut(), &ws), Poll::Ready(Ok(())));
}

#[test]
fn cancelled_receiver_gives_value_back_to_sender() {
    let (tx, rx) = goro::chan::<i32>(0);
    let (wr, ws) = (
        Arc::new(CountWaker::default()),
        Arc::new(CountWaker::default()),
    );
    let mut s = pin!(tx.send(1));
    {
        let mut r = pin!(rx.recv());
        assert!(poll_once(r.as_mut(), &wr).is_pending());
        assert!(poll_once(s.as_mut(), &ws).is_pending());
        // Dropped before it is polled again.
    }
    assert!(
        poll_once(s.as_mut(), &ws).is_pending(),
        "the send did not happen"
    );
    assert_eq!(tx.len(), 0, "nothing buffered");
    // The sender waits in the queue again: a second receiver takes it.
    let mut r2 = pin!(rx.recv());
    assert_eq!(poll_once(r2.as_mut(), &wr), Poll::Ready(Some(1)));
    assert_eq!(poll_once(s.as_mut(), &ws), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn cancelled_receiver_passes_value_to_next_waiting_receiver() {
    let (tx, rx) = goro::chan::<i32>(0);
    let (w1, w2, ws) = (
        Arc::new(CountWaker::default()),
        Arc::new(CountWaker::default()),
        Arc::new(CountWaker::default()),
    );
    let mut r2 = pin!(rx.recv());
    let mut s = pin!(tx.send(7));
    {
        let mut r1 = pin!(rx.recv());
        assert!(poll_once(r1.as_mut(), &w1).is_pending());
        assert!(poll_once(r2.as_mut(), &w2).is_pending());
        // r1 is first in line: the value goes in flight to it.
        assert!(poll_once(s.as_mut(), &ws).is_pending());
        assert_eq!(w1.wakes(), 1);
        assert_eq!(w2.wakes(), 0);
    }
    // r1's drop handed the value on to r2, still in flight.
    assert_eq!(w2.wakes(), 1);
    assert!(poll_once(s.as_mut(), &ws).is_pending());
    assert_eq!(poll_once(r2.as_mut(), &w2), Poll::Ready(Some(7)));
    assert_eq!(poll_once(s.as_mut(), &ws), Poll::Ready(Ok(())));
}

#[test]
fn cancelled_sender_in_flight_takes_value_back() {
    let (tx, rx) = goro::chan::<i32>(0);
    let (wr, ws) = (
        Arc::new(CountWaker::default()),
        Arc::new(CountWaker::default()),
    );
    let mut r = pin!(rx.recv());
    assert!(poll_once(r.as_mut(), &wr).is_pending());
    {
        let mut s = pin!(tx.send(1));
        assert!(poll_once(s.as_mut(), &ws).is_pending());
    }
    // A send dropped before it returned did not deliver (issue 11 #9).
    assert!(poll_once(r.as_mut(), &wr).is_pending());
    assert_eq!(ws.wakes(), 0, "nobody to wake");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn both_cancelled_in_flight_nothing_sent() {
    let (tx, rx) = goro::chan::<i32>(0);
    let w = Arc::new(CountWaker::default());
    {
        let mut r = pin!(rx.recv());
        assert!(poll_once(r.as_mut(), &w).is_pending());
        {
            let mut s = pin!(tx.send(1));
            assert!(poll_once(s.as_mut(), &w).is_pending());
        }
    }
    // The sender took its value back when it was dropped.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn close_while_in_flight() {
    // The receiver takes it after the close: the send happened.
    let (tx, rx) = goro::chan::<i32>(0);
    let w = Arc::new(CountWaker::default());
    let mut r = pin!(rx.recv());
    assert!(poll_once(r.as_mut(), &w).is_pending());
    let mut s = pin!(tx.send(1));
    assert!(poll_once(s.as_mut(), &w).is_pending());
    assert!(tx.close());
    assert_eq!(poll_once(r.as_mut(), &w), Poll::Ready(Some(1)));
    assert_eq!(poll_once(s.as_mut(), &w), Poll::Ready(Ok(())));

    // The receiver is cancelled after the close: the send fails.
    let (tx, rx) = goro::chan::<i32>(0);
    let mut s = pin!(tx.send(2));
    {
        let mut r = pin!(rx.recv());
        assert!(poll_once(r.as_mut(), &w).is_pending());
        assert!(poll_once(s.as_mut(), &w).is_pending());
        assert!(rx.close());
    }
    assert_eq!(poll_once(s.as_mut(), &w), Poll::Ready(Err(SendError(2))));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn select_send_arm_gets_value_back_and_takes_timeout() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = goro::chan::<Tok>(0);
    let (ttx, trx) = goro::chan::<()>(1); // a timeout we fire by hand
    let never = goro::chan::never::<()>();
    let w = Arc::new(CountWaker::default());
    let ws = Arc::new(CountWaker::default());
    let mut r = Box::pin(rx.recv());
    assert!(poll_once(r.as_mut(), &w).is_pending());
    let mut sel = pin!(async {
        goro::select! {
            send(tx, Tok(drops.clone())) -> res => { res.map_err(|_| ()).unwrap(); "sent" },
            recv(trx) => "timeout",
            recv(never) => "never",
        }
    });
    assert!(poll_once(sel.as_mut(), &ws).is_pending(), "in flight");
    assert_eq!(ws.wakes(), 0);
    drop(r); // the receiver is cancelled before it took the value
    assert_eq!(ws.wakes(), 1, "the select is woken to start over");
    assert!(poll_once(sel.as_mut(), &ws).is_pending(), "no arm ready");
    ttx.try_send(()).unwrap();
    assert_eq!(poll_once(sel.as_mut(), &ws), Poll::Ready("timeout"));
    // The send arm's value was dropped with the select, never delivered.
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(rx.try_recv().is_err());
    assert_eq!(tx.len(), 0);
}

#[test]
fn dyn_select_send_arm_gets_value_back() {
    let (tx, rx) = goro::chan::<i32>(0);
    let (ttx, trx) = goro::chan::<()>(1);
    let w = Arc::new(CountWaker::default());
    let mut r = Box::pin(rx.recv());
    assert!(poll_once(r.as_mut(), &w).is_pending());
    let mut sel = goro::chan::Select::new();
    let si = sel.send(&tx, 3);
    let ti = sel.recv(&trx);
    let mut f = pin!(sel.select());
    assert!(poll_once(f.as_mut(), &w).is_pending());
    drop(r);
    assert!(poll_once(f.as_mut(), &w).is_pending());
    // The select waits again with its value: a new receiver takes it.
    let mut r2 = pin!(rx.recv());
    assert_eq!(poll_once(r2.as_mut(), &w), Poll::Ready(Some(3)));
    match poll_once(f.as_mut(), &w) {
        Poll::Ready(op) => {
            assert_eq!(op.index(), si);
            assert_eq!(op.send(&tx), Ok(()));
        }
        Poll::Pending => panic!("the send was taken"),
    }
    let _ = (ttx, ti);
}

#[test]
fn select_recv_arm_cancelled_gives_value_back_to_sender() {
    let (tx, rx) = goro::chan::<i32>(0);
    let never = goro::chan::never::<i32>();
    let w = Arc::new(CountWaker::default());
    let mut s = pin!(tx.send(5));
    {
        let mut sel = pin!(async {
            goro::select! {
                recv(rx) -> v => v,
                recv(never) -> v => v,
            }
        });
        assert!(poll_once(sel.as_mut(), &w).is_pending());
        assert!(poll_once(s.as_mut(), &w).is_pending());
    }
    assert!(poll_once(s.as_mut(), &w).is_pending(), "not received");
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(poll_once(s.as_mut(), &w), Poll::Ready(Ok(())));
}

fn scale() -> usize {
    std::env::var("GORO_STRESS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Small xorshift, seeded per task.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Many senders and receivers on unbuffered channels; receivers are
/// cancelled at random (polled once and dropped, or timed out), some sends
/// are selects with a timeout. The values received must be exactly those
/// whose send returned `Ok`: nothing lost, nothing twice, nothing sent but
/// never received — and no value ever waits in the channel itself.
#[test]
fn stress_cancelled_receivers_exact_accounting() {
    const CHANS: usize = 3;
    const SENDERS: usize = 6;
    const RECEIVERS: usize = 6;
    let per_sender = 2000 * scale();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let chans: Vec<_> = (0..CHANS).map(|_| goro::chan::<u64>(0)).collect();
    let received = Arc::new(Mutex::new(HashMap::<u64, usize>::new()));
    let sent_ok = Arc::new(Mutex::new(Vec::<u64>::new()));
    let parked = Arc::new(AtomicUsize::new(0));

    let mut receivers = Vec::new();
    for i in 0..RECEIVERS {
        let rx = chans[i % CHANS].1.clone();
        let received = received.clone();
        let parked = parked.clone();
        receivers.push(rt.spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 7919));
            loop {
                let got = match rng.below(4) {
                    0 => {
                        // Polled once, then dropped.
                        let mut f = pin!(rx.recv());
                        match futures::poll!(f.as_mut()) {
                            Poll::Ready(v) => Some(v),
                            Poll::Pending => None,
                        }
                    }
                    1 => {
                        let d = Duration::from_micros(rng.below(50));
                        tokio::time::timeout(d, rx.recv()).await.ok()
                    }
                    2 => {
                        tokio::task::yield_now().await;
                        None
                    }
                    _ => Some(rx.recv().await),
                };
                // No sender here is ever cancelled, so no value may be
                // parked in the channel: a cancelled receiver gives its
                // value back to the sender, not to the channel.
                if !rx.is_empty() {
                    parked.fetch_add(1, Ordering::Relaxed);
                }
                match got {
                    Some(Some(v)) => {
                        *received.lock().unwrap().entry(v).or_default() += 1;
                    }
                    Some(None) => return,
                    None => {}
                }
            }
        }));
    }

    let mut threads = Vec::new();
    let mut tasks = Vec::new();
    for p in 0..SENDERS {
        let tx = chans[p % CHANS].0.clone();
        let sent_ok = sent_ok.clone();
        let parked = parked.clone();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ ((p as u64 + 1) * 104_729));
        let values = (p * per_sender..(p + 1) * per_sender).map(|v| v as u64);
        if p % 2 == 0 {
            // Thread senders, some through a select with a timeout arm: if
            // the timeout fires, nothing was sent.
            threads.push(thread::spawn(move || {
                let mut ok = Vec::new();
                for v in values {
                    let sent = if rng.below(3) == 0 {
                        let timeout = goro::time::after(Duration::from_micros(rng.below(100)));
                        goro::select_blocking! {
                            send(tx, v) -> r => r.is_ok(),
                            recv(timeout) => false,
                        }
                    } else {
                        tx.send_blocking(v).is_ok()
                    };
                    if sent {
                        ok.push(v);
                    }
                    if !tx.is_empty() {
                        parked.fetch_add(1, Ordering::Relaxed);
                    }
                }
                sent_ok.lock().unwrap().extend(ok);
            }));
        } else {
            // Async senders on the receivers' runtime.
            tasks.push(rt.spawn(async move {
                let mut ok = Vec::new();
                for v in values {
                    let sent = if rng.below(3) == 0 {
                        let timeout = goro::time::after(Duration::from_micros(rng.below(100)));
                        goro::select! {
                            send(tx, v) -> r => r.is_ok(),
                            recv(timeout) => false,
                        }
                    } else {
                        tx.send(v).await.is_ok()
                    };
                    if sent {
                        ok.push(v);
                    }
                    if !tx.is_empty() {
                        parked.fetch_add(1, Ordering::Relaxed);
                    }
                }
                sent_ok.lock().unwrap().extend(ok);
            }));
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    drop(chans); // the last senders go: every channel closes
    rt.block_on(async {
        for r in receivers {
            r.await.unwrap();
        }
    });

    let mut ok = sent_ok.lock().unwrap().clone();
    ok.sort_unstable();
    let received = received.lock().unwrap();
    for (v, n) in received.iter() {
        assert_eq!(*n, 1, "value {v} received {n} times");
    }
    let mut got: Vec<u64> = received.keys().copied().collect();
    got.sort_unstable();
    assert_eq!(got.len(), ok.len(), "received vs sent Ok");
    assert_eq!(got, ok, "received exactly the values sent Ok");
    assert!(!ok.is_empty());
    assert_eq!(
        parked.load(Ordering::Relaxed),
        0,
        "values seen parked in an unbuffered channel"
    );
}
