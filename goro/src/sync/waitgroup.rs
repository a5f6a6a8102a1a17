//! `WaitGroup`: Go's `sync.WaitGroup`, as a cheap `Clone` handle.
//!
//! # Protocol
//!
//! One 64-bit word, `state`, and a [`WaitList`] of waiters behind `queue`.
//!
//! | bits   | field     | meaning                                            |
//! |--------|-----------|----------------------------------------------------|
//! | 63..32 | `counter` | Go's counter, an `i32`; never stored negative      |
//! | 31..1  | `gen`     | generation: bumped each time waiters are released |
//! | 0      | `WAITERS` | some waiter of generation `gen` is linked          |
//!
//! Ownership: `counter` changes by CAS from any thread (`add`, `done`);
//! `WAITERS` is set by CAS only with `queue` held, and cleared (with `gen`
//! bumped) by the `add` that brings `counter` to zero. Waiter nodes carry the
//! generation they registered in; `done` flags are set with `queue` held.
//!
//! Transitions:
//!
//! 1. *`add(n)`*: CAS `counter += n`; a result below zero panics with Go's
//!    `sync: negative WaitGroup counter` and stores nothing. If the result is
//!    zero and `WAITERS` was set, the same CAS clears `WAITERS` and bumps
//!    `gen`; then, with `queue` held, every node of the old generation is
//!    flagged done and unlinked, and woken after `queue` is released.
//! 2. *`wait()`*: a zero `counter` returns at once. Otherwise, with `queue`
//!    held, CAS in `WAITERS` (requiring `counter != 0`, else return) and link
//!    a node tagged with the current `gen`. The node is done when flagged.
//! 3. *Cancel*: a dropped waiter unlinks its node; `WAITERS` may stay set
//!    with nobody linked, which costs the next zero transition one lock.
//!
//! Why generations? A waiter released by a zero must return even if the
//! counter goes up again before it runs; and a waiter that registers after
//! that new `add` must not be released by the earlier zero. Tagging nodes
//! with the generation of the zero they wait for gives both, with a
//! lock-free `add`.

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use crate::{
    loom::{
        atomic::{AtomicU64, Ordering::*},
        lock, Mutex,
    },
    sync::{mutex::update_waker, waiter::WaitList},
    wait::{self, WaitReason},
};

#[cfg(not(loom))]
use std::sync::Arc;

#[cfg(loom)]
use loom::sync::Arc;

const WAITERS: u64 = 1;
const GEN_ONE: u64 = 2;
const GEN_MASK: u64 = 0xffff_fffe;
const COUNTER_SHIFT: u32 = 32;

#[inline]
fn counter(s: u64) -> i64 {
    i64::from((s >> COUNTER_SHIFT) as u32 as i32)
}

#[derive(Debug)]
struct Waiter {
    waker: Option<Waker>,
    gen: u64,
    done: bool,
}

#[derive(Debug)]
struct Inner {
    state: AtomicU64,
    queue: Mutex<WaitList<Waiter>>,
}

/// Waits for a collection of goroutines (or threads, or tasks) to finish:
/// Go's `sync.WaitGroup`.
///
/// A `WaitGroup` is a handle: clones share one counter, so
/// `let wg = wg.clone()` moves a handle into each goroutine. Call
/// [`add`](WaitGroup::add) before starting the work, [`done`](WaitGroup::done)
/// when each piece finishes, and [`wait`](WaitGroup::wait) (or
/// [`wait_blocking`](WaitGroup::wait_blocking)) for the counter to reach
/// zero. A negative counter panics with `sync: negative WaitGroup counter`.
///
/// A `WaitGroup` may be reused: waiters released by a zero return even if
/// the counter rises again before they run.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use goro::sync::WaitGroup;
///
/// let wg = WaitGroup::new();
/// let hits = Arc::new(AtomicUsize::new(0));
/// for _ in 0..4 {
///     wg.add(1);
///     let (wg, hits) = (wg.clone(), hits.clone());
///     std::thread::spawn(move || {
///         hits.fetch_add(1, Ordering::SeqCst);
///         wg.done();
///     });
/// }
/// wg.wait_blocking();
/// assert_eq!(hits.load(Ordering::SeqCst), 4);
/// ```
pub struct WaitGroup {
    shared: Lazy,
}

impl Inner {
    fn new() -> Inner {
        Inner {
            state: AtomicU64::new(0),
            queue: Mutex::new(WaitList::new()),
        }
    }
}

/// The counter the clones share, allocated on first use so that
/// [`WaitGroup::new`] can be `const` (a static `WaitGroup` is one handle
/// that is never cloned, or whose clones share the counter it allocated).
/// Under loom, where nothing is `const`, it is allocated at once.
struct Lazy(
    #[cfg(not(loom))] std::sync::OnceLock<Arc<Inner>>,
    #[cfg(loom)] Arc<Inner>,
);

