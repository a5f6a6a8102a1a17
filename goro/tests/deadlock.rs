//! Child-process tests of Go's safety nets: the global deadlock detector
//! (`fatal error: all goroutines are asleep - deadlock!`, exit status 2,
//! the dump naming every goroutine's line) and the SIGQUIT dump.
//!
//! A test harness keeps threads of its own, which the detector (rightly)
//! counts as possible wake sources, so this test has no harness: `main`
//! re-runs this binary once per scenario with `GORO_CHILD=<scenario>`, and
//! the child runs that scenario as a whole program would.
//!
//! Lines the dump must name carry a `// @name` marker; the parent finds
//! them in this file.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Command, Stdio},
    time::Duration,
};

use goro::{
    chan, select,
    sync::{Mutex, WaitGroup},
};

const MESSAGE: &str = "fatal error: all goroutines are asleep - deadlock!";

fn main() {
    if let Ok(s) = std::env::var("GORO_CHILD") {
        child(&s);
        return;
    }
    let mut failed = 0;
    for (name, check) in SCENARIOS {
        let r = std::panic::catch_unwind(|| check(name));
        match r {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        panic!("{failed} deadlock scenario(s) failed");
    }
}

type Check = fn(&str);

const SCENARIOS: &[(&str, Check)] = &[
    ("unbuffered_send_no_receiver", expect_deadlock),
    ("waitgroup_never_done", expect_deadlock),
    ("mutexes_opposite_order", expect_deadlock),
    ("lock_cycle_while_main_runs", expect_lock_cycle),
    ("select_no_ready_arm", expect_deadlock),
    ("goroutine_join_chain", expect_deadlock),
    ("timer_pending_is_not_deadlock", expect_clean_exit),
    ("global_timer_is_not_deadlock", expect_clean_exit),
    ("thread_wakes_later_is_not_deadlock", expect_clean_exit),
    ("blocking_call_is_not_deadlock", expect_clean_exit),
    ("thread_in_blocking_call_is_not_deadlock", expect_clean_exit),
    #[cfg(feature = "net")]
    (
        "socket_wait_is_not_deadlock",
        expect_clean_exit_after_connect,
    ),
    ("detection_off", expect_clean_exit_after_kill),
    #[cfg(all(unix, feature = "signal"))]
    ("sigquit_busy", expect_sigquit_dump),
];

fn child(name: &str) {
    match name {
        "unbuffered_send_no_receiver" => goro::run(async {
            let (tx, _rx) = chan::<u32>(0);
            let _ = tx.send(1).await; // @main_send
        }),
        "waitgroup_never_done" => goro::run(async {
            let wg = WaitGroup::new();
            wg.add(2);
            let w = wg.clone();
            goro::go(async move {
                w.done(); // one done of the two
            });
            wg.wait().await; // @main_wg
        }),
        // Lock-cycle detection off: the whole-program detector's report.
        "mutexes_opposite_order" => goro::Runtime::builder()
            .lock_cycles(goro::runtime::LockCycles::Off)
            .build()
            .unwrap()
            .block_on(async {
                let a = std::sync::Arc::new(Mutex::new(0));
                let b = std::sync::Arc::new(Mutex::new(0));
                let both = WaitGroup::new();
                both.add(2);
                let (a1, b1, w1) = (a.clone(), b.clone(), both.clone());
                let g1 = goro::go(async move {
                    let _ga = a1.lock().await;
                    w1.done();
                    w1.wait().await;
                    let _gb = b1.lock().await; // @g1_lock
                });
                let (a2, b2, w2) = (a.clone(), b.clone(), both.clone());
                let g2 = goro::go(async move {
                    let _gb = b2.lock().await;
                    w2.done();
                    w2.wait().await;
                    let _ga = a2.lock().await; // @g2_lock
                });
                let _ = g1.await; // @main_join
                let _ = g2.await;
            }),
        // Issue 16 part 2: the same pair while main keeps running; the
        // default (debug build) reports the cycle at once and exits.
        "lock_cycle_while_main_runs" => goro::run(async {
            let a = std::sync::Arc::new(Mutex::new(0));
            let b = std::sync::Arc::new(Mutex::new(0));
            let both = WaitGroup::new();
            both.add(2);
            let (a1, b1, w1) = (a.clone(), b.clone(), both.clone());
            goro::go(async move {
                let _ga = a1.lock().await;
                w1.done();
                w1.wait().await;
                let _gb = b1.lock().await; // @cycle_g1_lock
            });
            let (a2, b2, w2) = (a.clone(), b.clone(), both.clone());
            goro::go(async move {
                let _gb = b2.lock().await;
                w2.done();
                w2.wait().await;
                let _ga = a2.lock().await; // @cycle_g2_lock
            });
            loop {
                goro::time::sleep(Duration::from_millis(1)).await;
            }
        }),
        "select_no_ready_arm" => goro::run(async {
            let (_tx1, rx1) = chan::<u32>(0);
            let (_tx2, rx2) = chan::<u32>(1);
            select! { // @main_select
                recv(rx1) -> v => println!("{v:?}"),
                recv(rx2) -> v => println!("{v:?}"),
            }
        }),
        "goroutine_join_chain" => goro::run(async {
            let (tx, rx) = chan::<u32>(0);
            let h = goro::go(async move {
                rx.recv().await // @g_recv
            });
            let _ = h.await; // @main_join_chain
            drop(tx);
        }),
        "timer_pending_is_not_deadlock" => goro::run(async {
            let (_tx, rx) = chan::<u32>(0);
            let _h = goro::go(async move { rx.recv().await });
            goro::time::sleep(Duration::from_millis(300)).await;
        }),
        "global_timer_is_not_deadlock" => {
            // Made outside the runtime: its timer lives in the global heap.
            let t = goro::time::after(Duration::from_millis(300));
            goro::run(async move {
                t.recv().await.unwrap();
            })
        }
        "thread_wakes_later_is_not_deadlock" => goro::run(async {
            let (tx, rx) = chan::<u32>(1);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                tx.try_send(7).unwrap();
            });
            assert_eq!(rx.recv().await, Some(7));
        }),
        "blocking_call_is_not_deadlock" => goro::run(async {
            let h = goro::spawn_blocking(|| std::thread::sleep(Duration::from_millis(300)));
            h.await.unwrap();
        }),
        "thread_in_blocking_call_is_not_deadlock" => goro::run(async {
            let (tx, rx) = chan::<u32>(0);
            let t = std::thread::spawn(move || rx.recv_blocking());
            std::thread::sleep(Duration::from_millis(100));
            // Main blocks in a goro send while the thread blocks in a goro
            // receive: they meet.
            tx.send(5).await.unwrap();
            assert_eq!(t.join().unwrap(), Some(5));
        }),
        #[cfg(feature = "net")]
        "socket_wait_is_not_deadlock" => goro::run(async {
            // Main waits on a channel that only a goroutine waiting on a
            // socket will feed: blocked, but not dead.
            let l = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
            println!("{}", l.local_addr().unwrap());
            let (tx, rx) = chan::<u32>(0);
            goro::go(async move {
                let (_conn, _) = l.accept().await.unwrap();
                tx.send(1).await.unwrap();
            });
            assert_eq!(rx.recv().await, Some(1));
        }),
        "detection_off" => {
            let rt = goro::Runtime::builder()
                .deadlock_detection(false)
                .build()
                .unwrap();
            rt.block_on(async {
                let (tx, _rx) = chan::<u32>(0);
                println!("ready");
                let _ = tx.send(1).await;
            })
        }
        #[cfg(all(unix, feature = "signal"))]
        "sigquit_busy" => goro::run(async {
            for _ in 0..4 {
                goro::go(async {
                    loop {
                        goro::yield_now().await;
                    }
                });
            }
            let (_tx, rx) = chan::<u32>(0);
            let _h = goro::go(async move { rx.recv().await }); // @g_sigquit_recv
            println!("ready");
            loop {
                goro::time::sleep(Duration::from_millis(10)).await;
            }
        }),
        other => panic!("unknown scenario {other}"),
    }
}

