//! Lock-cycle (partial deadlock) detection (issue 16 part 2): an AB/BA
//! pair is reported at once while 100 other goroutines keep serving. The
//! program mode (`fatal error: goroutines deadlocked on locks`, exit 2) is
//! tested in a child process by `tests/deadlock.rs`.

use std::sync::{
    atomic::{AtomicUsize, Ordering::SeqCst},
    Arc,
};

use goro::{
    chan,
    chan::Sender,
    runtime::{dump, LockCycles, Status, WaitReason},
    sync::{Mutex, WaitGroup},
};

const SERVERS: usize = 100;

/// 100 servers answering `n` with `2n` on the reply channel it came with.
fn start_servers() -> Sender<(u64, Sender<u64>)> {
    let (tx, rx) = chan::<(u64, Sender<u64>)>(0);
    for _ in 0..SERVERS {
        let rx = rx.clone();
        goro::go(async move {
            while let Some((n, reply)) = rx.recv().await {
                let _ = reply.send(2 * n).await;
            }
        });
    }
    tx
}

/// The pair: each takes one lock, waits for the other to have its own,
/// then asks for the other's. Returns the lines they block at.
fn start_pair() -> (u32, u32) {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let both = WaitGroup::new();
    both.add(2);
    let (a1, b1, w1) = (a.clone(), b.clone(), both.clone());
    let l1 = line!() + 5;
    goro::go(async move {
        let _ga = a1.lock().await;
        w1.done();
        w1.wait().await;
        let _gb = b1.lock().await;
    });
    let l2 = line!() + 5;
    goro::go(async move {
        let _gb = b.lock().await;
        both.done();
        both.wait().await;
        let _ga = a.lock().await;
    });
    (l1, l2)
}

/// Sends requests forever (until the runtime stops it), checking every
/// answer; counts them in `served`. After 1,000 answers, starts the pair.
async fn serve_forever(
    servers: Sender<(u64, Sender<u64>)>,
    served: Arc<AtomicUsize>,
    lines: Arc<std::sync::Mutex<(u32, u32)>>,
) {
    let (reply_tx, reply_rx) = chan::<u64>(0);
    for n in 0u64.. {
        if n == 1_000 {
            *lines.lock().unwrap() = start_pair();
        }
        servers.send((n, reply_tx.clone())).await.unwrap();
        assert_eq!(reply_rx.recv().await, Some(2 * n));
        served.fetch_add(1, SeqCst);
    }
}

/// Runs `body` as a `#[goro::test]` body on 2 procs; the panic message of
/// the lock-cycle report it must end in.
fn cycle_report_of(body: impl std::future::Future<Output = ()> + Send + 'static) -> String {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let rt = goro::Runtime::builder().procs(2).build().unwrap();
        goro::testing::run_test(rt, false, body)
    }));
    let p = r.expect_err("the cycle fails the test");
    let msg = p
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| p.downcast_ref::<&str>().unwrap().to_string());
    assert!(
        msg.starts_with("fatal error: goroutines deadlocked on locks\n"),
        "{msg}"
    );
    msg
}

#[test]
fn ab_ba_pair_fails_the_test_while_100_goroutines_serve() {
    let served = Arc::new(AtomicUsize::new(0));
    let s = served.clone();
    let lines = Arc::new(std::sync::Mutex::new((0, 0)));
    let l = lines.clone();
    let msg = cycle_report_of(async move {
        serve_forever(start_servers(), s, l).await;
    });
    let (l1, l2) = *lines.lock().unwrap();
    for line in [l1, l2] {
        assert!(msg.contains(&format!("\t{}:{line}:", file!())), "{msg}");
    }
    assert_eq!(
        msg.matches("waits for a lock held by goroutine").count(),
        2,
        "{msg}"
    );
    assert_eq!(msg.matches("goroutine ").count(), 4, "{msg}");
    // Main was serving, not asleep: Go's detector could not have fired.
    assert!(!msg.contains("all goroutines are asleep"), "{msg}");
    // The servers answered (exactly, each checked) before the pair started,
    // and kept answering until main was stopped by the report.
    assert!(served.load(SeqCst) >= 1_000, "{}", served.load(SeqCst));
}

