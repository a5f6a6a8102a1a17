//! Listening sockets made the way Go makes them: non-blocking,
//! close-on-exec, `SO_REUSEADDR` (TCP, Unix systems) and the largest
//! backlog the kernel allows.
//!
//! Why not mio's `bind`? It listens with a backlog of 128: a burst of
//! connects larger than that (a load balancer reconnecting, a benchmark
//! opening 2,000 connections) overflows the accept queue, the kernel drops
//! the extra SYNs, and those connects stall for the one-second SYN
//! retransmit. Go listens with `net.core.somaxconn` (4096 on Linux ≥ 5.4),
//! tokio with 1024.

use std::{io, net::SocketAddr, sync::OnceLock};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// The backlog for every listener: Linux's `net.core.somaxconn` (as Go's
/// `maxListenerBacklog`), else 4096 on Linux and 1024 elsewhere.
pub(crate) fn backlog() -> i32 {
    static BACKLOG: OnceLock<i32> = OnceLock::new();
    *BACKLOG.get_or_init(|| {
        let fallback = if cfg!(target_os = "linux") {
            4096
        } else {
            1024
        };
        let n = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(fallback);
        // Kernels before 4.1 keep the backlog in 16 bits: do not wrap.
        n.min(u16::MAX as u32) as i32
    })
}

/// A non-blocking TCP listener on `addr`.
pub(crate) fn tcp(addr: SocketAddr) -> io::Result<mio::net::TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As Go and mio do: a restarted server can bind its port again at
    // once, while old connections sit in TIME_WAIT. (Not on Windows, where
    // it means something else.)
    #[cfg(unix)]
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(backlog())?;
    Ok(mio::net::TcpListener::from_std(s.into()))
}

/// A non-blocking Unix listener on `path`.
#[cfg(unix)]
pub(crate) fn unix(path: &std::path::Path) -> io::Result<mio::net::UnixListener> {
    let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    s.set_nonblocking(true)?;
    s.bind(&SockAddr::unix(path)?)?;
    s.listen(backlog())?;
    Ok(mio::net::UnixListener::from_std(s.into()))
}
