//! The runtime: goroutines multiplexed onto `procs` worker threads by a
//! work-stealing scheduler (Go's G-M-P: goroutine / thread / processor).
//!
//! Most programs need only [`run`] (or `#[goro::main]`) and [`go`]:
//! `run` starts a runtime with one worker per CPU (`GOMAXPROCS` is
//! honoured), runs the main future on the calling thread until it
//! returns, and shuts the runtime down. [`Builder`] sets the number of
//! workers and the safety nets (deadlock detection, sysmon, the SIGQUIT
//! dump); a [`Runtime`] can be kept and reused with [`Runtime::block_on`].
//! Several threads may each run their own runtime.
//!
//! Inside a runtime: [`go`] starts a goroutine, [`spawn_blocking`] runs a
//! blocking call on the blocking pool, [`yield_now`] is `runtime.Gosched`,
//! [`num_goroutine`] and [`procs`] are Go's `NumGoroutine` and
//! `GOMAXPROCS`. [`dump`] lists every goroutine with its wait reason and
//! the line it waits at, [`stats`] counts what the scheduler did.
//!
//! # Examples
//!
//! ```
//! let rt = goro::Runtime::builder().procs(2).build().unwrap();
//! let n = rt.block_on(async {
//!     let hs: Vec<_> = (0..4_u64).map(|i| goro::go(async move { i * i })).collect();
//!     let mut sum = 0;
//!     for h in hs {
//!         sum += h.await.unwrap();
//!     }
//!     sum
//! });
//! assert_eq!(n, 14);
//! ```
//!
//! # Compared with Go and tokio
//!
//! As in tokio, a goroutine is a future and is preempted only at an
//! `.await` (with a cooperative budget: a goroutine whose channel is always
//! ready still yields after 128 operations). A goroutine that blocks its
//! thread (a blocking call, a long computation) is detected by sysmon as in
//! Go: after 10 ms the goroutines queued behind it move to other workers
//! and a replacement thread keeps `procs` threads running goroutines. A
//! panicking goroutine does not kill the process (Go) but is returned by
//! its [`JoinHandle`] (tokio).
//!
//! Shutdown (dropping the `Runtime`, or `run` returning): workers stop at
//! their next scheduling point, then every goroutine still alive has its
//! future dropped on the dropping thread (destructors run), then queued
//! references and timers are released. Running blocking calls finish on
//! their own threads; queued ones are cancelled.
//!
//! The code map and the scheduler's protocols are documented in the
//! source (`runtime/worker.rs`).

pub(crate) mod blocking;
pub(crate) mod context;
pub(crate) mod coop;
pub(crate) mod deadlock;
pub(crate) mod dump;
mod handle;
mod idle;
pub(crate) mod inject;
#[cfg(feature = "net")]
pub(crate) mod io;
#[cfg(not(feature = "net"))]
#[path = "io/none.rs"]
pub(crate) mod io;
pub(crate) mod owned;
pub(crate) mod park;
pub(crate) mod queue;
pub(crate) mod signal;
mod stats;
pub(crate) mod sysmon;
pub(crate) mod worker;

use std::{
    cell::{Cell, RefCell},
    fmt,
    future::Future,
    panic::Location,
    pin::pin,
    sync::{
        atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::*},
        Arc, Mutex,
    },
    task::{Context, Poll, Waker},
    time::Duration,
};

use crossbeam_utils::CachePadded;

#[doc(hidden)]
pub use crate::wait::set_wait_tracking;
pub use crate::wait::WaitReason;
pub use dump::{dump, Dump, Goroutine, Status};
pub use handle::{Handle, TryCurrentError};
pub use stats::{stats, Stats, WorkerStats};

use crate::wait::ThreadWaker;
use crate::{
    task::{raw, JoinHandle, Notified},
    time::driver::TimerDriver,
};
use context::{Kind, ThreadCtx};
use park::Parker;

const NO_DRIVER: usize = usize::MAX;

/// The part of a worker that other threads touch.
pub(crate) struct Remote {
    pub(crate) steal: queue::Steal,
    pub(crate) parker: Parker,
    /// What this worker polls, for sysmon (also counts its polls).
    pub(crate) stamp: sysmon::PollStamp,
    /// Successful steals from this worker's ring (statistics).
    pub(crate) steals: AtomicU64,
}

