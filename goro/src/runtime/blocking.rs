//! `spawn_blocking`: a separate pool of OS threads for calls that block,
//! so that goroutines keep their workers (Go hands the P off during a
//! blocking syscall; goro asks the user to name such calls).
//!
//! The pool grows on demand up to `max_blocking_threads`; a thread idle for
//! `keep_alive` exits. Each call is a task like a goroutine (so its
//! `JoinHandle` is the same type) whose future runs the closure once; it is
//! never in the owned list and never woken, so abort only prevents a call
//! that has not started.

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    ptr::NonNull,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use super::{
    context::{self, Kind, ThreadCtx},
    Shared,
};
use crate::{
    loom::{lock, Condvar, Mutex},
    task::{Header, Notified, Schedule},
};

pub(crate) struct BlockingPool {
    state: Mutex<PoolState>,
    cvar: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
}

struct PoolState {
    queue: VecDeque<Notified>,
    threads: usize,
    /// Threads waiting for work, not yet reserved by a push.
    idle: usize,
    /// Threads a push reserved and notified that have not woken yet.
    notified: usize,
    /// Calls queued or running.
    in_flight: usize,
    shutdown: bool,
    next_thread: usize,
}

/// The future of a blocking call: runs the closure on its first poll.
pub(crate) struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self
            .0
            .take()
            .expect("blocking task polled after completion");
        Poll::Ready(f())
    }
}

/// The `Schedule` of blocking calls.
pub(crate) struct Blocking;

impl Schedule for Blocking {
    fn schedule(shared: &Shared, task: Notified, _yielded: bool) {
        // Only `abort` of a call that has not started gets here.
        shared.blocking.push(shared, task, false);
    }

    fn release(_shared: &Shared, _header: NonNull<Header>) -> bool {
        false
    }
}

impl BlockingPool {
    pub(crate) fn new(
        max_threads: usize,
        keep_alive: Duration,
        thread_name: String,
    ) -> BlockingPool {
        BlockingPool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                notified: 0,
                in_flight: 0,
                shutdown: false,
                next_thread: 0,
            }),
            cvar: Condvar::new(),
            max_threads: max_threads.max(1),
            keep_alive,
            thread_name,
        }
    }

    /// Calls queued or running.
    pub(crate) fn in_flight(&self) -> usize {
        lock(&self.state).in_flight
    }

    /// Pool threads alive.
    pub(crate) fn threads(&self) -> usize {
        lock(&self.state).threads
    }

    fn push(&self, shared: &Shared, task: Notified, new_call: bool) {
        let mut st = lock(&self.state);
        if st.shutdown {
            drop(st);
            // Never drop a call silently: its handle resolves `Cancelled`
            // (the closure is dropped here, outside the lock).
            task.shutdown();
            return;
        }
        st.queue.push_back(task);
        if new_call {
            st.in_flight += 1;
        }
        if st.idle > 0 {
            // Reserve the idle thread for this call (tokio's `num_notify`):
            // a second push before it wakes must not count on it too, or
            // the second call would queue behind the first.
            st.idle -= 1;
            st.notified += 1;
            drop(st);
            self.cvar.notify_one();
            return;
        }
        if st.threads < self.max_threads {
            st.threads += 1;
            let id = st.next_thread;
            st.next_thread += 1;
            drop(st);
            let shared = shared.arc();
            let name = format!("{}-blocking-{id}", self.thread_name);
            let counted = super::deadlock::goro_thread();
            let spawned = std::thread::Builder::new().name(name).spawn(move || {
                let _counted = counted;
                shared.blocking.thread_main(&shared)
            });
            if spawned.is_err() {
                // Could not start a thread: the queued call waits for an
                // existing one (or forever if none; reported by the dump).
                lock(&self.state).threads -= 1;
            }
        }
    }

    fn thread_main(&self, shared: &Arc<Shared>) {
        let ctx = ThreadCtx {
            shared: Arc::as_ptr(shared),
            kind: Kind::Blocking,
            worker: None,
            stamp: std::ptr::null(),
        };
        let _enter = context::enter(&ctx);
        #[cfg(feature = "tokio")]
        let _tokio = shared.enter_tokio();
        let mut st = lock(&self.state);
        'run: loop {
            if let Some(task) = st.queue.pop_front() {
                drop(st);
                task.run();
                st = lock(&self.state);
                st.in_flight -= 1;
                continue;
            }
            if st.shutdown {
                break;
            }
            // Idle until a push reserves this thread (it moves it from
            // `idle` to `notified`), the pool shuts down, or the keep-alive
            // passes. Spurious wake-ups wait again.
            st.idle += 1;
            loop {
                let (g, timeout) = match self.cvar.wait_timeout(st, self.keep_alive) {
                    Ok(r) => r,
                    Err(p) => p.into_inner(),
                };
                st = g;
                if st.notified > 0 {
                    st.notified -= 1;
                    continue 'run;
                }
                if st.shutdown {
                    st.idle -= 1;
                    break 'run;
                }
                if timeout.timed_out() {
                    st.idle -= 1;
                    if st.queue.is_empty() {
                        break 'run;
                    }
                    continue 'run;
                }
            }
        }
        st.threads -= 1;
    }

    /// Stops the pool: queued calls are dropped (their handles see
    /// `Cancelled`); running ones finish on their own threads.
    pub(crate) fn shutdown(&self) {
        let queued: Vec<Notified> = {
            let mut st = lock(&self.state);
            st.shutdown = true;
            let n = st.queue.len();
            st.in_flight -= n;
            st.queue.drain(..).collect()
        };
        self.cvar.notify_all();
        for t in queued {
            t.shutdown();
        }
    }
}

/// Spawns a blocking call on `shared`'s pool.
pub(crate) fn spawn<F, R>(
    shared: &Arc<Shared>,
    f: F,
    at: &'static std::panic::Location<'static>,
) -> crate::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    if shared.seed.get().is_some() {
        // Seeded scheduling: a deterministic stand-in, a goroutine on the
        // seeded thread (see `seeded.rs`).
        return shared.spawn(async move { f() }, at);
    }
    let id = super::next_goroutine_id();
    let parent = context::current_id();
    let (notified, owned_ref) =
        crate::task::raw::allocate::<_, Blocking>(BlockingTask(Some(f)), shared, id, parent, at);
    // Not in the owned list: drop that reference now.
    // SAFETY: `allocate` returned this reference to us.
    unsafe { crate::task::raw::drop_ref(owned_ref) };
    // SAFETY: `allocate` gave the task a join-handle reference.
    let handle = unsafe { crate::JoinHandle::from_raw(owned_ref) };
    shared.blocking.push(shared, notified, true);
    handle
}
