//! Unit semantics of `goro::chan` and `select!`, driven by
//! `futures::executor::block_on`, std threads and tokio runtimes.

use std::{
    pin::pin,
    sync::{atomic::Ordering, Arc},
    task::Poll,
    thread,
    time::Duration,
};

use futures::executor::block_on;
use goro::chan::{self, Select, SendError, TryRecvError, TrySendError};

mod common;
use common::{poll_once, CountWaker};

#[test]
fn buffered_fifo_and_len() {
    let (tx, rx) = goro::chan::<i32>(3);
    assert_eq!(tx.capacity(), 3);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.len(), 3);
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(rx.try_recv(), Ok(0));
    tx.try_send(3).unwrap();
    assert_eq!(rx.iter().take(3).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn close_drains_then_none() {
    let (tx, rx) = goro::chan::<i32>(2);
    tx.send_blocking(1).unwrap();
    tx.send_blocking(2).unwrap();
    assert!(tx.close());
    assert!(!tx.close());
    assert!(rx.is_closed());
    assert_eq!(tx.send_blocking(3), Err(SendError(3)));
    assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    assert_eq!(rx.recv_blocking(), Some(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.recv_blocking(), None);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn drop_last_sender_closes() {
    let (tx, rx) = goro::chan::<i32>(0);
    let tx2 = tx.clone();
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.recv_blocking(), None);
}

#[test]
fn drop_last_receiver_fails_sends_and_drops_buffer() {
    let item = Arc::new(());
    let (tx, rx) = goro::chan::<Arc<()>>(4);
    tx.send_blocking(item.clone()).unwrap();
    assert_eq!(Arc::strong_count(&item), 2);
    let rx2 = rx.clone();
    drop(rx);
    tx.send_blocking(item.clone()).unwrap();
    drop(rx2);
    assert_eq!(Arc::strong_count(&item), 1, "buffered values dropped");
    let e = tx.send_blocking(item.clone()).unwrap_err();
    assert!(Arc::ptr_eq(&e.0, &item));
}

#[test]
fn blocked_sender_fails_when_receivers_go() {
    let (tx, rx) = goro::chan::<i32>(0);
    let t = thread::spawn(move || tx.send_blocking(5));
    thread::sleep(Duration::from_millis(20));
    drop(rx);
    assert_eq!(t.join().unwrap(), Err(SendError(5)));
}

#[test]
fn rendezvous_send_waits_for_receiver() {
    let (tx, rx) = goro::chan::<i32>(0);
    let w = Arc::new(CountWaker::default());
    let mut send = pin!(tx.send(1));
    assert!(poll_once(send.as_mut(), &w).is_pending());
    assert_eq!(tx.len(), 0);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(w.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll_once(send.as_mut(), &w), Poll::Ready(Ok(())));
    // No receiver waiting: try_send fails.
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
}

#[test]
fn rendezvous_try_send_to_waiting_receiver() {
    let (tx, rx) = goro::chan::<i32>(0);
    let w = Arc::new(CountWaker::default());
    let mut recv = pin!(rx.recv());
    assert!(poll_once(recv.as_mut(), &w).is_pending());
    assert_eq!(tx.try_send(7), Ok(()));
    assert_eq!(w.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll_once(recv.as_mut(), &w), Poll::Ready(Some(7)));
}

#[test]
fn close_wakes_blocked_receivers_and_senders() {
    let (tx, rx) = goro::chan::<i32>(0);
    let w = Arc::new(CountWaker::default());
    let mut r1 = pin!(rx.recv());
    let mut r2 = pin!(rx.recv());
    assert!(poll_once(r1.as_mut(), &w).is_pending());
    assert!(poll_once(r2.as_mut(), &w).is_pending());
    assert!(tx.close());
    assert_eq!(w.0.load(Ordering::SeqCst), 2);
    assert_eq!(poll_once(r1.as_mut(), &w), Poll::Ready(None));
    assert_eq!(poll_once(r2.as_mut(), &w), Poll::Ready(None));

    let (tx, rx) = goro::chan::<i32>(0);
    let mut s = pin!(tx.send(3));
    assert!(poll_once(s.as_mut(), &w).is_pending());
    assert!(rx.close());
    assert_eq!(poll_once(s.as_mut(), &w), Poll::Ready(Err(SendError(3))));
}

#[test]
fn cancelled_send_sends_nothing() {
    let (tx, rx) = goro::chan::<i32>(0);
    let w = Arc::new(CountWaker::default());
    {
        let mut s = pin!(tx.send(1));
        assert!(poll_once(s.as_mut(), &w).is_pending());
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn cancelled_recv_gives_value_back() {
    for cap in [0, 1] {
        let (tx, rx) = goro::chan::<i32>(cap);
        let w = Arc::new(CountWaker::default());
        {
            let mut r = pin!(rx.recv());
            assert!(poll_once(r.as_mut(), &w).is_pending());
            tx.try_send(1).unwrap();
            // Dropped before it is polled again.
        }
        assert_eq!(rx.try_recv(), Ok(1), "cap {cap}");
    }
}

#[test]
fn cancelled_recv_does_not_take_later_value() {
    let (tx, rx) = goro::chan::<i32>(1);
    let w = Arc::new(CountWaker::default());
    {
        let mut r = pin!(rx.recv());
        assert!(poll_once(r.as_mut(), &w).is_pending());
    }
    tx.try_send(1).unwrap();
    assert_eq!(w.0.load(Ordering::SeqCst), 0);
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn waker_is_updated_on_repoll() {
    let (tx, rx) = goro::chan::<i32>(1);
    let w1 = Arc::new(CountWaker::default());
    let w2 = Arc::new(CountWaker::default());
    let mut r = pin!(rx.recv());
    assert!(poll_once(r.as_mut(), &w1).is_pending());
    assert!(poll_once(r.as_mut(), &w2).is_pending());
    tx.try_send(1).unwrap();
    assert_eq!(w1.0.load(Ordering::SeqCst), 0);
    assert_eq!(w2.0.load(Ordering::SeqCst), 1);

    // Same for a select.
    let w1 = Arc::new(CountWaker::default());
    let w2 = Arc::new(CountWaker::default());
    let mut sel = Select::new();
    sel.recv(&rx);
    let mut f = pin!(sel.select());
    assert!(poll_once(f.as_mut(), &w1).is_pending());
    assert!(poll_once(f.as_mut(), &w2).is_pending());
    tx.try_send(2).unwrap();
    assert_eq!(w1.0.load(Ordering::SeqCst), 0);
    assert_eq!(w2.0.load(Ordering::SeqCst), 1);
    match poll_once(f.as_mut(), &w2) {
        Poll::Ready(op) => assert_eq!(op.recv(&rx), Some(2)),
        Poll::Pending => panic!("select not ready"),
    };
}

#[test]
fn threads_ping_pong() {
    let (tx1, rx1) = goro::chan::<u32>(0);
    let (tx2, rx2) = goro::chan::<u32>(0);
    let t = thread::spawn(move || {
        while let Some(v) = rx1.recv_blocking() {
            tx2.send_blocking(v + 1).unwrap();
        }
    });
    for i in 0..1000 {
        tx1.send_blocking(i).unwrap();
        assert_eq!(rx2.recv_blocking(), Some(i + 1));
    }
    drop(tx1);
    t.join().unwrap();
}

#[test]
fn tokio_tasks_and_threads_share_a_channel() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (tx, rx) = goro::chan::<u64>(4);
    let n = 2000u64;
    let mut handles = Vec::new();
    for p in 0..2 {
        let tx = tx.clone();
        handles.push(rt.spawn(async move {
            for i in 0..n {
                tx.send(p * n + i).await.unwrap();
            }
        }));
    }
    let tx3 = tx.clone();
    let th = thread::spawn(move || {
        for i in 0..n {
            tx3.send_blocking(2 * n + i).unwrap();
        }
    });
    drop(tx);
    let rx2 = rx.clone();
    let consumer = rt.spawn(async move {
        let mut sum = 0u64;
        let mut count = 0;
        while let Some(v) = rx2.recv().await {
            sum += v;
            count += 1;
        }
        (sum, count)
    });
    let mut sum = 0u64;
    let mut count = 0;
    for v in rx.iter() {
        sum += v;
        count += 1;
    }
    th.join().unwrap();
    let (s2, c2) = rt.block_on(consumer).unwrap();
    for h in handles {
        rt.block_on(h).unwrap();
    }
    let total = 3 * n;
    assert_eq!(count + c2, total);
    assert_eq!(sum + s2, total * (total - 1) / 2);
}

#[test]
fn stream_impl() {
    use futures::StreamExt;
    let (tx, rx) = goro::chan::<i32>(0);
    thread::spawn(move || {
        for i in 0..5 {
            tx.send_blocking(i).unwrap();
        }
    });
    let v: Vec<i32> = block_on(rx.collect());
    assert_eq!(v, [0, 1, 2, 3, 4]);
}

#[test]
fn never_is_never_ready() {
    let rx = goro::chan::never::<i32>();
    let w = Arc::new(CountWaker::default());
    let mut r = pin!(rx.recv());
    assert!(poll_once(r.as_mut(), &w).is_pending());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!rx.close());
    assert!(!rx.is_closed());
    let v = block_on(async {
        goro::select! {
            recv(rx) -> _ => 1,
            default => 2,
        }
    });
    assert_eq!(v, 2);
}

#[test]
fn select_macro_basics() {
    block_on(async {
        let (tx, rx) = goro::chan::<i32>(1);
        let (tx2, rx2) = goro::chan::<i32>(0);
        // Send arm ready (buffer room), recv arm not.
        let r = goro::select! {
            send(tx, 1) -> res => { res.unwrap(); "sent" }
            recv(rx2) -> _ => "recv",
        };
        assert_eq!(r, "sent");
        // Now the buffer is full: only the recv on rx is ready.
        let r = goro::select! {
            send(tx, 2) -> _ => 0,
            recv(rx) -> v => v.unwrap(),
        };
        assert_eq!(r, 1);
        // default when nothing ready.
        let r = goro::select! {
            recv(rx2) -> _ => 0,
            default => 9,
        };
        assert_eq!(r, 9);
        // closed channel is ready.
        drop(tx2);
        let r = goro::select! {
            recv(rx2) -> v => v,
        };
        assert_eq!(r, None);
        // break / continue / ? in bodies.
        let mut n = 0;
        loop {
            n += 1;
            goro::select! {
                send(tx, n) => { if n < 3 { let _ = rx.recv().await; continue; } break; }
            }
        }
        assert_eq!(n, 3);
        let f = || async {
            let (_t, r) = goro::chan::<i32>(0);
            drop(_t);
            goro::select! {
                recv(r) -> v => { v.ok_or("closed")?; }
            }
            Ok::<(), &str>(())
        };
        assert_eq!(f().await, Err("closed"));
    });
}

#[test]
fn select_blocking_with_threads() {
    let (tx, rx) = goro::chan::<i32>(0);
    let (qtx, qrx) = goro::chan::<()>(0);
    let t = thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            goro::select_blocking! {
                recv(rx) -> v => got.push(v.unwrap()),
                recv(qrx) -> _ => break,
            }
        }
        got
    });
    for i in 0..100 {
        tx.send_blocking(i).unwrap();
    }
    drop(qtx);
    assert_eq!(t.join().unwrap(), (0..100).collect::<Vec<_>>());
}

