//! The one door to atomics, locks and shared cells.
//!
//! Every module with a concurrent protocol takes its atomics, `Mutex`,
//! `Condvar` and `UnsafeCell` from here, never from `std` directly. Built
//! with `RUSTFLAGS="--cfg loom"`, the same names come from the `loom` model
//! checker, which then explores every interleaving of a model.
//!
//! Statics cannot be loom types (loom's constructors are not `const`), so the
//! few global counters and registries use `std` explicitly, each marked
//! `// loom-exempt: <why>`, and are kept out of the protocols the models
//! check (their locks go through `runtime::lock_static`). `.ci/run` fails
//! on any other `std` atomic or lock in `goro/src`.

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::{
    cell::UnsafeCell,
    hint,
    sync::{atomic, Condvar, Mutex, MutexGuard},
    thread,
};

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::{
    hint,
    sync::{atomic, Condvar, Mutex, MutexGuard},
    thread,
};

/// `std`'s `UnsafeCell` behind loom's closure API, so that the same code
/// builds against both.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
#[allow(dead_code)]
impl<T> UnsafeCell<T> {
    #[inline]
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    #[inline]
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(loom))]
#[allow(dead_code)]
impl<T: ?Sized> UnsafeCell<T> {
    /// Reads through a shared raw pointer; the caller upholds the aliasing rules.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Writes through a raw pointer; the caller upholds the aliasing rules.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Locks a mutex, ignoring poisoning: goro's internal critical sections never
/// panic half way, and a user panic elsewhere must not wedge the runtime.
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Declares a `const fn` that is a plain `fn` under `cfg(loom)`.
///
/// The sync types' constructors are `const` so that they can initialise
/// statics (Go's package-level `var mu sync.Mutex`); their fields are
/// `std` atomics and locks, whose constructors are `const`. Loom's are not,
/// so under the model checker the same constructors are ordinary functions
/// (the models never build a static).
macro_rules! const_fn {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])*
        $vis const fn $($rest)*

        #[cfg(loom)]
        $(#[$attr])*
        $vis fn $($rest)*
    };
}
pub(crate) use const_fn;