fn run_child(name: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .env("GORO_CHILD", name)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run child")
}

/// `file:line` of the line carrying `// @marker` in this file.
fn site(marker: &str) -> String {
    let src = include_str!("deadlock.rs");
    let tag = format!("// @{marker}");
    let n = src
        .lines()
        .position(|l| l.trim_end().ends_with(&tag))
        .unwrap_or_else(|| panic!("no marker {tag}"));
    format!("{}:{}", file!(), n + 1)
}

/// The paragraph of the dump that contains `site`.
fn paragraph<'a>(stderr: &'a str, site: &str) -> &'a str {
    stderr
        .split("\n\n")
        .find(|p| p.contains(&format!("\t{site}:")))
        .unwrap_or_else(|| panic!("no goroutine blocked at {site} in:\n{stderr}"))
}

fn expect_deadlock(name: &str) {
    let out = run_child(name);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(stderr.starts_with(MESSAGE), "{name}: {stderr}");
    let expect: &[(&str, &str)] = match name {
        "unbuffered_send_no_receiver" => &[("main_send", "[chan send]")],
        "waitgroup_never_done" => &[("main_wg", "[sync.WaitGroup.Wait]")],
        "mutexes_opposite_order" => &[
            ("main_join", "[goroutine join]"),
            ("g1_lock", "[sync.Mutex.Lock]"),
            ("g2_lock", "[sync.Mutex.Lock]"),
        ],
        "select_no_ready_arm" => &[("main_select", "[select]")],
        "goroutine_join_chain" => &[
            ("main_join_chain", "[goroutine join]"),
            ("g_recv", "[chan receive]"),
        ],
        _ => unreachable!(),
    };
    let goroutines = stderr
        .lines()
        .filter(|l| l.starts_with("goroutine "))
        .count();
    assert_eq!(
        goroutines,
        expect.len(),
        "{name}: every goroutine once:\n{stderr}"
    );
    for (marker, status) in expect {
        let at = site(marker);
        let p = paragraph(&stderr, &at);
        assert!(p.contains(status), "{name}: {at} should be {status}:\n{p}");
        // Goroutines other than main say where they were created.
        if !marker.starts_with("main") {
            assert!(p.contains("created by goroutine "), "{name}:\n{p}");
            assert!(p.contains(file!()), "{name}:\n{p}");
        } else {
            assert!(
                p.contains("main goroutine") || !p.contains("created by"),
                "{p}"
            );
        }
    }
}

