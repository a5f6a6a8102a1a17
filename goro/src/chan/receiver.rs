//! The receiving end, its `recv` future, its blocking iterator and its
//! `Stream` implementation.

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use super::{
    arm::{poll_single, RecvArm},
    core::{Chan, Miss, RecvFail},
    error::{RecvTimeoutError, TryRecvError},
};
use crate::{
    loom::atomic::Ordering,
    wait::{self, WaitReason},
};

/// The receiving end of a channel (`<-chan T`). Clone it for more
/// receivers (each value goes to exactly one). When the last one is
/// dropped, buffered values are dropped and sends fail at once.
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<i32>(3);
/// for i in 0..3 {
///     tx.send_blocking(i).unwrap();
/// }
/// drop(tx);
/// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// ```
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// This receiver's watcher id for `Stream::poll_next` (0: none yet),
    /// or [`TERMINATED`]: `poll_next` returned `None` (closed and drained),
    /// for `FusedStream`. One word, not a word and a flag: a receiver is
    /// part of every goroutine parked on a channel it owns.
    watch: u64,
}

/// `Receiver::watch` once the stream has ended (no watcher id is ever
/// this large: ids count registrations from 1).
const TERMINATED: u64 = u64::MAX;

// A panic cannot leave a channel half-updated for another user: every
// update happens under its lock and completes before user code runs.
impl<T> std::panic::UnwindSafe for Receiver<T> {}
impl<T> std::panic::RefUnwindSafe for Receiver<T> {}

impl<T> Receiver<T> {
    pub(crate) fn new(chan: Arc<Chan<T>>) -> Receiver<T> {
        Receiver { chan, watch: 0 }
    }

