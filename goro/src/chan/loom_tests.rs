//! Loom models of the channel protocols: send/recv/close races on buffered
//! and rendezvous channels, a select's commit against a concurrent close
//! and a competing receiver, dropping pending operations, and the
//! two-phase rendezvous (a hand-off in flight against the receiver's or the
//! sender's drop, and a cancelled send taking its value back).
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p goro
//! --lib --release chan::`.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

use loom::{future::block_on, thread};

use crate::chan::{chan, Select, SendError, TryRecvError};

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn buffered_send_recv_fifo() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(1);
        let t = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        t.join().unwrap();
        assert_eq!(block_on(rx.recv()), None);
    });
}

#[test]
fn rendezvous_send_recv() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(0);
        let t = thread::spawn(move || block_on(tx.send(7)));
        assert_eq!(block_on(rx.recv()), Some(7));
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}

#[test]
fn rendezvous_send_against_close() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(0);
        let tx2 = tx.clone();
        let t = thread::spawn(move || block_on(tx.send(1)));
        let c = thread::spawn(move || {
            tx2.close();
        });
        let got = block_on(rx.recv());
        let sent = t.join().unwrap();
        c.join().unwrap();
        match sent {
            Ok(()) => assert_eq!(got, Some(1)),
            Err(SendError(1)) => assert_eq!(got, None),
            Err(_) => unreachable!(),
        }
    });
}

#[test]
fn buffered_recv_against_close() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(1);
        let t = thread::spawn(move || {
            let r = tx.try_send(1).is_ok();
            tx.close();
            r
        });
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        let sent = t.join().unwrap();
        assert_eq!(got, if sent { vec![1] } else { vec![] });
    });
}

#[test]
fn select_commit_against_close() {
    loom::model(|| {
        let (tx1, rx1) = chan::<i32>(1);
        let (tx2, rx2) = chan::<i32>(0);
        let s = thread::spawn(move || tx1.try_send(1).is_ok());
        let c = thread::spawn(move || {
            drop(tx2); // closes rx2's channel
        });
        let mut sel = Select::new();
        sel.recv(&rx1);
        sel.recv(&rx2);
        let op = block_on(sel.select());
        assert!(s.join().unwrap());
        c.join().unwrap();
        match op.index() {
            0 => {
                assert_eq!(op.recv(&rx1), Some(1));
                assert_eq!(rx1.try_recv(), Err(TryRecvError::Closed));
            }
            _ => {
                assert_eq!(op.recv(&rx2), None);
                assert_eq!(rx1.try_recv(), Ok(1), "the losing arm took nothing");
            }
        }
    });
}

#[test]
fn select_commit_against_competing_receiver() {
    loom::model(|| {
        let (tx1, rx1) = chan::<i32>(0);
        let (tx2, rx2) = chan::<i32>(1);
        let rx1b = rx1.clone();
        let s = thread::spawn(move || {
            let a = tx1.try_send(1).is_ok();
            let b = tx2.try_send(2).is_ok();
            (a, b)
        });
        let r = thread::spawn(move || rx1b.try_recv().ok());
        let mut sel = Select::new();
        sel.recv(&rx1);
        sel.recv(&rx2);
        let op = block_on(sel.select());
        let got = match op.index() {
            0 => op.recv(&rx1),
            _ => op.recv(&rx2),
        };
        let (a, b) = s.join().unwrap();
        let other = r.join().unwrap();
        assert!(b, "the buffered send always fits");
        let mut received = vec![got, other, rx1.try_recv().ok(), rx2.try_recv().ok()];
        received.retain(|v| matches!(v, Some(1 | 2)));
        received.sort();
        let want: Vec<_> = if a {
            vec![Some(1), Some(2)]
        } else {
            vec![Some(2)]
        };
        assert_eq!(received, want, "each sent value received exactly once");
    });
}

#[test]
fn dropped_pending_select_loses_nothing() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(0);
        let (_tx2, rx2) = chan::<i32>(0);
        let t = thread::spawn(move || tx.try_send(1).is_ok());
        {
            let mut sel = Select::new();
            sel.recv(&rx);
            sel.recv(&rx2);
            let mut f = pin!(sel.select());
            if let Poll::Ready(op) = poll_once(f.as_mut()) {
                // The sender ran (and dropped `tx`, closing) first.
                assert_eq!(op.index(), 0);
                let got = op.recv(&rx);
                let sent = t.join().unwrap();
                assert_eq!(got, if sent { Some(1) } else { None });
                return;
            };
            // Dropped here, possibly after the sender handed it the value.
        }
        let sent = t.join().unwrap();
        let left = rx.try_recv();
        if sent {
            assert_eq!(left, Ok(1));
        } else {
            assert_eq!(left, Err(TryRecvError::Closed));
        }
    });
}

