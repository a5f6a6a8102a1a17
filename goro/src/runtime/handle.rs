//! `Handle`: a cheap, cloneable reference to one runtime, to spawn onto it
//! from anywhere — a plain thread, a callback of a C library, a library
//! that captured "the runtime I was called on" (tokio's `Handle`).
//!
//! A handle holds the runtime's shared state (an `Arc`), not the runtime
//! itself: it keeps no thread alive and does not delay shutdown. Once the
//! [`Runtime`] is dropped, goroutines spawned through a handle are
//! cancelled at once (their `JoinHandle` reports `is_cancelled()`).

use std::{fmt, future::Future, panic::Location, sync::Arc};

use super::{blocking, context, Runtime, Shared};
use crate::JoinHandle;

/// A reference to a goro runtime that can spawn goroutines and blocking
/// calls onto it from any thread: `Clone + Send + Sync`.
///
/// Get one with [`Handle::current`] inside a runtime (a goroutine, the
/// future given to `run`/`block_on`, a `spawn_blocking` call) or with
/// [`Runtime::handle`].
///
/// # Examples
///
/// ```
/// use goro::runtime::Handle;
///
/// goro::run(async {
///     let handle = Handle::current();
///     // A plain thread, e.g. a callback of some other library:
///     let t = std::thread::spawn(move || {
///         let h = handle.go(async { 6 * 7 });
///         handle.block_on(h).unwrap()
///     });
///     let v = goro::spawn_blocking(move || t.join().unwrap()).await.unwrap();
///     assert_eq!(v, 42);
/// });
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the runtime this thread serves.
    ///
    /// # Panics
    ///
    /// Outside a goro runtime; use [`try_current`](Handle::try_current)
    /// to ask instead.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let h = goro::runtime::Handle::current();
    ///     assert_eq!(h.procs(), goro::procs());
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    /// The handle of the runtime this thread serves, or an error outside
    /// one.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::runtime::Handle;
    /// assert!(Handle::try_current().is_err());
    /// goro::run(async { assert!(Handle::try_current().is_ok()) });
    /// ```
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with(|ctx| match ctx {
            Some(ctx) => Ok(Handle {
                shared: ctx.shared().arc(),
            }),
            None => Err(TryCurrentError(())),
        })
    }

    /// Starts a goroutine on this handle's runtime, from any thread: Go's
    /// `go f(x)` without having to be inside the runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let h = std::thread::spawn(move || handle.go(async { "hi" }))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(h).unwrap(), "hi");
    /// ```
    #[track_caller]
    pub fn go<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(fut, Location::caller())
    }

    /// Runs the blocking function `f` on this runtime's blocking pool,
    /// from any thread (as [`crate::spawn_blocking`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// let h = rt.handle().spawn_blocking(|| 1 + 1);
    /// assert_eq!(rt.block_on(h).unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        blocking::spawn(&self.shared, f, Location::caller())
    }

    /// Runs `fut` to completion on the calling thread, as a main goroutine
    /// of this runtime (see [`Runtime::block_on`]); goroutines it spawns
    /// with [`crate::go()`] run on the runtime's workers. Several threads may
    /// do this at once.
    ///
    /// # Panics
    ///
    /// When called from inside a goroutine or a runtime thread (it would
    /// block a worker): `.await` instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// let v = std::thread::spawn(move || {
    ///     handle.block_on(async { goro::go(async { 5 }).await.unwrap() })
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(v, 5);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        Runtime::block_on_shared(&self.shared, fut)
    }

    /// The number of worker threads of this runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(2).build().unwrap();
    /// assert_eq!(rt.handle().procs(), 2);
    /// ```
    pub fn procs(&self) -> usize {
        self.shared.procs
    }
}

impl Runtime {
    /// A [`Handle`] to this runtime, to spawn onto it from other threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// let h = rt.handle().go(async { 1 });
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("procs", &self.shared.procs)
            .field("shutdown", &self.shared.is_shutdown())
            .finish()
    }
}

/// The error of [`Handle::try_current`] outside a goro runtime.
///
/// # Examples
///
/// ```
/// let e = goro::runtime::Handle::try_current().unwrap_err();
/// assert!(e.to_string().contains("outside a goro runtime"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "goro::runtime::Handle::current called outside a goro runtime: start one with \
             goro::run, #[goro::main] or Runtime::block_on",
        )
    }
}

impl std::error::Error for TryCurrentError {}

/// `Handle` must be shareable with any thread.
#[allow(dead_code)]
fn _assert_send_sync() {
    fn send_sync<T: Send + Sync + Clone + 'static>() {}
    send_sync::<Handle>();
}
