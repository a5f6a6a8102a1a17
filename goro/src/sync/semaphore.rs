//! `Semaphore`: `golang.org/x/sync/semaphore`'s weighted semaphore.
//!
//! # Protocol
//!
//! As in x/sync, one internal lock guards everything: `cur` (permits held),
//! and a FIFO [`WaitList`] of waiters, each asking for `n` permits.
//!
//! Invariants: `cur <= size`; a linked node is not granted; a granted node
//! (unlinked, `granted == true`) has its `n` counted in `cur` and owns them
//! until its future turns them into a permit or, dropped, releases them.
//!
//! Transitions (all with the lock held, wakers called after releasing it):
//!
//! 1. *Acquire*: if `size - cur >= n` and nobody waits, `cur += n`, done.
//!    If `n > size` the request can never succeed; as in x/sync it does not
//!    queue (it would block everyone behind it) and the future stays pending
//!    forever (bound it with a timeout). Otherwise link a node at the back.
//! 2. *Release* (`permit` drop or `release(n)`): `cur -= n`, then *notify*:
//!    while the head node fits in `size - cur`, grant it (`cur += n`,
//!    unlink, mark, wake). The first node that does not fit stops the scan,
//!    even if a later, smaller one would fit: a big request is not starved
//!    by a stream of small ones.
//! 3. *Cancel*: a granted node releases its `n` by step 2. A linked node
//!    unlinks; if it was the head and permits are free, *notify* runs, since
//!    the nodes behind it may fit now.

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use crate::{
    loom::{lock, Mutex},
    sync::{mutex::update_waker, waiter::WaitList},
    wait::{self, WaitReason},
};

#[derive(Debug)]
struct Waiter {
    n: usize,
    waker: Option<Waker>,
    granted: bool,
}

#[derive(Debug)]
struct State {
    cur: usize,
    waiters: WaitList<Waiter>,
}

/// A weighted semaphore with `size` permits: x/sync's `semaphore.Weighted`.
///
/// `acquire(n)` waits in FIFO order until `n` permits are free and returns a
/// [`SemaphorePermit`] that gives them back when dropped; a large request at
/// the head of the line holds back later small ones, so it cannot starve.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::sync::Semaphore;
///
/// let sem = Arc::new(Semaphore::new(2));
/// let a = sem.try_acquire(1).unwrap();
/// let b = sem.acquire_blocking(1);
/// assert!(sem.try_acquire(1).is_none());
/// drop(a);
/// assert_eq!(sem.available(), 1);
/// drop(b);
/// futures::executor::block_on(async {
///     let p = sem.acquire(2).await;
///     assert_eq!(p.num_permits(), 2);
/// });
/// ```
pub struct Semaphore {
    size: usize,
    state: Mutex<State>,
}

impl Semaphore {
    crate::loom::const_fn! {
        /// A semaphore with `size` permits, all free; `const`, so it can
        /// initialise a static.
        ///
        /// # Examples
        ///
        /// ```
        /// let sem = goro::sync::Semaphore::new(3);
        /// assert_eq!(sem.available(), 3);
        ///
        /// static LIMIT: goro::sync::Semaphore = goro::sync::Semaphore::new(8);
        /// let _p = LIMIT.acquire_blocking(2);
        /// assert_eq!(LIMIT.available(), 6);
        /// ```
        pub fn new(size: usize) -> Semaphore {
            Semaphore {
                size,
                state: Mutex::new(State {
                    cur: 0,
                    waiters: WaitList::new(),
                }),
            }
        }
    }

    /// Waits for `n` permits. The future resolves to a permit that releases
    /// them when dropped. Dropping the future while it waits gives up its
    /// place (and passes on permits it had just been granted).
    ///
    /// If `n` exceeds the semaphore's size the future never resolves, as in
    /// x/sync (where only the context ends the wait); it does not hold back
    /// other acquirers.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(4);
    /// futures::executor::block_on(async {
    ///     let p = sem.acquire(3).await;
    ///     assert_eq!(sem.available(), 1);
    ///     drop(p);
    /// });
    /// assert_eq!(sem.available(), 4);
    /// ```
    #[track_caller]
    pub fn acquire(&self, n: usize) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire {
            sem: self,
            n,
            key: None,
            at: Location::caller(),
        }
    }

    /// Waits for `n` permits, parking the calling thread.
    ///
    /// # Panics
    ///
    /// If `n` exceeds the semaphore's size: the thread would sleep forever
    /// (see the module docs, "Departures from Go").
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(1);
    /// let p = sem.acquire_blocking(1);
    /// assert_eq!(sem.available(), 0);
    /// drop(p);
    /// ```
    #[track_caller]
    pub fn acquire_blocking(&self, n: usize) -> SemaphorePermit<'_> {
        assert!(
            n <= self.size,
            "semaphore: acquire_blocking({n}) exceeds the size {} and would wait forever",
            self.size
        );
        wait::block_on(self.acquire(n))
    }

    /// Takes `n` permits if they are free and nobody waits ahead; never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(1);
    /// let p = sem.try_acquire(1);
    /// assert!(p.is_some());
    /// assert!(sem.try_acquire(1).is_none());
    /// ```
    pub fn try_acquire(&self, n: usize) -> Option<SemaphorePermit<'_>> {
        self.try_acquire_raw(n)
            .then(|| SemaphorePermit { sem: self, n })
    }

    /// Returns `n` permits given up earlier with [`SemaphorePermit::forget`].
    ///
    /// # Panics
    ///
    /// With x/sync's `semaphore: released more than held` if more permits
    /// are released than are held.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(2);
    /// sem.acquire_blocking(2).forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release(2);
    /// assert_eq!(sem.available(), 2);
    /// ```
    pub fn release(&self, n: usize) {
        let mut st = lock(&self.state);
        if n > st.cur {
            drop(st);
            panic!("semaphore: released more than held");
        }
        st.cur -= n;
        let wakers = self.notify(&mut st);
        drop(st);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Permits free right now (`size` minus those held).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(5);
    /// let _p = sem.acquire_blocking(2);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.size - lock(&self.state).cur
    }

    /// The total number of permits, fixed at creation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::sync::Semaphore::new(5).capacity(), 5);
    /// ```
    pub fn capacity(&self) -> usize {
        self.size
    }

    /// Step 2, *notify*: grant head waiters while they fit. Lock held.
    fn notify(&self, st: &mut State) -> Vec<Waker> {
        let mut wakers = Vec::new();
        while let Some(head) = st.waiters.front() {
            let w = st.waiters.get_mut(head);
            if self.size - st.cur < w.n {
                break;
            }
            st.cur += w.n;
            w.granted = true;
            if let Some(waker) = w.waker.take() {
                wakers.push(waker);
            }
            st.waiters.unlink(head);
        }
        wakers
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.state);
        f.debug_struct("Semaphore")
            .field("size", &self.size)
            .field("held", &st.cur)
            .field("waiters", &st.waiters.len())
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire`].
///
/// # Examples
///
/// ```
/// let sem = goro::sync::Semaphore::new(1);
/// let fut: goro::sync::SemaphoreAcquire<'_> = sem.acquire(1);
/// let _permit = futures::executor::block_on(fut);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SemaphoreAcquire<'a> {
    sem: &'a Semaphore,
    n: usize,
    key: Option<usize>,
    at: &'static Location<'static>,
}

