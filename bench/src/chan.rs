//! `chan/*`: channel hand-off, fan-in/fan-out, select and a worker pool.
//!
//! The async channel crates run on the same tokio runtime as the tokio impls
//! (`cfg.procs` workers); crossbeam-channel is blocking, so its impls use OS
//! threads, and so does flume's `Selector` (it only blocks a thread).

use std::sync::Arc;
use std::time::Instant;

use crate::rt;
use crate::workload::{ns_per, Cfg, Outcome, Unit, Workload};

/// Sizes (full, quick). The Go twin's sizes.go holds the same numbers.
pub const PINGPONG: (usize, usize) = (1_000_000, 100_000);
pub const MPMC: (usize, usize) = (1_000_000, 100_000);
pub const SELECT_PER_PRODUCER: (usize, usize) = (250_000, 25_000);
pub const WORKER_POOL: (usize, usize) = (1_000_000, 100_000);

/// Capacity of the buffered channels of mpmc_4x4, select4 and worker_pool.
pub const CAP: usize = 128;
pub const MPMC_SIDES: usize = 4;
pub const SELECT_ARMS: usize = 4;
pub const POOL_WORKERS: usize = 8;
/// The few implementations that take microseconds per operation run
/// 1/THREAD_SCALE of the size (said in the workload's note).
pub const THREAD_SCALE: usize = 10;

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload::new(
            "chan/pingpong_unbuffered",
            Unit::NsPerOp,
            "two tasks bounce a counter through two rendezvous channels; ns per round trip \
             (tokio mpsc and async-channel have no capacity 0: capacity 1; \
             crossbeam on two OS threads runs 1/10 of the round trips; goro_blocking: \
             send_blocking/recv_blocking on two OS threads, no runtime, as crossbeam's)",
        )
        .with("tokio", pingpong_tokio)
        .with("crossbeam", pingpong_crossbeam)
        .with("flume", pingpong_flume)
        .with("kanal", pingpong_kanal)
        .with("async-channel", pingpong_async_channel),
        Workload::new(
            "chan/mpmc_4x4",
            Unit::NsPerOp,
            "4 producers, 4 consumers, one channel of capacity 128; ns per message \
             (tokio mpsc is single-consumer: the 4 consumers share the Receiver behind a tokio Mutex; \
             crossbeam on 8 threads); goro's channel-lock acquisitions per message beside it (locks/msg)",
        )
        .with("tokio", mpmc_tokio)
        .with("crossbeam", mpmc_crossbeam)
        .with("flume", mpmc_flume)
        .with("kanal", mpmc_kanal)
        .with("async-channel", mpmc_async_channel),
        Workload::new(
            "chan/select4",
            Unit::NsPerOp,
            "one consumer selects over 4 channels (cap 128) fed by 4 producers until all close; \
             ns per message; per-producer order checked (tokio/kanal/async-channel via tokio::select!, \
             crossbeam Select and flume Selector on threads, flume with 1/10 of the messages; LOST n = messages a dropped recv future lost); \
             goro's lock acquisitions of the 4 channels per message beside it (locks/msg)",
        )
        .with("tokio", select_tokio)
        .with("crossbeam", select_crossbeam)
        .with("flume", select_flume)
        .with("kanal", select_kanal)
        .with("async-channel", select_async_channel),
        Workload::new(
            "chan/worker_pool",
            Unit::NsPerOp,
            "a feeder, 8 workers pulling from one jobs channel (cap 128) and pushing x*2 into \
             a results channel (cap 128), main sums; ns per job (tokio: jobs receiver behind a tokio Mutex); \
             goro's lock acquisitions of both channels per job beside it (locks/msg)",
        )
        .with("tokio", pool_tokio)
        .with("crossbeam", pool_crossbeam)
        .with("flume", pool_flume)
        .with("kanal", pool_kanal)
        .with("async-channel", pool_async_channel),
    ]
}

/// The sum of `0..n`.
pub fn sum_below(n: usize) -> u64 {
    (n as u64) * (n as u64).saturating_sub(1) / 2
}

// ---- chan/pingpong_unbuffered -------------------------------------------------

