//! The goroutine dump, the test-mode deadlock report and the virtual clock
//! (`start_paused`). The exit-mode deadlock detector and SIGQUIT are tested
//! in child processes by `tests/deadlock.rs`.

use std::time::Duration;

use goro::{
    chan,
    runtime::{dump, Status, WaitReason},
    sync::{Mutex, WaitGroup},
};

/// Yields until `pred` holds for the current dump.
async fn until(pred: impl Fn(&goro::runtime::Dump) -> bool) -> goro::runtime::Dump {
    loop {
        let d = dump();
        if pred(&d) {
            return d;
        }
        goro::time::sleep(Duration::from_millis(1)).await;
    }
}

#[goro::test]
async fn dump_lists_every_goroutine_with_its_reason_site_and_creator() {
    let (tx, rx) = chan::<u32>(0);
    let (_keep, never) = chan::<u32>(0);
    let m = std::sync::Arc::new(Mutex::new(()));
    let guard = m.lock().await;
    let (line_recv, line_go) = (line!() + 2, line!() + 1);
    let recv = goro::go(async move { rx.recv().await });
    let m2 = m.clone();
    let line_lock = line!() + 1;
    let lock = goro::go(async move { drop(m2.lock().await) });
    let sel = goro::go(async move {
        goro::select! {
            recv(never) -> _ => {},
        }
    });
    let me = goro::runtime::current_id().unwrap().as_u64();
    let d = until(|d| {
        d.goroutines()
            .iter()
            .filter(|g| matches!(g.status, Status::Waiting(_)))
            .count()
            == 3
    })
    .await;
    assert_eq!(d.len(), 4, "{d}");
    let by_id = |id: u64| d.goroutines().iter().find(|g| g.id == id).unwrap();

    let main = by_id(me);
    assert_eq!(main.status, Status::Running);
    assert!(main.created_at.is_none());

    let r = by_id(recv.id().as_u64());
    assert_eq!(r.status, Status::Waiting(WaitReason::ChanReceive));
    let at = r.blocked_at.unwrap();
    assert_eq!((at.file(), at.line()), (file!(), line_recv - 1));
    assert_eq!(r.created_at.unwrap().line(), line_go);
    assert_eq!(r.parent, me);

    let l = by_id(lock.id().as_u64());
    assert_eq!(l.status, Status::Waiting(WaitReason::MutexLock));
    assert_eq!(l.blocked_at.unwrap().line(), line_lock);

    let s = by_id(sel.id().as_u64());
    assert_eq!(s.status, Status::Waiting(WaitReason::Select));

    // Go's text: a header per goroutine, the site, and the creator.
    let text = d.to_string();
    let para = format!(
        "goroutine {} [chan receive]:\n\t{}:{}:",
        r.id,
        file!(),
        line_recv - 1
    );
    assert!(text.contains(&para), "{text}");
    assert!(
        text.contains(&format!(
            "created by goroutine {me} at\n\t{}:{line_go}:",
            file!()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("goroutine {me} [running]:")),
        "{text}"
    );
    // Paragraphs are separated by one blank line, ordered by id.
    let ids: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("goroutine "))
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(text.matches("\n\ngoroutine ").count(), 3, "{text}");

    drop(guard);
    tx.send(1).await.unwrap();
    drop(_keep);
    assert_eq!(recv.await.unwrap(), Some(1));
    lock.await.unwrap();
    sel.await.unwrap();
}

#[goro::test]
async fn runnable_and_foreign_waits_are_told_apart() {
    // A goroutine waiting on a future that is not a goro primitive.
    let (tx, rx) = futures::channel::oneshot::channel::<u32>();
    let foreign = goro::go(async move { rx.await.unwrap() });
    let d = until(|d| {
        d.goroutines()
            .iter()
            .any(|g| g.id == foreign.id().as_u64() && g.status == Status::ForeignWait)
    })
    .await;
    let g = d
        .goroutines()
        .iter()
        .find(|g| g.id == foreign.id().as_u64())
        .unwrap();
    assert!(g.blocked_at.is_none());
    tx.send(3).unwrap();
    assert_eq!(foreign.await.unwrap(), 3);
}

