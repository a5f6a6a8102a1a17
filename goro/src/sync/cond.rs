//! `Cond`: Go's `sync.Cond`, over a goro [`Mutex`].
//!
//! # Protocol
//!
//! A [`WaitList`] of waiter nodes behind the internal lock `queue`, and an
//! atomic copy of its length, `waiting`, so that `signal` with nobody
//! waiting takes no lock. Go's `notifyList` keeps tickets; the FIFO list is
//! the same thing with the tickets implicit in the order.
//!
//! | node          | meaning                                              |
//! |---------------|------------------------------------------------------|
//! | linked        | registered, not yet signalled                        |
//! | `notified`    | signalled (unlinked); the waiter may relock and go   |
//!
//! Transitions (all with `queue` held, wakers called after releasing it):
//!
//! 1. *Wait, first poll*: link a node at the back, store the new length in
//!    `waiting`, **then** drop the user's guard (unlocking the mutex). A
//!    `signal` that follows the unlock therefore finds the node.
//! 2. *Signal*: if `waiting` is zero, return (the node of any waiter that
//!    registers later is, by that `SeqCst` order, after this signal). Else
//!    unlink the head, set `notified`, wake it. *Broadcast*: the same for
//!    every linked node.
//! 3. *Wait, later polls*: a `notified` node is removed and the waiter
//!    relocks the mutex (an ordinary `MutexLock` future); otherwise it
//!    refreshes its waker and stays pending. Wakes without `notified` are
//!    never reported: no spurious wake-ups reach the caller.
//! 4. *Cancel*: a dropped waiter removes its node; if it had been notified,
//!    it signals the next waiter in its place, so a `signal` is never lost
//!    to a cancelled waiter.

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
        lock, Mutex as RawMutex,
    },
    sync::{
        mutex::{update_waker, Mutex, MutexGuard, MutexLock},
        waiter::WaitList,
    },
    wait::{self, WaitReason},
};

#[derive(Debug)]
struct Waiter {
    waker: Option<Waker>,
    notified: bool,
}

/// A condition variable: goroutines wait for a condition guarded by a goro
/// [`Mutex`], and are woken by [`signal`](Cond::signal) (one, oldest first)
/// or [`broadcast`](Cond::broadcast) (all). Go's `sync.Cond`.
///
/// `wait` takes the guard, registers the waiter and only then unlocks, so a
/// signal sent after the unlock is never missed; it relocks before
/// returning the guard. It returns only after a `signal` or `broadcast`
/// that happened after it registered (no spurious wake-ups), but as in Go
/// the condition may have changed again by the time the mutex is relocked,
/// so check it in a loop.
///
/// A `Cond` is not tied to one mutex; use it with one at a time.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::sync::{Cond, Mutex};
///
/// let pair = Arc::new((Mutex::new(false), Cond::new()));
/// let p2 = pair.clone();
/// std::thread::spawn(move || {
///     let (m, c) = &*p2;
///     *m.lock_blocking() = true;
///     c.signal();
/// });
/// let (m, c) = &*pair;
/// let mut ready = m.lock_blocking();
/// while !*ready {
///     ready = c.wait_blocking(ready);
/// }
/// ```
pub struct Cond {
    waiting: AtomicUsize,
    queue: RawMutex<WaitList<Waiter>>,
}

impl Cond {
    crate::loom::const_fn! {
        /// A new condition variable with no waiters; `const`, so it can be
        /// a static.
        ///
        /// # Examples
        ///
        /// ```
        /// let c = goro::sync::Cond::new();
        /// c.signal(); // nobody waits: does nothing
        ///
        /// static READY: goro::sync::Cond = goro::sync::Cond::new();
        /// READY.broadcast();
        /// ```
        pub fn new() -> Cond {
            Cond {
                waiting: AtomicUsize::new(0),
                queue: RawMutex::new(WaitList::new()),
            }
        }
    }

    /// Unlocks `guard`'s mutex, waits for a `signal` or `broadcast`, relocks
    /// and returns the guard. Go's `c.Wait()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goro::sync::{Cond, Mutex};
    ///
    /// let pair = Arc::new((Mutex::new(0), Cond::new()));
    /// let p2 = pair.clone();
    /// let t = std::thread::spawn(move || {
    ///     let (m, c) = &*p2;
    ///     *m.lock_blocking() = 1;
    ///     c.broadcast();
    /// });
    /// futures::executor::block_on(async {
    ///     let (m, c) = &*pair;
    ///     let mut g = m.lock().await;
    ///     while *g == 0 {
    ///         g = c.wait(g).await;
    ///     }
    /// });
    /// t.join().unwrap();
    /// ```
    #[track_caller]
    pub fn wait<'c, 'a, T>(&'c self, guard: MutexGuard<'a, T>) -> CondWait<'c, 'a, T> {
        CondWait {
            cond: self,
            mutex: MutexGuard::mutex(&guard),
            step: Step::Start(guard),
            at: Location::caller(),
        }
    }

