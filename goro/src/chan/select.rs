//! `select`: perform exactly one of several channel operations.
//!
//! # Protocol (crossbeam's, on Go's passes)
//!
//! Pass 1 — in a uniformly random order (Fisher-Yates with
//! `crate::rand::below`, as Go shuffles `pollorder`), try each arm without
//! waiting, one channel lock at a time. The first that completes is the
//! select's operation. Nothing is registered yet, so nobody else can choose
//! for us. With a `default`, stop here.
//!
//! Pass 2 — link one waiter per arm, all sharing one [`Selection`] word.
//! Each arm first checks, under its channel lock, whether its operation
//! became ready since pass 1; if so the select aborts (CAS `WAITING →
//! ABORTED`), unlinks what it linked, and starts again at pass 1. If the CAS
//! fails, a channel already chose one of our arms: go to pass 3.
//!
//! Pass 3 — wait until the word says `DONE(i)` (a channel won the word for
//! arm `i` by CAS, completed the operation on that arm's waiter — wrote the
//! value into a receive arm, or took the value out of a send arm — and
//! unlinked it). Then unlink the other arms, one channel lock at a time.
//!
//! In flight (unbuffered send arms): when pass 1 finds a receiver waiting
//! for a send arm, the value moves into that receiver's waiter and the
//! select's word becomes `INFLIGHT(i)` — nothing else is registered. The
//! select waits until the receiver takes the value (`DONE(i)`: the select
//! returns arm `i`) or is cancelled and gives it back (`WAITING`, and a
//! wake: the select starts over at pass 1, free to choose another arm).
//!
//! Why not lock every channel at once, like Go's `sellock`? It needs the
//! locks sorted and held together, and every blocked operation would hold
//! several; the chosen word gives the same single winner with one lock at a
//! time.
//!
//! Pass 2 registers the arms in a fresh random order (Go enqueues in its
//! shuffled lock order): a peer completes the first waiter of a queue, so
//! a fixed order would favour the first arm on a channel once the select
//! blocks.
//!
//! Dropping a select mid-way: CAS `WAITING → ABORTED` and unlink; if a
//! channel won first, the operation happened — a received value is given
//! back (to its sender if in flight, else to its channel's front), a sent
//! one stays sent. Dropped in flight, the send arm takes its value back
//! from the receiver (nothing was sent). If a waker clone panics during
//! pass 1 or 2, the same cancellation runs before the panic leaves the
//! poll, so no arm stays linked to the select's word.

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    task::{Context, Poll, Waker},
    time::Duration,
};

use super::{
    arm::{self, Arm, Now, RecvArm, Reg, SendArm, Woke},
    waiter::{Selection, Status},
};
use crate::wait::{self, WaitReason};

/// A type-erased, pinned arm (used by the `select!` macros).
#[doc(hidden)]
pub struct ArmRef<'a>(Pin<&'a mut (dyn Arm + std::marker::Send + 'a)>);

impl fmt::Debug for ArmRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArmRef")
    }
}

impl<'p> ArmRef<'p> {
    /// Erases a receive arm.
    pub fn recv<'c: 'p, T: std::marker::Send + 'p>(arm: Pin<&'p mut RecvArm<'c, T>>) -> Self {
        ArmRef(arm)
    }

    /// Erases a send arm.
    pub fn send<'c: 'p, T: std::marker::Send + 'p>(arm: Pin<&'p mut SendArm<'c, T>>) -> Self {
        ArmRef(arm)
    }
}

/// Indexed access to a select's arms.
pub(crate) trait Arms {
    fn count(&self) -> usize;
    fn arm(&mut self, i: usize) -> Pin<&mut dyn Arm>;
}

impl<'a, const N: usize> Arms for [ArmRef<'a>; N] {
    fn count(&self) -> usize {
        N
    }
    fn arm(&mut self, i: usize) -> Pin<&mut dyn Arm> {
        self[i].0.as_mut()
    }
}

