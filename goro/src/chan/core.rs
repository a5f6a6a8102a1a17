//! The channel core (Go's `hchan`): one shape for every capacity.
//!
//! Invariants (under `state`'s lock):
//! - `buf.len() <= cap`, except transiently after a cancelled receiver gave
//!   back a value it had been handed (see [`Chan::reinject`]).
//! - A live (not yet chosen) receiver waits only while `buf` is empty; a live
//!   sender waits only while `buf` is full (always, for `cap == 0`).
//! - Once `closed`, no waiter is linked for long: `close` completes them all,
//!   and nobody links a new one (every operation sees `closed` first).
//! - In flight (`cap == 0` only): a sender's waiter `s` and a receiver's
//!   waiter `r` point at each other (`peer`) exactly while `r`'s word is
//!   `DONE`, its slot holds `s`'s value, and `s`'s word is `INFLIGHT`.
//!   Neither is linked. The pair is made and broken only under this lock.
//!
//! Every function here expects the lock held and returns the wakers to wake
//! once it is released (waking under the lock would make the woken side
//! block on it at once).

use std::{collections::VecDeque, ptr, task::Waker};

use crossbeam_utils::CachePadded;

use super::waiter::{Node, Queue, Selection, Waiter};
use crate::loom::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    lock, Mutex, MutexGuard,
};

/// The locked part of a channel.
#[derive(Debug)]
pub(crate) struct State<T> {
    pub(crate) buf: VecDeque<T>,
    pub(crate) closed: bool,
    pub(crate) recvq: Queue<T>,
    pub(crate) sendq: Queue<T>,
    /// Receivers polled as a `Stream` that found nothing, and
    /// `Select::ready` calls: woken (all of them, and forgotten) when an
    /// operation may have become ready — a value is buffered, a sender or
    /// receiver links into its queue, a value leaves a full buffer, or the
    /// channel closes. A watcher is never handed a value, so a stream that
    /// is no longer polled strands nothing (see mod.rs, "Why watchers for
    /// streams?").
    pub(crate) watchers: Vec<(u64, Waker)>,
    /// The id the next watcher registration gets (never 0).
    pub(crate) next_watch: u64,
}

impl<T> State<T> {
    /// Takes every watcher's waker, as one waker to wake once the lock is
    /// released.
    pub(crate) fn take_watchers(&mut self) -> Option<Waker> {
        match self.watchers.len() {
            0 => None,
            1 => self.watchers.pop().map(|(_, w)| w),
            _ => {
                let ws = self.watchers.drain(..).map(|(_, w)| w).collect();
                Some(Waker::from(std::sync::Arc::new(WakeAll(ws))))
            }
        }
    }

    /// Registers (or refreshes) the watcher `*id` with `waker`.
    pub(crate) fn watch(&mut self, id: &mut u64, waker: &Waker) {
        if *id != 0 {
            if let Some((_, w)) = self.watchers.iter_mut().find(|(i, _)| i == id) {
                if !w.will_wake(waker) {
                    *w = waker.clone();
                }
                return;
            }
        }
        self.next_watch += 1;
        *id = self.next_watch;
        self.watchers.push((*id, waker.clone()));
    }

    /// Forgets the watcher `id` if it is registered.
    pub(crate) fn unwatch(&mut self, id: u64) {
        if id != 0 {
            self.watchers.retain(|(i, _)| *i != id);
        }
    }
}

/// Several watchers' wakers behind one.
struct WakeAll(Vec<Waker>);

impl std::task::Wake for WakeAll {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.iter().for_each(Waker::wake_by_ref);
    }
}

/// The shared core behind every `Sender` and `Receiver` of one channel.
#[derive(Debug)]
pub(crate) struct Chan<T> {
    /// Padded to its own cache lines: the read-mostly fields below must not
    /// bounce between cores with the lock word.
    state: CachePadded<Mutex<State<T>>>,
    pub(crate) cap: usize,
    /// Mirror of `State::closed`, for lock-free `is_closed`.
    closed: AtomicBool,
    pub(crate) senders: AtomicUsize,
    pub(crate) receivers: AtomicUsize,
    /// A `never()` channel: never ready, never closed.
    pub(crate) nil: bool,
}

// SAFETY: the raw waiter pointers in `State` are only followed under the
// lock, and each points at a waiter whose owner keeps it alive while linked
// (waiter.rs). Values of `T` move between threads, hence `T: Send`.
unsafe impl<T: Send> Send for Chan<T> {}
// SAFETY: as above; every access to shared state goes through the mutex or
// an atomic.
unsafe impl<T: Send> Sync for Chan<T> {}

