//! The netpoller's stand-in when the `net` feature is off: no sockets can
//! be registered, so the timer driver's sleep is a plain park with the
//! timer deadline as timeout, interrupted by [`IoDriver::wake`] exactly as
//! the mio `Waker` interrupts `epoll_wait` (a wake-up that comes before the
//! wait makes the next wait return at once).

use std::{io, time::Duration};

use super::park::Parker;

/// The netpoller without `net`: a parker for the timer driver.
pub(crate) struct IoDriver {
    parker: Parker,
}

impl IoDriver {
    pub(crate) fn new() -> io::Result<IoDriver> {
        Ok(IoDriver {
            parker: Parker::new(),
        })
    }

    /// Nothing can be registered without `net`.
    pub(crate) fn registered(&self) -> usize {
        0
    }

    /// Interrupts a blocking [`IoDriver::wait`] (or the next one).
    pub(crate) fn wake(&self) {
        self.parker.unpark();
    }

    /// The timer driver's sleep: at most `timeout` (forever with `None`).
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Wakeups {
        match timeout {
            Some(t) => {
                self.parker.park_timeout(t);
            }
            None => self.parker.park(),
        }
        Wakeups
    }

    /// A busy worker's poll: there is nothing to poll.
    pub(crate) fn poll_now(&self) -> usize {
        0
    }
}

/// Goroutines to wake after a blocking poll: none without `net`.
#[must_use]
pub(crate) struct Wakeups;

impl Wakeups {
    /// Wakes them all; returns how many (always 0).
    pub(crate) fn wake_all(self) -> usize {
        0
    }
}

impl std::fmt::Debug for IoDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoDriver").finish_non_exhaustive()
    }
}
