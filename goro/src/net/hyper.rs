//! hyper 1.x on goro (feature `hyper`): [`GoroExecutor`] (hyper's
//! `rt::Executor`, spawning goroutines), [`GoroTimer`] (`rt::Timer` on
//! goro's timers) and the IO traits `rt::Read`/`rt::Write`, implemented
//! directly on [`TcpStream`] and [`UnixStream`](super::UnixStream), and by
//! [`HyperIo`] for any other `futures_io` stream (the split halves, say);
//! [`debug_goroutines`], the `/debug/goroutines` page (Go's pprof goroutine
//! profile).
//!
//! # Examples
//!
//! An HTTP/1 server and client, both on goro:
//!
//! ```
//! use bytes::Bytes;
//! use goro::net::hyper::GoroTimer;
//! use goro::net::{TcpListener, TcpStream};
//! use http_body_util::{BodyExt, Full};
//! use hyper::{body::Incoming, service::service_fn, Request, Response};
//!
//! async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
//!     let body = format!("hello, {}", req.uri().path().trim_start_matches('/'));
//!     Ok(Response::new(Full::new(Bytes::from(body))))
//! }
//!
//! goro::run(async {
//!     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = ln.local_addr().unwrap();
//!     goro::go(async move {
//!         while let Ok((conn, _)) = ln.accept().await {
//!             goro::go(async move {
//!                 let _ = hyper::server::conn::http1::Builder::new()
//!                     .timer(GoroTimer)
//!                     .serve_connection(conn, service_fn(hello))
//!                     .await;
//!             });
//!         }
//!     });
//!
//!     let conn = TcpStream::connect(addr).await.unwrap();
//!     let (mut sender, connection) = hyper::client::conn::http1::handshake(conn).await.unwrap();
//!     goro::go(connection);
//!     let req = Request::get("/gopher").body(Full::new(Bytes::new())).unwrap();
//!     let resp = sender.send_request(req).await.unwrap();
//!     let body = resp.into_body().collect().await.unwrap().to_bytes();
//!     assert_eq!(body, "hello, gopher");
//! });
//! ```

use std::{
    future::Future,
    io,
    panic::Location,
    pin::Pin,
    task::{ready, Context, Poll},
    time::{Duration, Instant},
};

use hyper::rt::{Executor, Read, ReadBufCursor, Sleep, Timer, Write};

use super::{stream::sealed::Stream, TcpStream};

/// hyper's `rt::Executor` for goro: each future becomes a goroutine (hyper
/// spawns the HTTP/2 connection tasks with it). Use it from inside a goro
/// runtime.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor;
/// goro::run(async {
///     let (tx, rx) = goro::chan(1);
///     goro::net::hyper::GoroExecutor.execute(async move {
///         tx.send(42).await.unwrap();
///     });
///     assert_eq!(rx.recv().await, Some(42));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GoroExecutor;

impl<F> Executor<F> for GoroExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[track_caller]
    fn execute(&self, fut: F) {
        // Detached, as hyper expects.
        drop(crate::go(fut));
    }
}

/// hyper's `rt::Timer` on goro's timers (header-read timeouts, keep-alive
/// timers). Pass it to the connection builders: `.timer(GoroTimer)`.
///
/// # Examples
///
/// ```
/// use hyper::rt::Timer;
/// use std::time::{Duration, Instant};
/// goro::run(async {
///     let start = Instant::now();
///     goro::net::hyper::GoroTimer.sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GoroTimer;

/// The sleep future of [`GoroTimer`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
/// goro::run(async {
///     let sleep = goro::net::hyper::GoroTimer.sleep(Duration::from_millis(1)); // a GoroSleep, boxed
///     sleep.await;
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct GoroSleep(crate::time::Sleep);

impl Future for GoroSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl Sleep for GoroSleep {}

