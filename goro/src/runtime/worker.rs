//! The worker loop (Go's `schedule`/`findRunnable`): one per proc.
//!
//! Where a worker looks for its next goroutine, in order:
//! 1. every 61st tick, the global injector first (so it is never starved)
//!    and the timers;
//! 2. `runnext`, the goroutine just woken by the one that ran before (so a
//!    receiver runs right after its sender, on a warm cache), unless
//!    `runnext` has won `RUNNEXT_BUDGET` times in a row — then it goes to
//!    the back of the queue, so two goroutines waking each other cannot
//!    starve the rest of it;
//! 3. the local ring, oldest first;
//! 4. a batch from the injector;
//! 5. stealing half of a victim's ring (as a "searching" worker, at most
//!    half of the workers at once), polling the netpoller without blocking
//!    between rounds. Only work the victim is not keeping up with: a ring
//!    of `EAGER_STEAL_LEN` or more, or goroutines that have waited in it
//!    for `STEAL_AGE` (see `Worker::steal_waiting`). Goroutines that wake
//!    each other through channels queue for a few microseconds at a time;
//!    moving them to another core makes every message cross cores, which
//!    costs more than running them where they are;
//! 6. else park: announce, re-check, sleep on the parker — or, if this
//!    worker takes the timer-driver role, in the netpoller (`io/`) with
//!    a timeout to the earliest timer. Busy workers look at the netpoller
//!    (without blocking) every 61 ticks while nobody holds that role.
//!
//! # The runtime's code map
//!
//! - `worker.rs`: the worker loop and where it looks for work;
//! - `queue.rs`: the per-worker ring with `steal half`;
//! - `inject.rs`: the global queue;
//! - `idle.rs`: parking, searching, and waking one worker when work appears;
//! - `owned.rs`: every live goroutine (shutdown, `num_goroutine`, dump);
//! - `blocking.rs`: the `spawn_blocking` pool;
//! - `context.rs`: which runtime and goroutine this thread serves, and
//!   that goroutine's cooperative budget;
//! - `park.rs`: the thread parker;
//! - `io/`: the netpoller, polled by the timer-driver worker as it parks
//!   (`io/none.rs` stands in for it without the `net` feature);
//! - `sysmon/`: the monitor thread that hands a stuck worker's queue to
//!   the others and starts replacement threads.
//!
//! The thread inside `block_on` polls the main future itself (it need not
//! be `Send`), counts as goroutine "main" for `num_goroutine` and for wait
//! reasons, and spawns into the injector.

use std::{sync::Arc, time::Instant};

use super::{
    context::{self, Kind, ThreadCtx},
    queue::{self, Local},
    Shared,
};
use crate::task::{Header, Notified, Schedule};

/// Consecutive `runnext` polls before it must queue like everybody else.
const RUNNEXT_BUDGET: u32 = 32;
/// Ticks between looks at the injector and the timers.
const GLOBAL_CHECK_INTERVAL: u32 = 61;
/// How long a searching worker keeps looking before it parks. Parking and
/// being woken costs a few microseconds of syscalls on both sides; a
/// producer that spawns in a loop (main spawning a million goroutines)
/// refills the queues faster than that.
const SEARCH_SPIN: std::time::Duration = std::time::Duration::from_micros(50);
/// A victim's ring this long is stolen from at once: its owner is behind.
const EAGER_STEAL_LEN: u32 = 32;
/// How long goroutines must wait in a shorter ring before a searching
/// worker takes them (Go's stealers leave `runnext` alone for 3 µs; here
/// the whole ring, for longer: a channel hand-off between cores costs a
/// cache-line transfer per message, and a worker cycles through a few
/// goroutines that feed each other in well under this).
const STEAL_AGE: std::time::Duration = std::time::Duration::from_micros(30);

/// What a searching worker last saw of one victim's ring: the goroutines
/// below `tail` were queued by `at`.
#[derive(Clone, Copy)]
struct Sighting {
    tail: u32,
    at: Option<Instant>,
}

/// What a worker owns: touched only by its own thread.
pub(crate) struct Worker {
    index: usize,
    /// The ring, and `runnext` with it (both stealable by sysmon).
    local: Local,
    runnext_streak: u32,
    tick: u32,
    searching: bool,
    /// One per worker: when this worker last saw each victim's ring.
    sightings: Box<[Sighting]>,
}

