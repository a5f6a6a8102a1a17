//! Sysmon: goroutines keep moving when one of them blocks its worker
//! thread; the blocking goroutine's spawn site is reported once; the
//! `stats()` counters agree with what the tests did; the cooperative
//! budget keeps an always-ready channel loop from starving a worker.
//!
//! Bounds on latency here are deliberately generous (the host is shared).

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::*},
        Arc, Mutex, OnceLock,
    },
    time::{Duration, Instant},
};

use goro::{runtime::WaitReason, Runtime};

/// Every warning logged through the `log` facade by goro in this test
/// binary (tests run in parallel: each looks only for its own sites).
fn logged() -> &'static Mutex<Vec<String>> {
    static LOG: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    static LOGGER: Capture = Capture;
    struct Capture;
    impl log::Log for Capture {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, r: &log::Record<'_>) {
            if r.target() == "goro" {
                logged().lock().unwrap().push(r.args().to_string());
            }
        }
        fn flush(&self) {}
    }
    let l = LOG.get_or_init(|| Mutex::new(Vec::new()));
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&LOGGER).unwrap();
        log::set_max_level(log::LevelFilter::Warn);
    });
    l
}

fn warnings_for(site: &str) -> Vec<String> {
    logged()
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.contains(site))
        .cloned()
        .collect()
}

/// Runs a ticker goroutine (every 5 ms, 40 ticks) next to `bad`, on one
/// proc, and returns the longest gap between two ticks.
fn worst_tick_gap(rt: &Runtime, bad: impl FnOnce() + Send + 'static) -> Duration {
    rt.block_on(async move {
        let started = Arc::new(AtomicBool::new(false));
        let s2 = started.clone();
        let ticker = goro::go(async move {
            let mut worst = Duration::ZERO;
            let mut last = Instant::now();
            for i in 0..40 {
                goro::time::sleep(Duration::from_millis(5)).await;
                let now = Instant::now();
                if i > 0 {
                    worst = worst.max(now - last);
                }
                last = now;
                if i == 2 {
                    s2.store(true, SeqCst);
                }
            }
            worst
        });
        while !started.load(SeqCst) {
            goro::time::sleep(Duration::from_millis(1)).await;
        }
        let bad = goro::go(async move { bad() });
        let worst = ticker.await.unwrap();
        bad.await.unwrap();
        worst
    })
}

#[test]
fn a_thread_sleep_does_not_delay_a_ticker() {
    logged();
    let rt = Runtime::builder().procs(1).build().unwrap();
    let worst = worst_tick_gap(&rt, || std::thread::sleep(Duration::from_millis(200)));
    assert!(
        worst < Duration::from_millis(100),
        "a ticker waited {worst:?} behind a goroutine in thread::sleep"
    );
    let s = rt.stats();
    assert!(s.handoffs >= 1, "{s:?}");
    assert!(s.replacement_threads_started >= 1, "{s:?}");
}

#[test]
fn a_goro_blocking_call_inside_a_goroutine_does_not_delay_a_ticker() {
    // The worker waits on a futex inside `recv_blocking`: not the host's
    // doing (a lock whose holder was descheduled), the goroutine's.
    logged();
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (tx, rx) = goro::chan::<u32>(0);
    let feeder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        tx.send_blocking(1).unwrap();
    });
    let worst = worst_tick_gap(&rt, move || {
        assert_eq!(rx.recv_blocking(), Some(1));
    });
    feeder.join().unwrap();
    assert!(
        worst < Duration::from_millis(100),
        "a ticker waited {worst:?} behind a goroutine in recv_blocking"
    );
    assert!(rt.stats().handoffs >= 1);
}

