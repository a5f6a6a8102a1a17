//! The runtimes under test, built once per child process and reused across
//! repetitions (as Go's runtime is across the Go twin's repetitions).
//!
//! Every body runs as a task on a worker, not on the `block_on` thread, so that
//! it is scheduled like Go's main goroutine: spawns from it go to the local
//! run queue.

use std::cell::OnceCell;
use std::future::Future;
use std::sync::Arc;

use crate::workload::Cfg;

thread_local! {
    static TOKIO: OnceCell<tokio::runtime::Runtime> = const { OnceCell::new() };
}

/// Runs `body` as a task on a multi-threaded tokio runtime with `cfg.procs`
/// workers.
pub fn tokio<F, Fut, T>(cfg: &Cfg, body: F) -> T
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    TOKIO.with(|cell| {
        let rt = cell.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(cfg.procs)
                .enable_all()
                .build()
                .expect("tokio runtime")
        });
        let fut = body();
        rt.block_on(async move { tokio::spawn(fut).await.expect("benchmark task panicked") })
    })
}

/// Runs `body` on an `async-executor` (smol's executor) driven by
/// `cfg.procs` threads, the calling thread being one of them.
pub fn async_executor<F, Fut, T>(cfg: &Cfg, body: F) -> T
where
    F: FnOnce(Arc<async_executor::Executor<'static>>) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let ex = Arc::new(async_executor::Executor::new());
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let fut = body(ex.clone());
    let (_, out) = easy_parallel::Parallel::new()
        .each(0..cfg.procs.saturating_sub(1), |_| {
            futures_lite::future::block_on(ex.run(stopped.recv()))
        })
        .finish(|| {
            let out = futures_lite::future::block_on(ex.run(ex.spawn(fut)));
            drop(stop);
            out
        });
    out
}
