//! The thread-local view of the runtime: which runtime this thread serves
//! (as a worker, as the thread inside `block_on`, or as a blocking-pool
//! thread) and which goroutine it is polling right now.
//!
//! The context lives on the stack of the worker loop (or `block_on`) and
//! the thread-local holds a pointer to it for exactly that long.

use std::{
    cell::{Cell, RefCell},
    panic::Location,
    ptr,
};

use super::{worker::Worker, Shared};
use crate::{task::Header, wait::WaitReason};

pub(crate) enum Kind {
    /// A worker thread; the core is borrowed only briefly, never across a poll.
    Worker(RefCell<Option<Worker>>),
    /// The thread inside `block_on`.
    Main,
    /// A blocking-pool thread.
    Blocking,
}

pub(crate) struct ThreadCtx {
    pub(crate) shared: *const Shared,
    pub(crate) kind: Kind,
    /// The worker's index, for worker threads.
    pub(crate) worker: Option<usize>,
    /// The sysmon stamp of a thread that runs goroutines (a worker or a
    /// replacement thread); null elsewhere. It outlives the context.
    pub(crate) stamp: *const super::sysmon::PollStamp,
}

impl ThreadCtx {
    pub(crate) fn shared(&self) -> &Shared {
        // SAFETY: the context lives inside a scope that holds an `Arc<Shared>`.
        unsafe { &*self.shared }
    }
}

struct Tls {
    ctx: Cell<*const ThreadCtx>,
    task: Cell<*const Header>,
    /// What is left of the cooperative budget of the polled goroutine;
    /// `UNCONSTRAINED` outside goroutines.
    budget: Cell<u32>,
}

const UNCONSTRAINED: u32 = u32::MAX;

thread_local! {
    static TLS: Tls = const {
        Tls {
            ctx: Cell::new(ptr::null()),
            task: Cell::new(ptr::null()),
            budget: Cell::new(UNCONSTRAINED),
        }
    };
}

/// Installs `ctx` as this thread's context until the guard drops.
pub(crate) fn enter(ctx: &ThreadCtx) -> EnterGuard {
    let prev = TLS.with(|t| t.ctx.replace(ctx as *const _));
    EnterGuard { prev }
}

pub(crate) struct EnterGuard {
    prev: *const ThreadCtx,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let _ = TLS.try_with(|t| t.ctx.set(self.prev));
    }
}

/// The index of the worker this thread is, if it is one of `shared`'s.
#[inline]
pub(crate) fn worker_index(shared: &Shared) -> Option<usize> {
    with(|ctx| match ctx {
        Some(c) if std::ptr::eq(c.shared, shared) => c.worker,
        _ => None,
    })
}

/// A goroutine-running thread (worker or replacement) waiting inside a goro
/// `_blocking` call: marked in its sysmon stamp (so sysmon hands its
/// goroutines off at once) and registered with its runtime (so shutdown
/// can release it). Elsewhere (plain threads, `block_on`, the blocking
/// pool) the guard does nothing.
pub(crate) struct BlockingCall {
    shared: *const Shared,
    stamp: *const super::sysmon::PollStamp,
    key: usize,
}

impl BlockingCall {
    /// Enters a blocking wait that parks on `parker`.
    pub(crate) fn enter(parker: &std::sync::Arc<crate::wait::ThreadWaker>) -> BlockingCall {
        with(|ctx| match ctx {
            Some(c) if !c.stamp.is_null() => {
                // SAFETY: the stamp outlives the context (see `ThreadCtx`).
                unsafe { &*c.stamp }.blocking_call(true);
                let key = c.shared().register_blocked(parker);
                BlockingCall {
                    shared: c.shared,
                    stamp: c.stamp,
                    key,
                }
            }
            _ => BlockingCall {
                shared: ptr::null(),
                stamp: ptr::null(),
                key: 0,
            },
        })
    }

