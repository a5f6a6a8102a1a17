//! `JoinHandle`: the owned end of a goroutine, a future of its result.

use std::{
    any::Any,
    fmt,
    future::Future,
    marker::PhantomData,
    panic::Location,
    pin::Pin,
    ptr::NonNull,
    task::{Context, Poll},
};

use super::raw::{self, Header};
use crate::wait::{self, WaitReason};

/// A goroutine's id, unique within the process, as Go prints it
/// (`goroutine 7 [chan receive]:`). The goroutine running `main` is 1 in
/// the first runtime of a process.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::go(async {});
///     assert!(h.id().as_u64() > 1);
///     h.await.unwrap();
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GoroutineId(pub(crate) u64);

impl GoroutineId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for GoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a goroutine produced no value.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::go(async { panic!("boom") });
///     let err = h.await.unwrap_err();
///     assert!(err.is_panic());
///     assert_eq!(goro::JoinError::panic_message_of(&err), Some("boom"));
/// });
/// ```
pub enum JoinError {
    /// The goroutine was aborted, or the runtime shut down, before it finished.
    Cancelled,
    /// The goroutine panicked; this is the panic's payload.
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// True for [`JoinError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// True for [`JoinError::Panic`].
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panic(_))
    }

    /// The panic payload; panics if the goroutine was cancelled.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            JoinError::Panic(p) => p,
            JoinError::Cancelled => panic!("JoinError::into_panic on a cancelled goroutine"),
        }
    }

    /// The panic message, when the payload is a string.
    pub fn panic_message_of(err: &JoinError) -> Option<&str> {
        match err {
            JoinError::Panic(p) => p
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            JoinError::Cancelled => None,
        }
    }
}

pub(crate) fn panic_message(p: &(dyn Any + Send)) -> &str {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>")
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("Cancelled"),
            JoinError::Panic(p) => f.debug_tuple("Panic").field(&panic_message(&**p)).finish(),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("goroutine was cancelled"),
            JoinError::Panic(p) => write!(f, "goroutine panicked: {}", panic_message(&**p)),
        }
    }
}

impl std::error::Error for JoinError {}

/// The owned end of a goroutine: `.await` it for the goroutine's result.
///
/// Dropping the handle detaches the goroutine: it keeps running, and a
/// panic nobody will read is printed with the goroutine's id and spawn site.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::go(async { 6 * 7 });
///     assert_eq!(h.await.unwrap(), 42);
/// });
/// ```
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    _t: PhantomData<T>,
}

// SAFETY: the handle only moves the output (which is `Send`) out of the
// task; all shared state is behind the task's atomic state word.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` allows only `id`, `is_finished` and `abort`, which
// touch atomics only.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` is a live task with output `T`, and the handle takes over its
    /// join-handle reference.
    pub(crate) unsafe fn from_raw(raw: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _t: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle holds a reference.
        unsafe { self.raw.as_ref() }
    }

    /// The goroutine's id.
    pub fn id(&self) -> GoroutineId {
        GoroutineId(self.header().id)
    }

    /// True once the goroutine has finished (returned, panicked or been
    /// cancelled); awaiting the handle then returns at once.
    pub fn is_finished(&self) -> bool {
        self.header().state.load().has(super::state::COMPLETE)
    }

    /// Cancels the goroutine: its future is dropped (destructors run) the
    /// next time a worker gets to it, and awaiting the handle returns
    /// `Err(JoinError::Cancelled)` unless it had already finished.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let h = goro::go(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort(&self) {
        // SAFETY: the handle holds a reference.
        unsafe { raw::cancel(self.raw) }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the handle holds its reference and `T` is the task's output.
        let r = unsafe { raw::join_poll::<T>(self.raw, cx.waker()) };
        if r.is_pending() {
            wait::record(WaitReason::Join, Location::caller());
        }
        r
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: the handle's reference is consumed here, once.
        unsafe { raw::join_drop(self.raw) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.header().id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
