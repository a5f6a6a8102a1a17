//! The join wakers of one runtime: the waker a `JoinHandle` left to be
//! woken when its goroutine completes, kept out of the task block.
//!
//! Why not a slot in the task? Most goroutines are never joined (Go's are
//! never), and of those that are, most have finished by the time their
//! handle is awaited; a 16-byte slot in every block was a tenth of what a
//! parked goroutine costs (issue 14). Here a waker costs a map entry only
//! while a handle actually waits, in one of a few sharded maps keyed by
//! the task's address (no allocation per wait once a map has grown).
//!
//! The task's `JOIN_WAKER` bit (see `state.rs`) still says who owns the
//! entry: the handle while it is clear (it inserts, replaces, and removes
//! an entry it inserted too late, after completion); the runtime while it
//! is set: the completing worker takes it out (`take`), or, for a task
//! freed without completing (a blocking task never run), `dealloc` does.
//! So no entry outlives its task, and a freed block's address is never
//! found in a map. Every access is under the shard's lock; the wake and
//! the drop of a waker happen outside it (a foreign waker may do anything).

use std::{collections::HashMap, hash::BuildHasherDefault, task::Waker};

use crossbeam_utils::CachePadded;

use crate::loom::{lock, Mutex};

const SHARDS: usize = 8;

/// Task address → the waker of the handle waiting for it.
type Shard = Mutex<HashMap<usize, Waker, BuildHasherDefault<AddrHasher>>>;

pub(crate) struct JoinWakers {
    shards: [CachePadded<Shard>; SHARDS],
}

impl JoinWakers {
    pub(crate) fn new() -> JoinWakers {
        JoinWakers {
            shards: std::array::from_fn(|_| CachePadded::new(Mutex::new(HashMap::default()))),
        }
    }

    fn shard(&self, task: usize) -> &Shard {
        // Task blocks are at least 16 bytes apart and usually a few hundred.
        &self.shards[(task >> 6) % SHARDS]
    }

    /// Stores `waker` for `task`, returning the one it replaces (to be
    /// dropped by the caller, outside the lock).
    pub(crate) fn insert(&self, task: usize, waker: Waker) -> Option<Waker> {
        lock(self.shard(task)).insert(task, waker)
    }

    /// Whether the stored waker would wake the same task as `waker`.
    pub(crate) fn will_wake(&self, task: usize, waker: &Waker) -> bool {
        lock(self.shard(task))
            .get(&task)
            .is_some_and(|w| w.will_wake(waker))
    }

    /// How many wakers are stored.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Takes `task`'s waker out.
    pub(crate) fn take(&self, task: usize) -> Option<Waker> {
        lock(self.shard(task)).remove(&task)
    }
}

impl std::fmt::Debug for JoinWakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinWakers").finish_non_exhaustive()
    }
}

/// Task addresses are already spread; one multiplication mixes them.
#[derive(Default)]
struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        let h = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}
