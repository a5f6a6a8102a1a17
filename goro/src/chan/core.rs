//! The channel core (Go's `hchan`): one shape for every capacity.
//!
//! Invariants (under `state`'s lock), where "the buffer" is `front`
//! followed by the ring (ring.rs), frozen while the lock is held:
//! - the buffer holds at most `cap` values, except transiently after a
//!   cancelled receiver gave back a value it had been handed (see
//!   [`Chan::reinject`]).
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
//!
//! # Protocol
//!
//! One channel core for every capacity (this file, Go's `hchan`): a mutex
//! over a buffer of `cap` values, a `closed` flag, and two intrusive
//! queues of blocked operations, `recvq` and `sendq` (`waiter.rs`, Go's
//! `sudog`s). `cap == 0` is the same core with a buffer that is always
//! full: a send completes only when a receiver has taken its value.
//!
//! **State and ownership.** Everything in the core is guarded by its one
//! mutex, except the buffer's lock-free fast path (below, "The lock-free
//! fast path") and the counts of senders and receivers and the `closed`
//! mirror, atomics read without it. A waiter lives
//! inside the pinned future of the operation that blocked — no allocation
//! to block — and is linked while that operation waits; its fields are
//! guarded by the lock of its channel. Every blocked operation owns one
//! `Selection` word (`WAITING`, `ABORTED`, `CLAIMED(arm)`, `DONE(arm)`,
//! `INFLIGHT(arm)`; waiter.rs has the table); a plain `recv`/`send` has one
//! waiter under it, a select one per arm. On an unbuffered channel a
//! sender's waiter and a receiver's waiter may be paired by their `peer`
//! pointers while the sender's value sits in the receiver's slot ("in
//! flight"); the pair is made and broken only under the channel lock.
//!
//! **Lock order.** At most one channel lock is held at a time, never while
//! waking a task or dropping a user value. No lock is held across an
//! `.await`.
//!
//! **Steps.** A send, under the lock: (1) closed → fail with the value;
//! (2) the first waiting receiver whose word it wins (CAS `WAITING →
//! CLAIMED`) gets the value written into its slot, is unlinked, marked
//! `DONE` and woken — on a buffered channel the send is then complete; on
//! an unbuffered one (2') the sender goes *in flight*: its word becomes
//! `INFLIGHT`, the two waiters are paired, and the send stays pending;
//! (3) room in the buffer → push; (4) else link a waiter holding the value
//! in `sendq` and sleep. A receive: (1) a buffered value → take it, and
//! refill the buffer from the first waiting sender it wins; (2) a waiting
//! sender it wins → take its value (the rendezvous, complete at once);
//! (3) closed → `None`; (4) else link in `recvq`. `close` wins and
//! completes every linked waiter: receivers see an empty slot (`None`),
//! senders their value still there (`Err`); pairs in flight are not linked
//! and finish as below. A woken operation reads its result from its own
//! waiter once its word says `DONE` — a receiver on an unbuffered channel
//! under the lock, because (5) taking a value that is in flight completes
//! its sender (`INFLIGHT → DONE`, one wake) and unpairs them. Select: see
//! `select.rs` (the protocol, on `select!` and
//! `Select`).
//!
//! **Cancellation.** Dropping a waiting operation unlinks its waiters under
//! the lock. A receive that had already been handed a value gives it back:
//! if its sender is in flight, to that sender (see "Why a two-phase
//! rendezvous?"); otherwise to the channel's front (see "Why give values
//! back?"), so nothing is lost. A send whose value a receiver already took
//! has happened. A send dropped while in flight unpairs (under the lock)
//! and takes its value back: the receiver, whose word is already `DONE`,
//! is marked `retracted` and starts over (a select restarts at pass 1). So
//! a send future dropped before it returned did not deliver, except in one
//! window: a receiver took the value after the send's last poll and before
//! its drop (the send was woken to return `Ok` but never polled again).
//! A send raced by a timer *inside one select* (`select! { send(..),
//! recv(after(d)) }`) or `send_timeout` has no such window: exactly one
//! arm happens, and the value comes back on timeout.
//!
//! **Streams.** A `Receiver` polled as a `Stream` has no future of its own
//! to hold a waiter, so it registers only a *watcher* (a waker in
//! `State::watchers`): woken when a receive may complete, never handed a
//! value. See "Why watchers for streams?".
//!
//! **Non-blocking sends.** `try_send` and a select with a `default` cannot
//! wait for the receiver to take the value: on an unbuffered channel they
//! hand it over outright and report success — a sender that unpairs at
//! once, under the same rule.
//!
//! # Why a two-phase rendezvous?
//!
//! Go's unbuffered send completes when a receiver has taken the value; a Go
//! receiver cannot be cancelled, so handing the value over is taking it.
//! A Rust receive future can be dropped between being handed the value and
//! its next poll. If the send completed at the hand-off, it would report
//! success for a value no receiver took, and the value would end up
//! buffered in a channel of capacity 0. So the hand-off has two phases: a
//! sender that finds a receiver waiting moves the value into the
//! receiver's waiter (committing and waking the receiver, as before) but
//! stays pending, paired with it; the receiver completes the sender when it
//! takes the value. If the receiver is cancelled first, the value goes back
//! to its sender: a plain send passes it to the next waiting receiver (still
//! in flight) or waits in `sendq` again; a select's send arm is woken with
//! its word back at `WAITING` and starts over, so it may still take another
//! arm (a timeout) and keep its value. On a closed channel the returned
//! value fails the send (`Err`), as for a sender waiting at `close`.
//!
//! The price is one more wake per sender-initiated hand-off (the sender
//! sleeps until the receiver takes the value) and the receiver's lock to
//! take it. A receiver-initiated take — the sender was waiting first — is
//! complete at once, as before.
//!
//! How does a sender cancelled in flight take its value back? The
//! receiver's word is already `DONE`: it may be a select whose other arms
//! other channels have unlinked, so it cannot be put back to waiting.
//! Instead its waiter is marked `retracted` (under the lock, with the slot
//! emptied); when it looks at its result it finds nothing received and
//! starts over — a plain receive waits again, a select runs pass 1 again.
//! Leaving the value to the receiver (the first design) made a dropped
//! send deliver: a caller that retries after a timeout sent twice.
//!
//! # Why watchers for streams?
//!
//! A `Recv` future owns its waiter and unlinks it when dropped. A
//! `Receiver` used as a `Stream` is polled through `poll_next` with no
//! future in between: a waiter kept linked between polls would be handed
//! values after its consumer stopped polling (a `next()` dropped by a
//! timeout), stranding them in a receiver nobody reads. So the stream
//! registers a waker only; senders wake every watcher (and forget them)
//! when a value is buffered, a sender waits in `sendq`, or the channel
//! closes, and the next poll receives like `try_recv`. On an unbuffered
//! channel the sender waits in `sendq` meanwhile, where any receiver that
//! is actually waiting can take its value.
//!
//! # Why give values back?
//!
//! A value handed to a receiver that is then cancelled, with no sender
//! waiting for it (buffered channels; a sender cancelled in flight; a
//! non-blocking send), goes back to the head of the channel — to another
//! waiting receiver, or to the front of the buffer, which may then hold one
//! more than `cap` for a moment. Order is kept: the value was sent before
//! anything buffered now. Buffered senders do not wait for the receiver to
//! come back: that would make every buffered send a rendezvous.
//!
//! # The lock-free fast path
//!
//! Go's `hchan` takes its lock on every operation. Measured, that lock was
//! goro's cost under contention: with a worker pool's goroutines on two
//! workers, the two cores took turns on one lock word for every message
//! (about 60% of the time of `chan/mpmc_4x4` spun in the lock). So a
//! buffered channel of up to `RING_MAX` values keeps its buffer in a
//! bounded lock-free ring (ring.rs, Vyukov's queue as in crossbeam's array
//! flavor), which sends and receives use without the lock **while nobody
//! waits on the channel**: no receiver or sender linked, no watcher, no
//! value given back, not closed. That is a worker pool's steady state.
//!
//! Everything else is unchanged, because it all happens under the lock
//! and the lock freezes the ring ([`Chan::lock`]): a fast operation cannot
//! win a slot of a frozen ring, and the lock holder counts every one that
//! won a slot before the freeze. The ring thaws when the lock is released
//! with nobody waiting and room left ([`Locked`]'s drop). A receiver about to wait has
//! frozen the ring and seen it empty, so no value can slip into the ring
//! behind its back — every handoff, refill, wake and watcher of the
//! protocol above runs as before. The loom models of `loom_tests.rs`
//! (`ring_*`, and every buffered model) check the races.

