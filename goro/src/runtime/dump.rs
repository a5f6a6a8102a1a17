//! The goroutine dump: what every goroutine is doing, printed like Go's
//! traceback (what `SIGQUIT` and `fatal error: all goroutines are asleep -
//! deadlock!` print in Go).
//!
//! A goroutine has no stack to walk — it is a future — so instead of
//! frames the dump shows the user's own line: the `#[track_caller]` site of
//! the blocking call (recorded by every goro primitive before it returns
//! `Pending`) and the site of the `go` call that created the goroutine.
//!
//! ```text
//! goroutine 1 [chan receive]:
//!     examples/deadlock.rs:31
//!
//! goroutine 7 [chan send, 2 minutes]:
//!     examples/deadlock.rs:24
//! created by goroutine 1 at
//!     examples/deadlock.rs:22
//! ```
//!
//! Reading a dump does not stop the runtime: each goroutine's fields are
//! read on their own, one owned list locked at a time, so a dump of a busy
//! program is a close approximation, as Go's is for running goroutines.

// loom-exempt: the static registry of live runtimes.
use std::{
    fmt,
    panic::Location,
    sync::{Mutex, Weak},
};

use super::{context, lock_static, Runtime, Shared};
use crate::{
    task::{
        state::{NOTIFIED, RUNNING},
        Header,
    },
    wait::{self, WaitReason},
};

/// What a goroutine was doing when the dump was taken.
///
/// # Examples
///
/// ```
/// use goro::runtime::{dump, Status, WaitReason};
/// goro::run(async {
///     let (tx, rx) = goro::chan::<()>(0);
///     let h = goro::go(async move { rx.recv().await });
///     let id = h.id().as_u64();
///     // Wait until the goroutine has blocked in its receive.
///     while !dump().goroutines().iter().any(|g| g.id == id && g.status == Status::Waiting(WaitReason::ChanReceive)) {
///         goro::yield_now().await;
///     }
///     drop(tx);
///     h.await.unwrap();
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Being polled by a worker (or, for the main goroutine, by its thread).
    Running,
    /// Woken, waiting in a run queue for a worker.
    Runnable,
    /// Blocked in a goro call, for this reason.
    Waiting(WaitReason),
    /// Suspended on a future that is not a goro primitive (a foreign
    /// channel, a tokio timer...): goro cannot say what will wake it.
    ForeignWait,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Running => f.write_str("running"),
            Status::Runnable => f.write_str("runnable"),
            Status::Waiting(r) => f.write_str(r.as_str()),
            Status::ForeignWait => f.write_str("select (foreign future)"),
        }
    }
}

/// One goroutine in a [`Dump`].
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let (tx, rx) = goro::chan::<()>(0);
///     let h = goro::go(async move { rx.recv().await });
///     let d = goro::runtime::dump();
///     let g = d.goroutines().iter().find(|g| g.id == h.id().as_u64()).unwrap();
///     assert!(g.created_at.unwrap().file().ends_with(".rs")); // where `go` was called
///     assert_eq!(g.parent, 1); // the main goroutine
///     drop(tx);
///     h.await.unwrap();
/// });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Goroutine {
    /// Its id (Go's goroutine id).
    pub id: u64,
    /// What it was doing.
    pub status: Status,
    /// Where the user's code called the goro function it blocks in; `None`
    /// while running, runnable or on a foreign future.
    pub blocked_at: Option<&'static Location<'static>>,
    /// Whole minutes it has been blocked, when at least one (Go prints the
    /// wait only from one minute on).
    pub waiting_minutes: u32,
    /// Where it was created (`go(..)`); `None` for a main goroutine (the
    /// future passed to `block_on`, `run` or `#[goro::main]`).
    pub created_at: Option<&'static Location<'static>>,
    /// The goroutine that created it (0 when it was created by code outside
    /// any goroutine, such as `Runtime::go` from a plain thread).
    pub parent: u64,
}

impl Status {
    /// What the goroutine behind `h` is doing, given its recorded wait
    /// `reason`.
    pub(crate) fn of(h: &Header, reason: WaitReason) -> Status {
        let state = h.state.load();
        if state.has(NOTIFIED) && !state.has(RUNNING) {
            Status::Runnable
        } else {
            Status::suspended_or_running(!state.has(RUNNING), reason)
        }
    }

