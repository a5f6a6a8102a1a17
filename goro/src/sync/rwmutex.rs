//! `RwMutex<T>`: Go's `sync.RWMutex` — many readers or one writer.
//!
//! # Protocol
//!
//! One lock word, `state`, and two [`WaitList`]s (readers, writers) behind
//! one internal lock, `queue`.
//!
//! | bits             | meaning                                                  |
//! |------------------|----------------------------------------------------------|
//! | `WRITER`         | a writer owns the lock (or was granted it)               |
//! | `WRITER_WAITING` | the writer list is not empty: new readers must wait      |
//! | `READER_WAITING` | the reader list is not empty                             |
//! | `count × ONE_READER` (bits 3..) | readers holding (or granted) the lock     |
//!
//! | state                               | reading                                          |
//! |-------------------------------------|--------------------------------------------------|
//! | `0`                                 | free                                             |
//! | `n·ONE_READER`                      | `n` readers in, nobody waits                     |
//! | `n·ONE_READER \| WRITER_WAITING`    | readers draining; the last one hands to a writer |
//! | `WRITER \| READER_WAITING \| ...`   | writer in; waiting readers go first on unlock    |
//!
//! Ownership: the waiting bits change only with `queue` held, and so does
//! every grant. Outside `queue` there are just the fast paths: a reader adds
//! `ONE_READER` by CAS while neither `WRITER` nor `WRITER_WAITING` is set, and
//! removes it with `fetch_sub`; a writer CASes `0 → WRITER` and back.
//!
//! Transitions (the lettered ones run with `queue` held):
//!
//! 1. *Read lock*: fast CAS as above; else (a) if still allowed, CAS in a
//!    reader; otherwise CAS in `READER_WAITING` and link at the back.
//! 2. *Write lock*: fast CAS `0 → WRITER`; else (b) if `state == 0` CAS in
//!    `WRITER`; otherwise CAS in `WRITER_WAITING` and link. Setting
//!    `WRITER_WAITING` closes the door to new readers (Go's writer
//!    preference), so a stream of readers cannot starve the writer.
//! 3. *Read unlock*: `fetch_sub(ONE_READER)`; the last reader out while
//!    `WRITER_WAITING` is set runs (c) *dispatch*: grant the lock to the head
//!    writer (`WRITER` in, `WRITER_WAITING` out if it was the last).
//! 4. *Write unlock*: fast CAS `WRITER → 0`; else (d): if readers wait, admit
//!    them all at once (add their count, clear `WRITER` and `READER_WAITING`)
//!    even if writers wait too — the readers that queued behind this writer
//!    get in before the next writer, so readers do not starve either; the
//!    last of them hands on to the writer by step 3. With no readers
//!    waiting, hand the lock to the head writer (`WRITER` stays set).
//! 5. *Cancel* (a waiting future dropped): a granted node releases what it
//!    was granted by step 3 or 4. A queued writer unlinks itself; if it was
//!    the last writer, `WRITER_WAITING` goes and (c) *dispatch* admits the
//!    readers it was holding back.
//!
//! No lost wake-up: a waiter's linking CAS requires the condition that keeps
//! it out to still hold; the release that ends the condition either fails
//! that CAS (and the waiter retries) or sees the waiting bit and runs its
//! slow path under `queue`, after the link.

