//! The runtime core: spawning, joining, work spreading, panics, abort,
//! goroutine counting, shutdown, blocking pool, idle CPU.

mod common;

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc, Mutex,
    },
    time::Duration,
};

fn rt(procs: usize) -> goro::Runtime {
    goro::Runtime::builder().procs(procs).build().unwrap()
}

/// Scale for stress sizes: `GORO_STRESS=10` runs ten times more.
fn scale(n: usize) -> usize {
    let k: usize = std::env::var("GORO_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    n * k.max(1)
}

#[test]
fn spawn_and_join_100k() {
    let n = scale(100_000);
    let sum = rt(2).block_on(async move {
        let handles: Vec<_> = (0..n)
            .map(|i| goro::go(async move { i as u64 * 2 }))
            .collect();
        let mut sum = 0u64;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    let n = n as u64;
    assert_eq!(sum, n * (n - 1));
}

#[test]
fn goroutines_spawning_goroutines() {
    // A tree: each goroutine spawns 4 children down to depth 6 (5461 in all).
    fn node(depth: u32) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>> {
        Box::pin(async move {
            if depth == 0 {
                return 1;
            }
            let kids: Vec<_> = (0..4).map(|_| goro::go(node(depth - 1))).collect();
            let mut n = 1;
            for k in kids {
                n += k.await.unwrap();
            }
            n
        })
    }
    let n = rt(4).block_on(node(6));
    assert_eq!(n, (4u64.pow(7) - 1) / 3);
}

#[test]
fn work_is_spread_across_all_procs() {
    let procs = 4;
    let rt = rt(procs);
    rt.block_on(async {
        let handles: Vec<_> = (0..2_000)
            .map(|_| {
                goro::go(async {
                    // A little work each, so that idle workers steal.
                    let mut x = 0u64;
                    for i in 0..20_000u64 {
                        x = x.wrapping_mul(31).wrapping_add(i);
                    }
                    std::hint::black_box(x);
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    });
    let stats = rt.stats();
    assert_eq!(stats.workers.len(), procs);
    for (i, w) in stats.workers.iter().enumerate() {
        assert!(w.polls > 0, "worker {i} ran no goroutine: {stats:?}");
    }
}

/// Spins (never yielding its worker) until `done` is set, for at most
/// ten seconds.
fn spin_until(done: &AtomicBool, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done.load(SeqCst) {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: never ran while its worker was busy"
        );
        std::hint::spin_loop();
    }
}

// Idle workers take only the work its owner is not keeping up with (new
// work at once, goroutines woken by the running one once they have waited
// a while; runtime/worker.rs). Either way nothing queued behind a busy
// goroutine may wait for that goroutine's poll to end. Without sysmon,
// which would otherwise hand a stuck worker's queue over.

fn two_procs_without_sysmon() -> goro::Runtime {
    goro::Runtime::builder()
        .procs(2)
        .sysmon(false)
        .build()
        .unwrap()
}

#[test]
fn a_goroutine_spawned_behind_a_busy_one_runs_on_an_idle_worker() {
    two_procs_without_sysmon().block_on(async {
        goro::go(async {
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let child = goro::go(async move { r.store(true, SeqCst) });
            spin_until(&ran, "the spawned goroutine");
            child.await.unwrap();
        })
        .await
        .unwrap();
    });
}

#[test]
fn goroutines_woken_behind_a_busy_one_run_on_an_idle_worker() {
    two_procs_without_sysmon().block_on(async {
        goro::go(async {
            // Three parked receivers (buffered channels: a send hands the
            // value over without waiting), woken in turn by one goroutine that
            // then keeps its worker: the last one woken waits in its
            // `runnext`, the others in its ring.
            let mut woken = Vec::new();
            let mut txs = Vec::new();
            let mut handles = Vec::new();
            for _ in 0..3 {
                let (tx, rx) = goro::chan::<()>(1);
                let flag = Arc::new(AtomicBool::new(false));
                let f = flag.clone();
                handles.push(goro::go(async move {
                    rx.recv().await.unwrap();
                    f.store(true, SeqCst);
                }));
                txs.push(tx);
                woken.push(flag);
            }
            goro::time::sleep(Duration::from_millis(20)).await;
            for tx in &txs {
                tx.send(()).await.unwrap();
            }
            spin_until(&woken[0], "the first woken goroutine");
            spin_until(&woken[1], "the second woken goroutine");
            for h in handles {
                h.await.unwrap();
            }
        })
        .await
        .unwrap();
    });
}

#[test]
fn a_panic_does_not_stop_the_others() {
    rt(2).block_on(async {
        let bad = goro::go(async { panic!("boom") });
        let good: Vec<_> = (0..100).map(|i| goro::go(async move { i })).collect();
        let err = bad.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("boom"));
        let s: i32 = {
            let mut s = 0;
            for h in good {
                s += h.await.unwrap();
            }
            s
        };
        assert_eq!(s, 4950);
        // A detached panic is reported and the runtime goes on.
        drop(goro::go(async { panic!("detached") }));
        goro::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(goro::go(async { 5 }).await.unwrap(), 5);
    });
}

struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

#[test]
fn abort_drops_the_future() {
    rt(2).block_on(async {
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = SetOnDrop(dropped.clone());
        let h = goro::go(async move {
            let _g = guard;
            std::future::pending::<()>().await;
        });
        goro::time::sleep(Duration::from_millis(5)).await;
        assert!(!h.is_finished());
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(dropped.load(SeqCst));
    });
}

#[test]
fn abort_before_first_poll_and_after_finish() {
    rt(1).block_on(async {
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = goro::go(async move { r.store(true, SeqCst) });
        h.abort();
        // Either it ran before the abort landed or it was cancelled.
        match h.await {
            Ok(()) => assert!(ran.load(SeqCst)),
            Err(e) => assert!(e.is_cancelled()),
        }
        let h = goro::go(async { 3 });
        goro::time::sleep(Duration::from_millis(5)).await;
        assert!(h.is_finished());
        h.abort();
        assert_eq!(h.await.unwrap(), 3);
    });
}

#[test]
fn num_goroutine_counts_exactly() {
    rt(2).block_on(async {
        assert_eq!(goro::num_goroutine(), 1);
        let gate = Arc::new(goro_gate::Gate::default());
        let hs: Vec<_> = (0..10)
            .map(|_| {
                let g = gate.clone();
                goro::go(async move { g.wait().await })
            })
            .collect();
        assert_eq!(goro::num_goroutine(), 11);
        gate.open();
        for h in hs {
            h.await.unwrap();
        }
        assert_eq!(goro::num_goroutine(), 1);
    });
}

#[test]
fn shutdown_runs_destructors_of_blocked_goroutines() {
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    {
        let rt = rt(2);
        let d = dropped.clone();
        rt.block_on(async move {
            for _ in 0..50 {
                let c = Count(d.clone());
                goro::go(async move {
                    let _c = c;
                    std::future::pending::<()>().await;
                });
            }
            // Some sleep forever on a timer too.
            for _ in 0..50 {
                let c = Count(d.clone());
                goro::go(async move {
                    let _c = c;
                    goro::time::sleep(Duration::from_secs(3600)).await;
                });
            }
            goro::time::sleep(Duration::from_millis(10)).await;
            assert_eq!(goro::num_goroutine(), 101);
        });
        assert_eq!(dropped.load(SeqCst), 0);
    }
    assert_eq!(dropped.load(SeqCst), 100);
}

#[test]
fn run_drops_goroutines_when_main_returns() {
    let dropped = Arc::new(AtomicBool::new(false));
    let d = dropped.clone();
    goro::run(async move {
        let g = SetOnDrop(d);
        goro::go(async move {
            let _g = g;
            std::future::pending::<()>().await
        });
    });
    assert!(dropped.load(SeqCst));
}

#[test]
fn yield_now_lets_others_run_on_one_proc() {
    rt(1).block_on(async {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let spinner = goro::go(async move {
            let mut spins = 0u64;
            while !f.load(SeqCst) {
                goro::yield_now().await;
                spins += 1;
            }
            spins
        });
        let setter = goro::go({
            let flag = flag.clone();
            async move { flag.store(true, SeqCst) }
        });
        setter.await.unwrap();
        assert!(spinner.await.unwrap() >= 1);
    });
}

#[test]
fn spawn_blocking_runs_off_the_workers() {
    rt(1).block_on(async {
        // A blocking call does not stop goroutines on the only worker.
        let (tx, rx) = std::sync::mpsc::channel::<u32>();
        let b = goro::spawn_blocking(move || rx.recv().unwrap() * 2);
        let g = goro::go(async move {
            tx.send(21).unwrap();
        });
        g.await.unwrap();
        assert_eq!(b.await.unwrap(), 42);
        let p = goro::spawn_blocking(|| panic!("in blocking"));
        assert!(p.await.unwrap_err().is_panic());
    });
}

#[test]
fn go_outside_a_runtime_panics_with_a_clear_message() {
    let r = std::panic::catch_unwind(|| goro::go(async {}));
    let msg = r.unwrap_err();
    let msg = msg.downcast_ref::<&str>().copied().unwrap_or("");
    assert!(msg.contains("outside a goro runtime"), "{msg}");
}

#[test]
fn block_on_inside_a_goroutine_panics() {
    rt(1).block_on(async {
        let h = goro::go(async {
            let rt2 = goro::Runtime::builder().procs(1).build().unwrap();
            rt2.block_on(async {});
        });
        assert!(h.await.unwrap_err().is_panic());
    });
}

#[test]
fn several_runtimes_at_once_on_several_threads() {
    let ts: Vec<_> = (0..4)
        .map(|k| {
            std::thread::spawn(move || {
                rt(2).block_on(async move {
                    let hs: Vec<_> = (0..1000).map(|i| goro::go(async move { i + k })).collect();
                    let mut s = 0;
                    for h in hs {
                        s += h.await.unwrap();
                    }
                    assert_eq!(goro::num_goroutine(), 1);
                    s
                })
            })
        })
        .collect();
    for (k, t) in ts.into_iter().enumerate() {
        assert_eq!(t.join().unwrap(), 499_500 + 1000 * k);
    }
}

#[test]
fn procs_and_gomaxprocs() {
    let rt = rt(3);
    assert_eq!(rt.procs(), 3);
    assert_eq!(rt.block_on(async { goro::procs() }), 3);
    assert!(goro::procs() >= 1);
}

#[test]
fn join_handle_from_another_executor() {
    let rt = rt(2);
    let h = rt.go(async { 7 });
    // Awaited on a foreign executor (futures' block_on) and a std thread.
    assert_eq!(futures::executor::block_on(h).unwrap(), 7);
}

#[cfg(target_os = "linux")]
#[test]
fn an_idle_runtime_uses_no_cpu() {
    let rt = goro::Runtime::builder()
        .procs(2)
        .thread_name("idlecheck")
        .build()
        .unwrap();
    rt.block_on(async {
        // Warm up, then go idle.
        let hs: Vec<_> = (0..1000).map(|i| goro::go(async move { i })).collect();
        for h in hs {
            h.await.unwrap();
        }
        // Block a worker long enough for sysmon to start a replacement
        // thread, which must go quiet too.
        goro::go(async { std::thread::sleep(Duration::from_millis(40)) })
            .await
            .unwrap();
        let hs: Vec<_> = (0..100).map(|i| goro::go(async move { i })).collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    // Sysmon's thread and the replacement are among those measured.
    let names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path().join("comm")).unwrap_or_default())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("idlecheck-sysmo")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("idlecheck-helpe")),
        "{names:?}"
    );
    // Let sysmon notice the end of the blocked poll and settle.
    std::thread::sleep(Duration::from_millis(100));
    let before = common::cpu_ticks("idlecheck");
    std::thread::sleep(Duration::from_millis(500));
    let used = common::cpu_ticks("idlecheck") - before;
    // Clock ticks are 10 ms: an idle runtime should use none or one.
    assert!(used <= 2, "idle runtime used {used} ticks of CPU in 500 ms");
}

/// A tiny gate built on the runtime alone (the channel package has its own
/// tests): goroutines wait until `open`.
mod goro_gate {
    use std::{
        future::Future,
        pin::Pin,
        sync::Mutex,
        task::{Context, Poll, Waker},
    };

    #[derive(Default)]
    pub(crate) struct Gate {
        inner: Mutex<(bool, Vec<Waker>)>,
    }

    impl Gate {
        pub(crate) fn open(&self) {
            let ws = {
                let mut g = self.inner.lock().unwrap();
                g.0 = true;
                std::mem::take(&mut g.1)
            };
            for w in ws {
                w.wake();
            }
        }
        pub(crate) fn wait(&self) -> Wait<'_> {
            Wait(self)
        }
    }

    pub(crate) struct Wait<'a>(&'a Gate);
    impl Future for Wait<'_> {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            let mut g = self.0.inner.lock().unwrap();
            if g.0 {
                Poll::Ready(())
            } else {
                g.1.push(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A one-slot signal: `notify` sets it and wakes the waiter.
#[derive(Default)]
struct Signal(Mutex<(bool, Option<std::task::Waker>)>);

impl Signal {
    fn notify(&self) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = true;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut g = self.0.lock().unwrap();
            if std::mem::replace(&mut g.0, false) {
                std::task::Poll::Ready(())
            } else {
                g.1 = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }
}

#[test]
fn two_goroutines_waking_each_other_cannot_starve_a_third() {
    // On one proc, A and B hand the worker to each other through runnext
    // forever; C, queued behind them, must still get to run.
    rt(1).block_on(async {
        let a = Arc::new(Signal::default());
        let b = Arc::new(Signal::default());
        let stop = Arc::new(AtomicBool::new(false));
        let ping = {
            let (a, b, stop) = (a.clone(), b.clone(), stop.clone());
            goro::go(async move {
                let mut n = 0u64;
                while !stop.load(SeqCst) {
                    b.notify();
                    a.wait().await;
                    n += 1;
                }
                b.notify();
                n
            })
        };
        let pong = {
            let (a, b, stop) = (a.clone(), b.clone(), stop.clone());
            goro::go(async move {
                while !stop.load(SeqCst) {
                    b.wait().await;
                    a.notify();
                }
                a.notify();
            })
        };
        // Let the ping-pong start, then queue C behind it.
        std::thread::sleep(Duration::from_millis(20));
        let s = stop.clone();
        let c = goro::go(async move { s.store(true, SeqCst) });
        let r = goro::time::timeout(Duration::from_secs(10), c).await;
        assert!(r.is_ok(), "the third goroutine was starved");
        stop.store(true, SeqCst);
        assert!(ping.await.unwrap() > 0);
        pong.await.unwrap();
    });
}

#[test]
fn a_goroutine_whose_channel_is_always_ready_cannot_starve_another() {
    // On one proc: a goroutine receives from a closed channel in a loop
    // (always ready, never Pending) until a flag is set by a goroutine
    // queued behind it. The cooperative budget makes the first one yield.
    rt(1).block_on(async {
        let (tx, rx) = goro::chan::<()>(0);
        drop(tx);
        let stop = Arc::new(AtomicBool::new(false));
        let spinner = {
            let stop = stop.clone();
            goro::go(async move {
                let mut n = 0u64;
                while !stop.load(SeqCst) {
                    goro::select! {
                        recv(rx) -> v => assert!(v.is_none()),
                    }
                    n += 1;
                }
                n
            })
        };
        std::thread::sleep(Duration::from_millis(10));
        let s = stop.clone();
        goro::go(async move { s.store(true, SeqCst) })
            .await
            .unwrap();
        assert!(spinner.await.unwrap() > 0);
    });
}

#[test]
fn a_goroutine_spawned_by_main_runs_while_main_blocks_its_thread() {
    rt(1).block_on(async {
        let (tx, rx) = goro::chan::<u32>(0);
        goro::go(async move { tx.send(42).await.unwrap() });
        // main blocks its OS thread, not returning to the runtime.
        assert_eq!(rx.recv_blocking(), Some(42));
    });
}