    /// Receives a value, waiting while there is none. `None` means the
    /// channel is closed and drained (Go's `v, ok := <-ch` with `ok ==
    /// false`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// std::thread::spawn(move || tx.send_blocking(9).unwrap());
    /// assert_eq!(futures::executor::block_on(rx.recv()), Some(9));
    /// assert_eq!(futures::executor::block_on(rx.recv()), None);
    /// ```
    #[track_caller]
    pub fn recv(&self) -> Recv<'_, T> {
        Recv {
            // SAFETY: the future borrows `self`, which keeps the channel alive.
            arm: unsafe { RecvArm::new(Arc::as_ptr(&self.chan)) },
            at: Location::caller(),
        }
    }

    /// [`recv`](Receiver::recv), parking the calling thread while it waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// tx.send_blocking(3).unwrap();
    /// assert_eq!(rx.recv_blocking(), Some(3));
    /// ```
    #[track_caller]
    pub fn recv_blocking(&self) -> Option<T> {
        wait::block_on(self.recv())
    }

    /// [`recv_blocking`](Receiver::recv_blocking) that gives up after
    /// `timeout` (crossbeam's `recv_timeout`). A value handed to this
    /// receive as it times out is given back, not lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::chan::RecvTimeoutError;
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// tx.send_blocking(2).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(1)), Ok(2));
    /// ```
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.recv_deadline(deadline),
            None => self.recv_blocking().ok_or(RecvTimeoutError::Closed),
        }
    }

    /// [`recv_blocking`](Receiver::recv_blocking) that gives up at
    /// `deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use goro::chan::RecvTimeoutError;
    /// let (_tx, rx) = goro::chan::<i32>(0);
    /// let deadline = Instant::now() + Duration::from_millis(1);
    /// assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    /// ```
    #[track_caller]
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        let fut = std::pin::pin!(self.recv());
        match wait::block_on_deadline(fut, Some(deadline)) {
            Some(Some(v)) => Ok(v),
            Some(None) => Err(RecvTimeoutError::Closed),
            // Dropping the receive gives back anything handed to it.
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// An iterator over the values that can be received without waiting
    /// (crossbeam's `try_iter`); it ends at the first `try_recv` failure.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(3);
    /// tx.send_blocking(1).unwrap();
    /// tx.send_blocking(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// How many `Sender`s of this channel exist.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// let _tx2 = tx.clone();
    /// assert_eq!(rx.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// How many `Receiver`s of this channel exist.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = goro::chan::<i32>(0);
    /// let _rx2 = rx.clone();
    /// assert_eq!(rx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }

    /// Whether the buffer is full (`len() == capacity()`; always true for
    /// an unbuffered channel, as crossbeam's zero-capacity channel says).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// assert!(!rx.is_full());
    /// tx.send_blocking(1).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.chan.is_full()
    }

    /// Receives a value only if that needs no waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::chan::TryRecvError;
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send_blocking(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        if self.chan.nil {
            return Err(TryRecvError::Empty);
        }
        match self.chan.try_recv_fast() {
            Ok(v) => return Ok(v),
            // Empty in fast mode: Go's lock-free `empty()` check.
            Err(Miss::Settled) => return Err(TryRecvError::Empty),
            Err(Miss::Lock) => {}
        }
        let r = {
            let mut st = self.chan.lock();
            self.chan.try_recv_locked(&mut st, std::ptr::null())
        };
        match r {
            Ok((v, w)) => {
                if let Some(w) = w {
                    w.wake();
                }
                Ok(v)
            }
            Err(RecvFail::Empty) => Err(TryRecvError::Empty),
            Err(RecvFail::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// A blocking iterator over received values (Go's `for v := range
    /// ch`); it ends when the channel is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send_blocking(i).unwrap();
    ///     }
    /// });
    /// assert_eq!(rx.iter().sum::<i32>(), 3);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// Closes the channel from the receiving side; see [`Sender::close`](super::Sender::close).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// assert!(rx.close());
    /// assert!(tx.send_blocking(1).is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed (values may still be buffered).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// How many times the channel's internal lock has been taken since the
    /// channel was made: a diagnostic for contention. A send into a
    /// buffered channel with room, or a receive from one holding values,
    /// takes no lock while nobody waits on the channel; blocking, waking a
    /// waiter, `close`, `len` and `select`'s slow path take it. Divide by
    /// the messages sent to get lock acquisitions per message. Reading
    /// the counter is not counted.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<u32>(8);
    /// let before = rx.lock_acquisitions();
    /// for i in 0..8 {
    ///     tx.try_send(i).unwrap(); // room in the buffer: no lock
    /// }
    /// for i in 0..8 {
    ///     assert_eq!(rx.try_recv(), Ok(i)); // values buffered: no lock
    /// }
    /// assert_eq!(rx.lock_acquisitions(), before);
    /// tx.close(); // closing takes the lock
    /// assert!(rx.lock_acquisitions() > before);
    /// ```
    pub fn lock_acquisitions(&self) -> u64 {
        self.chan.lock_acquisitions()
    }

    /// How many values are buffered (Go's `len(ch)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(2);
    /// tx.send_blocking(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no value is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = goro::chan::<i32>(2);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer size (Go's `cap(ch)`); 0 for unbuffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = goro::chan::<i32>(2);
    /// assert_eq!(rx.capacity(), 2);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.cap
    }

    /// Whether `self` and `other` receive from the same channel. Every
    /// [`never()`](super::never) receiver is the same channel, as Go's nil
    /// channels compare equal.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = goro::chan::<i32>(0);
    /// assert!(rx.same_channel(&rx.clone()));
    /// assert!(goro::chan::never::<i32>().same_channel(&goro::chan::never()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan) || (self.chan.nil && other.chan.nil)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver::new(self.chan.clone())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.watch != 0 && self.watch != TERMINATED {
            self.chan.lock().unwatch(self.watch);
        }
        if self.chan.receivers.fetch_sub(1, Ordering::AcqRel) == 1 && !self.chan.nil {
            self.chan.disconnect_receivers();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("cap", &self.chan.cap)
            .field("closed", &self.chan.is_closed())
            .field("never", &self.chan.nil)
            .finish()
    }
}

