//! Go's `sync` package (and `x/sync/semaphore`): [`Mutex`], [`RwMutex`],
//! [`WaitGroup`], [`Once`] / [`OnceValue`], [`Cond`] and [`Semaphore`].
//!
//! Each primitive can be used three ways:
//! - in a goroutine (or any `async` code, under any executor):
//!   `mu.lock().await`, `wg.wait().await` — the goroutine parks, its worker
//!   runs other goroutines;
//! - on a plain thread: the `_blocking` twin (`mu.lock_blocking()`,
//!   `wg.wait_blocking()`) parks the thread;
//! - without waiting: `try_lock`, `try_acquire`.
//!
//! A waiting goroutine shows up in the goroutine dump with Go's wait
//! reason (`sync.Mutex.Lock`, `sync.WaitGroup.Wait`, ...) and the line it
//! waits at, and counts for the deadlock detector. Waiters are served in
//! FIFO order, and dropping a waiting future (a timeout, a lost
//! `select!`) never loses a wake-up or a lock.
//!
//! # Examples
//!
//! A counter behind a `Mutex`, and a `WaitGroup` to wait for the workers:
//!
//! ```
//! use std::sync::Arc;
//! use goro::sync::{Mutex, WaitGroup};
//!
//! goro::run(async {
//!     let count = Arc::new(Mutex::new(0));
//!     let wg = WaitGroup::new();
//!     for _ in 0..10 {
//!         wg.add(1);
//!         let (count, wg) = (count.clone(), wg.clone());
//!         goro::go(async move {
//!             *count.lock().await += 1; // the guard unlocks: `defer mu.Unlock()`
//!             wg.done();
//!         });
//!     }
//!     wg.wait().await;
//!     assert_eq!(*count.lock().await, 10);
//! });
//! ```
//!
//! # Compared with tokio and std
//!
//! Like `tokio::sync`, the locks are held across `.await` safely and hold
//! their data (`Mutex<T>`); unlike it, each has a blocking twin for
//! threads, and `WaitGroup`, `Once`, `Cond` follow Go. Use `std::sync::Mutex`
//! for data that is never locked across an `.await`: it is cheaper.
//!
//! Every constructor is a `const fn`, so each primitive can be a static, as
//! Go's package-level `var mu sync.Mutex` (`WaitGroup` allocates its shared
//! counter on first use for that). Locks reached through an `Arc` also have
//! owned guards (`lock_owned`, `read_owned`, `write_owned`,
//! `acquire_owned`), which may move into a goroutine.
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
//!
//! The shared protocol of the primitives (lock words, the waiter list,
//! grants on cancellation) is documented in the source, in `sync/waiter.rs`.

mod cond;
pub(crate) mod cycle;
mod mutex;
mod once;
mod once_value;
mod owned;
mod rwmutex;
mod semaphore;
mod waiter;
mod waitgroup;

pub use cond::{Cond, CondWait};
pub use mutex::{Mutex, MutexGuard, MutexLock};
pub use once::{Once, OnceCall};
pub use once_value::{OnceValue, OnceValueInit};
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

/// Polls an unpinned future once with a no-op waker (the protocol tests'
/// step-by-step driver).
#[cfg(test)]
pub(crate) fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> std::task::Poll<F::Output> {
    let waker = std::task::Waker::noop();
    std::pin::Pin::new(f).poll(&mut std::task::Context::from_waker(waker))
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
