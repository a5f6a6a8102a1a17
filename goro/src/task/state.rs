//! The state word of a goroutine: lifecycle bits and a reference count in
//! one atomic `usize`.
//!
//! | bit            | set by                          | cleared by                     |
//! |----------------|---------------------------------|--------------------------------|
//! | `RUNNING`      | the worker that starts a poll   | the same worker after the poll |
//! | `NOTIFIED`     | a wake (or `abort`)             | the worker that starts a poll  |
//! | `COMPLETE`     | the worker whose poll finished  | never                          |
//! | `CANCELLED`    | `abort()` or runtime shutdown   | never                          |
//! | `JOIN_HANDLE`  | spawn                           | dropping the `JoinHandle`, or its taking the output |
//! | `JOIN_WAKER`   | the `JoinHandle` after storing its waker | the `JoinHandle`, before replacing it |
//!
//! The `REF_BITS` bits above `REF_SHIFT` count references: the run queue
//! (while `NOTIFIED` and not `RUNNING`), the owned-task list, the
//! `JoinHandle`, and every `Waker`. The last reference frees the memory.
//! A count that reaches `REF_LIMIT` (2^25, tens of millions of wakers of
//! one goroutine) aborts the process, as `Arc` does at `isize::MAX`.
//!
//! The top 32 bits (on 64-bit targets) are the goroutine's entry in the
//! owned-task list (`runtime/owned.rs`: list and slot), written with the
//! rest of the new task and never changed: every transition keeps
//! them, and the count never carries into them.
//!
//! Who owns the stage (future or output):
//! - while not `COMPLETE`: whoever holds `RUNNING`;
//! - once `COMPLETE`: the `JoinHandle` if `JOIN_HANDLE` was set at the
//!   moment of completion, otherwise the completing worker, which drops it.
//!   The handle gives it up by clearing `JOIN_HANDLE` as it takes the
//!   output (`take_output`), or drops it with the handle.
//!
//! The stage has no tag of its own (raw.rs `Stage`): these bits say
//! whether it holds the future, the output or nothing.
//!
//! Who owns the join waker (an entry in the runtime's `JoinWakers`, keyed
//! by the task, see `join_waker.rs`): the `JoinHandle` while `JOIN_WAKER`
//! is clear; the runtime while it is set (the completing worker takes it
//! out to wake it). The handle clears `JOIN_WAKER` only by a
//! compare-and-swap that fails once `COMPLETE` is set, so after completion
//! the handle never writes it again; an entry it wrote too late (its
//! `set_join_waker` failed) it removes itself.

use crate::loom::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed},
};

pub(crate) const RUNNING: usize = 1 << 0;
pub(crate) const NOTIFIED: usize = 1 << 1;
pub(crate) const COMPLETE: usize = 1 << 2;
pub(crate) const CANCELLED: usize = 1 << 3;
pub(crate) const JOIN_HANDLE: usize = 1 << 4;
pub(crate) const JOIN_WAKER: usize = 1 << 5;
const REF_SHIFT: u32 = 6;
pub(crate) const REF_ONE: usize = 1 << REF_SHIFT;
/// Bits of the reference count.
const REF_BITS: u32 = 26;
const REF_MASK: usize = ((1 << REF_BITS) - 1) << REF_SHIFT;
/// A count this high aborts (see the module docs): far below the top of
/// `REF_BITS`, so the bounded increments that do not check (a wake's or a
/// cancel's queue reference) cannot carry into the entry bits.
const REF_LIMIT: usize = 1 << (REF_SHIFT + REF_BITS - 1);
/// Where the owned-list entry starts.
#[cfg(target_pointer_width = "64")]
const ENTRY_SHIFT: u32 = REF_SHIFT + REF_BITS;
/// The entry of a task in no list's slots.
pub(crate) const NO_ENTRY: u32 = u32::MAX;
/// Whether the state word has room for an entry (64-bit targets); where
/// it has not, every task reads `NO_ENTRY`.
pub(crate) const HAS_ENTRY: bool = cfg!(target_pointer_width = "64");

/// A snapshot of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    #[inline]
    pub(crate) fn has(self, bits: usize) -> bool {
        self.0 & bits != 0
    }
    #[inline]
    pub(crate) fn refs(self) -> usize {
        (self.0 & REF_MASK) >> REF_SHIFT
    }

    /// The task's owned-list entry ([`State::new_listed`]), `NO_ENTRY` if
    /// it has none.
    #[inline]
    pub(crate) fn entry(self) -> u32 {
        #[cfg(target_pointer_width = "64")]
        {
            match (self.0 >> ENTRY_SHIFT) as u32 {
                // Stored plus one, so that zero (a fresh word) is none.
                0 => NO_ENTRY,
                e => e - 1,
            }
        }
        #[cfg(not(target_pointer_width = "64"))]
        {
            NO_ENTRY
        }
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = [
            (RUNNING, "RUNNING"),
            (NOTIFIED, "NOTIFIED"),
            (COMPLETE, "COMPLETE"),
            (CANCELLED, "CANCELLED"),
            (JOIN_HANDLE, "JOIN_HANDLE"),
            (JOIN_WAKER, "JOIN_WAKER"),
        ];
        let mut l = f.debug_list();
        for (b, n) in names {
            if self.has(b) {
                l.entry(&n);
            }
        }
        l.entry(&format_args!("refs={}", self.refs()));
        l.finish()
    }
}

