//! [`Mutex::lock_owned`]: the owned lock future and guard.

use std::{
    fmt,
    future::Future,
    marker::PhantomData,
    ops::{Deref, DerefMut},
    panic::Location,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use crate::{sync::Mutex, wait};

impl<T> Mutex<T> {
    /// Locks the mutex through an `Arc`: a future of an
    /// [`OwnedMutexGuard`], which keeps the `Arc` and so may be moved into
    /// a goroutine (tokio's `lock_owned`). Dropping the future before it
    /// resolves gives up the place in line, as [`lock`](Mutex::lock) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goro::sync::Mutex;
    ///
    /// goro::run(async {
    ///     let m = Arc::new(Mutex::new(0));
    ///     let mut g = m.clone().lock_owned().await;
    ///     let h = goro::go(async move {
    ///         *g += 1; // the guard moved into the goroutine
    ///     });
    ///     h.await.unwrap();
    ///     assert_eq!(*m.lock().await, 1);
    /// });
    /// ```
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> OwnedMutexLock<T> {
        OwnedMutexLock {
            mutex: Some(self),
            key: None,
            at: Location::caller(),
        }
    }

    /// [`lock_owned`](Mutex::lock_owned) for threads: parks the calling
    /// thread until the lock is free.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(goro::sync::Mutex::new(1));
    /// let mut g = m.clone().lock_owned_blocking();
    /// std::thread::spawn(move || *g += 1).join().unwrap();
    /// assert_eq!(*m.lock_blocking(), 2);
    /// ```
    #[track_caller]
    pub fn lock_owned_blocking(self: Arc<Self>) -> OwnedMutexGuard<T> {
        wait::block_on(self.lock_owned())
    }

    /// Locks the mutex through an `Arc` if it is free right now.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(goro::sync::Mutex::new(()));
    /// let g = m.clone().try_lock_owned().unwrap();
    /// assert!(m.clone().try_lock_owned().is_none());
    /// drop(g);
    /// assert!(m.try_lock_owned().is_some());
    /// ```
    pub fn try_lock_owned(self: Arc<Self>) -> Option<OwnedMutexGuard<T>> {
        self.try_lock_raw().then(|| OwnedMutexGuard::new(self))
    }
}

/// The future returned by [`Mutex::lock_owned`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use goro::sync::{Mutex, OwnedMutexLock};
/// let m = Arc::new(Mutex::new(3));
/// let fut: OwnedMutexLock<i32> = m.lock_owned();
/// assert_eq!(*futures::executor::block_on(fut), 3);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct OwnedMutexLock<T> {
    /// `None` once resolved (the `Arc` moved into the guard).
    mutex: Option<Arc<Mutex<T>>>,
    key: Option<usize>,
    at: &'static Location<'static>,
}

impl<T> Future for OwnedMutexLock<T> {
    type Output = OwnedMutexGuard<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedMutexGuard<T>> {
        let this = self.get_mut();
        let m = this
            .mutex
            .as_ref()
            .expect("OwnedMutexLock polled after completion");
        std::task::ready!(m.poll_acquire(&mut this.key, this.at, cx));
        let m = this.mutex.take().expect("checked above");
        Poll::Ready(OwnedMutexGuard::new(m))
    }
}

impl<T> Drop for OwnedMutexLock<T> {
    fn drop(&mut self) {
        if let (Some(key), Some(m)) = (self.key.take(), &self.mutex) {
            m.cancel_acquire(key);
        }
    }
}

impl<T> fmt::Debug for OwnedMutexLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedMutexLock")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// A [`MutexGuard`](crate::sync::MutexGuard) that owns an `Arc` of its
/// mutex, so it has no lifetime and may move into a goroutine. Dropping it
/// unlocks.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(goro::sync::Mutex::new(String::new()));
/// let mut g: goro::sync::OwnedMutexGuard<String> = m.clone().lock_owned_blocking();
/// g.push_str("go");
/// assert!(Arc::ptr_eq(goro::sync::OwnedMutexGuard::mutex(&g), &m));
/// drop(g);
/// assert_eq!(*m.lock_blocking(), "go");
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T> {
    mutex: Arc<Mutex<T>>,
    /// Auto traits as `MutexGuard`: `Sync` only if `T: Sync`.
    _marker: PhantomData<T>,
}

impl<T> OwnedMutexGuard<T> {
    fn new(mutex: Arc<Mutex<T>>) -> Self {
        OwnedMutexGuard {
            mutex,
            _marker: PhantomData,
        }
    }

    /// The mutex this guard locks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goro::sync::{Mutex, OwnedMutexGuard};
    /// let mu = Arc::new(Mutex::new(1));
    /// let g = mu.clone().lock_owned_blocking();
    /// assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&g), &mu));
    /// ```
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held, so no `&mut T` exists
        // elsewhere; the reference lives no longer than the guard.
        self.mutex.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves exclusive ownership of the lock, and
        // `&mut self` makes this the only reference derived from it.
        self.mutex.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
