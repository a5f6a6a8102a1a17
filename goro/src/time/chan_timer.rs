//! The timer behind every channel of `time`: [`ChanTimer`], shared by
//! `Timer`, `Ticker`, `after` and `tick` (`timer.rs`, `ticker.rs`,
//! `after.rs`), with Go 1.23's semantics.
//!
//! # Protocol
//!
//! A timer's channel ([`chan::Due`](crate::chan::Due)) buffers nothing: its
//! value is made by the receive that finds the timer due, or handed to a
//! receiver already waiting when the heap fires the timer. So:
//!
//! - after `stop` or `reset` returns, no stale value can be received (there
//!   is none stored anywhere; Go 1.23's guarantee);
//! - an expired timer's channel is ready at once when received from or
//!   selected on, even before the heap has fired it;
//! - the channel never closes (no `Sender` exists): after a one-shot
//!   timer's value, further receives block, as Go's `t.C`;
//! - the heap entry holds only a `Weak` to the timer: when every handle
//!   (the `Timer`/`Ticker` and every `Receiver` clone of its channel) is
//!   dropped, the timer is dropped and its heap entry disarmed, so
//!   `select! { recv(after(1 h)) .. }` in a loop holds O(1) timers.
//!
//! **State** (`St`, under its mutex): `deadline`, `period` (`Some` for a
//! ticker), `active` (armed and its value not yet taken), `fired` (the heap
//! fired the entry of generation `gen`: due even if the timer's clock has
//! not caught up, as with a paused clock), `entry` (the armed heap entry),
//! `fut_waker` (a task awaiting the `Timer`/`Ticker` future directly).
//!
//! **Lock order:** channel lock → timer state → heap. `stop`, `reset` and
//! taking a value hold the channel lock, so the channel's "due then take"
//! under one lock sees one state (the `Due` contract). The heap fires
//! outside its lock: [`Fire`] sets `fired` (if its generation is current),
//! then asks the channel to deliver, then wakes `fut_waker`.
//!
//! A ticker that nobody receives from is not re-armed after it fires: the
//! next receive takes the missed tick at once and re-arms for the first
//! tick of the schedule after now (ticks are dropped, as Go's ticker does).

use std::{
    fmt,
    panic::Location,
    sync::{Arc, Weak},
    task::{Context, Poll, Wake, Waker},
    time::{Duration, Instant},
};

use super::{driver::TimerEntry, next_tick, Handle};
use crate::{
    chan::{Chan, Due, Receiver},
    loom::{lock, Mutex, MutexGuard},
    wait::{self, WaitReason},
};

/// The shared state of one timer with a channel.
pub(crate) struct ChanTimer {
    handle: Handle,
    state: Mutex<St>,
}

pub(super) struct St {
    pub(super) deadline: Instant,
    pub(super) period: Option<Duration>,
    pub(super) active: bool,
    fired: bool,
    gen: u64,
    entry: Option<Arc<TimerEntry>>,
    chan: Weak<Chan<Instant>>,
    fut_waker: Option<Waker>,
}

impl fmt::Debug for ChanTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("ChanTimer")
            .field("deadline", &st.deadline)
            .field("period", &st.period)
            .field("active", &st.active)
            .finish()
    }
}

