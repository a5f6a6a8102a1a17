//! `Select`: a select over a number of arms known only at run time (Go's
//! `reflect.Select`), on the same driver as `select!` (see select.rs).

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Waker},
    time::{Duration, Instant},
};

use super::{
    arm::{Arm, NilArm, RecvArm, SendArm},
    error::SendError,
    receiver::Receiver,
    select::Driver,
    sender::Sender,
};
use crate::wait;

pub(super) type ArmVec<'a> = Vec<Pin<Box<dyn Arm + 'a>>>;

/// A select over a number of arms known only at run time (Go's
/// `reflect.Select`, crossbeam's `Select`). Add arms with
/// [`recv`](Select::recv) and [`send`](Select::send) — each returns the
/// arm's index — then run it with [`select`](Select::select),
/// [`select_blocking`](Select::select_blocking),
/// [`try_select`](Select::try_select) (which has a `default`),
/// [`select_timeout`](Select::select_timeout) or
/// [`select_deadline`](Select::select_deadline). Exactly one arm's
/// operation happens per run.
///
/// A `Select` can run many times. Receive arms stay as they are; a send
/// arm holds one value: once chosen it is spent and never fires again
/// (add a new arm), while a send arm that was not chosen keeps its value
/// for the next run; values still held are dropped with the `Select`.
/// [`remove`](Select::remove) takes an arm out (its index is not reused).
/// [`ready`](Select::ready) and friends only say which arm could proceed,
/// performing nothing.
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
/// // Reused: the next run picks the other arm.
/// tx1.send_blocking(1).unwrap();
/// let op = sel.select_blocking();
/// assert_eq!(op.index(), a);
/// assert_eq!(op.recv(&rx1), Some(1));
/// ```
pub struct Select<'a> {
    pub(super) arms: ArmVec<'a>,
    /// Per arm: its channel's address and whether it receives (null for a
    /// removed arm).
    ids: Vec<(*const (), bool)>,
}

// SAFETY: every arm is a `RecvArm`/`SendArm` over a `T: Send` (enforced by
// `recv`/`send`), or a `NilArm`, and those are `Send`; `ids` are addresses
// only compared.
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

/// The deadline of [`Select::select_timeout`], [`Select::select_deadline`]
/// or [`Select::ready_timeout`] passed with no arm ready.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let (_tx, rx) = goro::chan::<i32>(0);
/// let mut sel = goro::chan::Select::new();
/// sel.recv(&rx);
/// assert!(sel.select_timeout(Duration::from_millis(1)).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectTimeoutError;

impl fmt::Display for SelectTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting on select")
    }
}

impl std::error::Error for SelectTimeoutError {}

impl<'a> Select<'a> {
    /// An empty select (blocking on it forever is Go's `select {}`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut sel = goro::chan::Select::new();
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

    /// Adds an arm sending `v` on `tx`; returns its index. `v` is dropped
    /// with the `Select` if the arm is never chosen.
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

