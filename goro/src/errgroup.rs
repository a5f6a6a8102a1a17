//! `Group`: run goroutines that may fail, wait for all, keep the first
//! error (Go's `golang.org/x/sync/errgroup`).
//!
//! A group is a `WaitGroup` plus a slot for the first error, an optional
//! limit on how many of its goroutines run at once (a semaphore), and,
//! with [`Group::with_context`], a context cancelled on the first error.
//!
//! Why is `go` async? With a limit set, Go's `g.Go` blocks its caller
//! until a slot frees up; in async code that wait is an `.await`. Without
//! a limit the future is ready at once. [`Group::try_go`] never waits.
//!
//! A panic in one of the group's goroutines is re-raised by `wait`, as
//! current x/sync does, instead of being lost.
//!
//! # Examples
//!
//! ```
//! use goro::errgroup::Group;
//! goro::run(async {
//!     let g = Group::new();
//!     for i in 0..10u32 {
//!         g.go(async move { if i == 7 { Err(format!("job {i} failed")) } else { Ok(()) } }).await;
//!     }
//!     assert_eq!(g.wait().await, Err("job 7 failed".to_string()));
//! });
//! ```

use std::{
    any::Any,
    fmt,
    future::Future,
    panic::{AssertUnwindSafe, Location},
    pin::Pin,
    sync::Arc,
    task::{Context as TaskContext, Poll},
};

use crate::{
    context::{self, CancelFunc, Context},
    loom::{lock, Mutex},
    sync::{Semaphore, WaitGroup},
};

/// A collection of goroutines working on subtasks of one task; the first
/// error wins.
///
/// # Examples
///
/// ```
/// use goro::errgroup::Group;
/// goro::run(async {
///     let g = Group::<String>::new();
///     for url in ["a", "b", "bad"] {
///         g.go(async move {
///             if url == "bad" {
///                 return Err(format!("fetch {url}: failed"));
///             }
///             Ok(())
///         })
///         .await;
///     }
///     assert_eq!(g.wait().await, Err("fetch bad: failed".to_string()));
/// });
/// ```
pub struct Group<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    wg: WaitGroup,
    first: Mutex<First<E>>,
    cancel: Option<CancelFunc>,
    limit: Mutex<Option<Arc<Semaphore>>>,
}

struct First<E> {
    err: Option<E>,
    /// An error was recorded at some point: later ones are dropped, even
    /// after `wait` has moved the first one out (Go's `errOnce`).
    failed: bool,
    panic: Option<Box<dyn Any + Send>>,
}

impl<E> Clone for Group<E> {
    fn clone(&self) -> Self {
        Group {
            inner: self.inner.clone(),
        }
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group").finish_non_exhaustive()
    }
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E: Send + 'static> Group<E> {
    /// An empty group with no limit and no context.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let g = goro::errgroup::Group::<std::io::Error>::new();
    ///     g.go(async { Ok(()) }).await;
    ///     assert!(g.wait().await.is_ok());
    /// });
    /// ```
    pub fn new() -> Group<E> {
        Group::build(None)
    }

