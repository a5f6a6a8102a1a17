//! [`Semaphore::acquire_owned`]: the owned acquire future and permit.

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use crate::{sync::Semaphore, wait};

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