use std::{
    fmt,
    future::Future,
    marker::PhantomData,
    ops::{Deref, DerefMut},
    panic::Location,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use crate::{
    loom::{
        atomic::{AtomicUsize, Ordering::*},
        lock, UnsafeCell,
    },
    sync::{mutex::update_waker, waiter::WaitList},
    wait::{self, WaitReason},
};

const WRITER: usize = 1;
const WRITER_WAITING: usize = 2;
const READER_WAITING: usize = 4;
const ONE_READER: usize = 8;
/// Readers beyond this panic (the count would reach the flag bits).
const MAX_READERS: usize = usize::MAX / ONE_READER / 2;

#[inline]
fn readers(s: usize) -> usize {
    s / ONE_READER
}

#[derive(Debug)]
struct Waiter {
    waker: Option<Waker>,
    granted: bool,
}

#[derive(Debug, Default)]
struct Queue {
    readers: WaitList<Waiter>,
    writers: WaitList<Waiter>,
}

/// A reader-writer lock protecting a `T`: any number of readers or one
/// writer. A waiting writer keeps new readers out (Go's writer preference),
/// and the readers that queued behind a writer get in before the next
/// writer, so neither side starves.
///
/// As in Go, a reader must not take the read lock again while it holds it
/// (a recursive `read()`): a writer queued in between would deadlock both.
///
/// # Examples
///
/// ```
/// use goro::sync::RwMutex;
/// let m = RwMutex::new(1);
/// {
///     let a = m.read_blocking();
///     let b = m.try_read().unwrap();
///     assert_eq!(*a + *b, 2);
///     assert!(m.try_write().is_none());
/// }
/// *m.write_blocking() += 1;
/// futures::executor::block_on(async { assert_eq!(*m.read().await, 2) });
/// ```
pub struct RwMutex<T> {
    state: AtomicUsize,
    queue: crate::loom::Mutex<Queue>,
    data: UnsafeCell<T>,
}

// SAFETY: readers on several threads share `&T` (needs `T: Sync`); a writer
// may mutate from any thread (needs `T: Send`), as `std::sync::RwLock`.
unsafe impl<T: Send + Sync> Sync for RwMutex<T> {}
// SAFETY: moving the lock moves the `T`; the other fields are thread-safe.
unsafe impl<T: Send> Send for RwMutex<T> {}

impl<T> RwMutex<T> {
    /// Creates an unlocked `RwMutex` holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::RwMutex::new("go");
    /// assert_eq!(*m.read_blocking(), "go");
    /// ```
    pub fn new(value: T) -> RwMutex<T> {
        RwMutex {
            state: AtomicUsize::new(0),
            queue: crate::loom::Mutex::new(Queue::default()),
            data: UnsafeCell::new(value),
        }
    }

    /// Takes a read lock (Go's `RLock`): a future of the read guard.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::RwMutex::new(3);
    /// futures::executor::block_on(async {
    ///     let (a, b) = (m.read().await, m.read().await);
    ///     assert_eq!(*a * *b, 9);
    /// });
    /// ```
    #[track_caller]
    pub fn read(&self) -> RwMutexRead<'_, T> {
        RwMutexRead {
            lock: self,
            key: None,
            at: Location::caller(),
        }
    }

    /// Takes the write lock (Go's `Lock`): a future of the write guard.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::RwMutex::new(vec![1]);
    /// futures::executor::block_on(async { m.write().await.push(2) });
    /// assert_eq!(*m.read_blocking(), [1, 2]);
    /// ```
    #[track_caller]
    pub fn write(&self) -> RwMutexWrite<'_, T> {
        RwMutexWrite {
            lock: self,
            key: None,
            at: Location::caller(),
        }
    }

    /// Takes a read lock, parking the calling thread while a writer holds
    /// the lock or waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::RwMutex::new(7);
    /// assert_eq!(*m.read_blocking(), 7);
    /// ```
    #[track_caller]
    pub fn read_blocking(&self) -> RwMutexReadGuard<'_, T> {
        if let Some(g) = self.try_read() {
            return g;
        }
        wait::block_on(self.read())
    }

    /// Takes the write lock, parking the calling thread until it is free.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::RwMutex::new(7);
    /// *m.write_blocking() = 8;
    /// assert_eq!(m.into_inner(), 8);
    /// ```
    #[track_caller]
    pub fn write_blocking(&self) -> RwMutexWriteGuard<'_, T> {
        if let Some(g) = self.try_write() {
            return g;
        }
        wait::block_on(self.write())
    }

    /// Takes a read lock if no writer holds or awaits the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::RwMutex::new(());
    /// let w = m.write_blocking();
    /// assert!(m.try_read().is_none());
    /// drop(w);
    /// assert!(m.try_read().is_some());
    /// ```
    #[inline]
    pub fn try_read(&self) -> Option<RwMutexReadGuard<'_, T>> {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & (WRITER | WRITER_WAITING) != 0 {
                return None;
            }
            assert!(readers(s) < MAX_READERS, "goro: too many RwMutex readers");
            match self
                .state
                .compare_exchange_weak(s, s + ONE_READER, Acquire, Relaxed)
            {
                Ok(_) => return Some(RwMutexReadGuard::new(self)),
                Err(now) => s = now,
            }
        }
    }

    /// Takes the write lock if the lock is entirely free.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = goro::sync::RwMutex::new(());
    /// let r = m.read_blocking();
    /// assert!(m.try_write().is_none());
    /// drop(r);
    /// assert!(m.try_write().is_some());
    /// ```
    #[inline]
    pub fn try_write(&self) -> Option<RwMutexWriteGuard<'_, T>> {
        self.state
            .compare_exchange(0, WRITER, Acquire, Relaxed)
            .ok()
            .map(|_| RwMutexWriteGuard::new(self))
    }

    /// Consumes the lock, returning the data.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::sync::RwMutex::new(1).into_inner(), 1);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }

    /// A mutable reference to the data, without locking (`&mut self` proves
    /// exclusive access).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = goro::sync::RwMutex::new(1);
    /// *m.get_mut() += 1;
    /// assert_eq!(*m.read_blocking(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard and every other access.
        self.data.with_mut(|p| unsafe { &mut *p })
    }

    /// Step 3.
    #[inline]
    fn read_unlock(&self) {
        let s = self.state.fetch_sub(ONE_READER, Release);
        if readers(s) == 1 && s & WRITER_WAITING != 0 {
            self.read_unlock_slow();
        }
    }

    #[cold]
    fn read_unlock_slow(&self) {
        let mut q = lock(&self.queue);
        let mut wakers = Vec::new();
        self.dispatch(&mut q, &mut wakers);
        drop(q);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Step 4.
    #[inline]
    fn write_unlock(&self) {
        if self
            .state
            .compare_exchange(WRITER, 0, Release, Relaxed)
            .is_err()
        {
            self.write_unlock_slow();
        }
    }

    #[cold]
    fn write_unlock_slow(&self) {
        let mut q = lock(&self.queue);
        let mut wakers = Vec::new();
        self.write_unlock_locked(&mut q, &mut wakers);
        drop(q);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// (d). Expects `queue` held and the write lock owned by the caller.
    fn write_unlock_locked(&self, q: &mut Queue, wakers: &mut Vec<Waker>) {
        if !q.readers.is_empty() {
            self.admit_readers(q, wakers, WRITER);
            return;
        }
        let mut s = self.state.load(Relaxed);
        loop {
            debug_assert!(s & WRITER != 0);
            let new = match q.writers.front() {
                // Hand-off: `WRITER` stays set for the next writer.
                Some(_) if q.writers.len() == 1 => s & !WRITER_WAITING,
                Some(_) => s,
                None => s & !(WRITER | WRITER_WAITING),
            };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        if let Some(head) = q.writers.pop_front() {
            grant(&mut q.writers, head, wakers);
        }
    }

    /// Admits every waiting reader at once, clearing `clear` (the caller's
    /// `WRITER`, or nothing) in the same CAS. Expects `queue` held.
    fn admit_readers(&self, q: &mut Queue, wakers: &mut Vec<Waker>, clear: usize) {
        let n = q.readers.len();
        let mut s = self.state.load(Relaxed);
        loop {
            assert!(
                readers(s) + n < MAX_READERS,
                "goro: too many RwMutex readers"
            );
            let new = ((s & !(clear | READER_WAITING)) + n * ONE_READER)
                & if q.writers.is_empty() {
                    !WRITER_WAITING
                } else {
                    !0
                };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        while let Some(key) = q.readers.pop_front() {
            grant(&mut q.readers, key, wakers);
        }
    }

    /// (c): with `queue` held, move the lock on if it is free and someone
    /// waits: to the head writer, or else to all waiting readers.
    fn dispatch(&self, q: &mut Queue, wakers: &mut Vec<Waker>) {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & WRITER != 0 {
                return; // The writer's unlock dispatches.
            }
            if q.writers.is_empty() {
                if !q.readers.is_empty() {
                    self.admit_readers(q, wakers, 0);
                }
                return;
            }
            if readers(s) > 0 {
                return; // The last reader out dispatches.
            }
            let mut new = s | WRITER;
            if q.writers.len() == 1 {
                new &= !WRITER_WAITING;
            }
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => {
                    let head = q.writers.pop_front().expect("non-empty");
                    grant(&mut q.writers, head, wakers);
                    return;
                }
                Err(now) => s = now,
            }
        }
    }
}

fn grant(list: &mut WaitList<Waiter>, key: usize, wakers: &mut Vec<Waker>) {
    let w = list.get_mut(key);
    w.granted = true;
    if let Some(waker) = w.waker.take() {
        wakers.push(waker);
    }
}

/// The future returned by [`RwMutex::read`].
///
/// # Examples
///
/// ```
/// let m = goro::sync::RwMutex::new(1);
/// let fut: goro::sync::RwMutexRead<'_, i32> = m.read();
/// assert_eq!(*futures::executor::block_on(fut), 1);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RwMutexRead<'a, T> {
    lock: &'a RwMutex<T>,
    key: Option<usize>,
    at: &'static Location<'static>,
}