#[test]
fn a_spinning_goroutine_does_not_delay_a_ticker() {
    logged();
    let rt = Runtime::builder().procs(1).build().unwrap();
    let worst = worst_tick_gap(&rt, || {
        // Spins 500 ms: without a hand-off the ticker would wait all of it.
        // The bound leaves room for a loaded machine, where sysmon may
        // fall back to its 100 ms rule (a spinning thread that gets less
        // than a quarter of a CPU is not provably on it).
        let end = Instant::now() + Duration::from_millis(500);
        let mut x = 0u64;
        while Instant::now() < end {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    });
    assert!(
        worst < Duration::from_millis(250),
        "a ticker waited {worst:?} behind a spinning goroutine"
    );
}

#[test]
fn without_sysmon_the_ticker_waits() {
    let rt = Runtime::builder().procs(1).sysmon(false).build().unwrap();
    let worst = worst_tick_gap(&rt, || std::thread::sleep(Duration::from_millis(200)));
    // One proc, nobody to take over: the ticker cannot run until the
    // blocking poll ends.
    assert!(
        worst >= Duration::from_millis(150),
        "ticker gap {worst:?}: something ran it while its worker was blocked"
    );
    let s = rt.stats();
    assert_eq!(s.handoffs, 0);
    assert_eq!(s.replacement_threads_started, 0);
}

#[cfg(target_os = "linux")]
#[test]
fn sysmon_false_starts_no_monitor_thread() {
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
    let off = Runtime::builder()
        .procs(1)
        .sysmon(false)
        .thread_name("smoff")
        .build()
        .unwrap();
    assert_eq!(threads_named("smoff-sysmon"), 0);
    drop(off);
    let on = Runtime::builder()
        .procs(1)
        .thread_name("smon")
        .build()
        .unwrap();
    // The thread names itself once it runs.
    let t0 = Instant::now();
    while threads_named("smon-sysmon") == 0 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(threads_named("smon-sysmon"), 1);
    drop(on);
    assert_eq!(
        threads_named("smon-sysmon"),
        0,
        "sysmon outlived its runtime"
    );
}

#[test]
fn the_warning_names_the_spawn_site_once() {
    logged();
    let rt = Runtime::builder().procs(1).build().unwrap();
    let line = rt.block_on(async {
        let mut line = 0;
        for _ in 0..3 {
            line = line!() + 1;
            let h = goro::go(async { std::thread::sleep(Duration::from_millis(60)) });
            h.await.unwrap();
        }
        line
    });
    let site = format!("{}:{line}", file!());
    // The warning is printed when sysmon sees the poll end.
    let deadline = Instant::now() + Duration::from_secs(5);
    while warnings_for(&site).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(rt);
    let w = warnings_for(&site);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].starts_with("goro: goroutine ")
            && w[0].contains(&format!("(spawned at {site}) blocked its worker for "))
            && w[0].ends_with(" ms; use spawn_blocking for blocking calls"),
        "{}",
        w[0]
    );
}

#[test]
fn warn_blocking_false_is_silent() {
    logged();
    let rt = Runtime::builder()
        .procs(1)
        .warn_blocking(false)
        .build()
        .unwrap();
    let line = rt.block_on(async {
        let line = line!() + 1;
        let h = goro::go(async { std::thread::sleep(Duration::from_millis(60)) });
        h.await.unwrap();
        line
    });
    let s = rt.stats();
    std::thread::sleep(Duration::from_millis(50));
    drop(rt);
    assert!(s.handoffs >= 1, "the poll was not even detected: {s:?}");
    assert!(warnings_for(&format!("{}:{line}", file!())).is_empty());
}

#[test]
fn a_stuck_workers_queue_runs_elsewhere() {
    logged();
    // Two procs: the goroutines queued behind the blocked one (on its
    // own ring and in its runnext) are handed to the other worker.
    let rt = Runtime::builder()
        .procs(2)
        .sysmon_threshold(Duration::from_millis(5))
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r2 = ran.clone();
    let (elapsed, ran_while_blocked) = rt.block_on(async move {
        let (tx, rx) = goro::chan::<()>(0);
        let r3 = r2.clone();
        let blocker = goro::go(async move {
            // Spawned from this worker: all 50 land on its own ring.
            for _ in 0..50 {
                let r = r3.clone();
                goro::go(async move {
                    r.fetch_add(1, SeqCst);
                });
            }
            std::thread::sleep(Duration::from_millis(300));
            drop(tx);
        });
        let t0 = Instant::now();
        while r2.load(SeqCst) < 50 && t0.elapsed() < Duration::from_secs(10) {
            goro::time::sleep(Duration::from_millis(1)).await;
        }
        let elapsed = t0.elapsed();
        let ran = r2.load(SeqCst);
        assert_eq!(rx.recv().await, None);
        blocker.await.unwrap();
        (elapsed, ran)
    });
    assert_eq!(ran.load(SeqCst), 50);
    assert_eq!(ran_while_blocked, 50);
    assert!(
        elapsed < Duration::from_millis(250),
        "queued goroutines waited {elapsed:?} for a blocked worker"
    );
}