/// `LockCycles::Report`: printed once, and the program runs on — the
/// 100 servers answer 2,000 more requests after the pair is stuck.
#[test]
fn report_mode_lets_the_rest_run_on() {
    let rt = goro::Runtime::builder()
        .procs(2)
        .lock_cycles(LockCycles::Report)
        .build()
        .unwrap();
    rt.block_on(async {
        let servers = start_servers();
        start_pair();
        // Wait until both of the pair block in their second lock.
        while dump()
            .goroutines()
            .iter()
            .filter(|g| g.status == Status::Waiting(WaitReason::MutexLock))
            .count()
            < 2
        {
            goro::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let (reply_tx, reply_rx) = chan::<u64>(0);
        let mut sum = 0;
        for n in 0..2_000u64 {
            servers.send((n, reply_tx.clone())).await.unwrap();
            sum += reply_rx.recv().await.unwrap();
        }
        assert_eq!(sum, 2 * (0..2_000u64).sum::<u64>());
    });
}

/// Locks taken in opposite orders at different times, owned guards moved
/// between goroutines, cancelled lock futures: no report.
#[goro::test]
async fn no_report_without_a_cycle() {
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    for _ in 0..200 {
        let (a1, b1) = (a.clone(), b.clone());
        goro::go(async move {
            let _ga = a1.lock().await;
            goro::yield_now().await;
            let _gb = b1.lock().await;
        })
        .await
        .unwrap();
        let _gb = b.lock().await;
        let _ga = a.lock().await;
        drop(_ga);
        // A lock future given up while another goroutine holds the lock.
        let a3 = a.clone();
        let holder = goro::go(async move {
            let _g = a3.lock().await;
            goro::time::sleep(std::time::Duration::from_micros(200)).await;
        });
        goro::yield_now().await;
        let _ = goro::time::timeout(std::time::Duration::from_micros(10), a.lock()).await;
        drop(_gb);
        holder.await.unwrap();
        // An owned guard moved into another goroutine, then relocked here.
        let g = a.clone().lock_owned().await;
        let h = goro::go(async move {
            goro::yield_now().await;
            drop(g);
        });
        drop(a.lock().await);
        h.await.unwrap();
    }
}

/// Main holds a lock and joins the goroutine that waits for it: a cycle
/// through a `JoinHandle`, reported while 100 servers keep answering.
#[test]
fn main_joining_a_goroutine_that_waits_for_its_lock() {
    let join_line = Arc::new(AtomicUsize::new(0));
    let jl = join_line.clone();
    let msg = cycle_report_of(async move {
        let servers = start_servers();
        let m = Arc::new(Mutex::new(0));
        let g = m.lock().await;
        let m2 = m.clone();
        let h = goro::go(async move {
            *m2.lock().await += 1;
        });
        // The servers answer while the pair is stuck (checked by value).
        let (reply_tx, reply_rx) = chan::<u64>(0);
        for n in 0..100u64 {
            servers.send((n, reply_tx.clone())).await.unwrap();
            assert_eq!(reply_rx.recv().await, Some(2 * n));
        }
        jl.store(line!() as usize + 1, SeqCst);
        h.await.unwrap();
        drop(g);
    });
    assert_eq!(
        msg.matches("waits for the end of goroutine").count(),
        1,
        "{msg}"
    );
    assert_eq!(
        msg.matches("waits for a lock held by goroutine").count(),
        1,
        "{msg}"
    );
    let line = join_line.load(SeqCst);
    assert!(msg.contains(&format!("\t{}:{line}:", file!())), "{msg}");
    assert!(msg.contains("[goroutine join]"), "{msg}");
}

/// Three goroutines: A joins B, B joins C, C waits for a lock A holds.
#[test]
fn a_join_chain_closed_by_a_lock() {
    let msg = cycle_report_of(async move {
        let m = Arc::new(Mutex::new(0));
        let (ready_tx, ready_rx) = chan::<()>(0);
        let m_a = m.clone();
        let a = goro::go(async move {
            let _g = m_a.lock().await;
            ready_tx.send(()).await.unwrap();
            let m_c = m_a.clone();
            let b = goro::go(async move {
                let c = goro::go(async move {
                    *m_c.lock().await += 1;
                });
                c.await.unwrap();
            });
            b.await.unwrap();
        });
        ready_rx.recv().await.unwrap();
        a.await.unwrap();
    });
    assert_eq!(
        msg.matches("waits for the end of goroutine").count(),
        2,
        "{msg}"
    );
    assert_eq!(
        msg.matches("waits for a lock held by goroutine").count(),
        1,
        "{msg}"
    );
}

/// A join given up by a timeout leaves no edge that counts: the joiner
/// then holds a lock its joined goroutine waits for, which is no cycle
/// (the joiner is not waiting), and the program ends normally.
#[goro::test]
async fn a_timed_out_join_is_no_cycle() {
    for _ in 0..50 {
        let m = Arc::new(Mutex::new(0));
        let (go_tx, go_rx) = chan::<()>(0);
        let m2 = m.clone();
        let mut h = goro::go(async move {
            go_rx.recv().await;
            *m2.lock().await += 1;
        });
        let t = goro::time::timeout(std::time::Duration::from_micros(50), &mut h).await;
        assert!(t.is_err(), "the joined goroutine waits for go_rx");
        let g = m.lock().await;
        go_tx.send(()).await.unwrap();
        // The joined goroutine now waits for `g`, the stale join edge
        // points back at it: no report, as this goroutine sleeps.
        goro::time::sleep(std::time::Duration::from_millis(1)).await;
        drop(g);
        h.await.unwrap();
        assert_eq!(*m.lock().await, 1);
    }
}
