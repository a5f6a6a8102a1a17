//! `Select::ready` and friends: which arm could proceed, performing
//! nothing (crossbeam's readiness API). A blocking `ready` registers a
//! watcher (see `core.rs`, `State::watchers`) on every arm's channel, checks,
//! and parks until woken: a change after a registration wakes it, so none is
//! missed.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use super::dyn_select::{Select, SelectTimeoutError};
use crate::wait;

impl<'a> Select<'a> {
    /// The index of an arm whose operation could proceed now, chosen at
    /// random among the ready ones; performs nothing (crossbeam's
    /// `try_ready`). Readiness is a snapshot: another thread may take it
    /// before you act.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(1);
    /// let mut sel = goro::chan::Select::new();
    /// let r = sel.recv(&rx);
    /// let s = sel.send(&tx, 1);
    /// assert_eq!(sel.try_ready(), Some(s)); // room in the buffer
    /// tx.send_blocking(0).unwrap();
    /// assert_eq!(sel.try_ready(), Some(r)); // full: only the receive
    /// ```
    pub fn try_ready(&mut self) -> Option<usize> {
        let n = self.arms.len();
        let start = if n == 0 {
            0
        } else {
            crate::rand::below(n as u32) as usize
        };
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.arms[i].is_ready())
    }

    /// Waits until some arm's operation could proceed and returns its index;
    /// performs nothing (crossbeam's `ready`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = goro::chan::<i32>(0);
    /// std::thread::spawn(move || tx.send_blocking(1).unwrap());
    /// let mut sel = goro::chan::Select::new();
    /// let i = sel.recv(&rx);
    /// assert_eq!(sel.ready(), i);
    /// assert_eq!(rx.recv_blocking(), Some(1));
    /// ```
    pub fn ready(&mut self) -> usize {
        self.ready_until(None)
            .expect("goro: ready without a deadline")
    }

    /// [`ready`](Select::ready) that gives up after `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = goro::chan::<i32>(0);
    /// let mut sel = goro::chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.ready_timeout(Duration::from_millis(1)).is_err());
    /// ```
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, SelectTimeoutError> {
        self.ready_until(Instant::now().checked_add(timeout))
            .ok_or(SelectTimeoutError)
    }

    /// [`ready`](Select::ready) that gives up at `deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, _rx) = goro::chan::<i32>(1);
    /// let mut sel = goro::chan::Select::new();
    /// let i = sel.send(&tx, 1);
    /// assert_eq!(sel.ready_deadline(Instant::now() + Duration::from_secs(1)), Ok(i));
    /// ```
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, SelectTimeoutError> {
        self.ready_until(Some(deadline)).ok_or(SelectTimeoutError)
    }

    /// Registers a watcher on every arm's channel, checks, and parks until
    /// woken; a change after a registration wakes us, so none is missed.
    fn ready_until(&mut self, deadline: Option<Instant>) -> Option<usize> {
        let mut fut = std::pin::pin!(ReadyFut {
            sel: self,
            ids: Vec::new(),
        });
        wait::block_on_deadline(fut.as_mut(), deadline)
    }
}

/// The wait of [`Select::ready`]: one watcher per arm.
struct ReadyFut<'s, 'a> {
    sel: &'s mut Select<'a>,
    ids: Vec<u64>,
}

impl Future for ReadyFut<'_, '_> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        if let Some(i) = this.sel.try_ready() {
            return Poll::Ready(i);
        }
        this.ids.resize(this.sel.arms.len(), 0);
        for (arm, id) in this.sel.arms.iter().zip(this.ids.iter_mut()) {
            arm.watch(id, cx.waker());
        }
        match this.sel.try_ready() {
            Some(i) => Poll::Ready(i),
            None => Poll::Pending,
        }
    }
}

impl Drop for ReadyFut<'_, '_> {
    fn drop(&mut self) {
        for (arm, &id) in self.sel.arms.iter().zip(self.ids.iter()) {
            arm.unwatch(id);
        }
    }
}
