//! Replacement ("helper") threads: workers without a core that keep
//! `procs` threads running goroutines while a worker is stuck in one poll.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    report::{emit, maybe_report, report_ended},
    stamp::PollStamp,
    watch::{Event, Watch},
    Sysmon, SPARE_KEEP_ALIVE, STUCK_DELAY,
};
use crate::{
    loom::{
        atomic::{fence, Ordering::*},
        Mutex,
    },
    runtime::{
        context::{self, Kind, ThreadCtx},
        lock,
        park::Parker,
        queue, worker, Shared,
    },
};

/// A replacement thread's slot.
#[derive(Debug)]
pub(super) struct Helper {
    pub(super) stamp: PollStamp,
    pub(super) parker: Parker,
    pub(super) watch: Mutex<Option<Watch>>,
}

#[derive(Default)]
pub(super) struct Helpers {
    /// Every helper thread alive, with its handle (joined at shutdown).
    pub(super) all: Vec<(Arc<Helper>, Option<std::thread::JoinHandle<()>>)>,
    /// Active helpers parked for want of work.
    pub(super) idle: Vec<Arc<Helper>>,
    /// Retired helpers waiting to be reused.
    pub(super) spare: Vec<Arc<Helper>>,
    /// Helper threads ever started (for names).
    pub(super) started: usize,
    /// Logged that `max_threads` was reached.
    pub(super) limit_logged: bool,
}

/// Watches the helpers' stamps; true when one got stuck.
pub(super) fn watch_helpers(shared: &Shared, now: Instant, threshold: Duration) -> bool {
    let sm = &shared.sysmon;
    let helpers: Vec<Arc<Helper>> = {
        let hs = lock(&sm.helpers);
        if hs.all.is_empty() {
            return false;
        }
        hs.all.iter().map(|(h, _)| h.clone()).collect()
    };
    let mut acted = false;
    for h in helpers {
        let mut g = lock(&h.watch);
        let w = g.get_or_insert_with(|| Watch::new(now));
        match w.observe(h.stamp.observe(), now, threshold, || h.stamp.os_sample()) {
            Event::Nothing => {}
            Event::Stuck => {
                acted = true;
                sm.handoffs.fetch_add(1, Relaxed);
                sm.target.fetch_add(1, SeqCst);
                ensure_helpers(shared);
            }
            Event::StillStuck => maybe_report(shared, w, now),
            Event::Unstuck(old, d) => {
                sm.target.fetch_sub(1, SeqCst);
                sm.wake_idle_helpers();
                report_ended(shared, &old, d);
            }
        }
    }
    acted
}

/// Activates helpers until `active == target`: spare ones first, then new
/// threads while under `max_threads`.
pub(super) fn ensure_helpers(shared: &Shared) {
    let sm = &shared.sysmon;
    loop {
        let active = sm.active.load(SeqCst);
        if active >= sm.target.load(SeqCst) {
            return;
        }
        let mut hs = lock(&sm.helpers);
        if let Some(h) = hs.spare.pop() {
            sm.active.fetch_add(1, SeqCst);
            drop(hs);
            h.parker.unpark();
            continue;
        }
        // Workers, sysmon, and helpers.
        let threads = shared.procs + 1 + hs.all.len();
        if threads >= sm.config.max_threads {
            if !hs.limit_logged {
                hs.limit_logged = true;
                emit(format!(
                    "goro: {threads} runtime threads reached max_threads ({}); \
                     not starting a replacement for a blocked worker",
                    sm.config.max_threads
                ));
            }
            return;
        }
        let helper = Arc::new(Helper {
            stamp: PollStamp::default(),
            parker: Parker::new(),
            watch: Mutex::new(None),
        });
        let n = hs.started;
        hs.started += 1;
        let mut b =
            std::thread::Builder::new().name(format!("{}-helper-{n}", sm.config.thread_name));
        if let Some(s) = sm.config.stack_size {
            b = b.stack_size(s);
        }
        let sh = shared.arc();
        let me = helper.clone();
        sm.active.fetch_add(1, SeqCst);
        let counted = crate::runtime::deadlock::goro_thread();
        match b.spawn(move || {
            let _counted = counted;
            helper_run(sh, me)
        }) {
            Ok(t) => {
                hs.all.push((helper, Some(t)));
                sm.threads_started.fetch_add(1, Relaxed);
            }
            Err(e) => {
                sm.active.fetch_sub(1, SeqCst);
                emit(format!(
                    "goro: cannot start a replacement worker thread: {e}"
                ));
                return;
            }
        }
    }
}

