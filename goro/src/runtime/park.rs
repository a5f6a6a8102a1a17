//! `Parker`: put one OS thread to sleep until another thread wakes it.
//!
//! Protocol (the three-state parker every runtime has):
//!
//! | state      | meaning                                              |
//! |------------|------------------------------------------------------|
//! | `EMPTY`    | nobody is asleep and no wake-up is pending           |
//! | `PARKED`   | the owner thread is asleep (or about to be) on `cvar` |
//! | `NOTIFIED` | a wake-up arrived; the next `park` returns at once   |
//!
//! Only the owner thread calls `park`; any thread calls `unpark`. `unpark`
//! when nobody sleeps is one atomic swap and takes no lock. The lock is taken
//! by `unpark` only when the owner is `PARKED`, so that the notify cannot
//! fall between the owner's last check and its `wait`.
//!
//! Why not `std::thread::park`? Its token is shared with any user code on the
//! same thread: a user's `park` could swallow the runtime's wake-up.

use std::time::Duration;

use crate::loom::{
    atomic::{AtomicUsize, Ordering::SeqCst},
    lock, Condvar, Mutex,
};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// A one-thread sleep/wake cell.
#[derive(Debug)]
pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Sleeps until `unpark` (or a spurious wake-up, which callers tolerate).
    pub(crate) fn park(&self) {
        self.park_inner(None)
    }

    /// Sleeps until `unpark` or until `timeout` passes.
    pub(crate) fn park_timeout(&self, timeout: Duration) {
        self.park_inner(Some(timeout))
    }

    fn park_inner(&self, timeout: Option<Duration>) {
        // Fast path: a wake-up is already pending.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let mut guard = lock(&self.lock);
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // Notified between the fast path and the lock.
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(s) => unreachable!("parker: bad state {s} on park"),
        }
        match timeout {
            None => loop {
                guard = match self.cvar.wait(guard) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                if self
                    .state
                    .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                    .is_ok()
                {
                    return;
                }
                // Spurious wake-up: still PARKED, sleep again.
            },
            Some(t) => {
                let (g, _) = match self.cvar.wait_timeout(guard, t) {
                    Ok(r) => r,
                    Err(p) => p.into_inner(),
                };
                drop(g);
                // Whether notified or timed out, leave EMPTY.
                self.state.swap(EMPTY, SeqCst);
            }
        }
    }

    /// Consumes a pending wake-up without sleeping: true if there was one.
    /// (The timer driver checks this before it sleeps in the netpoller
    /// instead of on this parker.)
    pub(crate) fn try_take(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
    }

    /// Wakes the owner if asleep, or makes its next `park` return at once.
    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Take the lock so the owner is either before its CAS to
                // PARKED (and will see NOTIFIED) or inside `wait`.
                drop(lock(&self.lock));
                self.cvar.notify_one();
            }
            s => unreachable!("parker: bad state {s} on unpark"),
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    #[test]
    fn unpark_is_never_lost() {
        loom::model(|| {
            let p = Arc::new(Parker::new());
            let p2 = p.clone();
            let t = loom::thread::spawn(move || p2.unpark());
            p.park();
            t.join().unwrap();
        });
    }
}
