//! goro with tokio crates (feature `tokio`).
//!
//! Most of the async ecosystem (reqwest, hyper-util's client, sqlx, tonic,
//! redis, `tokio::net`, `tokio::time`) is bound to tokio's reactor and
//! timers: polled on a thread that has not entered a tokio runtime, it
//! panics with "there is no reactor running". With the feature `tokio`
//! on, every goro runtime enters a tokio runtime's context on each of its
//! threads (workers, replacement workers, the blocking pool and the thread
//! in `block_on`), so such futures work in goroutines as written:
//!
//! ```
//! goro::run(async {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let server = goro::go(async move { listener.accept().await.map(|_| ()) });
//!     let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
//!     server.await.unwrap().unwrap();
//!     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
//! });
//! ```
//!
//! The tokio runtime is, by default, goro's background one: a
//! current-thread tokio runtime driven by one dedicated thread named
//! `tokio-for-goro`, started the first time a goro runtime is built (or
//! [`handle`] is called) and shared by every goro runtime of the process.
//! It drives tokio's IO and timers and runs what `tokio::spawn` starts.
//! `Builder::tokio_handle` supplies a tokio runtime of your own instead.
//!
//! Outside any goro runtime (a plain thread, another executor),
//! [`Compat`] enters the background runtime for the poll of one future.
//!
//! What this costs: a goroutine's tokio socket is woken by the tokio
//! thread, so each readiness event crosses from that thread to a goro
//! worker (a cross-thread wake-up), where a `goro::net` socket is woken by
//! goro's own netpoller. Prefer `goro::net` and `goro::time` for your own
//! code; use this for the crates that need tokio.
//!
//! The deadlock detector knows the background thread, and reports nothing
//! while a tokio task is alive (it may still send on a goro channel).

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::{EnterGuard, Handle};

use crate::runtime::Shared;

static BACKGROUND: OnceLock<Handle> = OnceLock::new();

/// The handle of goro's background tokio runtime, started on the first
/// call: a current-thread runtime with IO and time enabled, driven by a
/// dedicated thread named `tokio-for-goro` that lives as long as the
/// process.
///
/// # Panics
///
/// If the tokio runtime or its thread cannot be created (out of file
/// descriptors or threads).
///
/// # Examples
///
/// ```
/// let h = goro::compat::handle();
/// let answer = h.spawn(async { 6 * 7 });
/// goro::run(async move { assert_eq!(answer.await.unwrap(), 42) });
/// ```
pub fn handle() -> Handle {
    BACKGROUND
        .get_or_init(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("tokio-for-goro")
                .build()
                .expect("goro: starting the background tokio runtime");
            let h = rt.handle().clone();
            // One of goro's threads for the deadlock detector's count.
            let counted = crate::runtime::deadlock::goro_thread();
            std::thread::Builder::new()
                .name("tokio-for-goro".into())
                .spawn(move || {
                    let _counted = counted;
                    rt.block_on(std::future::pending::<()>());
                })
                .expect("goro: starting the background tokio thread");
            h
        })
        .clone()
}

/// A future polled inside a tokio runtime's context, for one-off use of
/// a tokio-bound future outside a goro runtime (inside one, with the
/// feature on, no wrapper is needed).
///
/// Only polls are inside the context: a tokio future that needs the
/// runtime already when it is *created* (`tokio::time::sleep`,
/// `TcpStream::from_std`) must be created inside the wrapped `async` block.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use goro::compat::Compat;
///
/// // futures' executor knows nothing of tokio: the wrapper brings it.
/// futures::executor::block_on(Compat::new(async {
///     tokio::time::sleep(Duration::from_millis(1)).await
/// }));
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Compat<F> {
    inner: F,
    handle: Handle,
}

impl<F> Compat<F> {
    /// Wraps `fut` to be polled in goro's background tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = goro::compat::Compat::new(async { 1 });
    /// assert_eq!(futures::executor::block_on(f), 1);
    /// ```
    pub fn new(fut: F) -> Compat<F> {
        Compat::with_handle(fut, handle())
    }

    /// Wraps `fut` to be polled in the context of the tokio runtime `handle`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// let f = goro::compat::Compat::with_handle(tokio::task::yield_now(), rt.handle().clone());
    /// futures::executor::block_on(f);
    /// ```
    pub fn with_handle(fut: F, handle: Handle) -> Compat<F> {
        Compat { inner: fut, handle }
    }

    /// The wrapped future.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = goro::compat::Compat::new(async { 3 });
    /// assert_eq!(futures::executor::block_on(f.into_inner()), 3);
    /// ```
    pub fn into_inner(self) -> F {
        self.inner
    }
}

impl<F: Future> Future for Compat<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: never moved out while
        // pinned (`into_inner` takes `self` by value, which needs `Unpin`
        // or an unpinned value), and `Compat` has no `Drop` impl.
        let (inner, handle) = unsafe {
            let this = self.get_unchecked_mut();
            (Pin::new_unchecked(&mut this.inner), &this.handle)
        };
        let _enter = handle.enter();
        inner.poll(cx)
    }
}

impl Shared {
    /// Enters this runtime's tokio context on the calling thread until
    /// the guard drops.
    pub(crate) fn enter_tokio(&self) -> Option<EnterGuard<'_>> {
        self.tokio.get().map(Handle::enter)
    }
}
