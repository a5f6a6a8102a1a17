//! The netpoller and `goro::net`: round trips over TCP, UDP and Unix
//! sockets, many connections at once (every byte counted), deadlines,
//! peer reset, half-close, listeners going away, wait reasons, idle CPU.

mod common;

use std::{
    io::ErrorKind,
    net::{Shutdown, SocketAddr},
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::{Duration, Instant},
};

use goro::net::{TcpListener, TcpStream};

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

/// Starts an echo server; returns its address.
fn echo_server() -> SocketAddr {
    let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = ln.local_addr().unwrap();
    goro::go(async move {
        while let Ok((conn, _)) = ln.accept().await {
            goro::go(async move {
                let mut buf = [0; 4096];
                loop {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn tcp_round_trip() {
    rt(2).block_on(async {
        let addr = echo_server();
        let c = TcpStream::connect(addr).await.unwrap();
        assert_eq!(c.peer_addr().unwrap(), addr);
        for i in 0..100u32 {
            let msg = format!("message {i}");
            c.write_all(msg.as_bytes()).await.unwrap();
            let mut buf = vec![0; msg.len()];
            c.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, msg.as_bytes());
        }
    });
}

#[test]
fn tcp_large_transfer_both_ways_at_once() {
    // 8 MiB each way: the writer blocks on a full socket buffer while the
    // reader on the same socket waits too; both must be woken.
    const N: usize = 8 << 20;
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = Arc::new(TcpStream::connect(ln.local_addr().unwrap()).await.unwrap());
        let (s, _) = ln.accept().await.unwrap();
        let s = Arc::new(s);
        let mut hs = Vec::new();
        for conn in [c.clone(), s.clone()] {
            let w = conn.clone();
            hs.push(goro::go(async move {
                let chunk: Vec<u8> = (0..65536).map(|i| i as u8).collect();
                let mut sent = 0;
                while sent < N {
                    w.write_all(&chunk).await.unwrap();
                    sent += chunk.len();
                }
                0usize
            }));
            hs.push(goro::go(async move {
                let mut buf = vec![0; 65536];
                let mut got = 0;
                while got < N {
                    let n = conn.read(&mut buf).await.unwrap();
                    assert!(n > 0, "early EOF");
                    for (k, b) in buf[..n].iter().enumerate() {
                        assert_eq!(*b, ((got + k) % 65536) as u8);
                    }
                    got += n;
                }
                got
            }));
        }
        let mut total = 0;
        for h in hs {
            total += h.await.unwrap();
        }
        assert_eq!(total, 2 * N);
    });
}

#[test]
fn many_concurrent_connections_count_every_byte() {
    let conns = scale(1000);
    const ROUNDS: usize = 10;
    const MSG: usize = 100;
    rt(2).block_on(async move {
        let addr = echo_server();
        let total = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..conns)
            .map(|i| {
                let total = total.clone();
                goro::go(async move {
                    let c = TcpStream::connect(addr).await.unwrap();
                    let msg = vec![(i % 251) as u8; MSG];
                    let mut buf = vec![0; MSG];
                    for _ in 0..ROUNDS {
                        c.write_all(&msg).await.unwrap();
                        c.read_exact(&mut buf).await.unwrap();
                        assert_eq!(buf, msg);
                        total.fetch_add(MSG, SeqCst);
                    }
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        assert_eq!(total.load(SeqCst), conns * ROUNDS * MSG);
    });
}

#[test]
fn read_deadline_fires_and_can_be_reset() {
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (s, _) = ln.accept().await.unwrap();
        let start = Instant::now();
        c.set_read_deadline(Some(start + Duration::from_millis(50)));
        let mut buf = [0; 8];
        let err = c.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(50));
        // Still expired: fails at once, even with data available.
        s.write_all(b"late").await.unwrap();
        assert_eq!(
            c.read(&mut buf).await.unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        // A later deadline makes it usable again; the data is still there.
        c.set_read_deadline(Some(Instant::now() + Duration::from_secs(30)));
        c.read_exact(&mut buf[..4]).await.unwrap();
        assert_eq!(&buf[..4], b"late");
        c.set_read_deadline(None);
        s.write_all(b"more").await.unwrap();
        c.read_exact(&mut buf[..4]).await.unwrap();
        assert_eq!(&buf[..4], b"more");
    });
}

#[test]
fn deadline_set_while_a_read_is_pending_wakes_it() {
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = Arc::new(TcpStream::connect(ln.local_addr().unwrap()).await.unwrap());
        let (_s, _) = ln.accept().await.unwrap();
        let c2 = c.clone();
        let reader = goro::go(async move {
            let mut buf = [0; 8];
            c2.read(&mut buf).await
        });
        goro::time::sleep(Duration::from_millis(20)).await;
        // A deadline in the past wakes the pending read at once (Go's
        // idiom for interrupting a blocked Read).
        c.set_read_deadline(Some(Instant::now()));
        let err = reader.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
    });
}

#[test]
fn deadline_moved_later_does_not_fire_early() {
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = Arc::new(TcpStream::connect(ln.local_addr().unwrap()).await.unwrap());
        let (s, _) = ln.accept().await.unwrap();
        c.set_read_deadline(Some(Instant::now() + Duration::from_millis(20)));
        // Moved before it fires: the old timer must do nothing.
        c.set_read_deadline(Some(Instant::now() + Duration::from_secs(30)));
        let c2 = c.clone();
        let reader = goro::go(async move {
            let mut buf = [0; 2];
            c2.read_exact(&mut buf).await.map(|_| buf)
        });
        goro::time::sleep(Duration::from_millis(80)).await;
        s.write_all(b"ok").await.unwrap();
        assert_eq!(&reader.await.unwrap().unwrap(), b"ok");
    });
}

#[test]
fn write_deadline_fires_when_the_peer_does_not_read() {
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (_s, _) = ln.accept().await.unwrap();
        c.set_write_deadline(Some(Instant::now() + Duration::from_millis(100)));
        let chunk = vec![7u8; 1 << 16];
        let mut written = 0usize;
        let err = loop {
            match c.write(&chunk).await {
                Ok(n) => written += n,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert!(written > 0);
    });
}

#[test]
fn accept_deadline_fires_and_reset_works() {
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        ln.set_deadline(Some(Instant::now() + Duration::from_millis(30)));
        assert_eq!(ln.accept().await.unwrap_err().kind(), ErrorKind::TimedOut);
        ln.set_deadline(Some(Instant::now() + Duration::from_secs(30)));
        let addr = ln.local_addr().unwrap();
        let c = goro::go(async move { TcpStream::connect(addr).await.unwrap() });
        let (s, _) = ln.accept().await.unwrap();
        let c = c.await.unwrap();
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
    });
}

