//! Stress: many producers and consumers on buffered and rendezvous
//! channels, selects cancelled at random by a timeout, tokio tasks and std
//! threads on the same channels. Every value must be received exactly
//! once. Sizes scale with `GORO_STRESS` (default 1).

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    task::Poll,
    thread,
    time::Duration,
};

mod common;
use common::{scale, Seen};

fn threads_mpmc(cap: usize) {
    let per = 5_000 * scale();
    let (p, c) = (4, 4);
    let seen = Seen::new(per * p);
    let (tx, rx) = goro::chan::<usize>(cap);
    let mut hs = Vec::new();
    for i in 0..p {
        let tx = tx.clone();
        hs.push(thread::spawn(move || {
            for j in 0..per {
                tx.send_blocking(i * per + j).unwrap();
            }
        }));
    }
    drop(tx);
    let mut cs = Vec::new();
    for _ in 0..c {
        let rx = rx.clone();
        let seen = seen.clone();
        cs.push(thread::spawn(move || {
            for v in rx.iter() {
                seen.mark(v);
            }
        }));
    }
    drop(rx);
    for h in hs.into_iter().chain(cs) {
        h.join().unwrap();
    }
    seen.assert_all_once();
}

#[test]
fn threads_mpmc_buffered() {
    threads_mpmc(16);
}

#[test]
fn threads_mpmc_rendezvous() {
    threads_mpmc(0);
}