use std::{
    collections::VecDeque,
    fmt,
    ops::{Deref, DerefMut},
    ptr,
    task::Waker,
};

pub(crate) use super::ring::Miss;
use super::{
    ring::Ring,
    waiter::{Node, Queue, Selection, Waiter},
};
use crate::loom::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    lock, Mutex, MutexGuard,
};

/// The largest capacity whose buffer is a lock-free [`Ring`], allocated
/// whole when the channel is made (as Go allocates `hchan`'s buffer);
/// a larger channel keeps its values in `State::front`, grown on demand,
/// and every operation on it takes the lock.
const RING_MAX: usize = 1 << 16;

/// The locked part of a channel.
#[derive(Debug)]
pub(crate) struct State<T> {
    /// Buffered values ahead of the ring's: values given back by cancelled
    /// receivers (see "Why give values back?"), or, for a channel with no
    /// ring (`cap == 0` or above `RING_MAX`), the whole buffer. The buffer
    /// is `front` followed by the ring.
    pub(crate) front: VecDeque<T>,
    /// Whether this lock holder (or an earlier one) froze the ring.
    frozen: bool,
    pub(crate) closed: bool,
    pub(crate) recvq: Queue<T>,
    pub(crate) sendq: Queue<T>,
    /// Receivers polled as a `Stream` that found nothing, and
    /// `Select::ready` calls: woken (all of them, and forgotten) when an
    /// operation may have become ready — a value is buffered, a sender or
    /// receiver links into its queue, a value leaves a full buffer, or the
    /// channel closes. A watcher is never handed a value, so a stream that
    /// is no longer polled strands nothing (see above, "Why watchers for
    /// streams?").
    pub(crate) watchers: Vec<(u64, Waker)>,
    /// The id the next watcher registration gets (never 0).
    pub(crate) next_watch: u64,
    /// Times `Chan::lock` took the lock: the number that checks the
    /// lock-free claim (`Sender::lock_acquisitions`). Counted under the
    /// lock, so it costs no atomic.
    locks: u64,
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

