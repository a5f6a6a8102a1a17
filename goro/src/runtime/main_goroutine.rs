//! The main goroutine: the future `block_on` runs on the caller's thread,
//! its wait record and parkers (what the deadlock detector and the virtual
//! clock look at), and the `block_on` loop itself.

use std::{
    cell::RefCell,
    future::Future,
    panic::Location,
    pin::pin,
    sync::Arc,
    task::{Context, Poll, Waker},
};

use super::{
    context::{self, Kind, ThreadCtx},
    deadlock, lock, next_goroutine_id, Runtime, Shared,
};
use crate::loom::{
    atomic::{AtomicU64, AtomicUsize, Ordering::*},
    Mutex,
};
use crate::wait::{ThreadWaker, WaitReason, WaitRecord};

/// The goroutine `block_on` runs on the caller's thread.
pub(crate) struct MainGoroutine {
    pub(super) id: AtomicU64,
    pub(super) active: AtomicUsize,
    pub(super) wait: WaitRecord,
    /// Threads inside `block_on` between deciding to sleep and waking up
    /// (the deadlock detector's "main is blocked" when all `active` are).
    pub(super) parked: AtomicUsize,
    /// Polls of the main future (the deadlock detector's progress count).
    pub(super) polls: AtomicU64,
    /// The parkers of the threads inside `block_on` (one, unless a
    /// `Handle::block_on` runs beside `Runtime::block_on`).
    pub(super) parker: Mutex<Vec<Arc<ThreadWaker>>>,
    /// A deadlock report for `block_on` to panic with (test mode).
    pub(super) deadlock: std::sync::OnceLock<String>,
}

impl MainGoroutine {
    pub(super) fn new() -> MainGoroutine {
        MainGoroutine {
            id: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            wait: WaitRecord::new(),
            parked: AtomicUsize::new(0),
            polls: AtomicU64::new(0),
            parker: Mutex::new(Vec::new()),
            deadlock: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id.load(Relaxed)
    }

    /// Main is about to be polled: no wait recorded, and the poll count
    /// moves. The count is a change detector for the deadlock check, not
    /// an exact count (two threads in `block_on` may race here: no check
    /// runs then).
    pub(super) fn begin_poll(&self) {
        self.wait.clear();
        self.polls
            .store(self.polls.load(Relaxed).wrapping_add(1), Relaxed);
    }

    /// Whether a `block_on` is running, and what it waits for (reason,
    /// site, since when on the coarse clock).
    pub(crate) fn wait(&self) -> Option<(WaitReason, Option<&'static Location<'static>>, u32)> {
        if self.active.load(Relaxed) == 0 {
            return None;
        }
        Some(self.wait.get())
    }

    /// Whether the main goroutine is asleep (or about to be): every
    /// thread inside `block_on` is.
    pub(crate) fn is_parked(&self) -> bool {
        let parked = self.parked.load(SeqCst);
        parked > 0 && parked >= self.active.load(SeqCst)
    }

    /// Asleep with no wake-up pending (or no `block_on` running at all).
    pub(crate) fn is_idle(&self) -> bool {
        if self.active.load(SeqCst) == 0 {
            return true;
        }
        self.is_parked() && !lock(&self.parker).iter().any(|p| p.0.is_notified())
    }

    /// Wakes the thread inside `block_on`.
    pub(crate) fn wake(&self) {
        for p in lock(&self.parker).iter() {
            p.0.unpark();
        }
    }
}

thread_local! {
    /// The main goroutine's own parker: not the one `_blocking` calls use,
    /// so a blocking call inside `main` cannot swallow main's wake-up.
    static MAIN_WAKER: RefCell<Option<(Arc<ThreadWaker>, Waker)>> = const { RefCell::new(None) };
}

impl Runtime {
    /// `block_on` for `Runtime` and `Handle`.
    #[track_caller]
    pub(crate) fn block_on_shared<F: Future>(arc: &Arc<Shared>, fut: F) -> F::Output {
        if context::is_entered() {
            panic!(
                "goro: cannot call block_on from inside a goroutine or a runtime thread \
                 (it would block a worker); use .await"
            );
        }
        let shared = &**arc;
        let ctx = ThreadCtx {
            shared: Arc::as_ptr(arc),
            kind: Kind::Main,
            worker: None,
            stamp: std::ptr::null(),
        };
        let _enter = context::enter(&ctx);
        #[cfg(feature = "tokio")]
        let _tokio = shared.enter_tokio();
        let main = &shared.main;
        if main.id.load(Relaxed) == 0 {
            main.id.store(next_goroutine_id(), Relaxed);
        }
        let (parker, waker) = MAIN_WAKER.with(|m| {
            m.borrow_mut()
                .get_or_insert_with(ThreadWaker::new_pair)
                .clone()
        });
        lock(&main.parker).push(parker.clone());
        main.active.fetch_add(1, SeqCst);
        deadlock::BLOCK_ON_THREADS.fetch_add(1, SeqCst);
        struct Leave<'a>(&'a Shared, &'a Arc<ThreadWaker>);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                deadlock::BLOCK_ON_THREADS.fetch_sub(1, SeqCst);
                self.0.main.active.fetch_sub(1, SeqCst);
                let mut parkers = lock(&self.0.main.parker);
                if let Some(i) = parkers.iter().position(|p| Arc::ptr_eq(p, self.1)) {
                    parkers.swap_remove(i);
                }
                // Another thread still inside `block_on` may have gone to
                // sleep while this one ran (no idle check then): wake it to
                // look again.
                for p in parkers.iter() {
                    p.0.unpark();
                }
            }
        }
        let _leave = Leave(shared, &parker);

        let mut fut = pin!(fut);
        if let Some(cfg) = shared.seed.get() {
            return super::seeded::block_on(shared, &parker, fut, *cfg);
        }
        let mut cx = Context::from_waker(&waker);
        loop {
            main.begin_poll();
            let r = fut.as_mut().poll(&mut cx);
            if let Poll::Ready(v) = r {
                return v;
            }
            // Asleep from here on, as far as the deadlock detector and the
            // virtual clock are concerned; if every worker is parked too,
            // this thread is the last to go idle and does their check.
            main.parked.fetch_add(1, SeqCst);
            let skip_sleep = shared.watches_idle()
                && shared.idle.num_parked() == shared.procs
                && shared.on_all_idle(&parker.0);
            if !skip_sleep {
                parker.0.park();
            }
            main.parked.fetch_sub(1, SeqCst);
            if let Some(report) = main.deadlock.get() {
                panic!("{report}");
            }
        }
    }
}