impl<'a> Future for SemaphoreAcquire<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let this = self.get_mut();
        std::task::ready!(this.sem.poll_acquire(this.n, &mut this.key, this.at, cx));
        Poll::Ready(SemaphorePermit {
            sem: this.sem,
            n: this.n,
        })
    }
}

impl Drop for SemaphoreAcquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.sem.cancel_acquire(key);
        }
    }
}

impl Semaphore {
    /// One poll of an acquire future for `n` permits whose node is `key`
    /// (step 1). `Ready` means the caller holds the `n` permits.
    pub(crate) fn poll_acquire(
        &self,
        n: usize,
        key: &mut Option<usize>,
        at: &'static Location<'static>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let mut st = lock(&self.state);
        match *key {
            Some(k) => {
                let w = st.waiters.get_mut(k);
                if w.granted {
                    st.waiters.remove(k);
                    *key = None;
                    return Poll::Ready(());
                }
                update_waker(&mut w.waker, cx.waker());
            }
            None => {
                if self.size - st.cur >= n && st.waiters.is_empty() {
                    st.cur += n;
                    return Poll::Ready(());
                }
                if n <= self.size {
                    *key = Some(st.waiters.push_back(Waiter {
                        n,
                        waker: Some(cx.waker().clone()),
                        granted: false,
                    }));
                }
                // else: can never be satisfied; pending forever, unqueued.
            }
        }
        drop(st);
        wait::record(WaitReason::SemaphoreAcquire, at);
        Poll::Pending
    }

    /// Step 3: an acquire future dropped while its node `key` is allocated.
    pub(crate) fn cancel_acquire(&self, key: usize) {
        let mut st = lock(&self.state);
        let was_head = st.waiters.front() == Some(key);
        let w = st.waiters.remove(key);
        let wakers = if w.granted {
            st.cur -= w.n;
            self.notify(&mut st)
        } else if was_head && self.size > st.cur {
            self.notify(&mut st)
        } else {
            Vec::new()
        };
        drop(st);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// `try_acquire` without a permit: on `true` the caller holds `n`.
    pub(crate) fn try_acquire_raw(&self, n: usize) -> bool {
        let mut st = lock(&self.state);
        if self.size - st.cur >= n && st.waiters.is_empty() {
            st.cur += n;
            true
        } else {
            false
        }
    }
}

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire")
            .field("n", &self.n)
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// `n` permits of a [`Semaphore`], released when dropped.
///
/// # Examples
///
/// ```
/// let sem = goro::sync::Semaphore::new(2);
/// {
///     let p: goro::sync::SemaphorePermit<'_> = sem.acquire_blocking(2);
///     assert_eq!(p.num_permits(), 2);
/// }
/// assert_eq!(sem.available(), 2);
/// ```
#[must_use = "if unused the permits are released at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(3);
    /// assert_eq!(sem.acquire_blocking(3).num_permits(), 3);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Keeps the permits held without a guard; give them back later with
    /// [`Semaphore::release`] (x/sync's manual `Release`).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(1);
    /// sem.acquire_blocking(1).forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release(1);
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }

    /// Moves the permits of `other` into this one (tokio's `merge`).
    ///
    /// # Panics
    ///
    /// If `other` belongs to another semaphore.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(3);
    /// let mut a = sem.acquire_blocking(1);
    /// a.merge(sem.acquire_blocking(2));
    /// assert_eq!(a.num_permits(), 3);
    /// drop(a);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging permits from different semaphore instances"
        );
        self.n += std::mem::take(&mut other.n);
    }

    /// Splits `n` permits off into a new permit of the same semaphore, or
    /// `None` if this one holds fewer than `n` (tokio's `split`).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(3);
    /// let mut a = sem.acquire_blocking(3);
    /// let b = a.split(1).unwrap();
    /// assert_eq!((a.num_permits(), b.num_permits()), (2, 1));
    /// drop(b);
    /// assert_eq!(sem.available(), 1);
    /// assert!(a.split(3).is_none());
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.n {
            return None;
        }
        self.n -= n;
        Some(SemaphorePermit { sem: self.sem, n })
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.release(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("n", &self.n)
            .finish()
    }
}
