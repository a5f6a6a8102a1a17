//! The runtime: goroutines multiplexed onto `procs` worker threads by a
//! work-stealing scheduler (Go's G-M-P: goroutine / thread / processor).
//!
//! Most programs need only [`run`] (or `#[goro::main]`) and [`go`]:
//! `run` starts a runtime with one worker per CPU (`GOMAXPROCS` is
//! honoured), runs the main future on the calling thread until it
//! returns, and shuts the runtime down. [`Builder`] sets the number of
//! workers and the safety nets (deadlock detection, sysmon, the SIGQUIT
//! dump); a [`Runtime`] can be kept and reused with [`Runtime::block_on`].
//! Several threads may each run their own runtime.
//!
//! Inside a runtime: [`go`] starts a goroutine, [`spawn_blocking`] runs a
//! blocking call on the blocking pool, [`yield_now`] is `runtime.Gosched`,
//! [`num_goroutine`] and [`procs`] are Go's `NumGoroutine` and
//! `GOMAXPROCS`. [`dump`] lists every goroutine with its wait reason and
//! the line it waits at, [`stats`] counts what the scheduler did.
//!
//! # Examples
//!
//! ```
//! let rt = goro::Runtime::builder().procs(2).build().unwrap();
//! let n = rt.block_on(async {
//!     let hs: Vec<_> = (0..4_u64).map(|i| goro::go(async move { i * i })).collect();
//!     let mut sum = 0;
//!     for h in hs {
//!         sum += h.await.unwrap();
//!     }
//!     sum
//! });
//! assert_eq!(n, 14);
//! ```
//!
//! # Compared with Go and tokio
//!
//! As in tokio, a goroutine is a future and is preempted only at an
//! `.await` (with a cooperative budget: a goroutine whose channel is always
//! ready still yields after 128 operations). A goroutine that blocks its
//! thread (a blocking call, a long computation) is detected by sysmon as in
//! Go: after 10 ms the goroutines queued behind it move to other workers
//! and a replacement thread keeps `procs` threads running goroutines. A
//! panicking goroutine does not kill the process (Go) but is returned by
//! its [`JoinHandle`] (tokio).
//!
//! Shutdown (dropping the `Runtime`, or `run` returning): workers stop at
//! their next scheduling point, then every goroutine still alive has its
//! future dropped on the dropping thread (destructors run), then queued
//! references and timers are released. Running blocking calls finish on
//! their own threads; queued ones are cancelled.
//!
//! The code map and the scheduler's protocols are documented in the
//! source (`runtime/worker.rs`).

pub(crate) mod blocking;
mod builder;
pub(crate) mod context;
pub(crate) mod deadlock;
pub(crate) mod dump;
mod handle;
mod idle;
pub(crate) mod inject;
#[cfg(feature = "net")]
pub(crate) mod io;
#[cfg(not(feature = "net"))]
#[path = "io/none.rs"]
pub(crate) mod io;
mod main_goroutine;
pub(crate) mod owned;
pub(crate) mod park;
mod profile;
pub(crate) mod queue;
pub(crate) mod seeded;
mod shared;
pub(crate) mod signal;
mod spawn;
mod stats;
pub(crate) mod sysmon;
pub(crate) mod worker;

use std::{
    fmt,
    future::Future,
    panic::Location,
    sync::Arc,
    task::{Context, Poll},
};

#[doc(hidden)]
pub use crate::wait::set_wait_tracking;
pub use crate::wait::WaitReason;
pub use builder::Builder;
pub use deadlock::LockCycles;
pub use dump::{dump, Dump, Goroutine, Status};
pub use handle::{Handle, TryCurrentError};
pub use profile::{Group, Grouped};
pub use spawn::{go, spawn_blocking};
pub use stats::{stats, Stats, WorkerStats};

pub(crate) use crate::loom::lock;
pub(crate) use builder::default_procs;
pub(crate) use main_goroutine::MainGoroutine;
pub(crate) use shared::{lock_static, BlockingCall, Shared};
pub(crate) use spawn::{go_at, next_goroutine_id};

use crate::loom::atomic::Ordering::*;
use crate::task::{JoinHandle, Notified};

/// A goro runtime: `procs` worker threads, a blocking pool and timers.
///
/// Dropping it stops the workers and drops every goroutine still alive
/// (their destructors run), as a Go program's goroutines end with `main`.
/// A goroutine waiting inside a `_blocking` call (which holds its worker
/// thread) is released: the call unwinds out of the goroutine, which ends
/// as cancelled (its `JoinHandle` returns `JoinError::Cancelled`; nothing
/// is reported as a panic). Calls still queued on the blocking pool are
/// cancelled; running ones finish on their own threads.
///
/// # Examples
///
/// ```
/// let rt = goro::Runtime::new().unwrap();
/// let v = rt.block_on(async {
///     let h = goro::go(async { 40 + 2 });
///     h.await.unwrap()
/// });
/// assert_eq!(v, 42);
/// ```
pub struct Runtime {
    shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("procs", &self.shared.procs)
            .field("goroutines", &self.shared.owned.len())
            .finish()
    }
}

impl Runtime {
    /// A runtime with the default configuration (see [`Builder`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { "hi" }), "hi");
    /// ```
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(1).build().unwrap();
    /// assert_eq!(rt.procs(), 1);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(2).build().unwrap();
    /// assert_eq!(rt.procs(), 2);
    /// ```
    pub fn procs(&self) -> usize {
        self.shared.procs
    }

