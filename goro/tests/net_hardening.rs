//! The netpoller under pressure and abuse (issue 11): the listen backlog
//! under a burst of connects, socket deadlines on a paused clock, waiters
//! abandoned by dropped futures, wakers that panic when the netpoller wakes
//! them, peers that reset, garbage input, and file-descriptor exhaustion.
//! Everything on 127.0.0.1.

#![cfg(feature = "net")]

mod common;

use std::{
    future::Future,
    io::{ErrorKind, Read, Write},
    net::SocketAddr,
    pin::pin,
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        mpsc, Arc,
    },
    task::{Context, Wake, Waker},
    time::{Duration, Instant},
};

use common::CountWaker;
use goro::net::{TcpListener, TcpStream};

fn rt(procs: usize) -> goro::Runtime {
    goro::Runtime::builder().procs(procs).build().unwrap()
}

/// Runs `f` on a thread and fails the test if it takes longer than
/// `limit` (a hang catcher, not a speed assertion).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("hung for more than {limit:?}"),
    }
}

// ---------------------------------------------------------------- item 16

/// The kernel's cap on a listen backlog (Linux), if it can be read.
fn somaxconn() -> Option<usize> {
    std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A burst of 400 connects while nobody accepts yet: with a backlog of
/// 128 the kernel drops the SYNs past the queue and those connects stall
/// for the ~1 s SYN retransmit. With Go's backlog (somaxconn) every one
/// completes in the kernel at once. The bound (900 ms per connect) is far
/// above a loopback handshake and below the retransmit.
#[test]
fn a_burst_of_400_connects_fits_the_listen_backlog() {
    const N: usize = 400;
    if somaxconn().is_some_and(|m| m < N + 10) {
        eprintln!("somaxconn below {N}: nothing to check here");
        return;
    }
    rt(1).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        // Plain threads connect, so the burst does not depend on goro.
        let clients = goro::spawn_blocking(move || {
            let mut conns = Vec::new();
            let mut stalled = 0;
            for _ in 0..N {
                match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(900)) {
                    Ok(c) => conns.push(c),
                    Err(_) => {
                        stalled += 1;
                        if stalled == 3 {
                            break; // no need to wait for the rest
                        }
                    }
                }
            }
            (conns, stalled)
        })
        .await
        .unwrap();
        let (conns, stalled) = clients;
        assert_eq!(
            stalled, 0,
            "{stalled} of {N} connects stalled on the backlog"
        );
        // And every one of them is accepted, each once.
        let mut peers = std::collections::HashSet::new();
        for _ in 0..N {
            let (s, peer) = ln.accept().await.unwrap();
            assert_eq!(s.peer_addr().unwrap(), peer);
            assert!(peers.insert(peer));
        }
        let locals: std::collections::HashSet<SocketAddr> =
            conns.iter().map(|c| c.local_addr().unwrap()).collect();
        assert_eq!(peers, locals);
    });
}