    /// A goroutine that is running, or suspended with `reason` recorded.
    fn suspended_or_running(suspended: bool, reason: WaitReason) -> Status {
        if !suspended {
            Status::Running
        } else if reason == WaitReason::None {
            Status::ForeignWait
        } else {
            Status::Waiting(reason)
        }
    }

    /// Whether only another goroutine (or thread) acting on a goro
    /// primitive can end it: what the deadlock detector asks of every one.
    pub(crate) fn blocked_on_goro_primitive(self) -> bool {
        matches!(self, Status::Waiting(r) if r.is_goro_primitive())
    }
}

impl Goroutine {
    fn from_header(h: &Header, now: u32) -> Goroutine {
        let (reason, at, since) = h.wait();
        let mut g = Goroutine::blocked_or_not(h.id(), Status::of(h, reason), at, since, now);
        g.created_at = Some(h.spawned_at());
        g.parent = h.parent();
        g
    }

    /// An entry whose site and wait time are kept only while it is blocked
    /// (they are stale otherwise).
    fn blocked_or_not(
        id: u64,
        status: Status,
        at: Option<&'static Location<'static>>,
        since: u32,
        now: u32,
    ) -> Goroutine {
        let blocked = matches!(status, Status::Waiting(_));
        Goroutine {
            id,
            status,
            blocked_at: if blocked { at } else { None },
            waiting_minutes: if blocked { minutes(now, since) } else { 0 },
            created_at: None,
            parent: 0,
        }
    }
}

fn minutes(now: u32, since: u32) -> u32 {
    now.saturating_sub(since) / 60
}

impl fmt::Display for Goroutine {
    /// Go's format: a header line, the blocking site, and where the
    /// goroutine was created.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "goroutine {} [{}", self.id, self.status)?;
        match self.waiting_minutes {
            0 => {}
            1 => f.write_str(", 1 minute")?,
            m => write!(f, ", {m} minutes")?,
        }
        f.write_str("]:\n")?;
        match (self.blocked_at, self.created_at) {
            (Some(at), _) => writeln!(f, "\t{at}")?,
            (None, None) => f.write_str("\tmain goroutine\n")?,
            (None, Some(_)) => {}
        }
        if let Some(at) = self.created_at {
            match self.parent {
                0 => writeln!(f, "created by a thread outside goroutines at\n\t{at}")?,
                p => writeln!(f, "created by goroutine {p} at\n\t{at}")?,
            }
        }
        Ok(())
    }
}

/// A snapshot of every goroutine: [`dump`] or [`Runtime::dump`]. Its
/// `Display` prints like Go's traceback, one paragraph per goroutine,
/// ordered by id.
///
/// # Examples
///
/// ```
/// use goro::runtime::{dump, Status, WaitReason};
///
/// goro::run(async {
///     let (tx, rx) = goro::chan::<u32>(0);
///     let h = goro::go(async move { rx.recv().await }); // blocks: nobody sends yet
///     while !dump().goroutines().iter().any(|g| g.status == Status::Waiting(WaitReason::ChanReceive)) {
///         goro::yield_now().await;
///     }
///     let text = dump().to_string();
///     assert!(text.contains("[chan receive]:"), "{text}");
///     assert!(text.contains("created by goroutine"), "{text}");
///     tx.send(1).await.unwrap();
///     assert_eq!(h.await.unwrap(), Some(1));
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct Dump {
    goroutines: Vec<Goroutine>,
}

impl Dump {
    /// The goroutines, ordered by id.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let h = goro::go(std::future::pending::<()>());
    ///     let d = goro::runtime::dump();
    ///     assert!(d.goroutines().iter().any(|g| g.id == h.id().as_u64()));
    ///     h.abort();
    /// });
    /// ```
    pub fn goroutines(&self) -> &[Goroutine] {
        &self.goroutines
    }

    /// How many goroutines it lists.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let h = goro::go(std::future::pending::<()>());
    ///     assert_eq!(goro::runtime::dump().len(), 2); // main and the goroutine
    ///     h.abort();
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.goroutines.len()
    }

    /// Whether it lists none.
    ///
    /// # Examples
    ///
    /// ```
    /// // Outside any runtime there is nothing to list.
    /// assert!(goro::runtime::dump().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.goroutines.is_empty()
    }

    /// The same dump without main goroutines (the leak check's list).
    pub(crate) fn without_main(mut self) -> Dump {
        self.goroutines.retain(|g| g.created_at.is_some());
        self
    }

    fn sort(mut self) -> Dump {
        self.goroutines.sort_by_key(|g| g.id);
        self
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, g) in self.goroutines.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            fmt::Display::fmt(g, f)?;
        }
        Ok(())
    }
}

