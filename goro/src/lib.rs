//! goro: Go's concurrency system for Rust.
//!
//! Goroutines on an M:N work-stealing scheduler, channels with Go's
//! semantics and a loss-free `select!`, the `sync` package, errgroup,
//! context, timers, and Go's safety nets.
//!
//! ```
//! #[goro::main]
//! async fn main() {
//!     let h = goro::go! { 1 + 1 };
//!     assert_eq!(h.await.unwrap(), 2);
//! }
//! # fn _unused() {}
//! ```
//!
//! See the README for the Go → goro table.
#![warn(missing_docs)]

mod loom;
mod rand;
mod wait;

pub mod chan;
#[cfg(feature = "tokio")]
pub mod compat;
pub mod context;
pub mod errgroup;
pub mod net;
pub mod runtime;
pub mod sync;
mod task;
pub mod testing;
pub mod time;

pub use chan::chan;
pub use goro_macros::{main, test};
pub use runtime::{
    go, num_goroutine, procs, run, spawn_blocking, yield_now, Builder, Runtime, YieldNow,
};
pub use task::{GoroutineId, JoinError, JoinHandle};

/// `go! { body }` starts a goroutine running `async move { body }`: Go's
/// `go func() { body }()`. Returns its [`JoinHandle`].
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let x = 20;
///     let h = goro::go! { x * 2 + 2 };
///     assert_eq!(h.await.unwrap(), 42);
/// });
/// ```
#[macro_export]
macro_rules! go {
    ($($body:tt)*) => {
        $crate::go(async move { $($body)* })
    };
}