    /// Goroutines alive in this runtime, counting each thread inside
    /// `block_on` as one (Go's `runtime.NumGoroutine`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// assert_eq!(rt.num_goroutine(), 0);
    /// let (tx, rx) = goro::chan::<()>(0);
    /// let h = rt.go(async move { rx.recv().await });
    /// assert_eq!(rt.num_goroutine(), 1);
    /// drop(tx);
    /// rt.block_on(h).unwrap();
    /// ```
    pub fn num_goroutine(&self) -> usize {
        self.shared.owned.len() + self.shared.main.active.load(Relaxed)
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// A snapshot of this runtime's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(2).build().unwrap();
    /// rt.block_on(async { goro::go(async {}).await.unwrap() });
    /// let s = rt.stats();
    /// assert_eq!(s.procs, 2);
    /// assert_eq!(s.workers.len(), 2);
    /// ```
    pub fn stats(&self) -> Stats {
        stats::collect(&self.shared)
    }

    /// Spawns a goroutine from outside the runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// let h = rt.go(async { 1 });
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn go<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(fut, Location::caller())
    }

    /// Runs `fut` to completion on this thread, as the program's main
    /// goroutine; goroutines it spawns run on the workers. The future need
    /// not be `Send`.
    ///
    /// Panics when called from inside a goroutine or a runtime thread
    /// (that would block a worker): `.await` instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// // The main future need not be Send: it runs on this thread.
    /// let local = std::rc::Rc::new(5);
    /// let out = rt.block_on(async move {
    ///     let h = goro::go(async { 10 });
    ///     *local + h.await.unwrap()
    /// });
    /// assert_eq!(out, 15);
    /// // The runtime can be reused.
    /// assert_eq!(rt.block_on(async { 1 }), 1);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        Runtime::block_on_shared(&self.shared, fut)
    }

    fn shutdown(&mut self) {
        let shared = &self.shared;
        if !shared.shutdown.swap(true, SeqCst) {
            deadlock::LIVE_RUNTIMES.fetch_sub(1, SeqCst);
            dump::unregister(shared);
        }
        // Every goroutine still alive: drop its future here, before the
        // workers are joined: a goroutine on a worker may wait, in a
        // `_blocking` call, for one of them (its future holds the peer's
        // `Sender`). A goroutine being polled now is cancelled when its
        // poll ends.
        for t in shared.owned.close_and_take_all() {
            // SAFETY: `close_and_take_all` hands us the list's reference.
            unsafe { Notified::from_raw(t) }.shutdown();
        }
        // A worker still waiting in a `_blocking` call gives it up.
        shared.release_blocked();
        for w in 0..shared.remotes.len() {
            shared.unpark_worker(w);
        }
        let me = std::thread::current().id();
        for t in self.threads.drain(..) {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        shared.sysmon.shutdown();
        drop(shared.inject.close());
        shared.timers.clear();
        shared.blocking.shutdown();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Builds a runtime with the default configuration, runs `fut` as the main
/// goroutine, and shuts the runtime down (dropping every goroutine still
/// alive) when it returns — as a Go program ends when `main` returns.
///
/// # Examples
///
/// ```
/// let n = goro::run(async {
///     let handles: Vec<_> = (0..10).map(|i| goro::go(async move { i * i })).collect();
///     let mut sum = 0;
///     for h in handles {
///         sum += h.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(n, 285);
/// ```
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    let rt = Runtime::new().expect("goro: cannot start the runtime");
    rt.block_on(fut)
}

/// Yields the worker to other goroutines: Go's `runtime.Gosched()`. The
/// goroutine goes to the back of its worker's queue.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     goro::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::go(async { 1 });
///     while !h.is_finished() {
///         goro::yield_now().await; // a YieldNow: lets other goroutines run
///     }
///     assert_eq!(h.await.unwrap(), 1);
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The number of goroutines that exist in the current runtime, counting
/// the main one: Go's `runtime.NumGoroutine()`. 0 outside a runtime.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     assert_eq!(goro::num_goroutine(), 1);
/// });
/// ```
pub fn num_goroutine() -> usize {
    context::with(|ctx| match ctx {
        Some(ctx) => {
            let s = ctx.shared();
            s.owned.len() + s.main.active.load(Relaxed)
        }
        None => 0,
    })
}

/// The number of worker threads of the current runtime (Go's
/// `runtime.GOMAXPROCS(0)`); outside a runtime, what a new one would get.
///
/// # Examples
///
/// ```
/// assert!(goro::procs() >= 1);
/// ```
pub fn procs() -> usize {
    context::with(|ctx| match ctx {
        Some(ctx) => ctx.shared().procs,
        None => default_procs(),
    })
}

/// The id of the calling goroutine (the main one inside `block_on`);
/// `None` outside goroutines.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let me = goro::runtime::current_id().unwrap();
///     let child = goro::go(async { goro::runtime::current_id().unwrap() });
///     assert_ne!(child.await.unwrap(), me);
/// });
/// ```
pub fn current_id() -> Option<crate::GoroutineId> {
    match context::current_id() {
        0 => None,
        id => Some(crate::GoroutineId(id)),
    }
}
