//! `UnixListener`: Go's `net.Listen("unix", path)`.

use std::{
    fmt,
    future::{poll_fn, Future},
    io,
    os::unix::net::SocketAddr,
    panic::Location,
    path::Path,
    task::{Context, Poll},
    time::Instant,
};

use super::UnixStream;
use crate::net::poll_evented::PollEvented;
use crate::runtime::io::{Direction, Wait};

/// A Unix socket server: Go's `net.Listen("unix", path)`. The socket file
/// is not removed on drop (as with the standard library's).
///
/// # Examples
///
/// ```
/// use goro::net::{UnixListener, UnixStream};
/// goro::run(async {
///     let dir = std::env::temp_dir().join(format!("goro-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&dir).unwrap();
///     let path = dir.join("echo.sock");
///     let _ = std::fs::remove_file(&path);
///     let ln = UnixListener::bind(&path).unwrap();
///     goro::go(async move {
///         let (conn, _) = ln.accept().await.unwrap();
///         let mut buf = [0; 4];
///         conn.read_exact(&mut buf).await.unwrap();
///         conn.write_all(&buf).await.unwrap();
///     });
///     let c = UnixStream::connect(&path).await.unwrap();
///     c.write_all(b"unix").await.unwrap();
///     let mut buf = [0; 4];
///     c.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"unix");
///     std::fs::remove_dir_all(&dir).unwrap();
/// });
/// ```
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Creates the socket file `path` and listens on it, with the kernel's
    /// maximum backlog as in Go. Must be called inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{UnixListener, UnixStream};
    /// # goro::run(async {
    /// # let dir = std::env::temp_dir().join(format!("goro-doc-bind-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("bind.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let ln = UnixListener::bind(&path).unwrap();
    /// assert!(path.exists()); // the socket file
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Self::register(crate::net::listen::unix(path.as_ref())?, Location::caller())
    }

    /// Wraps a listener made with the standard library (it is switched to
    /// non-blocking mode). Must be called inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{UnixListener, UnixStream};
    /// # goro::run(async {
    /// # let dir = std::env::temp_dir().join(format!("goro-doc-fromstd-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("fromstd.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let std_ln = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// let ln = UnixListener::from_std(std_ln).unwrap();
    /// let _c = UnixStream::connect(&path).await.unwrap();
    /// ln.accept().await.unwrap();
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn from_std(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        l.set_nonblocking(true)?;
        Self::register(mio::net::UnixListener::from_std(l), Location::caller())
    }

    fn register(l: mio::net::UnixListener, at: &'static Location<'static>) -> io::Result<Self> {
        Ok(UnixListener {
            io: PollEvented::new_at(l, "goro::net::UnixListener", at)?,
        })
    }

    /// Waits for the next connection. Fails with `TimedOut` once the
    /// listener's deadline has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{UnixListener, UnixStream};
    /// # goro::run(async {
    /// # let dir = std::env::temp_dir().join(format!("goro-doc-accept-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("accept.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let ln = UnixListener::bind(&path).unwrap();
    /// let c = UnixStream::connect(&path).await.unwrap();
    /// let (s, _) = ln.accept().await.unwrap();
    /// c.write_all(b"x").await.unwrap();
    /// let mut buf = [0; 1];
    /// s.read_exact(&mut buf).await.unwrap();
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, SocketAddr)>> + '_ {
        let at = Location::caller();
        let mut wait = Wait::default();
        poll_fn(move |cx| self.poll_accept_at(cx, at, Some(&mut wait)))
    }

    /// The poll step of [`accept`](UnixListener::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{UnixListener, UnixStream};
    /// # goro::run(async {
    /// # let dir = std::env::temp_dir().join(format!("goro-doc-poll-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("poll.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// use std::future::poll_fn;
    /// let ln = UnixListener::bind(&path).unwrap();
    /// let _c = UnixStream::connect(&path).await.unwrap();
    /// let (_s, _addr) = poll_fn(|cx| ln.poll_accept(cx)).await.unwrap();
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        self.poll_accept_at(cx, Location::caller(), None)
    }

    fn poll_accept_at(
        &self,
        cx: &mut Context<'_>,
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        self.io
            .poll_io(cx, Direction::Read, at, wait, |l| l.accept())
            .map(|r| {
                let (s, addr) = r?;
                Ok((UnixStream::accepted(self.io.sibling(s)?), addr))
            })
    }

    /// The address this listener is bound to.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{UnixListener, UnixStream};
    /// # goro::run(async {
    /// # let dir = std::env::temp_dir().join(format!("goro-doc-addr-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("addr.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let ln = UnixListener::bind(&path).unwrap();
    /// assert_eq!(ln.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Go's `SetDeadline` on a listener: pending and later `accept`s fail
    /// with `TimedOut` once `deadline` has passed; `None` removes it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use goro::net::{UnixListener, UnixStream};
    /// # goro::run(async {
    /// # let dir = std::env::temp_dir().join(format!("goro-doc-deadline-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("deadline.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// use std::time::Duration;
    /// let ln = UnixListener::bind(&path).unwrap();
    /// ln.set_deadline(Some(goro::time::now() + Duration::from_millis(5)));
    /// let err = ln.accept().await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # });
    /// ```
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        self.io.set_deadline(Direction::Read, deadline)
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

as_fd!(UnixListener);