impl Timer for GoroTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(GoroSleep(crate::time::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        Box::pin(GoroSleep(crate::time::sleep_until(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<GoroSleep>() {
            Some(mut s) => s.0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// hyper's `rt::Read`/`rt::Write` for goro's stream types.
macro_rules! hyper_io {
    ($($ty:ty),*) => {$(
        impl Read for $ty {
            #[track_caller]
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                mut buf: ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: `as_mut` requires that no byte of the unfilled
                // part is de-initialized: `recv(2)` only writes bytes (it
                // never reads them nor writes uninitialized ones; socket2
                // takes `MaybeUninit` exactly for this).
                let unfilled = unsafe { buf.as_mut() };
                let n = ready!(self.poll_read_uninit_at(cx, unfilled, Location::caller()))?;
                // SAFETY: `recv` initialized the first `n` bytes.
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
        }

        impl Write for $ty {
            #[track_caller]
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_at(cx, buf, Location::caller(), None)
            }

            #[track_caller]
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.poll_write_vectored_at(cx, bufs, Location::caller(), None)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.shutdown_dir(std::net::Shutdown::Write))
            }
        }
    )*};
}

hyper_io!(TcpStream);
#[cfg(unix)]
hyper_io!(super::UnixStream);

/// A ready handler for Go's `/debug/pprof/goroutine` page, to mount at
/// `/debug/goroutines`: the goroutines of the runtime it runs on, as text.
/// By default (or with `?debug=1`) the grouped profile
/// ([`Dump::grouped`](crate::runtime::Dump::grouped): identical goroutines
/// counted once, largest group first); with `?debug=2` the full dump, one
/// paragraph per goroutine, as `SIGQUIT` prints it. It never fails: use it
/// directly with `service_fn`, or call it from a router.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use goro::net::hyper::debug_goroutines;
/// use goro::net::{TcpListener, TcpStream};
/// use http_body_util::{BodyExt, Full};
/// use hyper::{service::service_fn, Request};
///
/// goro::run(async {
///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = ln.local_addr().unwrap();
///     goro::go(async move {
///         let (conn, _) = ln.accept().await.unwrap();
///         let _ = hyper::server::conn::http1::Builder::new()
///             .serve_connection(conn, service_fn(debug_goroutines))
///             .await;
///     });
///     let conn = TcpStream::connect(addr).await.unwrap();
///     let (mut sender, connection) = hyper::client::conn::http1::handshake(conn).await.unwrap();
///     goro::go(connection);
///     let req = Request::get("/debug/goroutines").body(Full::new(Bytes::new())).unwrap();
///     let body = sender.send_request(req).await.unwrap().into_body().collect().await.unwrap();
///     let text = String::from_utf8(body.to_bytes().to_vec()).unwrap();
///     assert!(text.starts_with("goroutine profile: total "), "{text}");
/// });
/// ```
pub async fn debug_goroutines<B>(
    req: hyper::Request<B>,
) -> Result<hyper::Response<String>, std::convert::Infallible> {
    let full = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .any(|kv| kv == "debug=2");
    let d = crate::runtime::dump();
    let text = if full {
        d.to_string()
    } else {
        d.grouped().to_string()
    };
    let mut resp = hyper::Response::new(text);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(resp)
}

/// Adapts any `futures_io::AsyncRead + AsyncWrite` stream (a goro
/// stream's halves, a TLS stream over one) to hyper's IO traits.
///
/// # Examples
///
/// ```
/// use goro::net::{hyper::HyperIo, TcpListener, TcpStream};
/// goro::run(async {
///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
///     let io = HyperIo::new(c);
///     assert!(io.get_ref().peer_addr().is_ok());
/// });
/// ```
#[derive(Debug)]
pub struct HyperIo<T>(T);

impl<T> HyperIo<T> {
    /// Wraps `io`.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{hyper::HyperIo, TcpListener, TcpStream};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     let io = HyperIo::new(c); // hand `io` to hyper's conn builders
    ///     # drop(io);
    /// });
    /// ```
    pub fn new(io: T) -> HyperIo<T> {
        HyperIo(io)
    }

    /// The wrapped stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{hyper::HyperIo, TcpListener, TcpStream};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     let io = HyperIo::new(c);
    ///     assert_eq!(io.get_ref().peer_addr().unwrap(), ln.local_addr().unwrap());
    /// });
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.0
    }

    /// Unwraps the stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::net::{hyper::HyperIo, TcpListener, TcpStream};
    /// goro::run(async {
    ///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    ///     let io = HyperIo::new(c);
    ///     let c: TcpStream = io.into_inner();
    ///     assert!(c.nodelay().unwrap());
    /// });
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: futures_io::AsyncRead + Unpin> Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // A foreign reader may read its buffer: hand it initialized bytes.
        let mut tmp = [0u8; 8192];
        let len = tmp.len().min(buf.remaining());
        let n = ready!(Pin::new(&mut self.0).poll_read(cx, &mut tmp[..len]))?;
        buf.put_slice(&tmp[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: futures_io::AsyncWrite + Unpin> Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