#[test]
fn peer_reset_is_an_error_not_a_hang() {
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (s, _) = ln.accept().await.unwrap();
        let reader = goro::go(async move {
            let mut buf = [0; 8];
            c.read(&mut buf).await
        });
        goro::time::sleep(Duration::from_millis(20)).await;
        s.set_linger(Some(Duration::ZERO)).unwrap();
        drop(s); // sends RST
        let err = reader.await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    });
}

#[test]
fn half_close_peer_reads_eof_and_can_still_write_back() {
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let server = goro::go(async move {
            let (s, _) = ln.accept().await.unwrap();
            let mut got = Vec::new();
            let mut buf = [0; 16];
            loop {
                match s.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => got.extend_from_slice(&buf[..n]),
                }
            }
            // EOF seen; the other direction still works.
            s.write_all(format!("got {} bytes", got.len()).as_bytes())
                .await
                .unwrap();
            got
        });
        let c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"request body").await.unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut reply = Vec::new();
        let mut buf = [0; 32];
        loop {
            match c.read(&mut buf).await.unwrap() {
                0 => break,
                n => reply.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(reply, b"got 12 bytes");
        assert_eq!(server.await.unwrap(), b"request body");
    });
}

/// A listener shared by goroutines blocked in `accept` goes away in Go's
/// way: a deadline in the past wakes every pending `accept` with
/// `TimedOut`; when the last goroutine returns, the listener is dropped
/// and its registration released.
#[test]
fn listener_with_waiting_acceptors_shut_down_by_deadline() {
    rt(2).block_on(async {
        let ln = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let registered = goro::runtime::stats().unwrap().io_registrations;
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let ln = ln.clone();
                goro::go(async move { ln.accept().await.map(|_| ()) })
            })
            .collect();
        goro::time::sleep(Duration::from_millis(20)).await;
        ln.set_deadline(Some(Instant::now()));
        drop(ln);
        for h in hs {
            assert_eq!(h.await.unwrap().unwrap_err().kind(), ErrorKind::TimedOut);
        }
        // The last goroutine dropped the last reference: deregistered.
        assert_eq!(
            goro::runtime::stats().unwrap().io_registrations,
            registered - 1
        );
    });
}