impl<'a, T> Future for RwMutexRead<'a, T> {
    type Output = RwMutexReadGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let m = this.lock;
        if this.key.is_none() {
            if let Some(g) = m.try_read() {
                return Poll::Ready(g);
            }
        }
        let mut q = lock(&m.queue);
        match this.key {
            Some(key) => {
                let w = q.readers.get_mut(key);
                if w.granted {
                    q.readers.remove(key);
                    this.key = None;
                    return Poll::Ready(RwMutexReadGuard::new(m));
                }
                update_waker(&mut w.waker, cx.waker());
            }
            None => {
                let mut s = m.state.load(Relaxed);
                loop {
                    if s & (WRITER | WRITER_WAITING) == 0 {
                        assert!(readers(s) < MAX_READERS, "goro: too many RwMutex readers");
                        match m
                            .state
                            .compare_exchange_weak(s, s + ONE_READER, Acquire, Relaxed)
                        {
                            Ok(_) => return Poll::Ready(RwMutexReadGuard::new(m)),
                            Err(now) => s = now,
                        }
                    } else {
                        match m
                            .state
                            .compare_exchange_weak(s, s | READER_WAITING, Relaxed, Relaxed)
                        {
                            Ok(_) => break,
                            Err(now) => s = now,
                        }
                    }
                }
                this.key = Some(q.readers.push_back(Waiter {
                    waker: Some(cx.waker().clone()),
                    granted: false,
                }));
            }
        }
        drop(q);
        wait::record(WaitReason::RwMutexRLock, this.at);
        Poll::Pending
    }
}

