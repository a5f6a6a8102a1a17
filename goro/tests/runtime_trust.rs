//! Regression tests for the runtime bugs of issue 11 (each failed before
//! its fix): the cooperative budget leaking into nested blocking waits,
//! the blocking pool serialising dependent calls, shutdown hangs, panicking
//! foreign wakers, a leaked output, sysmon's hand-off of `_blocking` calls
//! on helper threads, and the spawn accounting at shutdown.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        mpsc, Arc, Barrier,
    },
    time::Duration,
};

fn rt(procs: usize) -> goro::Runtime {
    goro::Runtime::builder().procs(procs).build().unwrap()
}

/// Runs `f` on its own thread and fails the test if it has not returned
/// within `secs` (a hang detector; the bound is generous).
fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("hung: no result within {secs} s"),
    }
}

const N: usize = 1000;

/// Live threads of this process whose name starts with `prefix`.
fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm"))
                .unwrap_or_default()
                .starts_with(prefix)
        })
        .count()
}

/// The number of threads named `prefix*`, once it reaches `want` (or after
/// 10 s). A thread names itself when it first runs, so one the kernel has
/// not scheduled yet still carries its parent's name; a thread that died
/// never reaches the count.
fn threads_named_settled(prefix: &str, want: usize) -> usize {
    let t0 = std::time::Instant::now();
    loop {
        let n = threads_named(prefix);
        if n == want || t0.elapsed() > Duration::from_secs(10) {
            return n;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---- item 1: `_blocking` calls past the cooperative budget ----------------

/// Every `_blocking` API, 1000 operations each, inside one poll of a
/// goroutine: the nested wait must not inherit the goroutine's budget.
fn all_blocking_apis() -> usize {
    let mut done = 0;
    let (tx, rx) = goro::chan::<usize>(N);
    for i in 0..N {
        tx.send_blocking(i).unwrap();
    }
    for i in 0..N {
        assert_eq!(rx.recv_blocking(), Some(i));
    }
    done += 2 * N;
    for i in 0..N {
        tx.send_blocking(i).unwrap();
    }
    for (i, v) in rx.iter().take(N).enumerate() {
        assert_eq!(v, i);
    }
    done += N;
    for i in 0..N {
        tx.send_blocking(i).unwrap();
        let v = goro::select_blocking! {
            recv(rx) -> v => v,
        };
        assert_eq!(v, Some(i));
    }
    done += N;
    for i in 0..N {
        let mut sel = goro::chan::Select::new();
        sel.send(&tx, i);
        let op = sel.select_blocking();
        assert_eq!(op.send(&tx), Ok(()));
        let mut sel = goro::chan::Select::new();
        sel.recv(&rx);
        let op = sel.select_blocking();
        assert_eq!(op.recv(&rx), Some(i));
    }
    done += N;
    for i in 0..N {
        futures::executor::block_on(tx.send(i)).unwrap();
        assert_eq!(futures::executor::block_on(rx.recv()), Some(i));
    }
    done += N;
    done
}

#[test]
fn blocking_apis_in_a_goroutine_past_the_budget() {
    let n = within(30, || {
        rt(2).block_on(async { goro::go(async { all_blocking_apis() }).await.unwrap() })
    });
    assert_eq!(n, 6 * N);
}

#[test]
fn blocking_apis_in_spawn_blocking_past_the_budget() {
    let n = within(30, || {
        rt(2).block_on(async { goro::spawn_blocking(all_blocking_apis).await.unwrap() })
    });
    assert_eq!(n, 6 * N);
}

#[test]
fn rx_iter_in_spawn_blocking_fed_by_a_goroutine() {
    let sum = within(30, || {
        rt(2).block_on(async {
            let (tx, rx) = goro::chan::<u64>(0);
            let consumer = goro::spawn_blocking(move || {
                let mut sum = 0;
                let mut n = 0;
                for v in rx.iter() {
                    sum += v;
                    n += 1;
                }
                (n, sum)
            });
            for i in 0..1000u64 {
                tx.send(i).await.unwrap();
            }
            drop(tx);
            consumer.await.unwrap()
        })
    });
    assert_eq!(sum, (1000, 999 * 1000 / 2));
}

// ---- item 2: `try_select` past the budget ----------------------------------

#[test]
fn try_select_past_the_budget_in_one_poll() {
    let n = within(30, || {
        rt(1).block_on(async {
            goro::go(async {
                let (tx, rx) = goro::chan::<usize>(1);
                let mut got = 0;
                for i in 0..N {
                    let mut sel = goro::chan::Select::new();
                    sel.send(&tx, i);
                    let op = sel.try_select().expect("room for one");
                    op.send(&tx).unwrap();
                    let mut sel = goro::chan::Select::new();
                    sel.recv(&rx);
                    let op = sel.try_select().expect("a value is ready");
                    assert_eq!(op.recv(&rx), Some(i));
                    got += 1;
                }
                got
            })
            .await
            .unwrap()
        })
    });
    assert_eq!(n, N);
}

#[test]
fn goroutine_loop_still_yields_after_the_fix() {
    // The budget still works for the goroutine's own awaits: a goroutine
    // receiving from an always-ready channel lets another one run on
    // procs = 1.
    let seen = within(30, || {
        rt(1).block_on(async {
            let flag = Arc::new(AtomicUsize::new(0));
            let f = flag.clone();
            let (tx, rx) = goro::chan::<()>(0);
            drop(tx); // always ready: closed
            let spinner = goro::go(async move {
                let mut spins = 0u64;
                while f.load(SeqCst) == 0 {
                    assert_eq!(rx.recv().await, None);
                    spins += 1;
                }
                spins
            });
            goro::go(async move { flag.store(1, SeqCst) })
                .await
                .unwrap();
            spinner.await.unwrap()
        })
    });
    assert!(seen > 0);
}

// ---- item 3: the blocking pool --------------------------------------------

#[test]
fn four_blocking_calls_meet_at_a_barrier() {
    for _ in 0..20 {
        within(30, || {
            rt(2).block_on(async {
                // One idle pool thread: the first call is handed to it,
                // and the next three must each get a thread of their own.
                goro::spawn_blocking(|| ()).await.unwrap();
                let b = Arc::new(Barrier::new(4));
                let hs: Vec<_> = (0..4)
                    .map(|_| {
                        let b = b.clone();
                        goro::spawn_blocking(move || b.wait().is_leader())
                    })
                    .collect();
                let mut leaders = 0;
                for h in hs {
                    leaders += usize::from(h.await.unwrap());
                }
                assert_eq!(leaders, 1);
            })
        });
    }
}

#[test]
fn recv_blocking_in_one_call_send_blocking_in_the_next() {
    for _ in 0..20 {
        let got = within(30, || {
            rt(2).block_on(async {
                goro::spawn_blocking(|| ()).await.unwrap();
                let (tx, rx) = goro::chan::<u32>(0);
                let r = goro::spawn_blocking(move || rx.recv_blocking());
                let s = goro::spawn_blocking(move || tx.send_blocking(7).is_ok());
                (r.await.unwrap(), s.await.unwrap())
            })
        });
        assert_eq!(got, (Some(7), true));
    }
}

#[test]
fn spawn_blocking_after_shutdown_resolves_cancelled() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (h_tx, h_rx) = mpsc::channel();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let rt = rt(1);
    rt.block_on(async move {
        // A running call outlives the runtime, then spawns another call.
        drop(goro::spawn_blocking(move || {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            let h = goro::spawn_blocking(|| 5);
            h_tx.send(h).unwrap();
        }));
    });
    // Running, not merely queued: a call still queued at shutdown is
    // cancelled without running (as tokio's), which is not this case.
    started_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    drop(rt);
    go_tx.send(()).unwrap();
    let h = h_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let r = within(30, move || futures::executor::block_on(h));
    assert!(r.unwrap_err().is_cancelled());
}

// ---- item 7: the output of a future whose destructor panics ---------------

static OUT_DROPS: AtomicUsize = AtomicUsize::new(0);

struct Out;
impl Drop for Out {
    fn drop(&mut self) {
        OUT_DROPS.fetch_add(1, SeqCst);
    }
}

/// Ready with an `Out` at once; panics when dropped.
struct ReadyThenPanicOnDrop;
impl std::future::Future for ReadyThenPanicOnDrop {
    type Output = Out;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Out> {
        std::task::Poll::Ready(Out)
    }
}
impl Drop for ReadyThenPanicOnDrop {
    fn drop(&mut self) {
        panic!("future destructor panics after Ready");
    }
}

#[test]
fn output_is_dropped_when_the_future_destructor_panics() {
    for procs in [1, 2] {
        OUT_DROPS.store(0, SeqCst);
        let r = within(30, move || {
            rt(procs).block_on(async {
                let r = goro::go(ReadyThenPanicOnDrop).await;
                r.map(|_| ()).map_err(|e| e.is_panic())
            })
        });
        // The panic is the result; the output it replaced was dropped.
        assert_eq!(r, Err(true));
        assert_eq!(OUT_DROPS.load(SeqCst), 1);
    }
}

// ---- item 20: accounting of refused spawns ---------------------------------

#[test]
fn errgroup_go_outside_a_runtime_does_not_hang_wait() {
    let g = goro::errgroup::Group::<()>::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        futures::executor::block_on(g.go(async { Ok(()) }))
    }));
    assert!(r.is_err(), "go outside a runtime panics");
    let w = within(30, move || futures::executor::block_on(g.wait()));
    assert_eq!(w, Ok(()));
}

