//! Goroutines as tasks: one allocation holding a header and the future (or
//! its output); wakers and join handles point at that allocation.
//!
//! Layout (`raw.rs`): `Cell<F, S> = { Header, stage }` (a joining handle's
//! waker waits in the runtime's `join_waker.rs` map, not in the block),
//! `#[repr(C)]` so a `NonNull<Header>` can be cast back to the cell by the
//! type-erased functions of the task's vtable.
//!
//! The state word (`state.rs`) carries the lifecycle bits and the reference
//! count; its table of bits says who may touch the stage and the join
//! waker, and when. References are held by: the run queue (while notified),
//! the owned-task list (until swept after completion), the `JoinHandle`,
//! each `Waker`.
//!
//! Invariants:
//! - a future is polled by at most one thread at a time (`RUNNING`);
//! - a task is in at most one run queue at a time (`NOTIFIED`);
//! - the memory is freed exactly once, by whoever drops the last reference;
//! - once `COMPLETE`, the future has been dropped and is never polled again.

mod alloc;
mod contain;
pub(crate) mod join;
pub(crate) mod join_waker;
pub(crate) mod raw;
pub(crate) mod state;
mod waker;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(test)]
pub(crate) mod testing;

pub(crate) use contain::{drop_contained, wake_contained};
pub use join::{GoroutineId, JoinError, JoinHandle};
pub(crate) use raw::{Header, Notified, Schedule};
pub(crate) use waker::is_task_waker;
