//! Waiters (Go's `sudog`): the nodes a blocked operation links into a
//! channel's queue, and the shared "chosen" word ([`Selection`]) that picks
//! the single operation a blocked `recv`, `send` or `select` performs.
//!
//! Why intrusive nodes, when `sync`'s `WaitList` uses a slab? See
//! ARCHITECTURE.md, "Why intrusive channel waiters": a value moves
//! straight into the blocked receiver's slot, the rendezvous needs the
//! peer's stable address, and a select links one node per channel.
//!
//! # Ownership
//!
//! A [`Waiter`] lives inside a pinned future (or a pinned select arm); it is
//! never allocated on its own. Its fields sit in one [`UnsafeCell`] and are
//! read and written **only with the lock of the channel the waiter belongs
//! to held** — by the channel while the waiter is linked or in flight, by
//! the owner when it links or unlinks it. The one exception: after the
//! owner has seen its [`Selection`] reach `DONE(arm)` (an acquire load), the
//! waiter of a *send* arm, or of a receive arm on a buffered channel, is out
//! of every channel's reach, so the owner reads its slot without the lock.
//! A receive arm on an unbuffered channel always takes its slot under the
//! lock: its `peer` (the sender in flight) may change until then.
//!
//! # The chosen word
//!
//! | value            | meaning                                                  |
//! |------------------|----------------------------------------------------------|
//! | `WAITING`        | registered, nobody has chosen an arm                     |
//! | `ABORTED`        | the owner gave up (dropped, or restarts its select)      |
//! | `CLAIMED(arm)`   | a channel won the word for `arm`, holds its lock, and is |
//! |                  | writing/taking the slot                                  |
//! | `DONE(arm)`      | that channel finished; the waiter is unlinked            |
//! | `INFLIGHT(arm)`  | (senders, `cap == 0`) `arm` moved its value into a       |
//! |                  | receiver's waiter (`peer`) that has not taken it yet     |
//!
//! Transitions: `WAITING → ABORTED` by the owner (CAS); `WAITING →
//! CLAIMED(arm)` by a channel holding that arm's channel lock (CAS);
//! `CLAIMED(arm) → DONE(arm)` by the same channel before it unlocks (release
//! store); `ABORTED → WAITING` by the owner once nothing is linked. An owner
//! that sees `CLAIMED(arm)` locks that arm's channel once: when it gets the
//! lock the word is `DONE(arm)`.
//!
//! In flight (see mod.rs, "Why a two-phase rendezvous?"): `WAITING/ABORTED →
//! INFLIGHT(arm)` by the owner itself, under the channel lock, while none of
//! its waiters is linked; then, under that same lock, `INFLIGHT(arm) →
//! DONE(arm)` by the receiver that takes the value, or `INFLIGHT(arm) →
//! WAITING` by the receiver that is cancelled and gives it back (a plain
//! send is linked into `sendq` again at once; a select is woken and starts
//! over). A sender in flight cannot be chosen by anyone else: none of its
//! waiters is linked.

use std::{
    marker::PhantomPinned,
    mem::{ManuallyDrop, MaybeUninit},
    ptr,
    task::{RawWaker, RawWakerVTable, Waker},
};

use crate::loom::{
    atomic::{AtomicU32, Ordering},
    UnsafeCell,
};

const WAITING: u32 = 0;
const ABORTED: u32 = 1;
const CLAIMED: u32 = 2;
const DONE: u32 = 3;
const INFLIGHT: u32 = 4;
/// Bits of the tag; the arm index sits above them.
const TAG: u32 = 7;
const SHIFT: u32 = 3;
/// One more than the largest arm index the word can name.
const MAX_ARMS: usize = 1 << (32 - SHIFT);

/// The word for `arm` with `tag`.
#[inline]
fn word(arm: usize, tag: u32) -> u32 {
    debug_assert!(arm < MAX_ARMS);
    ((arm as u32) << SHIFT) | tag
}

/// What the chosen word says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Waiting,
    Aborted,
    Claimed(usize),
    Done(usize),
    InFlight(usize),
}

/// The chosen word shared by every waiter of one blocked operation.
///
/// 32 bits: a plain `recv`/`send` keeps its word inside its arm
/// (`RecvArm`, `SendArm`), where it fits beside the flags in what would be
/// padding; a select keeps one for all its arms.
#[derive(Debug)]
pub(crate) struct Selection {
    state: AtomicU32,
    _pin: PhantomPinned,
}

