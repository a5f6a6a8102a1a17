//! [`SendArm`]: a send on one channel; the value waits in the waiter's
//! slot. On an unbuffered channel the value may go in flight to a receiver
//! (the two-phase rendezvous), and a send arm dropped in flight takes it
//! back (see `mod.rs`, "Cancellation").

use std::{marker::PhantomData, pin::Pin, ptr, task::Waker};

use super::{Arm, Now, Reg, Single, Start};
use crate::chan::{
    core::{Chan, Miss, SendFail, Sent, State},
    error::SendError,
    waiter::{Queue, Selection, Status, Waiter},
};

/// A send on one channel; the value waits in the waiter's slot.
#[derive(Debug)]
pub struct SendArm<'a, T> {
    /// Borrowed for `'a` (a raw pointer so that `T` need not outlive `'a`:
    /// a `Receiver`'s own stream arm borrows the channel it owns).
    chan: *const Chan<T>,
    _borrow: PhantomData<&'a ()>,
    waiter: Waiter<T>,
    /// (a plain `send`) The operation's chosen word; a select's arms share
    /// the select's instead. Here, not beside the arm, because it fits in
    /// the arm's padding.
    sel: Selection,
    registered: bool,
    /// (a plain `send`) Started: see [`Single::started`].
    started: bool,
    out: Option<Result<(), SendError<T>>>,
}

/// What a send attempt under the lock did; each carries the waker of the
/// receiver it chose, if any.
enum SendNow<T> {
    Done(Result<(), SendError<T>>, Option<Waker>),
    InFlight(Option<Waker>),
    Full,
}

// SAFETY: as for `RecvArm`.
unsafe impl<T: Send> Send for SendArm<'_, T> {}

impl<'a, T> SendArm<'a, T> {
    /// # Safety
    ///
    /// `chan` stays valid for `'a`.
    pub(crate) unsafe fn new(chan: *const Chan<T>, value: T) -> Self {
        let waiter = Waiter::new();
        // SAFETY: never linked: the owner alone reaches it.
        unsafe { waiter.with(|n| n.slot = Some(value)) };
        SendArm {
            chan,
            _borrow: PhantomData,
            waiter,
            sel: Selection::new(),
            registered: false,
            started: false,
            out: None,
        }
    }

    /// The channel, for as long as the arm lives.
    fn ch<'x>(&self) -> &'x Chan<T> {
        // SAFETY: `new`'s contract: the channel outlives the arm; callers
        // use the reference only while the arm is alive.
        unsafe { &*self.chan }
    }

    fn project(self: Pin<&mut Self>) -> &mut Self {
        // SAFETY: as for RecvArm::project.
        unsafe { self.get_unchecked_mut() }
    }

    pub(crate) fn take_out(self: Pin<&mut Self>) -> Option<Result<(), SendError<T>>> {
        self.project().out.take()
    }

    pub(crate) fn has_out(&self) -> bool {
        self.out.is_some()
    }

    /// Whether the value is gone (sent, or handed back in a result): only
    /// asked while the arm is not registered.
    fn spent(&self) -> bool {
        // SAFETY: not registered: the waiter is unlinked, not in flight,
        // and out of every channel's reach.
        !self.registered && unsafe { self.waiter.with(|n| n.slot.is_none()) }
    }

    /// Takes the value out of the (unlinked) waiter.
    fn take_value(&mut self) -> Option<T> {
        // SAFETY: only called while the waiter is unlinked and unreachable
        // by any channel (never linked, or unlinked under the lock).
        unsafe { self.waiter.with(|n| n.slot.take()) }
    }

    fn put_value(&mut self, v: T) {
        // SAFETY: as for take_value.
        unsafe { self.waiter.with(|n| n.slot = Some(v)) };
    }

