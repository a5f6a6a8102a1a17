//! Owned guards and permits: locks taken through an `Arc`, so the guard
//! holds the `Arc` instead of borrowing the lock and may be moved into a
//! spawned goroutine (tokio's `lock_owned`, `read_owned`, `write_owned`,
//! `acquire_owned`).
//!
//! Each owned future and guard runs exactly the protocol of its borrowed
//! twin: both call the same `poll_*` / `cancel_*` steps of the lock (see
//! the `# Protocol` of `mutex.rs`, `rwmutex.rs` and `semaphore.rs`), which
//! take the waiter's node key by reference instead of living in one future
//! type. So cancellation, hand-off and fairness are the same for both.
//!
//! Why `Option<Arc<_>>` in the futures? The `Arc` moves into the guard when
//! the future resolves, without a second reference count update.

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

use crate::{
    sync::{
        rwmutex::WriteState,
        {Mutex, RwMutex, Semaphore},
    },
    wait,
};

// ---------------------------------------------------------------- Mutex

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

// -------------------------------------------------------------- RwMutex

impl<T> RwMutex<T> {
    /// Takes a read lock through an `Arc`: a future of an
    /// [`OwnedRwMutexReadGuard`], which may move into a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// goro::run(async {
    ///     let m = Arc::new(goro::sync::RwMutex::new(5));
    ///     let g = m.clone().read_owned().await;
    ///     let h = goro::go(async move { *g * 2 });
    ///     assert_eq!(h.await.unwrap(), 10);
    /// });
    /// ```
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> OwnedRwMutexRead<T> {
        OwnedRwMutexRead {
            lock: Some(self),
            key: None,
            at: Location::caller(),
        }
    }

    /// Takes the write lock through an `Arc`: a future of an
    /// [`OwnedRwMutexWriteGuard`], which may move into a goroutine.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// goro::run(async {
    ///     let m = Arc::new(goro::sync::RwMutex::new(5));
    ///     let mut g = m.clone().write_owned().await;
    ///     goro::go(async move { *g += 1 }).await.unwrap();
    ///     assert_eq!(*m.read().await, 6);
    /// });
    /// ```
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> OwnedRwMutexWrite<T> {
        OwnedRwMutexWrite {
            lock: Some(self),
            stage: WriteState::Lock(None),
            at: Location::caller(),
        }
    }

    /// [`read_owned`](RwMutex::read_owned) for threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(goro::sync::RwMutex::new(1));
    /// let g = m.clone().read_owned_blocking();
    /// assert_eq!(std::thread::spawn(move || *g).join().unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn read_owned_blocking(self: Arc<Self>) -> OwnedRwMutexReadGuard<T> {
        wait::block_on(self.read_owned())
    }

    /// [`write_owned`](RwMutex::write_owned) for threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(goro::sync::RwMutex::new(1));
    /// let mut g = m.clone().write_owned_blocking();
    /// std::thread::spawn(move || *g = 2).join().unwrap();
    /// assert_eq!(*m.read_blocking(), 2);
    /// ```
    #[track_caller]
    pub fn write_owned_blocking(self: Arc<Self>) -> OwnedRwMutexWriteGuard<T> {
        wait::block_on(self.write_owned())
    }

    /// Takes a read lock through an `Arc` if no writer holds or awaits it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(goro::sync::RwMutex::new(()));
    /// let r = m.clone().try_read_owned().unwrap();
    /// assert!(m.clone().try_write_owned().is_none());
    /// drop(r);
    /// assert!(m.try_write_owned().is_some());
    /// ```
    pub fn try_read_owned(self: Arc<Self>) -> Option<OwnedRwMutexReadGuard<T>> {
        self.try_read_lock()
            .then(|| OwnedRwMutexReadGuard { lock: self })
    }

    /// Takes the write lock through an `Arc` if the lock is entirely free.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(goro::sync::RwMutex::new(()));
    /// let w = m.clone().try_write_owned().unwrap();
    /// assert!(m.clone().try_read_owned().is_none());
    /// drop(w);
    /// ```
    pub fn try_write_owned(self: Arc<Self>) -> Option<OwnedRwMutexWriteGuard<T>> {
        self.try_write_lock()
            .then(|| OwnedRwMutexWriteGuard { lock: self })
    }
}

/// The future returned by [`RwMutex::read_owned`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(goro::sync::RwMutex::new(1));
/// let fut: goro::sync::OwnedRwMutexRead<i32> = m.read_owned();
/// assert_eq!(*futures::executor::block_on(fut), 1);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct OwnedRwMutexRead<T> {
    lock: Option<Arc<RwMutex<T>>>,
    key: Option<usize>,
    at: &'static Location<'static>,
}

impl<T> Future for OwnedRwMutexRead<T> {
    type Output = OwnedRwMutexReadGuard<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let m = this
            .lock
            .as_ref()
            .expect("OwnedRwMutexRead polled after completion");
        std::task::ready!(m.poll_read(&mut this.key, this.at, cx));
        let lock = this.lock.take().expect("checked above");
        Poll::Ready(OwnedRwMutexReadGuard { lock })
    }
}

