//! Scheduler workloads: what happens to well-behaved goroutines when one
//! goroutine blocks its thread (the mistake sysmon exists for).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::rt;
use crate::workload::{Cfg, Outcome, Unit, Workload};

/// Well-behaved goroutines, each sleeping to the next multiple of `PERIOD`.
pub const GOOD: usize = 1_000;
/// Their tick period.
pub const PERIOD: Duration = Duration::from_millis(1);
/// How long the bad goroutine blocks its thread each time.
pub const BAD_BLOCK: Duration = Duration::from_millis(100);
/// How long the workload runs, in ms {full, quick} (bench/go/sizes.go too).
pub const RUN_MS: (usize, usize) = (3_000, 1_000);

pub fn workloads() -> Vec<Workload> {
    vec![Workload::new(
        "sched/one_bad_goroutine",
        Unit::MaxLatencyUs,
        "1,000 goroutines each sleeping to the next 1 ms tick while one goroutine blocks its \
         thread (std::thread::sleep / Go: syscall.Nanosleep) for 100 ms, over and over; \
         worst lateness of any tick",
    )
    .with("tokio", one_bad_goroutine_tokio)]
}

/// The schedule every implementation follows: start a little in the
/// future, run until `end`.
pub fn window(cfg: &Cfg) -> (Instant, Instant) {
    let start = Instant::now() + Duration::from_millis(20);
    let run = Duration::from_millis(cfg.n(RUN_MS.0, RUN_MS.1) as u64);
    (start, start + run)
}

/// The next tick after a late wake-up at `now` (missed ticks are skipped).
pub fn next_tick(mut deadline: Instant, now: Instant) -> Instant {
    deadline += PERIOD;
    while deadline <= now {
        deadline += PERIOD;
    }
    deadline
}

/// The result: worst lateness in µs, and a check that every goroutine
/// ticked and the bad one really blocked.
pub fn outcome(worst: &[(Duration, usize)], blocks: usize) -> Outcome {
    assert_eq!(worst.len(), GOOD);
    assert!(
        worst.iter().all(|&(_, ticks)| ticks > 0),
        "a goroutine never ticked"
    );
    assert!(blocks > 0, "the bad goroutine never blocked");
    let w = worst.iter().map(|&(d, _)| d).max().unwrap_or_default();
    Ok(w.as_secs_f64() * 1e6)
}

fn one_bad_goroutine_tokio(cfg: &Cfg) -> Outcome {
    let (start, end) = window(cfg);
    rt::tokio(cfg, move || async move {
        let good: Vec<_> = (0..GOOD)
            .map(|_| {
                tokio::spawn(async move {
                    let mut deadline = start + PERIOD;
                    let (mut worst, mut ticks) = (Duration::ZERO, 0);
                    while deadline < end {
                        tokio::time::sleep_until(deadline.into()).await;
                        let now = Instant::now();
                        worst = worst.max(now - deadline);
                        ticks += 1;
                        deadline = next_tick(deadline, now);
                    }
                    (worst, ticks)
                })
            })
            .collect();
        let blocks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let b2 = blocks.clone();
        let bad = tokio::spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            while Instant::now() < end {
                std::thread::sleep(BAD_BLOCK);
                b2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        });
        let mut worst = Vec::with_capacity(GOOD);
        for h in good {
            worst.push(h.await.expect("good task"));
        }
        bad.await.expect("bad task");
        outcome(&worst, blocks.load(std::sync::atomic::Ordering::Relaxed))
    })
}