impl<T> Drop for RwMutexRead<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let m = self.lock;
        let mut q = lock(&m.queue);
        let w = q.readers.remove(key);
        let mut wakers = Vec::new();
        if w.granted {
            // Step 5: we hold a read lock we never saw; release it.
            let s = m.state.fetch_sub(ONE_READER, Release);
            if readers(s) == 1 && s & WRITER_WAITING != 0 {
                m.dispatch(&mut q, &mut wakers);
            }
        } else if q.readers.is_empty() {
            let mut s = m.state.load(Relaxed);
            while let Err(now) =
                m.state
                    .compare_exchange_weak(s, s & !READER_WAITING, Relaxed, Relaxed)
            {
                s = now;
            }
        }
        drop(q);
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T> fmt::Debug for RwMutexRead<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwMutexRead")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// The future returned by [`RwMutex::write`].
///
/// # Examples
///
/// ```
/// let m = goro::sync::RwMutex::new(1);
/// let fut: goro::sync::RwMutexWrite<'_, i32> = m.write();
/// *futures::executor::block_on(fut) += 1;
/// assert_eq!(m.into_inner(), 2);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RwMutexWrite<'a, T> {
    lock: &'a RwMutex<T>,
    key: Option<usize>,
    at: &'static Location<'static>,
}

impl<'a, T> Future for RwMutexWrite<'a, T> {
    type Output = RwMutexWriteGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let m = this.lock;
        if this.key.is_none() {
            if let Some(g) = m.try_write() {
                return Poll::Ready(g);
            }
        }
        let mut q = lock(&m.queue);
        match this.key {
            Some(key) => {
                let w = q.writers.get_mut(key);
                if w.granted {
                    q.writers.remove(key);
                    this.key = None;
                    return Poll::Ready(RwMutexWriteGuard::new(m));
                }
                update_waker(&mut w.waker, cx.waker());
            }
            None => {
                let mut s = m.state.load(Relaxed);
                loop {
                    if s == 0 {
                        match m.state.compare_exchange_weak(0, WRITER, Acquire, Relaxed) {
                            Ok(_) => return Poll::Ready(RwMutexWriteGuard::new(m)),
                            Err(now) => s = now,
                        }
                    } else {
                        match m
                            .state
                            .compare_exchange_weak(s, s | WRITER_WAITING, Relaxed, Relaxed)
                        {
                            Ok(_) => break,
                            Err(now) => s = now,
                        }
                    }
                }
                this.key = Some(q.writers.push_back(Waiter {
                    waker: Some(cx.waker().clone()),
                    granted: false,
                }));
            }
        }
        drop(q);
        wait::record(WaitReason::RwMutexLock, this.at);
        Poll::Pending
    }
}

