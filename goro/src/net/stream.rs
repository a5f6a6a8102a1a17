//! What TCP and Unix streams share: the poll steps behind `read`/`write`
//! (the sealed [`Stream`] trait), `read_exact`/`write_all`, the owned
//! halves of `into_split`, and the `futures_io` (and hyper) trait impls.

use std::{
    fmt,
    future::{poll_fn, Future},
    io,
    net::Shutdown,
    panic::Location,
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Instant,
};

use super::TcpStream;
use crate::runtime::io::Wait;

pub(crate) mod sealed {
    use super::*;

    /// A connected stream socket: [`TcpStream`] or
    /// [`UnixStream`](crate::net::UnixStream). Sealed.
    pub trait Stream: Send + Sync + 'static {
        #[doc(hidden)]
        fn poll_read_at(
            &self,
            cx: &mut Context<'_>,
            buf: &mut [u8],
            at: &'static Location<'static>,
            wait: Option<&mut Wait>,
        ) -> Poll<io::Result<usize>>;
        #[doc(hidden)]
        #[cfg(feature = "hyper")]
        fn poll_read_uninit_at(
            &self,
            cx: &mut Context<'_>,
            buf: &mut [std::mem::MaybeUninit<u8>],
            at: &'static Location<'static>,
        ) -> Poll<io::Result<usize>>;
        #[doc(hidden)]
        fn poll_write_at(
            &self,
            cx: &mut Context<'_>,
            buf: &[u8],
            at: &'static Location<'static>,
            wait: Option<&mut Wait>,
        ) -> Poll<io::Result<usize>>;
        #[doc(hidden)]
        fn poll_write_vectored_at(
            &self,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
            at: &'static Location<'static>,
            wait: Option<&mut Wait>,
        ) -> Poll<io::Result<usize>>;
        #[doc(hidden)]
        fn shutdown_dir(&self, how: Shutdown) -> io::Result<()>;
        #[doc(hidden)]
        fn read_deadline(&self, deadline: Option<Instant>);
        #[doc(hidden)]
        fn write_deadline(&self, deadline: Option<Instant>);
    }
}

use sealed::Stream;

pub(crate) fn read<'a, S: Stream>(
    s: &'a S,
    buf: &'a mut [u8],
    at: &'static Location<'static>,
) -> impl Future<Output = io::Result<usize>> + 'a {
    let mut wait = Wait::default();
    poll_fn(move |cx| s.poll_read_at(cx, buf, at, Some(&mut wait)))
}

pub(crate) fn write<'a, S: Stream>(
    s: &'a S,
    buf: &'a [u8],
    at: &'static Location<'static>,
) -> impl Future<Output = io::Result<usize>> + 'a {
    let mut wait = Wait::default();
    poll_fn(move |cx| s.poll_write_at(cx, buf, at, Some(&mut wait)))
}

pub(crate) fn read_exact<'a, S: Stream>(
    s: &'a S,
    buf: &'a mut [u8],
    at: &'static Location<'static>,
) -> impl Future<Output = io::Result<()>> + 'a {
    let mut done = 0;
    let mut wait = Wait::default();
    poll_fn(move |cx| {
        while done < buf.len() {
            match ready!(s.poll_read_at(cx, &mut buf[done..], at, Some(&mut wait)))? {
                0 => return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
                n => done += n,
            }
        }
        Poll::Ready(Ok(()))
    })
}

pub(crate) fn write_all<'a, S: Stream>(
    s: &'a S,
    buf: &'a [u8],
    at: &'static Location<'static>,
) -> impl Future<Output = io::Result<()>> + 'a {
    let mut done = 0;
    let mut wait = Wait::default();
    poll_fn(move |cx| {
        while done < buf.len() {
            match ready!(s.poll_write_at(cx, &buf[done..], at, Some(&mut wait)))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => done += n,
            }
        }
        Poll::Ready(Ok(()))
    })
}