    /// Removes arm `index` (a send arm's value is dropped); the other arms
    /// keep their indices.
    ///
    /// # Panics
    ///
    /// If `index` is not an arm of this select or was removed already.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// tx.send_blocking(1).unwrap();
    /// let (_tx2, rx2) = goro::chan::<i32>(1);
    /// let mut sel = goro::chan::Select::new();
    /// let a = sel.recv(&rx);
    /// let b = sel.recv(&rx2);
    /// sel.remove(a);
    /// assert!(sel.try_select().is_none());
    /// # let _ = b;
    /// ```
    pub fn remove(&mut self, index: usize) {
        assert!(
            index < self.ids.len() && !self.ids[index].0.is_null(),
            "goro: Select::remove of an index that is not an arm"
        );
        self.arms[index] = Box::pin(NilArm);
        self.ids[index] = (std::ptr::null(), false);
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
    pub fn select(&mut self) -> SelectFut<'_, 'a> {
        self.run(false)
    }

    #[track_caller]
    fn run(&mut self, nonblocking: bool) -> SelectFut<'_, 'a> {
        SelectFut {
            driver: Driver::new(Some(&mut self.arms), nonblocking, Location::caller()),
            ids: &self.ids,
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
    pub fn select_blocking(&mut self) -> Selected<'_, 'a> {
        wait::block_on(self.select())
    }

    /// [`select_blocking`](Select::select_blocking) that gives up after
    /// `timeout`; then no arm's operation happened.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// let mut sel = goro::chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.select_timeout(Duration::from_millis(1)).is_err());
    /// tx.send_blocking(4).unwrap();
    /// let op = sel.select_timeout(Duration::from_secs(1)).unwrap();
    /// assert_eq!(op.recv(&rx), Some(4));
    /// ```
    #[track_caller]
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<Selected<'_, 'a>, SelectTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(d) => self.select_deadline(d),
            None => Ok(self.select_blocking()),
        }
    }

    /// [`select_blocking`](Select::select_blocking) that gives up at
    /// `deadline`; then no arm's operation happened.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, _rx) = goro::chan::<i32>(0);
    /// let mut sel = goro::chan::Select::new();
    /// sel.send(&tx, 1);
    /// let r = sel.select_deadline(Instant::now() + Duration::from_millis(1));
    /// assert!(r.is_err());
    /// ```
    #[track_caller]
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<Selected<'_, 'a>, SelectTimeoutError> {
        let mut fut = std::pin::pin!(self.select());
        match wait::block_on_deadline(fut.as_mut(), Some(deadline)) {
            Some(op) => Ok(op),
            None => fut.give_up().ok_or(SelectTimeoutError),
        }
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
    #[track_caller]
    pub fn try_select(&mut self) -> Option<Selected<'_, 'a>> {
        let mut fut = std::pin::pin!(self.run(true));
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
pub struct SelectFut<'s, 'a> {
    driver: Driver<Option<&'s mut ArmVec<'a>>>,
    ids: &'s [(*const (), bool)],
}

// SAFETY: as for `Select`.
unsafe impl std::marker::Send for SelectFut<'_, '_> {}

impl fmt::Debug for SelectFut<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFut")
            .field("stage", &self.driver.stage)
            .finish()
    }
}

impl<'s, 'a> SelectFut<'s, 'a> {
    fn poll_inner(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Selected<'s, 'a>>> {
        // SAFETY: the driver is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: pinned, see above.
        match unsafe { this.driver.poll(cx) } {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(index)) => Poll::Ready(Some(this.selected(index))),
        }
    }

    fn selected(&mut self, index: usize) -> Selected<'s, 'a> {
        Selected {
            arms: self.driver.arms.take().expect("goro: select arms taken"),
            ids: self.ids,
            index,
            taken: false,
        }
    }

    /// A timed select's deadline passed: cancel, unless an arm completed
    /// first (then it is returned).
    fn give_up(self: Pin<&mut Self>) -> Option<Selected<'s, 'a>> {
        // SAFETY: as in `poll_inner`.
        let this = unsafe { self.get_unchecked_mut() };
        let i = this.driver.give_up()?;
        Some(this.selected(i))
    }
}

impl<'s, 'a> Future for SelectFut<'s, 'a> {
    type Output = Selected<'s, 'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Selected<'s, 'a>> {
        match self.poll_inner(cx) {
            Poll::Ready(Some(s)) => Poll::Ready(s),
            Poll::Ready(None) => unreachable!("goro: blocking select without an arm"),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The arm a [`Select`] chose, holding its result: take it with
/// [`recv`](Selected::recv) or [`send`](Selected::send), passing the same
/// channel end the arm was made with. Dropped untaken, a received value
/// goes back to its channel.
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
pub struct Selected<'s, 'a> {
    arms: &'s mut ArmVec<'a>,
    ids: &'s [(*const (), bool)],
    index: usize,
    taken: bool,
}

// SAFETY: as for `Select`.
unsafe impl std::marker::Send for Selected<'_, '_> {}

impl fmt::Debug for Selected<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selected")
            .field("index", &self.index)
            .finish()
    }
}

impl Drop for Selected<'_, '_> {
    fn drop(&mut self) {
        if !self.taken {
            self.arms[self.index].as_mut().reset();
        }
    }
}

impl<'s, 'a> Selected<'s, 'a> {
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
        self.taken = true;
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
        self.taken = true;
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