impl Selection {
    pub(crate) fn new() -> Selection {
        Selection {
            state: AtomicU32::new(WAITING),
            _pin: PhantomPinned,
        }
    }

    fn decode(v: u32) -> Status {
        let arm = (v >> SHIFT) as usize;
        match v & TAG {
            WAITING => Status::Waiting,
            ABORTED => Status::Aborted,
            CLAIMED => Status::Claimed(arm),
            DONE => Status::Done(arm),
            _ => Status::InFlight(arm),
        }
    }

    /// The current status (acquire: a `Done` makes the slot's content visible).
    #[inline]
    pub(crate) fn status(&self) -> Status {
        Self::decode(self.state.load(Ordering::Acquire))
    }

    /// Whether nobody has chosen yet (a hint; only a CAS decides).
    #[inline]
    pub(crate) fn is_waiting(&self) -> bool {
        self.state.load(Ordering::Relaxed) == WAITING
    }

    /// Channel side: tries to win the word for `arm`. Caller holds the lock
    /// of that arm's channel.
    #[inline]
    pub(crate) fn try_claim(&self, arm: usize) -> bool {
        self.state
            .compare_exchange(
                WAITING,
                word(arm, CLAIMED),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Channel side: the claimed operation is complete. Caller holds the
    /// lock it claimed under and touches the waiter no more.
    #[inline]
    pub(crate) fn finish(&self, arm: usize) {
        self.state.store(word(arm, DONE), Ordering::Release);
    }

    /// Owner side: `arm` handed its value to a receiver that has not taken
    /// it yet. Caller holds that arm's channel lock, and none of this
    /// selection's waiters is linked (nobody else can touch the word).
    #[inline]
    pub(crate) fn set_in_flight(&self, arm: usize) {
        self.state.store(word(arm, INFLIGHT), Ordering::Release);
    }

    /// Channel side: the receiver of an in-flight value was cancelled and
    /// gave it back: `INFLIGHT → WAITING`. Caller holds the channel lock.
    #[inline]
    pub(crate) fn give_back(&self) {
        self.state.store(WAITING, Ordering::Release);
    }

    /// Owner side: gives up. `Err` carries the status when a channel won
    /// first.
    #[inline]
    pub(crate) fn abort(&self) -> Result<(), Status> {
        self.state
            .compare_exchange(WAITING, ABORTED, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(Self::decode)
    }

    /// Owner side: back to `WAITING`. Only when no waiter is linked.
    #[inline]
    pub(crate) fn reset(&self) {
        self.state.store(WAITING, Ordering::Relaxed);
    }
}

/// The lock-protected part of a waiter.
///
/// The layout is what a parked goroutine costs (one per blocked `recv` or
/// `send`, one per select arm), so it shares its words: `next` is the queue
/// link while the waiter is linked and the `peer` of a hand-off in flight
/// while it is not (a pair in flight is never linked, see core.rs); the arm
/// index is a `u32` beside the flags. Read and write the peer only through
/// [`peer`](Node::peer) / [`set_peer`](Node::set_peer) /
/// [`take_peer`](Node::take_peer).
#[derive(Debug)]
pub(crate) struct Node<T> {
    prev: *const Waiter<T>,
    /// Linked: the next waiter of the queue. Unlinked: the other half of a
    /// hand-off in flight (`cap == 0` only): for a receiver, the sender
    /// whose value sits in its slot and waits for it to be taken; for that
    /// sender, this receiver. Set and cleared in pairs, under the lock;
    /// null otherwise (also for a receiver that holds a value whose sender
    /// is gone).
    next: *const Waiter<T>,
    /// The chosen word of the operation this waiter belongs to.
    pub(crate) sel: *const Selection,
    /// Woken after a channel completes this waiter.
    pub(crate) waker: WakerSlot,
    /// A receiver's incoming value, or a sender's outgoing one.
    pub(crate) slot: Option<T>,
    /// Which arm of that operation this waiter is.
    arm: u32,
    /// In a channel queue right now.
    pub(crate) linked: bool,
    /// (senders) A plain `send`, not a select arm: given back its value, it
    /// is linked into `sendq` again instead of being woken to start over.
    pub(crate) single: bool,
    /// (receivers, `cap == 0`) Completed with a value whose sender was then
    /// dropped and took it back: nothing was received, start over.
    pub(crate) retracted: bool,
}

impl<T> Node<T> {
    /// An unlinked node with no waker and no value, built on zeroed memory
    /// so that none of its bytes is left uninitialised (an empty `Option`'s
    /// payload, the padding). A future holding it is moved into its task
    /// right after it is built (`.await`); over an uninitialised hole LLVM
    /// copies with loads that straddle the narrower stores just made, and
    /// each such load stalls on store forwarding (a third of worker_pool's
    /// time in `perf annotate`). Fully written, the bytes are copied (or
    /// stored in place) in whole aligned words.
    #[inline(always)]
    fn empty() -> Node<T> {
        let mut n = MaybeUninit::<Node<T>>::zeroed();
        let p = n.as_mut_ptr();
        // SAFETY: `p` points to the node being built; every field is
        // written before `assume_init`.
        unsafe {
            ptr::addr_of_mut!((*p).prev).write(ptr::null());
            ptr::addr_of_mut!((*p).next).write(ptr::null());
            ptr::addr_of_mut!((*p).sel).write(ptr::null());
            ptr::addr_of_mut!((*p).waker).write(WakerSlot::empty());
            ptr::addr_of_mut!((*p).slot).write(None);
            ptr::addr_of_mut!((*p).arm).write(0);
            ptr::addr_of_mut!((*p).linked).write(false);
            ptr::addr_of_mut!((*p).single).write(false);
            ptr::addr_of_mut!((*p).retracted).write(false);
            n.assume_init()
        }
    }

    /// Makes this waiter arm `arm` of the operation whose word is `sel`.
    #[inline]
    pub(crate) fn set_arm(&mut self, sel: *const Selection, arm: usize) {
        self.sel = sel;
        assert!(arm < MAX_ARMS, "goro: more than 2^29 select arms");
        self.arm = arm as u32;
    }

    /// Which arm of its operation this waiter is.
    #[inline]
    pub(crate) fn arm(&self) -> usize {
        self.arm as usize
    }

    /// The other half of a hand-off in flight, or null (always null while
    /// linked: `next` is the queue link then).
    #[inline]
    pub(crate) fn peer(&self) -> *const Waiter<T> {
        if self.linked {
            ptr::null()
        } else {
            self.next
        }
    }

    /// Pairs this (unlinked) waiter with `p`, or unpairs it (`p` null).
    #[inline]
    pub(crate) fn set_peer(&mut self, p: *const Waiter<T>) {
        debug_assert!(!self.linked, "goro: a linked waiter cannot be in flight");
        self.next = p;
    }

    /// Unpairs this waiter, returning its peer (null if none).
    #[inline]
    pub(crate) fn take_peer(&mut self) -> *const Waiter<T> {
        let p = self.peer();
        if !self.linked {
            self.next = ptr::null();
        }
        p
    }
}

/// A waiter's waker, or none: an empty slot holds a do-nothing waker whose
/// data word is null, not an `Option`'s `None`, which leaves that word
/// uninitialised (see [`Node::empty`]).
pub(crate) struct WakerSlot(ManuallyDrop<Waker>);

/// The vtable of an empty [`WakerSlot`]; its address marks the slot empty.
static EMPTY: RawWakerVTable = RawWakerVTable::new(empty_clone, empty_noop, empty_noop, empty_noop);

fn empty_clone(_: *const ()) -> RawWaker {
    RawWaker::new(ptr::null(), &EMPTY)
}

fn empty_noop(_: *const ()) {}

#[inline(always)]
fn empty_waker() -> ManuallyDrop<Waker> {
    // SAFETY: `EMPTY`'s functions do nothing and ignore the data word.
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(ptr::null(), &EMPTY)) })
}

