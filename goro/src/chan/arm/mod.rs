//! Operations in flight: a receive ([`RecvArm`]) or a send ([`SendArm`]) on
//! one channel, each owning the [`Waiter`](super::waiter::Waiter) it links while blocked. A plain
//! `recv()`/`send()` future is one arm using its own [`Selection`] (a word
//! inside the arm, beside the flags); a select is several arms sharing the
//! select's.
//!
//! Owner-side fields (`registered`, `started`, `out`) are touched only by
//! the owner, through `&mut`; the arm's own word through its atomics. The
//! waiter follows waiter.rs's rules.
//!
//! Cancellation: dropping an arm unlinks its waiter under the channel lock.
//! A receive arm that was handed a value by a sender but never gave it to
//! its caller (its future was dropped in between) gives it back: to the
//! sender if that sender is still in flight on it (`cap == 0`), else to the
//! channel ([`Chan::reinject`](super::core::Chan::reinject)), so no value is ever lost. A send arm whose
//! value was taken by a receiver before the drop has sent it: the drop came
//! after the commit. A send arm dropped while in flight takes its value
//! back from the receiver, which is marked `retracted` and starts over
//! (`chan/mod.rs`, "Why a two-phase rendezvous?").
//!
//! Waiting: every blocked operation — a plain `recv`/`send` ([`poll_single`])
//! and a select (`select.rs`) — reads its [`Selection`] word in one loop,
//! [`wait()`]: `DONE` ends it, `CLAIMED` waits for the claiming channel's
//! lock, a waiting word stores the current waker and looks once more.
//! `recv.rs` holds the receive arm, `send.rs` the send arm.

use std::{
    panic::Location,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use super::waiter::{Selection, Status};
use crate::wait::{self, WaitReason};

mod recv;
mod send;

pub use recv::RecvArm;
pub use send::SendArm;

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

/// What a single (non-select) start found.
pub(crate) enum Start<R> {
    Done(R),
    Linked,
    Never,
}

/// What [`wait()`] found in the word.
pub(crate) enum Woke {
    /// `DONE(i)`: a channel completed arm `i`.
    Done(usize),
    /// Still waiting: the wait is recorded, the poll returns `Pending`.
    Pending,
    /// Neither (a select's in-flight send given back: `WAITING`).
    Other(Status),
}

/// A blocked operation's side of [`wait()`]: a plain receive or send, or a
/// select's arms.
pub(crate) trait Blocked {
    /// Whether the word `s` still means "waiting" (a send in flight waits
    /// for its receiver to take the value).
    fn waiting(&self, s: Status) -> bool;
    /// A channel claimed arm `i` and is completing it: wait for its lock.
    fn wait_claimed(&mut self, i: usize);
    /// Stores `waker` where the channels find it; `true` if the word must
    /// be read again (a channel may have taken the old waker first).
    fn refresh(&mut self, waker: &Waker) -> bool;
}

/// The wait loop of a started operation: reads `sel` until it is `DONE`,
/// still waiting (the waker refreshed, the wait recorded as `reason` at
/// `at`), or something `b` does not wait on.
pub(crate) fn wait(
    b: &mut impl Blocked,
    sel: &Selection,
    cx: &Context<'_>,
    reason: WaitReason,
    at: &'static Location<'static>,
) -> Woke {
    loop {
        match sel.status() {
            Status::Done(i) => return Woke::Done(i),
            Status::Claimed(i) => b.wait_claimed(i),
            s if b.waiting(s) => {
                if b.refresh(cx.waker()) && !b.waiting(sel.status()) {
                    continue;
                }
                wait::record(reason, at);
                return Woke::Pending;
            }
            s => return Woke::Other(s),
        }
    }
}

/// A plain (non-select) receive or send: one arm with its own
/// [`Selection`], driven by [`poll_single`].
pub(crate) trait Single: Arm {
    type Output;
    /// Whether `INFLIGHT` means "waiting": a send in flight waits for its
    /// receiver; a receive is never in flight.
    const IN_FLIGHT_WAITS: bool;
    /// Whether the operation has started (linked, or in flight) and not
    /// finished: [`poll_single`]'s own flag, kept in the arm.
    fn started(self: Pin<&mut Self>) -> &mut bool;
    /// The operation's own chosen word, inside the arm. A pointer: the
    /// arm is borrowed mutably beside it (the word is only ever read and
    /// written through atomics, and the arm is `!Unpin`, as for the waiter).
    fn sel(&self) -> *const Selection;
    /// The first step when [`Single::start_fast`] did not complete the
    /// operation: complete now (or go in flight), or link a waiter, under
    /// one lock.
    fn start_single(self: Pin<&mut Self>, sel: &Selection, waker: &Waker) -> Start<Self::Output>;
    /// The lock-free first step, inlined into the future's poll: the
    /// result if a buffered channel's ring completed the operation (while
    /// nobody waits, ring.rs), else `None` and [`Single::start_single`]
    /// decides.
    fn start_fast(self: Pin<&mut Self>) -> Option<Self::Output>;
    /// After `DONE`: the result, or `None` if nothing happened (a receive
    /// whose in-flight sender was dropped and took its value back): the
    /// operation starts over.
    fn take_done(self: Pin<&mut Self>) -> Option<Self::Output>;
}

/// A single arm as [`Blocked`].
struct One<'p, A: ?Sized>(Pin<&'p mut A>);