impl<T> Drop for RwMutexWrite<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let m = self.lock;
        let mut q = lock(&m.queue);
        let w = q.writers.remove(key);
        let mut wakers = Vec::new();
        if w.granted {
            // Step 5: we own the write lock; release it.
            m.write_unlock_locked(&mut q, &mut wakers);
        } else if q.writers.is_empty() {
            let mut s = m.state.load(Relaxed);
            while let Err(now) =
                m.state
                    .compare_exchange_weak(s, s & !WRITER_WAITING, Relaxed, Relaxed)
            {
                s = now;
            }
            m.dispatch(&mut q, &mut wakers);
        }
        drop(q);
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl<T> fmt::Debug for RwMutexWrite<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwMutexWrite")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

/// A read lock on an [`RwMutex`]; gives `&T`. Dropping it is Go's `RUnlock`.
///
/// # Examples
///
/// ```
/// let m = goro::sync::RwMutex::new(1);
/// let g: goro::sync::RwMutexReadGuard<'_, i32> = m.read_blocking();
/// assert_eq!(*g, 1);
/// ```
#[must_use = "if unused the RwMutex will immediately unlock"]
pub struct RwMutexReadGuard<'a, T> {
    lock: &'a RwMutex<T>,
    _marker: PhantomData<&'a T>,
}

impl<'a, T> RwMutexReadGuard<'a, T> {
    fn new(lock: &'a RwMutex<T>) -> Self {
        RwMutexReadGuard {
            lock,
            _marker: PhantomData,
        }
    }
}

impl<T> Deref for RwMutexReadGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: a read guard proves no writer holds the lock, so only
        // shared references to the data exist while it lives.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> Drop for RwMutexReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.read_unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for RwMutexReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The write lock on an [`RwMutex`]; gives `&mut T`. Dropping it is Go's
/// `Unlock`.
///
/// # Examples
///
/// ```
/// let m = goro::sync::RwMutex::new(1);
/// let mut g: goro::sync::RwMutexWriteGuard<'_, i32> = m.write_blocking();
/// *g = 2;
/// ```
#[must_use = "if unused the RwMutex will immediately unlock"]
pub struct RwMutexWriteGuard<'a, T> {
    lock: &'a RwMutex<T>,
    _marker: PhantomData<&'a mut T>,
}

impl<'a, T> RwMutexWriteGuard<'a, T> {
    fn new(lock: &'a RwMutex<T>) -> Self {
        RwMutexWriteGuard {
            lock,
            _marker: PhantomData,
        }
    }
}

impl<T> Deref for RwMutexWriteGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the write guard proves exclusive ownership of the lock.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for RwMutexWriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write guard proves exclusive ownership of the lock and
        // `&mut self` makes this the only reference derived from it.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for RwMutexWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.write_unlock();
    }
}

impl<T: fmt::Debug> fmt::Debug for RwMutexWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Debug> fmt::Debug for RwMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwMutex");
        match self.try_read() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<T: Default> Default for RwMutex<T> {
    fn default() -> Self {
        RwMutex::new(T::default())
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::loom_block_on as block_on;
    use loom::{sync::Arc, thread};

    /// A reader and a writer: the reader sees the value before or after
    /// the write, never during; both finish.
    #[test]
    fn reader_vs_writer() {
        loom::model(|| {
            let m = Arc::new(RwMutex::new(0));
            let m1 = m.clone();
            let w = thread::spawn(move || *block_on(m1.write()) = 1);
            let v = *block_on(m.read());
            assert!(v == 0 || v == 1);
            w.join().unwrap();
            assert_eq!(*m.try_read().unwrap(), 1);
            assert_eq!(m.state.load(SeqCst), 0);
        });
    }

    /// A writer queued behind a reader stops a second reader; when the
    /// first reader leaves, everyone gets through.
    #[test]
    fn writer_waits_for_readers_and_blocks_new_ones() {
        loom::model(|| {
            let m = Arc::new(RwMutex::new(0));
            let r = m.try_read().unwrap();
            let m1 = m.clone();
            let w = thread::spawn(move || *block_on(m1.write()) += 1);
            let m2 = m.clone();
            let r2 = thread::spawn(move || *block_on(m2.read()));
            drop(r);
            w.join().unwrap();
            let seen = r2.join().unwrap();
            assert!(seen == 0 || seen == 1);
            assert_eq!(m.state.load(SeqCst), 0);
        });
    }
}
