//! Issue 15: `goro::runtime::Handle` — capture the runtime, spawn onto it
//! from plain threads and callbacks, `block_on` from a non-runtime thread.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

use goro::runtime::Handle;

fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>(_: &T) {}

#[test]
fn try_current_outside_a_runtime_is_an_error() {
    let e = Handle::try_current().unwrap_err();
    assert!(e.to_string().contains("outside a goro runtime"), "{e}");
    let r = std::panic::catch_unwind(Handle::current);
    assert!(r.is_err());
}

#[test]
fn current_inside_main_goroutine_and_blocking_pool() {
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let h = Handle::current();
        assert_send_sync_clone(&h);
        assert_eq!(h.procs(), 2);
        let from_goroutine = goro::go(async { Handle::try_current().is_ok() });
        assert!(from_goroutine.await.unwrap());
        let from_pool = goro::spawn_blocking(|| Handle::try_current().map(|h| h.procs()));
        assert_eq!(from_pool.await.unwrap().unwrap(), 2);
    });
}

/// A library callback on a foreign thread spawns 1,000 goroutines through
/// a captured handle; every one runs and reports exactly once.
#[goro::test]
async fn go_from_plain_threads() {
    let handle = Handle::current();
    let (tx, rx) = goro::chan::<usize>(16);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (handle, tx) = (handle.clone(), tx.clone());
            std::thread::spawn(move || {
                for i in 0..250 {
                    let tx = tx.clone();
                    handle.go(async move {
                        tx.send(t * 250 + i).await.unwrap();
                    });
                }
            })
        })
        .collect();
    drop(tx);
    let mut seen = vec![false; 1000];
    let mut n = 0;
    while let Some(v) = rx.recv().await {
        assert!(!seen[v], "{v} twice");
        seen[v] = true;
        n += 1;
    }
    assert_eq!(n, 1000);
    for t in threads {
        goro::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
    }
}

/// `spawn_blocking` through a handle from a plain thread, joined there
/// with `block_on`.
#[test]
fn spawn_blocking_and_block_on_from_a_plain_thread() {
    let rt = goro::Runtime::new().unwrap();
    let handle = rt.handle();
    let t = std::thread::spawn(move || {
        let hits = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let hits = hits.clone();
                handle.spawn_blocking(move || hits.fetch_add(1, SeqCst))
            })
            .collect();
        handle.block_on(async move {
            for h in hs {
                h.await.unwrap();
            }
        });
        hits.load(SeqCst)
    });
    assert_eq!(t.join().unwrap(), 8);
}

/// Two threads inside `block_on` at once (the runtime's own and a handle's)
/// while exchanging values over an unbuffered channel.
#[test]
fn block_on_from_two_threads_at_once() {
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    let handle = rt.handle();
    let (tx, rx) = goro::chan::<u32>(0);
    let t = std::thread::spawn(move || {
        handle.block_on(async move {
            let mut sum = 0;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            sum
        })
    });
    rt.block_on(async move {
        for i in 1..=100 {
            tx.send(i).await.unwrap();
        }
    });
    assert_eq!(t.join().unwrap(), 5050);
}

#[test]
fn block_on_inside_a_goroutine_panics() {
    let rt = goro::Runtime::new().unwrap();
    let handle = rt.handle();
    let r = rt.block_on(async move { goro::go(async move { handle.block_on(async { 1 }) }).await });
    let e = r.unwrap_err();
    assert!(e.is_panic());
}

/// Handles outlive the runtime: spawning after it is dropped does not run
/// the future and does not hang the caller.
#[test]
fn go_after_the_runtime_is_dropped_is_cancelled() {
    let rt = goro::Runtime::new().unwrap();
    let handle = rt.handle();
    drop(rt);
    let ran = Arc::new(AtomicUsize::new(0));
    let r2 = ran.clone();
    let h = handle.go(async move {
        r2.fetch_add(1, SeqCst);
    });
    let rt2 = goro::Runtime::new().unwrap();
    let res = rt2.block_on(goro::time::timeout(Duration::from_secs(10), h));
    let joined = res.expect("JoinHandle of a refused spawn must resolve");
    assert!(joined.unwrap_err().is_cancelled());
    assert_eq!(ran.load(SeqCst), 0);
}

#[test]
fn handle_debug() {
    let rt = goro::Runtime::builder().procs(1).build().unwrap();
    let s = format!("{:?}", rt.handle());
    assert!(s.contains("procs: 1"), "{s}");
}

/// `spawn_blocking` through a handle whose runtime is gone resolves
/// (cancelled) instead of leaving its `JoinHandle` pending forever.
#[test]
fn spawn_blocking_after_the_runtime_is_dropped_is_cancelled() {
    let rt = goro::Runtime::new().unwrap();
    let handle = rt.handle();
    drop(rt);
    let ran = Arc::new(AtomicUsize::new(0));
    let r2 = ran.clone();
    let h = handle.spawn_blocking(move || {
        r2.fetch_add(1, SeqCst);
    });
    let rt2 = goro::Runtime::new().unwrap();
    let res = rt2.block_on(goro::time::timeout(Duration::from_secs(10), h));
    let joined = res.expect("JoinHandle of a refused blocking call must resolve");
    assert!(joined.unwrap_err().is_cancelled());
    assert_eq!(ran.load(SeqCst), 0);
}