/// The goroutine `block_on` runs on the caller's thread.
pub(crate) struct MainGoroutine {
    id: AtomicU64,
    active: AtomicUsize,
    wait_reason: AtomicU8,
    wait_at: AtomicPtr<Location<'static>>,
    wait_since: AtomicU32,
    /// Threads inside `block_on` between deciding to sleep and waking up
    /// (the deadlock detector's "main is blocked" when all `active` are).
    parked: AtomicUsize,
    /// Polls of the main future (the deadlock detector's progress count).
    polls: AtomicU64,
    /// The parkers of the threads inside `block_on` (one, unless a
    /// `Handle::block_on` runs beside `Runtime::block_on`).
    parker: Mutex<Vec<Arc<ThreadWaker>>>,
    /// A deadlock report for `block_on` to panic with (test mode).
    deadlock: std::sync::OnceLock<String>,
}

impl MainGoroutine {
    fn new() -> MainGoroutine {
        MainGoroutine {
            id: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            wait_reason: AtomicU8::new(0),
            wait_at: AtomicPtr::new(std::ptr::null_mut()),
            wait_since: AtomicU32::new(0),
            parked: AtomicUsize::new(0),
            polls: AtomicU64::new(0),
            parker: Mutex::new(Vec::new()),
            deadlock: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id.load(Relaxed)
    }

    pub(crate) fn record_wait(&self, reason: WaitReason, at: &'static Location<'static>) {
        self.wait_at.store(at as *const _ as *mut _, Relaxed);
        self.wait_since.store(crate::wait::coarse_now(), Relaxed);
        self.wait_reason.store(reason as u8, Relaxed);
    }

    /// Whether a `block_on` is running, and what it waits for (reason,
    /// site, since when on the coarse clock).
    pub(crate) fn wait(&self) -> Option<(WaitReason, Option<&'static Location<'static>>, u32)> {
        if self.active.load(Relaxed) == 0 {
            return None;
        }
        let r = WaitReason::from_u8(self.wait_reason.load(Relaxed));
        // SAFETY: only `&'static Location`s are stored.
        let at = unsafe { self.wait_at.load(Relaxed).as_ref() };
        Some((r, at, self.wait_since.load(Relaxed)))
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

/// Locks a plain `std` mutex (one outside the loom models; see
/// `crate::loom::lock` for the others), ignoring poisoning.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The goroutine threads parked in `_blocking` calls: the last key handed
/// out, and each thread's key and parker.
type BlockedCalls = (usize, Vec<(usize, Arc<ThreadWaker>)>);

/// Everything the workers, wakers and handles of one runtime share.
pub(crate) struct Shared {
    pub(crate) remotes: Box<[CachePadded<Remote>]>,
    pub(crate) inject: inject::Inject,
    pub(crate) idle: idle::Idle,
    pub(crate) owned: owned::OwnedTasks,
    pub(crate) timers: TimerDriver,
    /// The netpoller; polled by the timer-driver worker while it parks.
    pub(crate) io: io::IoDriver,
    timer_driver: AtomicUsize,
    pub(crate) blocking: blocking::BlockingPool,
    shutdown: AtomicBool,
    pub(crate) procs: usize,
    pub(crate) main: MainGoroutine,
    /// A `deadlock::Mode`.
    deadlock_mode: AtomicU8,
    deadlock_reported: AtomicBool,
    pub(crate) sysmon: sysmon::Sysmon,
    /// Goroutine threads (workers, replacements) parked inside a goro
    /// `_blocking` call, with a key each: shutdown unparks them so that
    /// they give up the wait (see `context::BlockingCall`).
    blocked: Mutex<BlockedCalls>,
    /// Feature `tokio`: the tokio runtime whose context every thread of
    /// this runtime enters (set once by `Builder::build`).
    #[cfg(feature = "tokio")]
    pub(crate) tokio: std::sync::OnceLock<tokio::runtime::Handle>,
}

impl Shared {
    /// Another strong reference to this `Shared` (which always lives in an `Arc`).
    pub(crate) fn arc(&self) -> Arc<Shared> {
        // SAFETY: every `Shared` is created inside an `Arc` (see
        // `Builder::build`) and `self` proves a strong count is alive.
        unsafe {
            Arc::increment_strong_count(self as *const Shared);
            Arc::from_raw(self as *const Shared)
        }
    }

    /// Registers a goroutine thread parked in a `_blocking` call on
    /// `parker`; returns its key.
    pub(crate) fn register_blocked(&self, parker: &Arc<ThreadWaker>) -> usize {
        let mut b = lock(&self.blocked);
        b.0 += 1;
        let key = b.0;
        b.1.push((key, parker.clone()));
        key
    }

    pub(crate) fn unregister_blocked(&self, key: usize) {
        let mut b = lock(&self.blocked);
        if let Some(i) = b.1.iter().position(|(k, _)| *k == key) {
            b.1.swap_remove(i);
        }
    }

    /// Shutdown (the flag is set): every goroutine thread parked in a
    /// `_blocking` call wakes, sees the flag and gives up its wait. One
    /// registering after this sees the flag (it checks after registering,
    /// and this lock orders the two).
    fn release_blocked(&self) {
        let parkers: Vec<Arc<ThreadWaker>> = lock(&self.blocked)
            .1
            .iter()
            .map(|(_, p)| p.clone())
            .collect();
        for p in parkers {
            p.0.unpark();
        }
    }

    #[inline]
    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// Wakes a parked worker if work was queued and nobody searches.
    #[inline]
    pub(crate) fn notify_parked(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.unpark_worker(w);
        } else {
            // While a worker is stuck in a poll, its replacement may be
            // the one to wake (one load; 0 otherwise).
            self.sysmon.notify_helper();
        }
    }

    /// Wakes worker `w`: its parker, and the netpoller if `w` sleeps in
    /// `epoll_wait` as the timer driver. Pairs with the driver storing the
    /// role, then `Parker::try_take` before it polls (all `SeqCst`): either
    /// the driver sees this notification, or this sees the role and wakes
    /// the poller.
    pub(crate) fn unpark_worker(&self, w: usize) {
        self.remotes[w].parker.unpark();
        if self.timer_driver.load(SeqCst) == w {
            self.io.wake();
        }
    }

    /// No worker holds the timer-driver role (none sleeps in the poller).
    pub(crate) fn no_timer_driver(&self) -> bool {
        self.timer_driver.load(SeqCst) == NO_DRIVER
    }

    /// Queues a task from outside the workers.
    pub(crate) fn push_remote(&self, task: Notified) {
        if self.inject.push(task) {
            self.notify_parked();
        }
    }

    /// Any queued work anywhere (for the last searcher's re-check).
    pub(crate) fn has_work(&self) -> bool {
        !self.inject.is_empty() || self.remotes.iter().any(|r| !r.steal.is_empty())
    }

    /// Fires the timers due now (on the runtime's clock, which is virtual
    /// when it started paused). Returns how many it woke.
    pub(crate) fn fire_timers(&self) -> usize {
        self.timers.fire_expired(self.timers.now())
    }

    /// Sockets registered with the netpoller (the deadlock detector counts
    /// them as wake sources).
    pub(crate) fn io_registered(&self) -> usize {
        self.io.registered()
    }

    /// A worker about to park volunteers to sleep with the timer deadline.
    pub(crate) fn take_timer_role(&self, worker: usize) -> bool {
        self.timer_driver
            .compare_exchange(NO_DRIVER, worker, SeqCst, SeqCst)
            .is_ok()
    }

    pub(crate) fn release_timer_role(&self) {
        self.timer_driver.store(NO_DRIVER, SeqCst);
    }

    /// A timer became the earliest: wake the worker sleeping with the old
    /// deadline so it re-computes, or any worker if none holds the role.
    pub(crate) fn kick_timer_driver(&self) {
        match self.timer_driver.load(SeqCst) {
            NO_DRIVER => {
                // Workers are running (they check timers as they go) or
                // about to take the role; if every worker is parked without
                // it, wake one.
                if self.idle.num_parked() == self.procs {
                    if let Some(w) = self.idle.all_parked().first() {
                        self.unpark_worker(*w);
                    }
                }
                // Sysmon drives timers while a worker is stuck.
                self.sysmon.kick_timers();
            }
            w => self.unpark_worker(w),
        }
    }

    /// A runtime's shared state with no threads started yet, and the
    /// owner ends of the workers' run queues.
    pub(crate) fn new(
        procs: usize,
        blocking: blocking::BlockingPool,
        sysmon: sysmon::Config,
    ) -> std::io::Result<(Arc<Shared>, Vec<queue::Local>)> {
        let (locals, steals) = worker::new_queues(procs);
        let shared = Arc::new(Shared {
            remotes: steals
                .into_iter()
                .map(|steal| {
                    CachePadded::new(Remote {
                        steal,
                        parker: Parker::new(),
                        stamp: sysmon::PollStamp::default(),
                        steals: AtomicU64::new(0),
                    })
                })
                .collect(),
            inject: inject::Inject::new(),
            idle: idle::Idle::new(procs),
            owned: owned::OwnedTasks::new(procs),
            timers: TimerDriver::new(),
            io: io::IoDriver::new()?,
            timer_driver: AtomicUsize::new(NO_DRIVER),
            blocking,
            shutdown: AtomicBool::new(false),
            #[cfg(feature = "tokio")]
            tokio: std::sync::OnceLock::new(),
            procs,
            main: MainGoroutine::new(),
            deadlock_mode: AtomicU8::new(deadlock::Mode::Off as u8),
            deadlock_reported: AtomicBool::new(false),
            sysmon: sysmon::Sysmon::new(sysmon),
            blocked: Mutex::new((0, Vec::new())),
        });
        Ok((shared, locals))
    }

    fn spawn<F>(&self, fut: F, at: &'static Location<'static>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = next_goroutine_id();
        let parent = context::current_id();
        let (notified, ptr) = raw::allocate::<F, worker::Goroutine>(fut, self, id, parent, at);
        // SAFETY: `allocate` made a join-handle reference for us.
        let handle = unsafe { JoinHandle::from_raw(ptr) };
        if !self.owned.insert(ptr, context::worker_index(self)) {
            // Shutting down: cancel at once (its future is dropped here).
            // SAFETY: the owned-list reference the list refused.
            unsafe { Notified::from_raw(ptr) }.shutdown();
            drop(notified);
            return handle;
        }
        worker::schedule_spawned(self, notified);
        handle
    }
}

/// Goroutine ids: one process-wide counter, handed out to threads in
/// batches so that spawning does not contend on it (Go's `goidcache`).
pub(crate) fn next_goroutine_id() -> u64 {
    const BATCH: u64 = 64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static CACHE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    CACHE
        .try_with(|c| {
            let (mut next, mut end) = c.get();
            if next == end {
                next = NEXT.fetch_add(BATCH, Relaxed);
                end = next + BATCH;
            }
            c.set((next + 1, end));
            next
        })
        .unwrap_or_else(|_| NEXT.fetch_add(1, Relaxed))
}

/// Configures and builds a [`Runtime`].
///
/// # Examples
///
/// ```
/// let rt = goro::Runtime::builder().procs(2).build().unwrap();
/// assert_eq!(rt.procs(), 2);
/// assert_eq!(rt.block_on(async { goro::procs() }), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    procs: Option<usize>,
    max_blocking_threads: usize,
    blocking_keep_alive: Duration,
    thread_name: String,
    thread_stack_size: Option<usize>,
    deadlock_detection: bool,
    sigquit_dump: bool,
    start_paused: bool,
    sysmon: sysmon::Config,
    #[cfg(feature = "tokio")]
    tokio_handle: Option<tokio::runtime::Handle>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// The default number of procs: `GOMAXPROCS` if set to a positive number,
/// else the number of cores available to the process.
pub(crate) fn default_procs() -> usize {
    if let Ok(v) = std::env::var("GOMAXPROCS") {
        if let Ok(n) = v.trim().parse::<usize>() {
            if n > 0 {
                return n;
            }
        }
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Builder {
    /// A builder with Go's defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::runtime::Builder::new().procs(1).build().unwrap();
    /// assert_eq!(rt.block_on(async { 2 + 2 }), 4);
    /// ```
    pub fn new() -> Builder {
        Builder {
            procs: None,
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            thread_name: "goro".into(),
            thread_stack_size: None,
            deadlock_detection: true,
            #[cfg(feature = "tokio")]
            tokio_handle: None,
            sigquit_dump: true,
            start_paused: false,
            sysmon: sysmon::Config::default(),
        }
    }

    /// The number of worker threads running goroutines at once (Go's
    /// `GOMAXPROCS`). Default: env `GOMAXPROCS`, else the number of cores.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(3).build().unwrap();
    /// assert_eq!(rt.procs(), 3);
    /// assert_eq!(rt.block_on(async { goro::procs() }), 3);
    /// ```
    pub fn procs(mut self, n: usize) -> Builder {
        self.procs = Some(n.max(1));
        self
    }

    /// The most threads the `spawn_blocking` pool may grow to (default 512).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().max_blocking_threads(4).build().unwrap();
    /// let n = rt.block_on(async {
    ///     let hs: Vec<_> = (0..8).map(|i| goro::spawn_blocking(move || i * 2)).collect();
    ///     let mut sum = 0;
    ///     for h in hs {
    ///         sum += h.await.unwrap(); // 8 calls on at most 4 threads
    ///     }
    ///     sum
    /// });
    /// assert_eq!(n, 56);
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = n.max(1);
        self
    }

    /// How long an idle blocking-pool thread lingers (default 10 s).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = goro::Runtime::builder()
    ///     .blocking_keep_alive(Duration::from_millis(100))
    ///     .build()
    ///     .unwrap();
    /// let out = rt.block_on(async { goro::spawn_blocking(|| "done").await.unwrap() });
    /// assert_eq!(out, "done");
    /// ```
    pub fn blocking_keep_alive(mut self, d: Duration) -> Builder {
        self.blocking_keep_alive = d;
        self
    }

    /// The prefix of the runtime's thread names (default `goro`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().thread_name("shop").build().unwrap();
    /// let name = rt.block_on(async {
    ///     goro::go(async { std::thread::current().name().map(str::to_owned) }).await.unwrap()
    /// });
    /// assert!(name.unwrap().starts_with("shop"));
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Builder {
        self.thread_name = name.into();
        self
    }

    /// The stack size of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder()
    ///     .thread_stack_size(4 << 20) // 4 MiB per worker thread
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(rt.block_on(async { goro::go(async { 1 }).await.unwrap() }), 1);
    /// ```
    pub fn thread_stack_size(mut self, bytes: usize) -> Builder {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// Whether the runtime reports a global deadlock (default: on). When
    /// the main goroutine and every goroutine are blocked on goro
    /// primitives and nothing (timer, socket, blocking call, other thread)
    /// can wake one, it prints Go's
    /// `fatal error: all goroutines are asleep - deadlock!` and the
    /// [`dump`], and exits with status 2. Under `#[goro::test]` the test panics with that text
    /// instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().deadlock_detection(false).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn deadlock_detection(mut self, on: bool) -> Builder {
        self.deadlock_detection = on;
        self
    }

    /// Whether `SIGQUIT` (Ctrl-\\) prints every goroutine to stderr and
    /// exits with status 2, as Go does (default: on). The handler is
    /// installed once per process, by the first runtime built with it on.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().sigquit_dump(false).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn sigquit_dump(mut self, on: bool) -> Builder {
        self.sigquit_dump = on;
        self
    }

    /// Starts the runtime with its clock paused (for tests; tokio's
    /// `start_paused`, Go's `testing/synctest`): time stands still while
    /// goroutines run, and whenever every goroutine is blocked it jumps to
    /// the earliest timer, which fires at once. Timeout logic is then
    /// tested without waiting. Read the clock with
    /// [`time::now`](crate::time::now); `std::time::Instant::now()` keeps
    /// real time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = goro::Runtime::builder().start_paused(true).build().unwrap();
    /// let real = std::time::Instant::now();
    /// rt.block_on(async {
    ///     let start = goro::time::now();
    ///     goro::time::sleep(Duration::from_secs(3600)).await;
    ///     assert_eq!(goro::time::now() - start, Duration::from_secs(3600));
    /// });
    /// assert!(real.elapsed() < Duration::from_secs(60));
    /// ```
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.start_paused = paused;
        self
    }

    /// Whether to run sysmon, the monitor thread that keeps goroutines
    /// moving when one of them blocks its worker thread (default: on).
    ///
    /// With sysmon, a goroutine that stays inside one poll for longer than
    /// [`sysmon_threshold`](Builder::sysmon_threshold) (a blocking call,
    /// a long computation) has the goroutines queued behind it moved to the
    /// other workers, and a replacement thread is started so that `procs`
    /// threads keep running goroutines. Without it, they wait until the
    /// poll ends, and nothing is reported. Costs nothing on the scheduling
    /// path but a few plain stores per poll, and no CPU while the runtime
    /// is idle.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().sysmon(false).build().unwrap();
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// ```
    pub fn sysmon(mut self, on: bool) -> Builder {
        self.sysmon.enabled = on;
        self
    }

    /// How long a goroutine may stay inside one poll before sysmon hands
    /// its worker's queue to the others (default 10 ms, as Go's forced
    /// preemption). Values below 100 µs are raised to 100 µs.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = goro::Runtime::builder()
    ///     .procs(1)
    ///     .sysmon_threshold(Duration::from_millis(5))
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     // Blocks its worker (don't do this; use spawn_blocking): after
    ///     // 5 ms sysmon starts a replacement, so `quick` still runs.
    ///     let slow = goro::go(async { std::thread::sleep(Duration::from_millis(50)) });
    ///     let quick = goro::go(async { 42 });
    ///     assert_eq!(quick.await.unwrap(), 42);
    ///     slow.await.unwrap();
    /// });
    /// ```
    pub fn sysmon_threshold(mut self, d: Duration) -> Builder {
        self.sysmon.threshold = d.max(Duration::from_micros(100));
        self
    }

    /// The most threads the runtime's scheduler may have (workers, sysmon,
    /// and the replacements sysmon starts for blocked workers); default
    /// 10,000 as Go's `debug.SetMaxThreads`. When it is reached, sysmon logs
    /// it once and stops starting replacements (goroutines queued behind a
    /// blocked worker then wait, as without sysmon); Go crashes instead.
    /// The `spawn_blocking` pool has its own limit,
    /// [`max_blocking_threads`](Builder::max_blocking_threads).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(2).max_threads(16).build().unwrap();
    /// assert_eq!(rt.procs(), 2);
    /// ```
    pub fn max_threads(mut self, n: usize) -> Builder {
        self.sysmon.max_threads = n.max(1);
        self
    }

    /// Whether sysmon warns about goroutines that block their worker
    /// (default: on). The warning is printed once per spawn site, through
    /// the `log` crate when the program has installed a logger, else on
    /// stderr:
    ///
    /// ```text
    /// goro: goroutine 42 (spawned at src/main.rs:17) blocked its worker for 250 ms; use spawn_blocking for blocking calls
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().warn_blocking(false).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn warn_blocking(mut self, on: bool) -> Builder {
        self.sysmon.warn = on;
        self
    }

    /// Feature `tokio`: the tokio runtime whose context goro's threads
    /// enter, instead of goro's own background one (see [`crate::compat`]).
    /// Tokio IO, timers and `tokio::spawn` in goroutines then run on it.
    ///
    /// # Examples
    ///
    /// ```
    /// let tokio_rt = tokio::runtime::Runtime::new().unwrap();
    /// let rt = goro::Runtime::builder().tokio_handle(tokio_rt.handle().clone()).build().unwrap();
    /// rt.block_on(async {
    ///     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    /// });
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn tokio_handle(mut self, handle: tokio::runtime::Handle) -> Builder {
        self.tokio_handle = Some(handle);
        self
    }

    /// Starts the worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(2).build().expect("threads and a poller");
    /// assert_eq!(rt.procs(), 2);
    /// ```
    pub fn build(self) -> std::io::Result<Runtime> {
        let procs = self.procs.unwrap_or_else(default_procs);
        let mut sm = self.sysmon.clone();
        sm.thread_name = self.thread_name.clone();
        sm.stack_size = self.thread_stack_size;
        let (shared, locals) = Shared::new(
            procs,
            blocking::BlockingPool::new(
                self.max_blocking_threads,
                self.blocking_keep_alive,
                self.thread_name.clone(),
            ),
            sm,
        )?;
        if self.deadlock_detection {
            shared.set_deadlock_mode(deadlock::Mode::Exit);
        }
        if self.start_paused {
            shared.timers.pause();
        }
        #[cfg(feature = "tokio")]
        {
            let h = self
                .tokio_handle
                .clone()
                .unwrap_or_else(crate::compat::handle);
            let _ = shared.tokio.set(h);
        }
        if self.sigquit_dump {
            signal::install_sigquit();
        }
        dump::register(&shared);
        deadlock::LIVE_RUNTIMES.fetch_add(1, SeqCst);
        let mut rt = Runtime {
            shared: shared.clone(),
            threads: Vec::with_capacity(procs),
        };
        for (i, local) in locals.into_iter().enumerate() {
            let mut b =
                std::thread::Builder::new().name(format!("{}-worker-{i}", self.thread_name));
            if let Some(s) = self.thread_stack_size {
                b = b.stack_size(s);
            }
            let sh = shared.clone();
            let counted = deadlock::goro_thread();
            // On failure `rt` drops, stopping the workers already started.
            rt.threads.push(b.spawn(move || {
                let _counted = counted;
                worker::run(sh, i, local)
            })?);
        }
        sysmon::Sysmon::start(&shared)?;
        Ok(rt)
    }
}

/// A goro runtime: `procs` worker threads, a blocking pool and timers.
///
/// Dropping it stops the workers and drops every goroutine still alive
/// (their destructors run), as a Go program's goroutines end with `main`.
/// A goroutine waiting inside a `_blocking` call (which holds its worker
/// thread) is released: the call unwinds out of the goroutine, which ends
/// as cancelled (its `JoinHandle` returns `JoinError::Cancelled`; nothing
/// is reported as a panic). Calls still queued on the blocking pool are
/// cancelled; running ones finish on their own threads.
///
/// # Examples
///
/// ```
/// let rt = goro::Runtime::new().unwrap();
/// let v = rt.block_on(async {
///     let h = goro::go(async { 40 + 2 });
///     h.await.unwrap()
/// });
/// assert_eq!(v, 42);
/// ```
pub struct Runtime {
    shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("procs", &self.shared.procs)
            .field("goroutines", &self.shared.owned.len())
            .finish()
    }
}

