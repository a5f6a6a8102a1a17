//! `Once`: Go's `sync.Once` (`OnceValue<T>`, Go's `sync.OnceValue`, is
//! built on it in `once_value.rs`).
//!
//! # Protocol
//!
//! One lock word, `state`, and a [`WaitList`] of wakers behind `queue`.
//!
//! | state                  | meaning                                          |
//! |------------------------|--------------------------------------------------|
//! | `INCOMPLETE`           | `f` has not run                                  |
//! | `RUNNING`              | one caller runs `f`; others wait                 |
//! | `RUNNING \| WAITERS`   | ... and some waiter is linked                    |
//! | `COMPLETE`             | `f` returned; terminal                           |
//! | `COMPLETE \| PANICKED` | `f` panicked; terminal (done, as in Go)          |
//!
//! Transitions:
//!
//! 1. *Run*: the caller whose CAS `INCOMPLETE → RUNNING` wins runs `f` on
//!    its own stack, then swaps in `COMPLETE` (with `PANICKED` if `f`
//!    unwound: a drop guard does it, and the panic goes on to that caller).
//!    If the swapped-out value had `WAITERS`, it takes `queue` and wakes
//!    every linked waiter.
//! 2. *Wait*: a caller that sees `RUNNING` takes `queue`, CASes in `WAITERS`
//!    (returning if the state became complete) and links or refreshes its
//!    node. It is done when it sees a complete state; it then unlinks.
//! 3. *Cancel*: a dropped waiter unlinks its node.
//!
//! The `Release` of the swap to `COMPLETE` and the `Acquire` of every load
//! that sees it order `f`'s effects (for `OnceValue`, the write of the
//! value) before whatever the waiters do next.
//!
//! *Why is a panicking `f` "done"?* Go's `Once.Do` says: "if f panics, Do
//! considers it to have returned; future calls of Do return without calling
//! f". `std::sync::Once` poisons instead. goro follows Go. A panicking
//! `OnceValue` initialiser makes every later `get_or_init` panic, as Go's
//! `OnceValue` re-panics on every call.

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use crate::{
    loom::{
        atomic::{AtomicUsize, Ordering::*},
        lock, Mutex,
    },
    sync::{mutex::update_waker, waiter::WaitList},
    wait::{self, WaitReason},
};

const INCOMPLETE: usize = 0;
const RUNNING: usize = 1;
const WAITERS: usize = 2;
const COMPLETE: usize = 4;
const PANICKED: usize = 8;

/// Runs a function exactly once, however many goroutines or threads call
/// [`call_once`](Once::call_once) at the same time; the others wait until
/// it has returned. Go's `sync.Once`.
///
/// If the function panics, the `Once` still counts as done (Go's rule) and
/// the panic reaches the caller that ran it; waiters return normally.
///
/// Calling `call_once` from inside `f` on the same `Once` deadlocks, as in Go.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use goro::sync::Once;
///
/// static CALLS: AtomicUsize = AtomicUsize::new(0);
/// let once = Once::new();
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| once.call_once_blocking(|| { CALLS.fetch_add(1, Ordering::SeqCst); }));
///     }
/// });
/// assert_eq!(CALLS.load(Ordering::SeqCst), 1);
/// assert!(once.is_completed());
/// ```
pub struct Once {
    state: AtomicUsize,
    pub(super) queue: Mutex<WaitList<Option<Waker>>>,
}

impl Once {
    crate::loom::const_fn! {
        /// A `Once` whose function has not run; `const`, so it can be a
        /// static (Go's package-level `var once sync.Once`).
        ///
        /// # Examples
        ///
        /// ```
        /// assert!(!goro::sync::Once::new().is_completed());
        ///
        /// static INIT: goro::sync::Once = goro::sync::Once::new();
        /// INIT.call_once_blocking(|| println!("once"));
        /// assert!(INIT.is_completed());
        /// ```
        pub fn new() -> Once {
            Once {
                state: AtomicUsize::new(INCOMPLETE),
                queue: Mutex::new(WaitList::new()),
            }
        }
    }

