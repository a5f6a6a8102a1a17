//! `Select`: a select over a number of arms known only at run time (Go's
//! `reflect.Select`), on the same driver as `select!` (see select.rs).

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Waker},
};

use super::{
    arm::{Arm, RecvArm, SendArm},
    error::SendError,
    receiver::Receiver,
    select::Driver,
    sender::Sender,
};
use crate::wait;

/// A select over a number of arms known only at run time (Go's
/// `reflect.Select`). Add arms with [`recv`](Select::recv) and
/// [`send`](Select::send) — each returns the arm's index — then run it
/// once with [`select`](Select::select), [`select_blocking`](Select::select_blocking)
/// or [`try_select`](Select::try_select) (which has a `default`). Exactly
/// one arm's operation happens; the values of send arms that were not
/// chosen are dropped.
///
/// # Examples
///
/// ```
/// use goro::chan::Select;
/// let (tx1, rx1) = goro::chan::<i32>(1);
/// let (tx2, rx2) = goro::chan::<&str>(1);
/// tx2.send_blocking("two").unwrap();
///
/// let mut sel = Select::new();
/// let a = sel.recv(&rx1);
/// let b = sel.recv(&rx2);
/// let op = sel.select_blocking();
/// assert_eq!(op.index(), b);
/// assert_eq!(op.recv(&rx2), Some("two"));
/// # let _ = (a, tx1);
/// ```
pub struct Select<'a> {
    arms: Vec<Pin<Box<dyn Arm + 'a>>>,
    /// Per arm: its channel's address and whether it receives.
    ids: Vec<(*const (), bool)>,
}

// SAFETY: every arm is a `RecvArm`/`SendArm` over a `T: Send` (enforced by
// `recv`/`send`), and those are `Send`; `ids` are addresses only compared.
unsafe impl std::marker::Send for Select<'_> {}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("arms", &self.arms.len())
            .finish()
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl<'a> Select<'a> {
    /// An empty select (blocking on it forever is Go's `select {}`).
    ///
    /// # Examples
    ///
    /// ```
    /// let sel = goro::chan::Select::new();
    /// assert!(sel.try_select().is_none());
    /// ```
    pub fn new() -> Self {
        Select {
            arms: Vec::new(),
            ids: Vec::new(),
        }
    }

    /// Adds an arm receiving from `rx`; returns its index.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = goro::chan::<i32>(0);
    /// let mut sel = goro::chan::Select::new();
    /// assert_eq!(sel.recv(&rx), 0);
    /// ```
    pub fn recv<T: std::marker::Send + 'a>(&mut self, rx: &'a Receiver<T>) -> usize {
        // SAFETY: `rx` is borrowed for `'a`, the arm's lifetime.
        self.arms
            .push(Box::pin(unsafe { RecvArm::new(Arc::as_ptr(&rx.chan)) }));
        self.ids.push((Arc::as_ptr(&rx.chan) as *const (), true));
        self.arms.len() - 1
    }

    /// Adds an arm sending `v` on `tx`; returns its index. `v` is dropped if
    /// another arm is chosen.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// let mut sel = goro::chan::Select::new();
    /// let i = sel.send(&tx, 5);
    /// let op = sel.select_blocking();
    /// assert_eq!(op.index(), i);
    /// assert_eq!(op.send(&tx), Ok(()));
    /// assert_eq!(rx.recv_blocking(), Some(5));
    /// ```
    pub fn send<T: std::marker::Send + 'a>(&mut self, tx: &'a Sender<T>, v: T) -> usize {
        // SAFETY: `tx` is borrowed for `'a`, the arm's lifetime.
        self.arms
            .push(Box::pin(unsafe { SendArm::new(Arc::as_ptr(&tx.chan), v) }));
        self.ids.push((Arc::as_ptr(&tx.chan) as *const (), false));
        self.arms.len() - 1
    }

    /// Waits until one arm's operation happens.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// std::thread::spawn(move || tx.send_blocking(1).unwrap());
    /// let mut sel = goro::chan::Select::new();
    /// sel.recv(&rx);
    /// let op = futures::executor::block_on(sel.select());
    /// assert_eq!(op.recv(&rx), Some(1));
    /// ```
    #[track_caller]
    pub fn select(self) -> SelectFut<'a> {
        SelectFut {
            driver: Driver::new(self.arms, false, Location::caller()),
            ids: self.ids,
        }
    }

    /// [`select`](Select::select), parking the thread while it waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// let mut sel = goro::chan::Select::new();
    /// sel.send(&tx, 1);
    /// assert_eq!(sel.select_blocking().index(), 0);
    /// ```
    #[track_caller]
    pub fn select_blocking(self) -> Selected<'a> {
        wait::block_on(self.select())
    }

    /// Performs a ready arm's operation if there is one (else `None`: Go's
    /// `default`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// let mut sel = goro::chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.try_select().is_none());
    /// ```
    pub fn try_select(self) -> Option<Selected<'a>> {
        let fut = SelectFut {
            driver: Driver::new(self.arms, true, Location::caller()),
            ids: self.ids,
        };
        let mut fut = std::pin::pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        match fut.as_mut().poll_inner(&mut cx) {
            Poll::Ready(r) => r,
            Poll::Pending => unreachable!("goro: non-blocking select pending"),
        }
    }
}