impl Worker {
    pub(crate) fn new(index: usize, local: Local, procs: usize) -> Worker {
        Worker {
            index,
            local,
            runnext_streak: 0,
            tick: 0,
            searching: false,
            sightings: vec![Sighting { tail: 0, at: None }; procs].into_boxed_slice(),
        }
    }

    fn next_local(&mut self, shared: &Shared) -> Option<Notified> {
        self.tick = self.tick.wrapping_add(1);
        if self.tick % GLOBAL_CHECK_INTERVAL == 0 {
            if let Some(t) = shared.inject.pop_batch(1, |_| {}) {
                self.runnext_streak = 0;
                return Some(t);
            }
        }
        if let Some(t) = self.local.take_next() {
            if self.runnext_streak < RUNNEXT_BUDGET {
                self.runnext_streak += 1;
                return Some(t);
            }
            self.push_back(shared, t);
        }
        self.runnext_streak = 0;
        if let Some(t) = self.local.pop() {
            return Some(t);
        }
        self.pop_inject(shared)
    }

    fn pop_inject(&mut self, shared: &Shared) -> Option<Notified> {
        if shared.inject.is_empty() {
            return None;
        }
        let fair = shared.inject.len() / shared.procs + 1;
        let n = fair.min(self.local.remaining() / 2).clamp(1, 128);
        let local = &mut self.local;
        shared.inject.pop_batch(n, |t| {
            local.push_back(t, |_| unreachable!("batch sized to fit"));
        })
    }

    fn push_back(&mut self, shared: &Shared, task: Notified) {
        self.local
            .push_back(task, |batch| shared.inject.push_batch(batch));
    }

    /// Queues a goroutine on this worker. Woken ones go to `runnext`
    /// (displacing the previous one to the queue); spawned and yielding
    /// ones to the back.
    ///
    /// `fresh` is new work (spawned, or made ready outside any goroutine's
    /// poll: the netpoller, a timer), which idle workers may steal at once.
    fn schedule(&mut self, shared: &Shared, task: Notified, next: bool, fresh: bool) {
        // Sysmon found this worker stuck in the poll that is waking `task`:
        // not into `runnext` (only sysmon takes that from another thread),
        // but onto the ring, where other workers and replacement threads
        // steal from (and sysmon takes it each round). Not the injector
        // either: a goroutine spawning in a long loop would take its lock
        // once per spawn.
        if next && !self.local.is_retaken() {
            if let Some(prev) = self.local.put_next(task) {
                self.push_back(shared, prev);
                if fresh {
                    self.local.mark_eager();
                }
                shared.notify_parked();
            }
        } else {
            self.push_back(shared, task);
            if fresh {
                self.local.mark_eager();
            }
            shared.notify_parked();
        }
    }

    fn steal(&mut self, shared: &Shared) -> Option<Notified> {
        if !self.searching {
            if !shared.idle.to_searching() {
                return None;
            }
            self.searching = true;
        }
        let mut deadline = None;
        loop {
            if let Some(t) = self.steal_waiting(shared) {
                return Some(t);
            }
            if let Some(t) = self.pop_inject(shared) {
                return Some(t);
            }
            if shared.is_shutdown() {
                return None;
            }
            // Go's findRunnable polls the network while it looks for work:
            // a goroutine waiting on a socket may be runnable already. (Our
            // core is borrowed, so the goroutines it wakes go to the
            // injector, where the next round, or the re-check before
            // parking, finds them.)
            if shared.no_timer_driver() {
                shared.io.poll_now();
            }
            let now = Instant::now();
            match deadline {
                None => deadline = Some(now + SEARCH_SPIN),
                Some(d) if now >= d => return None,
                Some(_) => {}
            }
            for _ in 0..32 {
                std::hint::spin_loop();
            }
        }
    }

