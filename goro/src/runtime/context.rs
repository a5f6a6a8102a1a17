//! The thread-local view of the runtime: which goroutine this thread polls.

use std::panic::Location;

use crate::wait::WaitReason;

/// Records the wait reason on the goroutine polled by this thread, if any.
#[inline]
pub(crate) fn record_wait(reason: WaitReason, at: &'static Location<'static>) {
    // Filled in by the scheduler (issue 2); until then no goroutine exists.
    let _ = (reason, at);
}
