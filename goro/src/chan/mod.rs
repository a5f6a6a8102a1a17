//! Channels with Go's semantics, and `select`.
//!
//! # Protocol
//!
//! One channel core for every capacity (`core.rs`, Go's `hchan`): a mutex
//! over a ring buffer of `cap` values, a `closed` flag, and two intrusive
//! queues of blocked operations, `recvq` and `sendq` (`waiter.rs`, Go's
//! `sudog`s). `cap == 0` is the same core with a buffer that is always
//! full: a send completes only when a receiver has taken its value.
//!
//! **State and ownership.** Everything in the core is guarded by its one
//! mutex (there is no lock-free path; the counts of senders and receivers
//! and the `closed` mirror are atomics read without it). A waiter lives
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
//! `select.rs` (the protocol, on [`select!`](crate::select) and
//! [`Select`]).
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
//! # Why no lock-free fast path?
//!
//! Go's `hchan` takes its lock on every operation too; an uncontended
//! mutex costs about as much as the atomics a lock-free queue needs, and
//! one lock keeps the close and select races simple enough to model-check.

mod arm;
mod core;
mod dyn_select;
mod error;
mod macros;
mod ready;
mod receiver;
mod select;
mod sender;
mod sink;
mod waiter;
mod weak;

#[cfg(all(test, loom))]
mod loom_tests;

use std::sync::Arc;

pub use self::{
    dyn_select::{Select, SelectFut, SelectTimeoutError, Selected},
    error::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError},
    receiver::{IntoIter, Iter, Receiver, Recv, TryIter},
    sender::{Send, Sender},
    weak::WeakSender,
};

/// Makes a channel with a buffer of `cap` values (Go's `make(chan T,
/// cap)`); `cap == 0` is an unbuffered rendezvous. Both ends can be cloned
/// (many senders, many receivers; each value is received once).
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<i32>(0);
/// let t = std::thread::spawn(move || {
///     for i in 0..3 {
///         tx.send_blocking(i).unwrap();
///     }
/// });
/// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// t.join().unwrap();
/// ```
pub fn chan<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(self::core::Chan::new(cap, false));
    (Sender::from_chan(chan.clone()), Receiver::new(chan))
}

/// A receiver that is never ready and never closed (Go's nil channel):
/// in a `select!` its arm never fires; `recv()` on it waits forever.
///
/// # Examples
///
/// ```
/// let rx = goro::chan::never::<i32>();
/// assert_eq!(rx.try_recv(), Err(goro::chan::TryRecvError::Empty));
/// assert!(!rx.close());
/// ```
pub fn never<T>() -> Receiver<T> {
    Receiver::new(Arc::new(self::core::Chan::new(0, true)))
}

/// Items used by the `select!` macros' expansion. Not public API.
#[doc(hidden)]
pub mod __private {
    use std::{future::Future, pin::Pin, sync::Arc};

    use super::{arm::Arm, Receiver, SendError, Sender};
    pub use super::{
        arm::{RecvArm, SendArm},
        select::{ArmRef, SelectFuture},
    };

    /// What a `recv(..)` operand may be: a `Receiver`, a reference to
    /// one, or an `Option` of either (`None` is Go's nil channel).
    pub trait AsRecv {
        /// The channel's item type.
        type Item;
        /// The receiver, or `None` for a disabled arm.
        fn as_recv(&self) -> Option<&Receiver<Self::Item>>;
    }
    impl<T> AsRecv for Receiver<T> {
        type Item = T;
        fn as_recv(&self) -> Option<&Receiver<T>> {
            Some(self)
        }
    }
    impl<T> AsRecv for Option<Receiver<T>> {
        type Item = T;
        fn as_recv(&self) -> Option<&Receiver<T>> {
            self.as_ref()
        }
    }
    impl<T> AsRecv for Option<&Receiver<T>> {
        type Item = T;
        fn as_recv(&self) -> Option<&Receiver<T>> {
            *self
        }
    }
    impl<X: AsRecv + ?Sized> AsRecv for &X {
        type Item = X::Item;
        fn as_recv(&self) -> Option<&Receiver<X::Item>> {
            (**self).as_recv()
        }
    }
    impl<X: AsRecv + ?Sized> AsRecv for &mut X {
        type Item = X::Item;
        fn as_recv(&self) -> Option<&Receiver<X::Item>> {
            (**self).as_recv()
        }
    }

