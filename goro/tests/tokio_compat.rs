//! tokio-bound futures inside goroutines (feature `tokio`): tokio's
//! sockets, timers, sync primitives and `tokio::spawn` used from
//! goroutines as written, `Compat` outside goro, a tokio runtime of the
//! user's own, and the deadlock detector while tokio work is in flight.

use std::sync::{
    atomic::{AtomicU64, Ordering::SeqCst},
    Arc,
};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLIENTS: usize = 8;
const ROUNDS: usize = 50;

/// A tokio echo server and tokio clients, every one a goroutine.
#[goro::test]
async fn tokio_net_client_and_server_in_goroutines() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let echoed = Arc::new(AtomicU64::new(0));
    let e = echoed.clone();
    let server = goro::go(async move {
        let conns = goro::sync::WaitGroup::new();
        for _ in 0..CLIENTS {
            let (mut s, _) = listener.accept().await.unwrap();
            let e = e.clone();
            conns.go(async move {
                let mut buf = [0u8; 64];
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    e.fetch_add(n as u64, SeqCst);
                    s.write_all(&buf[..n]).await.unwrap();
                }
            });
        }
        conns.wait().await;
    });
    let clients = goro::sync::WaitGroup::new();
    let replies = Arc::new(AtomicU64::new(0));
    for c in 0..CLIENTS {
        let replies = replies.clone();
        clients.go(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            for r in 0..ROUNDS {
                let msg = format!("client {c} round {r:04}");
                s.write_all(msg.as_bytes()).await.unwrap();
                let mut back = vec![0u8; msg.len()];
                s.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg.as_bytes());
                replies.fetch_add(1, SeqCst);
            }
        });
    }
    clients.wait().await;
    server.await.unwrap();
    assert_eq!(replies.load(SeqCst), (CLIENTS * ROUNDS) as u64);
    let bytes: usize = (0..CLIENTS)
        .map(|c| {
            (0..ROUNDS)
                .map(|r| format!("client {c} round {r:04}").len())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(echoed.load(SeqCst), bytes as u64);
}

#[goro::test]
async fn tokio_time_sleep_and_timeout_in_goroutines() {
    let h = goro::go(async {
        let t = Instant::now();
        tokio::time::sleep(Duration::from_millis(30)).await;
        t.elapsed()
    });
    assert!(h.await.unwrap() >= Duration::from_millis(30));

    // A timeout that fires, around a goro channel that never delivers.
    let (_tx, rx) = goro::chan::<u8>(0);
    let r = tokio::time::timeout(Duration::from_millis(20), rx.recv()).await;
    assert!(r.is_err(), "the timeout should have fired");
    // One that does not.
    let (tx, rx) = goro::chan::<u8>(1);
    goro::go(async move { tx.send(7).await.unwrap() });
    let r = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
    assert_eq!(r.unwrap(), Some(7));

    // An interval: three ticks.
    let mut iv = tokio::time::interval(Duration::from_millis(5));
    for _ in 0..3 {
        iv.tick().await;
    }
}

/// tokio's channels, Mutex and Notify between goroutines and tokio tasks.
#[goro::test]
async fn tokio_sync_between_goroutines_and_tokio_tasks() {
    const N: u64 = 1000;
    // Goroutine → tokio task → goroutine, over tokio mpsc and oneshot.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(16);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<(u64, u64)>();
    tokio::spawn(async move {
        let (mut n, mut sum) = (0, 0);
        while let Some(v) = rx.recv().await {
            n += 1;
            sum += v;
        }
        done_tx.send((n, sum)).unwrap();
    });
    let producers = goro::sync::WaitGroup::new();
    for p in 0..4u64 {
        let tx = tx.clone();
        producers.go(async move {
            for i in 0..N / 4 {
                tx.send(p * (N / 4) + i).await.unwrap();
            }
        });
    }
    drop(tx);
    producers.wait().await;
    assert_eq!(done_rx.await.unwrap(), (N, N * (N - 1) / 2));

    // A tokio Mutex shared by goroutines.
    let m = Arc::new(tokio::sync::Mutex::new(0u64));
    let wg = goro::sync::WaitGroup::new();
    for _ in 0..8 {
        let m = m.clone();
        wg.go(async move {
            for _ in 0..100 {
                *m.lock().await += 1;
            }
        });
    }
    wg.wait().await;
    assert_eq!(*m.lock().await, 800);

    // Notify from a tokio task to a goroutine.
    let notify = Arc::new(tokio::sync::Notify::new());
    let n2 = notify.clone();
    let waiter = goro::go(async move { n2.notified().await });
    goro::time::sleep(Duration::from_millis(5)).await;
    tokio::spawn(async move { notify.notify_one() });
    waiter.await.unwrap();
}

/// goro primitives from tokio tasks work without the feature; with it,
/// tokio tasks spawned from goroutines run on the background thread.
#[goro::test]
async fn tokio_spawn_from_goroutines_runs_on_the_background_thread() {
    let (tx, rx) = goro::chan::<String>(4);
    let h = goro::go(async move {
        tokio::spawn(async move {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            tx.send(name).await.unwrap();
            21 * 2
        })
        .await
        .unwrap()
    });
    assert_eq!(h.await.unwrap(), 42);
    assert_eq!(rx.recv().await.as_deref(), Some("tokio-for-goro"));
}

/// A tokio task that sends on a goro channel after longer than the
/// detector's confirmation wait: main blocked on the channel all along is
/// no deadlock.
#[goro::test]
async fn deadlock_detector_waits_for_tokio_tasks() {
    let (tx, rx) = goro::chan::<u32>(0);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        tx.send(5).await.unwrap();
    });
    assert_eq!(rx.recv().await, Some(5));
}

/// `Compat` outside any goro runtime: on a plain thread with futures'
/// executor, which knows nothing of tokio.
#[test]
fn compat_outside_goro() {
    let got = futures::executor::block_on(goro::compat::Compat::new(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mut a, b) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        let (mut b, _) = b.unwrap();
        a.as_mut().unwrap().write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        b.read_exact(&mut buf).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
        buf
    }));
    assert_eq!(&got, b"ping");
}

/// `Builder::tokio_handle`: goroutines use the user's multi-thread tokio
/// runtime instead of the background one.
#[test]
fn user_supplied_tokio_runtime() {
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("users-tokio")
        .enable_all()
        .build()
        .unwrap();
    let rt = goro::Runtime::builder()
        .procs(2)
        .tokio_handle(tokio_rt.handle().clone())
        .build()
        .unwrap();
    let names = rt.block_on(async {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                goro::go(async {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    tokio::spawn(async { std::thread::current().name().unwrap_or("").to_owned() })
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut names = Vec::new();
        for h in hs {
            names.push(h.await.unwrap());
        }
        names
    });
    assert_eq!(names, vec!["users-tokio"; 4]);
}