/// A `Select`'s arms, lent to one run (`None` once handed to `Selected`).
impl<'a> Arms for Option<&mut Vec<Pin<Box<dyn Arm + 'a>>>> {
    fn count(&self) -> usize {
        self.as_ref().map_or(0, |v| v.len())
    }
    fn arm(&mut self, i: usize) -> Pin<&mut dyn Arm> {
        self.as_mut().expect("goro: select arms taken")[i].as_mut()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Start,
    Waiting,
    /// Pass 1 put this send arm's value in flight to a receiver.
    InFlight(usize),
    Finished,
}

/// The select state machine over some arms: which arm fired (`None`: none
/// was ready and the select is non-blocking).
pub(crate) struct Driver<A: Arms> {
    pub(super) arms: A,
    sel: Selection,
    pub(super) stage: Stage,
    waker: Option<Waker>,
    nonblocking: bool,
    at: &'static Location<'static>,
}

/// Calls `f` on `0..n` in a uniformly random order until it returns true.
fn shuffled(n: usize, mut f: impl FnMut(usize) -> bool) -> Option<usize> {
    const INLINE: usize = 32;
    let mut inline = [0u32; INLINE];
    let mut heap = Vec::new();
    let order: &mut [u32] = if n <= INLINE {
        &mut inline[..n]
    } else {
        heap.resize(n, 0);
        &mut heap
    };
    // Inside-out Fisher-Yates, as Go builds `pollorder`.
    for i in 0..n {
        // Under loom every run must be deterministic: a fixed order.
        #[cfg(loom)]
        let j = 0;
        #[cfg(not(loom))]
        let j = crate::rand::below(i as u32 + 1) as usize;
        order[i] = order[j];
        order[j] = i as u32;
    }
    order.iter().map(|&i| i as usize).find(|&i| f(i))
}

impl<A: Arms> Driver<A> {
    pub(crate) fn new(arms: A, nonblocking: bool, at: &'static Location<'static>) -> Self {
        Driver {
            arms,
            sel: Selection::new(),
            stage: Stage::Start,
            waker: None,
            nonblocking,
            at,
        }
    }

    /// Unlinks every arm except `keep`.
    fn unregister_all(&mut self, keep: Option<usize>) {
        for j in 0..self.arms.count() {
            if Some(j) != keep {
                self.arms.arm(j).unregister();
            }
        }
    }

    /// Passes 1 and 2. `Some(r)` ends the poll.
    fn start(&mut self, cx: &mut Context<'_>) -> Option<Poll<Option<usize>>> {
        let n = self.arms.count();
        loop {
            if n == 0 {
                if self.nonblocking {
                    self.stage = Stage::Finished;
                    return Some(Poll::Ready(None));
                }
                wait::record(WaitReason::SelectNoCases, self.at);
                return Some(Poll::Pending);
            }
            // Pass 1.
            let arms = &mut self.arms;
            let wait = (!self.nonblocking).then_some((&self.sel, cx.waker()));
            let mut in_flight = false;
            let found = shuffled(n, |i| {
                match arms.arm(i).try_now(wait.map(|(s, w)| (s, i, w))) {
                    Now::Done => true,
                    Now::InFlight => {
                        in_flight = true;
                        true
                    }
                    Now::NotReady => false,
                }
            });
            if let Some(i) = found {
                if in_flight {
                    self.waker = Some(cx.waker().clone());
                    self.stage = Stage::InFlight(i);
                    wait::record(WaitReason::Select, self.at);
                    return Some(Poll::Pending);
                }
                self.stage = Stage::Finished;
                return Some(Poll::Ready(Some(i)));
            }
            if self.nonblocking {
                self.stage = Stage::Finished;
                return Some(Poll::Ready(None));
            }
            // Pass 2, in a fresh random order: the first waiter in a
            // queue is the first a peer completes, so a fixed order would
            // favour the first arm once the select blocks (Go locks and
            // enqueues in its shuffled order too).
            self.sel.reset();
            let (arms, sel, waker) = (&mut self.arms, &self.sel, cx.waker());
            let ready = shuffled(n, |i| arms.arm(i).register(sel, i, waker) == Reg::Ready);
            let mut restart = false;
            if ready.is_some() && self.sel.abort().is_ok() {
                self.unregister_all(None);
                restart = true;
            }
            // Else, if an arm was ready, a channel chose one of ours first:
            // pass 3 finds it.
            if restart {
                continue;
            }
            self.waker = Some(cx.waker().clone());
            self.stage = Stage::Waiting;
            return None;
        }
    }

