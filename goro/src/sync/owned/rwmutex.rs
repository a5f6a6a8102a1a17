//! [`RwMutex::read_owned`] and [`RwMutex::write_owned`]: the owned lock
//! futures and guards.

use std::{
    fmt,
    future::Future,
    ops::{Deref, DerefMut},
    panic::Location,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use crate::{
    sync::{rwmutex::WriteState, RwMutex},
    wait,
};

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