impl WakerSlot {
    #[inline(always)]
    fn empty() -> WakerSlot {
        WakerSlot(empty_waker())
    }

    #[inline]
    fn is_empty(&self) -> bool {
        ptr::eq(self.0.vtable(), &EMPTY)
    }

    /// The waker, leaving the slot empty.
    #[inline]
    pub(crate) fn take(&mut self) -> Option<Waker> {
        if self.is_empty() {
            return None;
        }
        Some(ManuallyDrop::into_inner(std::mem::replace(
            &mut self.0,
            empty_waker(),
        )))
    }

    /// Stores a clone of `waker` unless the slot would wake the same task
    /// (`crate::wait::update_waker` for a waiter's slot).
    #[inline]
    pub(crate) fn update(&mut self, waker: &Waker) {
        if !self.0.will_wake(waker) {
            *self = WakerSlot(ManuallyDrop::new(waker.clone()));
        }
    }
}

impl Drop for WakerSlot {
    #[inline]
    fn drop(&mut self) {
        if !self.is_empty() {
            // SAFETY: dropped once, here; a non-empty slot owns its waker.
            unsafe { ManuallyDrop::drop(&mut self.0) }
        }
    }
}

impl std::fmt::Debug for WakerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            f.write_str("WakerSlot(empty)")
        } else {
            f.debug_tuple("WakerSlot").field(&*self.0).finish()
        }
    }
}

