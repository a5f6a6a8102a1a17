//! Operations in flight: a receive ([`RecvArm`]) or a send ([`SendArm`]) on
//! one channel, each owning the [`Waiter`] it links while blocked. A plain
//! `recv()`/`send()` future is one arm plus its own [`Selection`]; a select
//! is several arms sharing one.
//!
//! Owner-side fields (`registered`, `out`) are touched only by the owner,
//! through `&mut`. The waiter follows waiter.rs's rules.
//!
//! Cancellation: dropping an arm unlinks its waiter under the channel lock.
//! A receive arm that was handed a value by a sender but never gave it to
//! its caller (its future was dropped in between) gives it back: to the
//! sender if that sender is still in flight on it (`cap == 0`), else to the
//! channel ([`Chan::reinject`]), so no value is ever lost. A send arm whose
//! value was taken by a receiver before the drop has sent it: the drop came
//! after the commit. A send arm dropped while in flight takes its value
//! back from the receiver, which is marked `retracted` and starts over
//! (mod.rs, "Why a two-phase rendezvous?").

use std::{marker::PhantomData, pin::Pin, ptr, task::Waker};

use super::{
    core::{Chan, RecvFail, SendFail, Sent},
    error::SendError,
    waiter::{Selection, Waiter},
};
use crate::wait::update_waker;

/// What registering an arm found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reg {
    /// The waiter is linked (or, on a `never()` channel, nothing ever comes).
    Linked,
    /// The operation could complete now: the select must restart.
    Ready,
}

/// What pass 1 did with an arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Now {
    /// The operation happened; the arm holds the result.
    Done,
    /// (send arms, `cap == 0`) The value is in flight to a receiver: the
    /// selection's word is `INFLIGHT(arm)` and the arm is registered.
    InFlight,
    /// Nothing could happen without waiting.
    NotReady,
}

/// One arm of a select, type-erased.
pub(crate) trait Arm {
    /// Pass 1: performs the operation if it can complete without waiting,
    /// keeping the result. Nothing may be registered. `wait` is `Some((sel,
    /// arm, waker))` if the select may wait for a receiver to take a sent
    /// value (no `default`).
    fn try_now(self: Pin<&mut Self>, wait: Option<(&Selection, usize, &Waker)>) -> Now;
    /// Pass 2: links a waiter for `arm` under `sel`, unless the operation is
    /// ready (then nothing is linked).
    fn register(self: Pin<&mut Self>, sel: &Selection, arm: usize, waker: &Waker) -> Reg;
    /// Replaces the stored waker if it would not wake the same task.
    fn refresh(self: Pin<&mut Self>, waker: &Waker);
    /// Waits for a channel that has claimed this arm to finish (locks and
    /// unlocks its channel).
    fn wait_claimed(&self);
    /// Unlinks the waiter if linked (no-op if not registered).
    fn unregister(self: Pin<&mut Self>);
    /// After the selection says `DONE` for this arm: collects the result.
    /// `false` if nothing happened after all (a receive whose sender took
    /// its value back): the select starts over.
    fn finish(self: Pin<&mut Self>) -> bool;
    /// Whether the operation could complete now (`Select::ready`); a send
    /// arm whose value is spent never is.
    fn is_ready(&self) -> bool;
    /// Registers (or refreshes) the readiness watcher `*id` on the arm's
    /// channel (`Select::ready`); see `State::watchers`.
    fn watch(&self, id: &mut u64, waker: &Waker);
    /// Forgets the watcher `id`.
    fn unwatch(&self, id: u64);
    /// A reused `Select`: drops a result nobody took (a received value
    /// goes back to its channel).
    fn reset(self: Pin<&mut Self>);
}

/// A removed arm of a `Select` (never ready, nothing to clean up).
#[derive(Debug)]
pub(crate) struct NilArm;

