//! `Context`: cancellation and deadlines that flow from a parent to its
//! children, as Go's `context` package.
//!
//! A context is a node in a tree. Cancelling a node (its `cancel` function,
//! its deadline passing, or its parent being cancelled) records the error,
//! closes its `done()` channel, and cancels every child that is still
//! attached; a child that is cancelled first detaches itself from its
//! parent. The first cause wins: once `err()` is set it never changes.
//!
//! Deadlines need no goroutine: a timer in the runtime's heap (or the
//! global one, outside a runtime) whose waker cancels the context. The
//! timer holds the node, as Go's does: a child dropped without `cancel`
//! still expires at its deadline, closes its `done()` and leaves its
//! parent then. A child without a deadline leaves its parent when its last
//! handle (contexts and cancel function) is dropped.
//!
//! `done()` closes only on cancellation: a node dropped uncancelled leaves
//! its channel open (Go's never closes), so a goroutine holding only
//! `done()` does not mistake the drop for a cancel.
//!
//! Compared with Go: the same tree, errors and first-cause-wins rule;
//! `ctx.Done()` is [`Context::done`], a goro channel, so it is a
//! `select!` arm; a `CancelFunc` is an `Arc<dyn Fn()>` that may be called
//! any number of times, and the `with_*` constructors are `#[must_use]` as
//! Go vet's `lostcancel` check asks. Context values (`WithValue`) are left
//! to Rust's own types: pass what a goroutine needs as an argument.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use goro::context::{self, ContextError};
//!
//! goro::run(async {
//!     let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_millis(10));
//!     let done = ctx.done();
//!     goro::select! {
//!         recv(done) -> _ => {}
//!         recv(goro::time::after(Duration::from_secs(5))) -> _ => panic!("the deadline passed long ago"),
//!     }
//!     assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
//!     cancel(); // harmless after the fact, as in Go
//! });
//! ```

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    panic::Location,
    pin::pin,
    sync::{Arc, Weak},
    task::{Poll, Wake, Waker},
    time::{Duration, Instant},
};

use crate::{
    chan::Receiver,
    loom::{lock, Mutex, MutexGuard},
    time::Callback,
};

/// Why a context is done: Go's `context.Canceled` and
/// `context.DeadlineExceeded`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use goro::context::{self, ContextError};
/// goro::run(async {
///     let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(1));
///     assert_eq!(ctx.wait().await, ContextError::DeadlineExceeded);
///     assert_eq!(ContextError::DeadlineExceeded.to_string(), "context deadline exceeded");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContextError {
    /// `cancel` was called (on this context or an ancestor).
    Canceled,
    /// The deadline passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

/// Go's `CancelFunc`: call it to cancel the context it came with. Calling it
/// again, or after the context ended another way, does nothing.
///
/// # Examples
///
/// ```
/// let (ctx, cancel) = goro::context::with_cancel(&goro::context::background());
/// let c2 = cancel.clone(); // an Arc: hand copies to whoever may cancel
/// c2();
/// cancel(); // again: nothing happens
/// assert!(ctx.is_done());
/// ```
pub type CancelFunc = Arc<dyn Fn() + Send + Sync + 'static>;

/// Why a context was cancelled, beyond its [`ContextError`]: the error
/// given to a [`CancelCauseFunc`] (Go's `context.Cause`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let cause: goro::context::Cause = Arc::new(std::io::Error::other("shutting down"));
/// assert_eq!(cause.to_string(), "shutting down");
/// ```
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Go's `CancelCauseFunc`: cancels its context with a cause (`None`: the
/// cause is [`ContextError::Canceled`]). Only the first cancel counts.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let (ctx, cancel) = goro::context::with_cancel_cause(&goro::context::background());
/// let f: goro::context::CancelCauseFunc = cancel;
/// f(Some(Arc::new(std::io::Error::other("disk full"))));
/// assert_eq!(ctx.cause().unwrap().to_string(), "disk full");
/// ```
pub type CancelCauseFunc = Arc<dyn Fn(Option<Cause>) + Send + Sync + 'static>;

