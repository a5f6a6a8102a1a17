//! The buffer of a buffered channel: a bounded ring with per-slot stamps
//! (Dmitry Vyukov's bounded MPMC queue, the shape of crossbeam-channel's
//! array flavor), which sends and receives use **without the channel lock
//! while nobody waits** — the steady state of a worker pool or a pipeline.
//!
//! # Two modes
//!
//! - **Fast** (the `SLOW` bit clear in `head` and `tail`): any thread pushes
//!   with one CAS on `tail` ([`Ring::try_push`]) and pops with one CAS on
//!   `head` ([`Ring::try_pop`]); no lock. A push that finds the ring full,
//!   or a pop that finds it empty, gives up (`Err`) and the caller takes
//!   the channel lock — unless it only wanted to know: a full or empty
//!   ring seen in fast mode settles a non-blocking operation without the
//!   lock ([`Miss::Settled`], Go's `full()`/`empty()`).
//! - **Frozen** (the bit set in both): the channel lock holder alone moves
//!   `head` and `tail` ([`Ring::push_locked`], [`Ring::pop_locked`]); a fast
//!   operation's CAS expects the bit clear, so it fails and its caller
//!   takes the lock too.
//!
//! Every holder of the channel lock freezes the ring first
//! ([`Ring::freeze`]) and thaws it on unlock ([`Ring::thaw`]) only if the
//! channel has nobody waiting on it, no watcher, no value given back ahead
//! of the ring, is not closed, and the ring is not full (core.rs,
//! `Locked`: a full ring's next push locks anyway, and the next pop
//! thaws it). So the ring changes
//! without the lock only while no invariant of the locked protocol can be
//! broken by it: with nobody linked in `recvq`/`sendq` there is nobody to
//! hand a value to, wake, or refill from.
//!
//! # Why no lost wake-up
//!
//! A receiver that is about to wait holds the lock with the ring frozen,
//! and reads `tail` after its `fetch_or`: a fast push either took its slot
//! before the freeze (its CAS is ordered before the `fetch_or` on the same
//! word, so the count includes it, and [`Ring::pop_locked`] waits for its
//! stamp), or fails its CAS and goes to the lock, where it meets the
//! waiter. The same holds for a sender about to wait and a fast pop. A
//! fast operation that won its CAS finishes its slot without waiting on
//! anyone, so the lock holder's wait for a stamp is short.
//!
//! # Encoding
//!
//! As in crossbeam: a position is `lap | index` with `index < cap`; the
//! `SLOW` bit sits between them (`mark = (cap + 1).next_power_of_two()`,
//! `one_lap = 2 * mark`). A slot's stamp is `pos` when it is free for the
//! push at `pos`, and `pos + 1` once that push has written it; the pop at
//! `pos` sets it to `pos + one_lap` (free for the next lap).

use std::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::loom::{
    atomic::{AtomicUsize, Ordering},
    hint, thread, UnsafeCell,
};

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The lock-free buffer of a buffered channel (see the module docs).
pub(crate) struct Ring<T> {
    /// The next position to pop, and the `SLOW` bit.
    head: CachePadded<AtomicUsize>,
    /// The next position to push, and the `SLOW` bit.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    cap: usize,
    /// The `SLOW` bit.
    mark: usize,
    one_lap: usize,
}

/// Why a fast operation gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Miss {
    /// The lock must decide: the ring is frozen, or a peer was slow.
    Lock,
    /// Settled without the lock (Go's `full()`/`empty()` fail-fast): at one
    /// instant the ring was in fast mode — so nobody waited on the channel,
    /// nothing was ahead of the ring, and it was not closed — and full (for
    /// a push) or empty (for a pop). A non-blocking operation may report
    /// `Full`/`Empty` at that instant; one that will wait must still lock.
    Settled,
}

// SAFETY: a slot's value is written by the one push that won its position
// and read by the one pop that won it, ordered by the slot's stamp
// (Release/Acquire); values move between threads, hence `T: Send`.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> std::fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("cap", &self.cap)
            .field("head", &self.head.load(Ordering::Relaxed))
            .field("tail", &self.tail.load(Ordering::Relaxed))
            .finish()
    }
}