/// Goroutines blocked in `accept` whose goroutine is aborted (or whose
/// runtime shuts down) are cancelled cleanly: their futures are dropped,
/// and with them the listener.
#[test]
fn listener_dropped_with_its_waiting_goroutines() {
    let rt = rt(2);
    let addr = rt.block_on(async {
        let ln = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = ln.local_addr().unwrap();
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let ln = ln.clone();
                goro::go(async move { ln.accept().await.map(|_| ()) })
            })
            .collect();
        drop(ln);
        goro::time::sleep(Duration::from_millis(20)).await;
        for h in &hs {
            h.abort();
        }
        for h in hs {
            assert!(h.await.unwrap_err().is_cancelled());
        }
        addr
    });
    // The port is free again: nothing holds the socket.
    let again = std::net::TcpListener::bind(addr);
    assert!(again.is_ok(), "listener still open: {again:?}");
    // And at runtime shutdown, with goroutines still waiting.
    let rt2 = self::rt(1);
    rt2.block_on(async {
        let ln = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        for _ in 0..4 {
            let ln = ln.clone();
            goro::go(async move { ln.accept().await.map(|_| ()) });
        }
    });
    drop(rt2);
}

#[test]
fn blocked_read_shows_io_wait_at_the_callers_line() {
    let rt = rt(2);
    let report = rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (_s, _) = ln.accept().await.unwrap();
        let line = line!() + 3;
        let h = goro::go(async move {
            let mut buf = [0; 1];
            let _ = c.read(&mut buf).await;
        });
        goro::time::sleep(Duration::from_millis(20)).await;
        let r = std::panic::catch_unwind(goro::testing::assert_no_leaks)
            .expect_err("a goroutine is blocked in read");
        h.abort();
        let msg = r.downcast_ref::<String>().cloned().unwrap_or_default();
        (msg, line)
    });
    let (msg, line) = report;
    assert!(msg.contains("[IO wait]"), "{msg}");
    assert!(msg.contains(&format!("net.rs:{line}:")), "{msg}");
}

#[test]
fn works_from_the_main_goroutine_with_one_proc() {
    // The main goroutine (block_on's thread) waits on sockets; the only
    // worker drives the poller.
    rt(1).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let c = goro::go(async move {
            let c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"from a goroutine").await.unwrap();
            c
        });
        let (s, _) = ln.accept().await.unwrap();
        let mut buf = [0; 16];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"from a goroutine");
        drop(c.await.unwrap());
        assert_eq!(s.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn io_completes_while_every_worker_is_busy() {
    // Both workers spin (yielding) without ever parking: the periodic
    // non-blocking poll must still deliver the socket's readiness.
    rt(2).block_on(async {
        let addr = echo_server();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinners: Vec<_> = (0..4)
            .map(|_| {
                let stop = stop.clone();
                goro::go(async move {
                    while !stop.load(SeqCst) {
                        goro::yield_now().await;
                    }
                })
            })
            .collect();
        let c = goro::go(async move {
            let c = TcpStream::connect(addr).await.unwrap();
            for _ in 0..50 {
                c.write_all(b"ping").await.unwrap();
                let mut buf = [0; 4];
                c.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf, b"ping");
            }
        });
        c.await.unwrap();
        stop.store(true, SeqCst);
        for s in spinners {
            s.await.unwrap();
        }
    });
}

#[test]
#[should_panic(expected = "outside a goro runtime")]
fn sockets_need_a_runtime() {
    let _ = TcpListener::bind("127.0.0.1:0");
}