/// The same for a Unix listener: 400 non-blocking connects while nobody
/// accepts. A full backlog says `EAGAIN` at once (Linux) instead of
/// stalling, so the count of refusals is exact.
#[cfg(target_os = "linux")]
#[test]
fn a_burst_of_400_unix_connects_fits_the_listen_backlog() {
    use socket2::{Domain, SockAddr, Socket, Type};
    const N: usize = 400;
    if somaxconn().is_some_and(|m| m < N + 10) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("goro-backlog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("l.sock");
    let _ = std::fs::remove_file(&path);
    rt(1).block_on(async {
        let ln = goro::net::UnixListener::bind(&path).unwrap();
        let addr = SockAddr::unix(&path).unwrap();
        let mut conns = Vec::new();
        let mut refused = 0;
        for _ in 0..N {
            let s = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
            s.set_nonblocking(true).unwrap();
            match s.connect(&addr) {
                Ok(()) => conns.push(s),
                Err(_) => refused += 1,
            }
        }
        assert_eq!(
            refused, 0,
            "{refused} of {N} connects found the backlog full"
        );
        for _ in 0..N {
            ln.accept().await.unwrap();
        }
        assert_eq!(conns.len(), N);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- item 17

/// Under a paused clock, deadlines are instants on goro's clock
/// (`goro::time::now()`), not the real one: 50 ms of real work must not
/// make a deadline 30 virtual ms ahead look expired.
#[test]
fn socket_deadlines_use_the_paused_clock() {
    let rt = goro::Runtime::builder()
        .procs(1)
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (s, _) = ln.accept().await.unwrap();
        c.write_all(b"x").await.unwrap();
        std::thread::sleep(Duration::from_millis(50)); // real work; virtual time stands
        let start = goro::time::now();
        s.set_read_deadline(Some(start + Duration::from_millis(30)));
        let mut buf = [0; 1];
        // The byte is there and the deadline is 30 virtual ms away.
        assert_eq!(s.read(&mut buf).await.unwrap(), 1);
        assert_eq!(&buf, b"x");
        // Nothing more comes: the read times out when the clock gets there.
        let err = s.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(goro::time::now() - start >= Duration::from_millis(30));
        // Likewise a listener's deadline.
        let t = goro::time::now();
        std::thread::sleep(Duration::from_millis(20));
        ln.set_deadline(Some(t + Duration::from_millis(10)));
        assert_eq!(ln.accept().await.unwrap_err().kind(), ErrorKind::TimedOut);
        assert!(goro::time::now() - t >= Duration::from_millis(10));
    });
}

// ---------------------------------------------------------------- item 20

/// A read polled once and dropped leaves no waker behind: each of 500
/// abandoned reads (and accepts) used its own waker, and none is held
/// once its future is gone.
#[test]
fn abandoned_waiters_do_not_keep_their_wakers() {
    rt(1).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (s, _) = ln.accept().await.unwrap();
        let mut wakers = Vec::new();
        for _ in 0..500 {
            let w = Arc::new(CountWaker::default());
            {
                let mut buf = [0; 8];
                let mut read = pin!(s.read(&mut buf));
                assert!(common::poll_once(read.as_mut(), &w).is_pending());
                let mut accept = pin!(ln.accept());
                assert!(common::poll_once(accept.as_mut(), &w).is_pending());
            }
            wakers.push(w);
        }
        let held = wakers.iter().filter(|w| Arc::strong_count(w) > 1).count();
        assert_eq!(held, 0, "{held} wakers of dropped futures still held");
        // The socket still works, and a live reader is still woken.
        let reader = goro::go(async move {
            let mut buf = [0; 2];
            s.read_exact(&mut buf).await.map(|()| buf)
        });
        goro::time::sleep(Duration::from_millis(10)).await;
        c.write_all(b"ok").await.unwrap();
        assert_eq!(&reader.await.unwrap().unwrap(), b"ok");
        assert!(wakers.iter().all(|w| w.wakes() == 0));
    });
}

/// The `poll_*` trait path (no future to own a registration) holds one
/// waker per direction, the latest.
#[test]
fn trait_polls_keep_only_the_latest_waker() {
    use futures::io::AsyncRead;
    rt(1).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (mut s, _) = ln.accept().await.unwrap();
        let ws: Vec<_> = (0..100).map(|_| Arc::new(CountWaker::default())).collect();
        for w in &ws {
            let waker = Waker::from(w.clone());
            let mut buf = [0; 4];
            let r =
                std::pin::Pin::new(&mut s).poll_read(&mut Context::from_waker(&waker), &mut buf);
            assert!(r.is_pending());
        }
        let held = ws.iter().filter(|w| Arc::strong_count(w) > 1).count();
        assert_eq!(held, 1, "only the last poll's waker is kept");
        c.write_all(b"wake").await.unwrap();
        let last = ws.last().unwrap();
        let start = Instant::now();
        while last.wakes() == 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "not woken");
            goro::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(ws.iter().map(|w| w.wakes()).sum::<usize>(), 1);
    });
}

/// A foreign waker that panics when woken.
struct PanicWaker(AtomicUsize);

impl Wake for PanicWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
        panic!("this waker panics");
    }
}

