//! `JoinHandle`: the owned end of a goroutine, a future of its result.

// loom-exempt: the payload cell of a JoinError (a value, not a protocol).
use std::{
    any::Any,
    fmt,
    future::Future,
    marker::PhantomData,
    panic::Location,
    pin::Pin,
    ptr::NonNull,
    sync::Mutex,
    task::{Context, Poll},
};

use super::raw::{self, Header};
use crate::wait::{self, WaitReason};

/// A goroutine's id, unique within the process, as Go prints it
/// (`goroutine 7 [chan receive]:`). The goroutine running `main` is 1 in
/// the first runtime of a process. A goroutine keeps its id in 48 bits:
/// ids are unique for the first 2^48 goroutines of a process.
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
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let h = goro::go(async {});
    ///     let n: u64 = h.id().as_u64();
    ///     assert_eq!(n.to_string(), h.id().to_string());
    ///     h.await.unwrap();
    /// });
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for GoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a goroutine produced no value: it panicked, or it was cancelled
/// ([`JoinHandle::abort`], or the runtime shut down first).
///
/// `JoinError` is `Send + Sync + 'static` and implements
/// [`std::error::Error`], so `h.await?` works in a function returning
/// `Result<_, Box<dyn Error + Send + Sync>>` (or `anyhow::Result`). The
/// panic payload is kept: [`into_panic`](JoinError::into_panic) hands it
/// back for [`std::panic::resume_unwind`].
///
/// Unlike Go, where a panicking goroutine kills the process, goro hands the
/// panic to whoever joins the goroutine (as tokio does).
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::go(async { panic!("boom") });
///     let err = h.await.unwrap_err();
///     assert!(err.is_panic());
///     assert_eq!(err.panic_message(), Some("boom"));
///     assert_eq!(err.to_string(), format!("goroutine {} panicked: boom", err.id()));
/// });
/// ```
pub struct JoinError {
    id: GoroutineId,
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic {
        /// The payload, behind a mutex only so that `JoinError` is `Sync`
        /// (the payload is just `Send`); it is never locked, only taken
        /// out by value.
        payload: Mutex<Box<dyn Any + Send + 'static>>,
        /// The payload's message, copied out when it is a string.
        message: Option<String>,
    },
}

impl JoinError {
    pub(crate) fn cancelled(id: u64) -> JoinError {
        JoinError {
            id: GoroutineId(id),
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: u64, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        let message = string_payload(&*payload).map(str::to_owned);
        JoinError {
            id: GoroutineId(id),
            repr: Repr::Panic {
                payload: Mutex::new(payload),
                message,
            },
        }
    }

    /// True when the goroutine was cancelled: aborted through
    /// [`JoinHandle::abort`], or dropped by a runtime shutting down.
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
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True when the goroutine panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let err = goro::go(async { panic!("boom") }).await.unwrap_err();
    ///     assert!(err.is_panic());
    ///     assert!(!err.is_cancelled());
    /// });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic { .. })
    }

    /// The panic payload, e.g. to re-raise it with
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the goroutine was cancelled rather than panicked; see
    /// [`try_into_panic`](JoinError::try_into_panic).
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let err = goro::go(async { std::panic::panic_any(7_u32) }).await.unwrap_err();
    ///     let payload = err.into_panic();
    ///     assert_eq!(payload.downcast_ref::<u32>(), Some(&7));
    /// });
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(p) => p,
            Err(e) => panic!("JoinError::into_panic on a cancelled goroutine ({})", e.id),
        }
    }

    /// The panic payload, or the error itself back if the goroutine was
    /// cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let h = goro::go(std::future::pending::<()>());
    ///     h.abort();
    ///     let err = h.await.unwrap_err();
    ///     let err = err.try_into_panic().unwrap_err();
    ///     assert!(err.is_cancelled());
    /// });
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic { payload, .. } => {
                Ok(payload.into_inner().unwrap_or_else(|e| e.into_inner()))
            }
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the goroutine panicked with a string
    /// (`panic!("...")`, with or without formatting arguments).
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let err = goro::go(async { panic!("bad {}", 42) }).await.unwrap_err();
    ///     assert_eq!(err.panic_message(), Some("bad 42"));
    /// });
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic { message, .. } => message.as_deref(),
            Repr::Cancelled => None,
        }
    }

    /// The id of the goroutine that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let h = goro::go(async { panic!("boom") });
    ///     let id = h.id();
    ///     assert_eq!(h.await.unwrap_err().id(), id);
    /// });
    /// ```
    pub fn id(&self) -> GoroutineId {
        self.id
    }
}

/// The message of a panic whose payload is a `&str` or a `String`.
pub(crate) fn string_payload(p: &(dyn Any + Send)) -> Option<&str> {
    p.downcast_ref::<&'static str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
}