/// Consumers select over two channels under a random tiny timeout (the
/// select future is dropped mid-way); producers are tokio tasks and std
/// threads. Nothing may be lost or duplicated.
fn cancelled_selects(cap: usize) {
    let per = 2_000 * scale();
    let producers = 4;
    let total = per * producers;
    let seen = Seen::new(total);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let (tx_a, rx_a) = goro::chan::<usize>(cap);
    let (tx_b, rx_b) = goro::chan::<usize>(cap);
    let received = Arc::new(AtomicUsize::new(0));
    let timeouts = Arc::new(AtomicUsize::new(0));

    let mut tasks = Vec::new();
    for c in 0..3 {
        let (rx_a, rx_b) = (rx_a.clone(), rx_b.clone());
        let seen = seen.clone();
        let received = received.clone();
        let timeouts = timeouts.clone();
        tasks.push(rt.spawn(async move {
            let mut k = c as u64;
            loop {
                k = k
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = if c == 0 {
                    // Cancelled by a timer.
                    let d = Duration::from_micros((k >> 33) % 50);
                    tokio::time::timeout(d, async {
                        goro::select! {
                            recv(rx_a) -> v => v,
                            recv(rx_b) -> v => v,
                        }
                    })
                    .await
                    .map_err(|_| ())
                } else {
                    // Polled once or twice, then dropped mid-way.
                    let mut fut = std::pin::pin!(async {
                        goro::select! {
                            recv(rx_a) -> v => v,
                            recv(rx_b) -> v => v,
                        }
                    });
                    match futures::poll!(fut.as_mut()) {
                        Poll::Ready(v) => Ok(v),
                        Poll::Pending => {
                            tokio::task::yield_now().await;
                            if (k >> 40) % 2 == 0 {
                                tokio::task::yield_now().await;
                            }
                            match futures::poll!(fut.as_mut()) {
                                Poll::Ready(v) => Ok(v),
                                Poll::Pending => Err(()),
                            }
                        }
                    }
                };
                match r {
                    Ok(Some(v)) => {
                        seen.mark(v);
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(None) => {
                        // One channel closed: drain the other plainly.
                        while let Some(v) = rx_a.recv().await {
                            seen.mark(v);
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                        while let Some(v) = rx_b.recv().await {
                            seen.mark(v);
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                        return;
                    }
                    Err(_) => {
                        timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    // A consumer thread with plain blocking receives and cancelled recv().
    let th_consumer = {
        let rx_a = rx_a.clone();
        let seen = seen.clone();
        let received = received.clone();
        thread::spawn(move || {
            while let Some(v) = rx_a.recv_blocking() {
                seen.mark(v);
                received.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    drop((rx_a, rx_b));

    let mut threads = Vec::new();
    for p in 0..producers {
        let tx = if p % 2 == 0 {
            tx_a.clone()
        } else {
            tx_b.clone()
        };
        if p < 2 {
            tasks.push(rt.spawn(async move {
                for j in 0..per {
                    tx.send(p * per + j).await.unwrap();
                }
            }));
        } else {
            threads.push(thread::spawn(move || {
                for j in 0..per {
                    tx.send_blocking(p * per + j).unwrap();
                }
            }));
        }
    }
    drop((tx_a, tx_b));
    for t in threads {
        t.join().unwrap();
    }
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    th_consumer.join().unwrap();
    assert_eq!(received.load(Ordering::Relaxed), total);
    eprintln!(
        "cap {cap}: {} select timeouts",
        timeouts.load(Ordering::Relaxed)
    );
    seen.assert_all_once();
}

#[test]
fn cancelled_selects_buffered() {
    cancelled_selects(8);
}

#[test]
fn cancelled_selects_rendezvous() {
    cancelled_selects(0);
}

/// Cancelled sends: a send select dropped by a timeout either completed
/// (the value was received) or sent nothing; nothing is received twice and
/// every send that reported success is received.
#[test]
fn cancelled_send_selects() {
    let n = 3_000 * scale();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let seen = Seen::new(n);
    let (tx, rx) = goro::chan::<usize>(0);
    let (tx2, rx2) = goro::chan::<usize>(1);
    let consumer = {
        let seen = seen.clone();
        thread::spawn(move || {
            let mut got = 0;
            loop {
                let v = goro::select_blocking! {
                    recv(rx) -> v => v,
                    recv(rx2) -> v => v,
                };
                match v {
                    Some(v) => {
                        seen.mark(v);
                        got += 1;
                    }
                    None => break,
                }
            }
            got + rx
                .iter()
                .chain(rx2.iter())
                .inspect(|&v| seen.mark(v))
                .count()
        })
    };
    let confirmed = rt.block_on(async move {
        let mut confirmed = Vec::new();
        for v in 0..n {
            let r = tokio::time::timeout(Duration::from_micros((v % 7) as u64 * 10), async {
                goro::select! {
                    send(tx, v) -> r => r,
                    send(tx2, v) -> r => r,
                }
            })
            .await;
            if let Ok(r) = r {
                r.unwrap();
                confirmed.push(v);
            }
        }
        confirmed
    });
    let got = consumer.join().unwrap();
    assert!(got >= confirmed.len());
    for v in confirmed {
        assert_eq!(seen.count(v), 1, "confirmed {v} not received");
    }
}

#[test]
fn select_fairness_two_ready_arms() {
    let (tx_a, rx_a) = goro::chan::<u8>(1);
    let (tx_b, rx_b) = goro::chan::<u8>(1);
    tx_a.send_blocking(0).unwrap();
    tx_b.send_blocking(1).unwrap();
    let n = 100_000;
    let mut wins = [0usize; 2];
    for _ in 0..n {
        let i = goro::select_blocking! {
            recv(rx_a) -> v => v.unwrap(),
            recv(rx_b) -> v => v.unwrap(),
        };
        wins[i as usize] += 1;
        if i == 0 { &tx_a } else { &tx_b }.try_send(i).unwrap();
    }
    for w in wins {
        let share = w as f64 / n as f64;
        assert!((0.45..=0.55).contains(&share), "unfair: {wins:?}");
    }
}

#[test]
fn select_fairness_three_ready_arms_dynamic() {
    let chans: Vec<_> = (0..3).map(|_| goro::chan::<usize>(1)).collect();
    for (i, (tx, _)) in chans.iter().enumerate() {
        tx.try_send(i).unwrap();
    }
    let n = 30_000;
    let mut wins = [0usize; 3];
    for _ in 0..n {
        let mut sel = goro::chan::Select::new();
        for (_, rx) in &chans {
            sel.recv(rx);
        }
        let op = sel.select_blocking();
        let i = op.index();
        let v = op.recv(&chans[i].1).unwrap();
        assert_eq!(v, i);
        wins[i] += 1;
        chans[i].0.try_send(i).unwrap();
    }
    for w in wins {
        let share = w as f64 / n as f64;
        assert!((0.30..=0.37).contains(&share), "unfair: {wins:?}");
    }
}
