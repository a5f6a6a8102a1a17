//! `TcpStream`'s socket options: keep-alive (with Go's default period),
//! `TCP_NODELAY`, linger.

use std::{io, time::Duration};

use super::TcpStream;

/// Go's default TCP keep-alive period (`net.defaultTCPKeepAliveIdle` and
/// `defaultTCPKeepAliveInterval`), for dialed and accepted connections.
pub(super) const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);

/// Keep-alive on (idle time and probe interval `period`, Go's 9 probes)
/// or off.
pub(super) fn set_keepalive(s: &mio::net::TcpStream, period: Option<Duration>) -> io::Result<()> {
    let sock = socket2::SockRef::from(s);
    let Some(period) = period else {
        return sock.set_keepalive(false);
    };
    let ka = socket2::TcpKeepalive::new().with_time(period);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        windows
    ))]
    let ka = ka.with_interval(period);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd"
    ))]
    let ka = ka.with_retries(9);
    sock.set_tcp_keepalive(&ka)
}

impl TcpStream {
    /// Turns TCP keep-alive on with `period` as both the idle time before
    /// the first probe and the interval between probes (Go's
    /// `SetKeepAlive` + `SetKeepAlivePeriod`), or off with `None`. Accepted
    /// and dialed connections start with Go's default, 15 s (and 9 probes
    /// where the system lets goro set it): a peer that vanished without a
    /// FIN or RST is noticed after about 2.5 minutes, not hours.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// use std::time::Duration;
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     assert!(c.keepalive().unwrap()); // Go's default: on
    ///     c.set_keepalive(Some(Duration::from_secs(60))).unwrap();
    ///     c.set_keepalive(None).unwrap();
    ///     assert!(!c.keepalive().unwrap());
    /// });
    /// ```
    pub fn set_keepalive(&self, period: Option<Duration>) -> io::Result<()> {
        set_keepalive(self.io.get_ref(), period)
    }

    /// Whether TCP keep-alive (`SO_KEEPALIVE`) is on.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let l = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let s = goro::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     assert!(s.keepalive().unwrap()); // Go's default: on, every 15 s
    ///     s.set_keepalive(None).unwrap();
    ///     assert!(!s.keepalive().unwrap());
    /// });
    /// ```
    pub fn keepalive(&self) -> io::Result<bool> {
        socket2::SockRef::from(self.io.get_ref()).keepalive()
    }

    /// Sets `TCP_NODELAY`. As in Go, it is on for every accepted and
    /// dialed connection (small writes go out at once); `false` turns
    /// Nagle's algorithm back on.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     c.set_nodelay(true).unwrap();
    ///     assert!(c.nodelay().unwrap());
    /// });
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// assert!(a.nodelay().unwrap()); // on by default, as in Go
    /// a.set_nodelay(false).unwrap();
    /// assert!(!a.nodelay().unwrap());
    /// # });
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `SO_LINGER` (Go's `SetLinger`). `Some(Duration::ZERO)` makes
    /// dropping the stream send a reset (`ECONNRESET` at the peer) instead
    /// of a graceful close.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// use std::time::Duration;
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     c.set_linger(Some(Duration::ZERO)).unwrap();
    /// });
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(linger)
    }
}
