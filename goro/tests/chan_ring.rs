//! Stress for the buffer of buffered channels (`chan/ring.rs`): sends and
//! receives take no lock while nobody waits, and the lock holder freezes
//! the ring. Every way in and out of a channel at once — `send().await`,
//! `try_send`, `send_blocking` from a thread, `recv().await`, `try_recv`,
//! a `select!` with `default`, receives dropped after one poll, the
//! `Stream` — on small capacities where the ring is full or empty all the
//! time and fast and locked operations meet at every step. Every value is
//! received exactly once, and each consumer sees each producer's values
//! in the order they were sent — unless receives are dropped: a value
//! handed to a receive that is then dropped goes back to the front of the
//! channel, after other receivers may have taken later values (`chan/core.rs`,
//! "Why give values back?").

use std::{
    pin::pin,
    sync::{atomic::Ordering, Arc},
    task::Poll,
};

use futures::StreamExt;

const PRODUCERS: usize = 4;

mod common;
use common::Seen;

/// A consumer's check: values of each producer arrive in order.
struct Order {
    per: usize,
    last: [Option<usize>; PRODUCERS],
    seen: Arc<Seen>,
    got: usize,
    /// Whether to check each producer's order (no receive is dropped).
    ordered: bool,
}

impl Order {
    fn got(&mut self, v: usize) {
        self.seen.mark(v);
        let (p, j) = (v / self.per, v % self.per);
        if let (true, Some(prev)) = (self.ordered, self.last[p]) {
            assert!(j > prev, "producer {p}: {j} after {prev}");
        }
        self.last[p] = Some(j);
        self.got += 1;
    }
}

fn mixed(cap: usize, per: usize, drop_receives: bool) {
    let seen = Seen::new(PRODUCERS * per);
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    let total = rt.block_on({
        let seen = seen.clone();
        async move {
            let (tx, rx) = goro::chan::<usize>(cap);
            let mut consumers = Vec::new();
            for c in 0..4 {
                let mut rx = rx.clone();
                let mut order = Order {
                    per,
                    last: [None; PRODUCERS],
                    seen: seen.clone(),
                    got: 0,
                    ordered: !drop_receives,
                };
                consumers.push(goro::go(async move {
                    let mut k = c as u64 + 1;
                    loop {
                        k = k
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let v = match c {
                            0 => rx.recv().await,
                            1 => match rx.try_recv() {
                                Ok(v) => Some(v),
                                Err(goro::chan::TryRecvError::Closed) => None,
                                Err(goro::chan::TryRecvError::Empty) => {
                                    goro::yield_now().await;
                                    continue;
                                }
                            },
                            2 if !drop_receives => goro::select! {
                                recv(rx) -> v => v,
                                recv(goro::chan::never::<()>()) -> _ => unreachable!(),
                            },
                            2 => {
                                // Polled once, then dropped if not ready:
                                // a value handed to it goes back first.
                                let mut f = pin!(rx.recv());
                                match futures::poll!(f.as_mut()) {
                                    Poll::Ready(v) => v,
                                    Poll::Pending if k >> 62 == 0 => {
                                        goro::yield_now().await;
                                        continue;
                                    }
                                    Poll::Pending => f.await,
                                }
                            }
                            _ => {
                                if k >> 63 == 0 {
                                    rx.next().await
                                } else {
                                    goro::select! {
                                        recv(rx) -> v => v,
                                        default => {
                                            goro::yield_now().await;
                                            continue;
                                        }
                                    }
                                }
                            }
                        };
                        match v {
                            Some(v) => order.got(v),
                            None => return order.got,
                        }
                        if k % 7 == 0 {
                            // Go's len(ch): the buffer, never above cap
                            // by more than the values given back.
                            assert!(rx.len() <= cap + 4);
                        }
                    }
                }));
            }
            drop(rx);
            let mut producers = Vec::new();
            for p in 0..PRODUCERS {
                let tx = tx.clone();
                let values = (0..per).map(move |j| p * per + j);
                match p {
                    0 => producers.push(goro::go(async move {
                        for v in values {
                            tx.send(v).await.unwrap();
                        }
                    })),
                    1 => producers.push(goro::go(async move {
                        for mut v in values {
                            loop {
                                match tx.try_send(v) {
                                    Ok(()) => break,
                                    Err(goro::chan::TrySendError::Full(back)) => {
                                        v = back;
                                        goro::yield_now().await;
                                    }
                                    Err(e) => panic!("{e:?}"),
                                }
                            }
                        }
                    })),
                    2 => producers.push(goro::go(async move {
                        for v in values {
                            goro::select! {
                                send(tx, v) -> r => r.unwrap(),
                            }
                        }
                    })),
                    _ => producers.push(goro::spawn_blocking(move || {
                        for v in values {
                            tx.send_blocking(v).unwrap();
                        }
                    })),
                }
            }
            drop(tx);
            for p in producers {
                p.await.unwrap();
            }
            let mut total = 0;
            for c in consumers {
                total += c.await.unwrap();
            }
            total
        }
    });
    assert_eq!(total, PRODUCERS * per, "cap {cap}");
    for v in 0..PRODUCERS * per {
        assert_eq!(seen.count(v), 1, "cap {cap}: value {v}");
    }
}

