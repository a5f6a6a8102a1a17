//! The per-worker run queue: a fixed ring that its owner pushes and pops,
//! and that idle workers steal half of (Go's `runq`).
//!
//! Protocol:
//! - `tail` is written only by the owner (Release), after the slot.
//! - `head` is advanced by compare-and-swap, by the owner (pop) and by
//!   thieves (steal). A consumer reads slots `[head, head+n)` first and then
//!   claims them with the CAS; if the CAS fails the values read are thrown
//!   away and it retries.
//! - Only the owner writes slots, and only outside `[head, tail)`. A thief
//!   that read a stale `head` may read a slot while the owner overwrites
//!   it; its CAS then fails. Slots are `AtomicPtr`s (Relaxed) so that race
//!   is defined behaviour.
//! - A task pointer carries the queue's reference; whoever wins the CAS owns
//!   it.
//!
//! When the ring is full the owner moves half of it, plus the new task, to
//! the global injector in one batch (Go's `runqputslow`).

use std::ptr::{self, NonNull};

use crate::{
    loom::atomic::{
        AtomicPtr, AtomicU32,
        Ordering::{AcqRel, Acquire, Relaxed, Release},
    },
    task::{Header, Notified},
};

#[cfg(not(loom))]
pub(crate) const CAPACITY: usize = 256;
#[cfg(loom)]
pub(crate) const CAPACITY: usize = 4;
const MASK: u32 = CAPACITY as u32 - 1;

pub(crate) struct Inner {
    head: AtomicU32,
    tail: AtomicU32,
    buf: Box<[AtomicPtr<Header>]>,
}

/// The owner's end.
pub(crate) struct Local(std::sync::Arc<Inner>);

/// Everybody else's end: steal and look.
#[derive(Clone)]
pub(crate) struct Steal(std::sync::Arc<Inner>);

pub(crate) fn new() -> (Local, Steal) {
    let inner = std::sync::Arc::new(Inner {
        head: AtomicU32::new(0),
        tail: AtomicU32::new(0),
        buf: (0..CAPACITY)
            .map(|_| AtomicPtr::new(ptr::null_mut()))
            .collect(),
    });
    (Local(inner.clone()), Steal(inner))
}

impl Inner {
    fn len(&self) -> u32 {
        let t = self.tail.load(Acquire);
        let h = self.head.load(Acquire);
        t.wrapping_sub(h)
    }
}

impl Local {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.0.len() as usize
    }

    /// Appends a task; when the ring is full, moves half of it and the task
    /// to `overflow` as one batch.
    #[inline]
    pub(crate) fn push_back(&mut self, task: Notified, overflow: impl FnOnce(Vec<Notified>)) {
        let q = &*self.0;
        loop {
            let h = q.head.load(Acquire);
            // Only we write `tail`.
            let t = q.tail.load(Relaxed);
            if t.wrapping_sub(h) < CAPACITY as u32 {
                q.buf[(t & MASK) as usize].store(task.into_raw().as_ptr(), Relaxed);
                q.tail.store(t.wrapping_add(1), Release);
                return;
            }
            // Full: grab half for the injector.
            let n = CAPACITY as u32 / 2;
            let mut batch = Vec::with_capacity(n as usize + 1);
            for i in 0..n {
                batch.push(q.buf[(h.wrapping_add(i) & MASK) as usize].load(Relaxed));
            }
            if q.head
                .compare_exchange(h, h.wrapping_add(n), AcqRel, Acquire)
                .is_err()
            {
                // A thief took some: there is room now.
                continue;
            }
            let mut tasks: Vec<Notified> = batch
                .into_iter()
                .map(|p| {
                    // SAFETY: we won the slots with the CAS; each holds a
                    // queue reference to a live task.
                    unsafe { Notified::from_raw(NonNull::new_unchecked(p)) }
                })
                .collect();
            tasks.push(task);
            overflow(tasks);
            return;
        }
    }

    /// Takes the oldest task.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Notified> {
        let q = &*self.0;
        loop {
            let h = q.head.load(Acquire);
            let t = q.tail.load(Relaxed);
            if h == t {
                return None;
            }
            let p = q.buf[(h & MASK) as usize].load(Relaxed);
            if q.head
                .compare_exchange(h, h.wrapping_add(1), AcqRel, Acquire)
                .is_ok()
            {
                // SAFETY: we won the slot; it holds a queue reference.
                return Some(unsafe { Notified::from_raw(NonNull::new_unchecked(p)) });
            }
        }
    }

    /// Room left before the ring is full.
    pub(crate) fn remaining(&self) -> usize {
        CAPACITY - self.len()
    }
}

