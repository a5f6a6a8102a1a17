//! TCP: `TcpListener` (Go's `net.Listen("tcp", ..)` + `Accept`) and
//! `TcpStream` (Go's `net.Dial("tcp", ..)`, a `net.TCPConn`).
//!
//! `listener.rs` the listener, `stream.rs` the connection,
//! `options.rs` its socket options.

mod listener;
mod options;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;