impl Arm for NilArm {
    fn try_now(self: Pin<&mut Self>, _: Option<(&Selection, usize, &Waker)>) -> Now {
        Now::NotReady
    }
    fn register(self: Pin<&mut Self>, _: &Selection, _: usize, _: &Waker) -> Reg {
        Reg::Linked
    }
    fn refresh(self: Pin<&mut Self>, _: &Waker) {}
    fn wait_claimed(&self) {}
    fn unregister(self: Pin<&mut Self>) {}
    fn finish(self: Pin<&mut Self>) -> bool {
        unreachable!("goro: a removed arm cannot be chosen")
    }
    fn is_ready(&self) -> bool {
        false
    }
    fn watch(&self, _: &mut u64, _: &Waker) {}
    fn unwatch(&self, _: u64) {}
    fn reset(self: Pin<&mut Self>) {}
}

/// A receive on one channel.
#[derive(Debug)]
pub struct RecvArm<'a, T> {
    /// Borrowed for `'a` (a raw pointer so that `T` need not outlive `'a`:
    /// a `Receiver`'s own stream arm borrows the channel it owns).
    chan: *const Chan<T>,
    _borrow: PhantomData<&'a ()>,
    waiter: Waiter<T>,
    registered: bool,
    out: Option<Option<T>>,
}

/// A send on one channel; the value waits in the waiter's slot.
#[derive(Debug)]
pub struct SendArm<'a, T> {
    /// Borrowed for `'a` (a raw pointer so that `T` need not outlive `'a`:
    /// a `Receiver`'s own stream arm borrows the channel it owns).
    chan: *const Chan<T>,
    _borrow: PhantomData<&'a ()>,
    waiter: Waiter<T>,
    registered: bool,
    out: Option<Result<(), SendError<T>>>,
}

/// What a send attempt under the lock did; each carries the waker of the
/// receiver it chose, if any.
enum SendNow<T> {
    Done(Result<(), SendError<T>>, Option<Waker>),
    InFlight(Option<Waker>),
    Full,
}

/// What a single (non-select) start found.
pub(crate) enum Start<R> {
    Done(R),
    Linked,
    Never,
}

impl<'a, T> RecvArm<'a, T> {
    /// # Safety
    ///
    /// `chan` stays valid for `'a`.
    pub(crate) unsafe fn new(chan: *const Chan<T>) -> Self {
        RecvArm {
            chan,
            _borrow: PhantomData,
            waiter: Waiter::new(),
            registered: false,
            out: None,
        }
    }

    /// The channel, for as long as the arm lives.
    fn ch<'x>(&self) -> &'x Chan<T> {
        // SAFETY: `new`'s contract: the channel outlives the arm; callers
        // use the reference only while the arm is alive.
        unsafe { &*self.chan }
    }

    /// Projects the pin: the waiter is never moved out of `self`.
    fn project(self: Pin<&mut Self>) -> &mut Self {
        // SAFETY: no method moves `waiter`; it stays where it was pinned
        // until dropped, and `Drop` unlinks it first.
        unsafe { self.get_unchecked_mut() }
    }

    pub(crate) fn chan(&self) -> &Chan<T> {
        self.ch()
    }

    /// The result once chosen.
    pub(crate) fn take_out(self: Pin<&mut Self>) -> Option<Option<T>> {
        self.project().out.take()
    }

    pub(crate) fn has_out(&self) -> bool {
        self.out.is_some()
    }

    /// A plain receive's first step: receive now, or link a waiter, under
    /// one lock.
    pub(crate) fn start_single(
        self: Pin<&mut Self>,
        sel: &Selection,
        waker: &Waker,
    ) -> Start<Option<T>> {
        let this = self.project();
        if this.ch().nil {
            return Start::Never;
        }
        let mut st = this.ch().lock();
        match this.ch().try_recv_locked(&mut st, std::ptr::null()) {
            Ok((v, w)) => {
                drop(st);
                if let Some(w) = w {
                    w.wake();
                }
                Start::Done(Some(v))
            }
            Err(RecvFail::Closed) => Start::Done(None),
            Err(RecvFail::Empty) => {
                // SAFETY: lock held; the waiter is pinned and unlinks itself
                // on drop.
                unsafe { this.link(&mut st.recvq, sel, 0, waker) };
                // A waiting receiver makes an unbuffered send ready.
                let watchers = st.take_watchers();
                drop(st);
                if let Some(w) = watchers {
                    w.wake();
                }
                Start::Linked
            }
        }
    }

