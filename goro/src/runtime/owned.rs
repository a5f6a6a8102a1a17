//! Every live goroutine of a runtime, for shutdown, `num_goroutine`, the
//! leak check and the goroutine dump.
//!
//! One list per worker, plus one for every other thread (the `block_on`
//! thread, blocking-pool threads): a spawn appends the task to its own
//! thread's list, under a lock that other threads take only to sweep at
//! shutdown or to read a dump. A goroutine that finishes does **not** leave
//! its list — that would take another thread's lock on every exit (the
//! list's lock bounced between the spawning and the finishing worker in
//! spawn-heavy programs) — it only decrements its own thread's live
//! counter. The list's owner sweeps finished tasks out when the list has
//! grown to twice what was live at the last sweep, dropping the list's
//! references then (Go's `allgs` keeps dead goroutines around too).
//!
//! The exact number of live goroutines is the sum of the per-thread
//! counters (each may be negative on its own). A worker's counter has one
//! writer, its worker thread (spawns and exits are counted on the thread
//! where they happen), so it is updated with a plain load and store rather
//! than a locked read-modify-write: two fewer atomic RMWs per goroutine.
//! The last slot, shared by every other thread, keeps `fetch_add`. A task is counted from
//! spawn until it is about to be marked complete, so whoever sees a task
//! finished also sees `num_goroutine()` without it.
//!
//! Once closed (shutdown), inserts fail and the spawner cancels the new
//! task at once.

use std::ptr::NonNull;

use crossbeam_utils::CachePadded;

use crate::{
    loom::{
        atomic::{AtomicIsize, Ordering::Relaxed},
        lock, Mutex,
    },
    task::{raw, Header},
};

/// Sweep no list shorter than this.
const MIN_SWEEP: usize = 64;

pub(crate) struct OwnedTasks {
    lists: Box<[CachePadded<Slot>]>,
}

struct Slot {
    list: Mutex<List>,
    /// Spawns minus exits counted on this slot's thread(s).
    live: AtomicIsize,
}

struct List {
    tasks: Vec<NonNull<Header>>,
    /// Sweep when `tasks` reaches this length.
    sweep_at: usize,
    closed: bool,
}

// SAFETY: the raw pointers are only followed under the list's lock, each
// list holds a reference to each of its tasks, and tasks may be touched
// from any thread.
unsafe impl Send for List {}

impl OwnedTasks {
    /// Lists for `procs` workers and one for every other thread.
    pub(crate) fn new(procs: usize) -> OwnedTasks {
        OwnedTasks {
            lists: (0..=procs)
                .map(|_| {
                    CachePadded::new(Slot {
                        list: Mutex::new(List {
                            tasks: Vec::new(),
                            sweep_at: MIN_SWEEP,
                            closed: false,
                        }),
                        live: AtomicIsize::new(0),
                    })
                })
                .collect(),
        }
    }

    fn slot(&self, worker: Option<usize>) -> &Slot {
        let i = worker.unwrap_or(self.lists.len() - 1);
        &self.lists[i.min(self.lists.len() - 1)]
    }

    /// Adds `d` to the live counter of the calling thread's slot (`worker`
    /// as for [`insert`](Self::insert)).
    #[inline]
    fn count(&self, worker: Option<usize>, d: isize) {
        let slot = self.slot(worker);
        match worker {
            // Worker `i`'s slot is written by worker thread `i` alone (only
            // that thread has `worker == Some(i)` in its context), so no
            // update can be lost between the load and the store.
            Some(i) if i < self.lists.len() - 1 => {
                slot.live.store(slot.live.load(Relaxed) + d, Relaxed)
            }
            _ => {
                slot.live.fetch_add(d, Relaxed);
            }
        }
    }

    /// Adds a task to the calling thread's list (`worker`: its index, or
    /// `None` for other threads). False when the runtime is shutting down.
    pub(crate) fn insert(&self, task: NonNull<Header>, worker: Option<usize>) -> bool {
        let slot = self.slot(worker);
        let swept = {
            let mut list = lock(&slot.list);
            if list.closed {
                // The refused task is cancelled at once and its exit is
                // counted like any other's: count it live first.
                self.count(worker, 1);
                return false;
            }
            list.tasks.push(task);
            self.count(worker, 1);
            if list.tasks.len() >= list.sweep_at {
                let mut done = Vec::new();
                list.tasks.retain(|t| {
                    // SAFETY: the list holds a reference to each task.
                    let finished = unsafe { t.as_ref() }
                        .state
                        .load()
                        .has(crate::task::state::COMPLETE);
                    if finished {
                        done.push(*t);
                    }
                    !finished
                });
                list.sweep_at = (list.tasks.len() * 2).max(MIN_SWEEP);
                done
            } else {
                Vec::new()
            }
        };
        // Drop the list's references outside the lock: a last reference
        // frees the task.
        for t in swept {
            // SAFETY: the list's reference, taken out of the list above.
            unsafe { raw::drop_ref(t) };
        }
        true
    }

    /// A goroutine finished on the calling thread: one fewer live.
    pub(crate) fn exited(&self, worker: Option<usize>) {
        self.count(worker, -1);
    }

    /// How many goroutines are live.
    pub(crate) fn len(&self) -> usize {
        let n: isize = self.lists.iter().map(|s| s.live.load(Relaxed)).sum();
        n.max(0) as usize
    }

    /// Closes every list and takes every task out, each with the list's
    /// reference (finished ones included; their shutdown is a no-op).
    pub(crate) fn close_and_take_all(&self) -> Vec<NonNull<Header>> {
        let mut all = Vec::new();
        for slot in self.lists.iter() {
            let mut list = lock(&slot.list);
            list.closed = true;
            all.append(&mut list.tasks);
        }
        all
    }

    /// Calls `f` on every live goroutine, one list locked at a time.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        self.all(|h| {
            f(h);
            true
        });
    }

    /// Whether `f` holds for every live goroutine; stops at the first for
    /// which it does not.
    pub(crate) fn all(&self, mut f: impl FnMut(&Header) -> bool) -> bool {
        for slot in self.lists.iter() {
            let list = lock(&slot.list);
            for t in list.tasks.iter() {
                // SAFETY: listed tasks are alive while the list is locked.
                let h = unsafe { t.as_ref() };
                if !h.state.load().has(crate::task::state::COMPLETE) && !f(h) {
                    return false;
                }
            }
        }
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::OwnedTasks;
    use crate::loom::atomic::Ordering::Relaxed;

    /// A spawn refused at shutdown is cancelled at once, and its exit is
    /// counted like any other: the refusal must count it live first
    /// (before, `num_goroutine` drifted one lower per refused spawn).
    #[test]
    fn refused_insert_keeps_the_live_count() {
        let owned = OwnedTasks::new(1);
        assert!(owned.close_and_take_all().is_empty());
        assert!(!owned.insert(std::ptr::NonNull::dangling(), None));
        owned.exited(None);
        let raw: isize = owned.lists.iter().map(|s| s.live.load(Relaxed)).sum();
        assert_eq!(raw, 0);
    }
}
