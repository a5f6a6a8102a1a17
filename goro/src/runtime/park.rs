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
//!
//! # Spinning before sleeping
//!
//! `spin_until_notified` waits for a wake-up *without* leaving `EMPTY`: it
//! only reads the state (and takes a `NOTIFIED` with the same CAS as
//! `park`'s fast path), so it changes nothing in the protocol above. An
//! `unpark` during the spin is one swap to `NOTIFIED`, which the spin sees;
//! one after the spin gave up is seen by the `park` that follows (its fast
//! path, or its CAS to `PARKED` under the lock); one after that finds
//! `PARKED` and signals the condition variable. Loom model
//! `unpark_during_spin_or_park_is_never_lost`.
//!
//! The spin is bounded by a time budget (`SPIN_BUDGET`, 10 µs) and by the
//! caller's deadline, read between rounds: a few `std::hint::spin_loop`
//! (1, 2, then 4 hints), then `std::thread::yield_now` until the budget is
//! spent (at most `YIELD_ROUNDS`). It is for hand-offs between two threads,
//! where the other side answers within a microsecond or two: a futex sleep
//! and wake-up costs a few microseconds of CPU on each side. The price is
//! CPU: a wait that lasts longer burns up to `SPIN_BUDGET` before it
//! sleeps. A yield can outlast the deadline by as long as the OS keeps the
//! thread off the CPU, as any preemption can; the next round then stops.
//!
//! Why yield more than spin? Measured on 2 busy cores (other processes
//! compiling), a ping-pong between two threads took 4.3 µs per round trip
//! with no spin, 1.6–2.3 µs with yields (or a few hints, then yields), and
//! 5–20 µs with 127 or more hints before the yields: when the other thread
//! shares our core, or waits for one, `spin_loop` only delays it, while a
//! yield lets it run (and hand the value back) at once. With idle cores a
//! yield returns in a fraction of a microsecond, so it polls almost as
//! often as a spin would.
//!
//! Why not spin in `park` itself? The workers, sysmon and the timer driver
//! park on this type too, and an idle runtime must not use CPU; only the
//! `_blocking` wait loop (`wait::block_on_deadline`) asks for the spin.

use std::time::{Duration, Instant};

use crate::loom::{
    atomic::{AtomicUsize, Ordering::SeqCst},
    hint, lock, thread, Condvar, Mutex,
};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// The longest a `spin_until_notified` spins (checked between rounds).
#[cfg_attr(loom, allow(dead_code))]
const SPIN_BUDGET: Duration = Duration::from_micros(10);
/// Rounds of `spin_loop` hints, doubling from 1 to `1 << (SPIN_ROUNDS - 1)`.
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 3;
/// At most this many `yield_now` after the spin rounds (the budget usually
/// ends them first).
#[cfg(not(loom))]
const YIELD_ROUNDS: u32 = 32;
// Under loom: one round of each, and no clock (a model must be replayable).
#[cfg(loom)]
const SPIN_ROUNDS: u32 = 1;
#[cfg(loom)]
const YIELD_ROUNDS: u32 = 1;

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
        self.park_inner(None);
    }

    /// Sleeps until `unpark` or until `timeout` passes. True when woken
    /// by `unpark` (or a wake-up was pending), false on timeout.
    pub(crate) fn park_timeout(&self, timeout: Duration) -> bool {
        self.park_inner(Some(timeout))
    }

    fn park_inner(&self, timeout: Option<Duration>) -> bool {
        // Fast path: a wake-up is already pending.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return true;
        }
        if timeout == Some(Duration::ZERO) {
            return false;
        }
        let mut guard = lock(&self.lock);
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // Notified between the fast path and the lock.
                self.state.store(EMPTY, SeqCst);
                return true;
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
                    return true;
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
                self.state.swap(EMPTY, SeqCst) == NOTIFIED
            }
        }
    }

    /// Waits for a wake-up by spinning instead of sleeping, for at most
    /// `SPIN_BUDGET` and never past `deadline`. True when one arrived (it is
    /// consumed, as `park` consumes it); false when the spin gave up, and
    /// then a wake-up that comes later is kept for the next `park`. See
    /// "Spinning before sleeping" above.
    pub(crate) fn spin_until_notified(&self, deadline: Option<Instant>) -> bool {
        let limit = spin_limit(deadline);
        for round in 0..SPIN_ROUNDS + YIELD_ROUNDS {
            if self.state.load(SeqCst) == NOTIFIED && self.try_take() {
                return true;
            }
            if limit.is_some_and(|l| Instant::now() >= l) {
                return false;
            }
            if round < SPIN_ROUNDS {
                for _ in 0..1u32 << round {
                    hint::spin_loop();
                }
            } else {
                thread::yield_now();
            }
        }
        self.try_take()
    }

    /// Whether a wake-up is pending (the next `park` would return at once).
    pub(crate) fn is_notified(&self) -> bool {
        self.state.load(SeqCst) == NOTIFIED
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

/// When a spin must stop: `SPIN_BUDGET` from now, or `deadline` if sooner.
/// `None` under loom (its models have no clock; the round counts bound the
/// spin).
#[cfg(not(loom))]
fn spin_limit(deadline: Option<Instant>) -> Option<Instant> {
    let budget = Instant::now() + SPIN_BUDGET;
    Some(deadline.map_or(budget, |d| d.min(budget)))
}

#[cfg(loom)]
fn spin_limit(_deadline: Option<Instant>) -> Option<Instant> {
    None
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

    /// The `_blocking` wait: spin, then park if the spin gave up. The
    /// unpark may land during the spin, between the spin and the park's
    /// CAS, or after the owner is `PARKED`; in every case the owner returns
    /// (a lost wake-up is a deadlock loom reports), exactly once consumed:
    /// the parker ends `EMPTY`.
    #[test]
    fn unpark_during_spin_or_park_is_never_lost() {
        loom::model(|| {
            let p = Arc::new(Parker::new());
            let p2 = p.clone();
            let t = loom::thread::spawn(move || p2.unpark());
            if !p.spin_until_notified(None) {
                p.park();
            }
            t.join().unwrap();
            assert!(!p.is_notified());
        });
    }

    /// Two wake-ups for two waits (the ping-pong: each hand-off unparks the
    /// waiting side once): the second wait returns too, whether each was
    /// ended by the spin or by the park.
    #[test]
    fn spin_then_park_twice_sees_both_wakeups() {
        loom::model(|| {
            let p = Arc::new(Parker::new());
            let ack = Arc::new(Parker::new());
            let (p2, ack2) = (p.clone(), ack.clone());
            let t = loom::thread::spawn(move || {
                p2.unpark();
                ack2.park();
                p2.unpark();
            });
            for _ in 0..2 {
                if !p.spin_until_notified(None) {
                    p.park();
                }
                ack.unpark();
            }
            t.join().unwrap();
        });
    }
}