    /// Links the waiter into `q`.
    ///
    /// # Safety
    ///
    /// `q` is this arm's channel's `recvq`, its lock is held, and `self` is
    /// pinned.
    unsafe fn link(
        &mut self,
        q: &mut super::waiter::Queue<T>,
        sel: &Selection,
        arm: usize,
        waker: &Waker,
    ) {
        // SAFETY: lock held (caller); the waiter is unlinked.
        unsafe {
            self.waiter.with(|n| {
                n.sel = sel;
                n.arm = arm;
                n.slot = None;
                n.retracted = false;
                update_waker(&mut n.waker, waker);
            });
            q.push_back(&self.waiter);
        }
        self.registered = true;
    }

    /// After `DONE`: `Some(value)`, or `Some(None)` for closed; `None` if
    /// the sender of an in-flight value was dropped and took it back
    /// (nothing was received: start over). On an unbuffered channel, under
    /// the lock: taking the value completes its sender.
    pub(crate) fn take_done(self: Pin<&mut Self>) -> Option<Option<T>> {
        let this = self.project();
        this.registered = false;
        if this.ch().cap != 0 {
            // SAFETY: the owner saw DONE for this waiter of a buffered
            // channel: a channel completed and unlinked it, nobody is in
            // flight on it, and no channel will touch it again.
            return Some(unsafe { this.waiter.with(|n| n.slot.take()) });
        }
        let (v, waker) = {
            let mut st = this.ch().lock();
            // SAFETY: lock held; our own waiter, unlinked (DONE).
            if unsafe { this.waiter.with(|n| std::mem::take(&mut n.retracted)) } {
                return None;
            }
            // SAFETY: lock held; our waiter, unlinked (DONE).
            unsafe { this.ch().take_handed(&mut st, &this.waiter) }
        };
        if let Some(w) = waker {
            w.wake();
        }
        Some(v)
    }

    fn refresh_waker(&mut self, waker: &Waker) {
        if !self.registered {
            return;
        }
        let _st = self.ch().lock();
        // SAFETY: lock held.
        unsafe {
            self.waiter.with(|n| {
                if n.linked {
                    update_waker(&mut n.waker, waker);
                }
            })
        };
    }

