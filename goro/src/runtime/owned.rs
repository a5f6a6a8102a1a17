//! Every live goroutine of a runtime, for shutdown, `num_goroutine` and
//! (later) the goroutine dump: intrusive doubly linked lists, sharded by
//! goroutine id so that spawns and exits on different workers rarely meet
//! on one lock.
//!
//! A task is in the list from spawn until it completes; the list holds one
//! reference meanwhile. Membership: `shard.head == task || task.prev.is_some()`,
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
    list: Mutex<List>,
    len: AtomicUsize,
}

struct List {
    head: Option<NonNull<Header>>,
    closed: bool,
}

// SAFETY: the raw pointers are only followed under the shard lock, and
// tasks may be touched from any thread.
unsafe impl Send for List {}

impl OwnedTasks {
    pub(crate) fn new(procs: usize) -> OwnedTasks {
        let n = (procs * 4).next_power_of_two().max(8);
        OwnedTasks {
            shards: (0..n)
                .map(|_| {
                    CachePadded::new(Shard {
                        list: Mutex::new(List {
                            head: None,
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
        &self.shards[(h.id & self.mask) as usize]
    }

    /// Adds a task. False when the runtime is shutting down.
    pub(crate) fn insert(&self, task: NonNull<Header>) -> bool {
        // SAFETY: the caller holds the list's reference to a live task.
        let h = unsafe { task.as_ref() };
        let shard = self.shard(h);
        let mut list = lock(&shard.list);
        if list.closed {
            return false;
        }
        h.owned.prev.set(None);
        h.owned.next.set(list.head);
        if let Some(old) = list.head {
            // SAFETY: tasks in the list are alive (the list holds a reference).
            unsafe { old.as_ref() }.owned.prev.set(Some(task));
        }
        list.head = Some(task);
        shard.len.fetch_add(1, Relaxed);
        true
    }

    /// Removes a task. True when it was in the list (its reference is then
    /// the caller's).
    pub(crate) fn remove(&self, task: NonNull<Header>) -> bool {
        // SAFETY: the caller holds a reference to the task.
        let h = unsafe { task.as_ref() };
        let shard = self.shard(h);
        let mut list = lock(&shard.list);
        let prev = h.owned.prev.get();
        let is_member = list.head == Some(task) || prev.is_some();
        if !is_member {
            return false;
        }
        let next = h.owned.next.get();
        match prev {
            // SAFETY: members are alive.
            Some(p) => unsafe { p.as_ref() }.owned.next.set(next),
            None => list.head = next,
        }
        if let Some(n) = next {
            // SAFETY: members are alive.
            unsafe { n.as_ref() }.owned.prev.set(prev);
        }
        h.owned.prev.set(None);
        h.owned.next.set(None);
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
            let mut list = lock(&shard.list);
            list.closed = true;
            while let Some(t) = list.head {
                // SAFETY: members are alive.
                let h = unsafe { t.as_ref() };
                list.head = h.owned.next.get();
                h.owned.prev.set(None);
                h.owned.next.set(None);
                all.push(t);
            }
            shard.len.store(0, Relaxed);
        }
        all
    }

    /// Calls `f` on every live goroutine, one shard locked at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for shard in self.shards.iter() {
            let list = lock(&shard.list);
            let mut cur = list.head;
            while let Some(t) = cur {
                // SAFETY: members are alive while the shard is locked.
                let h = unsafe { t.as_ref() };
                f(h);
                cur = h.owned.next.get();
            }
        }
    }
}
