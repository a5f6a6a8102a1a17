//! [`Builder`]: a runtime's configuration, and starting its threads.

use std::time::Duration;

use crate::loom::atomic::Ordering::SeqCst;

use super::{blocking, deadlock, dump, signal, sysmon, worker, Runtime, Shared};

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
    seed: Option<u64>,
    chaos: bool,
    lock_cycles: deadlock::LockCycles,
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
            seed: None,
            chaos: false,
            lock_cycles: deadlock::LockCycles::default_for_build(),
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

    /// Seeded, replayable scheduling: every goroutine, the main future
    /// included, runs on the thread inside `block_on`, and every choice the
    /// scheduler makes — which runnable goroutine next, which ready
    /// `select!` arm, the order of timers firing at the same instant, and
    /// (with [`chaos`](Builder::chaos)) where to inject yields — comes from
    /// `seed`. The clock is the virtual one ([`start_paused`](Builder::start_paused)).
    /// The same seed gives the same interleaving and the same output, run
    /// after run; `#[goro::test(seeds = K)]` tries K of them.
    ///
    /// What can still differ: `spawn_blocking` runs its closure as a
    /// goroutine on the same thread (deterministic); sockets are polled
    /// only when nothing else can run, and the kernel decides when they are
    /// ready; wake-ups from threads goro does not run (a `std::thread` with
    /// a `Sender`, tokio tasks) arrive when the OS schedules those threads;
    /// a `_blocking` call inside a goroutine parks the one thread (use
    /// `.await`).
    /// Go has no equivalent (its scheduler cannot be replayed).
    ///
    /// # Examples
    ///
    /// ```
    /// fn order(seed: u64) -> Vec<u32> {
    ///     let rt = goro::Runtime::builder().seed(seed).build().unwrap();
    ///     rt.block_on(async {
    ///         let (tx, rx) = goro::chan(0);
    ///         for i in 0..5 {
    ///             let tx = tx.clone();
    ///             goro::go(async move { tx.send(i).await.unwrap() });
    ///         }
    ///         drop(tx);
    ///         let mut got = Vec::new();
    ///         while let Some(i) = rx.recv().await {
    ///             got.push(i);
    ///         }
    ///         got
    ///     })
    /// }
    /// assert_eq!(order(7), order(7)); // replayed exactly
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// With a [`seed`](Builder::seed): inject extra yields, drawn from the
    /// seed, at channel operations and lock acquisitions (about one in
    /// two), so that a goroutine is interrupted between two steps it
    /// assumed ran together — the interleavings that check-then-act races
    /// need. Without a seed it does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::builder().seed(1).chaos(true).build().unwrap();
    /// let n = rt.block_on(async {
    ///     let m = std::sync::Arc::new(goro::sync::Mutex::new(0));
    ///     let hs: Vec<_> = (0..4)
    ///         .map(|_| {
    ///             let m = m.clone();
    ///             goro::go(async move { *m.lock().await += 1 })
    ///         })
    ///         .collect();
    ///     for h in hs {
    ///         h.await.unwrap();
    ///     }
    ///     let n = *m.lock().await;
    ///     n
    /// });
    /// assert_eq!(n, 4);
    /// ```
    pub fn chaos(mut self, on: bool) -> Builder {
        self.chaos = on;
        self
    }

    /// Lock-cycle (partial deadlock) detection: when a goroutine's wait for
    /// a `Mutex` (or an `RwMutex` write lock) or for a goroutine's end
    /// (awaiting its `JoinHandle`) closes a cycle — A waits for a lock held
    /// by B, B (perhaps through others, or by joining them) for one held
    /// by A —
    /// goro reports it at once, while the rest of the program runs on:
    /// `fatal error: goroutines deadlocked on locks`, then each goroutine
    /// of the cycle with the site where it waits and the lock's holder.
    /// [`LockCycles::Exit`](super::LockCycles::Exit) (the default in debug
    /// builds) then exits with status 2; [`LockCycles::Report`](super::LockCycles::Report)
    /// prints it once and continues; [`LockCycles::Off`](super::LockCycles::Off)
    /// (the default in release builds) costs nothing. In `#[goro::test]`
    /// a cycle fails the test. Not tracked: `RwMutex` read locks, owned
    /// guards (`lock_owned`, `write_owned`); a cycle may be missed while
    /// its locks change hands; a guard moved to another goroutine stays
    /// credited to the one that locked it.
    ///
    /// Cost, measured with the bench's `sync/mutex_*` (2 cores): off, none
    /// to see (one relaxed load per lock and unlock); on, within noise
    /// (under +7%) on an uncontended lock and +35% on a lock 8 goroutines
    /// contend for, as
    /// every wait that queues and every release with waiters updates one
    /// process-wide registry of wait edges.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::runtime::LockCycles;
    /// let rt = goro::Runtime::builder().lock_cycles(LockCycles::Report).build().unwrap();
    /// rt.block_on(async {
    ///     let m = goro::sync::Mutex::new(0);
    ///     *m.lock().await += 1; // no cycle, nothing printed
    /// });
    /// ```
    pub fn lock_cycles(mut self, mode: super::LockCycles) -> Builder {
        self.lock_cycles = mode;
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
    pub fn build(mut self) -> std::io::Result<Runtime> {
        if self.seed.is_some() {
            // One thread runs everything (see `seeded.rs`): no workers to
            // start, no monitor, and the virtual clock.
            self.procs = Some(1);
            self.sysmon.enabled = false;
            self.start_paused = true;
        }
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
        shared.set_lock_cycles(self.lock_cycles);
        if let Some(seed) = self.seed {
            let chaos = if self.chaos {
                super::seeded::default_chaos()
            } else {
                0
            };
            let _ = shared.seed.set(super::seeded::SeedConfig { seed, chaos });
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
        let locals = if self.seed.is_some() {
            Vec::new()
        } else {
            locals
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