#[test]
fn dropped_pending_send_against_receiver() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(0);
        let t = thread::spawn(move || rx.try_recv().ok());
        {
            let mut f = pin!(tx.send(1));
            let _ = poll_once(f.as_mut());
        }
        let got = t.join().unwrap();
        assert!(got.is_none() || got == Some(1));
        assert!(tx.is_closed(), "the receiver is gone");
    });
}

#[test]
fn select_against_blocked_senders() {
    loom::model(|| {
        let (tx1, rx1) = chan::<i32>(0);
        let (tx2, rx2) = chan::<i32>(0);
        let t1 = thread::spawn(move || block_on(tx1.send(1)));
        let t2 = thread::spawn(move || block_on(tx2.send(2)));
        let mut sel = Select::new();
        sel.recv(&rx1);
        sel.recv(&rx2);
        let op = block_on(sel.select());
        let (first, other) = match op.index() {
            0 => (op.recv(&rx1), block_on(rx2.recv())),
            _ => (op.recv(&rx2), block_on(rx1.recv())),
        };
        let mut got = [first, other];
        got.sort();
        assert_eq!(got, [Some(1), Some(2)]);
        assert_eq!(t1.join().unwrap(), Ok(()));
        assert_eq!(t2.join().unwrap(), Ok(()));
    });
}

/// Polls a receive once or twice (stopping when ready), then drops it.
fn recv_then_drop(rx: &crate::chan::Receiver<i32>, polls: usize) -> Option<i32> {
    let mut f = pin!(rx.recv());
    for _ in 0..polls {
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            return v;
        }
        thread::yield_now();
    }
    None
}

#[test]
fn rendezvous_in_flight_against_receiver_drop() {
    for polls in [1, 2] {
        loom::model(move || {
            let (tx, rx) = chan::<i32>(0);
            let rx2 = rx.clone();
            let t = thread::spawn(move || recv_then_drop(&rx, polls));
            let mut s = pin!(tx.send(1));
            let first = poll_once(s.as_mut());
            let got = t.join().unwrap();
            match got {
                Some(v) => {
                    // Taken: the send completed (now or at once when polled).
                    assert_eq!(v, 1);
                    let r = match first {
                        Poll::Ready(r) => r,
                        Poll::Pending => match poll_once(s.as_mut()) {
                            Poll::Ready(r) => r,
                            Poll::Pending => panic!("taken but the send is pending"),
                        },
                    };
                    assert_eq!(r, Ok(()));
                    assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
                }
                None => {
                    // Not taken: the value is still the sender's, and the send
                    // has not completed.
                    assert!(first.is_pending());
                    assert!(poll_once(s.as_mut()).is_pending(), "sent but not received");
                    assert_eq!(tx.len(), 0, "not given to the channel");
                    assert_eq!(rx2.try_recv(), Ok(1));
                    assert_eq!(poll_once(s.as_mut()), Poll::Ready(Ok(())));
                }
            }
        });
    }
}

#[test]
fn rendezvous_in_flight_against_sender_drop() {
    for polls in [1, 2] {
        loom::model(move || {
            let (tx, rx) = chan::<i32>(0);
            let rx2 = rx.clone();
            let t = thread::spawn(move || recv_then_drop(&rx, polls));
            let sent = {
                let mut s = pin!(tx.send(1));
                poll_once(s.as_mut()).is_ready()
                // Dropped here, possibly while its value is in flight.
            };
            let got = t.join().unwrap();
            let left = rx2.try_recv().ok();
            // Never twice; never lost once sent.
            assert!(!(got.is_some() && left.is_some()));
            if sent {
                assert!(got == Some(1) || left == Some(1));
            }
            assert!(got.is_none() || got == Some(1));
            assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
        });
    }
}

#[test]
fn rendezvous_select_in_flight_against_receiver_drop() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(0);
        let (ttx, trx) = chan::<i32>(1);
        let t = thread::spawn(move || {
            // A receiver polled once and cancelled, then the timeout fires.
            let got = recv_then_drop(&rx, 1);
            ttx.try_send(0).unwrap();
            (got, rx)
        });
        let mut sel = Select::new();
        let si = sel.send(&tx, 1);
        sel.recv(&trx);
        let op = block_on(sel.select());
        let (got, rx) = t.join().unwrap();
        if op.index() == si {
            assert_eq!(op.send(&tx), Ok(()));
            assert_eq!(got, Some(1), "sent Ok: the receiver took it");
        } else {
            assert_eq!(op.recv(&trx), Some(0));
            assert_eq!(got, None, "the other arm won: nothing sent");
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        }
    });
}