    /// Whether the ring may go back to lock-free operation: nobody to hand
    /// a value to, wake or refill from, nothing ahead of the ring, and not
    /// closed (ring.rs).
    fn may_thaw(&self) -> bool {
        !self.closed
            && self.front.is_empty()
            && self.recvq.is_empty()
            && self.sendq.is_empty()
            && self.watchers.is_empty()
    }
}

/// The channel lock held: the locked state, with the ring frozen (see
/// ring.rs); on unlock the ring is thawed if [`State::may_thaw`].
pub(crate) struct Locked<'a, T> {
    st: MutexGuard<'a, State<T>>,
    ring: Option<&'a Ring<T>>,
}

impl<T> Deref for Locked<'_, T> {
    type Target = State<T>;
    #[inline]
    fn deref(&self) -> &State<T> {
        &self.st
    }
}

impl<T> DerefMut for Locked<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut State<T> {
        &mut self.st
    }
}

impl<T> Drop for Locked<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(r) = self.ring {
            // A full ring stays frozen: its next push would fail and lock
            // anyway (and likely wait), and a freeze-thaw pair per message
            // is four read-modify-writes on the lines every peer uses
            // (chan/select4 with its producers ahead). The next pop thaws.
            if self.st.frozen && self.st.may_thaw() && !r.is_full_frozen() {
                self.st.frozen = false;
                r.thaw();
            }
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
///
/// Not cache-padded: the lock used to sit on cache lines of its own
/// (`CachePadded`, 128-byte aligned), away from the read-mostly fields the
/// lock-free ring operations read, but A/B runs of `chan/worker_pool`,
/// `mpmc_4x4` and `select4` showed no difference with it or without it,
/// nor with a 64-byte gap instead, while the over-aligned channel was a
/// 384-byte `memalign` that the system allocator splits and coalesces
/// (`spawn/skynet`, a channel per node, spent a quarter of its time in
/// `malloc`). Now it is an ordinary allocation (see the size test).
#[derive(Debug)]
pub(crate) struct Chan<T> {
    /// The buffer of a buffered channel up to `RING_MAX` (see ring.rs).
    ring: Option<Box<Ring<T>>>,
    pub(crate) cap: usize,
    /// Mirror of `State::closed`, for lock-free `is_closed`.
    closed: AtomicBool,
    pub(crate) senders: AtomicUsize,
    pub(crate) receivers: AtomicUsize,
    /// A `never()` channel: never ready, never closed.
    pub(crate) nil: bool,
    /// A timer's channel (`time::after`, `Timer::chan`): its value is made
    /// when a receive finds the buffer empty and the timer due (see [`Due`]).
    pub(crate) timer: Option<Box<dyn Due<T>>>,
    state: Mutex<State<T>>,
}

/// The timer behind a timer's channel (time/chan.rs), Go 1.23's
/// synchronous timer channel: nothing is ever buffered, so after a timer is
/// stopped or reset no stale value can be received; an expired timer's
/// value is made by the receive that asks for it ([`Chan::try_recv_locked`],
/// [`Chan::recv_ready`]), or handed to a waiting receiver when the timer
/// fires ([`Chan::deliver_due`]).
///
/// Contract: both methods are called with the channel lock held, and the
/// timer's state changes only under that lock (or as time passes): when
/// `is_due` says true, a `take_due` under the same lock returns `Some`.
pub(crate) trait Due<T>: Send + Sync + fmt::Debug {
    /// Whether a value is due now.
    fn is_due(&self) -> bool;
    /// Takes the value due now, if any (a one-shot timer delivers once).
    fn take_due(&self) -> Option<T>;
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
            state: Mutex::new(State {
                front: if cap <= RING_MAX {
                    VecDeque::new()
                } else {
                    VecDeque::with_capacity(4096)
                },
                frozen: false,
                closed: false,
                recvq: Queue::new(),
                sendq: Queue::new(),
                watchers: Vec::new(),
                next_watch: 0,
                locks: 0,
            }),
            ring: (cap > 0 && cap <= RING_MAX).then(|| Box::new(Ring::new(cap))),
            cap,
            closed: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            nil,
            timer: None,
        }
    }

    /// A timer's channel: unbuffered, never closed (no `Sender` exists),
    /// its values made by `due`.
    pub(crate) fn new_timer(due: Box<dyn Due<T>>) -> Chan<T> {
        Chan {
            timer: Some(due),
            ..Chan::new(0, false)
        }
    }

    /// A timer's channel's timer fired: hand the value to the first live
    /// receiver, if one waits (else the next receive makes it).
    pub(crate) fn deliver_due(&self) {
        let Some(t) = &self.timer else { return };
        let waker = {
            let mut st = self.lock();
            if !t.is_due() {
                return;
            }
            // SAFETY: lock held.
            match unsafe { st.recvq.claim_first(ptr::null()) } {
                Some(w) => {
                    // Due under this lock (the `Due` contract): `Some`.
                    let v = t.take_due();
                    // SAFETY: won under the lock.
                    unsafe { complete(w, |n| n.slot = v) }
                }
                // Nobody waits: a stream or `Select::ready` watching the
                // channel is told a receive may now complete.
                None => st.take_watchers(),
            }
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Takes the channel lock, freezing the ring (ring.rs).
    #[inline]
    pub(crate) fn lock(&self) -> Locked<'_, T> {
        let mut st = lock(&self.state);
        st.locks = st.locks.wrapping_add(1);
        let ring = self.ring.as_deref();
        if let Some(r) = ring {
            if !st.frozen {
                st.frozen = true;
                r.freeze();
            }
        }
        Locked { st, ring }
    }

    /// A send that needs no lock: into the ring while nobody waits on the
    /// channel (ring.rs). Gives `v` back if the lock must decide, or with
    /// [`Miss::Settled`] if the channel was full (ring.rs, [`Miss`]).
    #[inline]
    pub(crate) fn try_send_fast(&self, v: T) -> Result<(), (T, Miss)> {
        match &self.ring {
            Some(r) => r.try_push(v),
            None => Err((v, Miss::Lock)),
        }
    }

    /// A receive that needs no lock: from the ring while nobody waits on
    /// the channel (ring.rs). `Err` if the lock must decide, or
    /// [`Miss::Settled`] if the channel was empty (ring.rs, [`Miss`]).
    #[inline]
    pub(crate) fn try_recv_fast(&self) -> Result<T, Miss> {
        match &self.ring {
            Some(r) => r.try_pop(),
            None => Err(Miss::Lock),
        }
    }

    /// How many values are buffered (lock held).
    fn buf_len(&self, st: &State<T>) -> usize {
        st.front.len() + self.ring.as_ref().map_or(0, |r| r.len())
    }

    /// Appends a value to the buffer (lock held, `buf_len < cap`).
    fn buf_push_back(&self, st: &mut State<T>, v: T) {
        match &self.ring {
            Some(r) => r.push_locked(v),
            None => st.front.push_back(v),
        }
    }

    /// Takes the buffer's first value (lock held).
    fn buf_pop_front(&self, st: &mut State<T>) -> Option<T> {
        match st.front.pop_front() {
            Some(v) => Some(v),
            None => self.ring.as_ref()?.pop_locked(),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn len(&self) -> usize {
        let st = self.lock();
        self.buf_len(&st)
    }

    /// Times the channel's lock has been taken (this read not counted).
    pub(crate) fn lock_acquisitions(&self) -> u64 {
        lock(&self.state).locks
    }

    /// Whether the buffer holds `cap` values (always, unbuffered).
    pub(crate) fn is_full(&self) -> bool {
        self.len() >= self.cap
    }

    /// How many `Sender`s exist.
    pub(crate) fn sender_count(&self) -> usize {
        self.senders.load(Ordering::Acquire)
    }

    /// How many `Receiver`s exist.
    pub(crate) fn receiver_count(&self) -> usize {
        self.receivers.load(Ordering::Acquire)
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
                        n.set_peer(w);
                        (n.sel, n.arm())
                    })
                };
                // SAFETY: `sel` is the caller's own selection, alive.
                unsafe { (*sel).set_in_flight(arm) };
                // SAFETY: we won `w`'s word under the lock.
                let waker = unsafe {
                    complete(w, |n| {
                        n.slot = Some(v);
                        n.set_peer(from);
                    })
                };
                return Ok(Sent::InFlight(waker));
            }
            // SAFETY: we won `w`'s word under the lock: it is ours to
            // complete and valid until we `finish`.
            return Ok(Sent::Done(unsafe { complete(w, |n| n.slot = Some(v)) }));
        }
        if self.buf_len(st) < self.cap {
            self.buf_push_back(st, v);
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
        if let Some(v) = self.buf_pop_front(st) {
            let mut waker = None;
            if self.buf_len(st) < self.cap {
                // SAFETY: lock held.
                if let Some(w) = unsafe { st.sendq.claim_first(me) } {
                    let mut refill = None;
                    // SAFETY: won under the lock; a waiting sender's slot
                    // holds its value.
                    waker = unsafe { complete(w, |n| refill = n.slot.take()) };
                    if let Some(s) = refill {
                        self.buf_push_back(st, s);
                    }
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
        if let Some(v) = self.timer.as_ref().and_then(|t| t.take_due()) {
            return Ok((v, None));
        }
        if st.closed {
            return Err(RecvFail::Closed);
        }
        Err(RecvFail::Empty)
    }

    /// Whether a receive would complete now (select registration check).
    pub(crate) fn recv_ready(&self, st: &State<T>, me: *const Selection) -> bool {
        // SAFETY: lock held.
        self.buf_len(st) != 0
            || st.closed
            || unsafe { st.sendq.has_live(me) }
            || self.timer.as_ref().is_some_and(|t| t.is_due())
    }

    /// Whether a send would complete now (select registration check).
    pub(crate) fn send_ready(&self, st: &State<T>, me: *const Selection) -> bool {
        // SAFETY: lock held.
        st.closed || self.buf_len(st) < self.cap || unsafe { st.recvq.has_live(me) }
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
            let mut buf = std::mem::take(&mut st.front);
            if let Some(r) = &self.ring {
                // Closed: the ring stays frozen, no push can come.
                buf.extend(std::iter::from_fn(|| r.pop_locked()));
            }
            (ws, buf)
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
                st.front.push_front(v);
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
        let (v, s) = unsafe { r.with(|n| (n.slot.take(), n.take_peer())) };
        if s.is_null() {
            return (v, None);
        }
        // SAFETY: a sender in flight is valid while paired (its owner
        // breaks the pair under this lock first), and its word is
        // `INFLIGHT`: only the holder of its value may finish it.
        let waker = unsafe { complete(s, |n| n.set_peer(ptr::null())) };
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
        let (v, s) = unsafe { r.with(|n| (n.slot.take(), n.take_peer())) };
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
                n.set_peer(ptr::null());
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
                unsafe { (*s).with(|n| n.set_peer(r)) };
                // SAFETY: as above.
                return unsafe {
                    complete(r, |n| {
                        n.slot = Some(v);
                        n.set_peer(s);
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
            (n.sel, n.arm(), n.waker.take())
        })
    };
    // SAFETY: the owner keeps its selection alive until it sees DONE (or
    // has locked this channel after a CLAIMED, which waits for our unlock;
    // or, in flight, has broken the pair under this lock).
    unsafe { (*sel).finish(arm) };
    waker
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::mem::{align_of, size_of};

    /// A channel is an ordinary allocation (no over-alignment: see
    /// [`super::Chan`]) of a few cache lines.
    #[test]
    fn a_channel_is_small_and_plainly_aligned() {
        type C = super::Chan<u64>;
        assert!(align_of::<C>() <= 16, "align {}", align_of::<C>());
        // Arc's two counts and the channel.
        assert_eq!(size_of::<C>() + 16, 192, "a channel grew or shrank");
    }
}
