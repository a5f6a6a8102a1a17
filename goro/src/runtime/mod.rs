//! The runtime: scheduler, workers, goroutine bookkeeping.

pub(crate) mod context;
pub(crate) mod park;

pub use crate::wait::WaitReason;
