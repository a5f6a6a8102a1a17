//! Sysmon's decision logic, as pure functions of what it observes: one
//! `Watch` per thread turns successive observations of its stamp (and,
//! for a thread past the threshold, the OS's view) into events. The blame
//! rule (`Watch::goroutine_at_fault`) is written here once; `mod.rs` and
//! `report.rs` act on the events.

use std::{
    panic::Location,
    time::{Duration, Instant},
};

use super::stamp::IN_POLL;

/// A poll this long is reported whatever the OS says about its thread.
const BLAME_ANYWAY: Duration = Duration::from_millis(100);

/// One read of a thread's `PollStamp`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Observation {
    /// `polls << 1 | IN_POLL`.
    pub(super) word: u64,
    /// The polled goroutine's id and spawn site.
    pub(super) id: u64,
    pub(super) site: Option<&'static Location<'static>>,
    /// The thread waits inside a goro `_blocking` call.
    pub(super) in_blocking_call: bool,
}

/// Sysmon's view of one thread's stamp.
#[derive(Debug, Clone, Copy)]
pub(super) struct Watch {
    pub(super) word: u64,
    pub(super) since: Instant,
    pub(super) stuck: bool,
    pub(super) reported: bool,
    pub(super) id: u64,
    pub(super) site: Option<&'static Location<'static>>,
    /// The OS's view is available (Linux).
    pub(super) os_known: bool,
    /// The thread's CPU time at the last round that found it stuck.
    pub(super) cpu_last: Option<(Instant, u64)>,
    /// Wall and CPU time (ns) between rounds that found it stuck.
    pub(super) stuck_wall: u64,
    pub(super) stuck_cpu: u64,
    /// The OS showed the thread blocked in a system call other than a
    /// futex wait while stuck.
    pub(super) seen_blocked: bool,
}

pub(super) enum Event {
    Nothing,
    /// Inside one poll for longer than the threshold.
    Stuck,
    /// Still stuck (a later round).
    StillStuck,
    /// A stuck poll ended after about this long (with the watch of that
    /// poll).
    Unstuck(Watch, Duration),
}

impl Watch {
    pub(super) fn new(now: Instant) -> Watch {
        Watch {
            word: 0,
            since: now,
            stuck: false,
            reported: false,
            id: 0,
            site: None,
            os_known: false,
            cpu_last: None,
            stuck_wall: 0,
            stuck_cpu: 0,
            seen_blocked: false,
        }
    }

    /// Takes in the OS's view of the stuck thread (a round that found it
    /// stuck): blocked in a system call other than a futex wait, and its
    /// CPU time in ns (`None` where the OS cannot tell).
    fn sample(&mut self, os: Option<(bool, u64)>, now: Instant) {
        let Some((blocked, cpu)) = os else {
            return;
        };
        self.os_known = true;
        self.seen_blocked |= blocked;
        if let Some((t0, cpu0)) = self.cpu_last {
            self.stuck_wall += now.saturating_duration_since(t0).as_nanos() as u64;
            self.stuck_cpu += cpu.saturating_sub(cpu0);
        }
        self.cpu_last = Some((now, cpu));
    }

    /// Whether the goroutine, not the OS, kept the thread from coming
    /// back after `d` inside one poll. Yes when, while sysmon found it
    /// stuck, the thread was seen blocked in a system call (a blocking
    /// call), or was on the CPU for at least a quarter of the time
    /// (computing), or when the poll lasted `BLAME_ANYWAY` or more. A thread
    /// that stayed runnable but was mostly not scheduled (an overloaded
    /// host), or that waited on a futex for a short while (likely a lock
    /// whose holder the OS descheduled), is not blamed: no warning (the
    /// hand-off still happened). Without the OS's view (not Linux), always
    /// blamed.
    pub(super) fn goroutine_at_fault(&self, d: Duration) -> bool {
        !self.os_known
            || d >= BLAME_ANYWAY
            || self.seen_blocked
            || (self.stuck_wall >= 1_000_000 && self.stuck_cpu.saturating_mul(4) >= self.stuck_wall)
    }