fn expect_lock_cycle(name: &str) {
    let out = run_child(name);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
    assert!(
        stderr.starts_with("fatal error: goroutines deadlocked on locks\n"),
        "{name}: {stderr}"
    );
    assert_eq!(
        stderr.matches("fatal error").count(),
        1,
        "printed once: {stderr}"
    );
    for marker in ["cycle_g1_lock", "cycle_g2_lock"] {
        let p = paragraph(&stderr, &site(marker));
        assert!(p.contains("[sync.Mutex.Lock]"), "{name}:\n{p}");
        assert!(
            p.contains("waits for a lock held by goroutine "),
            "{name}:\n{p}"
        );
    }
}

fn expect_clean_exit(name: &str) {
    let out = run_child(name);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains(MESSAGE),
        "{name}: false deadlock report:\n{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
}

/// Starts the child with piped output and reads its first line (which it
/// prints once it is set up).
fn spawn_with_first_line(name: &str) -> (std::process::Child, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("GORO_CHILD", name)
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_string())
}

/// Starts the child and waits for its "ready" line.
fn spawn_ready(name: &str) -> std::process::Child {
    let (child, line) = spawn_with_first_line(name);
    assert_eq!(line, "ready");
    child
}

fn expect_clean_exit_after_kill(name: &str) {
    let mut child = spawn_ready(name);
    // Give a detector that should not be there time to act.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "{name}: exited though detection is off"
    );
    child.kill().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child.wait().unwrap();
    assert!(!err.contains(MESSAGE), "{err}");
}

#[cfg(feature = "net")]
fn expect_clean_exit_after_connect(name: &str) {
    let (mut child, addr) = spawn_with_first_line(name);
    // Longer than the detector's confirmation wait.
    std::thread::sleep(Duration::from_millis(500));
    let _c = std::net::TcpStream::connect(&addr).expect("child still listening");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        !err.contains(MESSAGE),
        "{name}: false deadlock report:\n{err}"
    );
    assert_eq!(status.code(), Some(0), "{name}: {err}");
}

#[cfg(all(unix, feature = "signal"))]
fn expect_sigquit_dump(name: &str) {
    let mut child = spawn_ready(name);
    std::thread::sleep(Duration::from_millis(100));
    let st = Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.starts_with("SIGQUIT: quit\n\n"), "{err}");
    // Main (sleeping), four busy goroutines and one blocked receiver.
    let headers = err.lines().filter(|l| l.starts_with("goroutine ")).count();
    assert_eq!(headers, 6, "{err}");
    assert!(err.contains("[sleep]"), "{err}");
    let p = paragraph(&err, &site("g_sigquit_recv"));
    assert!(p.contains("[chan receive]"), "{p}");
    assert!(
        err.contains("[running]") || err.contains("[runnable]"),
        "{err}"
    );
}
