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
//! global one, outside a runtime) whose waker cancels the context.
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
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc, Mutex, Weak,
    },
    task::{Wake, Waker},
    time::{Duration, Instant},
};

use crate::{
    chan::{Receiver, Sender},
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
    /// Closed (dropped) on cancel; `None` for `background()`.
    done_tx: Option<Sender<()>>,
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
                done_tx: None,
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
    pub async fn wait(&self) -> ContextError {
        let done = self.done();
        while done.recv().await.is_some() {}
        self.err()
            .expect("a closed done channel means the context is done")
    }
}

// Lock order: a node's lock is never held while another node's is taken;
// children are collected under the lock and cancelled after it is released.
impl Node {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cancels this node and its subtree. `detach`: also leave the parent's
    /// list of children (not needed when the parent is cancelling us).
    fn cancel(self: &Arc<Self>, err: ContextError, detach: bool) {
        let (children, timer) = {
            let mut st = self.lock();
            if st.err.is_some() {
                return;
            }
            st.err = Some(err);
            // Dropping the only sender closes the channel: every receiver of
            // `done()` sees `None`.
            drop(st.done_tx.take());
            let children: Vec<_> = st.children.drain().map(|(_, c)| c).collect();
            (children, st.timer.take())
        };
        if let Some(t) = timer {
            t.disarm();
        }
        for c in children {
            if let Some(c) = c.upgrade() {
                c.cancel(err, false);
            }
        }
        if detach {
            if let Some(p) = &self.parent {
                p.node.lock().children.remove(&self.id);
            }
        }
    }
}

/// Cancels a context when its deadline timer fires.
struct DeadlineWaker(Weak<Node>);

impl Wake for DeadlineWaker {
    fn wake(self: Arc<Self>) {
        if let Some(n) = self.0.upgrade() {
            n.cancel(ContextError::DeadlineExceeded, true);
        }
    }
}

fn derive(parent: &Context, deadline: Option<Instant>) -> (Context, CancelFunc) {
    let deadline = match (parent.node.deadline, deadline) {
        (Some(p), Some(d)) => Some(p.min(d)),
        (p, d) => p.or(d),
    };
    let (tx, rx) = crate::chan::chan::<()>(0);
    let node = Arc::new(Node {
        id: next_id(),
        parent: Some(parent.clone()),
        deadline,
        done: rx,
        state: Mutex::new(State {
            err: None,
            done_tx: Some(tx),
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
        pst.err
    };
    if let Some(e) = parent_err {
        node.cancel(e, false);
    } else if let Some(d) = deadline {
        if d <= crate::time::now() {
            node.cancel(ContextError::DeadlineExceeded, true);
        } else {
            let waker = Waker::from(Arc::new(DeadlineWaker(Arc::downgrade(&node))));
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
    let cancel: CancelFunc = Arc::new(move || owned.cancel(ContextError::Canceled, true));
    (Context { node }, cancel)
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