/// The `stop` function of [`after_func`]: true if it stopped the function
/// from running, false if it had started (or was stopped) already.
///
/// # Examples
///
/// ```
/// let (ctx, _cancel) = goro::context::with_cancel(&goro::context::background());
/// let stop: goro::context::StopFunc = goro::context::after_func(&ctx, || println!("cancelled"));
/// assert!(stop()); // stopped before the context was cancelled: it never runs
/// assert!(!stop()); // already stopped
/// ```
pub type StopFunc = Arc<dyn Fn() -> bool + Send + Sync + 'static>;

/// A cancellation signal with an optional deadline, passed down a call tree.
/// Cloning is cheap and yields the same context.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use goro::context::{self, Context, ContextError};
///
/// // A worker that stops when its context is done, as in Go.
/// async fn worker(ctx: Context, jobs: goro::chan::Receiver<u32>) -> u32 {
///     let mut done = 0;
///     loop {
///         goro::select! {
///             recv(ctx.done()) -> _ => return done,
///             recv(jobs) -> j => match j {
///                 Some(_) => done += 1,
///                 None => return done,
///             },
///         }
///     }
/// }
///
/// goro::run(async {
///     let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(30));
///     let (tx, rx) = goro::chan::<u32>(0);
///     let h = goro::go(worker(ctx.clone(), rx));
///     for j in 0..3 {
///         tx.send(j).await.unwrap();
///     }
///     cancel();
///     assert_eq!(h.await.unwrap(), 3);
///     assert_eq!(ctx.err(), Some(ContextError::Canceled));
/// });
/// ```
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

struct Node {
    id: u64,
    parent: Option<Context>,
    deadline: Option<Instant>,
    done: Receiver<()>,
    state: Mutex<State>,
}

struct State {
    err: Option<ContextError>,
    /// Set with `err`: the cancel's cause (or `err` itself).
    cause: Option<Cause>,
    /// Functions of `after_func` waiting for the cancel, by id.
    funcs: HashMap<u64, AfterFunc>,
    children: HashMap<u64, Weak<Node>>,
    timer: Option<Callback>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("deadline", &self.node.deadline)
            .field("err", &self.err())
            .finish()
    }
}

fn next_id() -> u64 {
    // loom-exempt: a static (loom's constructors are not `const`), a plain
    // counter outside every protocol.
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Relaxed)
}

/// The root context: never cancelled, no deadline (Go's
/// `context.Background()`). Its `done()` is never ready.
///
/// # Examples
///
/// ```
/// let ctx = goro::context::background();
/// assert_eq!(ctx.err(), None);
/// assert!(ctx.deadline().is_none());
/// ```
pub fn background() -> Context {
    Context {
        node: Arc::new(Node {
            id: next_id(),
            parent: None,
            deadline: None,
            done: crate::chan::never(),
            state: Mutex::new(State {
                err: None,
                cause: None,
                funcs: HashMap::new(),
                children: HashMap::new(),
                timer: None,
            }),
        }),
    }
}

/// Go's `context.TODO()`: the same as [`background`], for code not yet
/// passed a context.
///
/// # Examples
///
/// ```
/// let ctx = goro::context::todo();
/// assert!(!ctx.is_done());
/// ```
pub fn todo() -> Context {
    background()
}

impl Context {
    /// A channel that is closed when the context is done: `recv()` then
    /// returns `None` at once. Use it as a `select!` arm.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let (ctx, cancel) = goro::context::with_cancel(&goro::context::background());
    ///     let done = ctx.done();
    ///     goro::go(async move { cancel() });
    ///     assert_eq!(done.recv().await, None);
    /// });
    /// ```
    pub fn done(&self) -> Receiver<()> {
        self.node.done.clone()
    }

    /// Why the context is done, or `None` while it is not.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context::{self, ContextError};
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// assert_eq!(ctx.err(), None);
    /// cancel();
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// ```
    pub fn err(&self) -> Option<ContextError> {
        self.node.lock().err
    }

