//! The goro implementations of every workload (feature `goro`, on by default).
//!
//! They mirror the tokio ones line for line where the APIs allow, and Go's
//! twin where goro has Go's shape (unbuffered channels, `select!` with
//! nil-channel arms, WaitGroup).

mod chan;
mod net;
mod spawn;
mod sync;

use std::cell::OnceCell;
use std::future::Future;

use crate::workload::{Cfg, Impl, Outcome};

thread_local! {
    static GORO: OnceCell<goro::Runtime> = const { OnceCell::new() };
}

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
            goro::Runtime::builder()
                .procs(cfg.procs)
                .build()
                .expect("goro runtime")
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
pub fn impls() -> Vec<(&'static str, Impl)> {
    fn i(name: &'static str, run: fn(&Cfg) -> Outcome) -> Impl {
        Impl { name, run }
    }
    vec![
        ("spawn/spawn_join", i("goro", spawn::spawn_join)),
        ("spawn/skynet", i("goro", spawn::skynet)),
        ("spawn/parked_mem", i("goro", spawn::parked_mem)),
        ("chan/pingpong_unbuffered", i("goro", chan::pingpong)),
        ("chan/mpmc_4x4", i("goro", chan::mpmc)),
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
    ]
}