    /// One pass over the other workers' rings from a random start: steals
    /// half of the first ring that holds new work (below its eager mark:
    /// spawned goroutines, ones the netpoller or a timer made ready) or
    /// whose owner is not keeping up — one holding `EAGER_STEAL_LEN`
    /// goroutines, or one whose goroutines queued when we last looked are
    /// still there `STEAL_AGE` later (a ring seen drained since is looked
    /// at afresh). Liveness does not rest on this: a worker runs its own
    /// ring before it parks, and sysmon hands the ring of a worker stuck
    /// in one poll to the others.
    fn steal_waiting(&mut self, shared: &Shared) -> Option<Notified> {
        let n = shared.procs;
        let start = crate::rand::below(n as u32) as usize;
        let mut now = None;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            let r = &shared.remotes[victim];
            let (head, tail, eager) = r.steal.ends();
            let len = tail.wrapping_sub(head);
            let seen = &mut self.sightings[victim];
            if len == 0 || len > queue::CAPACITY as u32 {
                seen.at = None;
                continue;
            }
            let now = *now.get_or_insert_with(Instant::now);
            let waited = match seen.at {
                // Some of the goroutines below `seen.tail` are still queued.
                Some(at) if (seen.tail.wrapping_sub(head) as i32) > 0 => {
                    now.duration_since(at) >= STEAL_AGE
                }
                _ => {
                    *seen = Sighting {
                        tail,
                        at: Some(now),
                    };
                    false
                }
            };
            // New work (below the eager mark) is anybody's.
            let fresh = (eager.wrapping_sub(head) as i32) > 0;
            if len < EAGER_STEAL_LEN && !waited && !fresh {
                continue;
            }
            if let Some(t) = r.steal.steal_into(&mut self.local) {
                seen.at = None;
                r.steals
                    .fetch_add(1, crate::loom::atomic::Ordering::Relaxed);
                return Some(t);
            }
        }
        None
    }
}

/// One pass over the workers' rings from a random start (skipping `skip`,
/// the thief's own): steals half of the first non-empty ring into `local`
/// and returns one of the stolen tasks. Workers and sysmon's replacement
/// threads share it.
pub(crate) fn steal_round(
    shared: &Shared,
    local: &mut Local,
    skip: Option<usize>,
) -> Option<Notified> {
    let n = shared.procs;
    let start = crate::rand::below(n as u32) as usize;
    for i in 0..n {
        let victim = (start + i) % n;
        if Some(victim) == skip {
            continue;
        }
        let r = &shared.remotes[victim];
        if let Some(t) = r.steal.steal_into(local) {
            r.steals
                .fetch_add(1, crate::loom::atomic::Ordering::Relaxed);
            return Some(t);
        }
    }
    None
}

/// The `Schedule` of goroutines.
pub(crate) struct Goroutine;

/// Queues `task` on this thread's worker if this thread is one of
/// `shared`'s workers (and its core is not borrowed), else on the injector.
/// The `block_on` thread may block right after spawning (a `_blocking`
/// call, a thread sleep), so its spawns must be runnable at once: they go
/// to the injector, unbatched.
#[inline]
fn schedule_here(shared: &Shared, task: Notified, next: bool) {
    context::with_polling(|ctx, polling| {
        schedule_on(
            shared,
            ctx.filter(|c| std::ptr::eq(c.shared, shared)),
            task,
            next,
            // A yield (`next` false here) is a goroutine that was running:
            // not new work.
            next && !polling,
        )
    })
}

/// `schedule_here` with this thread's context already looked up: `ctx`
/// is `Some` only when this thread serves `shared`; `fresh` as in
/// `Worker::schedule`.
#[inline]
fn schedule_on(shared: &Shared, ctx: Option<&ThreadCtx>, task: Notified, next: bool, fresh: bool) {
    if let Some(Kind::Worker(core)) = ctx.map(|c| &c.kind) {
        if let Ok(mut core) = core.try_borrow_mut() {
            if let Some(w) = core.as_mut() {
                w.schedule(shared, task, next, fresh);
                return;
            }
        }
    }
    shared.push_remote(task);
}

impl Schedule for Goroutine {
    #[inline]
    fn schedule(shared: &Shared, task: Notified, yielded: bool) {
        schedule_here(shared, task, !yielded)
    }

    #[inline]
    fn release(shared: &Shared, header: std::ptr::NonNull<Header>) -> bool {
        shared.owned.exited(context::worker_index(shared));
        // Out of its list at once: the list's reference is dropped with the
        // worker's, and the task freed while it is hot.
        shared.owned.remove(header)
    }
}

/// Spawns goroutine `task` from this thread, whose context `ctx` (`Some`
/// only when it serves `shared`) the caller looked up: onto this worker's
/// queue, or the injector.
pub(crate) fn schedule_spawned(shared: &Shared, ctx: Option<&ThreadCtx>, task: Notified) {
    schedule_on(shared, ctx, task, false, true)
}