#[test]
fn runtime_dump_from_outside_lists_the_runtimes_goroutines() {
    let rt = goro::Runtime::builder().procs(1).build().unwrap();
    let (tx, rx) = chan::<u32>(0);
    let h = rt.go(async move { rx.recv().await });
    let d = loop {
        let d = rt.dump();
        if d.goroutines().first().map(|g| g.status)
            == Some(Status::Waiting(WaitReason::ChanReceive))
        {
            break d;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    assert_eq!(d.len(), 1);
    // Spawned from a plain thread: no parent goroutine.
    assert_eq!(d.goroutines()[0].parent, 0);
    assert!(
        d.to_string()
            .contains("created by a thread outside goroutines at"),
        "{d}"
    );
    // `dump()` outside any runtime sees every live runtime.
    assert!(dump().goroutines().iter().any(|g| g.id == h.id().as_u64()));
    tx.send_blocking(9).unwrap();
    assert_eq!(rt.block_on(h).unwrap(), Some(9));
}

#[test]
fn leak_report_lists_leaked_goroutines_as_the_dump_does() {
    let r = std::panic::catch_unwind(|| {
        let rt = goro::Runtime::builder().procs(1).build().unwrap();
        goro::testing::run_test(rt, true, async {
            let (tx, rx) = chan::<u32>(0);
            std::mem::forget(tx);
            goro::go(async move { rx.recv().await });
        })
    });
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.starts_with("goro: found 1 leaked goroutine(s):\n\n"),
        "{msg}"
    );
    assert!(
        msg.contains("[chan receive]:\n\tgoro/tests/dump.rs:"),
        "{msg}"
    );
    assert!(msg.contains("created by goroutine "), "{msg}");
}

// --- test mode: a deadlocked test fails instead of hanging -------------

#[goro::test]
#[should_panic(expected = "fatal error: all goroutines are asleep - deadlock!")]
async fn deadlocked_test_fails_with_gos_message() {
    let (tx, _rx) = chan::<u32>(0);
    let _ = tx.send(1).await; // nobody receives
}

#[test]
fn deadlock_report_in_a_test_names_every_goroutine() {
    let r = std::panic::catch_unwind(|| {
        let rt = goro::Runtime::builder().procs(2).build().unwrap();
        goro::testing::run_test(rt, false, async {
            let wg = WaitGroup::new();
            wg.add(1);
            let (_tx, rx) = chan::<u32>(0);
            goro::go(async move { rx.recv().await });
            wg.wait().await;
        })
    });
    let msg = *r.unwrap_err().downcast::<String>().unwrap();
    assert!(
        msg.starts_with("fatal error: all goroutines are asleep - deadlock!\n\n"),
        "{msg}"
    );
    assert!(msg.contains("[sync.WaitGroup.Wait]:"), "{msg}");
    assert!(msg.contains("[chan receive]:"), "{msg}");
}

#[goro::test(deadlock_check = false, leak_check = false)]
async fn deadlock_check_can_be_turned_off() {
    let (tx, rx) = chan::<u32>(0);
    let t = std::thread::spawn(move || {
        // Longer than the test-mode confirmation wait.
        std::thread::sleep(Duration::from_millis(1500));
        tx.try_send(1).ok();
        drop(tx);
    });
    let _ = rx.recv().await;
    t.join().unwrap();
}

#[goro::test]
async fn sleeping_goroutines_are_not_a_deadlock() {
    let (tx, rx) = chan::<u32>(0);
    goro::go(async move {
        goro::time::sleep(Duration::from_millis(1200)).await;
        tx.send(1).await.unwrap();
    });
    assert_eq!(rx.recv().await, Some(1));
}

#[goro::test]
async fn blocking_calls_are_not_a_deadlock() {
    let (tx, rx) = chan::<u32>(0);
    let h = goro::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(1200));
        tx.send_blocking(2).unwrap();
    });
    assert_eq!(rx.recv().await, Some(2));
    h.await.unwrap();
}

// --- the virtual clock ---------------------------------------------------

#[goro::test(start_paused = true)]
async fn paused_clock_fires_timers_at_once_and_in_order() {
    let real = std::time::Instant::now();
    let start = goro::time::now();
    let (tx, rx) = chan::<u64>(16);
    for secs in [30u64, 10, 20, 40] {
        let tx = tx.clone();
        goro::go(async move {
            goro::time::sleep(Duration::from_secs(secs)).await;
            tx.send(secs).await.unwrap();
        });
    }
    drop(tx);
    let mut got = Vec::new();
    while let Some(s) = rx.recv().await {
        // Each goroutine woke exactly at its deadline on the virtual clock.
        assert_eq!(goro::time::now() - start, Duration::from_secs(s));
        got.push(s);
    }
    assert_eq!(got, [10, 20, 30, 40]);
    assert!(real.elapsed() < Duration::from_secs(30), "took real time");
}