    /// True when this thread must give up the wait: its runtime shuts down.
    #[inline]
    pub(crate) fn released(&self) -> bool {
        // SAFETY: the context (and its `Shared`) outlives this guard.
        unsafe { self.shared.as_ref() }.is_some_and(|s| s.is_shutdown())
    }
}

impl Drop for BlockingCall {
    fn drop(&mut self) {
        // SAFETY: as in `released`.
        if let Some(s) = unsafe { self.shared.as_ref() } {
            s.unregister_blocked(self.key);
            // SAFETY: the stamp outlives the context.
            unsafe { &*self.stamp }.blocking_call(false);
        }
    }
}

/// True when this thread already serves a runtime.
pub(crate) fn is_entered() -> bool {
    TLS.try_with(|t| !t.ctx.get().is_null()).unwrap_or(false)
}

/// Runs `f` with this thread's context, if any.
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(Option<&ThreadCtx>) -> R) -> R {
    let p = TLS.try_with(|t| t.ctx.get()).unwrap_or(ptr::null());
    // SAFETY: a non-null pointer is valid while its `EnterGuard` lives,
    // which outlasts any call made on this thread inside that scope.
    f(unsafe { p.as_ref() })
}

/// Marks `header` as the goroutine this thread polls until the guard
/// drops, with a fresh cooperative budget.
#[inline]
pub(crate) fn enter_task(header: &Header) -> TaskGuard {
    TLS.try_with(|t| TaskGuard {
        prev: t.task.replace(header as *const _),
        prev_budget: t.budget.replace(super::coop::BUDGET),
    })
    // Lazily: a fallback guard built eagerly would be dropped at once, and
    // its drop would reset this thread's task and budget.
    .unwrap_or_else(|_| TaskGuard {
        prev: ptr::null(),
        prev_budget: UNCONSTRAINED,
    })
}

pub(crate) struct TaskGuard {
    prev: *const Header,
    prev_budget: u32,
}

impl Drop for TaskGuard {
    #[inline]
    fn drop(&mut self) {
        let _ = TLS.try_with(|t| {
            t.task.set(self.prev);
            t.budget.set(self.prev_budget);
        });
    }
}

/// Spends one unit of the cooperative budget; false when it is spent.
/// Only a poll with the polled goroutine's own waker counts (see `coop`).
#[inline]
pub(crate) fn spend_budget(waker: &std::task::Waker) -> bool {
    TLS.try_with(|t| match t.budget.get() {
        UNCONSTRAINED => true,
        n => {
            if !crate::task::is_task_waker(waker, t.task.get()) {
                return true;
            }
            if n == 0 {
                return false;
            }
            t.budget.set(n - 1);
            true
        }
    })
    .unwrap_or(true)
}

/// The id of the goroutine running on this thread: the polled task, or
/// the `block_on` future (main); 0 outside goroutines.
pub(crate) fn current_id() -> u64 {
    let task = TLS.try_with(|t| t.task.get()).unwrap_or(ptr::null());
    // SAFETY: set only for the duration of a poll of a live task.
    if let Some(h) = unsafe { task.as_ref() } {
        return h.id;
    }
    with(|ctx| match ctx {
        Some(ctx) if matches!(ctx.kind, Kind::Main) => ctx.shared().main.id(),
        _ => 0,
    })
}

/// Records the wait reason on the goroutine polled by this thread, if any.
#[inline]
pub(crate) fn record_wait(reason: WaitReason, at: &'static Location<'static>) {
    let task = TLS.try_with(|t| t.task.get()).unwrap_or(ptr::null());
    // SAFETY: set only for the duration of a poll of a live task.
    if let Some(h) = unsafe { task.as_ref() } {
        h.record_wait(reason, at);
        return;
    }
    with(|ctx| {
        if let Some(ctx) = ctx {
            if matches!(ctx.kind, Kind::Main) {
                ctx.shared().main.record_wait(reason, at);
            }
        }
    })
}
