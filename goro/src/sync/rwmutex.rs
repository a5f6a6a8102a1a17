//! `RwMutex<T>`: Go's `sync.RWMutex` — many readers or one writer.
//!
//! # Protocol
//!
//! Go's design: writers first queue among themselves on an internal
//! [`Mutex`], `writer` (Go's `w`), which readers never touch; the one writer
//! holding it then announces itself in the lock word, `state`, and waits
//! only for the readers that were in at that moment. Readers that come later
//! wait in a [`WaitList`] behind a small internal lock, `queue`, and are all
//! let in at once when the writer unlocks.
//!
//! | bits            | meaning                                                   |
//! |-----------------|-----------------------------------------------------------|
//! | `WRITER`        | the `writer` holder has announced itself: no new readers; |
//! |                 | it owns the data once the reader count is 0               |
//! | `WRITER_PARKED` | that writer sleeps until the count drains; `queue.writer` |
//! |                 | holds its waker                                           |
//! | `READER_WAITING`| the reader list is not empty (only while `WRITER`)        |
//! | `count × ONE_READER` (bits 3..) | readers holding (or granted) the lock     |
//!
//! | state                          | reading                                      |
//! |--------------------------------|----------------------------------------------|
//! | `0`                            | free                                         |
//! | `n·ONE_READER`                 | `n` readers in                               |
//! | `n·ONE_READER \| WRITER [\| WRITER_PARKED]` | a writer waits for `n` readers to leave |
//! | `WRITER \| READER_WAITING`     | writer in; the waiting readers go next       |
//!
//! Ownership: `WRITER` is set and cleared only by the holder of `writer`.
//! `WRITER_PARKED` and `READER_WAITING` change only with `queue` held, and
//! `WRITER_PARKED` is set exactly while `queue.writer` is `Some`. Readers
//! add themselves to the count with `fetch_add` and leave with `fetch_sub`;
//! one that finds `WRITER` set takes itself out again at once, so to an
//! announced writer it is just one more reader leaving. The count grows
//! for good only while `WRITER` is clear, or with `queue` held (the
//! unlocking writer admits the waiting readers). Waiter nodes are touched
//! only under `queue`.
//!
//! Lock order: `writer` before `queue`; `queue` is never held while waiting
//! for `writer`.
//!
//! Transitions:
//!
//! 1. *Read lock*: `fetch_add(ONE_READER)` (Go's `RLock`); if `WRITER` was
//!    set, undo it by step 3. Then spin a little (the writer is probably
//!    running) retrying that, and then with `queue` held: if `WRITER` is
//!    still set, CAS in `READER_WAITING` and link at the back; otherwise
//!    CAS the count up.
//! 2. *Write lock*: (a) lock `writer` (which spins, barges and turns to
//!    hand-off after 1 ms, see [`Mutex`]); (b) add `WRITER` (a `fetch_add`,
//!    the bit being clear): if the count was 0 the lock is ours; (c)
//!    otherwise spin while the count drains, then with `queue` held CAS in
//!    `WRITER_PARKED` (requiring a count > 0), store the waker and sleep. Every later poll redoes (c)'s
//!    check under `queue`, and re-sets the bit if a stale wake cleared it.
//! 3. *Read unlock*: `fetch_sub(ONE_READER)`; the reader that takes the
//!    count to 0 while `WRITER_PARKED` is set takes `queue.writer` out,
//!    clears the bit and wakes the writer. Nothing is handed over: the
//!    writer already owns `WRITER`, it only needs to look again.
//! 4. *Write unlock*: CAS `WRITER → 0`; if readers wait, with `queue` held
//!    clear `WRITER` and `READER_WAITING`, add the waiting readers to the
//!    count and mark their nodes granted, all in one CAS. Only then is
//!    `writer` unlocked, so the readers that queued behind this writer are
//!    in before the next writer announces: that writer waits for them, and
//!    readers do not starve. Writers do not starve either: an announced
//!    writer waits only for the readers already in, and for readers
//!    backing out of step 1, each of which retries only within its
//!    bounded spin before it queues.
//! 5. *Cancel* (a waiting future dropped): a reader still linked unlinks
//!    itself (clearing `READER_WAITING` if it was the last); a granted one
//!    releases its read lock by step 3. A writer still waiting for `writer`
//!    leaves its queue as a dropped `Mutex` lock future does (step 6 of
//!    `mutex.rs`); an announced writer withdraws by
//!    step 4 (also dropping its waker and `WRITER_PARKED`), letting in the
//!    readers it was holding back, and then unlocks `writer`.
//!
//! No lost wake-up: a reader links itself with a CAS that requires `WRITER`,
//! and the writer clears `WRITER` with `READER_WAITING` set only under
//! `queue`, after the link. A writer parks with a CAS that requires a
//! non-zero count, so the `fetch_sub` that zeroes it sees `WRITER_PARKED`.
//!
//! Why not hand the lock from writer to writer, or from the last reader to
//! the head writer, as this file once did? Each hand-off made the lock the
//! property of a task that was asleep: every running task then queued
//! behind it until the scheduler got round to it, and once a few tasks were
//! queued the lock never left that convoy (8 tasks on 2 threads went from
//! 6 ns to over 70 ns per operation). Go's writers barge on `w` instead, and
//! only readers are granted in bulk, which a writer then waits for.
//!
//! Why `fetch_add` and back out, not a CAS that only adds while `WRITER`
//! is clear? The CAS must first load the word and then own it: two trips
//! of the cache line between cores per read lock instead of one, which
//! under this contention doubled the cost of a read. The price is a count
//! that may briefly include readers on their way out, which an announced
//! writer waits out like any other reader (a reader backs out only within
//! its bounded spin, and then queues, so it cannot starve the writer).
//!
//! The steps live in `poll_read` / `cancel_read` and `poll_write` /
//! `cancel_write`, which take the waiter's node key or write stage by
//! reference, so the borrowed futures here and the owned ones of
//! `owned/rwmutex.rs` run the same code.
//!
//! Why spin before sleeping? A reader keeps the lock for a few nanoseconds;
//! parking a task and waking it costs microseconds. As in [`Mutex`], a short
//! bounded spin (no spin under loom) catches almost every such wait.

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
    sync::{
        mutex::{update_waker, Mutex},
        waiter::WaitList,
    },
    wait::{self, WaitReason},
};