    /// One round's observation `obs` of the thread's stamp, at `now`;
    /// `os` asks the OS about the thread (called only for a thread past
    /// the threshold).
    pub(super) fn observe(
        &mut self,
        obs: Observation,
        now: Instant,
        threshold: Duration,
        mut os: impl FnMut() -> Option<(bool, u64)>,
    ) -> Event {
        let Observation {
            word: w,
            id,
            site,
            in_blocking_call,
        } = obs;
        if w != self.word {
            let old = *self;
            let dur = now.saturating_duration_since(self.since);
            *self = Watch {
                word: w,
                since: now,
                id,
                site,
                ..Watch::new(now)
            };
            return if old.stuck {
                Event::Unstuck(old, dur)
            } else {
                Event::Nothing
            };
        }
        if w & IN_POLL == 0 {
            return Event::Nothing;
        }
        if self.stuck {
            if !self.seen_blocked && !self.reported && self.site.is_some() {
                self.sample(os(), now);
            }
            return Event::StillStuck;
        }
        let d = now.saturating_duration_since(self.since);
        if d >= threshold {
            self.sample(os(), now);
            // Hand off only when the thread itself is held: in a blocking
            // call, a system call other than a futex wait, or on the CPU. A
            // thread the OS merely did not schedule, or one waiting briefly
            // on a lock whose holder was descheduled, comes back by itself;
            // moving its queue and starting a thread would only add
            // contention (spawn-heavy programs on a busy host). Such a wait
            // is handed off too once it lasts `BLAME_ANYWAY`.
            if in_blocking_call || self.goroutine_at_fault(d) {
                self.stuck = true;
                // Same word since `since`: the id and site written before
                // it belong to this poll.
                self.id = id;
                self.site = site;
                return Event::Stuck;
            }
        }
        Event::Nothing
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const THRESHOLD: Duration = Duration::from_millis(10);

    static SITE: &Location<'static> = Location::caller();

    /// The `n`-th poll of a thread, inside it or not.
    fn obs(n: u64, in_poll: bool, in_blocking_call: bool) -> Observation {
        Observation {
            word: (n << 1) | (u64::from(in_poll) * IN_POLL),
            id: 7,
            site: Some(SITE),
            in_blocking_call,
        }
    }

    /// No OS view (not Linux): always blamed.
    fn no_os() -> Option<(bool, u64)> {
        None
    }

    #[test]
    fn a_poll_shorter_than_the_threshold_is_nothing() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        assert!(matches!(
            w.observe(obs(1, true, false), t0, THRESHOLD, no_os),
            Event::Nothing
        ));
        let e = w.observe(obs(1, true, false), t0 + 9 * MS, THRESHOLD, no_os);
        assert!(matches!(e, Event::Nothing));
        // The next poll started: still nothing, and the clock restarts.
        let e = w.observe(obs(2, true, false), t0 + 12 * MS, THRESHOLD, no_os);
        assert!(matches!(e, Event::Nothing));
        let e = w.observe(obs(2, true, false), t0 + 20 * MS, THRESHOLD, no_os);
        assert!(matches!(e, Event::Nothing));
    }

    #[test]
    fn a_parked_thread_is_never_stuck() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        w.observe(obs(3, false, false), t0, THRESHOLD, no_os);
        let e = w.observe(obs(3, false, false), t0 + 1000 * MS, THRESHOLD, no_os);
        assert!(matches!(e, Event::Nothing));
    }

    #[test]
    fn stuck_then_still_stuck_then_unstuck_with_the_poll_s_id_and_site() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        w.observe(obs(1, true, false), t0, THRESHOLD, no_os);
        let e = w.observe(obs(1, true, false), t0 + 10 * MS, THRESHOLD, no_os);
        assert!(matches!(e, Event::Stuck));
        let e = w.observe(obs(1, true, false), t0 + 11 * MS, THRESHOLD, no_os);
        assert!(matches!(e, Event::StillStuck));
        match w.observe(obs(2, true, false), t0 + 30 * MS, THRESHOLD, no_os) {
            Event::Unstuck(old, d) => {
                assert_eq!(d, 30 * MS);
                assert_eq!(old.id, 7);
                assert!(std::ptr::eq(old.site.unwrap(), SITE));
            }
            _ => panic!("expected Unstuck"),
        }
    }

    #[test]
    fn a_descheduled_thread_is_not_blamed_until_blame_anyway() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        w.observe(obs(1, true, false), t0, THRESHOLD, no_os);
        // Runnable, not blocked, no CPU time: the host's doing.
        let idle_thread = || Some((false, 0));
        for ms in [10, 20, 50, 99] {
            let e = w.observe(obs(1, true, false), t0 + ms * MS, THRESHOLD, idle_thread);
            assert!(matches!(e, Event::Nothing), "at {ms} ms");
        }
        let e = w.observe(obs(1, true, false), t0 + 100 * MS, THRESHOLD, || {
            Some((false, 0))
        });
        assert!(matches!(e, Event::Stuck));
    }

    #[test]
    fn a_blocking_syscall_or_a_blocking_call_is_blamed_at_the_threshold() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        w.observe(obs(1, true, false), t0, THRESHOLD, no_os);
        let e = w.observe(obs(1, true, false), t0 + 10 * MS, THRESHOLD, || {
            Some((true, 0))
        });
        assert!(matches!(e, Event::Stuck));
        assert!(w.goroutine_at_fault(10 * MS));

        let mut w = Watch::new(t0);
        w.observe(obs(1, true, true), t0, THRESHOLD, no_os);
        let e = w.observe(obs(1, true, true), t0 + 10 * MS, THRESHOLD, || {
            Some((false, 0))
        });
        assert!(matches!(e, Event::Stuck), "inside a goro _blocking call");
    }

    #[test]
    fn a_thread_on_the_cpu_a_quarter_of_the_time_is_blamed() {
        let t0 = Instant::now();
        let mut w = Watch::new(t0);
        w.observe(obs(1, true, false), t0, THRESHOLD, no_os);
        // First sample: CPU 0 at 10 ms (no interval yet: not blamed).
        let e = w.observe(obs(1, true, false), t0 + 10 * MS, THRESHOLD, || {
            Some((false, 0))
        });
        assert!(matches!(e, Event::Nothing));
        // 2 ms wall, 0.5 ms CPU: a quarter, and at least 1 ms of wall time.
        let e = w.observe(obs(1, true, false), t0 + 12 * MS, THRESHOLD, || {
            Some((false, 500_000))
        });
        assert!(matches!(e, Event::Stuck));
    }
}
