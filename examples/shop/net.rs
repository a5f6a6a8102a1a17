//! The name the shop uses from goro's hyper glue (`goro::net::hyper`,
//! feature `hyper`). `goro::net::TcpStream` implements hyper's IO traits
//! itself (reading straight into hyper's buffer), so connections are handed
//! to hyper as they are.

/// hyper's timer on goro's timers.
pub(crate) use goro::net::hyper::GoroTimer as Timer;