/// What a wake asks the waker to do next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WakeAction {
    /// Nothing to do (already notified, running, or complete).
    None,
    /// The task went from idle to notified: submit it to the scheduler. A
    /// reference for the run queue has been added.
    Submit,
}

/// What the worker does after starting a poll.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StartAction {
    /// Poll the future.
    Poll,
    /// The task was cancelled: drop the future and complete with `Cancelled`.
    Cancel,
    /// Already complete (a stale queue entry): just drop the queue's reference.
    Skip,
}

/// What the worker does after a poll returned `Pending`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IdleAction {
    /// Idle; the run queue's reference is already dropped (in the same
    /// transition) and others remain.
    Idle,
    /// Idle, and the run queue's reference was the last: free the task.
    Dealloc,
    /// Woken during the poll: requeue it, keeping the reference.
    Requeue,
    /// Cancelled during the poll: drop the future now (still `RUNNING`).
    Cancel,
}

/// `entry` in the state word's top bits (stored plus one, so that a word
/// without an entry reads `NO_ENTRY`); nothing where there is no room.
#[inline]
fn entry_bits(entry: u32) -> usize {
    #[cfg(target_pointer_width = "64")]
    {
        (entry as usize).wrapping_add(1) << ENTRY_SHIFT
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        let _ = entry;
        0
    }
}

pub(crate) struct State(AtomicUsize);

impl State {
    /// A new task: notified (it is about to be queued), with a join handle,
    /// and three references: run queue, owned list, join handle; `entry`
    /// its place in the owned list (`runtime/owned.rs`), or `NO_ENTRY`.
    #[inline]
    pub(crate) fn new_listed(entry: u32) -> State {
        State(AtomicUsize::new(
            NOTIFIED | JOIN_HANDLE | (3 * REF_ONE) | entry_bits(entry),
        ))
    }

