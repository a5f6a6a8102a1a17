//! Test support: the leak check behind `#[goro::test]` (uber-go/goleak's
//! job), usable from any harness through [`assert_no_leaks`].
//!
//! Most tests need only the attribute: `#[goro::test]` runs the test on
//! its own runtime, fails it when goroutines are left behind or when it
//! deadlocks, and with `start_paused = true` gives it a virtual clock.
//!
//! # Examples
//!
//! ```
//! #[goro::test]
//! async fn workers_finish() {
//!     let wg = goro::sync::WaitGroup::new();
//!     for _ in 0..4 {
//!         wg.add(1);
//!         let wg = wg.clone();
//!         goro::go(async move { wg.done() });
//!     }
//!     wg.wait().await; // without it, a goroutine could outlive the test
//! }
//! # fn main() {}
//! ```
//!
//! From another harness, or a test that builds its own runtime:
//!
//! ```
//! goro::run(async {
//!     goro::go(async {}).await.unwrap();
//!     goro::testing::assert_no_leaks(); // panics, listing them, if any remain
//! });
//! ```

use std::{
    fmt,
    future::Future,
    panic::{self, AssertUnwindSafe},
    time::{Duration, Instant},
};

use crate::runtime::{context, deadlock, dump, Builder, Runtime, Shared};

/// How long leftover goroutines get to finish before they count as leaked.
const GRACE: Duration = Duration::from_millis(500);

/// Runs a test body on `rt`; with `leak_check`, panics if goroutines are
/// left behind. A deadlock (every goroutine blocked on goro primitives
/// with nothing to wake them) fails the test with Go's message and the
/// dump instead of hanging it. Used by `#[goro::test]`.
#[doc(hidden)]
pub fn run_test<F: Future>(rt: Runtime, leak_check: bool, body: F) -> F::Output {
    // Under a seed nothing runs once the body returns: no grace period.
    let grace = if rt.shared().seed.get().is_some() {
        Duration::ZERO
    } else {
        GRACE
    };
    if rt.shared().deadlock_mode() != deadlock::Mode::Off {
        rt.shared().set_deadlock_mode(deadlock::Mode::Panic);
    }
    rt.shared().lock_cycles_fail_test();
    let out = rt.block_on(body);
    if leak_check {
        if let Some(report) = leaks(rt.shared(), grace) {
            drop(rt);
            panic!("{report}");
        }
    }
    out
}

/// Panics when the current runtime has goroutines other than the caller,
/// after giving them a short grace period to finish; the message lists
/// each leaked goroutine with its wait reason, blocking call and spawn
/// site. Call it at the end of a test body (inside the runtime).
///
/// # Examples
///
/// ```
/// goro::run(async {
///     goro::go(async {}).await.unwrap();
///     goro::testing::assert_no_leaks();
/// });
/// ```
#[track_caller]
pub fn assert_no_leaks() {
    let report = context::with(|ctx| {
        let ctx = ctx.expect("assert_no_leaks called outside a goro runtime");
        leaks(ctx.shared(), GRACE)
    });
    if let Some(r) = report {
        panic!("{r}");
    }
}