    /// One poll. The driver must be pinned: waiters point at `sel`.
    ///
    /// # Safety
    ///
    /// `self` stays at this address until dropped (it is pinned).
    pub(crate) unsafe fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        // A select loop that always finds an arm ready (a closed channel,
        // a fast producer) must still yield its worker.
        std::task::ready!(crate::runtime::context::poll_proceed(cx));
        loop {
            match self.stage {
                Stage::Start => {
                    // If a waker clone panics half way, nothing of this
                    // select may stay linked (or in flight): the guard
                    // cancels what was registered and leaves `Start`.
                    let guard = Unwind(self);
                    let r = guard.0.start(cx);
                    std::mem::forget(guard);
                    if let Some(r) = r {
                        return r;
                    }
                }
                Stage::Waiting => {
                    let mut b = Blocked {
                        arms: &mut self.arms,
                        waker: &mut self.waker,
                        in_flight: None,
                    };
                    match arm::wait(&mut b, &self.sel, cx, WaitReason::Select, self.at) {
                        Woke::Pending => return Poll::Pending,
                        Woke::Done(i) => {
                            self.unregister_all(Some(i));
                            if !self.arms.arm(i).finish() {
                                // A receive whose sender took its value back:
                                // nothing happened, start over.
                                self.stage = Stage::Start;
                                continue;
                            }
                            self.stage = Stage::Finished;
                            return Poll::Ready(Some(i));
                        }
                        Woke::Other(_) => {
                            unreachable!("goro: select aborted or in flight while waiting")
                        }
                    }
                }
                Stage::InFlight(i) => {
                    let mut b = Blocked {
                        arms: &mut self.arms,
                        waker: &mut self.waker,
                        in_flight: Some(i),
                    };
                    match arm::wait(&mut b, &self.sel, cx, WaitReason::Select, self.at) {
                        Woke::Pending => return Poll::Pending,
                        Woke::Done(j) => {
                            let sent = self.arms.arm(j).finish();
                            debug_assert!(sent, "goro: a send arm always finishes");
                            self.stage = Stage::Finished;
                            return Poll::Ready(Some(j));
                        }
                        // The receiver was cancelled and gave the value back:
                        // start over (another arm may be ready now).
                        Woke::Other(Status::Waiting) => {
                            self.arms.arm(i).unregister();
                            self.stage = Stage::Start;
                        }
                        Woke::Other(_) => unreachable!("goro: select in flight aborted"),
                    }
                }
                Stage::Finished => panic!("goro: select polled after completion"),
            }
        }
    }
}

/// A waiting select as [`arm::Blocked`]: every arm is linked (`Waiting`),
/// or one send arm's value is in flight and nothing else is registered.
struct Blocked<'d, A: Arms> {
    arms: &'d mut A,
    /// The waker the arms hold.
    waker: &'d mut Option<Waker>,
    in_flight: Option<usize>,
}

impl<A: Arms> arm::Blocked for Blocked<'_, A> {
    fn waiting(&self, s: Status) -> bool {
        match self.in_flight {
            None => s == Status::Waiting,
            Some(_) => matches!(s, Status::InFlight(_)),
        }
    }

    fn wait_claimed(&mut self, i: usize) {
        assert!(self.in_flight.is_none(), "goro: select in flight claimed");
        self.arms.arm(i).wait_claimed();
    }

    /// Refreshes only if the waker changed; then the caller looks again
    /// (once: `will_wake` may never be true for some wakers).
    fn refresh(&mut self, waker: &Waker) -> bool {
        if self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return false;
        }
        match self.in_flight {
            Some(i) => self.arms.arm(i).refresh(waker),
            None => {
                for i in 0..self.arms.count() {
                    self.arms.arm(i).refresh(waker);
                }
            }
        }
        *self.waker = Some(waker.clone());
        true
    }
}

impl<A: Arms> Driver<A> {
    /// Gives up: CAS `WAITING → ABORTED` and unlinks every arm. If a
    /// channel won first, the operation happened and is undone where it
    /// can be: a received value goes back (to its sender if in flight, else
    /// to its channel's front); a send arm in flight takes its value back;
    /// a sent value that a receiver took stays sent.
    fn cancel(&mut self) {
        let mut status = self.sel.abort();
        loop {
            match status {
                Err(Status::Claimed(i)) => {
                    self.arms.arm(i).wait_claimed();
                    status = Err(self.sel.status());
                }
                _ => {
                    self.unregister_all(None);
                    return;
                }
            }
        }
    }
}