// ---- item 6: foreign wakers that panic --------------------------------------

/// A waker whose `wake` (and `wake_by_ref`) panics.
struct PanicOnWake;
impl std::task::Wake for PanicOnWake {
    fn wake(self: Arc<Self>) {
        panic!("foreign waker panics on wake");
    }
}

#[test]
fn panicking_join_waker_does_not_kill_a_worker() {
    for procs in [1, 2] {
        let name = format!("jw{procs}");
        let r = within(30, move || {
            let rt = goro::Runtime::builder()
                .procs(procs)
                .thread_name(name.clone())
                .build()
                .unwrap();
            let (tx, rx) = goro::chan::<u32>(0);
            let h = rt.go(async move { rx.recv().await.unwrap() + 1 });
            let mut h = Box::pin(h);
            let waker = std::task::Waker::from(Arc::new(PanicOnWake));
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(h.as_mut().poll(&mut cx).is_pending());
            drop(waker);
            rt.block_on(async move {
                tx.send(41).await.unwrap();
                // Every worker still runs goroutines.
                let hs: Vec<_> = (0..100).map(|i| goro::go(async move { i })).collect();
                let mut sum = 0;
                for h in hs {
                    sum += h.await.unwrap();
                }
                let joined = h.await.unwrap();
                // No worker thread died.
                (
                    sum,
                    joined,
                    threads_named_settled(&format!("{name}-worker"), procs),
                )
            })
        });
        assert_eq!(r, (4950, 42, procs));
    }
}