/// The netpoller wakes a foreign waker that panics: the panic must not
/// unwind through the worker (which would die with every goroutine on its
/// queue). Both the readiness path and the deadline path.
#[test]
fn a_panicking_waker_woken_by_the_netpoller_does_not_kill_a_worker() {
    within(Duration::from_secs(20), || {
        rt(1).block_on(async {
            let ln = TcpListener::bind("127.0.0.1:0").unwrap();
            let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
            let (s, _) = ln.accept().await.unwrap();
            let s = Arc::new(s);
            let pw = Arc::new(PanicWaker(AtomicUsize::new(0)));
            // A goroutine registers the panicking waker, on reads (woken by
            // readiness) and on the listener (woken by its deadline).
            let (s2, pw2) = (s.clone(), pw.clone());
            let ln = Arc::new(ln);
            let ln2 = ln.clone();
            goro::go(async move {
                let waker = Waker::from(pw2);
                let mut cx = Context::from_waker(&waker);
                // Leaked, so their registrations stay (a dropped future
                // takes its waker out).
                let buf = Box::leak(Box::new([0u8; 1]));
                let mut read = Box::pin(s2.read(buf));
                assert!(read.as_mut().poll(&mut cx).is_pending());
                let mut accept = Box::pin(ln2.accept());
                assert!(accept.as_mut().poll(&mut cx).is_pending());
                std::mem::forget(read);
                std::mem::forget(accept);
            })
            .await
            .unwrap();
            ln.set_deadline(Some(goro::time::now() + Duration::from_millis(5)));
            c.write_all(b"x").await.unwrap();
            // Goroutines on the (only) worker keep running after both
            // wake-ups have been delivered.
            let start = Instant::now();
            while pw.0.load(SeqCst) < 2 {
                assert!(start.elapsed() < Duration::from_secs(10), "not woken");
                goro::go(async { goro::time::sleep(Duration::from_millis(1)).await })
                    .await
                    .unwrap();
            }
            let mut done = 0;
            for i in 0..100 {
                done += goro::go(async move { i % 2 }).await.unwrap();
            }
            assert_eq!(done, 50);
        });
    });
}

// ------------------------------------------------------- adversarial input

/// Connections that reset mid-write, send garbage and vanish, or close
/// half way: the server side sees errors or EOF, never hangs, and every
/// well-behaved client still gets every byte back.
#[test]
fn resets_and_garbage_among_good_clients() {
    within(Duration::from_secs(20), || {
        rt(2).block_on(async {
            let ln = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = ln.local_addr().unwrap();
            let served = Arc::new(AtomicUsize::new(0));
            let served2 = served.clone();
            goro::go(async move {
                while let Ok((conn, _)) = ln.accept().await {
                    let served = served2.clone();
                    goro::go(async move {
                        let mut buf = [0; 1024];
                        loop {
                            match conn.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if conn.write_all(&buf[..n]).await.is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        served.fetch_add(1, SeqCst);
                    });
                }
            });
            const GOOD: usize = 50;
            const BAD: usize = 150;
            // Bad clients on plain threads: garbage then a reset.
            let bad = goro::spawn_blocking(move || {
                for i in 0..BAD {
                    let mut c = std::net::TcpStream::connect(addr).unwrap();
                    let junk: Vec<u8> = (0..(i * 97) % 5000).map(|j| (j * 31 + i) as u8).collect();
                    let _ = c.write_all(&junk);
                    if i % 3 == 0 {
                        // RST: linger 0.
                        socket2::SockRef::from(&c)
                            .set_linger(Some(Duration::ZERO))
                            .unwrap();
                    } else if i % 3 == 1 {
                        let _ = c.shutdown(std::net::Shutdown::Write);
                        let mut sink = Vec::new();
                        let _ = c.read_to_end(&mut sink);
                    }
                    drop(c);
                }
            });
            let mut good = Vec::new();
            for i in 0..GOOD {
                good.push(goro::go(async move {
                    let c = TcpStream::connect(addr).await.unwrap();
                    let msg: Vec<u8> = (0..3000).map(|j| (i + j) as u8).collect();
                    let (r, w) = c.into_split();
                    let m2 = msg.clone();
                    let writer = goro::go(async move {
                        w.write_all(&m2).await.unwrap();
                        w.shutdown().unwrap();
                    });
                    let mut got = Vec::new();
                    let mut buf = [0; 512];
                    loop {
                        match r.read(&mut buf).await.unwrap() {
                            0 => break,
                            n => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    writer.await.unwrap();
                    assert_eq!(got, msg);
                    got.len()
                }));
            }
            let mut bytes = 0;
            for g in good {
                bytes += g.await.unwrap();
            }
            assert_eq!(bytes, GOOD * 3000);
            bad.await.unwrap();
            let start = Instant::now();
            while served.load(SeqCst) < GOOD + BAD {
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "served {} of {}",
                    served.load(SeqCst),
                    GOOD + BAD
                );
                goro::time::sleep(Duration::from_millis(5)).await;
            }
            assert_eq!(served.load(SeqCst), GOOD + BAD);
        });
    });
}

/// Writing to a peer that is gone is an error (EPIPE or a reset), not a
/// signal that kills the process, and not a hang.
#[test]
fn writing_to_a_closed_peer_is_an_error() {
    within(Duration::from_secs(20), || {
        rt(1).block_on(async {
            let ln = TcpListener::bind("127.0.0.1:0").unwrap();
            let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
            drop(ln.accept().await.unwrap());
            let chunk = vec![7u8; 64 * 1024];
            let mut err = None;
            for _ in 0..1000 {
                if let Err(e) = c.write_all(&chunk).await {
                    err = Some(e);
                    break;
                }
            }
            let err = err.expect("writes to a closed peer kept succeeding");
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
                ),
                "{err}"
            );
        });
    });
}

