//! Helpers shared by the integration tests (each test file that needs
//! them says `mod common;`).
#![allow(dead_code)]

use std::{
    future::Future,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
};

/// Polls `fut` once with a waker that counts its wakes.
pub(crate) fn poll_once<F: Future + ?Sized>(
    fut: std::pin::Pin<&mut F>,
    w: &Arc<CountWaker>,
) -> Poll<F::Output> {
    let waker = Waker::from(w.clone());
    fut.poll(&mut Context::from_waker(&waker))
}

/// A waker that counts how often it was woken.
#[derive(Default)]
pub(crate) struct CountWaker(pub(crate) AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
impl CountWaker {
    pub(crate) fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}
