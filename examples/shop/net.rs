//! The names the shop uses from goro's hyper glue (`goro::net::hyper`,
//! feature `hyper`), in one place.

/// hyper's IO traits over a `goro::net::TcpStream`.
pub(crate) type Io = goro::net::hyper::HyperIo<goro::net::TcpStream>;
/// hyper's timer on goro's timers.
pub(crate) use goro::net::hyper::GoroTimer as Timer;
