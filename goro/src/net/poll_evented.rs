//! `PollEvented`: a non-blocking mio source registered with the current
//! runtime's netpoller, and the one loop every socket operation runs
//! (wait for readiness, try the syscall, forget the readiness on
//! `WouldBlock`, wait again). The protocol is described in
//! `runtime/io/mod.rs`.

use std::{
    io,
    panic::Location,
    sync::Arc,
    task::{ready, Context, Poll},
    time::Instant,
};

use mio::{event::Source, Token};

use crate::runtime::{
    context,
    io::{Direction, ScheduledIo, Wait},
    Shared,
};

pub(crate) struct PollEvented<E: Source> {
    io: E,
    sched: Arc<ScheduledIo>,
    token: Token,
    shared: Arc<Shared>,
}

impl<E: Source> PollEvented<E> {
    /// Registers `io` (already non-blocking) with the current runtime;
    /// panics outside one, naming `what` and the user's call site `at`.
    pub(crate) fn new_at(
        mut io: E,
        what: &str,
        at: &'static Location<'static>,
    ) -> io::Result<PollEvented<E>> {
        let shared = context::with(|ctx| ctx.map(|c| c.shared().arc())).unwrap_or_else(|| {
            panic!(
                "{what} used outside a goro runtime (at {at}): sockets are polled by a \
                 runtime's workers; start one with goro::run, #[goro::main] or \
                 Runtime::block_on"
            )
        });
        let (sched, token) = shared.io.register(&mut io)?;
        Ok(PollEvented {
            io,
            sched,
            token,
            shared,
        })
    }

    /// Registers `io` with the same runtime as `self` (an accepted
    /// connection joins its listener's runtime, whoever polls `accept`).
    pub(crate) fn sibling<S: Source>(&self, mut io: S) -> io::Result<PollEvented<S>> {
        let (sched, token) = self.shared.io.register(&mut io)?;
        Ok(PollEvented {
            io,
            sched,
            token,
            shared: self.shared.clone(),
        })
    }

    pub(crate) fn get_ref(&self) -> &E {
        &self.io
    }

    /// Runs `op` once `dir` is ready, until it does not say `WouldBlock`.
    /// Spends one unit of the cooperative budget first, so a goroutine
    /// whose socket is always ready still yields its worker now and then.
    /// `wait` is the calling future's waiter registration (`None` from the
    /// `poll_*` methods; see `runtime/io/scheduled_io.rs`).
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        at: &'static Location<'static>,
        mut wait: Option<&mut Wait>,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        ready!(context::poll_proceed(cx));
        loop {
            let ev = match self.sched.poll_ready(cx, dir, at, wait.as_deref_mut()) {
                Poll::Ready(r) => r?,
                // Nobody polls the sockets of a runtime that is gone: fail
                // instead of waiting forever.
                Poll::Pending if self.shared.is_shutdown() => {
                    return Poll::Ready(Err(io::Error::other(
                        "goro: the runtime this socket was created in has shut down",
                    )))
                }
                Poll::Pending => return Poll::Pending,
            };
            match op(&self.io) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.sched.clear_readiness(ev, dir)
                }
                r => return Poll::Ready(r),
            }
        }
    }

    /// A read from a stream source.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a E: io::Read,
    {
        self.poll_io(cx, Direction::Read, at, wait, |mut s| {
            io::Read::read(&mut s, buf)
        })
    }

    /// A read from a stream socket into memory that may be uninitialised
    /// (hyper's `ReadBufCursor`): `recv(2)` through socket2, which takes
    /// `&mut [MaybeUninit<u8>]` and only writes to it. Never a `&mut [u8]`
    /// over uninitialised bytes (undefined behaviour, whoever reads it).
    #[cfg(feature = "hyper")]
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<usize>>
    where
        for<'a> socket2::SockRef<'a>: From<&'a E>,
    {
        self.poll_io(cx, Direction::Read, at, wait, |s| {
            socket2::SockRef::from(s).recv(buf)
        })
    }

    /// A write to a stream source.
    pub(crate) fn poll_write(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a E: io::Write,
    {
        self.poll_io(cx, Direction::Write, at, wait, |mut s| {
            io::Write::write(&mut s, buf)
        })
    }

    /// A vectored write to a stream source.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
        at: &'static Location<'static>,
        wait: Option<&mut Wait>,
    ) -> Poll<io::Result<usize>>
    where
        for<'a> &'a E: io::Write,
    {
        self.poll_io(cx, Direction::Write, at, wait, |mut s| {
            io::Write::write_vectored(&mut s, bufs)
        })
    }

    pub(crate) fn set_deadline(&self, dir: Direction, deadline: Option<Instant>) {
        self.sched.set_deadline(dir, deadline, &self.shared)
    }

    pub(crate) fn deadline(&self, dir: Direction) -> Option<Instant> {
        self.sched.deadline(dir)
    }
}

impl<E: Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        self.shared
            .io
            .deregister(&mut self.io, self.token, &self.sched);
    }
}

impl<E: Source + std::fmt::Debug> std::fmt::Debug for PollEvented<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.fmt(f)
    }
}