impl ChanTimer {
    /// A timer first due at `deadline` (then every `period`, if any), and
    /// its channel; armed in the current runtime's heap (or the global one).
    pub(super) fn new(
        deadline: Instant,
        period: Option<Duration>,
    ) -> (Arc<ChanTimer>, Receiver<Instant>) {
        let t = Arc::new(ChanTimer {
            handle: Handle::current(),
            state: Mutex::new(St {
                deadline,
                period,
                active: true,
                fired: false,
                gen: 0,
                entry: None,
                chan: Weak::new(),
                fut_waker: None,
            }),
        });
        let rx = crate::chan::timer_chan::<Instant>(Box::new(TimerDue(t.clone())));
        {
            let mut st = t.lock();
            st.chan = Arc::downgrade(&rx.chan);
            t.arm(&mut st);
        }
        (t, rx)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, St> {
        lock(&self.state)
    }

    /// Disarms the heap entry, if any, and starts a new generation.
    fn disarm(&self, st: &mut St) {
        if let Some(e) = st.entry.take() {
            self.handle.cancel(&e);
        }
        st.gen = st.gen.wrapping_add(1);
        st.fired = false;
    }

    /// (Re-)arms the heap entry for `st.deadline` if the timer is active.
    fn arm(self: &Arc<Self>, st: &mut St) {
        self.disarm(st);
        if st.active {
            let fire = Fire {
                timer: Arc::downgrade(self),
                gen: st.gen,
            };
            let e = TimerEntry::new(Waker::from(Arc::new(fire)));
            self.handle.insert(st.deadline, e.clone());
            st.entry = Some(e);
        }
    }

    fn is_due(&self, st: &St) -> bool {
        st.active && (st.fired || self.handle.now() >= st.deadline)
    }

    /// Takes the due value (lock order: the channel's lock is held).
    fn take_due(self: &Arc<Self>, st: &mut St) -> Option<Instant> {
        if !self.is_due(st) {
            return None;
        }
        let v = st.deadline;
        match st.period {
            None => {
                st.active = false;
                self.disarm(st);
            }
            Some(p) => {
                st.deadline = next_tick(v, p, self.handle.now());
                self.arm(st);
            }
        }
        Some(v)
    }

    /// Stops the timer; true if its value had not been taken yet.
    pub(super) fn stop(&self, rx: &Receiver<Instant>) -> bool {
        let _chan = rx.chan.lock();
        let mut st = self.lock();
        let was_active = st.active;
        st.active = false;
        self.disarm(&mut st);
        was_active
    }

    /// Re-arms for `deadline` (and `period`); true if it had been active.
    pub(super) fn reset(
        self: &Arc<Self>,
        rx: &Receiver<Instant>,
        deadline: Instant,
        period: Option<Duration>,
    ) -> bool {
        let _chan = rx.chan.lock();
        let mut st = self.lock();
        let was_active = st.active;
        st.active = true;
        st.deadline = deadline;
        st.period = period;
        self.arm(&mut st);
        was_active
    }

    /// A poll of the `Timer`/`Ticker` future: the due value, or pending
    /// with `cx`'s waker stored for the next firing.
    pub(super) fn poll_value(
        &self,
        rx: &Receiver<Instant>,
        cx: &mut Context<'_>,
        at: &'static Location<'static>,
    ) -> Poll<Instant> {
        if let Ok(v) = rx.try_recv() {
            return Poll::Ready(v);
        }
        {
            let mut st = self.lock();
            wait::update_waker(&mut st.fut_waker, cx.waker());
        }
        // It may have fired between the first try and storing the waker.
        if let Ok(v) = rx.try_recv() {
            return Poll::Ready(v);
        }
        wait::record(WaitReason::Sleep, at);
        Poll::Pending
    }
}

impl Drop for ChanTimer {
    fn drop(&mut self) {
        let st = match self.state.get_mut() {
            Ok(st) => st,
            Err(p) => p.into_inner(),
        };
        if let Some(e) = st.entry.take() {
            self.handle.cancel(&e);
        }
    }
}

/// The channel's view of its timer.
#[derive(Debug)]
struct TimerDue(Arc<ChanTimer>);

impl Due<Instant> for TimerDue {
    fn is_due(&self) -> bool {
        self.0.is_due(&self.0.lock())
    }

    fn take_due(&self) -> Option<Instant> {
        self.0.take_due(&mut self.0.lock())
    }
}

/// The heap entry's waker: marks its generation fired and delivers.
struct Fire {
    timer: Weak<ChanTimer>,
    gen: u64,
}

impl Wake for Fire {
    fn wake(self: Arc<Self>) {
        let Some(t) = self.timer.upgrade() else {
            return;
        };
        let (chan, waker) = {
            let mut st = t.lock();
            if st.gen != self.gen {
                return; // stopped or reset since it was armed
            }
            st.fired = true;
            st.entry = None;
            (st.chan.upgrade(), st.fut_waker.take())
        };
        if let Some(c) = chan {
            c.deliver_due();
        }
        if let Some(w) = waker {
            w.wake();
        }
    }
}
