//! The readiness, waiters and deadlines of one registered source
//! (Go's `pollDesc`).
//!
//! Readiness protocol (one word per source, `readiness`):
//! bits 0-1 are READABLE and WRITABLE, the bits above them a tick that the
//! driver bumps on every event it stores. An operation
//! 1. waits until its direction's bit is set ([`ScheduledIo::poll_ready`]),
//!    remembering the tick it saw;
//! 2. tries the syscall;
//! 3. on `WouldBlock` clears its bit, but only if the tick is still the one
//!    it saw ([`ScheduledIo::clear_readiness`]): an event that arrived in
//!    between must not be lost. Then it goes back to 1.
//!
//! New sources start out ready in both directions (the first attempt is a
//! syscall, not a trip through the poller); epoll is edge-triggered, so a
//! readiness bit is only ever cleared by an operation that saw `WouldBlock`.
//! A wake-up without readiness (stale event, deadline reset, spurious
//! wake) re-polls, finds the bit clear and waits again.
//!
//! Waiters: each direction keeps a list of wakers (several goroutines may
//! wait to accept on one listener; one reader and one writer may wait on
//! one stream) and readiness wakes them all. A waiter registers under the
//! source's lock and re-reads the readiness word there; the driver stores
//! readiness before it takes that lock, so a wake-up cannot fall between.
//!
//! Each entry is keyed by its owner: a future (`read`, `accept`, ...)
//! holds a [`Wait`] whose key it re-uses on every poll and whose drop
//! removes the entry, so a future abandoned while waiting (dropped by a
//! timeout, a losing `select!` arm) leaves no waker behind. The `poll_*`
//! trait methods (`AsyncRead::poll_read`, `poll_accept`) have no future to
//! own a key; they share key 0, one entry per direction holding the latest
//! waker, as tokio's `poll_read_ready` does.
//!
//! Why keys and not "one waker per task"? A waker says nothing about the
//! future that registered it: one goroutine may drop a read and start
//! another, a foreign executor may hand out a fresh waker on every poll.
//! Only the future knows when it is gone.
//!
//! Deadlines (Go's `SetDeadline`): per direction, a deadline, a flag
//! `expired` and a runtime timer ([`crate::time::Callback`]) whose waker sets
//! the flag and wakes the direction's waiters. A sequence number makes a
//! timer from a deadline that was since reset do nothing.

use std::{
    io,
    panic::Location,
    sync::{Arc, Weak},
    task::{Context, Poll, Wake, Waker},
    time::Instant,
};

use super::{drop_contained, wake_contained};
use crate::{
    loom::{
        atomic::{AtomicBool, AtomicUsize, Ordering::*},
        lock, Mutex,
    },
    runtime::Shared,
    time::Callback,
    wait::{self, WaitReason},
};

pub(super) const READABLE: usize = 0b01;
pub(super) const WRITABLE: usize = 0b10;
const TICK_SHIFT: u32 = 2;
const TICK_ONE: usize = 1 << TICK_SHIFT;

/// One direction of a source: reads (and accepts) or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read = 0,
    Write = 1,
}

impl Direction {
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }
}

/// What a waiter saw when it found its direction ready: pass it back to
/// `clear_readiness` on `WouldBlock`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadyEvent {
    tick: usize,
}

/// The error of an operation past its deadline (Go's `os.ErrDeadlineExceeded`).
pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "i/o timeout")
}

struct DirState {
    /// Waiting owners and their wakers: key 0 is the `poll_*` methods',
    /// other keys belong to one [`Wait`] each.
    wakers: Vec<(u64, Waker)>,
    /// The key of the next [`Wait`] to register.
    next_key: u64,
    deadline: Option<Instant>,
    /// Bumped by every `set_deadline`, so an old timer's wake is ignored.
    seq: u64,
    timer: Option<Callback>,
}

impl Default for DirState {
    fn default() -> DirState {
        DirState {
            wakers: Vec::new(),
            next_key: 1,
            deadline: None,
            seq: 0,
            timer: None,
        }
    }
}

impl DirState {
    /// Takes every waker, to be woken once the lock is released.
    fn take_wakers(&mut self) -> Vec<Waker> {
        self.wakers.drain(..).map(|(_, w)| w).collect()
    }
}

/// A future's entry in one direction's waiter list: registered on the
/// future's first `Pending`, re-used by its later polls, removed when it is
/// dropped (see the module docs).
///
/// (`pub` only because the sealed stream trait's hidden methods take one;
/// it cannot be named outside goro.)
#[derive(Default)]
pub struct Wait {
    reg: Option<(Arc<ScheduledIo>, Direction, u64)>,
}

