//! Loom models of the task state machine: a wake racing the poll, abort
//! racing the poll, the join handle racing completion. Each checks that
//! the future is dropped exactly once, the output is delivered exactly
//! once, and no reference is leaked or freed twice.

use std::{
    future::Future,
    panic::Location,
    pin::Pin,
    sync::atomic::{AtomicUsize, Ordering::SeqCst},
    task::{Context, Poll, Waker},
};

use loom::{
    sync::{Arc, Mutex},
    thread,
};

use super::{
    raw::{self, Notified},
    testing::{shared, shutdown, TestSched},
    JoinHandle,
};
use crate::runtime::Shared;

struct TwoStep {
    slot: Arc<Mutex<Option<Waker>>>,
    polled: bool,
    dropped: std::sync::Arc<AtomicUsize>,
}

impl Future for TwoStep {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.polled {
            return Poll::Ready(42);
        }
        self.polled = true;
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for TwoStep {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, SeqCst);
    }
}

fn spawn<F>(sh: &Shared, f: F) -> (Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (n, ptr, listed) = sh.owned.insert(None, |e| {
        raw::allocate_listed::<F, TestSched>(f, sh, 1, 0, Location::caller(), e)
    });
    assert!(listed);
    // SAFETY: `allocate` gave us the join-handle reference.
    (n, unsafe { JoinHandle::from_raw(ptr) })
}

fn drain(sh: &Shared) {
    while let Some(t) = sh.inject.pop_batch(1, |_| {}) {
        t.run();
    }
}

#[test]
fn wake_races_poll() {
    loom::model(|| {
        let sh = shared();
        let slot = Arc::new(Mutex::new(None));
        let dropped = std::sync::Arc::new(AtomicUsize::new(0));
        let (task, handle) = spawn(
            &sh,
            TwoStep {
                slot: slot.clone(),
                polled: false,
                dropped: dropped.clone(),
            },
        );
        let sh2 = sh.clone();
        let w = thread::spawn(move || {
            task.run();
            drain(&sh2);
        });
        let s2 = slot.clone();
        let b = thread::spawn(move || {
            if let Some(w) = s2.lock().unwrap().take() {
                w.wake();
            }
        });
        w.join().unwrap();
        b.join().unwrap();
        if let Some(w) = slot.lock().unwrap().take() {
            w.wake();
        }
        drain(&sh);
        assert_eq!(loom::future::block_on(handle).unwrap(), 42);
        assert_eq!(dropped.load(SeqCst), 1);
        assert_eq!(sh.owned.len(), 0);
        shutdown(&sh);
    });
}

#[test]
fn abort_races_poll() {
    loom::model(|| {
        let sh = shared();
        let slot = Arc::new(Mutex::new(None));
        let dropped = std::sync::Arc::new(AtomicUsize::new(0));
        let (task, handle) = spawn(
            &sh,
            TwoStep {
                slot: slot.clone(),
                polled: false,
                dropped: dropped.clone(),
            },
        );
        let sh2 = sh.clone();
        let w = thread::spawn(move || {
            task.run();
            drain(&sh2);
        });
        handle.abort();
        w.join().unwrap();
        drain(&sh);
        // Release the waker the future stored (a reference to the task).
        drop(slot.lock().unwrap().take());
        let r = loom::future::block_on(handle);
        assert!(r.unwrap_err().is_cancelled());
        assert_eq!(dropped.load(SeqCst), 1);
        assert_eq!(sh.owned.len(), 0);
        shutdown(&sh);
    });
}

struct CountDrop(std::sync::Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn join_handle_drop_races_completion() {
    loom::model(|| {
        let sh = shared();
        let outputs = std::sync::Arc::new(AtomicUsize::new(0));
        let o = outputs.clone();
        let (task, handle) = spawn(&sh, async move { CountDrop(o) });
        let w = thread::spawn(move || task.run());
        drop(handle);
        w.join().unwrap();
        assert_eq!(
            outputs.load(SeqCst),
            1,
            "the output is dropped exactly once"
        );
        shutdown(&sh);
    });
}

#[test]
fn join_waker_races_completion() {
    loom::model(|| {
        let sh = shared();
        let (task, handle) = spawn(&sh, async { 7u32 });
        let w = thread::spawn(move || task.run());
        assert_eq!(loom::future::block_on(handle).unwrap(), 7);
        w.join().unwrap();
        shutdown(&sh);
    });
}

/// A future that stores its waker and never completes.
struct Forever {
    slot: Arc<Mutex<Option<Waker>>>,
    dropped: std::sync::Arc<AtomicUsize>,
}

impl Future for Forever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Forever {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, SeqCst);
    }
}

/// The pending poll's one transition (RUNNING → idle, dropping the run
/// queue's reference) races the last other reference, a waker dropped
/// without waking: whichever is last frees the task, exactly once. The
/// task's join-handle and owned-list references are dropped up front, so
/// the queue's reference can be the last one (`IdleAction::Dealloc`).
#[test]
fn waker_drop_races_idle() {
    loom::model(|| {
        let sh = shared();
        let slot = Arc::new(Mutex::new(None));
        let dropped = std::sync::Arc::new(AtomicUsize::new(0));
        let (task, ptr) = raw::allocate::<_, TestSched>(
            Forever {
                slot: slot.clone(),
                dropped: dropped.clone(),
            },
            &sh,
            1,
            0,
            Location::caller(),
        );
        // SAFETY: `allocate` gave us the join-handle reference.
        drop(unsafe { JoinHandle::<()>::from_raw(ptr) });
        // SAFETY: and the owned-list reference, which we do not use.
        unsafe { raw::drop_ref(ptr) };
        let w = thread::spawn(move || task.run());
        let s2 = slot.clone();
        let b = thread::spawn(move || {
            // Spin until the poll stored its waker, then drop it.
            loop {
                if let Some(w) = s2.lock().unwrap().take() {
                    drop(w);
                    break;
                }
                thread::yield_now();
            }
        });
        w.join().unwrap();
        b.join().unwrap();
        assert_eq!(dropped.load(SeqCst), 1, "the future is dropped once");
        shutdown(&sh);
    });
}

/// A wake racing the pending poll's transition: either the wake sees the
/// task running (and the poll requeues it, keeping the queue's reference)
/// or it sees it idle (and queues it with the waker's reference).
#[test]
fn wake_by_ref_races_idle() {
    loom::model(|| {
        let sh = shared();
        let slot = Arc::new(Mutex::new(None));
        let dropped = std::sync::Arc::new(AtomicUsize::new(0));
        let (task, handle) = spawn(
            &sh,
            Forever {
                slot: slot.clone(),
                dropped: dropped.clone(),
            },
        );
        let w = thread::spawn(move || task.run());
        let s2 = slot.clone();
        let b = thread::spawn(move || loop {
            if let Some(w) = s2.lock().unwrap().as_ref() {
                w.wake_by_ref();
                break;
            }
            thread::yield_now();
        });
        w.join().unwrap();
        b.join().unwrap();
        // Exactly one poll is queued now (the requeue or the wake's).
        let mut runs = 0;
        while let Some(t) = sh.inject.pop_batch(1, |_| {}) {
            t.run();
            runs += 1;
        }
        assert_eq!(runs, 1, "the wake queued the task exactly once");
        drop(slot.lock().unwrap().take());
        drop(handle);
        assert_eq!(dropped.load(SeqCst), 0);
        shutdown(&sh);
        assert_eq!(dropped.load(SeqCst), 1, "shutdown dropped the future once");
    });
}
