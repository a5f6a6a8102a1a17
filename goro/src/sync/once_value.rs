//! `OnceValue<T>`: Go's `sync.OnceValue`, a value computed once on top
//! of [`Once`]'s protocol (`once.rs`): the one caller that runs the
//! initialiser writes the value before `COMPLETE` is published.

use std::{
    fmt,
    future::Future,
    panic::Location,
    pin::Pin,
    task::{Context, Poll},
};

use crate::{loom::UnsafeCell, sync::Once, wait};

/// A value computed once, on first use: Go's `sync.OnceValue`, shaped like
/// `std::sync::OnceLock`.
///
/// [`get_or_init`](OnceValue::get_or_init) is a future (callers that
/// arrive while the initialiser runs elsewhere wait without blocking their
/// thread); [`get_or_init_blocking`](OnceValue::get_or_init_blocking) parks
/// the thread instead.
///
/// # Examples
///
/// ```
/// use goro::sync::OnceValue;
///
/// static CONFIG: OnceValue<String> = OnceValue::new();
/// let v = CONFIG.get_or_init_blocking(|| "loaded".to_string());
/// assert_eq!(v, "loaded");
/// futures::executor::block_on(async {
///     assert_eq!(CONFIG.get_or_init(|| unreachable!()).await, "loaded");
/// });
/// ```
pub struct OnceValue<T> {
    once: Once,
    value: UnsafeCell<Option<T>>,
}

// SAFETY: the value is written once, by the one caller that runs the
// initialiser, before `COMPLETE` is published; afterwards it is only read,
// through `&T` shared between threads. Needs `T: Send` (written on one
// thread, dropped on another) and `T: Sync` (shared), as `OnceLock`.
unsafe impl<T: Send + Sync> Sync for OnceValue<T> {}
// SAFETY: moving the cell moves the `T`.
unsafe impl<T: Send> Send for OnceValue<T> {}

impl<T> OnceValue<T> {
    crate::loom::const_fn! {
        /// An empty cell; `const`, so it can be a static.
        ///
        /// # Examples
        ///
        /// ```
        /// let v: goro::sync::OnceValue<u8> = goro::sync::OnceValue::new();
        /// assert!(v.get().is_none());
        /// ```
        pub fn new() -> OnceValue<T> {
            OnceValue {
                once: Once::new(),
                value: UnsafeCell::new(None),
            }
        }
    }

    /// A future of the value, computing it with `f` if this is the first
    /// call; callers that arrive while `f` runs elsewhere wait without
    /// blocking their thread.
    ///
    /// # Panics
    ///
    /// If `f` panics, the panic reaches the caller that ran it, and every
    /// later call panics with `sync: OnceValue initialiser panicked`.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = goro::sync::OnceValue::new();
    /// goro::run(async {
    ///     assert_eq!(*v.get_or_init(|| 1 + 1).await, 2);
    ///     assert_eq!(*v.get_or_init(|| 3).await, 2);
    /// });
    /// ```
    #[track_caller]
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> OnceValueInit<'_, T, F> {
        OnceValueInit {
            cell: self,
            f: Some(f),
            key: None,
            at: Location::caller(),
        }
    }

    /// [`get_or_init`](OnceValue::get_or_init) for threads: callers that
    /// arrive while `f` runs elsewhere park their thread.
    ///
    /// # Panics
    ///
    /// As `get_or_init`.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = goro::sync::OnceValue::new();
    /// assert_eq!(*v.get_or_init_blocking(|| 1 + 1), 2);
    /// assert_eq!(*v.get_or_init_blocking(|| 3), 2);
    /// ```
    #[track_caller]
    pub fn get_or_init_blocking(&self, f: impl FnOnce() -> T) -> &T {
        if let Some(v) = self.get() {
            return v;
        }
        wait::block_on(self.get_or_init(f))
    }

    /// Runs the initialiser and stores its value (the one writer).
    fn init(&self, f: impl FnOnce() -> T) {
        let v = f();
        // SAFETY: only the one caller running the `Once` writes, and no
        // reader looks before `COMPLETE` is published.
        self.value.with_mut(|p| unsafe { *p = Some(v) });
    }

    /// The value once complete, or the panic of a failed initialiser.
    fn get_completed(&self) -> &T {
        match self.get() {
            Some(v) => v,
            None => panic!("sync: OnceValue initialiser panicked"),
        }
    }

    /// The value, if it has been computed.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = goro::sync::OnceValue::new();
    /// v.get_or_init_blocking(|| 'g');
    /// assert_eq!(v.get(), Some(&'g'));
    /// ```
    pub fn get(&self) -> Option<&T> {
        if !self.once.is_completed() || self.once.panicked() {
            return None;
        }
        // SAFETY: `COMPLETE` was observed with `Acquire`, so the one write
        // happened before, and nothing writes again while `&self` lives.
        self.value.with(|p| unsafe { (*p).as_ref() })
    }

    /// Consumes the cell, returning the value if it was computed.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = goro::sync::OnceValue::new();
    /// v.get_or_init_blocking(|| 5);
    /// assert_eq!(v.into_inner(), Some(5));
    /// ```
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

impl<T> Default for OnceValue<T> {
    fn default() -> Self {
        OnceValue::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceValue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceValue")
            .field("value", &self.get())
            .finish()
    }
}

/// The future returned by [`OnceValue::get_or_init`].
///
/// # Examples
///
/// ```
/// let v = goro::sync::OnceValue::new();
/// let fut: goro::sync::OnceValueInit<'_, u8, _> = v.get_or_init(|| 7);
/// assert_eq!(*futures::executor::block_on(fut), 7);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct OnceValueInit<'a, T, F> {
    cell: &'a OnceValue<T>,
    f: Option<F>,
    key: Option<usize>,
    at: &'static Location<'static>,
}

// `F` is never pinned: it is moved out and called by value.
impl<T, F> Unpin for OnceValueInit<'_, T, F> {}

impl<'a, T, F: FnOnce() -> T> Future for OnceValueInit<'a, T, F> {
    type Output = &'a T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'a T> {
        let this = self.get_mut();
        let cell = this.cell;
        let f = &mut this.f;
        std::task::ready!(cell.once.poll_call(&mut this.key, this.at, cx, || {
            cell.init(f.take().expect("OnceValueInit polled after completion"))
        }));
        Poll::Ready(cell.get_completed())
    }
}

impl<T, F> Drop for OnceValueInit<'_, T, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.cell.once.cancel_call(key);
        }
    }
}

impl<T, F> fmt::Debug for OnceValueInit<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceValueInit")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::lock;
    use crate::sync::loom_block_on as block_on;
    use loom::{sync::Arc, thread};
    use std::{pin::Pin, task::Context};

    /// A `OnceValue` read by a waiter sees the initialiser's value, and a
    /// waiter dropped while the initialiser runs leaves no node behind.
    #[test]
    fn once_value_and_cancelled_waiter() {
        loom::model(|| {
            let cell = Arc::new(OnceValue::new());
            let c2 = cell.clone();
            let t = thread::spawn(move || *block_on(c2.get_or_init(|| 7)));
            let waker = futures::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            let mut f = cell.get_or_init(|| 7);
            let first = Pin::new(&mut f).poll(&mut cx).map(|v| *v);
            drop(f);
            assert_eq!(t.join().unwrap(), 7);
            if let Poll::Ready(v) = first {
                assert_eq!(v, 7);
            }
            assert_eq!(cell.get(), Some(&7));
            assert!(lock(&cell.once.queue).is_empty());
        });
    }
}