impl std::fmt::Debug for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait")
            .field("key", &self.reg.as_ref().map(|r| r.2))
            .finish()
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        let Some((io, dir, key)) = self.reg.take() else {
            return;
        };
        let removed = {
            let mut dirs = lock(&io.dirs);
            let wakers = &mut dirs[dir as usize].wakers;
            wakers
                .iter()
                .position(|(k, _)| *k == key)
                .map(|i| wakers.swap_remove(i))
        };
        // The waker is dropped outside the lock (its drop is user code).
        drop(removed);
    }
}

/// The readiness and waiters of one registered source.
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    /// Deadline passed, per direction (read without the lock on every op).
    expired: [AtomicBool; 2],
    dirs: Mutex<[DirState; 2]>,
}

impl ScheduledIo {
    pub(super) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(READABLE | WRITABLE),
            expired: [AtomicBool::new(false), AtomicBool::new(false)],
            dirs: Mutex::new(Default::default()),
        }
    }

    /// Step 1 of every operation: ready (with the tick seen), or the
    /// deadline passed, or `Pending` with the task's waker stored and the
    /// wait recorded as `IoWait` at `at`.
    ///
    /// `wait` is the calling future's registration; `None` for the
    /// `poll_*` methods (key 0: the latest waker replaces the previous).
    pub(crate) fn poll_ready(
        self: &Arc<Self>,
        cx: &mut Context<'_>,
        dir: Direction,
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(r) = self.check(dir) {
            return Poll::Ready(r);
        }
        let mut dirs = lock(&self.dirs);
        // Re-check under the lock: the driver stores readiness before it
        // takes this lock to collect wakers.
        if let Some(r) = self.check(dir) {
            return Poll::Ready(r);
        }
        let st = &mut dirs[dir as usize];
        let key = match wait {
            None => 0,
            Some(Wait {
                reg: Some((_, d, k)),
            }) => {
                debug_assert_eq!(*d, dir, "one Wait per direction");
                *k
            }
            Some(w) => {
                let k = st.next_key;
                st.next_key += 1;
                w.reg = Some((self.clone(), dir, k));
                k
            }
        };
        let mut replaced = None;
        match st.wakers.iter_mut().find(|(k, _)| *k == key) {
            Some((_, w)) if w.will_wake(cx.waker()) => {}
            Some((_, w)) => replaced = Some(std::mem::replace(w, cx.waker().clone())),
            None => st.wakers.push((key, cx.waker().clone())),
        }
        drop(dirs);
        drop(replaced); // user code: outside the lock
        wait::record(WaitReason::IoWait, at);
        Poll::Pending
    }

    #[inline]
    fn check(&self, dir: Direction) -> Option<io::Result<ReadyEvent>> {
        if self.expired[dir as usize].load(Acquire) {
            return Some(Err(timed_out()));
        }
        let cur = self.readiness.load(Acquire);
        (cur & dir.mask() != 0).then_some(Ok(ReadyEvent {
            tick: cur >> TICK_SHIFT,
        }))
    }

    /// Step 3: the operation saw `WouldBlock`; forget `dir`'s readiness
    /// unless an event arrived since `ev` was observed.
    pub(crate) fn clear_readiness(&self, ev: ReadyEvent, dir: Direction) {
        let _ = self.readiness.fetch_update(AcqRel, Acquire, |cur| {
            (cur >> TICK_SHIFT == ev.tick).then_some(cur & !dir.mask())
        });
    }

    /// The driver stores an event: bump the tick, set the bits, and collect
    /// the wakers of the directions that became ready.
    pub(super) fn set_readiness(&self, bits: usize, wake: &mut Vec<Waker>) {
        let _ = self.readiness.fetch_update(AcqRel, Acquire, |cur| {
            Some((cur & !(READABLE | WRITABLE)).wrapping_add(TICK_ONE) | (cur & 0b11) | bits)
        });
        let mut dirs = lock(&self.dirs);
        if bits & READABLE != 0 {
            wake.extend(dirs[0].wakers.drain(..).map(|(_, w)| w));
        }
        if bits & WRITABLE != 0 {
            wake.extend(dirs[1].wakers.drain(..).map(|(_, w)| w));
        }
    }

    /// Sets (or with `None` removes) the deadline of `dir`. Pending and
    /// later operations in that direction fail with `TimedOut` once it
    /// passes; a later call moves it.
    /// `now` is the time on the socket's runtime's clock (virtual under a
    /// paused clock), whose timer heap `shared` gets the deadline's timer.
    pub(crate) fn set_deadline(
        self: &Arc<Self>,
        dir: Direction,
        deadline: Option<Instant>,
        shared: &Arc<Shared>,
    ) {
        let now = shared.timers.now();
        let d = dir as usize;
        let mut to_wake = Vec::new();
        let old_timer;
        {
            let mut dirs = lock(&self.dirs);
            let st = &mut dirs[d];
            st.seq += 1;
            st.deadline = deadline;
            old_timer = st.timer.take();
            match deadline {
                Some(t) if t <= now => {
                    self.expired[d].store(true, Release);
                    to_wake = st.take_wakers();
                }
                Some(t) => {
                    self.expired[d].store(false, Release);
                    let waker = Waker::from(Arc::new(DeadlineWake {
                        io: Arc::downgrade(self),
                        dir: d,
                        seq: st.seq,
                    }));
                    st.timer = Some(Callback::arm_on(shared.clone(), t, waker));
                }
                None => self.expired[d].store(false, Release),
            }
        }
        if let Some(t) = old_timer {
            t.disarm();
        }
        for w in to_wake {
            wake_contained(w);
        }
    }

    /// The deadline of `dir`, if one is set.
    pub(crate) fn deadline(&self, dir: Direction) -> Option<Instant> {
        lock(&self.dirs)[dir as usize].deadline
    }

    pub(super) fn disarm_timers(&self) {
        let timers: Vec<Callback> = lock(&self.dirs)
            .iter_mut()
            .filter_map(|d| d.timer.take())
            .collect();
        for t in timers {
            t.disarm();
        }
    }
}