thread_local! {
    /// The main goroutine's own parker: not the one `_blocking` calls use,
    /// so a blocking call inside `main` cannot swallow main's wake-up.
    static MAIN_WAKER: RefCell<Option<(Arc<ThreadWaker>, Waker)>> = const { RefCell::new(None) };
}

impl Runtime {
    /// A runtime with the default configuration (see [`Builder`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { "hi" }), "hi");
    /// ```
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(1).build().unwrap();
    /// assert_eq!(rt.procs(), 1);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(2).build().unwrap();
    /// assert_eq!(rt.procs(), 2);
    /// ```
    pub fn procs(&self) -> usize {
        self.shared.procs
    }

    /// Goroutines alive in this runtime, counting each thread inside
    /// `block_on` as one (Go's `runtime.NumGoroutine`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// assert_eq!(rt.num_goroutine(), 0);
    /// let (tx, rx) = goro::chan::<()>(0);
    /// let h = rt.go(async move { rx.recv().await });
    /// assert_eq!(rt.num_goroutine(), 1);
    /// drop(tx);
    /// rt.block_on(h).unwrap();
    /// ```
    pub fn num_goroutine(&self) -> usize {
        self.shared.owned.len() + self.shared.main.active.load(Relaxed)
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// A snapshot of this runtime's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().procs(2).build().unwrap();
    /// rt.block_on(async { goro::go(async {}).await.unwrap() });
    /// let s = rt.stats();
    /// assert_eq!(s.procs, 2);
    /// assert_eq!(s.workers.len(), 2);
    /// ```
    pub fn stats(&self) -> Stats {
        stats::collect(&self.shared)
    }

    /// Spawns a goroutine from outside the runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// let h = rt.go(async { 1 });
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn go<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(fut, Location::caller())
    }