pub(crate) fn panic_message(p: &(dyn Any + Send)) -> &str {
    string_payload(p).unwrap_or("Box<dyn Any>")
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({})", self.id),
            Repr::Panic { message, .. } => write!(
                f,
                "JoinError::Panic({}, {:?})",
                self.id,
                message.as_deref().unwrap_or("Box<dyn Any>")
            ),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "goroutine {} was cancelled", self.id),
            Repr::Panic { message, .. } => write!(
                f,
                "goroutine {} panicked: {}",
                self.id,
                message.as_deref().unwrap_or("Box<dyn Any>")
            ),
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
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let a = goro::go(async {});
    ///     let b = goro::go(async {});
    ///     assert_ne!(a.id(), b.id());
    ///     assert!(b.id() > a.id()); // ids grow, as in Go
    ///     a.await.unwrap();
    ///     b.await.unwrap();
    /// });
    /// ```
    pub fn id(&self) -> GoroutineId {
        GoroutineId(self.header().id())
    }

    /// True once the goroutine has finished (returned, panicked or been
    /// cancelled); awaiting the handle then returns at once.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let (tx, rx) = goro::chan::<()>(0);
    ///     let h = goro::go(async move { rx.recv().await });
    ///     assert!(!h.is_finished()); // waits for the channel
    ///     drop(tx); // closes it: the goroutine returns
    ///     assert_eq!(h.await.unwrap(), None);
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.header().state.load().has(super::state::COMPLETE)
    }

    /// Cancels the goroutine: its future is dropped (destructors run) the
    /// next time a worker gets to it, and awaiting the handle returns
    /// an error with [`JoinError::is_cancelled`] unless it had already finished.
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
            if crate::sync::cycle::enabled() {
                let h = self.header();
                crate::sync::cycle::joins(h as *const _ as usize, h.id(), Location::caller());
            }
        }
        r
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        crate::sync::cycle::join_dropped(self.header() as *const _ as usize);
        // SAFETY: the handle's reference is consumed here, once.
        unsafe { raw::join_drop(self.raw) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.header().id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    // loom-exempt: a test's wake counter, read after the runtime is gone.
    use std::{
        future::Future,
        pin::Pin,
        sync::{
            atomic::{AtomicUsize, Ordering::SeqCst},
            Arc,
        },
        task::{Context, Poll, Wake, Waker},
    };

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn poll_with<T>(h: &mut super::JoinHandle<T>, w: &Waker) -> Poll<Result<T, super::JoinError>> {
        Pin::new(h).poll(&mut Context::from_waker(w))
    }

    /// Waits (yielding) until no handle's waker is left in the map.
    async fn map_empties(h: &super::Header) {
        for _ in 0..10_000 {
            if h.shared().join_wakers.len() == 0 {
                return;
            }
            crate::yield_now().await;
        }
        panic!("a join waker was left in the map");
    }

    /// A handle's waker sits in the runtime's map only while it waits
    /// (issue 14): replaced, not added to, by a poll with another waker;
    /// taken out and woken at completion; taken out at completion too when
    /// the handle was dropped meanwhile.
    #[test]
    fn join_wakers_leave_the_map() {
        crate::run(async {
            let (tx, rx) = crate::chan::<()>(0);
            let mut h = crate::go(async move { rx.recv().await });
            let header = h.raw;
            // SAFETY: `h` (then the goroutine's own list entry) keeps the
            // task alive until the runtime ends, after this test's checks.
            let hdr = unsafe { header.as_ref() };
            let a = Arc::new(Count(AtomicUsize::new(0)));
            let b = Arc::new(Count(AtomicUsize::new(0)));
            assert!(poll_with(&mut h, &Waker::from(a.clone())).is_pending());
            assert!(poll_with(&mut h, &Waker::from(b.clone())).is_pending());
            assert_eq!(hdr.shared().join_wakers.len(), 1);
            assert!(tx.send(()).await.is_ok());
            map_empties(hdr).await;
            assert_eq!((a.0.load(SeqCst), b.0.load(SeqCst)), (0, 1));
            assert!(matches!(
                poll_with(&mut h, &Waker::from(b.clone())),
                Poll::Ready(Ok(Some(())))
            ));

            let (tx, rx) = crate::chan::<()>(0);
            let mut h = crate::go(async move { rx.recv().await });
            assert!(poll_with(&mut h, &Waker::from(a.clone())).is_pending());
            let hdr = h.header() as *const super::Header;
            drop(h);
            // SAFETY: the goroutine's list entry keeps it alive until swept,
            // which needs a spawn on this thread: none happens below.
            let hdr = unsafe { &*hdr };
            assert_eq!(hdr.shared().join_wakers.len(), 1);
            assert!(tx.send(()).await.is_ok());
            map_empties(hdr).await;
            assert_eq!(a.0.load(SeqCst), 0);
        });
    }
}