    /// Tries to send under `st`; puts the value back on `Full`. With
    /// `wait` (`(sel, arm, waker, single)`), an unbuffered channel's hand-off
    /// goes in flight: the arm stays registered until the receiver takes
    /// the value or gives it back.
    fn try_locked(
        &mut self,
        st: &mut State<T>,
        wait: Option<(&Selection, usize, &Waker, bool)>,
    ) -> SendNow<T> {
        let Some(v) = self.take_value() else {
            return SendNow::Full;
        };
        let mut from = ptr::null();
        if let Some((sel, arm, _, single)) = wait {
            if self.ch().cap == 0 {
                // SAFETY: lock held; the waiter is unlinked.
                unsafe {
                    self.waiter.with(|n| {
                        n.set_arm(sel, arm);
                        n.single = single;
                    })
                };
                from = &self.waiter as *const Waiter<T>;
            }
        }
        match self.ch().try_send_locked(st, v, ptr::null(), from) {
            Ok(Sent::Done(w)) => SendNow::Done(Ok(()), w),
            Ok(Sent::InFlight(w)) => {
                let waker = wait
                    .map(|(_, _, w, _)| w)
                    .expect("goro: in flight without a waker");
                // Registered first: if cloning the waker panics, dropping
                // the arm still takes the value back from the receiver.
                self.registered = true;
                // SAFETY: lock held; in flight, reached only under it.
                unsafe { self.waiter.with(|n| n.waker.update(waker)) };
                SendNow::InFlight(w)
            }
            Err(SendFail::Closed(v)) => SendNow::Done(Err(SendError(v)), None),
            Err(SendFail::Full(v)) => {
                self.put_value(v);
                SendNow::Full
            }
        }
    }

    /// Sends into the channel's ring without the lock while nobody waits
    /// (ring.rs): `Ok(Ok(()))` if it did; `Err` (the value kept) if the
    /// lock must decide, or [`Miss::Settled`] if the channel was full.
    #[inline]
    fn try_fast(&mut self) -> Result<Result<(), SendError<T>>, Miss> {
        if self.registered || self.ch().cap == 0 {
            return Err(Miss::Lock);
        }
        let v = self.take_value().ok_or(Miss::Lock)?;
        match self.ch().try_send_fast(v) {
            Ok(()) => Ok(Ok(())),
            Err((v, miss)) => {
                self.put_value(v);
                Err(miss)
            }
        }
    }

    /// # Safety
    ///
    /// `q` is this arm's channel's `sendq`, its lock is held, and `self` is
    /// pinned.
    unsafe fn link(&mut self, q: &mut Queue<T>, sel: &Selection, arm: usize, waker: &Waker) {
        // SAFETY: lock held (caller); the waiter is unlinked.
        unsafe {
            self.waiter.with(|n| {
                n.set_arm(sel, arm);
                n.waker.update(waker);
            });
            q.push_back(&self.waiter);
        }
        self.registered = true;
    }

    /// A plain send gives up (`send_timeout`): unlinks, taking its value
    /// back if it is in flight, and returns it — or `Ok(result)` if a
    /// channel completed the send first (the unlink waited for its lock,
    /// so no completion is half done).
    pub(crate) fn cancel_single(mut self: Pin<&mut Self>) -> Result<Result<(), SendError<T>>, T> {
        self.as_mut().project().unlink();
        if let Status::Done(_) = self.sel.status() {
            return Ok(self.take_result());
        }
        match self.project().take_value() {
            Some(v) => Err(v),
            None => unreachable!("goro: cancelled send without its value"),
        }
    }

    /// After `DONE`: `Ok` if a receiver took the value, else the value back.
    pub(crate) fn take_result(self: Pin<&mut Self>) -> Result<(), SendError<T>> {
        let this = self.project();
        this.registered = false;
        match this.take_value() {
            None => Ok(()),
            Some(v) => Err(SendError(v)),
        }
    }

    fn refresh_waker(&mut self, waker: &Waker) {
        if !self.registered {
            return;
        }
        let _st = self.ch().lock();
        // SAFETY: lock held.
        unsafe {
            self.waiter.with(|n| {
                if n.linked || !n.peer().is_null() {
                    n.waker.update(waker);
                }
            })
        };
    }

    #[inline]
    fn unlink(&mut self) {
        if self.registered {
            self.unlink_registered();
        }
    }

    /// [`Self::unlink`] of a registered waiter, under the lock.
    fn unlink_registered(&mut self) {
        self.registered = false;
        let mut st = self.ch().lock();
        // SAFETY: lock held; valid; if linked, in `sendq`. In flight, the
        // pair is broken here and the value comes back: the receiver has
        // not taken it (it would have unpaired us), so nothing was sent.
        // The receiver is marked `retracted` and starts over.
        unsafe {
            st.sendq.remove(&self.waiter);
            let peer = self.waiter.with(|n| n.take_peer());
            if !peer.is_null() {
                let v = (*peer).with(|n| {
                    n.set_peer(ptr::null());
                    n.retracted = true;
                    n.slot.take()
                });
                self.waiter.with(|n| n.slot = v);
            }
        }
    }
}