impl Lazy {
    crate::loom::const_fn! {
        fn new() -> Lazy {
            #[cfg(not(loom))]
            return Lazy(std::sync::OnceLock::new());
            #[cfg(loom)]
            return Lazy(Arc::new(Inner::new()));
        }
    }

    #[inline]
    fn get(&self) -> &Arc<Inner> {
        #[cfg(not(loom))]
        return self.0.get_or_init(|| Arc::new(Inner::new()));
        #[cfg(loom)]
        return &self.0;
    }

    fn from_arc(inner: Arc<Inner>) -> Lazy {
        #[cfg(not(loom))]
        return Lazy(std::sync::OnceLock::from(inner));
        #[cfg(loom)]
        return Lazy(inner);
    }
}

impl Clone for WaitGroup {
    fn clone(&self) -> Self {
        WaitGroup {
            shared: Lazy::from_arc(self.shared.get().clone()),
        }
    }
}

impl WaitGroup {
    crate::loom::const_fn! {
        /// A new wait group with a zero counter; `const`, so it can be a
        /// static (Go's package-level `var wg sync.WaitGroup`).
        ///
        /// # Examples
        ///
        /// ```
        /// let wg = goro::sync::WaitGroup::new();
        /// wg.wait_blocking(); // counter is zero: returns at once
        ///
        /// static WG: goro::sync::WaitGroup = goro::sync::WaitGroup::new();
        /// WG.add(1);
        /// std::thread::spawn(|| WG.done());
        /// WG.wait_blocking();
        /// ```
        pub fn new() -> WaitGroup {
            WaitGroup {
                shared: Lazy::new(),
            }
        }
    }

    #[inline]
    fn inner(&self) -> &Inner {
        self.shared.get()
    }

    /// Adds `delta` (which may be negative) to the counter. When it reaches
    /// zero, every waiter is released.
    ///
    /// # Panics
    ///
    /// With `sync: negative WaitGroup counter` if the counter would go below
    /// zero (the counter is left unchanged), and if it would exceed
    /// `i32::MAX` (Go's counter is 32 bits too).
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro::sync::WaitGroup::new();
    /// wg.add(2);
    /// wg.done();
    /// wg.add(-1);
    /// wg.wait_blocking();
    /// ```
    pub fn add(&self, delta: isize) {
        let st = &self.inner().state;
        let mut s = st.load(Relaxed);
        loop {
            let c = counter(s) + delta as i64;
            if c < 0 {
                panic!("sync: negative WaitGroup counter");
            }
            assert!(c <= i64::from(i32::MAX), "sync: WaitGroup counter overflow");
            let mut new = ((c as u64) << COUNTER_SHIFT) | (s & (GEN_MASK | WAITERS));
            let release = c == 0 && s & WAITERS != 0;
            if release {
                new = (new & !(WAITERS | GEN_MASK))
                    | ((s & GEN_MASK).wrapping_add(GEN_ONE) & GEN_MASK);
            }
            match st.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => {
                    if release {
                        self.release(s & GEN_MASK);
                    }
                    return;
                }
                Err(now) => s = now,
            }
        }
    }

    /// Decrements the counter by one: `add(-1)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro::sync::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// wg.wait_blocking();
    /// ```
    #[inline]
    pub fn done(&self) {
        self.add(-1);
    }

    /// A future that resolves when the counter is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro::sync::WaitGroup::new();
    /// wg.add(1);
    /// let wg2 = wg.clone();
    /// let t = std::thread::spawn(move || wg2.done());
    /// futures::executor::block_on(wg.wait());
    /// t.join().unwrap();
    /// ```
    #[track_caller]
    pub fn wait(&self) -> WaitGroupWait {
        WaitGroupWait {
            wg: self.clone(),
            key: None,
            at: Location::caller(),
        }
    }

    /// Parks the calling thread until the counter is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// let wg = goro::sync::WaitGroup::new();
    /// wg.add(1);
    /// let wg2 = wg.clone();
    /// std::thread::spawn(move || wg2.done());
    /// wg.wait_blocking();
    /// ```
    #[track_caller]
    pub fn wait_blocking(&self) {
        if counter(self.inner().state.load(Acquire)) == 0 {
            return;
        }
        wait::block_on(self.wait())
    }

    /// Step 1, second half: flag and wake the waiters of generation `gen`.
    #[cold]
    fn release(&self, gen: u64) {
        let mut q = lock(&self.inner().queue);
        let mut wakers = Vec::new();
        let mut next = q.front();
        while let Some(key) = next {
            next = q.next(key);
            let w = q.get_mut(key);
            if w.gen == gen {
                w.done = true;
                if let Some(waker) = w.waker.take() {
                    wakers.push(waker);
                }
                q.unlink(key);
            }
        }
        drop(q);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// A guard that calls `done()` when dropped, even by a panic.
    pub(crate) fn done_on_drop(&self) -> DoneOnDrop {
        DoneOnDrop(self.clone())
    }

    /// Starts `fut` in a goroutine counted by this group: `add(1)` now,
    /// `done()` when it finishes — also if it panics or is aborted (Go
    /// 1.25's `wg.Go`). Must be called inside a goro runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
    /// goro::run(async {
    ///     let wg = goro::sync::WaitGroup::new();
    ///     let n = Arc::new(AtomicUsize::new(0));
    ///     for _ in 0..10 {
    ///         let n = n.clone();
    ///         wg.go(async move { n.fetch_add(1, Ordering::SeqCst); });
    ///     }
    ///     wg.wait().await;
    ///     assert_eq!(n.load(Ordering::SeqCst), 10);
    /// });
    /// ```
    #[track_caller]
    pub fn go<F>(&self, fut: F) -> crate::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let at = std::panic::Location::caller();
        self.add(1);
        let done = self.done_on_drop();
        crate::runtime::go_at(
            async move {
                let _done = done;
                fut.await
            },
            at,
        )
    }
}