#[test]
fn select_send_value_dropped_when_not_chosen() {
    let item = Arc::new(());
    let (tx, _rx) = goro::chan::<Arc<()>>(0);
    let (tx2, rx2) = goro::chan::<i32>(1);
    tx2.send_blocking(1).unwrap();
    let got = goro::select_blocking! {
        send(tx, item.clone()) => None,
        recv(rx2) -> v => v,
    };
    assert_eq!(got, Some(1));
    assert_eq!(Arc::strong_count(&item), 1);
}

#[test]
fn select_duplicate_channel_does_not_pair_with_itself() {
    let (tx, rx) = goro::chan::<i32>(0);
    let w = Arc::new(CountWaker::default());
    let mut sel = Select::new();
    sel.recv(&rx);
    sel.send(&tx, 1);
    let mut f = pin!(sel.select());
    assert!(poll_once(f.as_mut(), &w).is_pending());
    // Another receiver takes the select's send.
    assert_eq!(rx.try_recv(), Ok(1));
    match poll_once(f.as_mut(), &w) {
        Poll::Ready(op) => {
            assert_eq!(op.index(), 1);
            assert_eq!(op.send(&tx), Ok(()));
        }
        Poll::Pending => panic!("not ready"),
    };
}

#[test]
fn dropped_select_takes_nothing() {
    let (tx, rx) = goro::chan::<i32>(0);
    let (tx2, rx2) = goro::chan::<i32>(1);
    let w = Arc::new(CountWaker::default());
    {
        let mut sel = Select::new();
        sel.recv(&rx);
        sel.recv(&rx2);
        let mut f = pin!(sel.select());
        assert!(poll_once(f.as_mut(), &w).is_pending());
        // A value is handed to the select, which is then dropped unpolled.
        tx2.try_send(5).unwrap();
    }
    assert_eq!(rx2.try_recv(), Ok(5));
    assert_eq!(
        tx.try_send(1),
        Err(TrySendError::Full(1)),
        "no receiver left"
    );
}