impl<T> Ring<T> {
    /// An empty ring of `cap` slots (`cap > 0`), in fast mode.
    pub(crate) fn new(cap: usize) -> Ring<T> {
        assert!(cap > 0, "goro: a ring of no slots");
        let mark = (cap + 1).next_power_of_two();
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            cap,
            mark,
            one_lap: mark * 2,
        }
    }

    /// The position after `pos`.
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.mark - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    #[inline]
    fn slot(&self, pos: usize) -> &Slot<T> {
        &self.slots[pos & (self.mark - 1)]
    }

    /// Pushes without the lock; gives `v` back if the ring is frozen, full,
    /// or its next slot is still being read, with [`Miss::Settled`] if it
    /// was full in fast mode (see [`Miss`]).
    #[inline]
    pub(crate) fn try_push(&self, v: T) -> Result<(), (T, Miss)> {
        let mut tail = self.tail.load(Ordering::Relaxed);
        let mut spins = 0;
        loop {
            if tail & self.mark != 0 {
                return Err((v, Miss::Lock));
            }
            let slot = self.slot(tail);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we won position `tail`: the slot is free
                        // (stamp == tail, its last pop done) and ours alone
                        // until we publish the stamp.
                        slot.value.with_mut(|p| unsafe { (*p).write(v) });
                        slot.stamp.store(tail + 1, Ordering::Release);
                        return Ok(());
                    }
                    Err(t) => tail = t,
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot holds last lap's value. Full if `head` is a lap
                // behind: the lock decides. Otherwise its pop has won the
                // position and is reading: wait a little for it (and give
                // up to the lock if its thread seems preempted).
                let head = self.head.load(Ordering::SeqCst);
                if head.wrapping_add(self.one_lap) == tail {
                    // Full at this load, and `head` unfrozen: no lock
                    // holder had begun (it freezes `head` first), so the
                    // channel was in fast mode — nobody waiting, not closed.
                    return Err((v, Miss::Settled));
                }
                if (head & !self.mark).wrapping_add(self.one_lap) == tail || spins >= SPINS {
                    return Err((v, Miss::Lock));
                }
                snooze(&mut spins);
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another push took `tail`: look again.
                hint::spin_loop();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Pops without the lock; `Err` if the ring is frozen, empty, or its
    /// first value is still being written, with [`Miss::Settled`] if it was
    /// empty in fast mode (see [`Miss`]).
    #[inline]
    pub(crate) fn try_pop(&self) -> Result<T, Miss> {
        let mut head = self.head.load(Ordering::Relaxed);
        let mut spins = 0;
        loop {
            if head & self.mark != 0 {
                return Err(Miss::Lock);
            }
            let slot = self.slot(head);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                match self.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: we won position `head`, whose push has
                        // published its value (stamp == head + 1).
                        let v = slot.value.with(|p| unsafe { (*p).assume_init_read() });
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        return Ok(v);
                    }
                    Err(h) => head = h,
                }
            } else if stamp == head {
                // Empty if `tail` is here too: the lock decides. Otherwise
                // its push has won the position and is writing: wait a
                // little for it, as `try_push` does for a pop.
                let tail = self.tail.load(Ordering::SeqCst);
                if tail == head {
                    // Empty at this load, and `tail` unfrozen: no lock
                    // holder had frozen the ring (it freezes `head` and then
                    // `tail`; a holder that froze only `head` has changed
                    // nothing yet), so the channel was in fast mode.
                    return Err(Miss::Settled);
                }
                if tail & !self.mark == head || spins >= SPINS {
                    return Err(Miss::Lock);
                }
                snooze(&mut spins);
                head = self.head.load(Ordering::Relaxed);
            } else {
                hint::spin_loop();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Freezes the ring (the caller holds the channel lock): from here no
    /// fast operation wins a position, and `head`/`tail` count every one
    /// that did.
    #[inline]
    pub(crate) fn freeze(&self) {
        self.head.fetch_or(self.mark, Ordering::SeqCst);
        self.tail.fetch_or(self.mark, Ordering::SeqCst);
    }

    /// Back to fast mode (the caller holds the channel lock and froze it).
    #[inline]
    pub(crate) fn thaw(&self) {
        self.tail.fetch_and(!self.mark, Ordering::SeqCst);
        self.head.fetch_and(!self.mark, Ordering::SeqCst);
    }

    /// Whether every slot holds a value (the caller holds the channel lock
    /// and froze the ring, so the count is exact).
    #[inline]
    pub(crate) fn is_full_frozen(&self) -> bool {
        let head = self.head.load(Ordering::Relaxed) & !self.mark;
        let tail = self.tail.load(Ordering::Relaxed) & !self.mark;
        head.wrapping_add(self.one_lap) == tail
    }

    /// How many values the ring holds, counting pushes and pops that have
    /// won their position but not finished their slot. Exact while frozen.
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst) & !self.mark;
            let head = self.head.load(Ordering::SeqCst) & !self.mark;
            if self.tail.load(Ordering::SeqCst) & !self.mark != tail {
                continue;
            }
            let hix = head & (self.mark - 1);
            let tix = tail & (self.mark - 1);
            return if hix < tix {
                tix - hix
            } else if hix > tix {
                self.cap - hix + tix
            } else if tail == head {
                0
            } else {
                self.cap
            };
        }
    }

    /// Pushes while frozen (the caller holds the channel lock and has
    /// checked that `len() < cap`). Waits for a fast pop still reading the
    /// slot.
    pub(crate) fn push_locked(&self, v: T) {
        let tail = self.tail.load(Ordering::Relaxed) & !self.mark;
        let slot = self.slot(tail);
        let mut spins = 0;
        while slot.stamp.load(Ordering::Acquire) != tail {
            snooze(&mut spins);
        }
        // SAFETY: frozen: only the lock holder moves `tail`, and the slot
        // is free (stamp == tail).
        slot.value.with_mut(|p| unsafe { (*p).write(v) });
        slot.stamp.store(tail + 1, Ordering::Release);
        self.tail
            .store(self.next(tail) | self.mark, Ordering::SeqCst);
    }

    /// Pops while frozen (the caller holds the channel lock); `None` if
    /// empty. Waits for a fast push still writing the slot.
    pub(crate) fn pop_locked(&self) -> Option<T> {
        if self.len() == 0 {
            return None;
        }
        let head = self.head.load(Ordering::Relaxed) & !self.mark;
        let slot = self.slot(head);
        let mut spins = 0;
        while slot.stamp.load(Ordering::Acquire) != head + 1 {
            snooze(&mut spins);
        }
        // SAFETY: frozen: only the lock holder moves `head`, and the push
        // at `head` has published its value.
        let v = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        slot.stamp
            .store(head.wrapping_add(self.one_lap), Ordering::Release);
        self.head
            .store(self.next(head) | self.mark, Ordering::SeqCst);
        Some(v)
    }
}