#[test]
fn panicking_sleep_waker_does_not_kill_the_timer_driver() {
    use std::future::Future;
    within(30, || {
        let rt = rt(1);
        let mut sleeps = Vec::new();
        rt.block_on(async {
            for _ in 0..4 {
                let mut s = Box::pin(goro::time::sleep(Duration::from_millis(1)));
                let waker = std::task::Waker::from(Arc::new(PanicOnWake));
                assert!(s
                    .as_mut()
                    .poll(&mut std::task::Context::from_waker(&waker))
                    .is_pending());
                sleeps.push(s);
            }
        });
        rt.block_on(async {
            // Timers and goroutines still run after those wakes panicked.
            for _ in 0..5 {
                goro::time::sleep(Duration::from_millis(5)).await;
            }
            let hs: Vec<_> = (0..50).map(|i| goro::go(async move { i })).collect();
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            assert_eq!(sum, 1225);
        });
    });
}

// ---- item 4: shutdown while goroutines sit in `_blocking` calls ----------

#[test]
fn shutdown_with_a_blocking_call_whose_peer_is_a_blocked_goroutine() {
    for procs in [1, 2] {
        within(30, move || {
            let rt = rt(procs);
            rt.block_on(async {
                let (tx, rx) = goro::chan::<u32>(0);
                let (_never_tx, never_rx) = goro::chan::<u32>(0);
                // The only sender sits in a goroutine blocked forever.
                goro::go(async move {
                    let _tx = tx;
                    never_rx.recv().await
                });
                goro::go(async move { rx.recv_blocking() });
                goro::time::sleep(Duration::from_millis(20)).await;
            });
            drop(rt);
        });
    }
}