#[test]
fn empty_select_is_pending_forever() {
    let w = Arc::new(CountWaker::default());
    let mut f = pin!(async {
        goro::select! {}
    });
    assert!(poll_once(f.as_mut(), &w).is_pending());
    let v = block_on(async {
        goro::select! { default => 3 }
    });
    assert_eq!(v, 3);
}

#[test]
fn select_dynamic_try_select() {
    let (tx, rx) = goro::chan::<i32>(2);
    let mut sel = Select::new();
    sel.recv(&rx);
    sel.send(&tx, 4);
    let op = sel.try_select().unwrap();
    assert_eq!(op.index(), 1);
    assert_eq!(op.send(&tx), Ok(()));
    assert_eq!(rx.try_recv(), Ok(4));
}

#[test]
fn errors_display() {
    assert_eq!(SendError(1).to_string(), "send on closed channel");
    assert_eq!(TrySendError::Full(1).to_string(), "send on full channel");
    assert_eq!(
        TryRecvError::Closed.to_string(),
        "receive on closed channel"
    );
    fn is_error<E: std::error::Error>(_: &E) {}
    is_error(&SendError(1));
    is_error(&TrySendError::Closed(1));
    is_error(&TryRecvError::Empty);
}

#[test]
fn send_sync_assertions() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<chan::Sender<std::cell::Cell<u8>>>();
    send_sync::<chan::Receiver<std::cell::Cell<u8>>>();
}
