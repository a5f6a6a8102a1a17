//! UDP: `UdpSocket` (Go's `net.ListenPacket("udp", ..)`, `net.DialUDP`).

use std::{
    fmt,
    future::{poll_fn, Future},
    io,
    net::{SocketAddr, ToSocketAddrs},
    panic::Location,
    task::{Context, Poll},
    time::Instant,
};

use super::{each_addr, poll_evented::PollEvented};
use crate::runtime::io::{Direction, Wait};

/// A UDP socket: Go's `net.UDPConn`. Methods take `&self`; share it with
/// an `Arc` to send and receive from different goroutines.
///
/// # Examples
///
/// ```
/// use goro::net::UdpSocket;
/// goro::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from, a.local_addr().unwrap());
/// });
/// ```
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (the first of its addresses that works); port 0
    /// picks a free port. Must be called inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// let s = UdpSocket::bind("127.0.0.1:0").unwrap(); // port 0: any free port
    /// assert_ne!(s.local_addr().unwrap().port(), 0);
    /// # });
    /// ```
    #[track_caller]
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let at = Location::caller();
        each_addr(addr, |a| {
            Ok(UdpSocket {
                io: PollEvented::new_at(mio::net::UdpSocket::bind(a)?, "goro::net::UdpSocket", at)?,
            })
        })
    }

    /// Wraps a socket made with the standard library (it is switched to
    /// non-blocking mode). Must be called inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let s = goro::net::UdpSocket::from_std(s).unwrap();
    ///     assert!(s.local_addr().is_ok());
    /// });
    /// ```
    #[track_caller]
    pub fn from_std(s: std::net::UdpSocket) -> io::Result<UdpSocket> {
        s.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: PollEvented::new_at(
                mio::net::UdpSocket::from_std(s),
                "goro::net::UdpSocket",
                Location::caller(),
            )?,
        })
    }

    /// Sets the default destination, for [`send`](UdpSocket::send), and
    /// receives only from it (Go's `DialUDP`). Does not wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::UdpSocket;
    /// goro::run(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     a.connect(b.local_addr().unwrap()).unwrap();
    ///     b.connect(a.local_addr().unwrap()).unwrap();
    ///     a.send(b"hi").await.unwrap();
    ///     let mut buf = [0; 8];
    ///     assert_eq!(b.recv(&mut buf).await.unwrap(), 2);
    ///     assert_eq!(b.peer_addr().unwrap(), a.local_addr().unwrap());
    /// });
    /// ```
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(addr, |a| self.io.get_ref().connect(a))
    }

    /// Sends one datagram to `target`; returns the bytes sent.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.send_to(b"hello", b.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 16];
    /// let (n, from) = b.recv_from(&mut buf).await.unwrap();
    /// assert_eq!((&buf[..n], from), (&b"hello"[..], a.local_addr().unwrap()));
    /// # });
    /// ```
    #[track_caller]
    pub fn send_to<'a>(
        &'a self,
        buf: &'a [u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        let at = Location::caller();
        let mut wait = Wait::default();
        poll_fn(move |cx| {
            self.io
                .poll_io(cx, Direction::Write, at, Some(&mut wait), |s| {
                    s.send_to(buf, target)
                })
        })
    }

    /// Receives one datagram; returns its length and sender. A datagram
    /// longer than `buf` is truncated (the rest is lost, as in Go).
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 16];
    /// let (n, from) = b.recv_from(&mut buf).await.unwrap();
    /// assert_eq!(&buf[..n], b"ping");
    /// assert_eq!(from, a.local_addr().unwrap());
    /// # });
    /// ```
    #[track_caller]
    pub fn recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a {
        let at = Location::caller();
        let mut wait = Wait::default();
        poll_fn(move |cx| self.poll_recv_from_at(cx, buf, at, Some(&mut wait)))
    }

    /// The poll step of [`recv_from`](UdpSocket::recv_from).
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// use std::future::poll_fn;
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.send_to(b"x", b.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 4];
    /// let (n, _) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await.unwrap();
    /// assert_eq!(n, 1);
    /// # });
    /// ```
    #[track_caller]
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.poll_recv_from_at(cx, buf, Location::caller(), None)
    }

    fn poll_recv_from_at(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io
            .poll_io(cx, Direction::Read, at, wait, |s| s.recv_from(buf))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// a.send(b"to b").await.unwrap();
    /// let mut buf = [0; 8];
    /// let (n, _) = b.recv_from(&mut buf).await.unwrap();
    /// assert_eq!(&buf[..n], b"to b");
    /// # });
    /// ```
    #[track_caller]
    pub fn send<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        let at = Location::caller();
        let mut wait = Wait::default();
        poll_fn(move |cx| {
            self.io
                .poll_io(cx, Direction::Write, at, Some(&mut wait), |s| s.send(buf))
        })
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// b.connect(a.local_addr().unwrap()).unwrap(); // receive only from a
    /// a.send_to(b"hi", b.local_addr().unwrap()).await.unwrap();
    /// let mut buf = [0; 8];
    /// let n = b.recv(&mut buf).await.unwrap();
    /// assert_eq!(&buf[..n], b"hi");
    /// # });
    /// ```
    #[track_caller]
    pub fn recv<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        let at = Location::caller();
        let mut wait = Wait::default();
        poll_fn(move |cx| {
            self.io
                .poll_io(cx, Direction::Read, at, Some(&mut wait), |s| s.recv(buf))
        })
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(a.peer_addr().is_err()); // not connected
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// let s = UdpSocket::bind("0.0.0.0:0").unwrap();
    /// s.set_broadcast(true).unwrap();
    /// # });
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Go's `SetDeadline`: read and write deadlines at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// goro::run(async {
    ///     let s = goro::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     s.set_deadline(Some(Instant::now() + Duration::from_millis(10)));
    ///     let mut buf = [0; 8];
    ///     let err = s.recv_from(&mut buf).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// });
    /// ```
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.set_read_deadline(deadline);
        self.set_write_deadline(deadline);
    }

    /// Go's `SetReadDeadline`, for `recv` and `recv_from`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// use std::time::Duration;
    /// let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// s.set_read_deadline(Some(goro::time::now() + Duration::from_millis(5)));
    /// let mut buf = [0; 8];
    /// assert_eq!(s.recv_from(&mut buf).await.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// # });
    /// ```
    pub fn set_read_deadline(&self, deadline: Option<Instant>) {
        self.io.set_deadline(Direction::Read, deadline)
    }

    /// Go's `SetWriteDeadline`, for `send` and `send_to`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UdpSocket;
    /// # goro::run(async {
    /// use std::time::Duration;
    /// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.set_write_deadline(Some(goro::time::now() - Duration::from_millis(1)));
    /// let err = a.send_to(b"x", "127.0.0.1:9".parse().unwrap()).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # });
    /// ```
    pub fn set_write_deadline(&self, deadline: Option<Instant>) {
        self.io.set_deadline(Direction::Write, deadline)
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

as_fd!(UdpSocket);
