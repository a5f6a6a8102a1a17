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
//! The readiness protocol, waiters and deadlines of one source are in
//! `scheduled_io.rs`.

mod scheduled_io;

use std::{io, sync::Arc, task::Waker, time::Duration};

use mio::{event::Source, Events, Interest, Token};

use super::lock;
use crate::loom::{
    atomic::{AtomicUsize, Ordering::*},
    Mutex,
};
pub(crate) use scheduled_io::{Direction, ScheduledIo, Wait};
use scheduled_io::{READABLE, WRITABLE};

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
        let io = slot.io.take();
        slot.generation = slot.generation.wrapping_add(1);
        t.free.push(idx);
        drop(t);
        // Possibly the last reference, holding wakers: dropped unlocked.
        drop(io);
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
            wake_contained(w);
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
            wake_contained(w);
        }
        n
    }
}

// Every wake-up and waker drop the netpoller does on a runtime thread is
// contained: a foreign waker's panic must not unwind through the worker.
pub(crate) use crate::task::{drop_contained, wake_contained};

impl std::fmt::Debug for IoDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoDriver")
            .field("registered", &self.registered())
            .finish()
    }
}