/// Claims one retirement if more helpers are active than wanted.
pub(super) fn should_retire(sm: &Sysmon) -> bool {
    loop {
        let a = sm.active.load(SeqCst);
        if a <= sm.target.load(SeqCst) {
            return false;
        }
        if sm.active.compare_exchange(a, a - 1, SeqCst, SeqCst).is_ok() {
            return true;
        }
    }
}

/// The body of a replacement thread.
pub(super) fn helper_run(shared: Arc<Shared>, me: Arc<Helper>) {
    let ctx = ThreadCtx {
        shared: Arc::as_ptr(&shared),
        kind: Kind::Worker(std::cell::RefCell::new(None)),
        worker: None,
        stamp: &me.stamp,
    };
    let _enter = context::enter(&ctx);
    #[cfg(feature = "tokio")]
    let _tokio = shared.enter_tokio();
    let sm = &shared.sysmon;
    me.stamp.set_thread();
    let (mut scratch, _) = queue::new();
    let mut polls = 0u64;
    loop {
        if shared.is_shutdown() {
            break;
        }
        if should_retire(sm) {
            me.stamp.leave();
            if !retire(&shared, &me) {
                break;
            }
            continue;
        }
        if let Some(task) = find_work(&shared, &mut scratch) {
            polls += 1;
            me.stamp.enter(polls, task.header());
            task.run();
            continue;
        }
        me.stamp.leave();
        // Park for want of work: announce, re-check, sleep.
        {
            let mut hs = lock(&sm.helpers);
            hs.idle.push(me.clone());
            sm.idle_n.store(hs.idle.len(), SeqCst);
        }
        fence(SeqCst);
        if !(shared.has_work()
            || shared.is_shutdown()
            || sm.active.load(SeqCst) > sm.target.load(SeqCst))
        {
            me.parker.park_timeout(STUCK_DELAY * 10);
        }
        let mut hs = lock(&sm.helpers);
        if let Some(i) = hs.idle.iter().position(|h| Arc::ptr_eq(h, &me)) {
            hs.idle.swap_remove(i);
            sm.idle_n.store(hs.idle.len(), SeqCst);
        }
    }
    let mut hs = lock(&sm.helpers);
    hs.all.retain(|(h, _)| !Arc::ptr_eq(h, &me));
    hs.spare.retain(|h| !Arc::ptr_eq(h, &me));
}

/// Parks a retired helper in the spare pool. True when it was reactivated,
/// false when it should exit (keep-alive passed, or shutdown).
pub(super) fn retire(shared: &Shared, me: &Arc<Helper>) -> bool {
    let sm = &shared.sysmon;
    lock(&sm.helpers).spare.push(me.clone());
    let deadline = Instant::now() + SPARE_KEEP_ALIVE;
    loop {
        let now = Instant::now();
        if !shared.is_shutdown() && now < deadline {
            me.parker.park_timeout(deadline - now);
        }
        let mut hs = lock(&sm.helpers);
        let listed = hs.spare.iter().position(|h| Arc::ptr_eq(h, me));
        match listed {
            // Reactivated by `ensure_helpers` (which counted us active).
            None => return true,
            Some(i) if shared.is_shutdown() || Instant::now() >= deadline => {
                hs.spare.swap_remove(i);
                return false;
            }
            Some(_) => {}
        }
    }
}

/// A goroutine for a helper: from the injector, else stolen from a worker
/// (one kept, the rest put on the injector for everybody).
pub(super) fn find_work(
    shared: &Shared,
    scratch: &mut queue::Local,
) -> Option<crate::task::Notified> {
    if let Some(t) = shared.inject.pop_batch(1, |_| {}) {
        return Some(t);
    }
    let t = worker::steal_round(shared, scratch, None)?;
    let mut rest = Vec::new();
    while let Some(x) = scratch.pop() {
        rest.push(x);
    }
    if !rest.is_empty() {
        shared.inject.push_batch(rest);
        shared.notify_parked();
    }
    Some(t)
}