/// The waker of a deadline timer.
struct DeadlineWake {
    io: Weak<ScheduledIo>,
    dir: usize,
    seq: u64,
}

impl Wake for DeadlineWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let Some(io) = self.io.upgrade() else { return };
        let wakers = {
            let mut dirs = lock(&io.dirs);
            let st = &mut dirs[self.dir];
            // A deadline since moved or removed: nothing to do.
            (st.seq == self.seq).then(|| {
                io.expired[self.dir].store(true, Release);
                st.timer = None;
                st.take_wakers()
            })
        };
        // If the socket was dropped meanwhile, this is the last reference:
        // its leftover wakers (user code) are dropped here, contained.
        drop_contained(io);
        // The timer driver runs this: a waker's panic must not reach it.
        for w in wakers.into_iter().flatten() {
            wake_contained(w);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The readiness protocol against the driver: no interleaving of an
    //! operation (wait, try, clear on `WouldBlock`) with an event loses the
    //! event. A lost wake-up leaves a loom thread parked forever, which
    //! loom reports as a deadlock.

    use super::*;
    use crate::sync::loom_block_on;

    /// The socket's kernel state: data waiting or not. A mutex, not an
    /// atomic: the kernel orders a syscall totally with the data's arrival.
    type Kernel = Mutex<bool>;

    /// One operation in `dir`: the "syscall" takes what `kernel` has.
    fn operate(io: &Arc<ScheduledIo>, kernel: &Kernel, dir: Direction) {
        let at = Location::caller();
        loom_block_on(std::future::poll_fn(|cx| loop {
            let ev = match io.poll_ready(cx, dir, at, None) {
                Poll::Ready(r) => r.expect("no deadline in the model"),
                Poll::Pending => return Poll::Pending,
            };
            if std::mem::take(&mut *lock(kernel)) {
                return Poll::Ready(());
            }
            io.clear_readiness(ev, dir); // WouldBlock
        }))
    }

    /// The driver: the kernel gets data, then epoll reports it.
    fn event(io: &ScheduledIo, kernels: &[&Kernel], bits: usize) {
        for k in kernels {
            *lock(k) = true;
        }
        let mut wake = Vec::new();
        io.set_readiness(bits, &mut wake);
        for w in wake {
            w.wake();
        }
    }

    #[test]
    fn an_event_racing_a_would_block_is_not_lost() {
        // A new source starts out "ready": the first try finds nothing and
        // clears, possibly after the event arrived.
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let kernel = Arc::new(Kernel::new(false));
            let (io2, k2) = (io.clone(), kernel.clone());
            let driver = loom::thread::spawn(move || event(&io2, &[&k2], READABLE));
            operate(&io, &kernel, Direction::Read);
            driver.join().unwrap();
        });
    }

    #[test]
    fn a_reader_and_a_writer_are_both_woken() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let _ = io.readiness.fetch_and(!(READABLE | WRITABLE), SeqCst);
            let rk = Arc::new(Kernel::new(false));
            let wk = Arc::new(Kernel::new(false));
            let (io2, rk2) = (io.clone(), rk.clone());
            let reader = loom::thread::spawn(move || operate(&io2, &rk2, Direction::Read));
            // The driver reports both directions in one event.
            let (io3, rk3, wk3) = (io.clone(), rk.clone(), wk.clone());
            let driver =
                loom::thread::spawn(move || event(&io3, &[&rk3, &wk3], READABLE | WRITABLE));
            operate(&io, &wk, Direction::Write);
            reader.join().unwrap();
            driver.join().unwrap();
        });
    }
}