#[goro::test(start_paused = true)]
async fn paused_clock_drives_timeouts_selects_and_contexts() {
    let start = goro::time::now();
    // A timeout that fires.
    let (_tx, rx) = chan::<u32>(0);
    let r = goro::time::timeout(Duration::from_secs(5), rx.recv()).await;
    assert!(r.is_err());
    assert_eq!(goro::time::now() - start, Duration::from_secs(5));
    // time::after in a select.
    goro::select! {
        recv(rx) -> _ => panic!("nobody sends"),
        recv(goro::time::after(Duration::from_secs(7))) -> _ => {},
    }
    assert_eq!(goro::time::now() - start, Duration::from_secs(12));
    // A context deadline.
    let (ctx, _cancel) =
        goro::context::with_timeout(&goro::context::background(), Duration::from_secs(60));
    ctx.done().recv().await;
    assert_eq!(goro::time::now() - start, Duration::from_secs(72));
    // A ticker ticks on virtual time.
    let mut t = goro::time::Ticker::new(Duration::from_secs(1));
    for _ in 0..3 {
        t.tick().await;
    }
    assert_eq!(goro::time::now() - start, Duration::from_secs(75));
}

#[goro::test(start_paused = true)]
async fn paused_clock_waits_for_running_goroutines() {
    // Time only moves when every goroutine is blocked: a goroutine busy
    // for real milliseconds is not overtaken by a virtual timer.
    let start = goro::time::now();
    let busy = goro::go(async {
        let t = std::time::Instant::now();
        while t.elapsed() < Duration::from_millis(50) {
            goro::yield_now().await;
        }
        goro::time::now()
    });
    goro::time::sleep(Duration::from_secs(1)).await;
    let done_at = busy.await.unwrap();
    assert_eq!(done_at, start, "the clock moved while a goroutine ran");
}

#[cfg(feature = "net")]
#[goro::test]
async fn goroutines_waiting_on_sockets_show_io_wait_at_the_users_line() {
    let l = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let line = line!() + 1;
    let h = goro::go(async move { l.accept().await.map(|_| ()) });
    let d = until(|d| {
        d.goroutines()
            .iter()
            .any(|g| g.status == Status::Waiting(WaitReason::IoWait))
    })
    .await;
    let g = d
        .goroutines()
        .iter()
        .find(|g| g.id == h.id().as_u64())
        .unwrap();
    assert_eq!(g.blocked_at.unwrap().line(), line, "{d}");
    assert!(d.to_string().contains("[IO wait]:"), "{d}");
    let _c = goro::net::TcpStream::connect(addr).await.unwrap();
    h.await.unwrap().unwrap();
}

/// Issue 16 part 3: 10^5 goroutines parked at three sites print as three
/// groups (plus main) with exact counts, in a few lines.
#[goro::test]
async fn grouped_profile_counts_100k_goroutines_in_three_groups() {
    const RECV: usize = 50_000;
    const LOCK: usize = 30_000;
    const WAIT: usize = 20_000;
    let (tx, rx) = chan::<()>(0);
    let m = std::sync::Arc::new(Mutex::new(()));
    let guard = m.lock().await;
    let wg = WaitGroup::new();
    wg.add(1);
    let mut hs = Vec::with_capacity(RECV + LOCK + WAIT);
    for _ in 0..RECV {
        let rx = rx.clone();
        hs.push(goro::go(async move {
            rx.recv().await;
        }));
    }
    for _ in 0..LOCK {
        let m = m.clone();
        hs.push(goro::go(async move { drop(m.lock().await) }));
    }
    for _ in 0..WAIT {
        let wg = wg.clone();
        hs.push(goro::go(async move { wg.wait().await }));
    }
    let d = until(|d| {
        d.goroutines()
            .iter()
            .filter(|g| matches!(g.status, Status::Waiting(_)))
            .count()
            == RECV + LOCK + WAIT
    })
    .await;
    let p = d.grouped();
    assert_eq!(p.total(), RECV + LOCK + WAIT + 1, "{p}");
    let got: Vec<_> = p.groups().iter().map(|g| (g.count, g.status)).collect();
    assert_eq!(
        got,
        vec![
            (RECV, Status::Waiting(WaitReason::ChanReceive)),
            (LOCK, Status::Waiting(WaitReason::MutexLock)),
            (WAIT, Status::Waiting(WaitReason::WaitGroupWait)),
            (1, Status::Running),
        ]
    );
    for g in &p.groups()[..3] {
        assert_eq!(g.blocked_at.unwrap().file(), file!());
        assert_eq!(g.created_at.unwrap().file(), file!());
    }
    let text = p.to_string();
    assert_eq!(text.lines().count(), 1 + 3 * 5 + 2, "{text}");
    assert!(text.starts_with(&format!(
        "goroutine profile: total {}\n{RECV} @ [chan receive]\n\t{}:",
        RECV + LOCK + WAIT + 1,
        file!()
    )));
    drop(tx);
    drop(guard);
    wg.done();
    for h in hs {
        h.await.unwrap();
    }
}