/// A waiter: one arm of a blocked operation, linkable into one channel queue.
#[derive(Debug)]
pub(crate) struct Waiter<T> {
    node: UnsafeCell<Node<T>>,
    _pin: PhantomPinned,
}

impl<T> Waiter<T> {
    pub(crate) fn new() -> Waiter<T> {
        Waiter {
            node: UnsafeCell::new(Node::empty()),
            _pin: PhantomPinned,
        }
    }

    /// Runs `f` on the node.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the channel this waiter is (or is about
    /// to be) linked into; or the caller is the owner and the waiter is
    /// unlinked and out of every channel's reach: never linked, unlinked by
    /// the owner under the lock (and not in flight), or completed by a
    /// channel (the owner saw `DONE` for this waiter's arm) with no `peer`
    /// that could still reach it — a send arm, or a receive arm on a
    /// buffered channel (see the module docs).
    #[inline]
    pub(crate) unsafe fn with<R>(&self, f: impl FnOnce(&mut Node<T>) -> R) -> R {
        // SAFETY: exclusive access is the caller's contract.
        self.node.with_mut(|p| f(unsafe { &mut *p }))
    }
}

/// An intrusive FIFO of waiters: one of a channel's `recvq` / `sendq`.
/// Lives inside the channel's locked state; every method expects that lock.
// SAFETY: the node's raw pointers are followed only under the channel lock
// (see `with`); the value in the slot moves between threads, hence `T: Send`.
unsafe impl<T: Send> Send for Waiter<T> {}
// SAFETY: shared access goes through `with`, whose contract serialises it.
unsafe impl<T: Send> Sync for Waiter<T> {}

#[derive(Debug)]
pub(crate) struct Queue<T> {
    head: *const Waiter<T>,
    tail: *const Waiter<T>,
}

impl<T> Queue<T> {
    pub(crate) const fn new() -> Queue<T> {
        Queue {
            head: ptr::null(),
            tail: ptr::null(),
        }
    }

    /// Whether no waiter is linked (live or not).
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Appends `w`.
    ///
    /// # Safety
    ///
    /// The channel lock is held; `w` is pinned, not linked anywhere, and
    /// stays valid until it is unlinked (its owner unlinks it before it is
    /// freed).
    pub(crate) unsafe fn push_back(&mut self, w: *const Waiter<T>) {
        let tail = self.tail;
        // SAFETY: lock held, `w` valid (caller).
        unsafe {
            (*w).with(|n| {
                debug_assert!(!n.linked);
                debug_assert!(n.next.is_null(), "goro: linking a waiter in flight");
                n.prev = tail;
                n.next = ptr::null();
                n.linked = true;
            })
        };
        if tail.is_null() {
            self.head = w;
        } else {
            // SAFETY: `tail` is linked, hence valid; lock held.
            unsafe { (*tail).with(|n| n.next = w) };
        }
        self.tail = w;
    }

    /// Unlinks `w` if it is linked here.
    ///
    /// # Safety
    ///
    /// The channel lock is held; `w` is valid and, if linked, linked in this
    /// queue.
    pub(crate) unsafe fn remove(&mut self, w: *const Waiter<T>) {
        // SAFETY: lock held, `w` valid (caller).
        let (linked, prev, next) = unsafe { (*w).with(|n| (n.linked, n.prev, n.next)) };
        if !linked {
            return;
        }
        if prev.is_null() {
            self.head = next;
        } else {
            // SAFETY: linked neighbours are valid; lock held.
            unsafe { (*prev).with(|n| n.next = next) };
        }
        if next.is_null() {
            self.tail = prev;
        } else {
            // SAFETY: as above.
            unsafe { (*next).with(|n| n.prev = prev) };
        }
        // SAFETY: lock held, `w` valid.
        unsafe {
            (*w).with(|n| {
                n.linked = false;
                n.prev = ptr::null();
                n.next = ptr::null();
            })
        };
    }