/// The goroutines of one runtime: the main goroutine (while a thread is
/// inside `block_on`) and every live spawned one.
pub(crate) fn collect(shared: &Shared) -> Dump {
    let now = wait::coarse_now();
    let mut d = Dump::default();
    if let Some(main) = shared.main.snapshot(now) {
        d.goroutines.push(main);
    }
    shared
        .owned
        .for_each(|h| d.goroutines.push(Goroutine::from_header(h, now)));
    d.sort()
}

impl super::MainGoroutine {
    fn snapshot(&self, now: u32) -> Option<Goroutine> {
        let (reason, at, since) = self.wait()?;
        let status = Status::suspended_or_running(self.is_parked(), reason);
        Some(Goroutine::blocked_or_not(self.id(), status, at, since, now))
    }
}

/// Every runtime of the process that has not shut down, for [`dump`] and
/// for `SIGQUIT`.
static RUNTIMES: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

pub(crate) fn register(shared: &std::sync::Arc<Shared>) {
    let mut all = lock_static(&RUNTIMES);
    all.retain(|w| w.strong_count() > 0);
    all.push(std::sync::Arc::downgrade(shared));
}

pub(crate) fn unregister(shared: &Shared) {
    let mut all = lock_static(&RUNTIMES);
    all.retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), shared));
}

/// A dump of the goroutines of the runtime the calling thread serves; from
/// outside any runtime, of every runtime in the process.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let d = goro::runtime::dump();
///     assert_eq!(d.len(), 1); // just main, which is running
///     assert!(d.to_string().starts_with("goroutine "), "{d}");
///     assert!(d.to_string().contains("[running]"), "{d}");
/// });
/// ```
pub fn dump() -> Dump {
    if let Some(d) = context::with(|c| c.map(|c| collect(c.shared()))) {
        return d;
    }
    dump_all()
}

/// Every goroutine of every live runtime in the process.
pub(crate) fn dump_all() -> Dump {
    let all: Vec<_> = lock_static(&RUNTIMES)
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut d = Dump::default();
    for s in all {
        d.goroutines.extend(collect(&s).goroutines);
    }
    d.sort()
}

impl Runtime {
    /// A dump of this runtime's goroutines (see [`Dump`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = goro::Runtime::new().unwrap();
    /// let (tx, rx) = goro::chan::<()>(0);
    /// let _h = rt.go(async move { rx.recv().await });
    /// // The goroutine is listed at once (running, runnable or waiting).
    /// assert_eq!(rt.dump().len(), 1);
    /// drop(tx);
    /// ```
    pub fn dump(&self) -> Dump {
        collect(self.shared())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn blocked(minutes: u32) -> Goroutine {
        Goroutine {
            id: 7,
            status: Status::Waiting(WaitReason::ChanReceive),
            blocked_at: Some(Location::caller()),
            waiting_minutes: minutes,
            created_at: Some(Location::caller()),
            parent: 1,
        }
    }

    #[test]
    fn waits_print_in_whole_minutes_from_one_on() {
        assert_eq!(minutes(100, 50), 0);
        assert_eq!(minutes(170, 50), 2);
        assert_eq!(minutes(10, 50), 0, "a clock read before the stamp");
        let head = |m| blocked(m).to_string().lines().next().unwrap().to_string();
        assert_eq!(head(0), "goroutine 7 [chan receive]:");
        assert_eq!(head(1), "goroutine 7 [chan receive, 1 minute]:");
        assert_eq!(head(2), "goroutine 7 [chan receive, 2 minutes]:");
    }

    #[test]
    fn paragraph_shape() {
        let g = blocked(0);
        let (b, c) = (g.blocked_at.unwrap(), g.created_at.unwrap());
        assert_eq!(
            g.to_string(),
            format!("goroutine 7 [chan receive]:\n\t{b}\ncreated by goroutine 1 at\n\t{c}\n")
        );
    }
}
