//! Go's socket defaults and options (issue 15): `AsFd`/`AsRawFd` on every
//! socket, the 15 s TCP keep-alive on dialed and accepted connections,
//! names resolved on the blocking pool (never on a worker), `lookup_host`.

#![cfg(feature = "net")]

use std::time::Duration;

use goro::net::{TcpListener, TcpStream, UdpSocket};

fn rt() -> goro::Runtime {
    goro::Runtime::builder().procs(1).build().unwrap()
}

#[cfg(unix)]
#[test]
fn every_socket_lends_its_descriptor() {
    use std::os::fd::{AsFd, AsRawFd};
    fn fd<T: AsFd + AsRawFd>(s: &T) -> i32 {
        assert_eq!(s.as_fd().as_raw_fd(), s.as_raw_fd());
        s.as_raw_fd()
    }
    rt().block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (s, _) = ln.accept().await.unwrap();
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let dir = std::env::temp_dir().join(format!("goro-fd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let uln = goro::net::UnixListener::bind(&path).unwrap();
        let (ua, _ub) = goro::net::UnixStream::pair().unwrap();
        let fds = [fd(&ln), fd(&c), fd(&s), fd(&u), fd(&uln), fd(&ua)];
        let mut sorted = fds.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), fds.len(), "{fds:?}");
        // The descriptor is the socket's: socket2 sees its address.
        let sock = socket2::SockRef::from(&c);
        assert_eq!(
            sock.local_addr().unwrap().as_socket(),
            Some(c.local_addr().unwrap())
        );
        let usock = socket2::SockRef::from(&u);
        assert_eq!(
            usock.local_addr().unwrap().as_socket(),
            Some(u.local_addr().unwrap())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[cfg(unix)]
#[test]
fn dialed_and_accepted_connections_have_gos_keepalive() {
    rt().block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (s, _) = ln.accept().await.unwrap();
        for conn in [&c, &s] {
            assert!(conn.keepalive().unwrap());
            #[cfg(target_os = "linux")]
            {
                let sock = socket2::SockRef::from(conn);
                assert_eq!(sock.keepalive_time().unwrap(), Duration::from_secs(15));
                assert_eq!(sock.keepalive_interval().unwrap(), Duration::from_secs(15));
                assert_eq!(sock.keepalive_retries().unwrap(), 9);
            }
        }
        c.set_keepalive(Some(Duration::from_secs(42))).unwrap();
        #[cfg(target_os = "linux")]
        assert_eq!(
            socket2::SockRef::from(&c).keepalive_time().unwrap(),
            Duration::from_secs(42)
        );
        c.set_keepalive(None).unwrap();
        assert!(!c.keepalive().unwrap());
        assert!(s.keepalive().unwrap());
        // A stream wrapped from std keeps the options it came with.
        let std_ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let w = std::net::TcpStream::connect(std_ln.local_addr().unwrap()).unwrap();
        let w = TcpStream::from_std(w).unwrap();
        assert!(!w.keepalive().unwrap());
    });
}

#[test]
fn names_are_resolved_on_the_blocking_pool() {
    rt().block_on(async {
        let blocking = || goro::runtime::stats().unwrap().blocking_threads;
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let port = addr.port();
        // Addresses and IP literals need no lookup: no thread.
        let a = TcpStream::connect(addr).await.unwrap();
        let b = TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let d = TcpStream::connect(&[addr][..]).await.unwrap();
        assert_eq!(blocking(), 0, "an IP literal was looked up");
        // A name is looked up by a blocking-pool thread.
        let e = TcpStream::connect(format!("localhost:{port}")).await;
        assert!(blocking() >= 1, "the lookup ran on the worker");
        // (localhost may resolve to ::1 first, where nobody listens; the
        // dialer then tries 127.0.0.1, as Go's does.)
        let e = e.unwrap();
        let mut accepted = 0;
        for conn in [&a, &b, &c, &d, &e] {
            let (s, peer) = ln.accept().await.unwrap();
            assert_eq!(s.local_addr().unwrap(), addr);
            assert_eq!(conn.peer_addr().unwrap(), addr);
            let _ = peer;
            accepted += 1;
        }
        assert_eq!(accepted, 5);
    });
}

#[test]
fn lookup_host_resolves_names_and_literals() {
    rt().block_on(async {
        let v = goro::net::lookup_host("localhost:8080").await.unwrap();
        assert!(!v.is_empty());
        assert!(v.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
        let v = goro::net::lookup_host(("::1", 9)).await.unwrap();
        assert_eq!(v, vec!["[::1]:9".parse().unwrap()]);
        let err = goro::net::lookup_host("no port here").await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        let err = goro::net::lookup_host("nonexistent.invalid:80").await;
        assert!(err.is_err(), "{err:?}");
    });
}

#[test]
fn a_slow_lookup_does_not_hold_the_only_worker() {
    // While one goroutine resolves, goroutines on the single worker run.
    rt().block_on(async {
        let lookup = goro::go(goro::net::lookup_host("localhost:80"));
        let mut n = 0;
        for i in 0..100 {
            n += goro::go(async move { i }).await.unwrap();
        }
        assert_eq!(n, 4950);
        assert!(!lookup.await.unwrap().unwrap().is_empty());
    });
}