fn pingpong_tokio(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PINGPONG.0, PINGPONG.1);
    rt::tokio(cfg, move || async move {
        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
        let echo = tokio::spawn(async move {
            while let Some(v) = ping_rx.recv().await {
                pong_tx.send(v + 1).await.unwrap();
            }
        });
        let start = Instant::now();
        let mut v = 0;
        for _ in 0..n {
            ping_tx.send(v).await.unwrap();
            v = pong_rx.recv().await.unwrap();
        }
        let elapsed = start.elapsed();
        drop(ping_tx);
        echo.await.unwrap();
        assert_eq!(v, n as u64);
        ns_per(elapsed, n)
    })
}

fn pingpong_crossbeam(cfg: &Cfg) -> Outcome {
    // A hand-off between two OS threads costs ~10 µs here (futex wake-ups):
    // a tenth of the round trips keeps the run short; ns per op is unchanged.
    let n = cfg.n(PINGPONG.0 / THREAD_SCALE, PINGPONG.1 / THREAD_SCALE);
    let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u64>(0);
    let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u64>(0);
    let echo = std::thread::spawn(move || {
        for v in ping_rx {
            pong_tx.send(v + 1).unwrap();
        }
    });
    let start = Instant::now();
    let mut v = 0;
    for _ in 0..n {
        ping_tx.send(v).unwrap();
        v = pong_rx.recv().unwrap();
    }
    let elapsed = start.elapsed();
    drop(ping_tx);
    echo.join().unwrap();
    assert_eq!(v, n as u64);
    ns_per(elapsed, n)
}

fn pingpong_flume(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PINGPONG.0, PINGPONG.1);
    rt::tokio(cfg, move || async move {
        let (ping_tx, ping_rx) = flume::bounded::<u64>(0);
        let (pong_tx, pong_rx) = flume::bounded::<u64>(0);
        let echo = tokio::spawn(async move {
            while let Ok(v) = ping_rx.recv_async().await {
                pong_tx.send_async(v + 1).await.unwrap();
            }
        });
        let start = Instant::now();
        let mut v = 0;
        for _ in 0..n {
            ping_tx.send_async(v).await.unwrap();
            v = pong_rx.recv_async().await.unwrap();
        }
        let elapsed = start.elapsed();
        drop(ping_tx);
        echo.await.unwrap();
        assert_eq!(v, n as u64);
        ns_per(elapsed, n)
    })
}

fn pingpong_kanal(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PINGPONG.0, PINGPONG.1);
    rt::tokio(cfg, move || async move {
        let (ping_tx, ping_rx) = kanal::bounded_async::<u64>(0);
        let (pong_tx, pong_rx) = kanal::bounded_async::<u64>(0);
        let echo = tokio::spawn(async move {
            while let Ok(v) = ping_rx.recv().await {
                pong_tx.send(v + 1).await.unwrap();
            }
        });
        let start = Instant::now();
        let mut v = 0;
        for _ in 0..n {
            ping_tx.send(v).await.unwrap();
            v = pong_rx.recv().await.unwrap();
        }
        let elapsed = start.elapsed();
        drop(ping_tx);
        echo.await.unwrap();
        assert_eq!(v, n as u64);
        ns_per(elapsed, n)
    })
}

fn pingpong_async_channel(cfg: &Cfg) -> Outcome {
    let n = cfg.n(PINGPONG.0, PINGPONG.1);
    rt::tokio(cfg, move || async move {
        let (ping_tx, ping_rx) = async_channel::bounded::<u64>(1);
        let (pong_tx, pong_rx) = async_channel::bounded::<u64>(1);
        let echo = tokio::spawn(async move {
            while let Ok(v) = ping_rx.recv().await {
                pong_tx.send(v + 1).await.unwrap();
            }
        });
        let start = Instant::now();
        let mut v = 0;
        for _ in 0..n {
            ping_tx.send(v).await.unwrap();
            v = pong_rx.recv().await.unwrap();
        }
        let elapsed = start.elapsed();
        drop(ping_tx);
        echo.await.unwrap();
        assert_eq!(v, n as u64);
        ns_per(elapsed, n)
    })
}

// ---- chan/mpmc_4x4 ------------------------------------------------------------

