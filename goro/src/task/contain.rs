//! Containing user code the runtime calls on its own threads.
//!
//! A `Waker` the runtime did not make (a `JoinHandle` awaited from another
//! executor, a foreign future awaiting a sleep or a socket) is user code:
//! its `wake` or `drop` may panic. Woken from a worker, the timer driver,
//! sysmon, the netpoller or the blocking pool, that panic would unwind
//! through the scheduler and kill the thread with every goroutine queued
//! on it. Every such call goes through these helpers: the panic is caught,
//! reported on stderr (once per process; the panic hook has already
//! printed the message), and the runtime goes on.

// loom-exempt: a static 'reported once' flag.
use std::{
    any::Any,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::atomic::{AtomicBool, Ordering::Relaxed},
    task::Waker,
};

/// Wakes `waker` (by value); a panic in its `wake` is contained.
#[inline]
pub(crate) fn wake_contained(waker: Waker) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| waker.wake())) {
        contained("wake", p);
    }
}

/// Drops `v` (wakers, or anything holding them); a panicking destructor is
/// contained.
#[inline]
pub(crate) fn drop_contained<T>(v: T) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| drop(v))) {
        contained("drop", p);
    }
}

/// Reports a contained panic (once per process) and drops its payload,
/// whose own destructor may panic too (that payload is leaked).
#[cold]
fn contained(what: &str, payload: Box<dyn Any + Send>) {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    if !REPORTED.swap(true, Relaxed) {
        let msg = super::join::panic_message(&*payload);
        eprintln!(
            "goro: a waker panicked in {what} ({msg}); the runtime goes on \
             (further waker panics are not reported)"
        );
    }
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(p);
    }
}