    /// Runs `fut` to completion on this thread, as the program's main
    /// goroutine; goroutines it spawns run on the workers. The future need
    /// not be `Send`.
    ///
    /// Panics when called from inside a goroutine or a runtime thread
    /// (that would block a worker): `.await` instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// // The main future need not be Send: it runs on this thread.
    /// let local = std::rc::Rc::new(5);
    /// let out = rt.block_on(async move {
    ///     let h = goro::go(async { 10 });
    ///     *local + h.await.unwrap()
    /// });
    /// assert_eq!(out, 15);
    /// // The runtime can be reused.
    /// assert_eq!(rt.block_on(async { 1 }), 1);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        Runtime::block_on_shared(&self.shared, fut)
    }

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

        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            main.wait_reason.store(0, Relaxed);
            // A change detector for the deadlock check, not an exact count
            // (two threads in `block_on` may race here: no check runs then).
            main.polls
                .store(main.polls.load(Relaxed).wrapping_add(1), Relaxed);
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

    fn shutdown(&mut self) {
        let shared = &self.shared;
        if !shared.shutdown.swap(true, SeqCst) {
            deadlock::LIVE_RUNTIMES.fetch_sub(1, SeqCst);
            dump::unregister(shared);
        }
        // Every goroutine still alive: drop its future here, before the
        // workers are joined: a goroutine on a worker may wait, in a
        // `_blocking` call, for one of them (its future holds the peer's
        // `Sender`). A goroutine being polled now is cancelled when its
        // poll ends.
        for t in shared.owned.close_and_take_all() {
            // SAFETY: `close_and_take_all` hands us the list's reference.
            unsafe { Notified::from_raw(t) }.shutdown();
        }
        // A worker still waiting in a `_blocking` call gives it up.
        shared.release_blocked();
        for w in 0..shared.remotes.len() {
            shared.unpark_worker(w);
        }
        let me = std::thread::current().id();
        for t in self.threads.drain(..) {
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        shared.sysmon.shutdown();
        drop(shared.inject.close());
        shared.timers.clear();
        shared.blocking.shutdown();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Builds a runtime with the default configuration, runs `fut` as the main
/// goroutine, and shuts the runtime down (dropping every goroutine still
/// alive) when it returns — as a Go program ends when `main` returns.
///
/// # Examples
///
/// ```
/// let n = goro::run(async {
///     let handles: Vec<_> = (0..10).map(|i| goro::go(async move { i * i })).collect();
///     let mut sum = 0;
///     for h in handles {
///         sum += h.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(n, 285);
/// ```
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    let rt = Runtime::new().expect("goro: cannot start the runtime");
    rt.block_on(fut)
}

/// Starts a goroutine running `fut` and returns its [`JoinHandle`]: Go's
/// `go f(x)`. Must be called from inside a goro runtime (a goroutine, or
/// the future given to `run`/`block_on`).
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::go(async { "hello from a goroutine" });
///     assert_eq!(h.await.unwrap(), "hello from a goroutine");
/// });
/// ```
#[track_caller]
pub fn go<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    go_at(fut, Location::caller())
}