    /// When the context will be cancelled by its deadline, if it has one
    /// (inherited from the nearest ancestor with a deadline, or its own if
    /// earlier).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::context;
    /// let (parent, _c1) = context::with_timeout(&context::background(), Duration::from_secs(10));
    /// let (child, _c2) = context::with_timeout(&parent, Duration::from_secs(60));
    /// // The child cannot outlive its parent's deadline.
    /// assert_eq!(child.deadline(), parent.deadline());
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }

    /// How many children are attached to this context (not yet cancelled
    /// and not yet dropped). For goro's own leak tests; not a stable API.
    #[doc(hidden)]
    pub fn __children(&self) -> usize {
        self.node.lock().children.len()
    }

    /// True once the context is done.
    ///
    /// # Examples
    ///
    /// ```
    /// let (ctx, cancel) = goro::context::with_cancel(&goro::context::background());
    /// assert!(!ctx.is_done());
    /// cancel();
    /// assert!(ctx.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.err().is_some()
    }

    /// Waits until the context is done and returns why.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// goro::run(async {
    ///     let (ctx, _cancel) = goro::context::with_timeout(
    ///         &goro::context::background(), Duration::from_millis(1));
    ///     assert_eq!(ctx.wait().await, goro::context::ContextError::DeadlineExceeded);
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) -> impl Future<Output = ContextError> + Send + '_ {
        // `recv` records this caller's line for the dump (track_caller).
        let closed = self.node.done.recv();
        async move {
            // Nothing is ever sent: the one receive ends at the close.
            let _ = closed.await;
            self.err()
                .expect("a closed done channel means the context is done")
        }
    }

    /// Why the context was cancelled: the cause given to a
    /// [`CancelCauseFunc`] (here or on an ancestor), else its
    /// [`ContextError`]; `None` while it is not done (Go's
    /// `context.Cause`).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::context::{self, ContextError};
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// assert!(ctx.cause().is_none());
    /// cancel();
    /// assert_eq!(ctx.cause().unwrap().to_string(), ContextError::Canceled.to_string());
    /// ```
    pub fn cause(&self) -> Option<Cause> {
        self.node.lock().cause.clone()
    }

    /// Runs `fut` until it completes or the context is done, whichever
    /// comes first: `Ok(output)`, or `Err(why)` after dropping `fut`. A
    /// context already done does not poll `fut` at all.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::context::{self, ContextError};
    /// goro::run(async {
    ///     let (ctx, _c) = context::with_timeout(&context::background(), Duration::from_millis(5));
    ///     assert_eq!(ctx.run(async { 7 }).await, Ok(7));
    ///     let slow = goro::time::sleep(Duration::from_secs(60));
    ///     assert_eq!(ctx.run(slow).await, Err(ContextError::DeadlineExceeded));
    /// });
    /// ```
    #[track_caller]
    pub fn run<'a, F: Future + 'a>(
        &'a self,
        fut: F,
    ) -> impl Future<Output = Result<F::Output, ContextError>> + 'a {
        let done = self.wait();
        async move {
            if let Some(e) = self.err() {
                return Err(e);
            }
            let mut fut = pin!(fut);
            let mut done = pin!(done);
            std::future::poll_fn(|cx| {
                if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                    return Poll::Ready(Ok(v));
                }
                done.as_mut().poll(cx).map(Err)
            })
            .await
        }
    }
}