impl<A: Arms> Driver<A> {
    /// Gives up waiting (a timed select's deadline passed), unless an arm
    /// completed first: then that arm's index, its result collected, as if
    /// the last poll had returned it. So a timed-out select did nothing,
    /// and a select that did something says which.
    pub(crate) fn give_up(&mut self) -> Option<usize> {
        match self.stage {
            Stage::Waiting => {
                self.stage = Stage::Finished;
                let mut status = self.sel.abort();
                loop {
                    match status {
                        Err(Status::Claimed(i)) => {
                            self.arms.arm(i).wait_claimed();
                            status = Err(self.sel.status());
                        }
                        Err(Status::Done(i)) => {
                            self.unregister_all(Some(i));
                            // `false`: a receive whose sender took its value
                            // back; nothing happened.
                            return self.arms.arm(i).finish().then_some(i);
                        }
                        _ => {
                            self.unregister_all(None);
                            return None;
                        }
                    }
                }
            }
            Stage::InFlight(_) => {
                self.stage = Stage::Finished;
                // Takes the value back, unless the receiver took it first.
                self.unregister_all(None);
                match self.sel.status() {
                    Status::Done(j) => self.arms.arm(j).finish().then_some(j),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// Cancels a select whose pass 1 or 2 unwinds (a panicking waker clone),
/// so that no arm stays linked to it; it stays at `Start`.
struct Unwind<'d, A: Arms>(&'d mut Driver<A>);

impl<A: Arms> Drop for Unwind<'_, A> {
    fn drop(&mut self) {
        self.0.cancel();
        self.0.stage = Stage::Start;
    }
}

impl<A: Arms> Drop for Driver<A> {
    fn drop(&mut self) {
        if let Stage::Waiting | Stage::InFlight(_) = self.stage {
            self.stage = Stage::Finished;
            self.cancel();
        }
    }
}

/// The future behind `select!` (N fixed arms, pinned by the macro).
#[doc(hidden)]
#[must_use = "futures do nothing unless polled"]
pub struct SelectFuture<'a, const N: usize> {
    driver: Driver<[ArmRef<'a>; N]>,
    /// `default(timeout)`: how long to wait before the default runs.
    timeout: Option<Duration>,
    /// The timer of `timeout` when awaited (armed on the first poll).
    sleep: Option<crate::time::Sleep>,
}

impl<const N: usize> fmt::Debug for SelectFuture<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFuture")
            .field("stage", &self.driver.stage)
            .field("at", &self.driver.at)
            .finish()
    }
}

impl<'a, const N: usize> SelectFuture<'a, N> {
    /// A select over `arms`; with `nonblocking`, it has a `default`.
    #[track_caller]
    pub fn new(arms: [ArmRef<'a>; N], nonblocking: bool) -> Self {
        SelectFuture {
            driver: Driver::new(arms, nonblocking, Location::caller()),
            timeout: None,
            sleep: None,
        }
    }

    /// A select over `arms` with a `default(timeout)` arm: it waits up to
    /// `timeout` for an arm, then resolves to `None` (the default runs).
    #[track_caller]
    pub fn with_timeout(arms: [ArmRef<'a>; N], timeout: Duration) -> Self {
        SelectFuture {
            driver: Driver::new(arms, false, Location::caller()),
            timeout: Some(timeout),
            sleep: None,
        }
    }

    /// Drives the select on this thread (`select_blocking!`), up to its
    /// timeout if it has one.
    pub fn block(self) -> Option<usize> {
        let mut this = std::pin::pin!(self);
        let Some(t) = this.timeout else {
            return crate::wait::block_on(this);
        };
        let deadline = std::time::Instant::now().checked_add(t);
        // SAFETY: the driver is never moved out of the pinned future.
        let d = unsafe { &mut this.as_mut().get_unchecked_mut().driver };
        // SAFETY: pinned, see above.
        let fut = std::future::poll_fn(|cx| unsafe { d.poll(cx) });
        match crate::wait::block_on_deadline(std::pin::pin!(fut), deadline) {
            Some(r) => r,
            // Nothing by the deadline: unless an arm completed just now,
            // the default runs.
            None => d.give_up(),
        }
    }
}

impl<const N: usize> Future for SelectFuture<'_, N> {
    type Output = Option<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        // SAFETY: the driver is never moved out of the pinned future.
        let this = unsafe { self.get_unchecked_mut() };
        if let Some(t) = this.timeout {
            if this.sleep.is_none() {
                this.sleep = Some(crate::time::sleep(t));
            }
        }
        // SAFETY: pinned, see above.
        if let Poll::Ready(r) = unsafe { this.driver.poll(cx) } {
            return Poll::Ready(r);
        }
        match this.sleep.as_mut() {
            Some(sleep) => match Pin::new(sleep).poll(cx) {
                Poll::Ready(()) => Poll::Ready(this.driver.give_up()),
                Poll::Pending => Poll::Pending,
            },
            None => Poll::Pending,
        }
    }
}
