//! `PollStamp`: what one thread is polling, written by that thread before
//! each poll and read by sysmon; and what the OS says about a thread
//! (`os`, Linux `/proc`).

use super::watch::Observation;
use crate::{
    loom::atomic::{AtomicU32, AtomicU64, Ordering::*},
    site::Site,
    task::Header,
};

pub(super) const IN_POLL: u64 = 1;

/// What one thread is polling, for sysmon (Go's `schedtick` + `curg`).
/// Written only by its thread, read by sysmon.
#[derive(Debug, Default)]
pub(crate) struct PollStamp {
    /// `polls << 1 | IN_POLL`.
    word: AtomicU64,
    id: AtomicU64,
    /// The goroutine's spawn site (a `Site`).
    site: AtomicU32,
    /// The OS thread id (Linux; 0 elsewhere), to ask the OS why it is stuck.
    tid: AtomicU64,
    /// Nonzero while the thread waits inside a goro `_blocking` call (a
    /// goroutine that called one blocks its worker: hand off at once).
    in_blocking_call: AtomicU64,
}

impl PollStamp {
    /// Records the calling thread as this stamp's owner (at thread start).
    pub(crate) fn set_thread(&self) {
        self.tid.store(os::current_tid(), Relaxed);
    }

    /// About to poll `task`, the `polls`-th poll of this thread. Only the
    /// owning thread calls this.
    #[inline]
    pub(crate) fn enter(&self, polls: u64, task: &Header) {
        self.id.store(task.id(), Relaxed);
        self.site.store(task.spawn_site().to_bits(), Relaxed);
        self.word.store(polls << 1 | IN_POLL, Release);
    }

    /// Not polling any more: after every poll (the time until the next one
    /// is the runtime's), and before parking.
    #[inline]
    pub(crate) fn leave(&self) {
        let w = self.word.load(Relaxed);
        if w & IN_POLL != 0 {
            self.word.store(w & !IN_POLL, Release);
        }
    }

    /// The thread enters (`true`) or leaves a goro `_blocking` wait.
    pub(crate) fn blocking_call(&self, entering: bool) {
        if entering {
            self.in_blocking_call.fetch_add(1, Relaxed);
        } else {
            self.in_blocking_call.fetch_sub(1, Relaxed);
        }
    }

    /// Polls started so far.
    pub(crate) fn polls(&self) -> u64 {
        self.word.load(Relaxed) >> 1
    }

    /// One read of this stamp, for sysmon.
    pub(super) fn observe(&self) -> Observation {
        let word = self.word.load(Acquire);
        let id = self.id.load(Relaxed);
        let site = Site::from_bits(self.site.load(Relaxed)).get();
        Observation {
            word,
            id,
            site,
            in_blocking_call: self.in_blocking_call.load(Relaxed) != 0,
        }
    }

    /// What the OS says about this stamp's thread: blocked in a system
    /// call other than a futex wait, and its CPU time (ns); `None` where
    /// the OS cannot tell.
    pub(super) fn os_sample(&self) -> Option<(bool, u64)> {
        os::sample(self.tid.load(Relaxed)).map(|(b, cpu)| (b == os::Blocked::Syscall, cpu))
    }
}

/// What the OS says about a thread (Linux: `/proc`, read only by sysmon,
/// only about a thread already found stuck).
mod os {
    /// The calling thread's id; 0 where unknown.
    pub(super) fn current_tid() -> u64 {
        #[cfg(target_os = "linux")]
        if let Ok(p) = std::fs::read_link("/proc/thread-self") {
            // "<pid>/task/<tid>"
            if let Some(tid) = p.file_name().and_then(|t| t.to_str()?.parse().ok()) {
                return tid;
            }
        }
        0
    }

    /// Whether a thread is blocked in the kernel, and how.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Blocked {
        /// Running or runnable.
        No,
        /// Waiting on a futex (a lock, a condition variable, a park).
        Futex,
        /// In another system call (sleep, read, poll, ...).
        Syscall,
    }

    /// `futex`'s system call number.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    const SYS_FUTEX: &str = "202";
    #[cfg(all(target_os = "linux", not(target_arch = "x86_64")))]
    const SYS_FUTEX: &str = "98";

    /// (blocked how, CPU time used in ns) of thread `tid`.
    #[cfg(target_os = "linux")]
    pub(super) fn sample(tid: u64) -> Option<(Blocked, u64)> {
        if tid == 0 {
            return None;
        }
        let dir = format!("/proc/self/task/{tid}");
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        let state = stat.get(stat.rfind(')')? + 2..)?.chars().next()?;
        let sched = std::fs::read_to_string(format!("{dir}/schedstat")).ok()?;
        let cpu = sched.split_whitespace().next()?.parse().ok()?;
        let blocked = if matches!(state, 'S' | 'D') {
            let sc = std::fs::read_to_string(format!("{dir}/syscall")).unwrap_or_default();
            if sc.split_whitespace().next() == Some(SYS_FUTEX) {
                Blocked::Futex
            } else {
                Blocked::Syscall
            }
        } else {
            Blocked::No
        };
        Some((blocked, cpu))
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn sample(_tid: u64) -> Option<(Blocked, u64)> {
        None
    }
}
