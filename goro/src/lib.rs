#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod loom;
mod rand;
mod site;
mod wait;

pub mod chan;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod compat;
pub mod context;
pub mod errgroup;
#[cfg(feature = "net")]
#[cfg_attr(docsrs, doc(cfg(feature = "net")))]
pub mod net;
pub mod runtime;
#[cfg(all(unix, feature = "signal"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "signal"))))]
pub mod signal;
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