/// The values producer `p` of `sides` sends: `p, p + sides, p + 2*sides, ...`
/// below `n`, so that all producers together send `0..n` once.
pub fn producer_values(p: usize, sides: usize, n: usize) -> impl Iterator<Item = u64> {
    (p..n).step_by(sides).map(|v| v as u64)
}

fn mpmc_tokio(cfg: &Cfg) -> Outcome {
    let n = cfg.n(MPMC.0, MPMC.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let (tx, rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let consumers: Vec<_> = (0..MPMC_SIDES)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    loop {
                        let v = rx.lock().await.recv().await;
                        match v {
                            Some(v) => sum += v,
                            None => return sum,
                        }
                    }
                })
            })
            .collect();
        for p in 0..MPMC_SIDES {
            let tx = tx.clone();
            tokio::spawn(async move {
                for v in producer_values(p, MPMC_SIDES, n) {
                    tx.send(v).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut total = 0;
        for c in consumers {
            total += c.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(total, sum_below(n));
        ns_per(elapsed, n)
    })
}

fn mpmc_crossbeam(cfg: &Cfg) -> Outcome {
    let n = cfg.n(MPMC.0, MPMC.1);
    let start = Instant::now();
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAP);
    let consumers: Vec<_> = (0..MPMC_SIDES)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || rx.iter().sum::<u64>())
        })
        .collect();
    drop(rx);
    for p in 0..MPMC_SIDES {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for v in producer_values(p, MPMC_SIDES, n) {
                tx.send(v).unwrap();
            }
        });
    }
    drop(tx);
    let total: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    let elapsed = start.elapsed();
    assert_eq!(total, sum_below(n));
    ns_per(elapsed, n)
}

