//! Owned guards and permits: locks taken through an `Arc`, so the guard
//! holds the `Arc` instead of borrowing the lock and may be moved into a
//! spawned goroutine (tokio's `lock_owned`, `read_owned`, `write_owned`,
//! `acquire_owned`).
//!
//! Each owned future and guard runs exactly the protocol of its borrowed
//! twin: both call the same `poll_*` / `cancel_*` steps of the lock (see
//! the `# Protocol` of `mutex.rs`, `rwmutex.rs` and `semaphore.rs`), which
//! take the waiter's node key by reference instead of living in one future
//! type. So cancellation, hand-off and fairness are the same for both.
//!
//! Why `Option<Arc<_>>` in the futures? The `Arc` moves into the guard when
//! the future resolves, without a second reference count update.
//!
//! One file per lock: `mutex.rs`, `rwmutex.rs`, `semaphore.rs`.

mod mutex;
mod rwmutex;
mod semaphore;

pub use mutex::{OwnedMutexGuard, OwnedMutexLock};
pub use rwmutex::{
    OwnedRwMutexRead, OwnedRwMutexReadGuard, OwnedRwMutexWrite, OwnedRwMutexWriteGuard,
};
pub use semaphore::{OwnedSemaphoreAcquire, OwnedSemaphorePermit};
