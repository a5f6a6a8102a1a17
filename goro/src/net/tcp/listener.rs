//! `TcpListener`: Go's `net.Listen("tcp", ..)` and `Accept`.

use std::{
    fmt,
    future::{poll_fn, Future},
    io,
    net::SocketAddr,
    panic::Location,
    task::{Context, Poll},
    time::Instant,
};

use super::TcpStream;
use crate::net::{each_addr, poll_evented::PollEvented};
use crate::runtime::io::{Direction, Wait};

/// A TCP socket server, listening for connections: Go's `net.Listener`
/// from `net.Listen("tcp", addr)`.
///
/// Dropping it closes the socket. Goroutines cannot be waiting in
/// [`accept`](TcpListener::accept) then (they borrow it); to stop
/// goroutines that share one through an `Arc`, do as in Go: set a
/// deadline in the past with [`set_deadline`](TcpListener::set_deadline),
/// which makes every pending and later `accept` fail with `TimedOut`.
///
/// # Examples
///
/// ```
/// use goro::net::{TcpListener, TcpStream};
///
/// goro::run(async {
///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = ln.local_addr().unwrap();
///     goro::go(async move {
///         let (conn, _) = ln.accept().await.unwrap();
///         let mut buf = [0; 5];
///         conn.read_exact(&mut buf).await.unwrap();
///         conn.write_all(&buf).await.unwrap(); // echo
///     });
///     let c = TcpStream::connect(addr).await.unwrap();
///     c.write_all(b"hello").await.unwrap();
///     let mut buf = [0; 5];
///     c.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"hello");
/// });
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Listens on `addr` (the first of its addresses that works); port 0
    /// picks a free port. The backlog is the kernel's maximum
    /// (`net.core.somaxconn` on Linux), as in Go. Name resolution, if `addr` needs any, blocks.
    /// Must be called inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let ln = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     assert_ne!(ln.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    #[track_caller]
    pub fn bind(addr: impl std::net::ToSocketAddrs) -> io::Result<TcpListener> {
        let at = Location::caller();
        each_addr(addr, |a| {
            let l = crate::net::listen::tcp(a)?;
            Self::register(l, at)
        })
    }

    /// Wraps a listener made with the standard library (it is switched to
    /// non-blocking mode). Must be called inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let std_ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let ln = goro::net::TcpListener::from_std(std_ln).unwrap();
    ///     assert!(ln.local_addr().is_ok());
    /// });
    /// ```
    #[track_caller]
    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        l.set_nonblocking(true)?;
        Self::register(mio::net::TcpListener::from_std(l), Location::caller())
    }

    fn register(l: mio::net::TcpListener, at: &'static Location<'static>) -> io::Result<Self> {
        Ok(TcpListener {
            io: PollEvented::new_at(l, "goro::net::TcpListener", at)?,
        })
    }

    /// Waits for the next connection: Go's `Accept`. Fails with `TimedOut`
    /// once the listener's deadline has passed.
    ///
    /// Out of file descriptors (`EMFILE`/`ENFILE`), it fails with that
    /// error, as Go's does, and the connection stays queued: an accept
    /// loop should back off before it retries, as Go's `http.Server` does
    /// (5 ms, doubling up to 1 s), or it retries at full speed until a
    /// descriptor is free.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     let (s, peer) = ln.accept().await.unwrap();
    ///     assert_eq!(peer, c.local_addr().unwrap());
    ///     assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
    /// });
    /// ```
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + '_ {
        let at = Location::caller();
        let mut wait = Wait::default();
        poll_fn(move |cx| self.poll_accept_at(cx, at, Some(&mut wait)))
    }

    /// The poll step of [`accept`](TcpListener::accept), for hand-written futures.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use goro::net::{TcpListener, TcpStream};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     let (s, from) = poll_fn(|cx| ln.poll_accept(cx)).await.unwrap();
    ///     assert_eq!(from, c.local_addr().unwrap());
    ///     assert_eq!(s.peer_addr().unwrap(), from);
    /// });
    /// ```
    #[track_caller]
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.poll_accept_at(cx, Location::caller(), None)
    }

    fn poll_accept_at(
        &self,
        cx: &mut Context<'_>,
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        self.io
            .poll_io(cx, Direction::Read, at, wait, |l| l.accept())
            .map(|r| {
                let (s, addr) = r?;
                Ok((TcpStream::accepted(self.io.sibling(s)?), addr))
            })
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let ln = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     assert!(ln.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Go's `SetDeadline` on a listener: pending and later `accept`s fail
    /// with `io::ErrorKind::TimedOut` once `deadline` has passed; `None`
    /// removes it. A deadline already past wakes pending `accept`s at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// goro::run(async {
    ///     let ln = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     ln.set_deadline(Some(Instant::now() + Duration::from_millis(10)));
    ///     let err = ln.accept().await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// });
    /// ```
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.io.set_deadline(Direction::Read, deadline)
    }

    /// The deadline set by [`set_deadline`](TcpListener::set_deadline).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// goro::run(async {
    ///     let ln = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     assert_eq!(ln.deadline(), None);
    ///     let d = goro::time::now() + Duration::from_secs(5);
    ///     ln.set_deadline(Some(d));
    ///     assert_eq!(ln.deadline(), Some(d));
    /// });
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.io.deadline(Direction::Read)
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

as_fd!(TcpListener);