const WRITER: usize = 1;
const WRITER_PARKED: usize = 2;
const READER_WAITING: usize = 4;
const ONE_READER: usize = 8;
/// Readers beyond this panic (the count would reach the flag bits).
const MAX_READERS: usize = usize::MAX / ONE_READER / 2;

/// Spin rounds before sleeping (exponential back-off of `spin_loop` hints).
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 6;
#[cfg(loom)]
const SPIN_ROUNDS: u32 = 0;

#[inline]
fn readers(s: usize) -> usize {
    s / ONE_READER
}

/// Busy-waits for round `round` of the back-off.
#[inline]
fn back_off(round: u32) {
    for _ in 0..(1u32 << round) {
        crate::loom::hint::spin_loop();
    }
}

#[derive(Debug)]
struct Waiter {
    waker: Option<Waker>,
    granted: bool,
}

#[derive(Debug)]
struct Queue {
    readers: WaitList<Waiter>,
    /// The announced writer's waker while `WRITER_PARKED` is set.
    writer: Option<Waker>,
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
    /// Writers queue here among themselves (Go's `w`).
    writer: Mutex<()>,
    queue: crate::loom::Mutex<Queue>,
    pub(super) data: UnsafeCell<T>,
}

// SAFETY: readers on several threads share `&T` (needs `T: Sync`); a writer
// may mutate from any thread (needs `T: Send`), as `std::sync::RwLock`.
unsafe impl<T: Send + Sync> Sync for RwMutex<T> {}
// SAFETY: moving the lock moves the `T`; the other fields are thread-safe.
unsafe impl<T: Send> Send for RwMutex<T> {}

