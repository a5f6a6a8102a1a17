//! The netpoller (Go's `netpoll`): one `mio::Poll` per runtime, driven by
//! the workers themselves.
//!
//! Who polls:
//! - the worker that takes the timer-driver role when it parks blocks in
//!   `epoll_wait` (via [`IoDriver::wait`]) with the time to the earliest
//!   timer as timeout, instead of sleeping on its parker. Unparking that
//!   worker ([`Shared::unpark_worker`]) also fires the mio `Waker`;
//! - while every worker is busy nobody parks, so a running worker polls
//!   with a zero timeout every 61 ticks when nobody holds the role
//!   ([`IoDriver::poll_now`], which never blocks: it `try_lock`s).
//!
//! There is no I/O thread.
//!
//! Registrations: a table of slots, each holding an `Arc<ScheduledIo>` and
//! a generation. The mio token of a source is `generation << 32 | slot`
//! (16 and 16 bits on 32-bit targets);
//! an event whose generation no longer matches its slot belongs to a
//! source already deregistered and is dropped (stale events are harmless
//! anyway, see below).
//!
//! Readiness protocol (one word per source, `ScheduledIo::readiness`):
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
//! Deadlines (Go's `SetDeadline`): per direction, a deadline, a flag
//! `expired` and a runtime timer ([`crate::time::Callback`]) whose waker sets
//! the flag and wakes the direction's waiters. A sequence number makes a
//! timer from a deadline that was since reset do nothing.

use std::{
    io,
    panic::Location,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::*},
        Arc, Mutex, MutexGuard, Weak,
    },
    task::{Context, Poll, Wake, Waker},
    time::{Duration, Instant},
};

use mio::{event::Source, Events, Interest, Token};

use crate::{
    time::Callback,
    wait::{self, WaitReason},
};

/// The token of the mio `Waker`; no slot reaches it.
const WAKE_TOKEN: Token = Token(usize::MAX);
/// A token is `generation << GEN_SHIFT | slot`.
const GEN_SHIFT: u32 = usize::BITS / 2;
const SLOT_MASK: usize = (1 << GEN_SHIFT) - 1;

fn token_of(slot: usize, generation: u32) -> Token {
    Token(((generation as usize & (usize::MAX >> GEN_SHIFT)) << GEN_SHIFT) | slot)
}
/// Events taken from the kernel per `epoll_wait`.
const EVENTS_CAPACITY: usize = 1024;

const READABLE: usize = 0b01;
const WRITABLE: usize = 0b10;
const TICK_SHIFT: u32 = 2;
const TICK_ONE: usize = 1 << TICK_SHIFT;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

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

#[derive(Default)]
struct DirState {
    wakers: Vec<Waker>,
    deadline: Option<Instant>,
    /// Bumped by every `set_deadline`, so an old timer's wake is ignored.
    seq: u64,
    timer: Option<Callback>,
}

/// The readiness and waiters of one registered source.
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    /// Deadline passed, per direction (read without the lock on every op).
    expired: [AtomicBool; 2],
    dirs: Mutex<[DirState; 2]>,
}

impl ScheduledIo {
    fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(READABLE | WRITABLE),
            expired: [AtomicBool::new(false), AtomicBool::new(false)],
            dirs: Mutex::new(Default::default()),
        }
    }

    /// Step 1 of every operation: ready (with the tick seen), or the
    /// deadline passed, or `Pending` with the task's waker stored and the
    /// wait recorded as `IoWait` at `at`.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        at: &'static Location<'static>,
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
        let wakers = &mut dirs[dir as usize].wakers;
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        drop(dirs);
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
    fn set_readiness(&self, bits: usize, wake: &mut Vec<Waker>) {
        let _ = self.readiness.fetch_update(AcqRel, Acquire, |cur| {
            Some((cur & !(READABLE | WRITABLE)).wrapping_add(TICK_ONE) | (cur & 0b11) | bits)
        });
        let mut dirs = lock(&self.dirs);
        if bits & READABLE != 0 {
            wake.append(&mut dirs[0].wakers);
        }
        if bits & WRITABLE != 0 {
            wake.append(&mut dirs[1].wakers);
        }
    }

    /// Sets (or with `None` removes) the deadline of `dir`. Pending and
    /// later operations in that direction fail with `TimedOut` once it
    /// passes; a later call moves it.
    pub(crate) fn set_deadline(self: &Arc<Self>, dir: Direction, deadline: Option<Instant>) {
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
                Some(t) if t <= Instant::now() => {
                    self.expired[d].store(true, Release);
                    to_wake = std::mem::take(&mut st.wakers);
                }
                Some(t) => {
                    self.expired[d].store(false, Release);
                    let waker = Waker::from(Arc::new(DeadlineWake {
                        io: Arc::downgrade(self),
                        dir: d,
                        seq: st.seq,
                    }));
                    st.timer = Some(Callback::arm(t, waker));
                }
                None => self.expired[d].store(false, Release),
            }
        }
        if let Some(t) = old_timer {
            t.disarm();
        }
        for w in to_wake {
            w.wake();
        }
    }

    /// The deadline of `dir`, if one is set.
    pub(crate) fn deadline(&self, dir: Direction) -> Option<Instant> {
        lock(&self.dirs)[dir as usize].deadline
    }

    fn disarm_timers(&self) {
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
            if st.seq != self.seq {
                return;
            }
            io.expired[self.dir].store(true, Release);
            st.timer = None;
            std::mem::take(&mut st.wakers)
        };
        for w in wakers {
            w.wake();
        }
    }
}