#[test]
fn futures_io_traits() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    rt(2).block_on(async {
        let addr = echo_server();
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"through futures-io").await.unwrap();
        let mut buf = [0; 18];
        AsyncReadExt::read_exact(&mut c, &mut buf).await.unwrap();
        assert_eq!(&buf, b"through futures-io");
        let (mut r, mut w) = c.into_split();
        w.write_all(b"halves").await.unwrap();
        let mut buf = [0; 6];
        AsyncReadExt::read_exact(&mut r, &mut buf).await.unwrap();
        assert_eq!(&buf, b"halves");
        w.close().await.unwrap();
        assert_eq!(AsyncReadExt::read(&mut r, &mut buf).await.unwrap(), 0);
    });
}

#[cfg(target_os = "linux")]
#[test]
fn an_idle_runtime_with_a_listener_uses_no_cpu() {
    let rt = goro::Runtime::builder()
        .procs(2)
        .thread_name("netidle")
        .build()
        .unwrap();
    let _accepting = rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let h = goro::go(async move {
            let _ = ln.accept().await;
        });
        // Some traffic first, then idle with a goroutine in accept.
        let addr2 = echo_server();
        let c = TcpStream::connect(addr2).await.unwrap();
        c.write_all(b"warm").await.unwrap();
        let mut buf = [0; 4];
        c.read_exact(&mut buf).await.unwrap();
        (h, addr, c)
    });
    let before = common::cpu_ticks("netidle");
    std::thread::sleep(Duration::from_millis(500));
    let used = common::cpu_ticks("netidle") - before;
    // Clock ticks are 10 ms: an idle runtime should use none or one.
    assert!(used <= 2, "idle runtime used {used} ticks of CPU in 500 ms");
}

#[test]
fn udp_round_trip_and_connected_sockets() {
    use goro::net::UdpSocket;
    rt(2).block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let saddr = server.local_addr().unwrap();
        const N: usize = 200;
        let echo = goro::go(async move {
            let mut buf = [0; 64];
            for _ in 0..N {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.connect(saddr).unwrap();
        assert_eq!(c.peer_addr().unwrap(), saddr);
        // Loopback UDP does not drop at this rate; a lost datagram would
        // show up as a read deadline error rather than a hang.
        c.set_read_deadline(Some(Instant::now() + Duration::from_secs(20)));
        let mut buf = [0; 64];
        for i in 0..N {
            let msg = format!("datagram {i}");
            c.send(msg.as_bytes()).await.unwrap();
            let n = c.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], msg.as_bytes());
        }
        echo.await.unwrap();
    });
}

#[test]
fn udp_recv_deadline() {
    use goro::net::UdpSocket;
    rt(1).block_on(async {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)));
        let mut buf = [0; 8];
        assert_eq!(
            s.recv_from(&mut buf).await.unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        s.set_read_deadline(None);
        let me = s.local_addr().unwrap();
        s.send_to(b"self", me).await.unwrap();
        let (n, from) = s.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"self"[..], me));
    });
}

