//! goro: Go's concurrency system for Rust.
//!
//! Goroutines on an M:N work-stealing scheduler, channels with Go's
//! semantics and a loss-free `select!`, the `sync` package, errgroup,
//! context, timers, and Go's safety nets.
//!
//! See the crate README for the Go → goro table.
#![warn(missing_docs)]

mod loom;
mod rand;
mod wait;

pub mod chan;
pub mod runtime;
pub mod sync;

pub use chan::chan;
