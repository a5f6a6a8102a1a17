//! Go's `sync` package (and `x/sync/semaphore`): [`Mutex`], [`RwMutex`],
//! [`WaitGroup`], [`Once`] / [`OnceValue`], [`Cond`] and [`Semaphore`].
//!
//! Every primitive is written once, as a future driven by `Waker`s, so it
//! works in goroutines and under any executor; each `_blocking` twin drives
//! the same future on the calling thread with the thread parked. Before a
//! future returns `Pending` it records its wait reason and the caller's
//! location (`#[track_caller]`) for the goroutine dump and the deadlock
//! detector.
//!
//! # Shared shape
//!
//! Each primitive has a lock word or counter (atomics, through the
//! `crate::loom` shim, so that the loom models under `cfg(loom)` check them)
//! and, behind a small internal lock, a FIFO [`WaitList`](waiter) of waiter
//! nodes held in a slab. A waiting future owns one slot from the moment it
//! blocks until it completes or is dropped. A lock, permit or signal is
//! *granted* to a waiter by marking its node with that internal lock held;
//! a future dropped after the grant but before it saw it passes the grant on
//! (releases the lock, the permit, re-delivers the signal), so cancellation
//! never loses a wake-up. Wakers are called after the internal lock is
//! released.
//!
//! Every constructor is a `const fn`, so each primitive can be a static, as
//! Go's package-level `var mu sync.Mutex` (`WaitGroup` allocates its shared
//! counter on first use for that). Locks reached through an `Arc` also have
//! owned guards (`lock_owned`, `read_owned`, `write_owned`,
//! `acquire_owned`), which may move into a goroutine.
//!
//! Each file opens with its own protocol: the state table of its lock word,
//! who changes which bit, and the steps of each transition.
//!
//! # Departures from Go
//!
//! - *Why do the locks hold the data?* Rust's way: the guard is the proof of
//!   holding the lock, and `defer mu.Unlock()` is the guard's drop. There is
//!   no way to unlock a mutex one does not hold, so Go's `fatal error: sync:
//!   unlock of unlocked mutex` cannot happen.
//! - *Why is `WaitGroup` a `Clone` handle?* Go passes `*WaitGroup` to each
//!   goroutine; in Rust a goroutine must own what it uses, so
//!   `let wg = wg.clone()` moves a handle to the same counter into each one.
//! - *Why does `Semaphore::acquire_blocking(n)` panic when `n` exceeds the
//!   capacity?* In Go it waits until its context is done, and with
//!   `context.Background()` that is forever; a parked OS thread is never
//!   reported by the deadlock detector, so goro says so at once instead. The
//!   future (`acquire(n)`) keeps Go's behaviour, to be bounded by a timeout.

mod cond;
mod mutex;
mod once;
mod owned;
mod rwmutex;
mod semaphore;
mod waiter;
mod waitgroup;

pub use cond::{Cond, CondWait};
pub use mutex::{Mutex, MutexGuard, MutexLock};
pub use once::{Once, OnceCall, OnceValue, OnceValueInit};
pub use owned::{
    OwnedMutexGuard, OwnedMutexLock, OwnedRwMutexRead, OwnedRwMutexReadGuard, OwnedRwMutexWrite,
    OwnedRwMutexWriteGuard, OwnedSemaphoreAcquire, OwnedSemaphorePermit,
};
pub use rwmutex::{RwMutex, RwMutexRead, RwMutexReadGuard, RwMutexWrite, RwMutexWriteGuard};
pub use semaphore::{Semaphore, SemaphoreAcquire, SemaphorePermit};
pub use waitgroup::{WaitGroup, WaitGroupWait};

/// Compile-time `Send` / `Sync` assertions for the public types.
#[allow(dead_code)]
fn _assert_send_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<MutexGuard<'static, Vec<u8>>>();
    send::<MutexLock<'static, Vec<u8>>>();
    send::<MutexGuard<'static, std::cell::Cell<u8>>>();
    send_sync::<RwMutex<Vec<u8>>>();
    send_sync::<RwMutexReadGuard<'static, Vec<u8>>>();
    send_sync::<RwMutexWriteGuard<'static, Vec<u8>>>();
    send::<RwMutexRead<'static, Vec<u8>>>();
    send::<RwMutexWrite<'static, Vec<u8>>>();
    send_sync::<WaitGroup>();
    send::<WaitGroupWait>();
    send_sync::<Once>();
    send_sync::<OnceValue<Vec<u8>>>();
    send::<OnceCall<'static, fn()>>();
    send_sync::<Cond>();
    send::<CondWait<'static, 'static, Vec<u8>>>();
    send_sync::<Semaphore>();
    send_sync::<SemaphorePermit<'static>>();
    send::<SemaphoreAcquire<'static>>();
    send_sync::<OwnedMutexGuard<Vec<u8>>>();
    send::<OwnedMutexGuard<std::cell::Cell<u8>>>();
    send::<OwnedMutexLock<Vec<u8>>>();
    send_sync::<OwnedRwMutexReadGuard<Vec<u8>>>();
    send_sync::<OwnedRwMutexWriteGuard<Vec<u8>>>();
    send::<OwnedRwMutexRead<Vec<u8>>>();
    send::<OwnedRwMutexWrite<Vec<u8>>>();
    send_sync::<OwnedSemaphorePermit>();
    send::<OwnedSemaphoreAcquire>();
    send::<OnceValueInit<'static, Vec<u8>, fn() -> Vec<u8>>>();
}

/// A `block_on` for loom models: parks the loom thread while pending (the
/// crate's `wait::block_on` keeps its parker in a `thread_local`, which
/// loom's threads do not model, and loom's own needs its `futures` feature).
#[cfg(all(test, loom))]
pub(crate) fn loom_block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(loom::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(loom::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        loom::thread::park();
    }
}
