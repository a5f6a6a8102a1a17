//! The goro implementations of every workload (feature `goro`, on by default).
//!
//! They mirror the tokio ones line for line where the APIs allow, and Go's
//! twin where goro has Go's shape (unbuffered channels, `select!` with
//! nil-channel arms, WaitGroup).

mod chan;
mod net;
mod sched;
mod spawn;
mod sync;

use std::cell::OnceCell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use crate::workload::{Cfg, Impl, Outcome};

thread_local! {
    static GORO: OnceCell<goro::Runtime> = const { OnceCell::new() };
}

/// Set by the `goro_nosysmon` variants before the runtime is built (each
/// implementation runs in its own child process).
static NO_SYSMON: AtomicBool = AtomicBool::new(false);

/// Runs `body` as a goroutine (like Go's main goroutine) on a goro runtime
/// with `cfg.procs` procs, built once per process.
pub(crate) fn run<F, Fut, T>(cfg: &Cfg, body: F) -> T
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    GORO.with(|cell| {
        let rt = cell.get_or_init(|| {
            let mut b = goro::Runtime::builder()
                .procs(cfg.procs)
                .sysmon(!NO_SYSMON.load(Relaxed));
            // Lock-cycle detection (off in release builds) measured on:
            // GORO_BENCH_LOCK_CYCLES=1.
            if std::env::var_os("GORO_BENCH_LOCK_CYCLES").is_some_and(|v| v == "1") {
                b = b.lock_cycles(goro::runtime::LockCycles::Report);
            }
            b.build().expect("goro runtime")
        });
        let fut = body();
        rt.block_on(async move {
            match goro::go(fut).await {
                Ok(v) => v,
                Err(_) => panic!("benchmark goroutine panicked"),
            }
        })
    })
}

/// Awaits a goroutine; its panic fails the benchmark.
pub(crate) async fn join<T>(h: goro::JoinHandle<T>) -> T {
    match h.await {
        Ok(v) => v,
        Err(_) => panic!("goroutine panicked"),
    }
}

/// `(workload id, implementation)` pairs, added in front of the others.
/// Runs a goro workload with the recording of wait reasons and sites off
/// (each impl runs in its own process): what the dump and the deadlock
/// detector cost the hot path.
fn untracked(f: fn(&Cfg) -> Outcome, c: &Cfg) -> Outcome {
    goro::runtime::set_wait_tracking(false);
    f(c)
}

pub fn impls() -> Vec<(&'static str, Impl)> {
    fn i(name: &'static str, run: fn(&Cfg) -> Outcome) -> Impl {
        Impl { name, run }
    }
    vec![
        ("spawn/spawn_join", i("goro", spawn::spawn_join)),
        ("spawn/skynet", i("goro", spawn::skynet)),
        ("spawn/parked_mem", i("goro", spawn::parked_mem)),
        ("spawn/parked_mutex_mem", i("goro", spawn::parked_mutex_mem)),
        ("chan/pingpong_unbuffered", i("goro", chan::pingpong)),
        (
            "chan/pingpong_unbuffered",
            i("goro_notrack", |c| untracked(chan::pingpong, c)),
        ),
        (
            "chan/pingpong_unbuffered",
            i("goro_blocking", chan::pingpong_blocking),
        ),
        ("chan/mpmc_4x4", i("goro", chan::mpmc)),
        (
            "chan/mpmc_4x4",
            i("goro_notrack", |c| untracked(chan::mpmc, c)),
        ),
        ("chan/select4", i("goro", chan::select4)),
        ("chan/worker_pool", i("goro", chan::worker_pool)),
        ("sync/mutex_contended", i("goro", sync::mutex_contended)),
        ("sync/mutex_uncontended", i("goro", sync::mutex_uncontended)),
        (
            "sync/mutex_uncontended",
            i("goro_blocking", sync::mutex_uncontended_blocking),
        ),
        (
            "sync/rwmutex_read_heavy",
            i("goro", sync::rwmutex_read_heavy),
        ),
        ("sync/waitgroup", i("goro", sync::waitgroup)),
        ("net/echo", i("goro", net::echo)),
        (
            "sched/one_bad_goroutine",
            i("goro", sched::one_bad_goroutine),
        ),
        // The same code on a runtime without sysmon: its overhead, and
        // what it buys.
        (
            "spawn/spawn_join",
            i("goro_nosysmon", |c| nosysmon(c, spawn::spawn_join)),
        ),
        (
            "spawn/skynet",
            i("goro_nosysmon", |c| nosysmon(c, spawn::skynet)),
        ),
        (
            "chan/pingpong_unbuffered",
            i("goro_nosysmon", |c| nosysmon(c, chan::pingpong)),
        ),
        (
            "chan/mpmc_4x4",
            i("goro_nosysmon", |c| nosysmon(c, chan::mpmc)),
        ),
        (
            "sched/one_bad_goroutine",
            i("goro_nosysmon", |c| nosysmon(c, sched::one_bad_goroutine)),
        ),
    ]
}

/// Runs `f` on a runtime built with `sysmon(false)`.
fn nosysmon(cfg: &Cfg, f: fn(&Cfg) -> Outcome) -> Outcome {
    NO_SYSMON.store(true, Relaxed);
    f(cfg)
}