    /// What a `send(..)` operand may be; see [`AsRecv`].
    pub trait AsSend {
        /// The channel's item type.
        type Item;
        /// The sender, or `None` for a disabled arm.
        fn as_send(&self) -> Option<&Sender<Self::Item>>;
    }
    impl<T> AsSend for Sender<T> {
        type Item = T;
        fn as_send(&self) -> Option<&Sender<T>> {
            Some(self)
        }
    }
    impl<T> AsSend for Option<Sender<T>> {
        type Item = T;
        fn as_send(&self) -> Option<&Sender<T>> {
            self.as_ref()
        }
    }
    impl<T> AsSend for Option<&Sender<T>> {
        type Item = T;
        fn as_send(&self) -> Option<&Sender<T>> {
            *self
        }
    }
    impl<X: AsSend + ?Sized> AsSend for &X {
        type Item = X::Item;
        fn as_send(&self) -> Option<&Sender<X::Item>> {
            (**self).as_send()
        }
    }
    impl<X: AsSend + ?Sized> AsSend for &mut X {
        type Item = X::Item;
        fn as_send(&self) -> Option<&Sender<X::Item>> {
            (**self).as_send()
        }
    }

    /// The receiver of a `recv` arm: the operand's (found by a method call,
    /// so smart pointers to a `Receiver` work too), or (operand `None`,
    /// guard false) a never-ready one stored in `nil`.
    pub fn recv_ref<'r, T>(
        op: Option<&'r Receiver<T>>,
        enabled: bool,
        nil: &'r mut Option<Receiver<T>>,
    ) -> &'r Receiver<T> {
        match op {
            Some(rx) if enabled => rx,
            _ => nil.insert(super::never()),
        }
    }

    /// The sender of a `send` arm; see [`recv_ref`].
    pub fn send_ref<'r, T>(
        op: Option<&'r Sender<T>>,
        enabled: bool,
        nil: &'r mut Option<Sender<T>>,
    ) -> &'r Sender<T> {
        match op {
            Some(tx) if enabled => tx,
            _ => nil.insert(Sender::from_chan(Arc::new(super::core::Chan::new(0, true)))),
        }
    }

    /// A receive arm on `rx`.
    pub fn recv_arm<T>(rx: &Receiver<T>) -> RecvArm<'_, T> {
        // SAFETY: the arm borrows `rx` (lifetime elision), which keeps the
        // channel alive.
        unsafe { RecvArm::new(Arc::as_ptr(&rx.chan)) }
    }

    /// A send arm of `v` on `tx` (`v` is evaluated before the select waits).
    pub fn send_arm<T>(tx: &Sender<T>, v: T) -> SendArm<'_, T> {
        // SAFETY: as in `recv_arm`.
        unsafe { SendArm::new(Arc::as_ptr(&tx.chan), v) }
    }

    /// Parks the thread until `fut` completes.
    pub fn block_on<F: Future>(fut: F) -> F::Output {
        crate::wait::block_on(fut)
    }

    /// What the macros need from an arm.
    pub trait MacroArm {
        /// The arm's result: `Option<T>` or `Result<(), SendError<T>>`.
        type Output;
        /// Type-erases the pinned arm for the select future.
        fn erase<'p>(self: Pin<&'p mut Self>) -> ArmRef<'p>
        where
            Self: 'p;
        /// Whether this arm's operation happened.
        fn chosen(&self) -> bool;
        /// Takes the result of the chosen arm.
        fn take(self: Pin<&mut Self>) -> Self::Output;
    }

    impl<T: std::marker::Send> MacroArm for RecvArm<'_, T> {
        type Output = Option<T>;
        fn erase<'p>(self: Pin<&'p mut Self>) -> ArmRef<'p>
        where
            Self: 'p,
        {
            ArmRef::recv(self)
        }
        fn chosen(&self) -> bool {
            self.has_out()
        }
        fn take(self: Pin<&mut Self>) -> Option<T> {
            self.take_out().expect("goro: arm not chosen")
        }
    }

    impl<T: std::marker::Send> MacroArm for SendArm<'_, T> {
        type Output = Result<(), SendError<T>>;
        fn erase<'p>(self: Pin<&'p mut Self>) -> ArmRef<'p>
        where
            Self: 'p,
        {
            ArmRef::send(self)
        }
        fn chosen(&self) -> bool {
            self.has_out()
        }
        fn take(self: Pin<&mut Self>) -> Result<(), SendError<T>> {
            self.take_out().expect("goro: arm not chosen")
        }
    }

    #[allow(dead_code)]
    fn _assert_arm_is_object_safe(_: &dyn Arm) {}
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn send_sync<X: std::marker::Send + Sync>() {}
    fn send<X: std::marker::Send>() {}
    struct NotSync(std::cell::Cell<u8>);
    send_sync::<Sender<NotSync>>();
    send_sync::<Receiver<NotSync>>();
    send::<Recv<'static, NotSync>>();
    send::<Send<'static, NotSync>>();
    send::<Select<'static>>();
    send::<SendError<NotSync>>();
}