/// After `grace`, the goroutines still alive (the main one aside),
/// listed as the dump lists them.
fn leaks(shared: &Shared, grace: Duration) -> Option<String> {
    let start = Instant::now();
    while shared.owned.len() > 0 {
        if start.elapsed() >= grace {
            let leaked = dump::collect(shared).without_main();
            if leaked.is_empty() {
                return None;
            }
            return Some(format!(
                "goro: found {} leaked goroutine(s):\n\n{leaked}",
                leaked.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// How many seeds `#[goro::test(chaos = true)]` tries when no `seeds = K`
/// is given.
///
/// # Examples
///
/// ```
/// if std::env::var_os("GORO_SEED").is_none() && std::env::var_os("GORO_SEEDS").is_none() {
///     let all = goro::testing::seeds(goro::testing::DEFAULT_SEEDS);
///     assert_eq!(all.len() as u64, goro::testing::DEFAULT_SEEDS);
/// }
/// ```
pub const DEFAULT_SEEDS: u64 = 100;

/// The first of the seeds tried when none is given (`seeds = K` tries
/// `SEED_BASE .. SEED_BASE + K`).
///
/// # Examples
///
/// ```
/// if std::env::var_os("GORO_SEED").is_none() && std::env::var_os("GORO_SEEDS").is_none() {
///     assert_eq!(goro::testing::seeds(2)[0], goro::testing::SEED_BASE);
/// }
/// ```
pub const SEED_BASE: u64 = 1;

/// The seeds a seeded test runs under: `GORO_SEED=n` in the environment
/// gives just `n` (the replay of a failure); otherwise `count` seeds from
/// [`SEED_BASE`], `count` overridden by `GORO_SEEDS=K`.
///
/// # Examples
///
/// ```
/// if std::env::var_os("GORO_SEED").is_none() && std::env::var_os("GORO_SEEDS").is_none() {
///     assert_eq!(goro::testing::seeds(3), vec![1, 2, 3]);
/// }
/// ```
pub fn seeds(count: u64) -> Vec<u64> {
    if let Some(n) = env_u64("GORO_SEED") {
        return vec![n];
    }
    let count = env_u64("GORO_SEEDS").unwrap_or(count);
    (SEED_BASE..SEED_BASE.saturating_add(count)).collect()
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// A seed under which a body failed: [`find_failing_seed`]. Displays as
/// the replay line, `GORO_SEED=<n>: <panic message>`.
///
/// # Examples
///
/// ```
/// // A deadlock under every seed: the first seed tried fails.
/// let f = goro::testing::find_failing_seed([7, 8], false, || async {
///     let (_tx, rx) = goro::chan::<u8>(0);
///     rx.recv().await;
/// })
/// .unwrap();
/// assert_eq!(f.seed, 7);
/// assert!(f.message.contains("deadlock"), "{}", f.message);
/// assert!(f.to_string().starts_with("GORO_SEED=7: "));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SeedFailure {
    /// The seed.
    pub seed: u64,
    /// The panic message of the failed run.
    pub message: String,
}

impl fmt::Display for SeedFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GORO_SEED={}: {}", self.seed, self.message)
    }
}

/// Runs `body` on a fresh seeded runtime ([`Builder::seed`], with
/// [`Builder::chaos`] when `chaos`) once per seed, in order, and returns
/// the first seed whose run panicked (a failed assertion, a deadlock),
/// with the message; `None` when every seed passed. The failing run's
/// panic is still printed by the panic hook.
///
/// # Examples
///
/// ```
/// // A goroutine that must not run before main's next step, sometimes does.
/// let found = goro::testing::find_failing_seed(goro::testing::seeds(100), false, || async {
///     let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
///     let f = flag.clone();
///     let h = goro::go(async move { f.store(true, std::sync::atomic::Ordering::SeqCst) });
///     goro::yield_now().await;
///     assert!(!flag.load(std::sync::atomic::Ordering::SeqCst), "the goroutine ran first");
///     h.await.unwrap();
/// });
/// let failure = found.expect("some seed runs the goroutine first");
/// assert!(failure.to_string().starts_with(&format!("GORO_SEED={}", failure.seed)));
/// ```
pub fn find_failing_seed<F, Fut>(
    seeds: impl IntoIterator<Item = u64>,
    chaos: bool,
    body: F,
) -> Option<SeedFailure>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    for seed in seeds {
        let builder = Builder::new().seed(seed).chaos(chaos);
        if let Err(message) = run_one_seed(builder, false, &body) {
            return Some(SeedFailure { seed, message });
        }
    }
    None
}

/// One seeded run of `body` as a test (deadlocks fail it); the panic
/// message if it failed.
fn run_one_seed<F, Fut>(builder: Builder, leak_check: bool, body: &F) -> Result<(), String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = builder.build().expect("goro: cannot start the runtime");
    panic::catch_unwind(AssertUnwindSafe(|| run_test(rt, leak_check, body()))).map_err(|p| {
        crate::task::join::string_payload(&*p)
            .unwrap_or("(panic with a non-string payload)")
            .to_owned()
    })
}

/// `#[goro::test(seed = N)]`, `#[goro::test(seeds = K)]`: runs `body` under
/// each seed on a runtime from `builder` (with the seed set); on the first
/// failure prints the seed and the command that replays it, then fails.
#[doc(hidden)]
pub fn run_seeded_test<F, Fut>(
    builder: impl Fn() -> Builder,
    leak_check: bool,
    seeds: &[u64],
    chaos: bool,
    test_path: &str,
    package: &str,
    body: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    // `module_path!()` starts with the crate's name; the harness's test
    // names do not.
    let name = test_path.split_once("::").map_or(test_path, |(_, t)| t);
    for &seed in seeds {
        if let Err(message) = run_one_seed(builder().seed(seed).chaos(chaos), leak_check, &body) {
            let replay = format!("GORO_SEED={seed} cargo test -p {package} {name} -- --exact");
            eprintln!("goro: test failed under GORO_SEED={seed}; replay it with:\n    {replay}");
            panic!(
                "{message}\n\ngoro: failed under GORO_SEED={seed} ({} of {} seeds); replay: {replay}",
                seeds.iter().position(|&s| s == seed).unwrap_or(0) + 1,
                seeds.len()
            );
        }
    }
}
