//! Every live goroutine of a runtime, for shutdown, `num_goroutine`, the
//! leak check and the goroutine dump.
//!
//! Sharded slabs: each shard is a vector of task pointers with a free list,
//! behind its own lock. A task records its slot index in its header, so
//! leaving is "lock, clear the slot, push the index" — it touches only the
//! shard, never other tasks (an intrusive list would touch both neighbours,
//! usually cold in cache).
//!
//! Shards are chosen by `id / 64`: ids are handed to threads in batches of
//! 64, so consecutive spawns from one thread land in one shard, and exits
//! on other workers mostly lock other shards.
//!
//! A task is in its shard from spawn until it completes; the shard holds
//! one reference meanwhile. Membership: `slots[task.owned_slot] == task`,
//! read and written only under the shard's lock. Once closed (shutdown),
//! inserts fail and the spawner cancels the new task at once.

use std::ptr::NonNull;

use crossbeam_utils::CachePadded;

use crate::{
    loom::{
        atomic::{AtomicUsize, Ordering::Relaxed},
        lock, Mutex,
    },
    task::Header,
};

pub(crate) struct OwnedTasks {
    shards: Box<[CachePadded<Shard>]>,
    mask: u64,
}

struct Shard {
    slab: Mutex<Slab>,
    len: AtomicUsize,
}

struct Slab {
    slots: Vec<Option<NonNull<Header>>>,
    free: Vec<u32>,
    closed: bool,
}

// SAFETY: the raw pointers are only followed under the shard lock, and
// tasks may be touched from any thread.
unsafe impl Send for Slab {}

impl OwnedTasks {
    pub(crate) fn new(procs: usize) -> OwnedTasks {
        let n = (procs * 4).next_power_of_two().max(8);
        OwnedTasks {
            shards: (0..n)
                .map(|_| {
                    CachePadded::new(Shard {
                        slab: Mutex::new(Slab {
                            slots: Vec::new(),
                            free: Vec::new(),
                            closed: false,
                        }),
                        len: AtomicUsize::new(0),
                    })
                })
                .collect(),
            mask: n as u64 - 1,
        }
    }

    fn shard(&self, h: &Header) -> &Shard {
        &self.shards[((h.id >> 6) & self.mask) as usize]
    }

    /// Adds a task. False when the runtime is shutting down.
    pub(crate) fn insert(&self, task: NonNull<Header>) -> bool {
        // SAFETY: the caller holds the list's reference to a live task.
        let h = unsafe { task.as_ref() };
        let shard = self.shard(h);
        let mut slab = lock(&shard.slab);
        if slab.closed {
            return false;
        }
        let idx = match slab.free.pop() {
            Some(i) => {
                slab.slots[i as usize] = Some(task);
                i
            }
            None => {
                slab.slots.push(Some(task));
                (slab.slots.len() - 1) as u32
            }
        };
        h.owned_slot.set(idx);
        shard.len.fetch_add(1, Relaxed);
        true
    }

    /// Removes a task. True when it was there (its reference is then the
    /// caller's).
    pub(crate) fn remove(&self, task: NonNull<Header>) -> bool {
        // SAFETY: the caller holds a reference to the task.
        let h = unsafe { task.as_ref() };
        let shard = self.shard(h);
        let mut slab = lock(&shard.slab);
        let idx = h.owned_slot.get();
        match slab.slots.get_mut(idx as usize) {
            Some(slot) if *slot == Some(task) => *slot = None,
            _ => return false,
        }
        slab.free.push(idx);
        shard.len.fetch_sub(1, Relaxed);
        true
    }

    /// How many goroutines are live.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len.load(Relaxed)).sum()
    }

    /// Closes every shard and takes every task out, each with the list's
    /// reference.
    pub(crate) fn close_and_take_all(&self) -> Vec<NonNull<Header>> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut slab = lock(&shard.slab);
            slab.closed = true;
            all.extend(slab.slots.drain(..).flatten());
            slab.free.clear();
            shard.len.store(0, Relaxed);
        }
        all
    }

    /// Calls `f` on every live goroutine, one shard locked at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for shard in self.shards.iter() {
            let slab = lock(&shard.slab);
            for t in slab.slots.iter().flatten() {
                // SAFETY: members are alive while the shard is locked.
                f(unsafe { t.as_ref() });
            }
        }
    }
}