struct Slot {
    generation: u32,
    io: Option<Arc<ScheduledIo>>,
}

#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

struct PollState {
    poll: mio::Poll,
    events: Events,
    wake: Vec<Waker>,
}

/// One runtime's netpoller: the mio `Poll` (locked by whoever polls), its
/// `Registry` (used without that lock), its `Waker`, and the table of
/// registered sources.
pub(crate) struct IoDriver {
    state: Mutex<PollState>,
    registry: mio::Registry,
    waker: mio::Waker,
    table: Mutex<Table>,
    registered: AtomicUsize,
}

impl IoDriver {
    pub(crate) fn new() -> io::Result<IoDriver> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(IoDriver {
            state: Mutex::new(PollState {
                poll,
                events: Events::with_capacity(EVENTS_CAPACITY),
                wake: Vec::new(),
            }),
            registry,
            waker,
            table: Mutex::new(Table::default()),
            registered: AtomicUsize::new(0),
        })
    }

    /// Live registrations (sockets a goroutine may be waiting on): the
    /// deadlock detector does not report while there is one.
    pub(crate) fn registered(&self) -> usize {
        self.registered.load(SeqCst)
    }

    /// Interrupts a blocking [`IoDriver::wait`].
    pub(crate) fn wake(&self) {
        // An error here (the eventfd is full) means a wake-up is pending.
        let _ = self.waker.wake();
    }

    /// Registers `source` for both directions; the returned `ScheduledIo`
    /// is its readiness.
    pub(crate) fn register(
        &self,
        source: &mut impl Source,
    ) -> io::Result<(Arc<ScheduledIo>, Token)> {
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut t = lock(&self.table);
            let idx = match t.free.pop() {
                Some(i) => i,
                None => {
                    t.slots.push(Slot {
                        generation: 0,
                        io: None,
                    });
                    t.slots.len() - 1
                }
            };
            let slot = &mut t.slots[idx];
            slot.io = Some(io.clone());
            token_of(idx, slot.generation)
        };
        if let Err(e) =
            self.registry
                .register(source, token, Interest::READABLE | Interest::WRITABLE)
        {
            self.release(token);
            return Err(e);
        }
        self.registered.fetch_add(1, SeqCst);
        Ok((io, token))
    }

    /// Deregisters `source` (registered under `token`) and frees its slot.
    pub(crate) fn deregister(&self, source: &mut impl Source, token: Token, io: &ScheduledIo) {
        let _ = self.registry.deregister(source);
        io.disarm_timers();
        self.release(token);
        self.registered.fetch_sub(1, SeqCst);
    }

    fn release(&self, token: Token) {
        let idx = token.0 & SLOT_MASK;
        let mut t = lock(&self.table);
        let slot = &mut t.slots[idx];
        slot.io = None;
        slot.generation = slot.generation.wrapping_add(1);
        t.free.push(idx);
    }

    /// The timer driver's sleep: blocks in `epoll_wait` for at most
    /// `timeout` (forever with `None`) and stores the readiness it got.
    /// The caller wakes the returned waiters once it has left the parked
    /// state, so that the goroutines they schedule find it awake.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> Wakeups {
        let mut st = lock(&self.state);
        self.turn(&mut st, timeout);
        Wakeups(std::mem::take(&mut st.wake))
    }

    /// A zero-timeout poll by a busy worker; does nothing if another
    /// thread holds the poller. Never blocks. Returns how many it woke.
    pub(crate) fn poll_now(&self) -> usize {
        if self.registered.load(Relaxed) == 0 {
            return 0;
        }
        let Ok(mut st) = self.state.try_lock() else {
            return 0;
        };
        self.turn(&mut st, Some(Duration::ZERO));
        let n = st.wake.len();
        let mut wake = std::mem::take(&mut st.wake);
        drop(st);
        for w in wake.drain(..) {
            w.wake();
        }
        n
    }

    /// One `epoll_wait` and the readiness it reports; the wakers of the
    /// sources that became ready are left in `st.wake`.
    fn turn(&self, st: &mut PollState, timeout: Option<Duration>) {
        let PollState { poll, events, wake } = st;
        if let Err(e) = poll.poll(events, timeout) {
            // EINTR: a signal; anything else cannot be handled here. Either
            // way the caller goes on and polls again later.
            debug_assert!(
                e.kind() == io::ErrorKind::Interrupted,
                "goro: epoll_wait failed: {e}"
            );
            return;
        }
        let table = lock(&self.table);
        for ev in events.iter() {
            let token = ev.token();
            if token == WAKE_TOKEN {
                continue;
            }
            let idx = token.0 & SLOT_MASK;
            let Some(slot) = table.slots.get(idx) else {
                continue;
            };
            if token_of(idx, slot.generation) != token {
                continue; // a source since deregistered
            }
            let Some(io) = &slot.io else { continue };
            let mut bits = 0;
            // Errors and hang-ups make both directions "ready": the
            // operation then sees the error or EOF from its syscall.
            if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                bits |= READABLE;
            }
            if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                bits |= WRITABLE;
            }
            if bits != 0 {
                io.set_readiness(bits, wake);
            }
        }
    }
}

/// Goroutines to wake after a blocking poll.
#[must_use]
pub(crate) struct Wakeups(Vec<Waker>);

impl Wakeups {
    /// Wakes them all; returns how many.
    pub(crate) fn wake_all(self) -> usize {
        let n = self.0.len();
        for w in self.0 {
            w.wake();
        }
        n
    }
}

impl std::fmt::Debug for IoDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoDriver")
            .field("registered", &self.registered())
            .finish()
    }
}