/// After a plain thread has been inside `Handle::block_on` and left, the
/// runtime's own `block_on` still gets the deadlock report (the report
/// wakes the thread that is inside `block_on`, not the one that left).
#[test]
fn deadlock_reported_after_a_handle_block_on_left() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = goro::Runtime::builder()
            .deadlock_detection(true)
            .build()
            .unwrap();
        let handle = rt.handle();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            goro::testing::run_test(rt, false, async {
                // A second thread enters `block_on` while this one is in,
                // and leaves first.
                let t = std::thread::spawn(move || handle.block_on(async { 1 }));
                let v = goro::spawn_blocking(move || t.join().unwrap()).await;
                assert_eq!(v.unwrap(), 1);
                // The last goroutine to block is on a worker, so the
                // worker (not this thread) finds the deadlock and wakes
                // the main goroutine.
                let (tx, rx) = goro::chan::<()>(0);
                let (_tx2, rx2) = goro::chan::<()>(0);
                let _g = goro::go(async move {
                    goro::time::sleep(Duration::from_millis(20)).await;
                    drop(tx);
                    rx2.recv().await;
                });
                rx.recv().await;
                let (_tx3, rx3) = goro::chan::<()>(0);
                rx3.recv().await;
            })
        }));
        let msg = match r {
            Err(e) => e.downcast_ref::<String>().cloned().unwrap_or_default(),
            Ok(()) => String::from("no panic"),
        };
        let _ = done_tx.send(msg);
    });
    let msg = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the deadlock was not reported: block_on hung");
    assert!(msg.contains("all goroutines are asleep"), "{msg}");
}

/// Plain threads spawn through a handle while the runtime shuts down:
/// nothing hangs or crashes, every `JoinHandle` resolves, and exactly the
/// goroutines that ran report `Ok`.
#[test]
fn go_from_threads_racing_shutdown() {
    let rt2 = goro::Runtime::new().unwrap();
    for round in 0..20 {
        let rt = goro::Runtime::builder().procs(2).build().unwrap();
        let handle = rt.handle();
        let ran = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (handle, ran) = (handle.clone(), ran.clone());
                std::thread::spawn(move || {
                    (0..200)
                        .map(|_| {
                            let ran = ran.clone();
                            handle.go(async move {
                                ran.fetch_add(1, SeqCst);
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_micros(200 * round));
        drop(rt);
        let handles: Vec<_> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let ok = rt2.block_on(goro::time::timeout(Duration::from_secs(20), async move {
            let mut ok = 0;
            for h in handles {
                match h.await {
                    Ok(()) => ok += 1,
                    Err(e) => assert!(e.is_cancelled(), "{e:?}"),
                }
            }
            ok
        }));
        let ok = ok.expect("a JoinHandle never resolved");
        assert_eq!(ok, ran.load(SeqCst), "round {round}");
    }
}

/// The same race with `spawn_blocking`: queued calls are cancelled,
/// running ones finish, and every `JoinHandle` resolves.
#[test]
fn spawn_blocking_from_threads_racing_shutdown() {
    let rt2 = goro::Runtime::new().unwrap();
    for round in 0..20 {
        let rt = goro::Runtime::builder().procs(1).build().unwrap();
        let handle = rt.handle();
        let ran = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (handle, ran) = (handle.clone(), ran.clone());
                std::thread::spawn(move || {
                    (0..50)
                        .map(|_| {
                            let ran = ran.clone();
                            handle.spawn_blocking(move || {
                                ran.fetch_add(1, SeqCst);
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        std::thread::sleep(Duration::from_micros(100 * round));
        drop(rt);
        let handles: Vec<_> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let ok = rt2.block_on(goro::time::timeout(Duration::from_secs(20), async move {
            let mut ok = 0;
            for h in handles {
                match h.await {
                    Ok(()) => ok += 1,
                    Err(e) => assert!(e.is_cancelled(), "{e:?}"),
                }
            }
            ok
        }));
        let ok = ok.expect("a JoinHandle never resolved");
        assert_eq!(ok, ran.load(SeqCst), "round {round}");
    }
}

/// With a paused clock, time jumps only when every goroutine is asleep: a
/// thread busy inside `Handle::block_on` counts as a running main
/// goroutine, so the runtime's own `block_on` sleeping beside it does not
/// make the clock jump.
#[test]
fn paused_clock_waits_for_a_busy_handle_block_on() {
    let rt = goro::Runtime::builder().start_paused(true).build().unwrap();
    let handle = rt.handle();
    let busy_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let b = busy_done.clone();
    let t = std::thread::spawn(move || {
        handle.block_on(async move {
            started_tx.send(()).unwrap();
            // Busy (not a goro wait) for a while.
            std::thread::sleep(Duration::from_millis(300));
            b.store(true, SeqCst);
        })
    });
    started_rx.recv().unwrap();
    rt.block_on(async {
        goro::time::sleep(Duration::from_secs(3600)).await;
    });
    assert!(
        busy_done.load(SeqCst),
        "the clock jumped while another main goroutine was running"
    );
    t.join().unwrap();
}