impl<T> Drop for OwnedRwMutexRead<T> {
    fn drop(&mut self) {
        if let (Some(key), Some(m)) = (self.key.take(), &self.lock) {
            m.cancel_read(key);
        }
    }
}

impl<T> fmt::Debug for OwnedRwMutexRead<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedRwMutexRead")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// The future returned by [`RwMutex::write_owned`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(goro::sync::RwMutex::new(1));
/// let fut: goro::sync::OwnedRwMutexWrite<i32> = m.clone().write_owned();
/// *futures::executor::block_on(fut) += 1;
/// assert_eq!(*m.read_blocking(), 2);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct OwnedRwMutexWrite<T> {
    lock: Option<Arc<RwMutex<T>>>,
    stage: WriteState,
    at: &'static Location<'static>,
}

impl<T> Future for OwnedRwMutexWrite<T> {
    type Output = OwnedRwMutexWriteGuard<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let m = this
            .lock
            .as_ref()
            .expect("OwnedRwMutexWrite polled after completion");
        std::task::ready!(m.poll_write(&mut this.stage, this.at, cx));
        let lock = this.lock.take().expect("checked above");
        Poll::Ready(OwnedRwMutexWriteGuard { lock })
    }
}

impl<T> Drop for OwnedRwMutexWrite<T> {
    fn drop(&mut self) {
        if let Some(m) = &self.lock {
            m.cancel_write(&mut self.stage);
        }
    }
}

impl<T> fmt::Debug for OwnedRwMutexWrite<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedRwMutexWrite")
            .field("stage", &self.stage)
            .finish()
    }
}

/// A read lock that owns an `Arc` of its [`RwMutex`]; gives `&T`.
/// Dropping it is Go's `RUnlock`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(goro::sync::RwMutex::new(1));
/// let g: goro::sync::OwnedRwMutexReadGuard<i32> = m.read_owned_blocking();
/// assert_eq!(*g, 1);
/// ```
#[must_use = "if unused the RwMutex will immediately unlock"]
pub struct OwnedRwMutexReadGuard<T> {
    lock: Arc<RwMutex<T>>,
}

impl<T> OwnedRwMutexReadGuard<T> {
    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goro::sync::{OwnedRwMutexReadGuard, RwMutex};
    /// let rw = Arc::new(RwMutex::new(1));
    /// let g = rw.clone().read_owned_blocking();
    /// assert!(Arc::ptr_eq(OwnedRwMutexReadGuard::rwmutex(&g), &rw));
    /// ```
    pub fn rwmutex(this: &Self) -> &Arc<RwMutex<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedRwMutexReadGuard<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: a read guard proves no writer holds the lock, so only
        // shared references to the data exist while it lives.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> Drop for OwnedRwMutexReadGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedRwMutexReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The write lock, owning an `Arc` of its [`RwMutex`]; gives `&mut T`.
/// Dropping it is Go's `Unlock`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(goro::sync::RwMutex::new(1));
/// let mut g: goro::sync::OwnedRwMutexWriteGuard<i32> = m.write_owned_blocking();
/// *g = 2;
/// ```
#[must_use = "if unused the RwMutex will immediately unlock"]
pub struct OwnedRwMutexWriteGuard<T> {
    lock: Arc<RwMutex<T>>,
}

impl<T> OwnedRwMutexWriteGuard<T> {
    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use goro::sync::{OwnedRwMutexWriteGuard, RwMutex};
    /// let rw = Arc::new(RwMutex::new(1));
    /// let g = rw.clone().write_owned_blocking();
    /// assert!(Arc::ptr_eq(OwnedRwMutexWriteGuard::rwmutex(&g), &rw));
    /// ```
    pub fn rwmutex(this: &Self) -> &Arc<RwMutex<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedRwMutexWriteGuard<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the write guard proves exclusive ownership of the lock.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedRwMutexWriteGuard<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write guard proves exclusive ownership of the lock and
        // `&mut self` makes this the only reference derived from it.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for OwnedRwMutexWriteGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.unlock_write();
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedRwMutexWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

// ------------------------------------------------------------ Semaphore

impl Semaphore {
    /// Waits for `n` permits through an `Arc`: a future of an
    /// [`OwnedSemaphorePermit`], which may move into a goroutine (tokio's
    /// `acquire_many_owned`). Waits as [`acquire`](Semaphore::acquire) does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// goro::run(async {
    ///     let sem = Arc::new(goro::sync::Semaphore::new(2));
    ///     let mut hs = Vec::new();
    ///     for i in 0..4 {
    ///         let permit = sem.clone().acquire_owned(1).await;
    ///         hs.push(goro::go(async move {
    ///             let _permit = permit; // released when the goroutine ends
    ///             i
    ///         }));
    ///     }
    ///     for h in hs {
    ///         h.await.unwrap();
    ///     }
    ///     assert_eq!(sem.available(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn acquire_owned(self: Arc<Self>, n: usize) -> OwnedSemaphoreAcquire {
        OwnedSemaphoreAcquire {
            sem: Some(self),
            n,
            key: None,
            at: Location::caller(),
        }
    }

