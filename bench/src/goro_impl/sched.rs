//! goro's "one bad goroutine" (see `crate::sched`).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::join;
use crate::sched::{next_tick, outcome, window, BAD_BLOCK, GOOD, PERIOD};
use crate::workload::{Cfg, Outcome};

pub(crate) fn one_bad_goroutine(cfg: &Cfg) -> Outcome {
    let (start, end) = window(cfg);
    super::run(cfg, move || async move {
        let good: Vec<_> = (0..GOOD)
            .map(|_| {
                goro::go(async move {
                    let mut deadline = start + PERIOD;
                    let (mut worst, mut ticks) = (Duration::ZERO, 0);
                    while deadline < end {
                        goro::time::sleep_until(deadline).await;
                        let now = Instant::now();
                        worst = worst.max(now - deadline);
                        ticks += 1;
                        deadline = next_tick(deadline, now);
                    }
                    (worst, ticks)
                })
            })
            .collect();
        let blocks = Arc::new(AtomicUsize::new(0));
        let b2 = blocks.clone();
        let bad = goro::go(async move {
            goro::time::sleep_until(start).await;
            while Instant::now() < end {
                std::thread::sleep(BAD_BLOCK);
                b2.fetch_add(1, Relaxed);
                goro::yield_now().await;
            }
        });
        let mut worst = Vec::with_capacity(GOOD);
        for h in good {
            worst.push(join(h).await);
        }
        join(bad).await;
        outcome(&worst, blocks.load(Relaxed))
    })
}
