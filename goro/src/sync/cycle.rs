//! Lock-cycle (partial deadlock) detection: goroutine A waits for a
//! `Mutex` (or an `RwMutex` write lock) held by B, B waits for one held
//! by C, ..., and someone in the chain waits for one held by A. Go notices
//! a deadlock only when every goroutine is asleep; a cycle inside a
//! server whose other goroutines keep running hangs silently. Here the
//! goroutine whose wait closes the cycle reports it at once.
//!
//! # Protocol
//!
//! - Each `Mutex` has a `holder` word: the id of the goroutine whose guard
//!   holds it, 0 when free, just handed over, or held by a plain thread.
//!   A guard's constructor stores it, `Mutex::unlock` clears it first
//!   (only while detection is on: [`enabled`], one relaxed load when off).
//! - A goroutine that queues on a mutex adds a *wait edge* (it → the lock,
//!   the holder read then) to the process-wide registry, with the queue
//!   lock held and `WAITERS` set: the holder cannot release without the
//!   queue lock, so the edge is true when added.
//! - Every event that can make an edge false — the lock released with
//!   waiters (`unlock_slow`), handed on, or a waiter leaving
//!   (`cancel_acquire`) — removes every edge on that lock ([`released`]).
//!   A waiter that retries and queues again adds a fresh edge. So an edge
//!   in the registry always says "X is queued on L and Y holds L": a
//!   reported cycle is real. (Edges removed this way are not re-added for
//!   the waiters still queued, so a cycle may be missed; never invented.)
//! - Lock order: a mutex's queue lock, then the registry; nothing is taken
//!   inside the registry lock. The report is made outside it.
//!
//! A guard is credited to the goroutine that locked it. A borrowed guard
//! moved to another goroutine (possible for a `static` mutex) keeps that
//! credit, so a chain through it could be wrong; a goroutine waiting for a
//! lock credited to itself (the usual shape of that) is not reported.
//! Owned guards (`lock_owned`), made to be moved into goroutines, are not
//! credited at all.
//!
//! **Joins.** A goroutine awaiting a `JoinHandle` adds a *join edge* (it
//! → the joined goroutine, keyed by the joined task's address) on every
//! pending poll; dropping the handle removes it. A join edge can go stale
//! without any event goro sees (the handle polled under a timeout and kept
//! while the goroutine runs on; the joined goroutine finishing), so before
//! a chain with join edges is reported each of them is checked against the
//! goroutines themselves: the joiner must still be suspended in a join and
//! the joined goroutine still alive. A cycle that a timeout would break is
//! reported, as for locks; so is one through a join raced against another
//! future (`futures::select!` over two handles): the edge is the handle
//! polled last.
//!
//! Not tracked: `RwMutex` read locks (many holders), owned guards.

// loom-exempt: the process-wide switch and the registry of wait edges (statics).
use std::{
    collections::HashMap,
    fmt::Write as _,
    panic::Location,
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
};

use crate::loom::atomic::{AtomicU64, Ordering::Relaxed};
use crate::runtime::{context, lock_static};

/// On once any runtime with lock-cycle detection was built.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// One goroutine queued on one lock, or awaiting one goroutine's end.
#[derive(Clone, Copy)]
struct Edge {
    /// The lock's address, or the joined task's.
    lock: usize,
    /// The lock's holder, or the joined goroutine.
    holder: u64,
    at: &'static Location<'static>,
    join: bool,
}

