//! Where the worker pool's orders travel when they leave the process.

pub(crate) mod nats;