#[test]
fn shutdown_releases_a_blocking_call_nobody_will_end() {
    for procs in [1, 2] {
        let r = within(30, move || {
            let (tx, rx) = goro::chan::<u32>(0);
            let rt = rt(procs);
            let h = rt.block_on(async move {
                let h = goro::go(async move { rx.recv_blocking() });
                goro::time::sleep(Duration::from_millis(20)).await;
                vec![h]
            });
            let h = h.into_iter().next().unwrap();
            drop(rt); // `tx` is still alive: only shutdown can end the wait.
            let r = futures::executor::block_on(h);
            drop(tx);
            r.map_err(|e| e.is_cancelled())
        });
        assert_eq!(r, Err(true), "procs = {procs}");
    }
}

#[test]
fn shutdown_releases_many_blocked_workers_and_helpers() {
    // More goroutines in `_blocking` calls than workers: sysmon starts
    // helpers for the stuck workers, and those block too.
    let r = within(30, move || {
        let (tx, rx) = goro::chan::<u32>(0);
        let rt = rt(2);
        let hs = rt.block_on(async move {
            let hs: Vec<_> = (0..6)
                .map(|_| {
                    let rx = rx.clone();
                    goro::go(async move { rx.recv_blocking() })
                })
                .collect();
            goro::time::sleep(Duration::from_millis(100)).await;
            hs
        });
        drop(rt);
        let mut cancelled = 0;
        for h in hs {
            cancelled += usize::from(futures::executor::block_on(h).unwrap_err().is_cancelled());
        }
        drop(tx);
        cancelled
    });
    assert_eq!(r, 6);
}

// ---- item 15: sysmon hands off `_blocking` calls on replacement threads ----

#[test]
fn sysmon_hands_off_blocking_calls_on_replacement_threads_promptly() {
    // 64 goroutines on one proc, each entering a `_blocking` call that only
    // ends once all 64 are in one: each needs a thread, so sysmon must hand
    // off every stuck thread (the worker, then each replacement) at its
    // threshold (10 ms), not only after its 100 ms fallback (which took
    // 6.4 s). The bound only catches that slowness, generously.
    let started = std::time::Instant::now();
    let n = within(60, || {
        let rt = goro::Runtime::builder().procs(1).build().unwrap();
        rt.block_on(async {
            let (tx, rx) = goro::chan::<u32>(0);
            let entered = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..64)
                .map(|_| {
                    let rx = rx.clone();
                    let entered = entered.clone();
                    goro::go(async move {
                        entered.fetch_add(1, SeqCst);
                        rx.recv_blocking()
                    })
                })
                .collect();
            let feeder = std::thread::spawn(move || {
                while entered.load(SeqCst) < 64 {
                    std::thread::sleep(Duration::from_millis(1));
                }
                for i in 0..64 {
                    tx.send_blocking(i).unwrap();
                }
            });
            let mut got = 0;
            for h in hs {
                got += usize::from(h.await.unwrap().is_some());
            }
            feeder.join().unwrap();
            got
        })
    });
    assert_eq!(n, 64);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
#[cfg(feature = "net")]
fn panicking_socket_waker_does_not_kill_the_netpoller() {
    for procs in [1, 2] {
        let name = format!("np{procs}");
        let r = within(30, move || {
            let rt = goro::Runtime::builder()
                .procs(procs)
                .thread_name(name.clone())
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = l.local_addr().unwrap();
                // A foreign waker on the accept: the netpoller wakes it
                // when the connection arrives, and it panics.
                let mut c = {
                    let waker = std::task::Waker::from(Arc::new(PanicOnWake));
                    let mut cx = std::task::Context::from_waker(&waker);
                    let mut acc = Box::pin(l.accept());
                    assert!(acc.as_mut().poll(&mut cx).is_pending());
                    let c = std::net::TcpStream::connect(addr).unwrap();
                    goro::time::sleep(Duration::from_millis(50)).await;
                    c
                };
                // The netpoller and every worker still work.
                let h = goro::go(async move {
                    let (s, _) = l.accept().await.unwrap();
                    let mut buf = [0u8; 5];
                    s.read_exact(&mut buf).await.unwrap();
                    buf
                });
                goro::time::sleep(Duration::from_millis(5)).await;
                std::io::Write::write_all(&mut c, b"hello").unwrap();
                let got = h.await.unwrap();
                let hs: Vec<_> = (0..100).map(|i| goro::go(async move { i })).collect();
                let mut sum = 0;
                for h in hs {
                    sum += h.await.unwrap();
                }
                (
                    got,
                    sum,
                    threads_named_settled(&format!("{name}-worker"), procs),
                )
            })
        });
        assert_eq!(r, (*b"hello", 4950, procs));
    }
}