/// Calls [`WaitGroup::done`] when dropped; see `WaitGroup::done_on_drop`.
#[derive(Debug)]
pub(crate) struct DoneOnDrop(WaitGroup);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.done();
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("counter", &counter(self.inner().state.load(Relaxed)))
            .finish()
    }
}

/// The future returned by [`WaitGroup::wait`].
///
/// # Examples
///
/// ```
/// let wg = goro::sync::WaitGroup::new();
/// let fut: goro::sync::WaitGroupWait = wg.wait();
/// futures::executor::block_on(fut);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WaitGroupWait {
    wg: WaitGroup,
    key: Option<usize>,
    at: &'static Location<'static>,
}

impl Future for WaitGroupWait {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let inner = this.wg.inner();
        if this.key.is_none() && counter(inner.state.load(Acquire)) == 0 {
            return Poll::Ready(());
        }
        let mut q = lock(&inner.queue);
        match this.key {
            Some(key) => {
                let w = q.get_mut(key);
                if w.done {
                    q.remove(key);
                    this.key = None;
                    return Poll::Ready(());
                }
                update_waker(&mut w.waker, cx.waker());
            }
            None => {
                let mut s = inner.state.load(Acquire);
                loop {
                    if counter(s) == 0 {
                        return Poll::Ready(());
                    }
                    match inner
                        .state
                        .compare_exchange_weak(s, s | WAITERS, AcqRel, Acquire)
                    {
                        Ok(_) => break,
                        Err(now) => s = now,
                    }
                }
                this.key = Some(q.push_back(Waiter {
                    waker: Some(cx.waker().clone()),
                    gen: s & GEN_MASK,
                    done: false,
                }));
            }
        }
        drop(q);
        wait::record(WaitReason::WaitGroupWait, this.at);
        Poll::Pending
    }
}

impl Drop for WaitGroupWait {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.wg.inner().queue).remove(key);
        }
    }
}

impl fmt::Debug for WaitGroupWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroupWait")
            .field("queued", &self.key.is_some())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::sync::loom_block_on as block_on;
    use loom::{
        sync::atomic::{AtomicUsize, Ordering::SeqCst},
        thread,
    };

    /// `wait` returns only after both `done`s, and always returns.
    #[test]
    fn wait_sees_every_done() {
        loom::model(|| {
            let wg = WaitGroup::new();
            let hits = Arc::new(AtomicUsize::new(0));
            wg.add(2);
            let ts: Vec<_> = (0..2)
                .map(|_| {
                    let (wg, hits) = (wg.clone(), hits.clone());
                    thread::spawn(move || {
                        hits.fetch_add(1, SeqCst);
                        wg.done();
                    })
                })
                .collect();
            block_on(wg.wait());
            assert_eq!(hits.load(SeqCst), 2);
            for t in ts {
                t.join().unwrap();
            }
        });
    }

    /// Reuse: a waiter registered before a zero returns even if the
    /// counter rises again before it runs.
    #[test]
    fn released_waiter_survives_reuse() {
        loom::model(|| {
            let wg = WaitGroup::new();
            wg.add(1);
            let mut fut = wg.wait();
            let waker = futures::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
            let wg1 = wg.clone();
            let t = thread::spawn(move || {
                wg1.done();
                wg1.add(1);
            });
            block_on(fut);
            t.join().unwrap();
            wg.done();
        });
    }
}