/// What a send that did not fail did; each carries the waker of the
/// receiver it completed, if any.
pub(crate) enum Sent {
    /// The send completed.
    Done(Option<Waker>),
    /// The value waits in a receiver's waiter (`cap == 0`); the send
    /// completes when that receiver takes it.
    InFlight(Option<Waker>),
}

/// Why a non-blocking send failed; the value comes back.
pub(crate) enum SendFail<T> {
    Full(T),
    Closed(T),
}

/// Why a non-blocking receive failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvFail {
    Empty,
    Closed,
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize, nil: bool) -> Chan<T> {
        Chan {
            state: CachePadded::new(Mutex::new(State {
                buf: VecDeque::with_capacity(cap.min(4096)),
                closed: false,
                recvq: Queue::new(),
                sendq: Queue::new(),
                watchers: Vec::new(),
                next_watch: 0,
            })),
            cap,
            closed: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            nil,
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().buf.len()
    }

    /// Sends `v` without waiting: to the first live receiver, else into the
    /// buffer. `me` is the caller's own selection (its waiters are skipped;
    /// null for a plain send).
    ///
    /// `from` is the sender's own (unlinked) waiter if it can wait for the
    /// receiver to take the value, else null (`try_send`, a select with a
    /// `default`). On an unbuffered channel with a non-null `from`, a
    /// receiver found waiting gets the value *in flight*: `from`'s `sel` and
    /// `arm` must be set; its word becomes `INFLIGHT(arm)` and the result is
    /// `Sent::InFlight` — the send completes when that receiver takes the
    /// value. Otherwise a hand-off or a buffered value completes at once.
    pub(crate) fn try_send_locked(
        &self,
        st: &mut State<T>,
        v: T,
        me: *const Selection,
        from: *const Waiter<T>,
    ) -> Result<Sent, SendFail<T>> {
        if st.closed {
            return Err(SendFail::Closed(v));
        }
        // SAFETY: lock held (the caller's `st`).
        if let Some(w) = unsafe { st.recvq.claim_first(me) } {
            if self.cap == 0 && !from.is_null() {
                // SAFETY: lock held; `from` is the caller's pinned, unlinked
                // waiter, which stays valid while in flight (its owner
                // breaks the pair under this lock before it goes away).
                let (sel, arm) = unsafe {
                    (*from).with(|n| {
                        n.peer = w;
                        (n.sel, n.arm)
                    })
                };
                // SAFETY: `sel` is the caller's own selection, alive.
                unsafe { (*sel).set_in_flight(arm) };
                // SAFETY: we won `w`'s word under the lock.
                let waker = unsafe {
                    complete(w, |n| {
                        n.slot = Some(v);
                        n.peer = from;
                    })
                };
                return Ok(Sent::InFlight(waker));
            }
            // SAFETY: we won `w`'s word under the lock: it is ours to
            // complete and valid until we `finish`.
            return Ok(Sent::Done(unsafe { complete(w, |n| n.slot = Some(v)) }));
        }
        if st.buf.len() < self.cap {
            st.buf.push_back(v);
            return Ok(Sent::Done(st.take_watchers()));
        }
        Err(SendFail::Full(v))
    }

    /// Receives without waiting: from the buffer (refilling it from the
    /// first live sender), else straight from the first live sender.
    pub(crate) fn try_recv_locked(
        &self,
        st: &mut State<T>,
        me: *const Selection,
    ) -> Result<(T, Option<Waker>), RecvFail> {
        if let Some(v) = st.buf.pop_front() {
            let mut waker = None;
            if st.buf.len() < self.cap {
                // SAFETY: lock held.
                if let Some(w) = unsafe { st.sendq.claim_first(me) } {
                    let buf = &mut st.buf;
                    // SAFETY: won under the lock; a waiting sender's slot
                    // holds its value.
                    waker = unsafe { complete(w, |n| buf.extend(n.slot.take())) };
                } else {
                    // Room appeared: a send is ready now.
                    waker = st.take_watchers();
                }
            }
            return Ok((v, waker));
        }
        // SAFETY: lock held.
        if let Some(w) = unsafe { st.sendq.claim_first(me) } {
            let mut v = None;
            // SAFETY: won under the lock.
            let waker = unsafe { complete(w, |n| v = n.slot.take()) };
            return Ok((v.expect("goro: waiting sender without a value"), waker));
        }
        if st.closed {
            return Err(RecvFail::Closed);
        }
        Err(RecvFail::Empty)
    }

    /// Whether a receive would complete now (select registration check).
    pub(crate) fn recv_ready(&self, st: &State<T>, me: *const Selection) -> bool {
        // SAFETY: lock held.
        !st.buf.is_empty() || st.closed || unsafe { st.sendq.has_live(me) }
    }

    /// Whether a send would complete now (select registration check).
    pub(crate) fn send_ready(&self, st: &State<T>, me: *const Selection) -> bool {
        // SAFETY: lock held.
        st.closed || st.buf.len() < self.cap || unsafe { st.recvq.has_live(me) }
    }

    /// Closes the channel. Returns `None` if it was closed already, else the
    /// wakers of every waiter it completed: receivers get an empty slot
    /// (closed), senders keep their value (the send failed).
    pub(crate) fn close_locked(&self, st: &mut State<T>) -> Option<Vec<Waker>> {
        if st.closed || self.nil {
            return None;
        }
        st.closed = true;
        self.closed.store(true, Ordering::Release);
        let mut wakers = Vec::new();
        for q in [&mut st.recvq, &mut st.sendq] {
            // SAFETY: lock held.
            while let Some(w) = unsafe { q.claim_first(ptr::null()) } {
                // SAFETY: won under the lock.
                wakers.extend(unsafe { complete(w, |_| {}) });
            }
        }
        wakers.extend(st.watchers.drain(..).map(|(_, w)| w));
        Some(wakers)
    }

    /// Closes; `true` if this call closed it.
    pub(crate) fn close(&self) -> bool {
        let wakers = {
            let mut st = self.lock();
            self.close_locked(&mut st)
        };
        match wakers {
            None => false,
            Some(ws) => {
                ws.into_iter().for_each(Waker::wake);
                true
            }
        }
    }

    /// The last receiver is gone: close, and drop the buffered values
    /// (outside the lock: their destructors may do anything).
    pub(crate) fn disconnect_receivers(&self) {
        let (wakers, buf) = {
            let mut st = self.lock();
            let ws = self.close_locked(&mut st);
            (ws, std::mem::take(&mut st.buf))
        };
        wakers.into_iter().flatten().for_each(Waker::wake);
        // One by one: if a value's destructor panics, the values after it
        // leak instead of being dropped during the unwind (a second panic
        // there would abort the process), as crossbeam does.
        let mut buf = std::mem::ManuallyDrop::new(buf);
        while let Some(v) = buf.pop_front() {
            drop(v);
        }
        drop(std::mem::ManuallyDrop::into_inner(buf));
    }

    /// Gives back a value that a cancelled receiver had been handed but
    /// never returned to its caller, and whose sender is gone or was never
    /// waiting (a buffered channel, `try_send`): to the first live receiver,
    /// else to the front of the buffer (it was sent before anything buffered
    /// now).
    pub(crate) fn reinject(&self, v: T) {
        let waker = {
            let mut st = self.lock();
            self.reinject_locked(&mut st, v)
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// [`reinject`](Chan::reinject) under the caller's lock; returns the
    /// waker to wake once it is released.
    fn reinject_locked(&self, st: &mut State<T>, v: T) -> Option<Waker> {
        // SAFETY: lock held.
        match unsafe { st.recvq.claim_first(ptr::null()) } {
            // SAFETY: won under the lock.
            Some(w) => unsafe { complete(w, |n| n.slot = Some(v)) },
            None => {
                st.buf.push_front(v);
                st.take_watchers()
            }
        }
    }

    /// A receiver whose word is `DONE` takes its result: the value (or
    /// `None` for closed) and, if a sender is in flight on it, completes
    /// that sender (`INFLIGHT → DONE`). Returns the value and the sender's
    /// waker, to wake once the lock is released.
    ///
    /// # Safety
    ///
    /// The lock is held; `r` is the caller's own receive waiter, unlinked
    /// (its word is `DONE`).
    pub(crate) unsafe fn take_handed(
        &self,
        _st: &mut State<T>,
        r: &Waiter<T>,
    ) -> (Option<T>, Option<Waker>) {
        // SAFETY: lock held; our own waiter.
        let (v, s) =
            unsafe { r.with(|n| (n.slot.take(), std::mem::replace(&mut n.peer, ptr::null()))) };
        if s.is_null() {
            return (v, None);
        }
        // SAFETY: a sender in flight is valid while paired (its owner
        // breaks the pair under this lock first), and its word is
        // `INFLIGHT`: only the holder of its value may finish it.
        let waker = unsafe { complete(s, |n| n.peer = ptr::null()) };
        (v, waker)
    }

    /// A receiver is cancelled after a sender chose it but before it took
    /// its value (its word is `DONE`; the caller has unlinked it if it was
    /// linked). The value goes back to its sender if that sender is still
    /// in flight, else to the channel ([`reinject`](Chan::reinject)).
    /// Returns the waker to wake once the lock is released.
    ///
    /// A sender given its value back: on a closed channel it completes with
    /// the value (its send fails, as if it had been waiting at `close`); a
    /// plain send hands it to the next live receiver (still in flight) or
    /// waits in `sendq` again; a select arm is woken with its word back at
    /// `WAITING`, and the select starts over.
    ///
    /// # Safety
    ///
    /// The lock is held; `r` is the caller's own receive waiter, unlinked.
    pub(crate) unsafe fn cancel_handed(&self, st: &mut State<T>, r: &Waiter<T>) -> Option<Waker> {
        // SAFETY: lock held; our own waiter.
        let (v, s) =
            unsafe { r.with(|n| (n.slot.take(), std::mem::replace(&mut n.peer, ptr::null()))) };
        let v = v?;
        if s.is_null() {
            return self.reinject_locked(st, v);
        }
        // SAFETY: as in `take_handed`: `s` is valid and in flight, and its
        // value is ours to give back.
        unsafe { self.give_back(st, s, v) }
    }

    /// Returns `v` to the in-flight sender `s` (see
    /// [`cancel_handed`](Chan::cancel_handed)).
    ///
    /// # Safety
    ///
    /// The lock is held; `s` is a sender in flight on this channel whose
    /// receiver has just unpaired from it.
    unsafe fn give_back(&self, st: &mut State<T>, s: *const Waiter<T>, v: T) -> Option<Waker> {
        // SAFETY: lock held, `s` valid (caller).
        let (sel, single) = unsafe {
            (*s).with(|n| {
                n.peer = ptr::null();
                (n.sel, n.single)
            })
        };
        if st.closed {
            // SAFETY: `s` is in flight: its word is ours to finish.
            return unsafe { complete(s, |n| n.slot = Some(v)) };
        }
        if single {
            // SAFETY: lock held.
            if let Some(r) = unsafe { st.recvq.claim_first(sel) } {
                // Straight to the next receiver: `s` stays in flight.
                // SAFETY: lock held; `s` valid; `r` won under the lock.
                unsafe { (*s).with(|n| n.peer = r) };
                // SAFETY: as above.
                return unsafe {
                    complete(r, |n| {
                        n.slot = Some(v);
                        n.peer = s;
                    })
                };
            }
            // SAFETY: lock held; `s` is unlinked and pinned (its owner
            // unlinks it before it goes away: it is still registered);
            // `sel` is alive as long as `s` is.
            unsafe {
                (*s).with(|n| n.slot = Some(v));
                (*sel).give_back();
                st.sendq.push_back(s);
            }
            return st.take_watchers();
        }
        // SAFETY: lock held, `s` valid; its selection is alive.
        unsafe {
            let waker = (*s).with(|n| {
                n.slot = Some(v);
                n.waker.take()
            });
            (*sel).give_back();
            waker
        }
    }
}

/// Completes a claimed (or in-flight) waiter: runs `f` on its node, takes
/// its waker, and publishes `DONE`.
///
/// # Safety
///
/// The channel lock is held and the caller won `w`'s chosen word under it
/// (so `w` is valid, unlinked, and ours until `finish`), or `w` is a sender
/// in flight whose value the caller's receiver held.
unsafe fn complete<T>(w: *const Waiter<T>, f: impl FnOnce(&mut Node<T>)) -> Option<Waker> {
    // SAFETY: caller's contract: lock held and the word won.
    let (sel, arm, waker) = unsafe {
        (*w).with(|n| {
            f(n);
            (n.sel, n.arm, n.waker.take())
        })
    };
    // SAFETY: the owner keeps its selection alive until it sees DONE (or
    // has locked this channel after a CLAIMED, which waits for our unlock;
    // or, in flight, has broken the pair under this lock).
    unsafe { (*sel).finish(arm) };
    waker
}