/// The body of a worker thread.
pub(crate) fn run(shared: Arc<Shared>, index: usize, local: Local) {
    let ctx = ThreadCtx {
        shared: Arc::as_ptr(&shared),
        kind: Kind::Worker(std::cell::RefCell::new(Some(Worker::new(
            index,
            local,
            shared.procs,
        )))),
        worker: Some(index),
        stamp: &shared.remotes[index].stamp,
    };
    let enter = context::enter(&ctx);
    #[cfg(feature = "tokio")]
    let _tokio = shared.enter_tokio();
    let Kind::Worker(core) = &ctx.kind else {
        unreachable!()
    };
    let remote = &shared.remotes[index];
    remote.stamp.set_thread();
    let mut polls = 0u64;
    loop {
        if shared.is_shutdown() {
            break;
        }
        let next = {
            let mut w = core.borrow_mut();
            let w = w.as_mut().expect("worker core");
            w.next_local(&shared)
                .or_else(|| w.steal(&shared))
                .map(|t| (t, std::mem::replace(&mut w.searching, false)))
        };
        if let Some((task, was_searching)) = next {
            if was_searching && shared.idle.stop_searching() {
                // The last searcher found work: there may be more; make
                // sure someone keeps looking.
                shared.notify_parked();
            }
            // For sysmon: which goroutine, and a poll count that moves
            // (plain stores; see sysmon/stamp.rs).
            polls += 1;
            remote.stamp.enter(polls, task.header());
            task.run();
            // Out of the poll: what the worker does until the next one
            // (timers, the netpoller, searching other queues) is not this
            // goroutine's doing, and sysmon must not blame it for it.
            remote.stamp.leave();
            let tick = core.borrow().as_ref().map_or(0, |w| w.tick);
            if tick % GLOBAL_CHECK_INTERVAL == 0 {
                crate::wait::tick_coarse_clock(Instant::now());
                shared.fire_timers();
                // Busy workers never park, so nobody may be in the
                // netpoller: look at it without blocking.
                if shared.no_timer_driver() {
                    shared.io.poll_now();
                }
            }
            continue;
        }
        park(&shared, core, index);
    }
    // Leave: drop queued references outside the context so that no
    // destructor they run can reach this core.
    let worker = core.borrow_mut().take();
    drop(enter);
    drop(worker);
}

fn park(shared: &Shared, core: &std::cell::RefCell<Option<Worker>>, index: usize) {
    // Timers that are due become work; no need to sleep then.
    if shared.fire_timers() > 0 {
        return;
    }
    let was_searching = {
        let mut w = core.borrow_mut();
        let w = w.as_mut().expect("worker core");
        std::mem::replace(&mut w.searching, false)
    };
    let last_searcher = shared.idle.to_parked(index, was_searching);
    if (last_searcher && shared.has_work()) || shared.is_shutdown() {
        wake_self(shared, core, index);
        return;
    }
    let remote = &shared.remotes[index];
    // Not inside a poll while asleep (sysmon must not count this as stuck).
    remote.stamp.leave();
    // The last worker to park checks for a deadlock, or moves the virtual
    // clock (cold: only when every worker is idle).
    if shared.watches_idle()
        && shared.idle.num_parked() == shared.procs
        && shared.on_all_idle(&remote.parker)
    {
        wake_self(shared, core, index);
        return;
    }
    let driver = shared.take_timer_role(index);
    if driver {
        // The timer driver sleeps in the netpoller, not on its parker.
        // `unpark_worker` sets the parker, then fires the poller's waker if
        // it sees the role we just stored: consume a notification that came
        // before that, and only then block. A paused (virtual) clock never
        // runs out on its own: then sleep until woken.
        let timeout = super::shared::driver_timeout(&remote.parker, &shared.timers);
        let woken = shared.io.wait(timeout);
        shared.release_timer_role();
        // A notification that arrived while polling is served by waking now.
        remote.parker.try_take();
        wake_self(shared, core, index);
        crate::wait::tick_coarse_clock(Instant::now());
        // Awake again: the goroutines made ready land in our own queues.
        woken.wake_all();
        shared.fire_timers();
        return;
    }
    remote.parker.park();
    wake_self(shared, core, index);
    crate::wait::tick_coarse_clock(Instant::now());
}

/// After waking: out of the parked list ourselves, or (if a notifier took
/// us out) we are counted as searching.
fn wake_self(shared: &Shared, core: &std::cell::RefCell<Option<Worker>>, index: usize) {
    if !shared.idle.unpark_self(index) {
        if let Some(w) = core.borrow_mut().as_mut() {
            w.searching = true;
        }
    }
    // Sysmon may be asleep for good (the runtime was idle).
    shared.sysmon.worker_woke();
}

pub(crate) fn new_queues(procs: usize) -> (Vec<Local>, Vec<queue::Steal>) {
    (0..procs).map(|_| queue::new()).unzip()
}