#[test]
fn stats_count_blocked_goroutines_by_reason() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        const N: usize = 25;
        let (tx, rx) = goro::chan::<u32>(0);
        let (_stx, srx) = goro::chan::<u32>(0);
        let mut hs = Vec::new();
        for _ in 0..N {
            let rx = rx.clone();
            hs.push(goro::go(async move { rx.recv().await }));
        }
        for _ in 0..3 {
            let srx = srx.clone();
            hs.push(goro::go(async move {
                let late = goro::time::after(Duration::from_secs(30));
                goro::select! {
                    recv(srx) -> v => v,
                    recv(late) -> _v => None,
                }
            }));
        }
        let count = |s: &goro::runtime::Stats, r: WaitReason| {
            s.blocked
                .iter()
                .find(|(x, _)| *x == r)
                .map_or(0, |(_, n)| *n)
        };
        // Wait until all of them are parked.
        let t0 = Instant::now();
        let s = loop {
            let s = goro::runtime::stats().unwrap();
            if count(&s, WaitReason::ChanReceive) == N && count(&s, WaitReason::Select) == 3 {
                break s;
            }
            assert!(t0.elapsed() < Duration::from_secs(10), "{s:?}");
            goro::time::sleep(Duration::from_millis(1)).await;
        };
        assert_eq!(s.goroutines, N + 3 + 1);
        assert_eq!(s.runnable, 0, "{s:?}");
        assert!(s.timers >= 3);
        let total: usize = s.blocked.iter().map(|(_, n)| n).sum();
        assert_eq!(total, N + 3, "{s:?}");
        for i in 0..N as u32 {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        drop(_stx);
        let mut got = 0;
        for h in hs {
            if h.await.unwrap().is_some() {
                got += 1;
            }
        }
        assert_eq!(got, N);
    });
}

#[test]
fn stats_count_steals_and_runnable() {
    let rt = Runtime::builder().procs(2).sysmon(false).build().unwrap();
    let s = rt.block_on(async {
        let done = Arc::new(AtomicUsize::new(0));
        let d2 = done.clone();
        // One goroutine queues 200 short jobs on its own worker's ring;
        // the other worker is woken and steals.
        goro::go(async move {
            for _ in 0..200 {
                let d = d2.clone();
                goro::go(async move {
                    let end = Instant::now() + Duration::from_micros(200);
                    while Instant::now() < end {
                        std::hint::spin_loop();
                    }
                    d.fetch_add(1, SeqCst);
                });
            }
        })
        .await
        .unwrap();
        while done.load(SeqCst) < 200 {
            goro::time::sleep(Duration::from_millis(1)).await;
        }
        goro::runtime::stats().unwrap()
    });
    assert!(s.steals > 0, "{s:?}");
    assert_eq!(
        s.steals,
        s.workers.iter().map(|w| w.stolen_from).sum::<u64>()
    );
    assert_eq!(s.handoffs, 0);
    // The last job counted itself done a moment before it returned: on a
    // loaded machine its worker may not have finished it yet.
    let mut s = rt.stats();
    for _ in 0..2000 {
        if s.goroutines == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
        s = rt.stats();
    }
    assert_eq!(s.runnable, 0);
    assert_eq!(s.goroutines, 0);
}

#[test]
fn an_always_ready_channel_loop_does_not_starve_a_goroutine() {
    // Sysmon off: only the cooperative budget can let `other` run.
    let rt = Runtime::builder().procs(1).sysmon(false).build().unwrap();
    let ops = rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = goro::chan::<u64>(16);
        let s2 = stop.clone();
        // Sends and receives on its own buffered channel: every operation
        // completes at once, it never waits.
        let hog = goro::go(async move {
            let mut ops = 0u64;
            while !s2.load(SeqCst) {
                tx.send(ops).await.unwrap();
                assert_eq!(rx.recv().await, Some(ops));
                ops += 1;
            }
            ops
        });
        // Queued behind the hog on the only worker.
        let other = goro::go(async move {
            stop.store(true, SeqCst);
        });
        other.await.unwrap();
        hog.await.unwrap()
    });
    assert!(ops > 0);
}

#[test]
fn a_closed_channel_in_a_select_loop_does_not_starve_a_goroutine() {
    let rt = Runtime::builder().procs(1).sysmon(false).build().unwrap();
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = goro::chan::<u64>(0);
        drop(tx);
        let s2 = stop.clone();
        let hog = goro::go(async move {
            let mut n = 0u64;
            while !s2.load(SeqCst) {
                goro::select! {
                    recv(rx) -> v => assert_eq!(v, None),
                }
                n += 1;
            }
            n
        });
        let other = goro::go(async move { stop.store(true, SeqCst) });
        other.await.unwrap();
        assert!(hog.await.unwrap() > 0);
    });
}

#[test]
fn max_threads_reached_keeps_going_without_replacement() {
    logged();
    // procs + sysmon already use 2 threads: no room for a replacement.
    let rt = Runtime::builder().procs(1).max_threads(2).build().unwrap();
    let worst = worst_tick_gap(&rt, || std::thread::sleep(Duration::from_millis(100)));
    let s = rt.stats();
    assert_eq!(s.replacement_threads_started, 0, "{s:?}");
    assert!(s.handoffs >= 1, "{s:?}");
    // Nobody to run the ticker while the worker is blocked.
    assert!(worst >= Duration::from_millis(50), "{worst:?}");
    assert!(logged()
        .lock()
        .unwrap()
        .iter()
        .any(|m| m.contains("reached max_threads (2)")));
}