/// The future of [`Receiver::recv`].
///
/// Dropping it before it completes takes nothing from the channel: a value
/// handed to it in the meantime goes back to its sender if that sender is
/// still waiting for it to be taken (unbuffered channels), else to the
/// channel's front.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let (tx, rx) = goro::chan::<u8>(1);
///     let recv = rx.recv(); // nothing happens until it is awaited
///     tx.send(7).await.unwrap();
///     assert_eq!(recv.await, Some(7));
/// });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    /// The receive, with its own chosen word (unlinked by its drop before
    /// the word goes).
    arm: RecvArm<'a, T>,
    at: &'static Location<'static>,
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").field("at", &self.at).finish()
    }
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // SAFETY: `arm` and `sel` are never moved out; they stay pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: structural pinning of `arm`, as above.
        let arm = unsafe { Pin::new_unchecked(&mut this.arm) };
        let reason = if arm.chan().nil {
            WaitReason::ChanReceiveNilChan
        } else {
            WaitReason::ChanReceive
        };
        poll_single(arm, cx, reason, this.at)
    }
}

/// A `Receiver` polled as a `Stream` registers only a *watcher* while it
/// finds nothing: senders wake it but never hand it a value, so a stream
/// that stops being polled (its `next()` dropped by a timeout) strands
/// nothing; the next poll receives as `try_recv` does.
impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    #[track_caller]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.watch == TERMINATED {
            return Poll::Ready(None);
        }
        std::task::ready!(crate::runtime::context::poll_proceed(cx));
        if this.chan.nil {
            wait::record(WaitReason::ChanReceiveNilChan, Location::caller());
            return Poll::Pending;
        }
        if let Ok(v) = this.chan.try_recv_fast() {
            return Poll::Ready(Some(v));
        }
        let (r, waker) = {
            let mut st = this.chan.lock();
            match this.chan.try_recv_locked(&mut st, std::ptr::null()) {
                Ok((v, w)) => {
                    st.unwatch(std::mem::take(&mut this.watch));
                    (Poll::Ready(Some(v)), w)
                }
                Err(RecvFail::Closed) => {
                    st.unwatch(std::mem::take(&mut this.watch));
                    (Poll::Ready(None), None)
                }
                Err(RecvFail::Empty) => {
                    st.watch(&mut this.watch, cx.waker());
                    (Poll::Pending, None)
                }
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
        match r {
            Poll::Pending => wait::record(WaitReason::ChanReceive, Location::caller()),
            Poll::Ready(None) => this.watch = TERMINATED,
            Poll::Ready(Some(_)) => {}
        }
        r
    }
}

impl<T> futures_core::FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.watch == TERMINATED
    }
}

/// A non-blocking iterator over a [`Receiver`]; see [`Receiver::try_iter`].
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<u8>(4);
/// tx.try_send(1).unwrap();
/// tx.try_send(2).unwrap();
/// let got: Vec<u8> = rx.try_iter().collect(); // stops when empty
/// assert_eq!(got, [1, 2]);
/// ```
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// A blocking iterator over a [`Receiver`]; see [`Receiver::iter`].
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<u32>(3);
/// std::thread::spawn(move || {
///     for i in 0..3 {
///         tx.send_blocking(i).unwrap();
///     }
/// }); // the thread's Sender is dropped: the channel closes
/// let got: Vec<u32> = rx.iter().collect(); // blocks this thread
/// assert_eq!(got, [0, 1, 2]);
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// An owning blocking iterator over a [`Receiver`].
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<&str>(2);
/// tx.send_blocking("a").unwrap();
/// tx.send_blocking("b").unwrap();
/// drop(tx);
/// let got: Vec<&str> = rx.into_iter().collect();
/// assert_eq!(got, ["a", "b"]);
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