// ------------------------------------------------------ fd exhaustion

/// Env var telling the re-executed test binary to run the child side.
const CHILD: &str = "GORO_NET_FD_CHILD";

/// With the process out of file descriptors, `accept` fails with the
/// error (EMFILE) instead of spinning, panicking or killing a worker; once
/// descriptors are free again the pending connection is accepted. Runs in
/// a child process whose `RLIMIT_NOFILE` is lowered (the limit is
/// process-wide and would starve the other tests).
#[test]
#[cfg(target_os = "linux")]
fn accept_under_fd_exhaustion_reports_and_recovers() {
    if std::env::var_os(CHILD).is_some() {
        return fd_exhaustion_child();
    }
    let exe = std::env::current_exe().unwrap();
    let out = within(Duration::from_secs(20), move || {
        std::process::Command::new(exe)
            .args([
                "accept_under_fd_exhaustion_reports_and_recovers",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed: {:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("CHILD OK"), "{stdout}\n{stderr}");
}

#[cfg(target_os = "linux")]
fn fd_exhaustion_child() {
    let limit = 256;
    let r = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: plain syscall on a valid struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) }, 0);
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        // A connection waits in the backlog...
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        // ...while the descriptor table fills up.
        let mut fillers = Vec::new();
        let err = loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => fillers.push(f),
                Err(e) => break e,
            }
        };
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        // accept reports it, and so does every retry (no hang, no crash);
        // the runtime keeps running goroutines.
        for _ in 0..10 {
            let e = ln.accept().await.unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
            assert_eq!(goro::go(async { 7 }).await.unwrap(), 7);
        }
        // Descriptors free again: the waiting connection is accepted.
        let n = fillers.len();
        drop(fillers);
        let (s, peer) = ln.accept().await.unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        c.write_all(b"hi").unwrap();
        let mut buf = [0; 2];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hi");
        println!("CHILD OK after {n} descriptors filled the table");
    });
}

// --------------------------------------------------------- many connections

/// 1,000 connections open at once, each echoing a numbered message: every
/// byte counted.
#[test]
fn a_thousand_connections_at_once() {
    within(Duration::from_secs(20), || {
        rt(2).block_on(async {
            let ln = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = ln.local_addr().unwrap();
            goro::go(async move {
                while let Ok((conn, _)) = ln.accept().await {
                    goro::go(async move {
                        let mut buf = [0; 8];
                        if conn.read_exact(&mut buf).await.is_ok() {
                            let _ = conn.write_all(&buf).await;
                        }
                    });
                }
            });
            const N: u64 = 1000;
            let conns = futures::future::join_all((0..N).map(|_| TcpStream::connect(addr))).await;
            let conns: Vec<_> = conns.into_iter().map(Result::unwrap).collect();
            let mut hs = Vec::new();
            for (i, c) in conns.into_iter().enumerate() {
                hs.push(goro::go(async move {
                    c.write_all(&(i as u64).to_le_bytes()).await.unwrap();
                    let mut buf = [0; 8];
                    c.read_exact(&mut buf).await.unwrap();
                    u64::from_le_bytes(buf)
                }));
            }
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            assert_eq!(sum, N * (N - 1) / 2);
        });
    });
}