    /// [`wait`](Cond::wait) for threads: parks the calling thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goro::sync::{Cond, Mutex};
    ///
    /// let pair = Arc::new((Mutex::new(0), Cond::new()));
    /// let p2 = pair.clone();
    /// std::thread::spawn(move || {
    ///     *p2.0.lock_blocking() += 1;
    ///     p2.1.signal();
    /// });
    /// let mut g = pair.0.lock_blocking();
    /// while *g == 0 {
    ///     g = pair.1.wait_blocking(g);
    /// }
    /// ```
    #[track_caller]
    pub fn wait_blocking<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        wait::block_on(self.wait(guard))
    }

    /// Wakes the longest-waiting waiter, if any. Go's `c.Signal()`. Holding
    /// the mutex while signalling is allowed but not required.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::sync::Cond::new().signal();
    /// ```
    pub fn signal(&self) {
        if self.waiting.load(SeqCst) == 0 {
            return;
        }
        let mut q = lock(&self.queue);
        let waker = self.notify_one(&mut q);
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every waiter. Go's `c.Broadcast()`.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::sync::Cond::new().broadcast();
    /// ```
    pub fn broadcast(&self) {
        if self.waiting.load(SeqCst) == 0 {
            return;
        }
        let mut q = lock(&self.queue);
        let mut wakers = Vec::with_capacity(q.len());
        while let Some(w) = self.notify_one(&mut q) {
            wakers.push(w);
        }
        // `notify_one` returns `None` both for "empty" and for a node
        // without a waker; the latter cannot happen (linked nodes always
        // hold one), so the loop drained the list.
        debug_assert!(q.is_empty());
        drop(q);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Step 2 for the head node. Expects `queue` held.
    fn notify_one(&self, q: &mut WaitList<Waiter>) -> Option<Waker> {
        let head = q.pop_front()?;
        self.waiting.store(q.len(), SeqCst);
        let w = q.get_mut(head);
        w.notified = true;
        w.waker.take()
    }
}

impl Default for Cond {
    fn default() -> Self {
        Cond::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond")
            .field("waiting", &self.waiting.load(Relaxed))
            .finish()
    }
}

enum Step<'a, T> {
    /// Not yet registered; still holds the lock.
    Start(MutexGuard<'a, T>),
    /// Registered under this key; the mutex is unlocked.
    Waiting(usize),
    /// Signalled; relocking.
    Relock(MutexLock<'a, T>),
    Done,
}

/// The future returned by [`Cond::wait`]; resolves to the relocked guard.
///
/// # Examples
///
/// ```
/// use goro::sync::{Cond, CondWait, Mutex};
/// let (m, c) = (Mutex::new(()), Cond::new());
/// let g = m.lock_blocking();
/// let fut: CondWait<'_, '_, ()> = c.wait(g);
/// drop(fut); // never polled: the guard is dropped, the mutex unlocked
/// assert!(m.try_lock().is_some());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct CondWait<'c, 'a, T> {
    cond: &'c Cond,
    mutex: &'a Mutex<T>,
    step: Step<'a, T>,
    at: &'static Location<'static>,
}

impl<'a, T> Future for CondWait<'_, 'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
        loop {
            match &mut this.step {
                Step::Start(_) => {
                    // Step 1: register, then unlock.
                    let mut q = lock(&this.cond.queue);
                    let key = q.push_back(Waiter {
                        waker: Some(cx.waker().clone()),
                        notified: false,
                    });
                    this.cond.waiting.store(q.len(), SeqCst);
                    drop(q);
                    let Step::Start(guard) = std::mem::replace(&mut this.step, Step::Waiting(key))
                    else {
                        unreachable!()
                    };
                    drop(guard);
                    wait::record(WaitReason::CondWait, this.at);
                    return Poll::Pending;
                }
                Step::Waiting(key) => {
                    let key = *key;
                    let mut q = lock(&this.cond.queue);
                    let w = q.get_mut(key);
                    if !w.notified {
                        update_waker(&mut w.waker, cx.waker());
                        drop(q);
                        wait::record(WaitReason::CondWait, this.at);
                        return Poll::Pending;
                    }
                    q.remove(key);
                    drop(q);
                    this.step = Step::Relock(this.mutex.lock_at(this.at));
                }
                Step::Relock(fut) => {
                    let guard = std::task::ready!(Pin::new(fut).poll(cx));
                    this.step = Step::Done;
                    return Poll::Ready(guard);
                }
                Step::Done => panic!("CondWait polled after completion"),
            }
        }
    }
}

impl<T> Drop for CondWait<'_, '_, T> {
    fn drop(&mut self) {
        if let Step::Waiting(key) = self.step {
            self.step = Step::Done;
            // Step 4.
            let mut q = lock(&self.cond.queue);
            let w = q.remove(key);
            let waker = if w.notified {
                self.cond.notify_one(&mut q)
            } else {
                self.cond.waiting.store(q.len(), SeqCst);
                None
            };
            drop(q);
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

impl<T> fmt::Debug for CondWait<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            Step::Start(_) => "start",
            Step::Waiting(_) => "waiting",
            Step::Relock(_) => "relocking",
            Step::Done => "done",
        };
        f.debug_struct("CondWait").field("step", &step).finish()
    }
}
