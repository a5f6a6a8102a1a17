//! Sync, lesson 4: errgroup — goroutines that can fail, with a limit.
//!
//! `golang.org/x/sync/errgroup`: `g.Go(f)` runs `f` in a goroutine,
//! `g.Wait()` waits for all of them and returns the first error, and
//! `g.SetLimit(n)` caps how many run at once (`g.Go` then waits for a free
//! slot). `errgroup.WithContext` also gives a context that is cancelled as
//! soon as one goroutine fails, so the others can stop early.
//! goro's `goro::errgroup::Group` is the same; `g.go(fut).await` is async
//! because, with a limit, it waits for a slot as Go's `g.Go` blocks.
//!
//! Run: `cargo run --example errgroup_limit`

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use goro::{context, errgroup::Group};

#[goro::main]
async fn main() {
    // --- A limit of 3: ten jobs, never more than three running.
    let g = Group::<String>::new();
    g.set_limit(Some(3));
    let running = Arc::new(AtomicUsize::new(0));
    let max_running = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    for job in 0..10 {
        let (running, max_running) = (running.clone(), max_running.clone());
        // Waits here while three jobs are running.
        g.go(async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            max_running.fetch_max(now, Ordering::SeqCst);
            goro::time::sleep(Duration::from_millis(10)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            if job == 6 {
                return Err(format!("job {job} failed"));
            }
            Ok(())
        })
        .await;
    }
    let res = g.wait().await;
    let max = max_running.load(Ordering::SeqCst);
    println!(
        "10 jobs of 10 ms, limit 3: at most {max} ran at once, {:.2?} in all; wait() = {res:?}",
        start.elapsed()
    );
    assert!(max <= 3, "the limit was exceeded: {max}");
    assert_eq!(max, 3, "the jobs did run concurrently");
    assert_eq!(res, Err("job 6 failed".to_string()));

    // --- The first error wins; later ones are dropped.
    let g = Group::<&str>::new();
    for (delay, err) in [(30, "third"), (10, "first"), (20, "second")] {
        g.go(async move {
            goro::time::sleep(Duration::from_millis(delay)).await;
            Err(err)
        })
        .await;
    }
    let res = g.wait().await;
    println!("three jobs fail at 10, 20, 30 ms: wait() = {res:?}");
    assert_eq!(res, Err("first"));

    // --- with_context: the first failure cancels the others' context.
    let (g, ctx) = Group::<String>::with_context(&context::background());
    let stopped_early = Arc::new(AtomicUsize::new(0));
    for id in 0..4 {
        let (ctx, stopped_early) = (ctx.clone(), stopped_early.clone());
        g.go(async move {
            // A long job that gives up when the group's context is done.
            let done = ctx.done();
            goro::select! {
                recv(goro::time::after(Duration::from_secs(10))) => Ok(()),
                recv(done) => {
                    stopped_early.fetch_add(1, Ordering::SeqCst);
                    println!("  job {id}: cancelled ({})", ctx.err().unwrap());
                    Err(format!("job {id}: {}", ctx.err().unwrap()))
                }
            }
        })
        .await;
    }
    g.go(async {
        goro::time::sleep(Duration::from_millis(10)).await;
        Err("fetch failed".to_string())
    })
    .await;
    let t = Instant::now();
    let res = g.wait().await;
    println!("with_context: wait() = {res:?} after {:.2?}", t.elapsed());
    assert_eq!(res, Err("fetch failed".to_string()));
    assert_eq!(stopped_early.load(Ordering::SeqCst), 4);
    assert_eq!(ctx.err(), Some(context::ContextError::Canceled));
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "the others were not cancelled"
    );
}