impl<T> RwMutex<T> {
    crate::loom::const_fn! {
        /// Creates an unlocked `RwMutex` holding `value`; `const`, so it
        /// can initialise a static.
        ///
        /// # Examples
        ///
        /// ```
        /// let m = goro::sync::RwMutex::new("go");
        /// assert_eq!(*m.read_blocking(), "go");
        ///
        /// static TABLE: goro::sync::RwMutex<Vec<u8>> = goro::sync::RwMutex::new(Vec::new());
        /// TABLE.write_blocking().push(1);
        /// assert_eq!(*TABLE.read_blocking(), [1]);
        /// ```
        pub fn new(value: T) -> RwMutex<T> {
            RwMutex {
                state: AtomicUsize::new(0),
                writer: Mutex::new(()),
                queue: crate::loom::Mutex::new(Queue {
                    readers: WaitList::new(),
                    writer: None,
                }),
                data: UnsafeCell::new(value),
            }
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
        let at = Location::caller();
        RwMutexWrite {
            lock: self,
            stage: WriteState::Lock(None),
            at,
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
        self.try_read_lock().then(|| RwMutexReadGuard::new(self))
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
        self.try_write_lock().then(|| RwMutexWriteGuard::new(self))
    }

    /// `try_write` without a guard: on `true` the caller holds the write
    /// lock and must release it with `unlock_write`.
    #[inline]
    pub(crate) fn try_write_lock(&self) -> bool {
        if !self.writer.try_lock_raw() {
            return false;
        }
        // Holding `writer`, nobody else sets `WRITER`; readers may be in.
        if self
            .state
            .compare_exchange(0, WRITER, Acquire, Relaxed)
            .is_ok()
        {
            return true;
        }
        self.writer.unlock();
        false
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

    /// Step 1's fast path: count ourselves in with one `fetch_add` (Go's
    /// `RLock`); if a writer had announced itself, back out as a leaving
    /// reader would.
    #[inline]
    pub(crate) fn try_read_lock(&self) -> bool {
        let s = self.state.fetch_add(ONE_READER, Acquire);
        if s & WRITER == 0 && readers(s) < MAX_READERS {
            return true;
        }
        self.read_unlock();
        assert!(readers(s) < MAX_READERS, "goro: too many RwMutex readers");
        false
    }

    /// Step 1, before queueing: spin briefly while a writer is in.
    fn spin_read_lock(&self) -> bool {
        for round in 0..SPIN_ROUNDS {
            back_off(round);
            if self.state.load(Relaxed) & WRITER == 0 && self.try_read_lock() {
                return true;
            }
        }
        false
    }

    /// Step 3.
    #[inline]
    pub(crate) fn read_unlock(&self) {
        let s = self.state.fetch_sub(ONE_READER, Release);
        if readers(s) == 1 && s & WRITER_PARKED != 0 {
            self.wake_writer();
        }
    }

    /// Step 3, last reader out with the writer asleep.
    #[cold]
    fn wake_writer(&self) {
        let mut q = lock(&self.queue);
        let waker = q.writer.take();
        if waker.is_some() {
            self.state.fetch_and(!WRITER_PARKED, Relaxed);
        }
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Step 2 (b), with `writer` held: close the door to new readers.
    /// Returns whether none was in, i.e. whether the write lock is ours.
    #[inline]
    fn announce(&self) -> bool {
        // `WRITER` is clear (only the `writer` holder sets it), so adding
        // it is an or, in one `fetch_add`.
        let s = self.state.fetch_add(WRITER, Acquire);
        debug_assert!(s & (WRITER | WRITER_PARKED | READER_WAITING) == 0);
        readers(s) == 0
    }

    /// Whether the announced writer may go: no reader left, and no stale
    /// `WRITER_PARKED` to clean up under `queue`.
    #[inline]
    fn drained(&self) -> bool {
        self.state.load(Acquire) & !(WRITER | READER_WAITING) == 0
    }

    /// Step 2 (c), with `writer` held and `WRITER` announced: wait for the
    /// readers that were in to leave.
    fn poll_drain(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.drained() {
            return Poll::Ready(());
        }
        for round in 0..SPIN_ROUNDS {
            back_off(round);
            if self.drained() {
                return Poll::Ready(());
            }
        }
        let mut q = lock(&self.queue);
        let mut s = self.state.load(Acquire);
        loop {
            if readers(s) == 0 {
                if q.writer.take().is_some() {
                    self.state.fetch_and(!WRITER_PARKED, Relaxed);
                }
                return Poll::Ready(());
            }
            if s & WRITER_PARKED != 0 {
                break;
            }
            match self
                .state
                .compare_exchange_weak(s, s | WRITER_PARKED, Relaxed, Acquire)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        update_waker(&mut q.writer, cx.waker());
        Poll::Pending
    }

    /// Step 4 (and the cancel of an announced writer): the fast CAS, or the
    /// slow path that lets the waiting readers in. The caller unlocks
    /// `writer` afterwards.
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
        // Only a cancelled writer can still be parked.
        q.writer = None;
        let n = q.readers.len();
        let mut s = self.state.load(Relaxed);
        loop {
            debug_assert!(s & WRITER != 0, "goro: RwMutex write unlock without WRITER");
            assert!(
                readers(s) + n < MAX_READERS,
                "goro: too many RwMutex readers"
            );
            let new = (s & !(WRITER | WRITER_PARKED | READER_WAITING)) + n * ONE_READER;
            match self.state.compare_exchange_weak(s, new, Release, Relaxed) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        let mut wakers = Vec::with_capacity(n);
        while let Some(key) = q.readers.pop_front() {
            let w = q.readers.get_mut(key);
            w.granted = true;
            wakers.extend(w.waker.take());
        }
        drop(q);
        wakers.into_iter().for_each(Waker::wake);
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
    /// Our node in the reader list, while queued or granted.
    key: Option<usize>,
    at: &'static Location<'static>,
}

impl<'a, T> Future for RwMutexRead<'a, T> {
    type Output = RwMutexReadGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        std::task::ready!(this.lock.poll_read(&mut this.key, this.at, cx));
        Poll::Ready(RwMutexReadGuard::new(this.lock))
    }
}

impl<T> Drop for RwMutexRead<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.lock.cancel_read(key);
        }
    }
}

impl<T> RwMutex<T> {
    /// One poll of a read-lock future whose reader node is `key`. `Ready`
    /// means the caller holds a read lock and must release it.
    #[inline]
    pub(crate) fn poll_read(
        &self,
        key: &mut Option<usize>,
        at: &'static Location<'static>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if key.is_none() && crate::runtime::seeded::chaos_possible() {
            std::task::ready!(crate::runtime::seeded::poll_chaos(cx));
        }
        if key.is_none() && self.try_read_lock() {
            return Poll::Ready(());
        }
        self.poll_read_slow(key, at, cx)
    }

    #[cold]
    fn poll_read_slow(
        &self,
        key: &mut Option<usize>,
        at: &'static Location<'static>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let m = self;
        let Some(k) = *key else {
            if m.spin_read_lock() {
                return Poll::Ready(());
            }
            return m.poll_read_enqueue(key, at, cx);
        };
        let mut q = lock(&m.queue);
        let w = q.readers.get_mut(k);
        if w.granted {
            q.readers.remove(k);
            *key = None;
            return Poll::Ready(());
        }
        update_waker(&mut w.waker, cx.waker());
        drop(q);
        wait::record(WaitReason::RwMutexRLock, at);
        Poll::Pending
    }

    /// Step 1 with `queue` held: get in if `WRITER` went, else link.
    #[cold]
    fn poll_read_enqueue(
        &self,
        key: &mut Option<usize>,
        at: &'static Location<'static>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let m = self;
        let mut q = lock(&m.queue);
        let mut s = m.state.load(Relaxed);
        loop {
            if s & WRITER == 0 {
                assert!(readers(s) < MAX_READERS, "goro: too many RwMutex readers");
                match m
                    .state
                    .compare_exchange_weak(s, s + ONE_READER, Acquire, Relaxed)
                {
                    Ok(_) => return Poll::Ready(()),
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
        *key = Some(q.readers.push_back(Waiter {
            waker: Some(cx.waker().clone()),
            granted: false,
        }));
        drop(q);
        wait::record(WaitReason::RwMutexRLock, at);
        Poll::Pending
    }

    /// Step 5 for a reader whose node `key` is allocated.
    #[cold]
    pub(crate) fn cancel_read(&self, key: usize) {
        let m = self;
        let mut q = lock(&m.queue);
        let w = q.readers.remove(key);
        if !w.granted && q.readers.is_empty() {
            m.state.fetch_and(!READER_WAITING, Relaxed);
        }
        drop(q);
        if w.granted {
            // We hold a read lock we never saw; release it.
            m.read_unlock();
        }
    }

    /// One poll of a write-lock future in state `st` (step 2). `Ready`
    /// means the caller holds the write lock and must release it with
    /// [`unlock_write`](RwMutex::unlock_write).
    pub(crate) fn poll_write(
        &self,
        st: &mut WriteState,
        at: &'static Location<'static>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if let WriteState::Lock(key) = st {
            if self.writer.poll_acquire(key, at, cx).is_pending() {
                // Overrides the `Mutex`'s own reason.
                wait::record(WaitReason::RwMutexLock, at);
                return Poll::Pending;
            }
            if self.announce() {
                *st = WriteState::Done;
                return Poll::Ready(());
            }
            *st = WriteState::Drain;
        }
        assert!(
            matches!(st, WriteState::Drain),
            "RwMutexWrite polled after completion"
        );
        if self.poll_drain(cx).is_pending() {
            wait::record(WaitReason::RwMutexLock, at);
            return Poll::Pending;
        }
        *st = WriteState::Done;
        Poll::Ready(())
    }

    /// Step 5 for a writer: one still in (a) leaves `writer`'s queue; an
    /// announced one withdraws by step 4, letting in the readers it was
    /// holding back, and then unlocks `writer`.
    pub(crate) fn cancel_write(&self, st: &mut WriteState) {
        match std::mem::replace(st, WriteState::Done) {
            WriteState::Lock(Some(key)) => self.writer.cancel_acquire(key),
            WriteState::Drain => {
                self.write_unlock_slow();
                self.writer.unlock();
            }
            WriteState::Lock(None) | WriteState::Done => {}
        }
    }

    /// Releases the write lock: step 4, then `writer`.
    #[inline]
    pub(crate) fn unlock_write(&self) {
        self.write_unlock();
        self.writer.unlock();
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
    stage: WriteState,
    at: &'static Location<'static>,
}

/// Where a write-lock future is in step 2.
#[derive(Debug)]
pub(crate) enum WriteState {
    /// (a): waiting for `writer`; the node of that `Mutex` lock, if queued.
    Lock(Option<usize>),
    /// (c): holds `writer`, has announced `WRITER`, waits for readers.
    Drain,
    /// Resolved (or cancelled).
    Done,
}

impl<'a, T> Future for RwMutexWrite<'a, T> {
    type Output = RwMutexWriteGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        std::task::ready!(this.lock.poll_write(&mut this.stage, this.at, cx));
        Poll::Ready(RwMutexWriteGuard::new(this.lock))
    }
}

impl<T> Drop for RwMutexWrite<'_, T> {
    fn drop(&mut self) {
        self.lock.cancel_write(&mut self.stage);
    }
}

impl<T> fmt::Debug for RwMutexWrite<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwMutexWrite")
            .field("stage", &self.stage)
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
        super::cycle::acquired(&lock.writer.holder);
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
        self.lock.unlock_write();
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
    use crate::sync::{loom_block_on as block_on, poll_once};
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

    /// Two writers queue on `writer` while a reader comes and goes: the
    /// writes are exclusive and nobody is left asleep.
    #[test]
    fn two_writers_and_a_reader() {
        loom::model(|| {
            let m = Arc::new(RwMutex::new(0));
            let m1 = m.clone();
            let w1 = thread::spawn(move || *block_on(m1.write()) += 1);
            let m2 = m.clone();
            let w2 = thread::spawn(move || *block_on(m2.write()) += 1);
            let v = *block_on(m.read());
            assert!(v <= 2);
            w1.join().unwrap();
            w2.join().unwrap();
            assert_eq!(*m.try_write().unwrap(), 2);
            assert_eq!(m.state.load(SeqCst), 0);
        });
    }

    /// An announced writer dropped while readers are in withdraws, and the
    /// reader it was holding back gets in.
    #[test]
    fn cancelled_writer() {
        loom::model(|| {
            let m = Arc::new(RwMutex::new(0));
            let r = m.try_read().unwrap();
            let m1 = m.clone();
            let canceller = thread::spawn(move || {
                let mut f = m1.write();
                if let Poll::Ready(mut g) = poll_once(&mut f) {
                    *g += 1;
                }
                drop(f);
            });
            let m2 = m.clone();
            let reader = thread::spawn(move || *block_on(m2.read()));
            drop(r);
            canceller.join().unwrap();
            assert!(reader.join().unwrap() <= 1);
            assert_eq!(m.state.load(SeqCst), 0);
            assert!(m.try_write().is_some());
        });
    }

    /// A queued reader dropped while the writer unlocks (and possibly
    /// grants it a read lock) must not keep the next writer out.
    #[test]
    fn cancelled_reader() {
        loom::model(|| {
            let m = Arc::new(RwMutex::new(0));
            let g = m.try_write().unwrap();
            let m1 = m.clone();
            let canceller = thread::spawn(move || {
                let mut f = m1.read();
                let _ = poll_once(&mut f);
                drop(f);
            });
            let m2 = m.clone();
            let writer = thread::spawn(move || *block_on(m2.write()) += 1);
            drop(g);
            canceller.join().unwrap();
            writer.join().unwrap();
            assert_eq!(*m.try_read().unwrap(), 1);
            assert_eq!(m.state.load(SeqCst), 0);
        });
    }
}
