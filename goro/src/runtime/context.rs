//! The thread-local view of the runtime: which runtime this thread serves
//! (as a worker, as the thread inside `block_on`, or as a blocking-pool
//! thread), which goroutine it is polling right now, and that goroutine's
//! cooperative budget ([`poll_proceed`]).
//!
//! The context lives on the stack of the worker loop (or `block_on`) and
//! the thread-local holds a pointer to it for exactly that long.

use std::{
    cell::{Cell, RefCell},
    ptr,
};

use super::{worker::Worker, Shared};
use crate::{task::Header, wait::WaitRecord};

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
    /// This thread's batch of goroutine ids: the next one, and the end.
    ids: Cell<(u64, u64)>,
}

const UNCONSTRAINED: u32 = u32::MAX;

thread_local! {
    static TLS: Tls = const {
        Tls {
            ctx: Cell::new(ptr::null()),
            task: Cell::new(ptr::null()),
            budget: Cell::new(UNCONSTRAINED),
            ids: Cell::new((0, 0)),
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

/// Runs `f` with this thread's context, if any, and whether this thread
/// is inside a goroutine's poll (one TLS access).
#[inline]
pub(crate) fn with_polling<R>(f: impl FnOnce(Option<&ThreadCtx>, bool) -> R) -> R {
    let (p, task) = TLS
        .try_with(|t| (t.ctx.get(), t.task.get()))
        .unwrap_or((ptr::null(), ptr::null()));
    // SAFETY: as in `with`.
    f(unsafe { p.as_ref() }, !task.is_null())
}

/// Marks `header` as the goroutine this thread polls until the guard
/// drops, with a fresh cooperative budget.
#[inline]
pub(crate) fn enter_task(header: &Header) -> TaskGuard {
    TLS.try_with(|t| TaskGuard {
        prev: t.task.replace(header as *const _),
        prev_budget: t.budget.replace(BUDGET),
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

// ---- the cooperative budget ------------------------------------------------
//
// How many goro operations a goroutine may complete in one poll before it
// must yield its worker. Rust futures cannot be preempted. A goroutine
// whose channel is always ready (a producer that keeps up, a closed channel
// in a `select!` loop) would otherwise never return `Pending` and would
// starve every goroutine queued behind it on its worker. Each poll of a
// goroutine starts with `BUDGET` units (`enter_task`); every channel
// operation spends one first ([`poll_proceed`]); when none are left it
// wakes its own task and returns `Pending` without touching the channel,
// so the goroutine goes to the back of the run queue (a `yield_now`).
// Outside goroutines (threads, other executors) there is no budget.
//
// Only a poll with the goroutine's own task waker spends it: a future
// driven by a nested executor inside the goroutine (every `_blocking`
// call, `futures::executor::block_on`, `Select::try_select`'s no-op waker)
// cannot yield the goroutine by returning `Pending`: it would wake its own
// waker and be re-polled at once, forever.

/// Operations per poll. Go's time slice is 10 ms; 128 channel operations
/// take a few microseconds.
pub(crate) const BUDGET: u32 = 128;

/// Spends one unit of the current goroutine's budget, or yields (wakes
/// the task, `Pending`) when it is spent.
#[inline]
pub(crate) fn poll_proceed(cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
    let waker = cx.waker();
    let spent = TLS
        .try_with(|t| match t.budget.get() {
            UNCONSTRAINED => false,
            n => {
                if !crate::task::is_task_waker(waker, t.task.get()) {
                    return false;
                }
                if n == 0 || (super::seeded::chaos_possible() && super::seeded::chaos_yield()) {
                    return true;
                }
                t.budget.set(n - 1);
                false
            }
        })
        .unwrap_or(false);
    if spent {
        waker.wake_by_ref();
        std::task::Poll::Pending
    } else {
        std::task::Poll::Ready(())
    }
}

/// Whether `waker` is the waker of the goroutine this thread polls (a
/// poll that may yield it by returning `Pending`; see the budget above).
#[inline]
pub(crate) fn is_own_task_waker(waker: &std::task::Waker) -> bool {
    TLS.try_with(|t| {
        let task = t.task.get();
        !task.is_null() && crate::task::is_task_waker(waker, task)
    })
    .unwrap_or(false)
}

/// What starting a goroutine needs from this thread, read in one
/// thread-local access (see `spawn.rs`).
pub(crate) struct Current<'a> {
    /// This thread's context, if it serves a runtime.
    pub(crate) ctx: Option<&'a ThreadCtx>,
    /// The id of the goroutine running here (see [`current_id`]).
    pub(crate) goroutine: u64,
    /// This thread's goroutine-id batch (`None` while the thread-local is
    /// being destroyed).
    pub(crate) ids: Option<&'a Cell<(u64, u64)>>,
}

/// Runs `f` with this thread's [`Current`].
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Current<'_>) -> R) -> R {
    let (ctx, task, ids) = TLS
        .try_with(|t| (t.ctx.get(), t.task.get(), &t.ids as *const Cell<(u64, u64)>))
        .unwrap_or((ptr::null(), ptr::null(), ptr::null()));
    // SAFETY: `ctx` as in `with`; `task` is set only for the duration of
    // a poll of a live task; `ids` points into this thread's live
    // thread-local, which is destroyed only when the thread exits.
    let (ctx, task, ids) = unsafe { (ctx.as_ref(), task.as_ref(), ids.as_ref()) };
    let goroutine = match (task, ctx) {
        (Some(h), _) => h.id(),
        (None, Some(c)) if matches!(c.kind, Kind::Main) => c.shared().main.id(),
        _ => 0,
    };
    f(Current {
        ctx,
        goroutine,
        ids,
    })
}

/// The id of the goroutine running on this thread: the polled task, or
/// the `block_on` future (main); 0 outside goroutines.
pub(crate) fn current_id() -> u64 {
    with_current(|c| c.goroutine)
}

/// Runs `f` on the wait record of the goroutine polled by this thread (a
/// task's header, or main's), if any: `wait::record` writes it.
#[inline]
pub(crate) fn with_wait_record(f: impl FnOnce(&WaitRecord)) {
    let task = TLS.try_with(|t| t.task.get()).unwrap_or(ptr::null());
    // SAFETY: set only for the duration of a poll of a live task.
    if let Some(h) = unsafe { task.as_ref() } {
        return f(&h.wait);
    }
    with(|ctx| {
        if let Some(ctx) = ctx {
            if matches!(ctx.kind, Kind::Main) {
                f(&ctx.shared().main.wait);
            }
        }
    })
}
