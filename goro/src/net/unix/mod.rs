//! Unix domain sockets: `UnixListener` and `UnixStream` (Go's
//! `net.Listen("unix", path)`, `net.Dial("unix", path)`).
//!
//! `listener.rs` the listener, `stream.rs` the connection.

mod listener;
mod stream;

pub use listener::UnixListener;
pub use stream::UnixStream;