#[derive(Default)]
struct Registry {
    /// Goroutine → what it waits for.
    waits: HashMap<u64, Edge>,
    /// Lock address → the goroutines with an edge on it.
    on_lock: HashMap<usize, Vec<u64>>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// Whether a join edge was ever added: until then dropping a `JoinHandle`
/// does not look at the registry.
static JOINS_SEEN: AtomicBool = AtomicBool::new(false);

/// Turns detection on for the process (a runtime asked for it).
pub(crate) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether detection is on (the only cost when it is off).
#[inline]
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A guard now holds the mutex whose holder word is `holder`.
#[inline]
pub(crate) fn acquired(holder: &AtomicU64) {
    if enabled() {
        holder.store(context::current_id(), Relaxed);
    }
}

/// The holder is about to unlock.
#[inline]
pub(crate) fn releasing(holder: &AtomicU64) {
    if enabled() {
        holder.store(0, Relaxed);
    }
}

/// The lock at `lock` changed hands or lost a waiter: its edges may be
/// false now.
#[cold]
pub(crate) fn released(lock: usize) {
    if !enabled() {
        return;
    }
    let mut r = lock_static(&REGISTRY);
    let Some(r) = r.as_mut() else { return };
    if let Some(gs) = r.on_lock.remove(&lock) {
        for g in gs {
            if r.waits.get(&g).is_some_and(|e| e.lock == lock) {
                r.waits.remove(&g);
            }
        }
    }
}

/// The current goroutine just queued on the lock at `lock` (queue lock
/// held, `WAITERS` set), blocking at `at`; `holder` is the lock's holder
/// word. Adds the edge and, if it closes a cycle, reports it.
#[cold]
pub(crate) fn waits(lock: usize, holder: &AtomicU64, at: &'static Location<'static>) {
    if !enabled() {
        return;
    }
    let holder = holder.load(Relaxed);
    add_edge(Edge {
        lock,
        holder,
        at,
        join: false,
    });
}

/// The current goroutine's poll of the `JoinHandle` of goroutine `id`
/// (task address `task`) is pending, at `at`.
#[cold]
pub(crate) fn joins(task: usize, id: u64, at: &'static Location<'static>) {
    JOINS_SEEN.store(true, Ordering::Relaxed);
    add_edge(Edge {
        lock: task,
        holder: id,
        at,
        join: true,
    });
}

/// The `JoinHandle` of the task at `task` is being dropped.
#[inline]
pub(crate) fn join_dropped(task: usize) {
    if enabled() && JOINS_SEEN.load(Ordering::Relaxed) {
        released(task);
    }
}

/// Adds the current goroutine's edge; reports the cycle it closes, if any.
fn add_edge(edge: Edge) {
    let me = context::current_id();
    if me == 0 {
        return;
    }
    let chain = {
        let mut guard = lock_static(&REGISTRY);
        let r = guard.get_or_insert_with(Registry::default);
        if let Some(old) = r.waits.insert(me, edge) {
            if let Some(gs) = r.on_lock.get_mut(&old.lock) {
                gs.retain(|g| *g != me);
            }
        }
        r.on_lock.entry(edge.lock).or_default().push(me);
        find_cycle(r, me)
    };
    // Join edges are checked outside the registry lock (it looks at every
    // goroutine of the runtime).
    if let Some(chain) = chain {
        if joins_still_wait(&chain) {
            report_cycle(format_cycle(&chain));
        }
    }
}

/// Follows holders from `me`'s edge; the chain if it comes back.
fn find_cycle(r: &Registry, me: u64) -> Option<Vec<(u64, Edge)>> {
    let mut chain = vec![(me, *r.waits.get(&me)?)];
    let mut cur = chain[0].1.holder;
    if cur == me {
        // Waiting for a lock we are credited with: most likely a guard
        // moved to another goroutine (see the module docs), not a cycle.
        return None;
    }
    while cur != 0 && cur != me {
        if chain.iter().any(|(g, _)| *g == cur) || chain.len() > r.waits.len() {
            // A cycle that does not include us: reported by its own closer.
            return None;
        }
        chain.push((cur, *r.waits.get(&cur)?));
        cur = chain[chain.len() - 1].1.holder;
    }
    (cur != 0).then_some(chain)
}

/// Whether every join edge of `chain` still holds: its goroutine is
/// suspended in a join and the joined goroutine is alive (a join edge may
/// be stale: see the module docs). One look at the runtime's goroutines
/// serves the whole chain; a chain of lock edges needs none.
fn joins_still_wait(chain: &[(u64, Edge)]) -> bool {
    use crate::runtime::{Status, WaitReason};
    if chain.iter().all(|(_, e)| !e.join) {
        return true;
    }
    let me = context::current_id();
    let mut joining = Vec::new();
    let mut alive = Vec::new();
    context::with(|c| {
        let Some(c) = c else { return };
        for gr in crate::runtime::dump::collect(c.shared()).goroutines() {
            if gr.status == Status::Waiting(WaitReason::Join) {
                joining.push(gr.id);
            }
            alive.push(gr.id);
        }
    });
    chain
        .iter()
        .filter(|(_, e)| e.join)
        .all(|(g, e)| (*g == me || joining.contains(g)) && alive.contains(&e.holder))
}

fn format_cycle(chain: &[(u64, Edge)]) -> String {
    let mut s = String::from(MESSAGE);
    s.push('\n');
    for (g, e) in chain {
        let (what, then) = if e.join {
            ("goroutine join", "waits for the end of goroutine")
        } else {
            ("sync.Mutex.Lock", "waits for a lock held by goroutine")
        };
        let _ = write!(
            s,
            "\ngoroutine {g} [{what}]:\n\t{}\n{then} {}\n",
            e.at, e.holder
        );
    }
    s
}

/// Go-style words for the report.
pub(crate) const MESSAGE: &str = "fatal error: goroutines deadlocked on locks";

/// Hands the report to the runtime of the current goroutine.
fn report_cycle(report: String) {
    context::with(|c| {
        if let Some(c) = c {
            c.shared().report_lock_cycle(report);
        }
    });
}