#[test]
fn replacement_threads_retire_and_the_runtime_goes_idle() {
    logged();
    let rt = Runtime::builder()
        .procs(1)
        .sysmon_threshold(Duration::from_millis(2))
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..3 {
            goro::go(async { std::thread::sleep(Duration::from_millis(30)) })
                .await
                .unwrap();
            // Work for the others after it.
            let hs: Vec<_> = (0..100).map(|i| goro::go(async move { i })).collect();
            for h in hs {
                h.await.unwrap();
            }
        }
    });
    // The replacements gave way: no thread is stuck, none wanted.
    let t0 = Instant::now();
    loop {
        let s = rt.stats();
        if s.stuck_workers == 0 {
            assert!(s.replacement_threads_started >= 1, "{s:?}");
            assert!(s.handoffs >= 3, "{s:?}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{s:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_spinning_goroutine_is_reported_too() {
    logged();
    let rt = Runtime::builder().procs(1).build().unwrap();
    let line = rt.block_on(async {
        let line = line!() + 1;
        let h = goro::go(async {
            let end = Instant::now() + Duration::from_millis(150);
            while Instant::now() < end {
                std::hint::spin_loop();
            }
        });
        h.await.unwrap();
        line
    });
    let site = format!("{}:{line}", file!());
    let deadline = Instant::now() + Duration::from_secs(5);
    while warnings_for(&site).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(warnings_for(&site).len(), 1);
}

#[test]
fn a_goroutine_woken_into_a_stuck_workers_runnext_runs_elsewhere() {
    logged();
    let rt = Runtime::builder()
        .procs(2)
        .sysmon_threshold(Duration::from_millis(5))
        .build()
        .unwrap();
    let waited = rt.block_on(async {
        let (tx, rx) = goro::chan::<Instant>(1);
        let receiver = goro::go(async move {
            let sent = rx.recv().await.unwrap();
            sent.elapsed()
        });
        // Let the receiver block first.
        goro::time::sleep(Duration::from_millis(20)).await;
        let blocker = goro::go(async move {
            // Completes at once (buffered) and wakes the receiver into
            // this worker's `runnext`; then the worker is blocked.
            tx.send(Instant::now()).await.unwrap();
            std::thread::sleep(Duration::from_millis(300));
        });
        let waited = receiver.await.unwrap();
        blocker.await.unwrap();
        waited
    });
    assert!(
        waited < Duration::from_millis(200),
        "the woken goroutine waited {waited:?} in a blocked worker's runnext"
    );
}

/// The time a worker spends between polls (firing timers, searching other
/// workers' queues, polling the network) is the runtime's, not the last
/// goroutine's: sysmon must not blame a goroutine whose polls are all
/// short. Before, the poll stamp stayed "in a poll" after the poll
/// returned: a worker that then fired a crowd of timers, or searched for
/// work for a while (another worker's ring kept busy with goroutines too
/// young to steal), had its last goroutine blamed ("goroutine 72 blocked
/// its worker for 17 ms" in a channel worker pool).
#[test]
fn time_between_polls_is_not_blamed_on_a_goroutine() {
    logged();
    let rt = Runtime::builder()
        .procs(1)
        .sysmon_threshold(Duration::from_millis(5))
        .build()
        .unwrap();
    let first = line!() + 3;
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        // Short polls, over and over: the worker never parks.
        let s = stop.clone();
        let yielder = goro::go(async move {
            while !s.load(Relaxed) {
                goro::yield_now().await;
            }
        });
        // A crowd of timers due at the same instant: the busy worker
        // fires them between two of the yielder's polls.
        let at = Instant::now() + Duration::from_millis(300);
        let (done_tx, done_rx) = goro::chan::<()>(0);
        for _ in 0..300_000 {
            let done = done_tx.clone();
            goro::go(async move {
                goro::time::sleep_until(at).await;
                drop(done);
            });
        }
        drop(done_tx);
        assert!(done_rx.recv().await.is_none(), "every sleeper finished");
        stop.store(true, Relaxed);
        yielder.await.unwrap();
    });
    drop(rt);
    for line in first..first + 30 {
        let site = format!("{}:{line}", file!());
        let w = warnings_for(&site);
        assert!(
            w.is_empty(),
            "a goroutine with short polls was blamed: {w:#?}"
        );
    }
}