impl Steal {
    pub(crate) fn len(&self) -> usize {
        self.0.len() as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Steals half of this queue into `dst` (which must be empty), returning
    /// one of the stolen tasks to run at once.
    pub(crate) fn steal_into(&self, dst: &mut Local) -> Option<Notified> {
        if std::sync::Arc::ptr_eq(&self.0, &dst.0) {
            return None;
        }
        let src = &*self.0;
        let d = &*dst.0;
        let dst_tail = d.tail.load(Relaxed);
        let dst_head = d.head.load(Acquire);
        debug_assert_eq!(dst_tail, dst_head, "steal_into a non-empty queue");
        let _ = dst_head;
        let n = loop {
            let h = src.head.load(Acquire);
            let t = src.tail.load(Acquire);
            let len = t.wrapping_sub(h);
            if len == 0 || len > CAPACITY as u32 {
                // Empty, or an inconsistent read (head moved past our view
                // of tail): nothing to take this time.
                if len == 0 {
                    return None;
                }
                continue;
            }
            let n = len - len / 2;
            for i in 0..n {
                let p = src.buf[(h.wrapping_add(i) & MASK) as usize].load(Relaxed);
                d.buf[(dst_tail.wrapping_add(i) & MASK) as usize].store(p, Relaxed);
            }
            if src
                .head
                .compare_exchange(h, h.wrapping_add(n), AcqRel, Acquire)
                .is_ok()
            {
                break n;
            }
        };
        // Keep the last one to run now; publish the others.
        let last = dst_tail.wrapping_add(n - 1);
        let p = d.buf[(last & MASK) as usize].load(Relaxed);
        if n > 1 {
            d.tail.store(last, Release);
        }
        // SAFETY: we won these slots with the CAS on the victim's head.
        Some(unsafe { Notified::from_raw(NonNull::new_unchecked(p)) })
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Drop the references of tasks still queued (runtime shutdown).
        while let Some(t) = self.pop() {
            drop(t);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The run queue against concurrent thieves: every task is run exactly
    //! once, none lost, none duplicated.
    use super::*;
    use crate::task::testing::{counted, shared, Counter};
    use loom::thread;

    #[test]
    fn push_pop_steal() {
        loom::model(|| {
            let counter = std::sync::Arc::new(Counter::default());
            let sh = shared();
            let (mut owner, steal) = new();
            let (mut thief_local, _) = new();
            let c2 = counter.clone();
            let th = thread::spawn(move || {
                let mut n = 0;
                if let Some(t) = steal.steal_into(&mut thief_local) {
                    c2.run(t);
                    n += 1;
                }
                while let Some(t) = thief_local.pop() {
                    c2.run(t);
                    n += 1;
                }
                n
            });
            let mut overflowed = Vec::new();
            for i in 0..3 {
                owner.push_back(counted(&sh, &counter, i), |b| overflowed.extend(b));
            }
            let mut n = 0;
            while let Some(t) = owner.pop() {
                counter.run(t);
                n += 1;
            }
            for t in overflowed {
                counter.run(t);
                n += 1;
            }
            n += th.join().unwrap();
            assert_eq!(n, 3);
            counter.assert_each_once(3);
        });
    }

    #[test]
    fn overflow_against_steal() {
        loom::model(|| {
            let counter = std::sync::Arc::new(Counter::default());
            let sh = shared();
            let (mut owner, steal) = new();
            let (mut thief_local, _) = new();
            // Fill the ring completely first.
            let mut overflowed = Vec::new();
            for i in 0..CAPACITY {
                owner.push_back(counted(&sh, &counter, i), |b| overflowed.extend(b));
            }
            let c2 = counter.clone();
            let th = thread::spawn(move || {
                let mut n = 0;
                if let Some(t) = steal.steal_into(&mut thief_local) {
                    c2.run(t);
                    n += 1;
                    while let Some(t) = thief_local.pop() {
                        c2.run(t);
                        n += 1;
                    }
                }
                n
            });
            owner.push_back(counted(&sh, &counter, CAPACITY), |b| overflowed.extend(b));
            let mut n = 0;
            while let Some(t) = owner.pop() {
                counter.run(t);
                n += 1;
            }
            for t in overflowed {
                counter.run(t);
                n += 1;
            }
            n += th.join().unwrap();
            assert_eq!(n, CAPACITY + 1);
            counter.assert_each_once(CAPACITY + 1);
        });
    }
}