    fn unlink(&mut self) {
        if !self.registered {
            return;
        }
        self.registered = false;
        let waker = {
            let mut st = self.ch().lock();
            // SAFETY: lock held; the waiter is valid and, if linked, in
            // `recvq`. A channel may have completed us under this lock
            // before we took it: then the slot holds what it handed us,
            // which goes back to its sender or the channel.
            unsafe {
                st.recvq.remove(&self.waiter);
                self.ch().cancel_handed(&mut st, &self.waiter)
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

// SAFETY: the channel pointer is a shared borrow of a `Sync` core (for
// `T: Send`); the waiter and the result are `Send` for `T: Send`.
unsafe impl<T: Send> Send for RecvArm<'_, T> {}
// SAFETY: as for `RecvArm`.
unsafe impl<T: Send> Send for SendArm<'_, T> {}

impl<T> Drop for RecvArm<'_, T> {
    fn drop(&mut self) {
        self.unlink();
        if let Some(Some(v)) = self.out.take() {
            self.ch().reinject(v);
        }
    }
}

impl<T> Arm for RecvArm<'_, T> {
    fn try_now(self: Pin<&mut Self>, _wait: Option<(&Selection, usize, &Waker)>) -> Now {
        let this = self.project();
        if this.ch().nil {
            return Now::NotReady;
        }
        let r = {
            let mut st = this.ch().lock();
            this.ch().try_recv_locked(&mut st, std::ptr::null())
        };
        match r {
            Ok((v, w)) => {
                if let Some(w) = w {
                    w.wake();
                }
                this.out = Some(Some(v));
                Now::Done
            }
            Err(RecvFail::Closed) => {
                this.out = Some(None);
                Now::Done
            }
            Err(RecvFail::Empty) => Now::NotReady,
        }
    }

    fn register(self: Pin<&mut Self>, sel: &Selection, arm: usize, waker: &Waker) -> Reg {
        let this = self.project();
        if this.ch().nil {
            return Reg::Linked;
        }
        let mut st = this.ch().lock();
        if this.ch().recv_ready(&st, sel) {
            return Reg::Ready;
        }
        // SAFETY: lock held; pinned.
        unsafe { this.link(&mut st.recvq, sel, arm, waker) };
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
        match self.as_mut().take_done() {
            Some(v) => {
                self.project().out = Some(v);
                true
            }
            None => false,
        }
    }

    fn is_ready(&self) -> bool {
        let ch = self.ch();
        !ch.nil && ch.recv_ready(&ch.lock(), ptr::null())
    }

    fn watch(&self, id: &mut u64, waker: &Waker) {
        if !self.ch().nil {
            self.ch().lock().watch(id, waker);
        }
    }

    fn unwatch(&self, id: u64) {
        self.ch().lock().unwatch(id);
    }

    fn reset(self: Pin<&mut Self>) {
        let this = self.project();
        if let Some(Some(v)) = this.out.take() {
            this.ch().reinject(v);
        }
    }
}

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
            registered: false,
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
        st: &mut super::core::State<T>,
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
                        n.sel = sel;
                        n.arm = arm;
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
                unsafe { self.waiter.with(|n| update_waker(&mut n.waker, waker)) };
                SendNow::InFlight(w)
            }
            Err(SendFail::Closed(v)) => SendNow::Done(Err(SendError(v)), None),
            Err(SendFail::Full(v)) => {
                self.put_value(v);
                SendNow::Full
            }
        }
    }

    /// A plain send's first step: send now (or go in flight), or link a
    /// waiter, under one lock.
    pub(crate) fn start_single(
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

    /// # Safety
    ///
    /// `q` is this arm's channel's `sendq`, its lock is held, and `self` is
    /// pinned.
    unsafe fn link(
        &mut self,
        q: &mut super::waiter::Queue<T>,
        sel: &Selection,
        arm: usize,
        waker: &Waker,
    ) {
        // SAFETY: lock held (caller); the waiter is unlinked.
        unsafe {
            self.waiter.with(|n| {
                n.sel = sel;
                n.arm = arm;
                update_waker(&mut n.waker, waker);
            });
            q.push_back(&self.waiter);
        }
        self.registered = true;
    }

    /// A plain send gives up (`send_timeout`): unlinks, taking its value
    /// back if it is in flight, and returns it — or `Ok(result)` if a
    /// channel completed the send first (the unlink waited for its lock,
    /// so no completion is half done).
    pub(crate) fn cancel_single(
        mut self: Pin<&mut Self>,
        sel: &Selection,
    ) -> Result<Result<(), SendError<T>>, T> {
        self.as_mut().project().unlink();
        if let super::waiter::Status::Done(_) = sel.status() {
            return Ok(self.take_done());
        }
        match self.project().take_value() {
            Some(v) => Err(v),
            None => unreachable!("goro: cancelled send without its value"),
        }
    }

    /// After `DONE`: `Ok` if a receiver took the value, else the value back.
    pub(crate) fn take_done(self: Pin<&mut Self>) -> Result<(), SendError<T>> {
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
                if n.linked || !n.peer.is_null() {
                    update_waker(&mut n.waker, waker);
                }
            })
        };
    }

    fn unlink(&mut self) {
        if !self.registered {
            return;
        }
        self.registered = false;
        let mut st = self.ch().lock();
        // SAFETY: lock held; valid; if linked, in `sendq`. In flight, the
        // pair is broken here and the value comes back: the receiver has
        // not taken it (it would have unpaired us), so nothing was sent.
        // The receiver is marked `retracted` and starts over.
        unsafe {
            st.sendq.remove(&self.waiter);
            let peer = self
                .waiter
                .with(|n| std::mem::replace(&mut n.peer, ptr::null()));
            if !peer.is_null() {
                let v = (*peer).with(|n| {
                    n.peer = ptr::null();
                    n.retracted = true;
                    n.slot.take()
                });
                self.waiter.with(|n| n.slot = v);
            }
        }
    }
}

impl<T> Drop for SendArm<'_, T> {
    fn drop(&mut self) {
        self.unlink();
    }
}

impl<T> Arm for SendArm<'_, T> {
    fn try_now(self: Pin<&mut Self>, wait: Option<(&Selection, usize, &Waker)>) -> Now {
        let this = self.project();
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
        let r = self.as_mut().take_done();
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