    /// Go's `once.Do(f)`: a future that runs `f` (a plain function) when
    /// first polled if no call has run it yet, or otherwise waits, without
    /// blocking the thread, until the call that runs it has returned.
    /// Dropping the future while it waits is harmless; `f` itself is never
    /// interrupted.
    ///
    /// # Examples
    ///
    /// ```
    /// let once = goro::sync::Once::new();
    /// let mut n = 0;
    /// futures::executor::block_on(async {
    ///     once.call_once(|| n += 1).await;
    ///     once.call_once(|| unreachable!()).await;
    /// });
    /// assert_eq!(n, 1);
    /// ```
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) -> OnceCall<'_, F> {
        OnceCall {
            once: self,
            f: Some(f),
            key: None,
            at: Location::caller(),
        }
    }

    /// [`call_once`](Once::call_once) for threads: runs `f` if no call has
    /// run it yet; otherwise parks the thread until the call that runs it
    /// has returned.
    ///
    /// # Examples
    ///
    /// ```
    /// let once = goro::sync::Once::new();
    /// let mut n = 0;
    /// once.call_once_blocking(|| n += 1);
    /// once.call_once_blocking(|| n += 1);
    /// assert_eq!(n, 1);
    /// ```
    #[track_caller]
    pub fn call_once_blocking<F: FnOnce()>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        wait::block_on(self.call_once(f))
    }

    /// Whether the function has run (returned or panicked).
    ///
    /// # Examples
    ///
    /// ```
    /// let once = goro::sync::Once::new();
    /// once.call_once_blocking(|| {});
    /// assert!(once.is_completed());
    /// ```
    #[inline]
    pub fn is_completed(&self) -> bool {
        self.state.load(Acquire) & COMPLETE != 0
    }

    pub(super) fn panicked(&self) -> bool {
        self.state.load(Acquire) & PANICKED != 0
    }

    /// Step 1, end: publish completion and wake the waiters.
    fn complete(&self, panicked: bool) {
        let s = self
            .state
            .swap(COMPLETE | if panicked { PANICKED } else { 0 }, AcqRel);
        if s & WAITERS != 0 {
            let mut q = lock(&self.queue);
            let mut wakers = Vec::new();
            while let Some(key) = q.pop_front() {
                if let Some(w) = q.get_mut(key).take() {
                    wakers.push(w);
                }
            }
            drop(q);
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once")
            .field("completed", &self.is_completed())
            .finish()
    }
}

/// Marks the `Once` complete when dropped: normally after `f` returned, or
/// during unwinding if `f` panicked.
struct CompleteOnDrop<'a> {
    once: &'a Once,
    panicking: bool,
}

impl Drop for CompleteOnDrop<'_> {
    fn drop(&mut self) {
        self.once.complete(self.panicking);
    }
}

/// The future returned by [`Once::call_once`].
///
/// # Examples
///
/// ```
/// let once = goro::sync::Once::new();
/// let fut: goro::sync::OnceCall<'_, _> = once.call_once(|| {});
/// futures::executor::block_on(fut);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct OnceCall<'a, F> {
    once: &'a Once,
    f: Option<F>,
    key: Option<usize>,
    at: &'static Location<'static>,
}

// `F` is never pinned: it is moved out and called by value.
impl<F> Unpin for OnceCall<'_, F> {}

impl<F: FnOnce()> Future for OnceCall<'_, F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let f = &mut this.f;
        this.once.poll_call(&mut this.key, this.at, cx, || {
            f.take().expect("OnceCall polled after completion")()
        })
    }
}

impl Once {
    /// One poll of a call whose waiter node is `key`: runs `run` if this
    /// caller wins step 1, else waits (step 2). `Ready` once complete.
    pub(super) fn poll_call(
        &self,
        key: &mut Option<usize>,
        at: &'static Location<'static>,
        cx: &mut Context<'_>,
        run: impl FnOnce(),
    ) -> Poll<()> {
        let once = self;
        if once.is_completed() {
            if let Some(k) = key.take() {
                lock(&once.queue).remove(k);
            }
            return Poll::Ready(());
        }
        if key.is_none()
            && once
                .state
                .compare_exchange(INCOMPLETE, RUNNING, Acquire, Acquire)
                .is_ok()
        {
            let mut guard = CompleteOnDrop {
                once,
                panicking: true,
            };
            run();
            guard.panicking = false;
            drop(guard);
            return Poll::Ready(());
        }
        // Step 2.
        let mut q = lock(&once.queue);
        let mut s = once.state.load(Acquire);
        loop {
            if s & COMPLETE != 0 {
                if let Some(k) = key.take() {
                    q.remove(k);
                }
                return Poll::Ready(());
            }
            debug_assert!(s & RUNNING != 0);
            match once
                .state
                .compare_exchange_weak(s, s | WAITERS, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        match *key {
            Some(k) => {
                if !q.is_linked(k) {
                    unreachable!("goro: Once waiter unlinked while running");
                }
                update_waker(q.get_mut(k), cx.waker());
            }
            None => *key = Some(q.push_back(Some(cx.waker().clone()))),
        }
        drop(q);
        wait::record(WaitReason::OnceWait, at);
        Poll::Pending
    }

    /// Step 3: a waiter dropped with its node `key` allocated.
    pub(super) fn cancel_call(&self, key: usize) {
        lock(&self.queue).remove(key);
    }
}

impl<F> Drop for OnceCall<'_, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.once.cancel_call(key);
        }
    }
}

impl<F> fmt::Debug for OnceCall<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCall")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::loom_block_on as block_on;
    use loom::{sync::Arc, thread};

    /// Two callers: `f` runs once, and neither returns before it has.
    #[test]
    fn two_callers_one_run() {
        loom::model(|| {
            let once = Arc::new(Once::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let (o2, r2) = (once.clone(), runs.clone());
            let t = thread::spawn(move || {
                let r = r2.clone();
                block_on(o2.call_once(move || {
                    r.fetch_add(1, SeqCst);
                }));
                assert_eq!(r2.load(SeqCst), 1);
            });
            let r = runs.clone();
            block_on(once.call_once(move || {
                r.fetch_add(1, SeqCst);
            }));
            assert_eq!(runs.load(SeqCst), 1);
            t.join().unwrap();
        });
    }
}