impl<A: Single + ?Sized> Blocked for One<'_, A> {
    fn waiting(&self, s: Status) -> bool {
        match s {
            Status::Waiting => true,
            Status::InFlight(_) => A::IN_FLIGHT_WAITS,
            _ => false,
        }
    }
    fn wait_claimed(&mut self, _: usize) {
        self.0.wait_claimed();
    }
    fn refresh(&mut self, waker: &Waker) -> bool {
        self.0.as_mut().refresh(waker);
        true
    }
}

/// One poll of a plain `recv`/`send` future: spends the cooperative
/// budget, starts the operation on the first poll ([`Single::started`]),
/// then waits on the arm's own word ([`Single::sel`]). A receive whose
/// sender took its value back starts over. The first poll of an operation
/// that the ring completes at once stays inline ([`Single::start_fast`]);
/// the rest is [`poll_started`].
#[inline]
pub(crate) fn poll_single<A: Single>(
    mut arm: Pin<&mut A>,
    cx: &mut Context<'_>,
    reason: WaitReason,
    at: &'static Location<'static>,
) -> Poll<A::Output> {
    // A goroutine whose channel is always ready must still yield its worker.
    std::task::ready!(crate::runtime::context::poll_proceed(cx));
    if !*arm.as_mut().started() {
        if let Some(v) = arm.as_mut().start_fast() {
            return Poll::Ready(v);
        }
    }
    poll_started(arm, cx, reason, at)
}

/// [`poll_single`] after its budget and fast path.
fn poll_started<A: Single>(
    mut arm: Pin<&mut A>,
    cx: &mut Context<'_>,
    reason: WaitReason,
    at: &'static Location<'static>,
) -> Poll<A::Output> {
    // SAFETY: the word lives in the pinned arm, which outlives this call
    // and never moves or hands out `&mut` to it; it is shared with the
    // channels through atomics only.
    let sel = unsafe { &*arm.sel() };
    loop {
        if !*arm.as_mut().started() {
            *arm.as_mut().started() = true;
            sel.reset();
            match arm.as_mut().start_single(sel, cx.waker()) {
                Start::Done(v) => {
                    *arm.as_mut().started() = false;
                    return Poll::Ready(v);
                }
                Start::Linked | Start::Never => {
                    wait::record(reason, at);
                    return Poll::Pending;
                }
            }
        }
        match wait(&mut One(arm.as_mut()), sel, cx, reason, at) {
            Woke::Done(_) => {
                *arm.as_mut().started() = false;
                if let Some(v) = arm.as_mut().take_done() {
                    return Poll::Ready(v);
                }
            }
            Woke::Pending => return Poll::Pending,
            Woke::Other(s) => unreachable!("goro: a channel operation {s:?} while polled"),
        }
    }
}
