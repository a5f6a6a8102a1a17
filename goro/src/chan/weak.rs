//! `WeakSender`: a sender that does not keep its channel open.

use std::{fmt, sync::Arc};

use super::{core::Chan, sender::Sender};
use crate::loom::atomic::Ordering;

/// A sender that does not count as one: the channel closes when the last
/// [`Sender`] is dropped, whatever weak ones remain. Get one with
/// [`Sender::downgrade`]; [`upgrade`](WeakSender::upgrade) while the channel
/// still has a sender.
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<i32>(0);
/// let weak = tx.downgrade();
/// drop(tx);
/// assert!(rx.is_closed());
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WeakSender<T> {
    pub(super) fn new(chan: Arc<Chan<T>>) -> WeakSender<T> {
        WeakSender { chan }
    }

    /// A `Sender`, if some `Sender` of the channel still exists.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = goro::chan::<i32>(0);
    /// let weak = tx.downgrade();
    /// assert!(weak.upgrade().unwrap().same_channel(&tx));
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut n = self.chan.senders.load(Ordering::Relaxed);
        loop {
            if n == 0 {
                return None;
            }
            match self.chan.senders.compare_exchange_weak(
                n,
                n + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Sender::from_chan(self.chan.clone()));
                }
                Err(m) => n = m,
            }
        }
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender")
            .field("senders", &self.chan.senders.load(Ordering::Relaxed))
            .finish()
    }
}