/// The reading half of a stream, from `into_split` (of a [`TcpStream`] by
/// default, or a [`UnixStream`](crate::net::UnixStream)).
///
/// # Examples
///
/// ```
/// use goro::net::{TcpListener, TcpStream};
/// goro::run(async {
///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
///     let (s, _) = ln.accept().await.unwrap();
///     let (read, write) = c.into_split();
///     // One goroutine writes while another reads the same connection.
///     let w = goro::go(async move { write.write_all(b"request").await.unwrap() });
///     let mut buf = [0; 7];
///     s.read_exact(&mut buf).await.unwrap();
///     s.write_all(b"reply").await.unwrap();
///     let mut got = [0; 5];
///     read.read_exact(&mut got).await.unwrap();
///     assert_eq!(&got, b"reply");
///     w.await.unwrap();
/// });
/// ```
pub struct OwnedReadHalf<S: Stream = TcpStream>(pub(crate) Arc<S>);

/// The writing half of a stream, from `into_split`. Dropping it does not
/// shut the connection down; call [`shutdown`](OwnedWriteHalf::shutdown)
/// (or `AsyncWriteExt::close`).
///
/// # Examples
///
/// ```
/// use goro::net::{TcpListener, TcpStream};
/// goro::run(async {
///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
///     let (s, _) = ln.accept().await.unwrap();
///     let (read, write) = c.into_split();
///     // One goroutine writes while another reads the same connection.
///     let w = goro::go(async move { write.write_all(b"request").await.unwrap() });
///     let mut buf = [0; 7];
///     s.read_exact(&mut buf).await.unwrap();
///     s.write_all(b"reply").await.unwrap();
///     let mut got = [0; 5];
///     read.read_exact(&mut got).await.unwrap();
///     assert_eq!(&got, b"reply");
///     w.await.unwrap();
/// });
/// ```
pub struct OwnedWriteHalf<S: Stream = TcpStream>(pub(crate) Arc<S>);

impl<S: Stream> OwnedReadHalf<S> {
    /// Reads some bytes into `buf`; `Ok(0)` at end of stream.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let (a_read, a_write) = a.into_split();
    /// let (b_read, b_write) = b.into_split();
    /// b_write.write_all(b"hi").await.unwrap();
    /// let mut buf = [0; 8];
    /// let n = a_read.read(&mut buf).await.unwrap();
    /// assert_eq!(&buf[..n], b"hi");
    /// # drop((a_read, a_write, b_read, b_write));
    /// # });
    /// ```
    #[track_caller]
    pub fn read<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        read(&*self.0, buf, Location::caller())
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let (a_read, a_write) = a.into_split();
    /// let (b_read, b_write) = b.into_split();
    /// b_write.write_all(b"abc").await.unwrap();
    /// let mut buf = [0; 3];
    /// a_read.read_exact(&mut buf).await.unwrap();
    /// assert_eq!(&buf, b"abc");
    /// # drop((a_read, a_write, b_read, b_write));
    /// # });
    /// ```
    #[track_caller]
    pub fn read_exact<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        read_exact(&*self.0, buf, Location::caller())
    }

    /// Sets the read deadline of the stream (Go's `SetReadDeadline`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let (a_read, a_write) = a.into_split();
    /// let (b_read, b_write) = b.into_split();
    /// use std::time::Duration;
    /// a_read.set_read_deadline(Some(goro::time::now() + Duration::from_millis(5)));
    /// let mut buf = [0; 1];
    /// assert_eq!(a_read.read(&mut buf).await.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// # drop((a_read, a_write, b_read, b_write));
    /// # });
    /// ```
    pub fn set_read_deadline(&self, deadline: Option<Instant>) {
        self.0.read_deadline(deadline)
    }

    /// The stream both halves share.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let (a_read, a_write) = a.into_split();
    /// let (b_read, b_write) = b.into_split();
    /// // Both halves share the stream.
    /// assert_eq!(a_read.stream().peer_addr().unwrap(), b_read.stream().local_addr().unwrap());
    /// # drop((a_read, a_write, b_read, b_write));
    /// # });
    /// ```
    pub fn stream(&self) -> &S {
        &self.0
    }
}