// Lock order: a node's lock is never held while another node's is taken;
// children are collected under the lock and cancelled after it is released.
impl Node {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Cancels this node and its subtree. `detach`: also leave the parent's
    /// list of children (not needed when the parent is cancelling us).
    fn cancel(self: &Arc<Self>, err: ContextError, cause: Option<Cause>, detach: bool) {
        let (children, timer, funcs, cause) = {
            let mut st = self.lock();
            if st.err.is_some() {
                return;
            }
            st.err = Some(err);
            let cause = cause.unwrap_or_else(|| Arc::new(err));
            st.cause = Some(cause.clone());
            let children: Vec<_> = st.children.drain().map(|(_, c)| c).collect();
            let funcs: Vec<_> = st.funcs.drain().map(|(_, f)| f).collect();
            (children, st.timer.take(), funcs, cause)
        };
        // Every receiver of `done()` sees `None` from now on.
        self.done.close();
        if let Some(t) = timer {
            t.disarm();
        }
        for c in children {
            if let Some(c) = c.upgrade() {
                c.cancel(err, Some(cause.clone()), false);
            }
        }
        for f in funcs {
            f.start();
        }
        if detach {
            if let Some(p) = &self.parent {
                p.node.lock().children.remove(&self.id);
            }
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Leave the parent (a no-op if cancelled: it left then). `done`
        // is not closed: a dropped context was not cancelled.
        if let Some(p) = &self.parent {
            p.node.lock().children.remove(&self.id);
        }
    }
}

/// Cancels a context when its deadline timer fires. It holds the node (a
/// cycle through the node's `timer` that firing or disarming breaks).
struct DeadlineWaker(Arc<Node>);

impl Wake for DeadlineWaker {
    fn wake(self: Arc<Self>) {
        self.0.cancel(ContextError::DeadlineExceeded, None, true);
    }
}

fn derive(parent: &Context, deadline: Option<Instant>) -> (Context, CancelFunc) {
    let deadline = match (parent.node.deadline, deadline) {
        (Some(p), Some(d)) => Some(p.min(d)),
        (p, d) => p.or(d),
    };
    let node = Arc::new(Node {
        id: next_id(),
        parent: Some(parent.clone()),
        deadline,
        done: crate::chan::closable(),
        state: Mutex::new(State {
            err: None,
            cause: None,
            funcs: HashMap::new(),
            children: HashMap::new(),
            timer: None,
        }),
    });
    // Attach to the parent, or inherit its error at once.
    let parent_err = {
        let mut pst = parent.node.lock();
        if pst.err.is_none() {
            pst.children.insert(node.id, Arc::downgrade(&node));
        }
        pst.err.map(|e| (e, pst.cause.clone()))
    };
    if let Some((e, cause)) = parent_err {
        node.cancel(e, cause, false);
    } else if let Some(d) = deadline {
        if d <= crate::time::now() {
            node.cancel(ContextError::DeadlineExceeded, None, true);
        } else {
            let waker = Waker::from(Arc::new(DeadlineWaker(node.clone())));
            let timer = Callback::arm(d, waker);
            let mut st = node.lock();
            if st.err.is_none() {
                st.timer = Some(timer);
            } else {
                drop(st);
                timer.disarm();
            }
        }
    }
    // The cancel function keeps the context alive, as Go's does: a
    // goroutine holding only `done()` must not see the channel close (and
    // take it for a cancel) because every `Context` handle was dropped
    // while the `CancelFunc` still exists.
    let owned = node.clone();
    let cancel: CancelFunc = Arc::new(move || owned.cancel(ContextError::Canceled, None, true));
    (Context { node }, cancel)
}

/// Like [`with_cancel`], but the cancel function takes a cause, which
/// [`Context::cause`] then reports for this context and its children (Go's
/// `context.WithCancelCause`). `None` means [`ContextError::Canceled`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::context::{self, ContextError};
///
/// let (ctx, cancel) = context::with_cancel_cause(&context::background());
/// let (child, _c) = context::with_cancel(&ctx);
/// cancel(Some(Arc::new(std::io::Error::other("disk full"))));
/// assert_eq!(ctx.err(), Some(ContextError::Canceled));
/// assert_eq!(ctx.cause().unwrap().to_string(), "disk full");
/// assert_eq!(child.cause().unwrap().to_string(), "disk full");
/// ```
pub fn with_cancel_cause(parent: &Context) -> (Context, CancelCauseFunc) {
    let (ctx, _) = derive(parent, None);
    let owned = ctx.node.clone();
    let cancel: CancelCauseFunc =
        Arc::new(move |cause| owned.cancel(ContextError::Canceled, cause, true));
    (ctx, cancel)
}

/// A function of [`after_func`], run once in its own goroutine (a thread
/// when the cancel happens outside a runtime).
struct AfterFunc {
    f: Box<dyn FnOnce() + Send + 'static>,
    at: &'static Location<'static>,
}

impl AfterFunc {
    fn start(self) {
        let AfterFunc { f, at } = self;
        if crate::runtime::context::with(|c| c.is_some()) {
            drop(crate::runtime::go_at(async move { f() }, at));
        } else {
            std::thread::spawn(f);
        }
    }
}

/// Runs `f` in its own goroutine once `ctx` is done (at once if it is
/// already): Go's `context.AfterFunc`. Calling the returned `stop` before
/// that unregisters `f`; it returns true if that stopped `f` from running.
///
/// # Examples
///
/// ```
/// use goro::context;
/// goro::run(async {
///     let (ctx, cancel) = context::with_cancel(&context::background());
///     let (tx, rx) = goro::chan::<&str>(1);
///     let _stop = context::after_func(&ctx, move || { tx.try_send("cleaned up").unwrap(); });
///     let (ctx2, _c2) = context::with_cancel(&context::background());
///     let stop2 = context::after_func(&ctx2, || unreachable!("stopped first"));
///     assert!(stop2()); // it had not run
///     cancel();
///     assert_eq!(rx.recv().await, Some("cleaned up"));
/// });
/// ```
#[track_caller]
pub fn after_func(ctx: &Context, f: impl FnOnce() + Send + 'static) -> StopFunc {
    let func = AfterFunc {
        f: Box::new(f),
        at: Location::caller(),
    };
    let id = next_id();
    let node = ctx.node.clone();
    {
        let mut st = node.lock();
        if st.err.is_none() {
            st.funcs.insert(id, func);
        } else {
            drop(st);
            func.start();
        }
    }
    Arc::new(move || node.lock().funcs.remove(&id).is_some())
}

/// A child of `parent` that is cancelled when `cancel` is called or when
/// the parent is (Go's `context.WithCancel`).
///
/// # Examples
///
/// ```
/// use goro::context::{self, ContextError};
/// let (parent, cancel_parent) = context::with_cancel(&context::background());
/// let (child, _cancel_child) = context::with_cancel(&parent);
/// cancel_parent();
/// assert_eq!(child.err(), Some(ContextError::Canceled));
/// ```
#[must_use = "call the CancelFunc when the work is done (Go vet's lostcancel)"]
pub fn with_cancel(parent: &Context) -> (Context, CancelFunc) {
    derive(parent, None)
}

/// A child of `parent` that is also cancelled, with
/// [`ContextError::DeadlineExceeded`], `d` from now (Go's
/// `context.WithTimeout`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let (ctx, cancel) = goro::context::with_timeout(&goro::context::background(), Duration::from_secs(60));
/// assert!(ctx.deadline().is_some());
/// cancel();
/// assert_eq!(ctx.err(), Some(goro::context::ContextError::Canceled));
/// ```
#[must_use = "call the CancelFunc when the work is done (Go vet's lostcancel)"]
pub fn with_timeout(parent: &Context, d: Duration) -> (Context, CancelFunc) {
    let deadline = crate::time::now().checked_add(d);
    derive(parent, deadline)
}

/// A child of `parent` that is also cancelled at `deadline` (Go's
/// `context.WithDeadline`). A deadline in the past cancels it at once.
///
/// # Examples
///
/// ```
/// use std::time::Instant;
/// let (ctx, _c) = goro::context::with_deadline(&goro::context::background(), Instant::now());
/// assert_eq!(ctx.err(), Some(goro::context::ContextError::DeadlineExceeded));
/// ```
#[must_use = "call the CancelFunc when the work is done (Go vet's lostcancel)"]
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, CancelFunc) {
    derive(parent, Some(deadline))
}
