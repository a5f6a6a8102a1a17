//! Channel, select and sync stress tests under a few hundred seeds each
//! (issue 16): seeded scheduling with chaos explores interleavings one
//! seed at a time; every run counts exact outcomes. `GORO_SEEDS=K` runs
//! more (or fewer), `GORO_SEED=n` replays one.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc, Mutex as StdMutex,
    },
    time::Duration,
};

use goro::{
    chan, select,
    sync::{Cond, Mutex, RwMutex, Semaphore, WaitGroup},
};

/// Each value in `0..n` marked once.
struct Seen(StdMutex<Vec<u8>>);

impl Seen {
    fn new(n: usize) -> Arc<Seen> {
        Arc::new(Seen(StdMutex::new(vec![0; n])))
    }
    fn mark(&self, v: usize) {
        self.0.lock().unwrap()[v] += 1;
    }
    fn assert_all_once(&self) {
        let s = self.0.lock().unwrap();
        let bad: Vec<_> = s.iter().enumerate().filter(|(_, c)| **c != 1).collect();
        assert!(bad.is_empty(), "seen not exactly once: {bad:?}");
    }
}

/// 3 producers, 3 consumers (one of them selecting over both channels),
/// every value received exactly once.
async fn mpmc(cap: usize) {
    const PER: usize = 40;
    const PRODUCERS: usize = 3;
    let seen = Seen::new(PER * PRODUCERS);
    let (tx_a, rx_a) = chan::<usize>(cap);
    let (tx_b, rx_b) = chan::<usize>(cap);
    let mut hs = Vec::new();
    for p in 0..PRODUCERS {
        let tx = if p % 2 == 0 {
            tx_a.clone()
        } else {
            tx_b.clone()
        };
        hs.push(goro::go(async move {
            for j in 0..PER {
                tx.send(p * PER + j).await.unwrap();
            }
        }));
    }
    drop((tx_a, tx_b));
    for c in 0..3 {
        let (rx_a, rx_b, seen) = (rx_a.clone(), rx_b.clone(), seen.clone());
        hs.push(goro::go(async move {
            if c == 0 {
                loop {
                    let v = select! {
                        recv(rx_a) -> v => v,
                        recv(rx_b) -> v => v,
                    };
                    match v {
                        Some(v) => seen.mark(v),
                        None => break,
                    }
                }
            }
            while let Some(v) = rx_a.recv().await {
                seen.mark(v);
            }
            while let Some(v) = rx_b.recv().await {
                seen.mark(v);
            }
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    seen.assert_all_once();
}

#[goro::test(seeds = 200, chaos = true)]
async fn seeded_mpmc_buffered() {
    mpmc(4).await;
}

#[goro::test(seeds = 200, chaos = true)]
async fn seeded_mpmc_rendezvous() {
    mpmc(0).await;
}

/// Selects abandoned by a timer arm (on the virtual clock) lose nothing.
#[goro::test(seeds = 200, chaos = true)]
async fn seeded_cancelled_selects_lose_nothing() {
    const N: usize = 60;
    let seen = Seen::new(N);
    let (tx, rx) = chan::<usize>(0);
    let timeouts = Arc::new(AtomicUsize::new(0));
    let producer = goro::go(async move {
        for v in 0..N {
            if v % 7 == 0 {
                goro::time::sleep(Duration::from_micros(30)).await;
            }
            tx.send(v).await.unwrap();
        }
    });
    let consumers: Vec<_> = (0..3u64)
        .map(|c| {
            let (rx, seen, timeouts) = (rx.clone(), seen.clone(), timeouts.clone());
            goro::go(async move {
                loop {
                    select! {
                        recv(rx) -> v => match v {
                            Some(v) => seen.mark(v),
                            None => return,
                        },
                        recv(goro::time::after(Duration::from_micros(10 + c * 7))) -> _ => {
                            timeouts.fetch_add(1, SeqCst);
                        },
                    }
                }
            })
        })
        .collect();
    drop(rx);
    producer.await.unwrap();
    for h in consumers {
        h.await.unwrap();
    }
    seen.assert_all_once();
}

/// Lock futures dropped by a timeout never lose the lock: the total is
/// exact and both locks end up free.
#[goro::test(seeds = 200, chaos = true)]
async fn seeded_cancelled_locks_keep_counts_exact() {
    let m = Arc::new(Mutex::new(0usize));
    let rw = Arc::new(RwMutex::new(0usize));
    let done = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..6usize)
        .map(|i| {
            let (m, rw, done) = (m.clone(), rw.clone(), done.clone());
            goro::go(async move {
                for j in 0..10usize {
                    let d = Duration::from_micros(((i * 31 + j * 17) % 5) as u64);
                    if let Ok(mut g) = goro::time::timeout(d, m.lock()).await {
                        *g += 1;
                        if j % 3 == 0 {
                            goro::time::sleep(Duration::from_micros(2)).await;
                        }
                        drop(g);
                        let mut w = rw.write().await;
                        *w += 1;
                        done.fetch_add(1, SeqCst);
                    } else {
                        let r = rw.read().await;
                        assert!(*r <= 60);
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    let n = done.load(SeqCst);
    assert_eq!(*m.try_lock().expect("mutex left locked"), n);
    assert_eq!(*rw.try_write().expect("rwmutex left locked"), n);
}

/// Semaphore permits all come back after cancelled acquires.
#[goro::test(seeds = 200, chaos = true)]
async fn seeded_semaphore_permits_come_back() {
    let s = Arc::new(Semaphore::new(3));
    let inside = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..6usize)
        .map(|i| {
            let (s, inside) = (s.clone(), inside.clone());
            goro::go(async move {
                for j in 0..8usize {
                    let n = 1 + (i + j) % 2;
                    let d = Duration::from_micros(((i * 13 + j * 7) % 4) as u64);
                    if let Ok(p) = goro::time::timeout(d, s.acquire(n)).await {
                        let now = inside.fetch_add(n, SeqCst) + n;
                        assert!(now <= 3, "{now} permits in use of 3");
                        goro::yield_now().await;
                        inside.fetch_sub(n, SeqCst);
                        drop(p);
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(s.available(), 3);
}

/// WaitGroup rounds and a Cond ping-pong: exact counts, no lost wake-up.
#[goro::test(seeds = 200, chaos = true)]
async fn seeded_waitgroup_and_cond() {
    let count = Arc::new(AtomicUsize::new(0));
    for round in 0..3 {
        let wg = WaitGroup::new();
        for _ in 0..5 {
            wg.add(1);
            let (wg, count) = (wg.clone(), count.clone());
            goro::go(async move {
                count.fetch_add(1, SeqCst);
                wg.done();
            });
        }
        wg.wait().await;
        assert_eq!(count.load(SeqCst), 5 * (round + 1));
    }
    let state = Arc::new((Mutex::new(0u32), Cond::new()));
    let s = state.clone();
    let pong = goro::go(async move {
        let (m, c) = &*s;
        for i in 0..10 {
            let mut g = m.lock().await;
            while *g != 2 * i + 1 {
                g = c.wait(g).await;
            }
            *g += 1;
            c.broadcast();
        }
    });
    let (m, c) = &*state;
    for i in 0..10 {
        let mut g = m.lock().await;
        while *g != 2 * i {
            g = c.wait(g).await;
        }
        *g += 1;
        c.broadcast();
    }
    pong.await.unwrap();
    assert_eq!(*m.lock().await, 20);
}
