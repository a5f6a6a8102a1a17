// The loom models use all of it; the unit tests only the task helpers.
#![cfg_attr(not(loom), allow(dead_code))]

//! Loom-model helpers: tasks on a test scheduler that queues into the
//! runtime's injector, and a counter of how often each task body ran.

use std::{
    panic::Location,
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
};

use super::raw::{self, Header, Notified, Schedule};
use crate::runtime::{blocking::BlockingPool, Shared};

pub(crate) struct TestSched;

impl Schedule for TestSched {
    fn schedule(shared: &Shared, task: Notified, _yielded: bool) {
        shared.inject.push(task);
    }
    fn release(shared: &Shared, header: std::ptr::NonNull<Header>) -> bool {
        // As a goroutine does (runtime/worker.rs): out of the list at once.
        shared.owned.exited(None);
        shared.owned.remove(header)
    }
}

pub(crate) fn shared() -> Arc<Shared> {
    let pool = BlockingPool::new(1, std::time::Duration::from_secs(1), "loom".into());
    Shared::new(1, pool, Default::default()).expect("runtime").0
}

/// What runtime shutdown does to the owned list: every task still listed
/// (a spilled one may have finished) gets its list reference dropped.
pub(crate) fn shutdown(shared: &Shared) {
    for t in shared.owned.close_and_take_all() {
        // SAFETY: `close_and_take_all` hands over the list's reference.
        unsafe { Notified::from_raw(t) }.shutdown();
    }
}

/// Counts how many times each task body ran.
#[derive(Default)]
pub(crate) struct Counter {
    runs: std::sync::Mutex<Vec<usize>>,
}

impl Counter {
    pub(crate) fn run(&self, t: Notified) {
        t.run();
    }

    pub(crate) fn assert_each_once(&self, n: usize) {
        let runs = self.runs.lock().unwrap();
        assert_eq!(runs.len(), n, "tasks run: {runs:?}");
        let mut sorted = runs.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            (0..n).collect::<Vec<_>>(),
            "a task ran twice or never"
        );
    }
}

thread_local! {
    static SHARED: std::cell::RefCell<Option<Arc<Shared>>> = const { std::cell::RefCell::new(None) };
}

/// A task that records `i` in `counter` when run. Its owned-list and
/// join-handle references are dropped at once: only the queue's remains.
pub(crate) fn counted(shared: &Shared, counter: &Arc<Counter>, i: usize) -> Notified {
    let c = counter.clone();
    let (n, ptr) = raw::allocate::<_, TestSched>(
        async move {
            c.runs.lock().unwrap().push(i);
        },
        shared,
        i as u64 + 1,
        0,
        Location::caller(),
    );
    // SAFETY: `allocate` gave us the join-handle reference.
    drop(unsafe { crate::task::JoinHandle::<()>::from_raw(ptr) });
    // SAFETY: and the owned-list reference, which we do not use.
    unsafe { raw::drop_ref(ptr) };
    n
}

#[allow(dead_code)]
pub(crate) fn count(a: &AtomicUsize) -> usize {
    a.load(SeqCst)
}