    /// [`acquire_owned`](Semaphore::acquire_owned) for threads.
    ///
    /// # Panics
    ///
    /// If `n` exceeds the semaphore's size, as
    /// [`acquire_blocking`](Semaphore::acquire_blocking).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(goro::sync::Semaphore::new(1));
    /// let p = sem.clone().acquire_owned_blocking(1);
    /// std::thread::spawn(move || drop(p)).join().unwrap();
    /// assert_eq!(sem.available(), 1);
    /// ```
    #[track_caller]
    pub fn acquire_owned_blocking(self: Arc<Self>, n: usize) -> OwnedSemaphorePermit {
        assert!(
            n <= self.capacity(),
            "semaphore: acquire_owned_blocking({n}) exceeds the size {} and would wait forever",
            self.capacity()
        );
        wait::block_on(self.acquire_owned(n))
    }

    /// Takes `n` permits through an `Arc` if they are free and nobody waits
    /// ahead; never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(goro::sync::Semaphore::new(1));
    /// let p = sem.clone().try_acquire_owned(1).unwrap();
    /// assert!(sem.clone().try_acquire_owned(1).is_none());
    /// drop(p);
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>, n: usize) -> Option<OwnedSemaphorePermit> {
        self.try_acquire_raw(n)
            .then(|| OwnedSemaphorePermit { sem: self, n })
    }
}

/// The future returned by [`Semaphore::acquire_owned`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(goro::sync::Semaphore::new(1));
/// let fut: goro::sync::OwnedSemaphoreAcquire = sem.acquire_owned(1);
/// let _permit = futures::executor::block_on(fut);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct OwnedSemaphoreAcquire {
    sem: Option<Arc<Semaphore>>,
    n: usize,
    key: Option<usize>,
    at: &'static Location<'static>,
}

impl Future for OwnedSemaphoreAcquire {
    type Output = OwnedSemaphorePermit;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedSemaphorePermit> {
        let this = self.get_mut();
        let sem = this
            .sem
            .as_ref()
            .expect("OwnedSemaphoreAcquire polled after completion");
        std::task::ready!(sem.poll_acquire(this.n, &mut this.key, this.at, cx));
        let sem = this.sem.take().expect("checked above");
        Poll::Ready(OwnedSemaphorePermit { sem, n: this.n })
    }
}

impl Drop for OwnedSemaphoreAcquire {
    fn drop(&mut self) {
        if let (Some(key), Some(sem)) = (self.key.take(), &self.sem) {
            sem.cancel_acquire(key);
        }
    }
}

impl fmt::Debug for OwnedSemaphoreAcquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphoreAcquire")
            .field("n", &self.n)
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// `n` permits of a [`Semaphore`] held through an `Arc`, released when
/// dropped.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(goro::sync::Semaphore::new(3));
/// let p: goro::sync::OwnedSemaphorePermit = sem.clone().acquire_owned_blocking(2);
/// assert_eq!(p.num_permits(), 2);
/// drop(p);
/// assert_eq!(sem.available(), 3);
/// ```
#[must_use = "if unused the permits are released at once"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    n: usize,
}

impl OwnedSemaphorePermit {
    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(goro::sync::Semaphore::new(3));
    /// assert_eq!(sem.acquire_owned_blocking(3).num_permits(), 3);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// The semaphore the permits belong to.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(goro::sync::Semaphore::new(1));
    /// let p = sem.clone().acquire_owned_blocking(1);
    /// assert!(Arc::ptr_eq(p.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Keeps the permits held without a guard; give them back later with
    /// [`Semaphore::release`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(goro::sync::Semaphore::new(1));
    /// sem.clone().acquire_owned_blocking(1).forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release(1);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
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
    /// use std::sync::Arc;
    /// let sem = Arc::new(goro::sync::Semaphore::new(3));
    /// let mut a = sem.clone().acquire_owned_blocking(1);
    /// a.merge(sem.clone().acquire_owned_blocking(2));
    /// assert_eq!(a.num_permits(), 3);
    /// drop(a);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
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
    /// use std::sync::Arc;
    /// let sem = Arc::new(goro::sync::Semaphore::new(3));
    /// let mut a = sem.clone().acquire_owned_blocking(3);
    /// let b = a.split(1).unwrap();
    /// assert_eq!((a.num_permits(), b.num_permits()), (2, 1));
    /// drop(b);
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.n {
            return None;
        }
        self.n -= n;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            n,
        })
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.release(self.n);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("n", &self.n)
            .finish()
    }
}