impl<S: Stream> OwnedWriteHalf<S> {
    /// Writes some bytes of `buf`, returning how many.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let (a_read, a_write) = a.into_split();
    /// let (b_read, b_write) = b.into_split();
    /// let n = a_write.write(b"xyz").await.unwrap();
    /// let mut buf = [0; 3];
    /// b_read.read_exact(&mut buf[..n]).await.unwrap();
    /// assert_eq!(&buf[..n], &b"xyz"[..n]);
    /// # drop((a_read, a_write, b_read, b_write));
    /// # });
    /// ```
    #[track_caller]
    pub fn write<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        write(&*self.0, buf, Location::caller())
    }

    /// Writes all of `buf`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let (a_read, a_write) = a.into_split();
    /// let (b_read, b_write) = b.into_split();
    /// a_write.write_all(b"ping").await.unwrap();
    /// let mut buf = [0; 4];
    /// b_read.read_exact(&mut buf).await.unwrap();
    /// assert_eq!(&buf, b"ping");
    /// # drop((a_read, a_write, b_read, b_write));
    /// # });
    /// ```
    #[track_caller]
    pub fn write_all<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        write_all(&*self.0, buf, Location::caller())
    }

    /// Shuts the writing side down: the peer reads EOF (Go's `CloseWrite`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let (a_read, a_write) = a.into_split();
    /// let (b_read, b_write) = b.into_split();
    /// a_write.shutdown().unwrap(); // the peer reads end of stream
    /// let mut buf = [0; 1];
    /// assert_eq!(b_read.read(&mut buf).await.unwrap(), 0);
    /// # drop((a_read, a_write, b_read, b_write));
    /// # });
    /// ```
    pub fn shutdown(&self) -> io::Result<()> {
        self.0.shutdown_dir(Shutdown::Write)
    }

    /// Sets the write deadline of the stream (Go's `SetWriteDeadline`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let (a_read, a_write) = a.into_split();
    /// let (b_read, b_write) = b.into_split();
    /// use std::time::Duration;
    /// a_write.set_write_deadline(Some(goro::time::now() - Duration::from_millis(1)));
    /// assert_eq!(a_write.write(b"x").await.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    /// # drop((a_read, a_write, b_read, b_write));
    /// # });
    /// ```
    pub fn set_write_deadline(&self, deadline: Option<Instant>) {
        self.0.write_deadline(deadline)
    }

    /// The stream both halves share.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{TcpListener, TcpStream};
    /// # goro::run(async {
    /// # let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    /// # let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    /// # let (b, _) = ln.accept().await.unwrap();
    /// let (a_read, a_write) = a.into_split();
    /// let (b_read, b_write) = b.into_split();
    /// assert_eq!(a_write.stream().local_addr().unwrap(), b_write.stream().peer_addr().unwrap());
    /// # drop((a_read, a_write, b_read, b_write));
    /// # });
    /// ```
    pub fn stream(&self) -> &S {
        &self.0
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for OwnedReadHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&self.0).finish()
    }
}

impl<S: Stream + fmt::Debug> fmt::Debug for OwnedWriteHalf<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&self.0).finish()
    }
}

impl<S: Stream> futures_io::AsyncRead for OwnedReadHalf<S> {
    #[track_caller]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read_at(cx, buf, Location::caller(), None)
    }
}

impl<S: Stream> futures_io::AsyncWrite for OwnedWriteHalf<S> {
    #[track_caller]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write_at(cx, buf, Location::caller(), None)
    }

    #[track_caller]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.0
            .poll_write_vectored_at(cx, bufs, Location::caller(), None)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.0.shutdown_dir(Shutdown::Write))
    }
}

/// `futures_io::AsyncRead`/`AsyncWrite` for a stream type and a shared
/// reference to it (reads and writes take `&self`).
macro_rules! stream_async_io {
    ($($ty:ty),*) => {$(
        impl futures_io::AsyncRead for $ty {
            #[track_caller]
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                use $crate::net::stream::sealed::Stream as _;
                (*self).poll_read_at(cx, buf, std::panic::Location::caller(), None)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            #[track_caller]
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                use $crate::net::stream::sealed::Stream as _;
                (*self).poll_write_at(cx, buf, std::panic::Location::caller(), None)
            }

            #[track_caller]
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                use $crate::net::stream::sealed::Stream as _;
                (*self).poll_write_vectored_at(cx, bufs, std::panic::Location::caller(), None)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                use $crate::net::stream::sealed::Stream as _;
                std::task::Poll::Ready((*self).shutdown_dir(std::net::Shutdown::Write))
            }
        }
    )*};
}
pub(crate) use stream_async_io;