    /// Unlinks and returns the first waiter that does not belong to `me`
    /// and whose chosen word this call wins. Waiters whose word is already
    /// taken (aborted, or chosen by another channel) are unlinked on the
    /// way: nobody will complete them here. The returned waiter's word is
    /// `CLAIMED(arm)`; the caller completes it and calls [`Selection::finish`].
    ///
    /// # Safety
    ///
    /// The channel lock is held.
    pub(crate) unsafe fn claim_first(&mut self, me: *const Selection) -> Option<*const Waiter<T>> {
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: `cur` is linked, hence valid; lock held.
            let (next, sel, arm) = unsafe { (*cur).with(|n| (n.next, n.sel, n.arm())) };
            if ptr::eq(sel, me) {
                cur = next;
                continue;
            }
            // SAFETY: `cur` is linked and valid; lock held.
            unsafe { self.remove(cur) };
            // SAFETY: the owner keeps its `Selection` alive while any of its
            // waiters is linked, and `cur` was linked until just now, under
            // the lock we still hold (the owner cannot unlink it meanwhile).
            if unsafe { (*sel).try_claim(arm) } {
                return Some(cur);
            }
            cur = next;
        }
        None
    }

    /// Whether some waiter not belonging to `me` has not been chosen yet
    /// (a readiness hint for select registration).
    ///
    /// # Safety
    ///
    /// The channel lock is held.
    pub(crate) unsafe fn has_live(&self, me: *const Selection) -> bool {
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: linked, valid, lock held.
            let (next, sel) = unsafe { (*cur).with(|n| (n.next, n.sel)) };
            // SAFETY: a linked waiter's selection is alive (see claim_first).
            if !ptr::eq(sel, me) && unsafe { (*sel).is_waiting() } {
                return true;
            }
            cur = next;
        }
        false
    }
}

#[cfg(all(test, not(loom), target_pointer_width = "64"))]
mod tests {
    use std::mem::size_of;

    /// What a goroutine parked in `recv` (or `send`) pays for its wait
    /// (issue 14): the waiter is two links (the second doubling as the
    /// peer in flight), the chosen word's address, the waker, and the arm
    /// index with the flags and (for `()`) the slot; a plain `recv` is the
    /// channel's address, that waiter, its own 32-bit chosen word and
    /// flags in what would be padding, and the call site. Sizes are exact:
    /// a failure here means a parked goroutine grew.
    #[test]
    fn a_parked_recv_is_small() {
        assert_eq!(size_of::<super::Selection>(), 4);
        assert_eq!(size_of::<super::Waiter<()>>(), 48);
        assert_eq!(size_of::<super::Waiter<u64>>(), 64);
        assert_eq!(size_of::<crate::chan::arm::RecvArm<'static, ()>>(), 64);
        assert_eq!(size_of::<crate::chan::arm::SendArm<'static, ()>>(), 64);
        assert_eq!(size_of::<crate::chan::Recv<'static, ()>>(), 72);
        assert_eq!(size_of::<crate::chan::Send<'static, ()>>(), 72);
        assert_eq!(size_of::<crate::chan::Receiver<()>>(), 16);
    }

    /// The waiter's waker slot: empty wakes nothing; `update` keeps a waker
    /// that wakes the same task and replaces one that does not; `take`
    /// empties it; every waker it cloned is dropped exactly once.
    #[test]
    fn waker_slot_owns_its_waker() {
        // loom-exempt: a single-threaded test; the atomic only counts wakes
        // through std's `Wake` (which needs `Arc`).
        use std::sync::{
            atomic::{AtomicUsize, Ordering},
            Arc,
        };
        use std::task::{Wake, Waker};

        #[derive(Default)]
        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }

        let (a, b) = (Arc::new(Count::default()), Arc::new(Count::default()));
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let mut slot = super::WakerSlot::empty();
        assert!(slot.take().is_none());
        slot.update(&wa);
        slot.update(&wa);
        assert_eq!(Arc::strong_count(&a), 3, "one clone kept, not two");
        slot.update(&wb);
        assert_eq!(Arc::strong_count(&a), 2, "the replaced waker is dropped");
        assert_eq!(Arc::strong_count(&b), 3);
        slot.take().expect("the stored waker").wake();
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
        assert!(slot.take().is_none(), "taken: empty again");
        slot.update(&wa);
        drop(slot);
        assert_eq!(Arc::strong_count(&a), 2, "dropped with the slot");
        assert_eq!(Arc::strong_count(&b), 2);
        assert_eq!(a.0.load(Ordering::SeqCst), 0);
        let empty = format!("{:?}", super::WakerSlot::empty());
        assert_eq!(empty, "WakerSlot(empty)");
    }
}
