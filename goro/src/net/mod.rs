//! Sockets whose waits park the goroutine, not the thread: Go's `net`
//! package on goro's netpoller.
//!
//! - [`TcpListener`], [`TcpStream`] (with [`OwnedReadHalf`] /
//!   [`OwnedWriteHalf`]): Go's `net.Listen("tcp", ..)`, `net.Dial`;
//! - [`UdpSocket`]: `net.ListenPacket("udp", ..)`;
//! - [`UnixListener`], [`UnixStream`]: Unix domain sockets.
//!
//! Every socket is non-blocking and registered with the runtime it was
//! created in (creating one outside a goro runtime panics). A goroutine
//! waiting on one is parked with the wait reason `IO wait`, recorded at the
//! line that called `read`/`accept`/...; the worker about to go idle
//! polls the operating system (epoll/kqueue, through mio) and wakes it.
//!
//! Deadlines work as Go's `SetDeadline`: an absolute `Instant` per
//! direction after which pending and later operations fail with
//! [`io::ErrorKind::TimedOut`]; `None` removes
//! it. A deadline costs one runtime timer, no goroutine.
//!
//! Every socket implements `AsFd`/`AsRawFd` (`AsSocket`/`AsRawSocket` on
//! Windows), so `socket2::SockRef` can set any option goro has no method
//! for. Names given to `TcpStream::connect` are resolved on the blocking
//! pool ([`lookup_host`]), never on a worker; dialed and accepted TCP
//! connections get Go's defaults: `TCP_NODELAY` and a 15 s keep-alive.
//!
//! ```
//! use goro::net::{TcpListener, TcpStream};
//! use std::os::fd::AsRawFd;
//! goro::run(async {
//!     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
//!     assert!(c.as_raw_fd() >= 0);
//!     let sock = socket2::SockRef::from(&c);
//!     sock.set_send_buffer_size(1 << 16).unwrap();
//!     assert!(sock.keepalive().unwrap());
//! });
//! ```
//!
//! Streams implement `futures_io::AsyncRead`/`AsyncWrite`; with the
//! `hyper` feature, `goro::net::hyper` has the executor, timer and
//! IO glue that runs hyper's servers and clients on goro.
//!
//! # Examples
//!
//! A TCP echo server and a client:
//!
//! ```
//! use goro::net::{TcpListener, TcpStream};
//!
//! goro::run(async {
//!     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = ln.local_addr().unwrap();
//!     goro::go(async move {
//!         loop {
//!             let Ok((conn, _)) = ln.accept().await else { return };
//!             goro::go(async move {
//!                 let mut buf = [0; 1024];
//!                 while let Ok(n @ 1..) = conn.read(&mut buf).await {
//!                     if conn.write_all(&buf[..n]).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!         }
//!     });
//!     let c = TcpStream::connect(addr).await.unwrap();
//!     c.write_all(b"hello, goro").await.unwrap();
//!     let mut buf = [0; 11];
//!     c.read_exact(&mut buf).await.unwrap();
//!     assert_eq!(&buf, b"hello, goro");
//! });
//! ```
//!
//! Why do reads and writes take `&self`? Go's connections are used from
//! several goroutines at once (one reading, one writing); readiness is
//! tracked per direction, so both can wait on one socket and both are
//! woken. Any number of `read`/`write`/`accept` futures may wait on one
//! socket at once, and one that is dropped while waiting leaves nothing
//! behind. The `poll_*` trait methods (`AsyncRead::poll_read`,
//! `poll_accept`, ...) have no future to hold their place: per direction
//! they keep only the waker of the latest call, as tokio's
//! `poll_read_ready` does, so drive each direction through them from one
//! task at a time.

/// `AsFd` and `AsRawFd` (Unix), `AsSocket` and `AsRawSocket` (Windows)
/// for a socket type with an `io: PollEvented<_>` field: the descriptor
/// stays registered and owned by goro; borrow it to set options (with
/// `socket2::SockRef`, say) but do not close it or switch it to blocking.
macro_rules! as_fd {
    ($($ty:ty),*) => {$(
        #[cfg(unix)]
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.io.get_ref())
            }
        }
        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(self.io.get_ref())
            }
        }
        #[cfg(windows)]
        impl std::os::windows::io::AsSocket for $ty {
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                std::os::windows::io::AsSocket::as_socket(self.io.get_ref())
            }
        }
        #[cfg(windows)]
        impl std::os::windows::io::AsRawSocket for $ty {
            fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
                std::os::windows::io::AsRawSocket::as_raw_socket(self.io.get_ref())
            }
        }
    )*};
}

mod addr;
mod listen;
mod poll_evented;
mod stream;
mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod hyper;

pub use addr::{lookup_host, ToSocketAddrs};
pub use stream::{OwnedReadHalf, OwnedWriteHalf};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use unix::{UnixListener, UnixStream};

use std::{io, net::SocketAddr};

/// Runs `f` on each address of `addr` until one works (Go's dialer tries
/// each address of a name too); the last error otherwise.
fn each_addr<T>(
    addr: impl std::net::ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}
