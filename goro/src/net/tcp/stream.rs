//! `TcpStream`: Go's `net.Dial("tcp", ..)`, a `net.TCPConn`: connect,
//! reads, writes, deadlines (its socket options are in `options.rs`).

use std::{
    fmt,
    future::{poll_fn, Future},
    io,
    net::{Shutdown, SocketAddr},
    panic::Location,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use crate::net::{
    addr::{Resolve, ToSocketAddrs},
    poll_evented::PollEvented,
    stream::{self, sealed::Stream, OwnedReadHalf, OwnedWriteHalf},
};
use crate::runtime::io::{Direction, Wait};

use super::options::{set_keepalive, DEFAULT_KEEPALIVE};

/// A TCP connection: Go's `net.TCPConn`.
///
/// Every method takes `&self`, as Go's do: one goroutine may read while
/// another writes (share it with an `Arc`, or split it with
/// [`into_split`](TcpStream::into_split)). It implements
/// `futures_io::AsyncRead`/`AsyncWrite` (also for `&TcpStream`), and
/// hyper's `rt::Read`/`rt::Write` with the `hyper` feature.
///
/// # Examples
///
/// ```
/// use goro::net::{TcpListener, TcpStream};
/// use std::net::Shutdown;
///
/// goro::run(async {
///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = ln.local_addr().unwrap();
///     let server = goro::go(async move {
///         let (conn, _) = ln.accept().await.unwrap();
///         let mut all = Vec::new();
///         let mut buf = [0; 64];
///         loop {
///             match conn.read(&mut buf).await.unwrap() {
///                 0 => break, // the client shut down its writing side
///                 n => all.extend_from_slice(&buf[..n]),
///             }
///         }
///         all
///     });
///     let c = TcpStream::connect(addr).await.unwrap();
///     c.write_all(b"ping").await.unwrap();
///     c.shutdown(Shutdown::Write).unwrap();
///     assert_eq!(server.await.unwrap(), b"ping");
/// });
/// ```
pub struct TcpStream {
    pub(super) io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each of its addresses in turn (Go's
    /// `net.Dial("tcp", addr)`). A name (`"example.com:80"`) is resolved
    /// on the blocking pool, not on the worker. The connection has
    /// `TCP_NODELAY` and Go's 15 s keep-alive. The returned future must be
    /// awaited inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(c.peer_addr().unwrap(), ln.local_addr().unwrap());
    /// });
    /// ```
    #[track_caller]
    pub fn connect(addr: impl ToSocketAddrs) -> impl Future<Output = io::Result<TcpStream>> {
        let at = Location::caller();
        // Convert now (no I/O): the future does not borrow `addr`.
        let addr = addr.to_resolve();
        async move {
            let addrs = match addr? {
                Resolve::Done(v) => v,
                name => crate::net::addr::resolve_owned(name).await?,
            };
            let mut last = None;
            for a in addrs {
                match Self::connect_one(a, at).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "no addresses to connect to")
            }))
        }
    }

    async fn connect_one(addr: SocketAddr, at: &'static Location<'static>) -> io::Result<Self> {
        let s = Self::register(mio::net::TcpStream::connect(addr)?, at)?;
        let _ = set_keepalive(s.io.get_ref(), Some(DEFAULT_KEEPALIVE));
        // Writable means the connect finished, well or not (mio's recipe:
        // check the error, then whether we are connected; a spurious
        // wake-up says `NotConnected`, which here means "wait again").
        let mut wait = Wait::default();
        poll_fn(|cx| {
            s.io.poll_io(cx, Direction::Write, at, Some(&mut wait), |m| {
                if let Some(e) = m.take_error()? {
                    return Err(e);
                }
                match m.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })
        })
        .await?;
        Ok(s)
    }

    /// Wraps a connected stream made with the standard library (it is
    /// switched to non-blocking mode). Must be called inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = std::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    ///     let c = goro::net::TcpStream::from_std(c).unwrap();
    ///     assert!(c.peer_addr().is_ok());
    /// });
    /// ```
    #[track_caller]
    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        s.set_nonblocking(true)?;
        Self::register(mio::net::TcpStream::from_std(s), Location::caller())
    }

    fn register(s: mio::net::TcpStream, at: &'static Location<'static>) -> io::Result<Self> {
        // Go's default: no Nagle delay. (On a socket still connecting this
        // may fail harmlessly on some systems; ignore it.)
        let _ = s.set_nodelay(true);
        Ok(TcpStream {
            io: PollEvented::new_at(s, "goro::net::TcpStream", at)?,
        })
    }

    pub(super) fn accepted(io: PollEvented<mio::net::TcpStream>) -> Self {
        let _ = io.get_ref().set_nodelay(true);
        let _ = set_keepalive(io.get_ref(), Some(DEFAULT_KEEPALIVE));
        TcpStream { io }
    }

    /// Reads some bytes into `buf`: `Ok(0)` at end of stream (the peer shut
    /// down its writing side). Fails with `TimedOut` past the read deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// a.write_all(b"ping").await.unwrap();
    /// let mut buf = [0; 16];
    /// let n = b.read(&mut buf).await.unwrap();
    /// assert_eq!(&buf[..n], b"ping"); // (one small write arrives whole on loopback)
    /// # });
    /// ```
    #[track_caller]
    pub fn read<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        stream::read(self, buf, Location::caller())
    }

    /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends
    /// first.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// a.write_all(b"hello").await.unwrap();
    /// let mut buf = [0; 5];
    /// b.read_exact(&mut buf).await.unwrap();
    /// assert_eq!(&buf, b"hello");
    /// # });
    /// ```
    #[track_caller]
    pub fn read_exact<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        stream::read_exact(self, buf, Location::caller())
    }

    /// Writes some bytes of `buf`, returning how many. Fails with
    /// `TimedOut` past the write deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(c.write(b"hi").await.unwrap(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn write<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        stream::write(self, buf, Location::caller())
    }

    /// Writes all of `buf` (Go's `Write`, which never returns short).
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let data = vec![7u8; 100_000];
    /// let w = goro::go(async move { a.write_all(&data).await.unwrap(); });
    /// let mut got = vec![0u8; 100_000];
    /// b.read_exact(&mut got).await.unwrap();
    /// assert!(got.iter().all(|&x| x == 7));
    /// w.await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn write_all<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        stream::write_all(self, buf, Location::caller())
    }

    /// The remote address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// assert_eq!(b.local_addr().unwrap(), ln.local_addr().unwrap());
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Shuts down the reading side, the writing side (the peer reads EOF;
    /// Go's `CloseWrite`) or both.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// a.shutdown(Shutdown::Write).unwrap(); // Go's CloseWrite
    /// let mut buf = [0; 4];
    /// assert_eq!(b.read(&mut buf).await.unwrap(), 0); // end of stream
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Go's `SetDeadline`: sets both the read and the write deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// use std::time::{Duration, Instant};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     c.set_deadline(Some(Instant::now() + Duration::from_millis(10)));
    ///     let mut buf = [0; 1];
    ///     // Nobody writes: the read times out.
    ///     let err = c.read(&mut buf).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    ///     c.set_deadline(None); // and can be used again
    ///     c.write_all(b"x").await.unwrap();
    /// });
    /// ```
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.set_read_deadline(deadline);
        self.set_write_deadline(deadline);
    }

    /// Go's `SetReadDeadline`: pending and later reads fail with
    /// `io::ErrorKind::TimedOut` once `deadline` has passed; `None` removes
    /// it; a new call moves it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// b.set_read_deadline(Some(goro::time::now() + Duration::from_millis(5)));
    /// let mut buf = [0; 4];
    /// let err = b.read(&mut buf).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// b.set_read_deadline(None); // reads wait again
    /// # drop(a);
    /// # });
    /// ```
    pub fn set_read_deadline(&self, deadline: Option<Instant>) {
        self.io.set_deadline(Direction::Read, deadline)
    }

    /// Go's `SetWriteDeadline`, for writes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// // A deadline already passed fails the write at once.
    /// a.set_write_deadline(Some(goro::time::now() - Duration::from_millis(1)));
    /// assert_eq!(a.write(b"x").await.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// a.set_write_deadline(None);
    /// a.write_all(b"x").await.unwrap();
    /// # drop(b);
    /// # });
    /// ```
    pub fn set_write_deadline(&self, deadline: Option<Instant>) {
        self.io.set_deadline(Direction::Write, deadline)
    }

    /// Splits the stream into a reading and a writing half that can move
    /// to different goroutines.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = ln.accept().await.unwrap();
    ///     let (r, w) = s.into_split();
    ///     let echo = goro::go(async move {
    ///         let mut buf = [0; 3];
    ///         r.read_exact(&mut buf).await.unwrap();
    ///         w.write_all(&buf).await.unwrap();
    ///     });
    ///     c.write_all(b"abc").await.unwrap();
    ///     let mut buf = [0; 3];
    ///     c.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"abc");
    ///     echo.await.unwrap();
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf<TcpStream>, OwnedWriteHalf<TcpStream>) {
        let s = Arc::new(self);
        (OwnedReadHalf(s.clone()), OwnedWriteHalf(s))
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl Stream for TcpStream {
    fn poll_read_at(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf, at, wait)
    }

    #[cfg(feature = "hyper")]
    fn poll_read_uninit_at(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
        at: &'static Location<'static>,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read_uninit(cx, buf, at, None)
    }

    fn poll_write_at(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf, at, wait)
    }

    fn poll_write_vectored_at(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs, at, wait)
    }

    fn shutdown_dir(&self, how: Shutdown) -> io::Result<()> {
        self.shutdown(how)
    }

    fn read_deadline(&self, deadline: Option<Instant>) {
        self.set_read_deadline(deadline)
    }

    fn write_deadline(&self, deadline: Option<Instant>) {
        self.set_write_deadline(deadline)
    }
}

stream::stream_async_io!(TcpStream, &TcpStream);

as_fd!(TcpStream);