fn mpmc_flume(cfg: &Cfg) -> Outcome {
    let n = cfg.n(MPMC.0, MPMC.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let (tx, rx) = flume::bounded::<u64>(CAP);
        let consumers: Vec<_> = (0..MPMC_SIDES)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = rx.recv_async().await {
                        sum += v;
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        for p in 0..MPMC_SIDES {
            let tx = tx.clone();
            tokio::spawn(async move {
                for v in producer_values(p, MPMC_SIDES, n) {
                    tx.send_async(v).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut total = 0;
        for c in consumers {
            total += c.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(total, sum_below(n));
        ns_per(elapsed, n)
    })
}

fn mpmc_kanal(cfg: &Cfg) -> Outcome {
    let n = cfg.n(MPMC.0, MPMC.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let (tx, rx) = kanal::bounded_async::<u64>(CAP);
        let consumers: Vec<_> = (0..MPMC_SIDES)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        for p in 0..MPMC_SIDES {
            let tx = tx.clone();
            tokio::spawn(async move {
                for v in producer_values(p, MPMC_SIDES, n) {
                    tx.send(v).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut total = 0;
        for c in consumers {
            total += c.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(total, sum_below(n));
        ns_per(elapsed, n)
    })
}

fn mpmc_async_channel(cfg: &Cfg) -> Outcome {
    let n = cfg.n(MPMC.0, MPMC.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let (tx, rx) = async_channel::bounded::<u64>(CAP);
        let consumers: Vec<_> = (0..MPMC_SIDES)
            .map(|_| {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                })
            })
            .collect();
        drop(rx);
        for p in 0..MPMC_SIDES {
            let tx = tx.clone();
            tokio::spawn(async move {
                for v in producer_values(p, MPMC_SIDES, n) {
                    tx.send(v).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut total = 0;
        for c in consumers {
            total += c.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(total, sum_below(n));
        ns_per(elapsed, n)
    })
}

// ---- chan/select4 -------------------------------------------------------------

/// Checks what one select consumer received: every producer's sequence
/// `0..per` arrived complete and in order.
pub struct SelectCheck {
    next: [u64; SELECT_ARMS],
    received: usize,
    out_of_order: usize,
}

impl SelectCheck {
    pub fn new() -> Self {
        SelectCheck {
            next: [0; SELECT_ARMS],
            received: 0,
            out_of_order: 0,
        }
    }

    /// Records `seq` received from arm `arm`.
    pub fn got(&mut self, arm: usize, seq: u64) {
        if seq != self.next[arm] {
            self.out_of_order += 1;
        }
        self.next[arm] = seq + 1;
        self.received += 1;
    }

    /// Panics unless exactly `SELECT_ARMS * per` messages arrived in order.
    pub fn assert_complete(&self, per: usize) {
        assert_eq!(self.received, SELECT_ARMS * per, "messages received");
        assert_eq!(self.out_of_order, 0, "messages out of order");
        assert!(
            self.next.iter().all(|&n| n == per as u64),
            "last sequence numbers {:?}",
            self.next
        );
    }

    /// Like `assert_complete`, but reports lost messages as a finding
    /// (for select over recv futures that are not cancel-safe).
    pub fn lost_or_complete(&self, per: usize) -> Result<(), String> {
        let expected = SELECT_ARMS * per;
        if self.received < expected {
            return Err(format!("LOST {}", expected - self.received));
        }
        self.assert_complete(per);
        Ok(())
    }
}

impl Default for SelectCheck {
    fn default() -> Self {
        Self::new()
    }
}

fn select_tokio(cfg: &Cfg) -> Outcome {
    let per = cfg.n(SELECT_PER_PRODUCER.0, SELECT_PER_PRODUCER.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let mut rxs = Vec::new();
        for _ in 0..SELECT_ARMS {
            let (tx, rx) = tokio::sync::mpsc::channel::<u64>(CAP);
            tokio::spawn(async move {
                for seq in 0..per as u64 {
                    tx.send(seq).await.unwrap();
                }
            });
            rxs.push(rx);
        }
        let [mut r0, mut r1, mut r2, mut r3]: [_; 4] = rxs.try_into().unwrap();
        let mut open = [true; SELECT_ARMS];
        let mut check = SelectCheck::new();
        while open.iter().any(|&o| o) {
            let (arm, v) = tokio::select! {
                v = r0.recv(), if open[0] => (0, v),
                v = r1.recv(), if open[1] => (1, v),
                v = r2.recv(), if open[2] => (2, v),
                v = r3.recv(), if open[3] => (3, v),
            };
            match v {
                Some(seq) => check.got(arm, seq),
                None => open[arm] = false,
            }
        }
        let elapsed = start.elapsed();
        check.assert_complete(per);
        ns_per(elapsed, SELECT_ARMS * per)
    })
}

fn select_crossbeam(cfg: &Cfg) -> Outcome {
    let per = cfg.n(SELECT_PER_PRODUCER.0, SELECT_PER_PRODUCER.1);
    let start = Instant::now();
    let mut rxs = Vec::new();
    for _ in 0..SELECT_ARMS {
        let (tx, rx) = crossbeam_channel::bounded::<u64>(CAP);
        std::thread::spawn(move || {
            for seq in 0..per as u64 {
                tx.send(seq).unwrap();
            }
        });
        rxs.push(rx);
    }
    let mut sel = crossbeam_channel::Select::new();
    for rx in &rxs {
        sel.recv(rx);
    }
    let mut open = SELECT_ARMS;
    let mut check = SelectCheck::new();
    while open > 0 {
        let op = sel.select();
        let arm = op.index();
        match op.recv(&rxs[arm]) {
            Ok(seq) => check.got(arm, seq),
            Err(_) => {
                sel.remove(arm);
                open -= 1;
            }
        }
    }
    let elapsed = start.elapsed();
    check.assert_complete(per);
    ns_per(elapsed, SELECT_ARMS * per)
}

fn select_flume(cfg: &Cfg) -> Outcome {
    // flume's Selector costs microseconds per message: a tenth of the messages.
    let per = cfg.n(
        SELECT_PER_PRODUCER.0 / THREAD_SCALE,
        SELECT_PER_PRODUCER.1 / THREAD_SCALE,
    );
    let start = Instant::now();
    let mut rxs = Vec::new();
    for _ in 0..SELECT_ARMS {
        let (tx, rx) = flume::bounded::<u64>(CAP);
        std::thread::spawn(move || {
            for seq in 0..per as u64 {
                tx.send(seq).unwrap();
            }
        });
        rxs.push(rx);
    }
    let mut open = [true; SELECT_ARMS];
    let mut check = SelectCheck::new();
    while open.iter().any(|&o| o) {
        let mut sel = flume::Selector::new();
        for (arm, rx) in rxs.iter().enumerate() {
            if open[arm] {
                sel = sel.recv(rx, move |r| (arm, r.ok()));
            }
        }
        match sel.wait() {
            (arm, Some(seq)) => check.got(arm, seq),
            (arm, None) => open[arm] = false,
        }
    }
    let elapsed = start.elapsed();
    check.assert_complete(per);
    ns_per(elapsed, SELECT_ARMS * per)
}

fn select_kanal(cfg: &Cfg) -> Outcome {
    let per = cfg.n(SELECT_PER_PRODUCER.0, SELECT_PER_PRODUCER.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let mut rxs = Vec::new();
        for _ in 0..SELECT_ARMS {
            let (tx, rx) = kanal::bounded_async::<u64>(CAP);
            tokio::spawn(async move {
                for seq in 0..per as u64 {
                    tx.send(seq).await.unwrap();
                }
            });
            rxs.push(rx);
        }
        let [r0, r1, r2, r3]: [_; 4] = rxs.try_into().unwrap();
        let mut open = [true; SELECT_ARMS];
        let mut check = SelectCheck::new();
        while open.iter().any(|&o| o) {
            let (arm, v) = tokio::select! {
                v = r0.recv(), if open[0] => (0, v.ok()),
                v = r1.recv(), if open[1] => (1, v.ok()),
                v = r2.recv(), if open[2] => (2, v.ok()),
                v = r3.recv(), if open[3] => (3, v.ok()),
            };
            match v {
                Some(seq) => check.got(arm, seq),
                None => open[arm] = false,
            }
        }
        let elapsed = start.elapsed();
        check.lost_or_complete(per)?;
        ns_per(elapsed, SELECT_ARMS * per)
    })
}

fn select_async_channel(cfg: &Cfg) -> Outcome {
    let per = cfg.n(SELECT_PER_PRODUCER.0, SELECT_PER_PRODUCER.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let mut rxs = Vec::new();
        for _ in 0..SELECT_ARMS {
            let (tx, rx) = async_channel::bounded::<u64>(CAP);
            tokio::spawn(async move {
                for seq in 0..per as u64 {
                    tx.send(seq).await.unwrap();
                }
            });
            rxs.push(rx);
        }
        let [r0, r1, r2, r3]: [_; 4] = rxs.try_into().unwrap();
        let mut open = [true; SELECT_ARMS];
        let mut check = SelectCheck::new();
        while open.iter().any(|&o| o) {
            let (arm, v) = tokio::select! {
                v = r0.recv(), if open[0] => (0, v.ok()),
                v = r1.recv(), if open[1] => (1, v.ok()),
                v = r2.recv(), if open[2] => (2, v.ok()),
                v = r3.recv(), if open[3] => (3, v.ok()),
            };
            match v {
                Some(seq) => check.got(arm, seq),
                None => open[arm] = false,
            }
        }
        let elapsed = start.elapsed();
        check.assert_complete(per);
        ns_per(elapsed, SELECT_ARMS * per)
    })
}

// ---- chan/worker_pool ---------------------------------------------------------

/// The sum of all results: `sum(2 * x for x in 0..n)`.
pub fn pool_sum(n: usize) -> u64 {
    2 * sum_below(n)
}

fn pool_tokio(cfg: &Cfg) -> Outcome {
    let n = cfg.n(WORKER_POOL.0, WORKER_POOL.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let (jobs_tx, jobs_rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        let (res_tx, mut res_rx) = tokio::sync::mpsc::channel::<u64>(CAP);
        let jobs_rx = Arc::new(tokio::sync::Mutex::new(jobs_rx));
        tokio::spawn(async move {
            for x in 0..n as u64 {
                jobs_tx.send(x).await.unwrap();
            }
        });
        let workers: Vec<_> = (0..POOL_WORKERS)
            .map(|_| {
                let jobs = jobs_rx.clone();
                let res = res_tx.clone();
                tokio::spawn(async move {
                    loop {
                        let job = jobs.lock().await.recv().await;
                        match job {
                            Some(x) => res.send(x * 2).await.unwrap(),
                            None => return,
                        }
                    }
                })
            })
            .collect();
        let mut sum = 0;
        for _ in 0..n {
            sum += res_rx.recv().await.unwrap();
        }
        for w in workers {
            w.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, pool_sum(n));
        ns_per(elapsed, n)
    })
}

fn pool_crossbeam(cfg: &Cfg) -> Outcome {
    let n = cfg.n(WORKER_POOL.0, WORKER_POOL.1);
    let start = Instant::now();
    let (jobs_tx, jobs_rx) = crossbeam_channel::bounded::<u64>(CAP);
    let (res_tx, res_rx) = crossbeam_channel::bounded::<u64>(CAP);
    std::thread::spawn(move || {
        for x in 0..n as u64 {
            jobs_tx.send(x).unwrap();
        }
    });
    let workers: Vec<_> = (0..POOL_WORKERS)
        .map(|_| {
            let jobs = jobs_rx.clone();
            let res = res_tx.clone();
            std::thread::spawn(move || {
                for x in jobs {
                    res.send(x * 2).unwrap();
                }
            })
        })
        .collect();
    let mut sum = 0;
    for _ in 0..n {
        sum += res_rx.recv().unwrap();
    }
    for w in workers {
        w.join().unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, pool_sum(n));
    ns_per(elapsed, n)
}

fn pool_flume(cfg: &Cfg) -> Outcome {
    let n = cfg.n(WORKER_POOL.0, WORKER_POOL.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let (jobs_tx, jobs_rx) = flume::bounded::<u64>(CAP);
        let (res_tx, res_rx) = flume::bounded::<u64>(CAP);
        tokio::spawn(async move {
            for x in 0..n as u64 {
                jobs_tx.send_async(x).await.unwrap();
            }
        });
        let workers: Vec<_> = (0..POOL_WORKERS)
            .map(|_| {
                let jobs = jobs_rx.clone();
                let res = res_tx.clone();
                tokio::spawn(async move {
                    while let Ok(x) = jobs.recv_async().await {
                        res.send_async(x * 2).await.unwrap();
                    }
                })
            })
            .collect();
        let mut sum = 0;
        for _ in 0..n {
            sum += res_rx.recv_async().await.unwrap();
        }
        for w in workers {
            w.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, pool_sum(n));
        ns_per(elapsed, n)
    })
}

fn pool_kanal(cfg: &Cfg) -> Outcome {
    let n = cfg.n(WORKER_POOL.0, WORKER_POOL.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let (jobs_tx, jobs_rx) = kanal::bounded_async::<u64>(CAP);
        let (res_tx, res_rx) = kanal::bounded_async::<u64>(CAP);
        tokio::spawn(async move {
            for x in 0..n as u64 {
                jobs_tx.send(x).await.unwrap();
            }
        });
        let workers: Vec<_> = (0..POOL_WORKERS)
            .map(|_| {
                let jobs = jobs_rx.clone();
                let res = res_tx.clone();
                tokio::spawn(async move {
                    while let Ok(x) = jobs.recv().await {
                        res.send(x * 2).await.unwrap();
                    }
                })
            })
            .collect();
        let mut sum = 0;
        for _ in 0..n {
            sum += res_rx.recv().await.unwrap();
        }
        for w in workers {
            w.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, pool_sum(n));
        ns_per(elapsed, n)
    })
}

fn pool_async_channel(cfg: &Cfg) -> Outcome {
    let n = cfg.n(WORKER_POOL.0, WORKER_POOL.1);
    rt::tokio(cfg, move || async move {
        let start = Instant::now();
        let (jobs_tx, jobs_rx) = async_channel::bounded::<u64>(CAP);
        let (res_tx, res_rx) = async_channel::bounded::<u64>(CAP);
        tokio::spawn(async move {
            for x in 0..n as u64 {
                jobs_tx.send(x).await.unwrap();
            }
        });
        let workers: Vec<_> = (0..POOL_WORKERS)
            .map(|_| {
                let jobs = jobs_rx.clone();
                let res = res_tx.clone();
                tokio::spawn(async move {
                    while let Ok(x) = jobs.recv().await {
                        res.send(x * 2).await.unwrap();
                    }
                })
            })
            .collect();
        let mut sum = 0;
        for _ in 0..n {
            sum += res_rx.recv().await.unwrap();
        }
        for w in workers {
            w.await.unwrap();
        }
        let elapsed = start.elapsed();
        assert_eq!(sum, pool_sum(n));
        ns_per(elapsed, n)
    })
}