/// Issue 11 #9: a send cancelled as `send_timeout` cancels it delivered
/// exactly when it says so, against a receiver that may itself be
/// cancelled; a dropped send in flight takes its value back.
#[test]
fn rendezvous_send_cancel_is_exact() {
    for polls in [1, 2] {
        loom::model(move || {
            let (tx, rx) = chan::<i32>(0);
            let rx2 = rx.clone();
            let t = thread::spawn(move || recv_then_drop(&rx, polls));
            let delivered = {
                let mut s = pin!(tx.send(1));
                match poll_once(s.as_mut()) {
                    Poll::Ready(r) => r.is_ok(),
                    Poll::Pending => match s.as_mut().cancel() {
                        Ok(r) => r.is_ok(),
                        Err(v) => {
                            assert_eq!(v, 1);
                            false
                        }
                    },
                }
            };
            let got = t.join().unwrap();
            assert_eq!(got.is_some(), delivered, "delivered iff reported");
            assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
        });
    }
}

// ---- The lock-free ring of buffered channels (ring.rs): fast pushes and
// pops against the lock holder that freezes it.

#[test]
fn ring_fast_sends_against_waiting_receiver() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(2);
        let t = thread::spawn(move || {
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
        });
        // The receiver may find the ring empty and wait: no lost wake-up.
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        t.join().unwrap();
        // The sender is gone: closed, nothing left behind.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn ring_two_senders_against_full_buffer() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(1);
        let tx2 = tx.clone();
        let t1 = thread::spawn(move || block_on(tx.send(1)));
        let t2 = thread::spawn(move || block_on(tx2.send(2)));
        let mut got = [block_on(rx.recv()), block_on(rx.recv())];
        got.sort();
        assert_eq!(got, [Some(1), Some(2)]);
        assert_eq!(t1.join().unwrap(), Ok(()));
        assert_eq!(t2.join().unwrap(), Ok(()));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn ring_fast_send_against_close() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(1);
        let tx2 = tx.clone();
        let t = thread::spawn(move || tx.try_send(1).is_ok());
        let c = thread::spawn(move || {
            tx2.close();
        });
        let mut got = Vec::new();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        let sent = t.join().unwrap();
        c.join().unwrap();
        // A send that succeeded is received before the close is seen.
        assert_eq!(got, if sent { vec![1] } else { vec![] });
    });
}

#[test]
fn ring_value_given_back_stays_first() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(2);
        let t = thread::spawn(move || {
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
        });
        // A receive handed 1 and then dropped gives it back ahead of 2.
        let first = recv_then_drop(&rx, 1);
        t.join().unwrap();
        let mut got: Vec<i32> = first.into_iter().collect();
        while let Ok(v) = rx.try_recv() {
            got.push(v);
        }
        assert_eq!(got, [1, 2]);
    });
}

// Go's lock-free `empty()`/`full()` checks (ring.rs, `Miss::Settled`): a
// non-blocking operation or a select's first pass that settles without the
// lock must still be linearizable against a concurrent lock holder.

#[test]
fn ring_settled_empty_against_send_and_close() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(1);
        let t = thread::spawn(move || {
            tx.try_send(1).unwrap();
            // `tx` drops here: the channel closes.
        });
        let first = rx.try_recv();
        t.join().unwrap();
        // Empty only before the send; never Closed while 1 is buffered.
        match first {
            Ok(v) => assert_eq!(v, 1),
            Err(TryRecvError::Empty) => assert_eq!(rx.try_recv(), Ok(1)),
            Err(TryRecvError::Closed) => panic!("closed with a value buffered"),
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn ring_settled_full_against_recv() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(1);
        let rx2 = rx.clone();
        tx.try_send(1).unwrap();
        let t = thread::spawn(move || block_on(rx.recv()));
        // Full only before the receive took 1; after it, room.
        let sent = tx.try_send(2).is_ok();
        assert_eq!(t.join().unwrap(), Some(1));
        // Now there is room for certain: a refused 2 goes in now.
        if !sent {
            assert!(tx.try_send(2).is_ok(), "full after the receive");
        }
        assert_eq!(rx2.try_recv(), Ok(2));
        assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn ring_select_settled_empty_arms_then_wait() {
    loom::model(|| {
        let (tx1, rx1) = chan::<i32>(1);
        let (tx2, rx2) = chan::<i32>(1);
        let t = thread::spawn(move || {
            tx2.try_send(2).unwrap();
            tx1.try_send(1).unwrap();
        });
        // Pass 1 may find both rings empty without a lock; pass 2 must
        // then see (or be woken by) the sends.
        let mut sel = Select::new();
        sel.recv(&rx1);
        sel.recv(&rx2);
        let op = block_on(sel.select());
        let (got, other) = match op.index() {
            0 => (op.recv(&rx1), block_on(rx2.recv())),
            _ => (op.recv(&rx2), block_on(rx1.recv())),
        };
        t.join().unwrap();
        let mut all = [got.unwrap(), other.unwrap()];
        all.sort();
        assert_eq!(all, [1, 2]);
    });
}