    fn build(cancel: Option<CancelFunc>) -> Group<E> {
        Group {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                first: Mutex::new(First {
                    err: None,
                    failed: false,
                    panic: None,
                }),
                cancel,
                limit: Mutex::new(None),
            }),
        }
    }

    /// A group and a context derived from `parent` that is cancelled when
    /// a goroutine of the group first fails, or when `wait` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::{context, errgroup::Group};
    /// goro::run(async {
    ///     let (g, ctx) = Group::<&str>::with_context(&context::background());
    ///     let c = ctx.clone();
    ///     g.go(async move { c.wait().await; Ok(()) }).await; // stops when cancelled
    ///     g.go(async { Err("fail") }).await;
    ///     assert_eq!(g.wait().await, Err("fail"));
    ///     assert!(ctx.err().is_some());
    /// });
    /// ```
    pub fn with_context(parent: &Context) -> (Group<E>, Context) {
        let (ctx, cancel) = context::with_cancel(parent);
        (Group::build(Some(cancel)), ctx)
    }

    /// Limits how many of the group's goroutines run at once; `None` lifts
    /// the limit. Go panics when the limit changes while goroutines are
    /// active; so does this.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{atomic::{AtomicUsize, Ordering::SeqCst}, Arc};
    /// goro::run(async {
    ///     let g = goro::errgroup::Group::<()>::new();
    ///     g.set_limit(Some(2)); // at most two at once
    ///     let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    ///     for _ in 0..6 {
    ///         let (running, peak) = (running.clone(), peak.clone());
    ///         g.go(async move {
    ///             let now = running.fetch_add(1, SeqCst) + 1;
    ///             peak.fetch_max(now, SeqCst);
    ///             goro::time::sleep(std::time::Duration::from_millis(1)).await;
    ///             running.fetch_sub(1, SeqCst);
    ///             Ok(())
    ///         })
    ///         .await; // waits for a free slot
    ///     }
    ///     g.wait().await.unwrap();
    ///     assert!(peak.load(SeqCst) <= 2);
    /// });
    /// ```
    pub fn set_limit(&self, n: Option<usize>) {
        let mut l = lock(&self.inner.limit);
        if let Some(sem) = &*l {
            if sem.available() != sem.capacity() {
                panic!("errgroup: modify limit while goroutines in the group are still active");
            }
        }
        *l = n.map(|n| Arc::new(Semaphore::new(n)));
    }

    fn semaphore(&self) -> Option<Arc<Semaphore>> {
        lock(&self.inner.limit).clone()
    }

    /// Starts `fut` in a new goroutine, after waiting for a free slot when
    /// a limit is set. The first `Err` it returns becomes the result of
    /// `wait` and cancels the group's context.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let g = goro::errgroup::Group::<&str>::new();
    ///     g.go(async { Ok(()) }).await;
    ///     g.go(async { Err("first") }).await;
    ///     assert_eq!(g.wait().await, Err("first"));
    /// });
    /// ```
    #[track_caller]
    pub fn go<F>(&self, fut: F) -> impl Future<Output = ()> + Send + '_
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let at = Location::caller();
        async move {
            let slot = match self.semaphore() {
                Some(sem) => {
                    sem.acquire(1).await.forget();
                    Some(sem)
                }
                None => None,
            };
            self.spawn(fut, slot, at);
        }
    }

    /// Starts `fut` only if a slot is free now (Go's `TryGo`); false
    /// otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let g = goro::errgroup::Group::<()>::new();
    ///     g.set_limit(Some(1));
    ///     let (tx, rx) = goro::chan::<()>(0);
    ///     assert!(g.try_go(async move { rx.recv().await; Ok(()) }));
    ///     assert!(!g.try_go(async { Ok(()) })); // the one slot is taken
    ///     drop(tx);
    ///     g.wait().await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn try_go<F>(&self, fut: F) -> bool
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let at = Location::caller();
        let slot = match self.semaphore() {
            Some(sem) => {
                let Some(permit) = sem.try_acquire(1) else {
                    return false;
                };
                permit.forget();
                Some(sem)
            }
            None => None,
        };
        self.spawn(fut, slot, at);
        true
    }

    fn spawn<F>(&self, fut: F, slot: Option<Arc<Semaphore>>, at: &'static Location<'static>)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        // Check before counting: a `go` outside a runtime panics, and a
        // count it added would make a later `wait` hang.
        if !crate::runtime::context::is_entered() {
            if let Some(s) = slot {
                s.release(1);
            }
            panic!(
                "goro::errgroup::Group::go called outside a goro runtime (at {at}): start one \
                 with goro::run, #[goro::main] or Runtime::block_on"
            );
        }
        self.inner.wg.add(1);
        let inner = self.inner.clone();
        let task = async move {
            // Runs on every exit, panic included: free the slot, count down.
            struct Leave<E>(Arc<Inner<E>>, Option<Arc<Semaphore>>);
            impl<E> Drop for Leave<E> {
                fn drop(&mut self) {
                    if let Some(s) = self.1.take() {
                        s.release(1);
                    }
                    self.0.wg.done();
                }
            }
            let leave = Leave(inner, slot);
            let r = CatchUnwind(fut).await;
            let inner = &leave.0;
            let failed = {
                let mut first = lock(&inner.first);
                match r {
                    Ok(Ok(())) => false,
                    Ok(Err(e)) => {
                        if !first.failed {
                            first.failed = true;
                            first.err = Some(e);
                        }
                        true
                    }
                    Err(p) => {
                        first.failed = true;
                        if first.panic.is_none() {
                            first.panic = Some(p);
                        }
                        true
                    }
                }
            };
            if failed {
                if let Some(c) = &inner.cancel {
                    c();
                }
            }
        };
        crate::runtime::go_at(task, at);
    }

    /// Waits for every goroutine of the group, then returns the first error
    /// (and cancels the group's context). Re-raises a goroutine's panic.
    /// The goroutine dump shows the caller's line while it waits.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let g = goro::errgroup::Group::<u32>::new();
    ///     for i in 0..3 {
    ///         g.go(async move { if i == 1 { Err(i) } else { Ok(()) } }).await;
    ///     }
    ///     assert_eq!(g.wait().await, Err(1)); // after all three have finished
    /// });
    /// ```
    #[track_caller]
    pub fn wait(&self) -> impl Future<Output = Result<(), E>> + Send + '_ {
        // `WaitGroup::wait` records this caller's line (track_caller).
        let all_done = self.inner.wg.wait();
        async move {
            all_done.await;
            if let Some(c) = &self.inner.cancel {
                c();
            }
            let mut first = lock(&self.inner.first);
            if let Some(p) = first.panic.take() {
                drop(first);
                std::panic::resume_unwind(p);
            }
            match first.err.take() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
    }
}

/// Catches a panic in the wrapped future's poll.
struct CatchUnwind<F>(F);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;
    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field; it is never moved.
        let fut = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}
