//! Seeded, replayable scheduling (issue 16 part 1): the same seed replays
//! the same interleaving; different seeds give different ones.

use std::{
    collections::hash_map::DefaultHasher,
    hash::{Hash, Hasher},
    sync::{Arc, Mutex as StdMutex},
    time::Duration,
};

use goro::{chan, select, sync::Mutex};

/// Select choices between two always-ready channels per goroutine, all
/// of them racing: the trace is every (goroutine, choice) in the order they
/// happened, plus goroutine completions, hashed.
fn trace(seed: u64, goroutines: u64, selects: u64, chaos: bool) -> (u64, u64) {
    let rt = goro::Runtime::builder()
        .seed(seed)
        .chaos(chaos)
        .build()
        .unwrap();
    rt.block_on(async move {
        let log = Arc::new(StdMutex::new((DefaultHasher::new(), 0u64)));
        let (done_tx, done_rx) = chan::<u64>(0);
        for g in 0..goroutines {
            let log = log.clone();
            let done_tx = done_tx.clone();
            goro::go(async move {
                let (a_tx, a_rx) = chan::<u64>(1);
                let (b_tx, b_rx) = chan::<u64>(1);
                for i in 0..selects {
                    let _ = a_tx.try_send(i);
                    let _ = b_tx.try_send(i);
                    let choice = select! {
                        recv(a_rx) -> v => 2 * v.unwrap(),
                        recv(b_rx) -> v => 2 * v.unwrap() + 1,
                    };
                    let mut l = log.lock().unwrap();
                    (g, choice).hash(&mut l.0);
                    l.1 += 1;
                }
                done_tx.send(g).await.unwrap();
            });
        }
        drop(done_tx);
        let mut finished = 0;
        while let Some(g) = done_rx.recv().await {
            let mut l = log.lock().unwrap();
            ("done", g).hash(&mut l.0);
            finished += 1;
        }
        assert_eq!(finished, goroutines);
        let l = log.lock().unwrap();
        (l.0.finish(), l.1)
    })
}

#[test]
fn same_seed_same_trace_of_a_million_select_choices() {
    const G: u64 = 10;
    const S: u64 = 100_000;
    let (a, n) = trace(42, G, S, false);
    assert_eq!(n, G * S);
    let (b, m) = trace(42, G, S, false);
    assert_eq!((a, n), (b, m));
}

#[test]
fn different_seeds_different_traces() {
    let traces: Vec<u64> = (0..16).map(|s| trace(s, 4, 200, false).0).collect();
    let mut distinct = traces.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), traces.len(), "{traces:?}");
    // With chaos too, and replayable.
    assert_eq!(trace(5, 4, 200, true), trace(5, 4, 200, true));
    assert_ne!(trace(5, 4, 200, true).0, trace(6, 4, 200, true).0);
}

/// `#[goro::test(seed = N)]` runs on one thread with the virtual clock.
#[goro::test(seed = 7)]
async fn seed_attribute_runs_on_one_thread_with_the_virtual_clock() {
    let me = std::thread::current().id();
    let start = goro::time::now();
    let h = goro::go(async move {
        goro::time::sleep(Duration::from_secs(3600)).await;
        std::thread::current().id()
    });
    assert_eq!(h.await.unwrap(), me);
    assert_eq!(goro::time::now() - start, Duration::from_secs(3600));
    // spawn_blocking: a deterministic stand-in on the same thread.
    let b = goro::spawn_blocking(|| std::thread::current().id());
    assert_eq!(b.await.unwrap(), me);
}

/// `seeds = K` with chaos: a lock-protected counter stays exact under
/// every seed.
#[goro::test(seeds = 50, chaos = true)]
async fn seeds_attribute_counter_exact() {
    let m = Arc::new(Mutex::new(0u32));
    let wg = goro::sync::WaitGroup::new();
    for _ in 0..8 {
        wg.add(1);
        let (m, wg) = (m.clone(), wg.clone());
        goro::go(async move {
            for _ in 0..10 {
                let mut g = m.lock().await;
                let v = *g;
                goro::yield_now().await;
                *g = v + 1;
            }
            wg.done();
        });
    }
    wg.wait().await;
    assert_eq!(*m.lock().await, 80);
}

/// A deadlock under a seed fails the test with Go's message.
#[test]
fn deadlock_under_a_seed_fails_with_gos_message() {
    let f = goro::testing::find_failing_seed([3], false, || async {
        let (_tx, rx) = chan::<()>(0);
        rx.recv().await;
    })
    .expect("deadlock reported");
    assert_eq!(f.seed, 3);
    assert!(
        f.message.contains("all goroutines are asleep - deadlock!"),
        "{}",
        f.message
    );
}

/// A failing seeded test names its seed and the replay command.
#[test]
fn failing_seeded_test_prints_seed_and_replay_command() {
    let r = std::panic::catch_unwind(|| {
        goro::testing::run_seeded_test(
            goro::Builder::new,
            true,
            &[11, 12],
            false,
            "seeded::some_test",
            "goro",
            || async { panic!("boom") },
        )
    });
    let p = r.unwrap_err();
    let msg = p.downcast_ref::<String>().unwrap();
    assert!(msg.starts_with("boom"), "{msg}");
    assert!(
        msg.contains("GORO_SEED=11 cargo test -p goro some_test -- --exact"),
        "{msg}"
    );
}