/// `go` with an explicit spawn site, for goro's own helpers (errgroup,
/// WaitGroup::go) that are `#[track_caller]` themselves; the panic outside
/// a runtime points at the user's call through the same chain.
#[track_caller]
pub(crate) fn go_at<F>(fut: F, at: &'static Location<'static>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::with(|ctx| match ctx {
        Some(ctx) => ctx.shared().spawn(fut, at),
        None => panic!(
            "goro::go called outside a goro runtime: start one with goro::run, \
             #[goro::main] or Runtime::block_on"
        ),
    })
}

/// Runs the blocking function `f` on the blocking thread pool, so that it
/// does not hold a worker; await the handle for its result.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::spawn_blocking(|| std::fs::metadata(".").is_ok());
///     assert!(h.await.unwrap());
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let at = Location::caller();
    context::with(|ctx| match ctx {
        Some(ctx) => blocking::spawn(&ctx.shared().arc(), f, at),
        None => panic!("goro::spawn_blocking called outside a goro runtime"),
    })
}

/// Yields the worker to other goroutines: Go's `runtime.Gosched()`. The
/// goroutine goes to the back of its worker's queue.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     goro::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let h = goro::go(async { 1 });
///     while !h.is_finished() {
///         goro::yield_now().await; // a YieldNow: lets other goroutines run
///     }
///     assert_eq!(h.await.unwrap(), 1);
/// });
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The number of goroutines that exist in the current runtime, counting
/// the main one: Go's `runtime.NumGoroutine()`. 0 outside a runtime.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     assert_eq!(goro::num_goroutine(), 1);
/// });
/// ```
pub fn num_goroutine() -> usize {
    context::with(|ctx| match ctx {
        Some(ctx) => {
            let s = ctx.shared();
            s.owned.len() + s.main.active.load(Relaxed)
        }
        None => 0,
    })
}

/// The number of worker threads of the current runtime (Go's
/// `runtime.GOMAXPROCS(0)`); outside a runtime, what a new one would get.
///
/// # Examples
///
/// ```
/// assert!(goro::procs() >= 1);
/// ```
pub fn procs() -> usize {
    context::with(|ctx| match ctx {
        Some(ctx) => ctx.shared().procs,
        None => default_procs(),
    })
}

/// The id of the calling goroutine (the main one inside `block_on`);
/// `None` outside goroutines.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let me = goro::runtime::current_id().unwrap();
///     let child = goro::go(async { goro::runtime::current_id().unwrap() });
///     assert_ne!(child.await.unwrap(), me);
/// });
/// ```
pub fn current_id() -> Option<crate::GoroutineId> {
    match context::current_id() {
        0 => None,
        id => Some(crate::GoroutineId(id)),
    }
}
