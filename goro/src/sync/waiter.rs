//! `WaitList`: the FIFO of waiters every sync primitive keeps behind its
//! internal lock (Go's `sudog` queue, goro's "waiter list").
//!
//! A slab of slots threaded by a doubly linked list of indices. A waiting
//! future owns one slot, named by the `usize` key `push_back` returned, from
//! the moment it blocks until it is done or dropped; it frees the slot with
//! [`WaitList::remove`]. Blocking allocates only when the slab grows past the
//! largest number of simultaneous waiters seen so far; freed slots are reused.
//!
//! Why a slab and not nodes intrusive in the pinned futures? The same O(1)
//! insert / unlink / cancel, no `unsafe` at all (an intrusive list needs raw
//! pointers into futures whose drop must unlink them under the lock), and
//! waiting futures stay `Unpin`. The cost is one bounds-checked index per
//! access and a slab that never shrinks.
//!
//! A slot has two independent facts: it is *allocated* (some future owns the
//! key) and it is *linked* (it stands in the FIFO order). Granting a lock or
//! a signal to a waiter [`unlink`](WaitList::unlink)s it, so the list holds
//! only those still waiting, while the slot stays allocated until its owner
//! reads the grant and removes it.
//!
//! Invariant: every method is called with the owning primitive's internal
//! lock held (the list is a plain value inside that lock).
//!
//! # Shared shape
//!
//! Each primitive has a lock word or counter (atomics, through the
//! `crate::loom` shim, so that the loom models under `cfg(loom)` check them)
//! and, behind a small internal lock, a FIFO `WaitList` (below) of waiter
//! nodes held in a slab. A waiting future owns one slot from the moment it
//! blocks until it completes or is dropped. A lock, permit or signal is
//! *granted* to a waiter by marking its node with that internal lock held;
//! a future dropped after the grant but before it saw it passes the grant on
//! (releases the lock, the permit, re-delivers the signal), so cancellation
//! never loses a wake-up. Wakers are called after the internal lock is
//! released.
//!
//! Each file opens with its own protocol: the state table of its lock word,
//! who changes which bit, and the steps of each transition.
//!

const NIL: usize = usize::MAX;

#[derive(Debug)]
struct Slot<N> {
    /// `Some` while allocated.
    node: Option<N>,
    /// Previous linked slot, or `NIL`.
    prev: usize,
    /// Next linked slot (or next free slot while free), or `NIL`.
    next: usize,
    linked: bool,
}

/// A FIFO of waiter nodes in a slab; see the module docs.
#[derive(Debug)]
pub(crate) struct WaitList<N> {
    slots: Vec<Slot<N>>,
    free: usize,
    head: usize,
    tail: usize,
    len: usize,
}

impl<N> Default for WaitList<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N> WaitList<N> {
    pub(crate) const fn new() -> Self {
        WaitList {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    /// Number of linked (still waiting) nodes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Allocates a slot for `node` and links it at the back. Returns its key.
    pub(crate) fn push_back(&mut self, node: N) -> usize {
        let key = if self.free != NIL {
            let key = self.free;
            let slot = &mut self.slots[key];
            self.free = slot.next;
            slot.node = Some(node);
            key
        } else {
            self.slots.push(Slot {
                node: Some(node),
                prev: NIL,
                next: NIL,
                linked: false,
            });
            self.slots.len() - 1
        };
        let tail = self.tail;
        {
            let slot = &mut self.slots[key];
            slot.prev = tail;
            slot.next = NIL;
            slot.linked = true;
        }
        if tail == NIL {
            self.head = key;
        } else {
            self.slots[tail].next = key;
        }
        self.tail = key;
        self.len += 1;
        key
    }

    /// The key of the oldest linked node.
    #[inline]
    pub(crate) fn front(&self) -> Option<usize> {
        (self.head != NIL).then_some(self.head)
    }

    /// The linked node after `key` (which must be linked).
    #[inline]
    pub(crate) fn next(&self, key: usize) -> Option<usize> {
        let n = self.slots[key].next;
        (n != NIL).then_some(n)
    }

    #[inline]
    pub(crate) fn is_linked(&self, key: usize) -> bool {
        self.slots[key].linked
    }

    /// The node of an allocated slot.
    #[inline]
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn get(&self, key: usize) -> &N {
        self.slots[key]
            .node
            .as_ref()
            .expect("waiter slot not allocated")
    }

    /// The node of an allocated slot.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: usize) -> &mut N {
        self.slots[key]
            .node
            .as_mut()
            .expect("waiter slot not allocated")
    }

    /// Takes a node out of the FIFO order; its slot stays allocated.
    /// Does nothing if it is not linked.
    pub(crate) fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let slot = &mut self.slots[key];
            if !slot.linked {
                return;
            }
            slot.linked = false;
            (slot.prev, slot.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next].prev = prev;
        }
        self.len -= 1;
    }

    /// Unlinks the oldest node and returns its key.
    pub(crate) fn pop_front(&mut self) -> Option<usize> {
        let key = self.front()?;
        self.unlink(key);
        Some(key)
    }

    /// Unlinks (if linked) and frees a slot, returning its node.
    pub(crate) fn remove(&mut self, key: usize) -> N {
        self.unlink(key);
        let slot = &mut self.slots[key];
        let node = slot.node.take().expect("waiter slot not allocated");
        slot.next = self.free;
        self.free = key;
        node
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::WaitList;

    fn order(l: &WaitList<u32>) -> Vec<u32> {
        let mut v = Vec::new();
        let mut k = l.front();
        while let Some(key) = k {
            v.push(*l.get(key));
            k = l.next(key);
        }
        v
    }

    #[test]
    fn fifo_unlink_remove_reuse() {
        let mut l = WaitList::new();
        let a = l.push_back(1);
        let b = l.push_back(2);
        let c = l.push_back(3);
        assert_eq!(order(&l), [1, 2, 3]);
        l.unlink(b);
        assert_eq!(order(&l), [1, 3]);
        assert_eq!(*l.get(b), 2);
        assert!(!l.is_linked(b));
        assert_eq!(l.remove(b), 2);
        let d = l.push_back(4);
        assert_eq!(d, b, "freed slot is reused");
        assert_eq!(order(&l), [1, 3, 4]);
        assert_eq!(l.pop_front(), Some(a));
        assert_eq!(l.remove(a), 1);
        assert_eq!(l.remove(c), 3);
        assert_eq!(order(&l), [4]);
        assert_eq!(l.len(), 1);
        assert_eq!(l.remove(d), 4);
        assert!(l.is_empty());
        assert_eq!(l.front(), None);
    }
}
