//! A stand-in for `tokio_test::task::spawn` and its `assert_ready!` /
//! `assert_pending!` macros, for the tests ported from tokio: a future
//! polled by hand with a waker that records whether it was woken.
//!
//! Modelled on tokio's `tokio-test/src/task.rs` (MIT License, Copyright (c)
//! Tokio Contributors; see the notice in each ported test file).

#![allow(dead_code, unused_macros)]

use std::{
    future::Future,
    ops::{Deref, DerefMut},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering::SeqCst},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
};

struct MockWaker {
    woken: AtomicBool,
}

impl Wake for MockWaker {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
    }
}

/// A future under test, with its own waker.
pub(crate) struct Spawn<T> {
    task: Pin<Box<T>>,
    waker: Arc<MockWaker>,
}

/// Wraps `task` for polling by hand.
pub(crate) fn spawn<T>(task: T) -> Spawn<T> {
    Spawn {
        task: Box::pin(task),
        waker: Arc::new(MockWaker {
            woken: AtomicBool::new(false),
        }),
    }
}

impl<T: Future> Spawn<T> {
    /// Polls once, clearing the woken flag first.
    pub(crate) fn poll(&mut self) -> Poll<T::Output> {
        self.waker.woken.store(false, SeqCst);
        let waker = Waker::from(self.waker.clone());
        let mut cx = Context::from_waker(&waker);
        self.task.as_mut().poll(&mut cx)
    }
}

impl<T> Spawn<T> {
    /// Whether the waker was woken since the last poll.
    pub(crate) fn is_woken(&self) -> bool {
        self.waker.woken.load(SeqCst)
    }

    /// How many wakers of this task are alive, not counting our own.
    pub(crate) fn waker_ref_count(&self) -> usize {
        Arc::strong_count(&self.waker) - 1
    }
}

impl<T: Unpin> Deref for Spawn<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.task
    }
}

impl<T: Unpin> DerefMut for Spawn<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.task
    }
}

macro_rules! assert_ready {
    ($e:expr) => {
        match $e {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("pending"),
        }
    };
}

macro_rules! assert_pending {
    ($e:expr) => {
        match $e {
            std::task::Poll::Pending => {}
            std::task::Poll::Ready(_) => panic!("ready; expected pending"),
        }
    };
}