    #[inline]
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    #[inline]
    fn update<R>(&self, mut f: impl FnMut(Snapshot) -> (Option<usize>, R)) -> R {
        let mut cur = self.0.load(Acquire);
        loop {
            let (next, r) = f(Snapshot(cur));
            let Some(next) = next else { return r };
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return r,
                Err(actual) => cur = actual,
            }
        }
    }

    /// A wake by reference: the caller keeps its own reference.
    #[inline]
    pub(crate) fn wake_by_ref(&self) -> WakeAction {
        self.update(|s| {
            if s.has(COMPLETE | NOTIFIED) {
                (None, WakeAction::None)
            } else if s.has(RUNNING) {
                (Some(s.0 | NOTIFIED), WakeAction::None)
            } else {
                (Some((s.0 | NOTIFIED) + REF_ONE), WakeAction::Submit)
            }
        })
    }

    /// A wake that consumes the caller's reference. Returns the action and
    /// whether the caller must still drop its reference (it is handed to the
    /// run queue when the action is `Submit`).
    #[inline]
    pub(crate) fn wake_by_val(&self) -> (WakeAction, bool) {
        // Reuse the waker's reference for the run queue instead of
        // incrementing and decrementing.
        self.update(|s| {
            if s.has(COMPLETE | NOTIFIED) {
                (None, (WakeAction::None, true))
            } else if s.has(RUNNING) {
                (Some(s.0 | NOTIFIED), (WakeAction::None, true))
            } else {
                (Some(s.0 | NOTIFIED), (WakeAction::Submit, false))
            }
        })
    }

    /// Request cancellation. Returns `Submit` when the task was idle and now
    /// needs a worker to drop its future (a queue reference was added).
    pub(crate) fn cancel(&self) -> WakeAction {
        self.update(|s| {
            if s.has(COMPLETE | CANCELLED) {
                (None, WakeAction::None)
            } else if s.has(RUNNING | NOTIFIED) {
                (Some(s.0 | CANCELLED), WakeAction::None)
            } else {
                (
                    Some((s.0 | CANCELLED | NOTIFIED) + REF_ONE),
                    WakeAction::Submit,
                )
            }
        })
    }

    /// The worker takes a queued task: NOTIFIED → RUNNING.
    #[inline]
    pub(crate) fn start(&self) -> StartAction {
        self.update(|s| {
            debug_assert!(!s.has(RUNNING), "task polled twice at once: {s:?}");
            if s.has(COMPLETE) {
                return (Some(s.0 & !NOTIFIED), StartAction::Skip);
            }
            let next = (s.0 & !NOTIFIED) | RUNNING;
            if s.has(CANCELLED) {
                (Some(next), StartAction::Cancel)
            } else {
                (Some(next), StartAction::Poll)
            }
        })
    }

    /// After a `Pending` poll: RUNNING → idle, dropping the run queue's
    /// reference in the same compare-and-swap (one atomic read-modify-write
    /// per pending poll, as tokio's `transition_to_idle`); or straight back
    /// to the queue, keeping that reference.
    #[inline]
    pub(crate) fn idle(&self) -> IdleAction {
        self.update(|s| {
            debug_assert!(s.has(RUNNING));
            if s.has(CANCELLED) {
                (None, IdleAction::Cancel)
            } else if s.has(NOTIFIED) {
                // Stay NOTIFIED; the run queue reference is reused.
                (Some(s.0 & !RUNNING), IdleAction::Requeue)
            } else {
                debug_assert!(s.refs() >= 1, "task refcount underflow: {s:?}");
                let next = (s.0 & !RUNNING) - REF_ONE;
                if s.refs() == 1 {
                    (Some(next), IdleAction::Dealloc)
                } else {
                    (Some(next), IdleAction::Idle)
                }
            }
        })
    }

    /// The future finished (or was dropped by cancellation): RUNNING →
    /// COMPLETE. Returns the snapshot before, so the caller knows whether a
    /// join handle and a join waker were there at that moment.
    #[inline]
    pub(crate) fn complete(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.has(RUNNING) && !prev.has(COMPLETE), "{prev:?}");
        prev
    }

    /// The join handle is dropped. Returns the snapshot before.
    pub(crate) fn drop_join_handle(&self) -> Snapshot {
        self.update(|s| (Some(s.0 & !JOIN_HANDLE), s))
    }

    /// The join handle takes the output (the task is complete): it clears
    /// `JOIN_HANDLE`, giving up the stage. Returns the snapshot before
    /// (without `JOIN_HANDLE`: the output was already taken).
    pub(crate) fn take_output(&self) -> Snapshot {
        Snapshot(self.0.fetch_and(!JOIN_HANDLE, AcqRel))
    }

    /// The join handle stored its waker: set JOIN_WAKER unless already
    /// complete. `Err` carries the snapshot showing completion.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_HANDLE) && !s.has(JOIN_WAKER));
            if s.has(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 | JOIN_WAKER), Ok(s))
            }
        })
    }

    /// The join handle wants to replace its waker: clear JOIN_WAKER unless
    /// complete.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(s.has(JOIN_HANDLE) && s.has(JOIN_WAKER));
            if s.has(COMPLETE) {
                (None, Err(s))
            } else {
                (Some(s.0 & !JOIN_WAKER), Ok(s))
            }
        })
    }

    #[inline]
    pub(crate) fn ref_inc(&self) {
        // No ordering needed (as in Arc): the caller already holds a
        // reference, so the task cannot be freed concurrently.
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        // Guard against overflow as Arc does: a wrapped count is unsound
        // (and would carry into the entry bits).
        if prev & REF_MASK >= REF_LIMIT {
            std::process::abort();
        }
    }

    /// Drops one reference; true when it was the last.
    #[inline]
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.0.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.refs() >= 1, "task refcount underflow: {prev:?}");
        prev.refs() == 1
    }

    /// Drops two references at once; true when they were the last.
    #[inline]
    pub(crate) fn ref_dec_twice(&self) -> bool {
        let prev = Snapshot(self.0.fetch_sub(2 * REF_ONE, AcqRel));
        debug_assert!(prev.refs() >= 2, "task refcount underflow: {prev:?}");
        prev.refs() == 2
    }
}

impl State {
    /// Runtime shutdown: take `RUNNING` to drop the future, unless the task
    /// is already complete or being polled. True when `RUNNING` was taken.
    pub(crate) fn shutdown(&self) -> bool {
        self.update(|s| {
            if s.has(COMPLETE) {
                (None, false)
            } else if s.has(RUNNING) {
                (Some(s.0 | CANCELLED), false)
            } else {
                (Some(s.0 | RUNNING | CANCELLED), true)
            }
        })
    }
}

#[cfg(all(test, not(loom), target_pointer_width = "64"))]
mod tests {
    use super::*;

    /// The owned-list entry survives every transition, the count never
    /// reads it, and a fresh word has none.
    #[test]
    fn entry_bits_survive_transitions() {
        assert_eq!(State::new_listed(NO_ENTRY).load().entry(), NO_ENTRY);
        assert_eq!(State::new_listed(0).load().entry(), 0);
        let s = State::new_listed(NO_ENTRY - 1);
        assert_eq!(s.load().entry(), NO_ENTRY - 1);
        assert_eq!(s.load().refs(), 3);
        assert_eq!(s.start(), StartAction::Poll);
        s.ref_inc();
        assert_eq!(s.idle(), IdleAction::Idle);
        assert_eq!(s.load().refs(), 3);
        assert_eq!(s.wake_by_ref(), WakeAction::Submit);
        assert_eq!(s.start(), StartAction::Poll);
        let prev = s.complete();
        assert_eq!(prev.entry(), NO_ENTRY - 1);
        assert!(!s.ref_dec_twice());
        assert!(!s.ref_dec());
        assert!(s.ref_dec());
        assert_eq!(s.load().refs(), 0);
        assert_eq!(s.load().entry(), NO_ENTRY - 1);
        assert!(s.load().has(COMPLETE));
    }
}
