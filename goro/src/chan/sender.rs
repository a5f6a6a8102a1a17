//! The sending end and its `send` future.

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
    arm::{poll_single, SendArm},
    core::{Chan, Miss, SendFail, Sent},
    error::{SendError, SendTimeoutError, TrySendError},
};
use crate::{
    loom::atomic::Ordering,
    wait::{self, WaitReason},
};

/// The sending end of a channel (`chan<- T`). Clone it for more senders;
/// when the last one is dropped the channel closes.
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<&str>(1);
/// let tx2 = tx.clone();
/// std::thread::spawn(move || tx2.send_blocking("hi").unwrap());
/// assert_eq!(rx.recv_blocking(), Some("hi"));
/// ```
pub struct Sender<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// The send started by `Sink::start_send` and not yet flushed.
    pub(super) sink: Option<Pin<Box<super::sink::SinkSend<T>>>>,
}

// SAFETY: the only field that is not `Sync` for every `T: Send` is `sink`,
// and it is touched only through `&mut Sender` (the `Sink` methods,
// `drop`), never through a shared reference.
unsafe impl<T: std::marker::Send> Sync for Sender<T> {}

// As for `Receiver`: a panic leaves no channel half-updated.
impl<T> std::panic::UnwindSafe for Sender<T> {}
impl<T> std::panic::RefUnwindSafe for Sender<T> {}

impl<T> Sender<T> {
    /// A sender for `chan`, whose count the caller has already taken.
    pub(crate) fn from_chan(chan: Arc<Chan<T>>) -> Sender<T> {
        Sender { chan, sink: None }
    }

    /// Sends `v`, waiting while the buffer is full (unbuffered: until a
    /// receiver takes it). Fails with the value if the channel is closed,
    /// or closes while waiting, or every receiver is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// let t = std::thread::spawn(move || rx.recv_blocking());
    /// futures::executor::block_on(tx.send(5)).unwrap();
    /// assert_eq!(t.join().unwrap(), Some(5));
    /// ```
    #[track_caller]
    pub fn send(&self, v: T) -> Send<'_, T> {
        Send {
            // SAFETY: the future borrows `self`, which keeps the channel alive.
            arm: unsafe { SendArm::new(Arc::as_ptr(&self.chan), v) },
            at: Location::caller(),
        }
    }

    /// [`send`](Sender::send), parking the calling thread while it waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// tx.send_blocking(1).unwrap();
    /// assert_eq!(rx.recv_blocking(), Some(1));
    /// ```
    #[track_caller]
    pub fn send_blocking(&self, v: T) -> Result<(), SendError<T>> {
        wait::block_on(self.send(v))
    }

    /// [`send_blocking`](Sender::send_blocking) that gives up after
    /// `timeout`, handing the value back (crossbeam's `send_timeout`). On
    /// `Err(Timeout(v))` nothing was sent: a value handed to a receiver
    /// that had not taken it yet is taken back.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use goro::chan::SendTimeoutError;
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// assert_eq!(tx.send_timeout(1, Duration::from_secs(1)), Ok(()));
    /// assert_eq!(
    ///     tx.send_timeout(2, Duration::from_millis(1)),
    ///     Err(SendTimeoutError::Timeout(2))
    /// );
    /// # drop(rx);
    /// ```
    #[track_caller]
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.send_deadline(v, deadline),
            None => self.send_blocking(v).map_err(Into::into),
        }
    }

    /// [`send_timeout`](Sender::send_timeout) with a deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, _rx) = goro::chan::<i32>(0);
    /// let r = tx.send_deadline(7, Instant::now() + Duration::from_millis(1));
    /// assert_eq!(r.unwrap_err().into_inner(), 7);
    /// ```
    #[track_caller]
    pub fn send_deadline(&self, v: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        let mut fut = std::pin::pin!(self.send(v));
        match wait::block_on_deadline(fut.as_mut(), Some(deadline)) {
            Some(r) => r.map_err(Into::into),
            None => match fut.cancel() {
                // A receiver took it (or the channel closed) as we timed out.
                Ok(r) => r.map_err(Into::into),
                Err(v) => Err(SendTimeoutError::Timeout(v)),
            },
        }
    }

    /// Sends `v` only if that needs no waiting: a receiver is waiting or
    /// the buffer has room.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::chan::TrySendError;
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    /// ```
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        let v = match self.chan.try_send_fast(v) {
            Ok(()) => return Ok(()),
            // Full in fast mode: Go's lock-free `full()` check.
            Err((v, Miss::Settled)) => return Err(TrySendError::Full(v)),
            Err((v, Miss::Lock)) => v,
        };
        let r = {
            let mut st = self.chan.lock();
            // No waiter of its own: on an unbuffered channel the value is
            // handed over outright (a sender that detaches at once).
            self.chan
                .try_send_locked(&mut st, v, std::ptr::null(), std::ptr::null())
        };
        match r {
            Ok(Sent::Done(w) | Sent::InFlight(w)) => {
                if let Some(w) = w {
                    w.wake();
                }
                Ok(())
            }
            Err(SendFail::Full(v)) => Err(TrySendError::Full(v)),
            Err(SendFail::Closed(v)) => Err(TrySendError::Closed(v)),
        }
    }

    /// Closes the channel (Go's `close(ch)`): waiting receivers and senders
    /// wake; receivers drain the buffer, then get `None`. Returns `true` if
    /// this call closed it, `false` if it was closed already.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(2);
    /// tx.send_blocking(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!tx.close());
    /// assert_eq!(rx.recv_blocking(), Some(1));
    /// assert_eq!(rx.recv_blocking(), None);
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro::chan::<i32>(0);
    /// assert!(!tx.is_closed());
    /// tx.close();
    /// assert!(tx.is_closed());
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
    /// let before = tx.lock_acquisitions();
    /// for i in 0..8 {
    ///     tx.try_send(i).unwrap(); // room in the buffer: no lock
    /// }
    /// for i in 0..8 {
    ///     assert_eq!(rx.try_recv(), Ok(i)); // values buffered: no lock
    /// }
    /// assert_eq!(tx.lock_acquisitions(), before);
    /// tx.close(); // closing takes the lock
    /// assert!(tx.lock_acquisitions() > before);
    /// ```
    pub fn lock_acquisitions(&self) -> u64 {
        self.chan.lock_acquisitions()
    }

    /// How many values are buffered (Go's `len(ch)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro::chan::<i32>(4);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no value is buffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro::chan::<i32>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer size (Go's `cap(ch)`); 0 for unbuffered.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro::chan::<i32>(4);
    /// assert_eq!(tx.capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.cap
    }

    /// How many `Sender`s of this channel exist.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro::chan::<i32>(0);
    /// assert_eq!(tx.sender_count(), 1);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.sender_count()
    }

    /// How many `Receiver`s of this channel exist.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.receiver_count()
    }

    /// Whether the buffer is full (always true for an unbuffered channel).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro::chan::<i32>(1);
    /// tx.send_blocking(1).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.chan.is_full()
    }

    /// A [`WeakSender`](crate::chan::WeakSender) that does not keep the channel open.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// let weak = tx.downgrade();
    /// weak.upgrade().unwrap().send_blocking(1).unwrap();
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// assert_eq!(rx.recv_blocking(), Some(1));
    /// ```
    pub fn downgrade(&self) -> super::WeakSender<T> {
        super::WeakSender::new(self.chan.clone())
    }

    /// Whether `self` and `other` send on the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro::chan::<i32>(0);
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Sender::from_chan(self.chan.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Cancel a pending sink send before the channel may close.
        self.sink = None;
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("cap", &self.chan.cap)
            .field("closed", &self.chan.is_closed())
            .finish()
    }
}

