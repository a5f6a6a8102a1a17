//! `UnixStream`: Go's `net.Dial("unix", path)`, a `net.UnixConn`.

use std::{
    fmt,
    future::{poll_fn, Future},
    io,
    net::Shutdown,
    os::unix::net::SocketAddr,
    panic::Location,
    path::Path,
    task::{Context, Poll},
    time::Instant,
};

use crate::net::{
    poll_evented::PollEvented,
    stream::{self, sealed::Stream, OwnedReadHalf, OwnedWriteHalf},
};
use crate::runtime::io::{Direction, Wait};

/// A Unix stream connection: Go's `net.UnixConn`. Like
/// [`TcpStream`](crate::net::TcpStream), every method takes `&self`, and it implements
/// `futures_io::AsyncRead`/`AsyncWrite` (and hyper's IO traits with the
/// `hyper` feature).
///
/// # Examples
///
/// ```
/// use goro::net::UnixStream;
/// goro::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     a.write_all(b"over a socketpair").await.unwrap();
///     let mut buf = [0; 17];
///     b.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"over a socketpair");
/// });
/// ```
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket file `path`. Fails with `WouldBlock` if the
    /// listener's backlog is full (Go's `EAGAIN`). The returned future
    /// must be awaited inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{UnixListener, UnixStream};
    /// # goro::run(async {
    /// # let dir = std::env::temp_dir().join(format!("goro-doc-connect-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("connect.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let ln = UnixListener::bind(&path).unwrap();
    /// let c = UnixStream::connect(&path).await.unwrap();
    /// let (s, _) = ln.accept().await.unwrap();
    /// assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # drop(s);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn connect(path: impl AsRef<Path>) -> impl Future<Output = io::Result<UnixStream>> {
        let at = Location::caller();
        let s = mio::net::UnixStream::connect(path);
        async move {
            let s = Self::register(s?, at)?;
            let mut wait = Wait::default();
            poll_fn(|cx| {
                s.io.poll_io(cx, Direction::Write, at, Some(&mut wait), |m| {
                    match m.take_error()? {
                        Some(e) => Err(e),
                        None => Ok(()),
                    }
                })
            })
            .await?;
            Ok(s)
        }
    }

    /// A connected pair of streams (`socketpair`). Must be called inside a
    /// goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// a.write_all(b"over the pair").await.unwrap();
    /// let mut buf = [0; 13];
    /// b.read_exact(&mut buf).await.unwrap();
    /// assert_eq!(&buf, b"over the pair");
    /// # });
    /// ```
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let at = Location::caller();
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((Self::register(a, at)?, Self::register(b, at)?))
    }

    /// Wraps a connected stream made with the standard library (it is
    /// switched to non-blocking mode). Must be called inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = goro::net::UnixStream::from_std(a).unwrap();
    ///     let b = goro::net::UnixStream::from_std(b).unwrap();
    ///     a.write_all(b"z").await.unwrap();
    ///     let mut buf = [0; 1];
    ///     b.read_exact(&mut buf).await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        s.set_nonblocking(true)?;
        Self::register(mio::net::UnixStream::from_std(s), Location::caller())
    }

    fn register(s: mio::net::UnixStream, at: &'static Location<'static>) -> io::Result<Self> {
        Ok(UnixStream {
            io: PollEvented::new_at(s, "goro::net::UnixStream", at)?,
        })
    }

    pub(super) fn accepted(io: PollEvented<mio::net::UnixStream>) -> Self {
        UnixStream { io }
    }

    /// Reads some bytes into `buf`; `Ok(0)` at end of stream.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// a.write_all(b"hi").await.unwrap();
    /// let mut buf = [0; 8];
    /// let n = b.read(&mut buf).await.unwrap();
    /// assert_eq!(&buf[..n], b"hi");
    /// # });
    /// ```
    #[track_caller]
    pub fn read<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        stream::read(self, buf, Location::caller())
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// a.write_all(b"four").await.unwrap();
    /// let mut buf = [0; 4];
    /// b.read_exact(&mut buf).await.unwrap();
    /// assert_eq!(&buf, b"four");
    /// # });
    /// ```
    #[track_caller]
    pub fn read_exact<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        stream::read_exact(self, buf, Location::caller())
    }

    /// Writes some bytes of `buf`, returning how many.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// let n = a.write(b"some").await.unwrap();
    /// assert!(n > 0);
    /// let mut buf = vec![0; n];
    /// b.read_exact(&mut buf).await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn write<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        stream::write(self, buf, Location::caller())
    }

    /// Writes all of `buf`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// let data = vec![1u8; 300_000];
    /// let w = goro::go(async move { a.write_all(&data).await.unwrap() });
    /// let mut got = vec![0u8; 300_000];
    /// b.read_exact(&mut got).await.unwrap();
    /// w.await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn write_all<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        stream::write_all(self, buf, Location::caller())
    }

    /// The local address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed()); // a pair has no path
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The remote address.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// # drop(b);
    /// # });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the reading side, the writing side (the peer reads EOF)
    /// or both.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Write).unwrap();
    /// let mut buf = [0; 1];
    /// assert_eq!(b.read(&mut buf).await.unwrap(), 0); // end of stream
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Go's `SetDeadline`: read and write deadlines at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::UnixStream;
    /// use std::time::{Duration, Instant};
    /// goro::run(async {
    ///     let (a, _b) = UnixStream::pair().unwrap();
    ///     a.set_deadline(Some(Instant::now() + Duration::from_millis(10)));
    ///     let mut buf = [0; 1];
    ///     let err = a.read(&mut buf).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// });
    /// ```
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.set_read_deadline(deadline);
        self.set_write_deadline(deadline);
    }

    /// Go's `SetReadDeadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// use std::time::Duration;
    /// b.set_read_deadline(Some(goro::time::now() + Duration::from_millis(5)));
    /// let mut buf = [0; 1];
    /// assert_eq!(b.read(&mut buf).await.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// # drop(a);
    /// # });
    /// ```
    pub fn set_read_deadline(&self, deadline: Option<Instant>) {
        self.io.set_deadline(Direction::Read, deadline)
    }

    /// Go's `SetWriteDeadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::UnixStream;
    /// # goro::run(async {
    /// let (a, b) = UnixStream::pair().unwrap();
    /// use std::time::Duration;
    /// a.set_write_deadline(Some(goro::time::now() - Duration::from_millis(1)));
    /// assert_eq!(a.write(b"x").await.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// # drop(b);
    /// # });
    /// ```
    pub fn set_write_deadline(&self, deadline: Option<Instant>) {
        self.io.set_deadline(Direction::Write, deadline)
    }

    /// Splits the stream into halves that can move to different goroutines.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::UnixStream;
    /// goro::run(async {
    ///     let (a, b) = UnixStream::pair().unwrap();
    ///     let (r, w) = b.into_split();
    ///     w.write_all(b"x").await.unwrap();
    ///     let mut buf = [0; 1];
    ///     a.read_exact(&mut buf).await.unwrap();
    ///     a.write_all(b"y").await.unwrap();
    ///     r.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"y");
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf<UnixStream>, OwnedWriteHalf<UnixStream>) {
        let s = std::sync::Arc::new(self);
        (OwnedReadHalf(s.clone()), OwnedWriteHalf(s))
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl Stream for UnixStream {
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

stream::stream_async_io!(UnixStream, &UnixStream);

as_fd!(UnixStream);
