//! goro: `chan/*`.

use std::time::Instant;

use super::join;
use crate::chan::{
    pool_sum, producer_values, sum_below, SelectCheck, CAP, MPMC, MPMC_SIDES, PINGPONG,
    POOL_WORKERS, SELECT_ARMS, SELECT_PER_PRODUCER, THREAD_SCALE, WORKER_POOL,
};
use crate::workload::{ns_per, side, Cfg, Outcome};

pub(crate) fn pingpong(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PINGPONG.0, PINGPONG.1);
    super::run(cfg, move || async move {
        let (ping_tx, ping_rx) = goro::chan::<u64>(0);
        let (pong_tx, pong_rx) = goro::chan::<u64>(0);
        let echo = goro::go(async move {
            while let Some(v) = ping_rx.recv().await {
                assert!(pong_tx.send(v + 1).await.is_ok());
            }
        });
        let start = Instant::now();
        let mut v = 0;
        for _ in 0..n {
            assert!(ping_tx.send(v).await.is_ok());
            v = pong_rx.recv().await.expect("pong");
        }
        let elapsed = start.elapsed();
        ping_tx.close();
        join(echo).await;
        assert_eq!(v, n as u64);
        ns_per(elapsed, n)
    })
}

/// `send_blocking`/`recv_blocking` between two OS threads, no runtime: the
/// twin of `pingpong_crossbeam` (same threads, same 1/10 of the round trips).
pub(crate) fn pingpong_blocking(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PINGPONG.0 / THREAD_SCALE, PINGPONG.1 / THREAD_SCALE);
    let (ping_tx, ping_rx) = goro::chan::<u64>(0);
    let (pong_tx, pong_rx) = goro::chan::<u64>(0);
    let echo = std::thread::spawn(move || {
        while let Some(v) = ping_rx.recv_blocking() {
            assert!(pong_tx.send_blocking(v + 1).is_ok());
        }
    });
    let start = Instant::now();
    let mut v = 0;
    for _ in 0..n {
        assert!(ping_tx.send_blocking(v).is_ok());
        v = pong_rx.recv_blocking().expect("pong");
    }
    let elapsed = start.elapsed();
    ping_tx.close();
    echo.join().unwrap();
    assert_eq!(v, n as u64);
    ns_per(elapsed, n)
}

pub(crate) fn mpmc(cfg: &Cfg) -> Outcome {
    let n = cfg.n(MPMC.0, MPMC.1);
    super::run(cfg, move || async move {
        let start = Instant::now();
        let (tx, rx) = goro::chan::<u64>(CAP);
        let consumers: Vec<_> = (0..MPMC_SIDES)
            .map(|_| {
                let rx = rx.clone();
                goro::go(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        let producers: Vec<_> = (0..MPMC_SIDES)
            .map(|p| {
                let tx = tx.clone();
                goro::go(async move {
                    for v in producer_values(p, MPMC_SIDES, n) {
                        assert!(tx.send(v).await.is_ok());
                    }
                })
            })
            .collect();
        for p in producers {
            join(p).await;
        }
        let locks = tx.lock_acquisitions();
        tx.close();
        let mut total = 0;
        for c in consumers {
            total += join(c).await;
        }
        let elapsed = start.elapsed();
        assert_eq!(total, sum_below(n));
        side("locks/msg", locks as f64 / n as f64);
        ns_per(elapsed, n)
    })
}

/// Go's select over four channels; a closed channel's arm is replaced by a
/// never-ready receiver, Go's nil-channel idiom.
pub(crate) fn select4(cfg: &Cfg) -> Outcome {
    let per = cfg.n(SELECT_PER_PRODUCER.0, SELECT_PER_PRODUCER.1);
    super::run(cfg, move || async move {
        let start = Instant::now();
        let mut rxs = Vec::new();
        for _ in 0..SELECT_ARMS {
            let (tx, rx) = goro::chan::<u64>(CAP);
            goro::go(async move {
                for seq in 0..per as u64 {
                    assert!(tx.send(seq).await.is_ok());
                }
                tx.close();
            });
            rxs.push(rx);
        }
        let mut open = SELECT_ARMS;
        let mut locks = 0;
        let mut check = SelectCheck::new();
        while open > 0 {
            let mut closed = None;
            goro::select! {
                recv(rxs[0]) -> v => match v { Some(seq) => check.got(0, seq), None => closed = Some(0) },
                recv(rxs[1]) -> v => match v { Some(seq) => check.got(1, seq), None => closed = Some(1) },
                recv(rxs[2]) -> v => match v { Some(seq) => check.got(2, seq), None => closed = Some(2) },
                recv(rxs[3]) -> v => match v { Some(seq) => check.got(3, seq), None => closed = Some(3) },
            }
            if let Some(arm) = closed {
                locks += rxs[arm].lock_acquisitions();
                rxs[arm] = goro::chan::never::<u64>();
                open -= 1;
            }
        }
        let elapsed = start.elapsed();
        check.assert_complete(per);
        side("locks/msg", locks as f64 / (SELECT_ARMS * per) as f64);
        ns_per(elapsed, SELECT_ARMS * per)
    })
}

pub(crate) fn worker_pool(cfg: &Cfg) -> Outcome {
    let n = cfg.n(WORKER_POOL.0, WORKER_POOL.1);
    super::run(cfg, move || async move {
        let start = Instant::now();
        let (jobs_tx, jobs_rx) = goro::chan::<u64>(CAP);
        let (res_tx, res_rx) = goro::chan::<u64>(CAP);
        let jobs_probe = jobs_rx.clone();
        goro::go(async move {
            for x in 0..n as u64 {
                assert!(jobs_tx.send(x).await.is_ok());
            }
            jobs_tx.close();
        });
        let workers: Vec<_> = (0..POOL_WORKERS)
            .map(|_| {
                let jobs = jobs_rx.clone();
                let res = res_tx.clone();
                goro::go(async move {
                    while let Some(x) = jobs.recv().await {
                        assert!(res.send(x * 2).await.is_ok());
                    }
                })
            })
            .collect();
        let mut sum = 0;
        for _ in 0..n {
            sum += res_rx.recv().await.expect("a result");
        }
        for w in workers {
            join(w).await;
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, pool_sum(n));
        // Both channels' locks per job (each job is one message on each).
        let locks = jobs_probe.lock_acquisitions() + res_rx.lock_acquisitions();
        side("locks/msg", locks as f64 / n as f64);
        ns_per(elapsed, n)
    })
}