/// The future of [`Select::select`].
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let (tx, rx) = goro::chan::<i32>(1);
///     goro::go(async move { tx.send(5).await.unwrap() });
///     let mut sel = goro::chan::Select::new();
///     sel.recv(&rx);
///     let chosen = sel.select().await; // a SelectFut
///     assert_eq!(chosen.recv(&rx), Some(5));
/// });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SelectFut<'a> {
    driver: Driver<Vec<Pin<Box<dyn Arm + 'a>>>>,
    ids: Vec<(*const (), bool)>,
}

// SAFETY: as for `Select`.
unsafe impl std::marker::Send for SelectFut<'_> {}

impl fmt::Debug for SelectFut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFut")
            .field("stage", &self.driver.stage)
            .finish()
    }
}

impl<'a> SelectFut<'a> {
    fn poll_inner(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Selected<'a>>> {
        // SAFETY: the driver is never moved out of the pinned future until
        // it has finished (then nothing points at it).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: pinned, see above.
        match unsafe { this.driver.poll(cx) } {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(index)) => Poll::Ready(Some(Selected {
                arms: std::mem::take(&mut this.driver.arms),
                ids: std::mem::take(&mut this.ids),
                index,
            })),
        }
    }
}

impl<'a> Future for SelectFut<'a> {
    type Output = Selected<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Selected<'a>> {
        match self.poll_inner(cx) {
            Poll::Ready(Some(s)) => Poll::Ready(s),
            Poll::Ready(None) => unreachable!("goro: blocking select without an arm"),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The arm a [`Select`] chose, holding its result: take it with
/// [`recv`](Selected::recv) or [`send`](Selected::send), passing the same
/// channel end the arm was made with.
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<i32>(1);
/// let (_tx2, rx2) = goro::chan::<i32>(1);
/// tx.send_blocking(3).unwrap();
/// let mut sel = goro::chan::Select::new();
/// let first = sel.recv(&rx);
/// let _second = sel.recv(&rx2);
/// let chosen = sel.select_blocking();
/// assert_eq!(chosen.index(), first);
/// assert_eq!(chosen.recv(&rx), Some(3));
/// ```
pub struct Selected<'a> {
    arms: Vec<Pin<Box<dyn Arm + 'a>>>,
    ids: Vec<(*const (), bool)>,
    index: usize,
}

// SAFETY: as for `Select`.
unsafe impl std::marker::Send for Selected<'_> {}

impl fmt::Debug for Selected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selected")
            .field("index", &self.index)
            .finish()
    }
}

impl<'a> Selected<'a> {
    /// The index of the chosen arm.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro::chan::<i32>(1);
    /// let mut sel = goro::chan::Select::new();
    /// sel.send(&tx, 1);
    /// assert_eq!(sel.try_select().unwrap().index(), 0);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// The result of the chosen receive arm: the value, or `None` if the
    /// channel is closed and drained.
    ///
    /// # Panics
    ///
    /// If the chosen arm is not a receive from `rx`'s channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// drop(tx);
    /// let mut sel = goro::chan::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.try_select().unwrap().recv(&rx), None);
    /// ```
    pub fn recv<T>(mut self, rx: &Receiver<T>) -> Option<T> {
        let id = (Arc::as_ptr(&rx.chan) as *const (), true);
        assert!(
            self.ids[self.index] == id,
            "goro: Selected::recv with a receiver that is not the chosen arm's"
        );
        let arm = self.arms[self.index].as_mut();
        // SAFETY: arm `index` was built by `Select::recv` on this very
        // channel object (same address, receiving): it is a
        // `RecvArm<'a, T>` for this `T`. The pin is kept.
        let arm = unsafe {
            Pin::new_unchecked(
                &mut *(Pin::get_unchecked_mut(arm) as *mut (dyn Arm + 'a) as *mut RecvArm<'a, T>),
            )
        };
        arm.take_out().expect("goro: chosen arm without a result")
    }

    /// The result of the chosen send arm: `Err` with the value if the
    /// channel was closed.
    ///
    /// # Panics
    ///
    /// If the chosen arm is not a send on `tx`'s channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// drop(rx);
    /// let mut sel = goro::chan::Select::new();
    /// sel.send(&tx, 3);
    /// let op = sel.try_select().unwrap();
    /// assert_eq!(op.send(&tx), Err(goro::chan::SendError(3)));
    /// ```
    pub fn send<T>(mut self, tx: &Sender<T>) -> Result<(), SendError<T>> {
        let id = (Arc::as_ptr(&tx.chan) as *const (), false);
        assert!(
            self.ids[self.index] == id,
            "goro: Selected::send with a sender that is not the chosen arm's"
        );
        let arm = self.arms[self.index].as_mut();
        // SAFETY: as in `recv`, for `Select::send`'s `SendArm<'a, T>`.
        let arm = unsafe {
            Pin::new_unchecked(
                &mut *(Pin::get_unchecked_mut(arm) as *mut (dyn Arm + 'a) as *mut SendArm<'a, T>),
            )
        };
        arm.take_out().expect("goro: chosen arm without a result")
    }
}
