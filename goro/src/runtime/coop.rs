//! The cooperative budget: how many goro operations a goroutine may
//! complete in one poll before it must yield its worker.
//!
//! Rust futures cannot be preempted. A goroutine whose channel is always
//! ready (a producer that keeps up, a closed channel in a `select!` loop)
//! would otherwise never return `Pending` and would starve every goroutine
//! queued behind it on its worker. Each poll of a goroutine starts with
//! `BUDGET` units; every channel operation spends one first; when none are
//! left it wakes its own task and returns `Pending` without touching the
//! channel, so the goroutine goes to the back of the run queue (a
//! `yield_now`). Outside goroutines (threads, other executors) there is no
//! budget.
//!
//! Only a poll with the goroutine's own task waker spends it: a future
//! driven by a nested executor inside the goroutine (every `_blocking`
//! call, `futures::executor::block_on`, `Select::try_select`'s no-op
//! waker) cannot yield the goroutine by returning `Pending`: it would
//! wake its own waker and be re-polled at once, forever.

use std::task::{Context, Poll};

use super::context;

/// Operations per poll. Go's time slice is 10 ms; 128 channel operations
/// take a few microseconds.
pub(crate) const BUDGET: u32 = 128;

/// Spends one unit of the current goroutine's budget, or yields when it
/// is spent.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    if context::spend_budget(cx.waker()) {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
