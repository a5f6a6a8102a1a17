//! Addresses to dial: goro's [`ToSocketAddrs`], which resolves names on the
//! blocking pool ([`crate::spawn_blocking`]) instead of the worker that
//! polls the dial, and [`lookup_host`].
//!
//! Why not `std::net::ToSocketAddrs`? Its `to_socket_addrs` blocks in
//! `getaddrinfo` for as long as DNS takes, and it cannot be moved to
//! another thread (it borrows its argument). goro's trait first turns the
//! argument into either addresses (a `SocketAddr`, an IP literal: no I/O)
//! or an owned `"host:port"` string, which a blocking-pool thread resolves
//! while the goroutine is parked — Go's resolver does the same on a thread
//! of its own when it uses the C library.

use std::{
    io,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6},
};

/// What an address argument turns into before any I/O.
#[derive(Debug)]
#[doc(hidden)]
pub enum Resolve {
    /// Addresses, no lookup needed.
    Done(Vec<SocketAddr>),
    /// A name to look up (with the port): `"example.com:80"`.
    Lookup(String),
}

mod sealed {
    pub trait Sealed {}
}

/// Something `connect` and [`lookup_host`] can dial or look up: a
/// `SocketAddr` (V4/V6), an `(IpAddr, u16)`, a `"host:port"` string, a
/// `(&str, u16)` or `(String, u16)`, or a slice of `SocketAddr`s — the
/// arguments `std::net::ToSocketAddrs` takes. A name is resolved on the
/// blocking pool, never on a worker. Sealed.
///
/// # Examples
///
/// ```
/// use goro::net::{TcpListener, TcpStream};
/// goro::run(async {
///     let ln = TcpListener::bind("127.0.0.1:0").unwrap();
///     let port = ln.local_addr().unwrap().port();
///     // A SocketAddr, a "host:port" string, a (host, port) pair:
///     let a = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
///     let b = TcpStream::connect(format!("localhost:{port}")).await;
///     let c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
///     # let _ = (a, b, c);
/// });
/// ```
pub trait ToSocketAddrs: sealed::Sealed {
    #[doc(hidden)]
    fn to_resolve(&self) -> io::Result<Resolve>;
}

macro_rules! done {
    ($($ty:ty),*) => {$(
        impl sealed::Sealed for $ty {}
        impl ToSocketAddrs for $ty {
            fn to_resolve(&self) -> io::Result<Resolve> {
                Ok(Resolve::Done(std::net::ToSocketAddrs::to_socket_addrs(self)?.collect()))
            }
        }
    )*};
}

// No I/O for these: std's conversion is a plain copy.
done!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl sealed::Sealed for [SocketAddr] {}
impl ToSocketAddrs for [SocketAddr] {
    fn to_resolve(&self) -> io::Result<Resolve> {
        Ok(Resolve::Done(self.to_vec()))
    }
}

impl sealed::Sealed for str {}
impl ToSocketAddrs for str {
    fn to_resolve(&self) -> io::Result<Resolve> {
        Ok(match self.parse::<SocketAddr>() {
            Ok(a) => Resolve::Done(vec![a]),
            Err(_) => Resolve::Lookup(self.to_owned()),
        })
    }
}

impl sealed::Sealed for String {}
impl ToSocketAddrs for String {
    fn to_resolve(&self) -> io::Result<Resolve> {
        self.as_str().to_resolve()
    }
}

impl sealed::Sealed for (&str, u16) {}
impl ToSocketAddrs for (&str, u16) {
    fn to_resolve(&self) -> io::Result<Resolve> {
        let (host, port) = *self;
        Ok(match host.parse::<IpAddr>() {
            Ok(ip) => Resolve::Done(vec![SocketAddr::new(ip, port)]),
            // An IPv6 host needs brackets in "host:port" form.
            Err(_) if host.contains(':') => Resolve::Lookup(format!("[{host}]:{port}")),
            Err(_) => Resolve::Lookup(format!("{host}:{port}")),
        })
    }
}

impl sealed::Sealed for (String, u16) {}
impl ToSocketAddrs for (String, u16) {
    fn to_resolve(&self) -> io::Result<Resolve> {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_resolve(&self) -> io::Result<Resolve> {
        (**self).to_resolve()
    }
}

/// Resolves `addr` to its addresses, looking names up on the blocking pool.
pub(crate) async fn resolve(addr: &(impl ToSocketAddrs + ?Sized)) -> io::Result<Vec<SocketAddr>> {
    resolve_owned(addr.to_resolve()?).await
}

/// The second step of [`resolve`]: the lookup, if one is needed.
pub(crate) async fn resolve_owned(r: Resolve) -> io::Result<Vec<SocketAddr>> {
    match r {
        Resolve::Done(v) => Ok(v),
        Resolve::Lookup(name) => crate::spawn_blocking(move || {
            std::net::ToSocketAddrs::to_socket_addrs(&name).map(Iterator::collect)
        })
        .await
        .map_err(|e| io::Error::other(format!("goro: name lookup failed: {e}")))?,
    }
}

/// Looks up the addresses of `"host:port"` (or any [`ToSocketAddrs`]) with
/// the system resolver, on the blocking pool: Go's `net.LookupHost` and
/// `LookupPort` in one call, the port copied into every address. For
/// Go's `LookupHost(host)` pass `(host, 0)` and keep the IPs. Must be
/// awaited inside a goro runtime.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let addrs = goro::net::lookup_host("localhost:80").await.unwrap();
///     assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
///     let ips = goro::net::lookup_host(("127.0.0.1", 0)).await.unwrap();
///     assert_eq!(ips[0].ip().to_string(), "127.0.0.1");
/// });
/// ```
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    resolve(&addr).await
}