#[test]
fn mixed_operations_cap_1() {
    mixed(1, 20_000, false);
    mixed(1, 20_000, true);
}

#[test]
fn mixed_operations_cap_2() {
    mixed(2, 20_000, false);
    mixed(2, 20_000, true);
}

#[test]
fn mixed_operations_cap_3() {
    mixed(3, 20_000, false);
    mixed(3, 20_000, true);
}

#[test]
fn mixed_operations_cap_128() {
    mixed(128, 50_000, false);
    mixed(128, 50_000, true);
}

/// Above the ring's largest size the buffer is a locked deque: the same
/// operations, the same results.
#[test]
fn mixed_operations_beyond_the_ring() {
    mixed((1 << 16) + 1, 20_000, false);
    mixed((1 << 16) + 1, 20_000, true);
}

/// Threads only, no runtime: every fast operation races the others on two
/// cores, with `len()` (which locks and freezes) read all the while.
#[test]
fn threads_hammer_a_small_ring() {
    let per = 100_000;
    let (tx, rx) = goro::chan::<usize>(2);
    let seen = Seen::new(PRODUCERS * per);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for j in 0..per {
                    tx.send_blocking(p * per + j).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            let mut order = Order {
                per,
                last: [None; PRODUCERS],
                seen: seen.clone(),
                got: 0,
                ordered: true,
            };
            std::thread::spawn(move || {
                while let Some(v) = rx.recv_blocking() {
                    order.got(v);
                    assert!(rx.len() <= 2);
                }
                order.got
            })
        })
        .collect();
    drop(rx);
    for p in producers {
        p.join().unwrap();
    }
    let total: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(total, PRODUCERS * per);
}

/// Values left in the ring when the last handle goes are dropped once.
#[test]
fn values_left_in_the_ring_are_dropped() {
    let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    struct D(Arc<std::sync::atomic::AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    // Dropped with the channel (sender last).
    let (tx, rx) = goro::chan::<D>(8);
    for _ in 0..5 {
        assert!(tx.try_send(D(drops.clone())).is_ok());
    }
    drop(rx.try_recv().unwrap());
    drop(rx);
    assert_eq!(drops.load(Ordering::Relaxed), 5, "receiver gone: drained");
    drop(tx);
    // Dropped with the channel (receiver kept, senders gone).
    let (tx, rx) = goro::chan::<D>(4);
    for _ in 0..4 {
        assert!(tx.try_send(D(drops.clone())).is_ok());
    }
    drop(tx);
    assert_eq!(drops.load(Ordering::Relaxed), 5);
    drop(rx);
    assert_eq!(drops.load(Ordering::Relaxed), 9);
}

/// The lock-free claim, checked by the channel's own counter: sends into
/// a buffer with room and receives from one holding values (awaited,
/// tried, or through `select!`) take no lock while nobody waits; a
/// receiver that must wait does.
#[test]
fn ready_operations_take_no_lock() {
    goro::run(async {
        let (tx, rx) = goro::chan::<u64>(64);
        let before = tx.lock_acquisitions();
        for round in 0..1_000u64 {
            for i in 0..64 {
                match i % 3 {
                    0 => tx.send(round * 64 + i).await.unwrap(),
                    1 => tx.try_send(round * 64 + i).unwrap(),
                    _ => goro::select! {
                        send(tx, round * 64 + i) -> r => r.unwrap(),
                    },
                }
            }
            for i in 0..64 {
                let v = match i % 3 {
                    0 => rx.recv().await.unwrap(),
                    1 => rx.try_recv().unwrap(),
                    _ => goro::select! {
                        recv(rx) -> v => v.unwrap(),
                    },
                };
                assert_eq!(v, round * 64 + i);
            }
        }
        assert_eq!(tx.lock_acquisitions(), before, "a ready operation locked");

        // Go's `empty()`/`full()` fail-fast: a non-blocking receive from an
        // empty channel, a non-blocking send to a full one, and a select
        // with a default over them settle without the lock while nobody
        // waits.
        let (tx2, rx2) = goro::chan::<u64>(1);
        tx2.send(1).await.unwrap();
        let before2 = tx2.lock_acquisitions();
        for _ in 0..1_000 {
            assert_eq!(rx.try_recv(), Err(goro::chan::TryRecvError::Empty));
            assert!(matches!(
                tx2.try_send(2),
                Err(goro::chan::TrySendError::Full(2))
            ));
            let chosen = goro::select! {
                recv(rx) -> _v => 0,
                send(tx2, 3) -> _r => 1,
                default => 2,
            };
            assert_eq!(chosen, 2);
        }
        assert_eq!(tx.lock_acquisitions(), before, "an empty receive locked");
        assert_eq!(tx2.lock_acquisitions(), before2, "a full send locked");
        assert_eq!(rx2.recv().await, Some(1));

        // A receiver that finds nothing takes the lock to wait.
        let waiter = goro::go({
            let rx = rx.clone();
            async move { rx.recv().await }
        });
        while tx.lock_acquisitions() == before {
            goro::yield_now().await;
        }
        tx.send(7).await.unwrap();
        assert_eq!(waiter.await.unwrap(), Some(7));
        assert!(rx.lock_acquisitions() > before);
    });
}