/// The future of [`Sender::send`].
///
/// On an unbuffered channel it completes only once a receiver has taken
/// the value. Dropping it before it returned sends nothing: a value handed
/// to a receiver that has not taken it yet is taken back. The one window:
/// a receiver took the value after this future's last poll (the future
/// was woken to return `Ok`) and the future is dropped without being
/// polled again — then the value was delivered. `time::timeout(d,
/// tx.send(v))` has that window; a `select!` with a timer arm
/// (`select! { send(tx, v) => .., recv(after(d)) => .. }`) and
/// [`Sender::send_timeout`] have none.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let (tx, rx) = goro::chan::<u8>(0);
///     let h = goro::go(async move { rx.recv().await });
///     // Unbuffered: completes once the goroutine has taken the value.
///     tx.send(1).await.unwrap();
///     assert_eq!(h.await.unwrap(), Some(1));
/// });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Send<'a, T> {
    /// The send, with its own chosen word (unlinked by its drop before
    /// the word goes).
    pub(super) arm: SendArm<'a, T>,
    pub(super) at: &'static Location<'static>,
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send").field("at", &self.at).finish()
    }
}

impl<T> Send<'_, T> {
    /// Gives up: unlinks (taking the value back from a receiver it is in
    /// flight to) and returns the value, or `Ok(result)` if the send
    /// completed first.
    pub(crate) fn cancel(self: Pin<&mut Self>) -> Result<Result<(), SendError<T>>, T> {
        // SAFETY: `arm` and `sel` are never moved out; they stay pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: structural pinning of `arm`.
        let arm = unsafe { Pin::new_unchecked(&mut this.arm) };
        arm.cancel_single()
    }
}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `arm` and `sel` are never moved out; they stay pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: structural pinning of `arm`, as above.
        let arm = unsafe { Pin::new_unchecked(&mut this.arm) };
        poll_single(arm, cx, WaitReason::ChanSend, this.at)
    }
}