/// How many `snooze` steps a fast operation waits for a peer's slot
/// before it lets the lock decide (all spins, no yield; one under loom).
const SPINS: u32 = if cfg!(loom) { 1 } else { 6 };

/// One step of the lock holder's wait for a fast operation to finish its
/// slot: a few growing spins, then `yield_now`. The fast operation has won
/// its position and needs no one, so the wait is short unless its thread
/// was preempted between its CAS and its stamp; then spinning on would
/// only keep that thread off the core (crossbeam's `Backoff::snooze`).
#[inline]
fn snooze(spins: &mut u32) {
    // Under loom a spin is a yield: one per step keeps the models small.
    if !cfg!(loom) && *spins < 6 {
        for _ in 0..1u32 << *spins {
            hint::spin_loop();
        }
        *spins += 1;
    } else {
        thread::yield_now();
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // `&mut`: no operation is in progress; every value between head
        // and tail is initialised. One by one, leaking the rest if a
        // destructor panics (as the channel's disconnect does).
        while let Some(v) = self.pop_locked_unfrozen() {
            drop(v);
        }
    }
}

impl<T> Ring<T> {
    /// `pop_locked` for `Drop`, where the ring may be in either mode.
    fn pop_locked_unfrozen(&mut self) -> Option<T> {
        self.freeze();
        self.pop_locked()
    }
}