impl<T> Single for SendArm<'_, T> {
    type Output = Result<(), SendError<T>>;
    const IN_FLIGHT_WAITS: bool = true;

    fn started(self: Pin<&mut Self>) -> &mut bool {
        &mut self.project().started
    }

    fn sel(&self) -> *const Selection {
        &self.sel
    }

    #[inline]
    fn start_fast(self: Pin<&mut Self>) -> Option<Result<(), SendError<T>>> {
        self.project().try_fast().ok()
    }

    /// A plain send's first step after `start_fast`: send now (or go in
    /// flight), or link a waiter, under one lock.
    #[inline]
    fn start_single(
        self: Pin<&mut Self>,
        sel: &Selection,
        waker: &Waker,
    ) -> Start<Result<(), SendError<T>>> {
        let this = self.project();
        let mut st = this.ch().lock();
        match this.try_locked(&mut st, Some((sel, 0, waker, true))) {
            SendNow::Done(r, w) => {
                drop(st);
                if let Some(w) = w {
                    w.wake();
                }
                Start::Done(r)
            }
            SendNow::InFlight(w) => {
                drop(st);
                if let Some(w) = w {
                    w.wake();
                }
                Start::Linked
            }
            SendNow::Full => {
                // SAFETY: lock held; pinned.
                unsafe { this.link(&mut st.sendq, sel, 0, waker) };
                let watchers = st.take_watchers();
                drop(st);
                if let Some(w) = watchers {
                    w.wake();
                }
                Start::Linked
            }
        }
    }

    fn take_done(self: Pin<&mut Self>) -> Option<Self::Output> {
        Some(self.take_result())
    }
}

impl<T> Drop for SendArm<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.unlink();
    }
}

impl<T> Arm for SendArm<'_, T> {
    fn try_now(self: Pin<&mut Self>, wait: Option<(&Selection, usize, &Waker)>) -> Now {
        let this = self.project();
        match this.try_fast() {
            Ok(r) => {
                this.out = Some(r);
                return Now::Done;
            }
            // Full in fast mode: not ready, no lock (pass 2 looks again
            // under the lock before it waits).
            Err(Miss::Settled) => return Now::NotReady,
            Err(Miss::Lock) => {}
        }
        let r = {
            let mut st = this.ch().lock();
            this.try_locked(&mut st, wait.map(|(s, i, w)| (s, i, w, false)))
        };
        match r {
            SendNow::Done(r, w) => {
                if let Some(w) = w {
                    w.wake();
                }
                this.out = Some(r);
                Now::Done
            }
            SendNow::InFlight(w) => {
                if let Some(w) = w {
                    w.wake();
                }
                Now::InFlight
            }
            SendNow::Full => Now::NotReady,
        }
    }

    fn register(self: Pin<&mut Self>, sel: &Selection, arm: usize, waker: &Waker) -> Reg {
        let this = self.project();
        if this.spent() {
            // A reused `Select` whose send arm already sent: never ready.
            return Reg::Linked;
        }
        let mut st = this.ch().lock();
        if this.ch().send_ready(&st, sel) {
            return Reg::Ready;
        }
        // SAFETY: lock held; pinned.
        unsafe { this.link(&mut st.sendq, sel, arm, waker) };
        let watchers = st.take_watchers();
        drop(st);
        if let Some(w) = watchers {
            w.wake();
        }
        Reg::Linked
    }

    fn refresh(self: Pin<&mut Self>, waker: &Waker) {
        self.project().refresh_waker(waker);
    }

    fn wait_claimed(&self) {
        drop(self.ch().lock());
    }

    fn unregister(self: Pin<&mut Self>) {
        self.project().unlink();
    }

    fn finish(mut self: Pin<&mut Self>) -> bool {
        let r = self.as_mut().take_result();
        self.project().out = Some(r);
        true
    }

    fn is_ready(&self) -> bool {
        if self.spent() {
            return false;
        }
        let ch = self.ch();
        ch.send_ready(&ch.lock(), ptr::null())
    }

    fn watch(&self, id: &mut u64, waker: &Waker) {
        self.ch().lock().watch(id, waker);
    }

    fn unwatch(&self, id: u64) {
        self.ch().lock().unwatch(id);
    }

    fn reset(self: Pin<&mut Self>) {
        self.project().out = None;
    }
}
