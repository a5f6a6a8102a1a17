//! Starting goroutines: [`go`], goroutine ids, and scheduling a new
//! goroutine (one thread-local lookup for the whole spawn), plus
//! [`spawn_blocking`].

// loom-exempt: the static goroutine-id counter.
use std::{
    cell::Cell,
    future::Future,
    panic::Location,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
};

use super::{
    blocking,
    context::{self, Current},
    worker, Shared,
};
use crate::task::{raw, JoinHandle, Notified};

impl Shared {
    /// Spawns from any thread (a `Runtime` or `Handle` outside the runtime
    /// included).
    pub(super) fn spawn<F>(&self, fut: F, at: &'static Location<'static>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        context::with_current(|here| self.spawn_here(&here, fut, at))
    }

    /// Spawns `fut` from the thread `here` describes: its id from the
    /// thread's batch, its parent the goroutine running here, listed with
    /// this worker's shard and queued on this worker when the thread is
    /// one of this runtime's workers (else the injector).
    fn spawn_here<F>(
        &self,
        here: &Current<'_>,
        fut: F,
        at: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = next_id(here.ids);
        let mine = here.ctx.filter(|c| std::ptr::eq(c.shared, self));
        let (notified, ptr, listed) = self.owned.insert(mine.and_then(|c| c.worker), |entry| {
            raw::allocate_listed::<F, worker::Goroutine>(fut, self, id, here.goroutine, at, entry)
        });
        // SAFETY: `allocate` made a join-handle reference for us.
        let handle = unsafe { JoinHandle::from_raw(ptr) };
        if !listed {
            // Shutting down: cancel at once (its future is dropped here).
            // SAFETY: the owned-list reference the list refused.
            unsafe { Notified::from_raw(ptr) }.shutdown();
            drop(notified);
            return handle;
        }
        worker::schedule_spawned(self, mine, notified);
        handle
    }
}

/// Goroutine ids: one process-wide counter, handed out to threads in
/// batches so that spawning does not contend on it (Go's `goidcache`).
pub(crate) fn next_goroutine_id() -> u64 {
    context::with_current(|here| next_id(here.ids))
}

/// The next id from this thread's batch `ids` (taking a new batch when it
/// is used up), or straight from the counter without one.
fn next_id(ids: Option<&Cell<(u64, u64)>>) -> u64 {
    const BATCH: u64 = 64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    match ids {
        Some(c) => {
            let (mut next, mut end) = c.get();
            if next == end {
                next = NEXT.fetch_add(BATCH, Relaxed);
                end = next + BATCH;
            }
            c.set((next + 1, end));
            next
        }
        None => NEXT.fetch_add(1, Relaxed),
    }
}

/// Starts a goroutine running `fut` and returns its [`JoinHandle`]: Go's
/// `go f(x)`. Must be called from inside a goro runtime (a goroutine, or
/// the future given to `run`/`block_on`).
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::go(async { "hello from a goroutine" });
///     assert_eq!(h.await.unwrap(), "hello from a goroutine");
/// });
/// ```
#[track_caller]
pub fn go<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    go_at(fut, Location::caller())
}

/// `go` with an explicit spawn site, for goro's own helpers (errgroup,
/// WaitGroup::go) that are `#[track_caller]` themselves; the panic outside
/// a runtime points at the user's call through the same chain.
#[track_caller]
pub(crate) fn go_at<F>(fut: F, at: &'static Location<'static>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::with_current(|here| match here.ctx {
        Some(ctx) => ctx.shared().spawn_here(&here, fut, at),
        None => panic!(
            "goro::go called outside a goro runtime: start one with goro::run, \
             #[goro::main] or Runtime::block_on"
        ),
    })
}

/// Runs the blocking function `f` on the blocking thread pool, so that it
/// does not hold a worker; await the handle for its result.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::spawn_blocking(|| std::fs::metadata(".").is_ok());
///     assert!(h.await.unwrap());
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let at = Location::caller();
    context::with(|ctx| match ctx {
        Some(ctx) => blocking::spawn(&ctx.shared().arc(), f, at),
        None => panic!("goro::spawn_blocking called outside a goro runtime"),
    })
}