#[cfg(unix)]
#[test]
fn unix_round_trip_many_clients_and_half_close() {
    use goro::net::{UnixListener, UnixStream};
    let dir = std::env::temp_dir().join(format!("goro-net-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    let _ = std::fs::remove_file(&path);
    rt(2).block_on(async {
        let ln = UnixListener::bind(&path).unwrap();
        goro::go(async move {
            while let Ok((conn, _)) = ln.accept().await {
                goro::go(async move {
                    // Read until EOF, then answer with the byte count.
                    let mut n = 0usize;
                    let mut buf = [0; 256];
                    loop {
                        match conn.read(&mut buf).await.unwrap() {
                            0 => break,
                            k => n += k,
                        }
                    }
                    conn.write_all(n.to_string().as_bytes()).await.unwrap();
                });
            }
        });
        let clients = 100;
        let hs: Vec<_> = (0..clients)
            .map(|i| {
                let path = path.clone();
                goro::go(async move {
                    let c = UnixStream::connect(&path).await.unwrap();
                    let msg = vec![b'u'; 1000 + i];
                    c.write_all(&msg).await.unwrap();
                    c.shutdown(Shutdown::Write).unwrap();
                    let mut reply = Vec::new();
                    let mut buf = [0; 16];
                    loop {
                        match c.read(&mut buf).await.unwrap() {
                            0 => break,
                            k => reply.extend_from_slice(&buf[..k]),
                        }
                    }
                    assert_eq!(String::from_utf8(reply).unwrap(), msg.len().to_string());
                    msg.len()
                })
            })
            .collect();
        let mut total = 0;
        for h in hs {
            total += h.await.unwrap();
        }
        assert_eq!(total, (0..clients).map(|i| 1000 + i).sum::<usize>());
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn unix_pair_split_and_deadline() {
    use goro::net::UnixStream;
    rt(2).block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, w) = b.into_split();
        let writer = goro::go(async move {
            for i in 0..100u8 {
                w.write_all(&[i; 100]).await.unwrap();
            }
            w
        });
        let mut buf = [0; 100];
        for i in 0..100u8 {
            a.read_exact(&mut buf).await.unwrap();
            assert!(buf.iter().all(|&b| b == i));
        }
        let _w = writer.await.unwrap();
        r.set_read_deadline(Some(Instant::now() + Duration::from_millis(20)));
        assert_eq!(
            r.read(&mut buf).await.unwrap_err().kind(),
            ErrorKind::TimedOut
        );
    });
}

#[test]
fn registrations_are_released_on_drop() {
    rt(2).block_on(async {
        let addr = echo_server(); // one listener stays registered
        goro::time::sleep(Duration::from_millis(5)).await;
        let before = goro::runtime::stats().unwrap().io_registrations;
        let conns: Vec<_> = futures::future::join_all((0..20).map(|_| TcpStream::connect(addr)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        // Ours and the server's side of each.
        let during = goro::runtime::stats().unwrap().io_registrations;
        assert!(during >= before + 20, "{before} -> {during}");
        drop(conns);
        // The server's goroutines see EOF and drop their side too.
        let start = Instant::now();
        loop {
            let now = goro::runtime::stats().unwrap().io_registrations;
            if now == before {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{now} != {before}"
            );
            goro::time::sleep(Duration::from_millis(5)).await;
        }
    });
}

#[test]
fn a_socket_outliving_its_runtime_fails_instead_of_hanging() {
    let rt1 = rt(1);
    let (c, _s) = rt1.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let s = ln.accept().await.unwrap().0;
        (c, s)
    });
    drop(rt1);
    let err = rt(1).block_on(async move {
        let mut buf = [0; 1];
        c.read(&mut buf).await.unwrap_err()
    });
    assert!(err.to_string().contains("shut down"), "{err}");
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    rt(1).block_on(async {
        // Bind and drop: the port is (very likely) free and refuses.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn many_acceptors_on_one_listener_each_connection_accepted_once() {
    rt(2).block_on(async {
        let ln = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = ln.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        const CONNS: usize = 200;
        let acceptors: Vec<_> = (0..8)
            .map(|_| {
                let (ln, accepted) = (ln.clone(), accepted.clone());
                goro::go(async move {
                    let mut mine = 0;
                    while let Ok((s, _)) = ln.accept().await {
                        accepted.fetch_add(1, SeqCst);
                        mine += 1;
                        // Answer with one byte so the client knows.
                        s.write_all(b"!").await.unwrap();
                    }
                    mine
                })
            })
            .collect();
        let clients: Vec<_> = (0..CONNS)
            .map(|_| {
                goro::go(async move {
                    let c = TcpStream::connect(addr).await.unwrap();
                    let mut b = [0; 1];
                    c.read_exact(&mut b).await.unwrap();
                    assert_eq!(&b, b"!");
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        ln.set_deadline(Some(Instant::now()));
        let mut total = 0;
        for a in acceptors {
            total += a.await.unwrap();
        }
        assert_eq!(total, CONNS);
        assert_eq!(accepted.load(SeqCst), CONNS);
    });
}

#[test]
fn accept_and_read_from_a_foreign_executor() {
    // goro's sockets are driven by wakers: a future polled by another
    // executor (here futures' block_on on a plain thread) works too; the
    // accepted connection joins the listener's runtime.
    let rt = rt(1);
    let (ln, addr) = rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        (ln, addr)
    });
    let client = std::thread::spawn(move || {
        use std::io::Write;
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"foreign").unwrap();
    });
    let got = futures::executor::block_on(async {
        let (s, _) = ln.accept().await.unwrap();
        let mut buf = [0; 7];
        s.read_exact(&mut buf).await.unwrap();
        buf
    });
    assert_eq!(&got, b"foreign");
    client.join().unwrap();
    drop(rt);
}
