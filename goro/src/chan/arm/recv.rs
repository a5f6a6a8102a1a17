//! [`RecvArm`]: a receive on one channel, owning the waiter it links while
//! blocked. A receive arm handed a value it never gave to its caller gives
//! it back on drop (see `mod.rs`, "Cancellation").

use std::{marker::PhantomData, pin::Pin, ptr, task::Waker};

use super::{Arm, Now, Reg, Single, Start};
use crate::chan::{
    core::{Chan, Miss, RecvFail},
    waiter::{Queue, Selection, Waiter},
};

/// A receive on one channel.
#[derive(Debug)]
pub struct RecvArm<'a, T> {
    /// Borrowed for `'a` (a raw pointer so that `T` need not outlive `'a`:
    /// a `Receiver`'s own stream arm borrows the channel it owns).
    chan: *const Chan<T>,
    _borrow: PhantomData<&'a ()>,
    waiter: Waiter<T>,
    /// (a plain `recv`) The operation's chosen word; a select's arms share
    /// the select's instead. Here, not beside the arm, because it fits in
    /// the arm's padding.
    sel: Selection,
    registered: bool,
    /// (a plain `recv`) Started: see [`Single::started`]. Here rather than
    /// in `Recv`, where it would cost a word of padding.
    started: bool,
    out: Option<Option<T>>,
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

    /// Links the waiter into `q`.
    ///
    /// # Safety
    ///
    /// `q` is this arm's channel's `recvq`, its lock is held, and `self` is
    /// pinned.
    unsafe fn link(&mut self, q: &mut Queue<T>, sel: &Selection, arm: usize, waker: &Waker) {
        // SAFETY: lock held (caller); the waiter is unlinked.
        unsafe {
            self.waiter.with(|n| {
                n.set_arm(sel, arm);
                n.slot = None;
                n.retracted = false;
                n.waker.update(waker);
            });
            q.push_back(&self.waiter);
        }
        self.registered = true;
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

impl<T> Single for RecvArm<'_, T> {
    type Output = Option<T>;
    const IN_FLIGHT_WAITS: bool = false;

    fn started(self: Pin<&mut Self>) -> &mut bool {
        &mut self.project().started
    }

    fn sel(&self) -> *const Selection {
        &self.sel
    }

    #[inline]
    fn start_fast(self: Pin<&mut Self>) -> Option<Option<T>> {
        let ch = self.project().ch();
        if ch.nil {
            return None;
        }
        ch.try_recv_fast().ok().map(Some)
    }

    /// A plain receive's first step after `start_fast`: receive now, or
    /// link a waiter, under one lock.
    #[inline]
    fn start_single(self: Pin<&mut Self>, sel: &Selection, waker: &Waker) -> Start<Option<T>> {
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

    /// After `DONE`: `Some(value)`, or `Some(None)` for closed; `None` if
    /// the sender of an in-flight value was dropped and took it back
    /// (nothing was received: start over). On an unbuffered channel, under
    /// the lock: taking the value completes its sender.
    fn take_done(self: Pin<&mut Self>) -> Option<Option<T>> {
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
}

// SAFETY: the channel pointer is a shared borrow of a `Sync` core (for
// `T: Send`); the waiter and the result are `Send` for `T: Send`.
unsafe impl<T: Send> Send for RecvArm<'_, T> {}

impl<T> Drop for RecvArm<'_, T> {
    #[inline]
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
        match this.ch().try_recv_fast() {
            Ok(v) => {
                this.out = Some(Some(v));
                return Now::Done;
            }
            // Empty in fast mode: not ready, no lock (pass 2 looks again
            // under the lock before it waits).
            Err(Miss::Settled) => return Now::NotReady,
            Err(Miss::Lock) => {}
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
