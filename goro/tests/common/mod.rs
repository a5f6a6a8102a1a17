//! Helpers shared by the integration tests (each test file that needs
//! them says `mod common;`).
#![allow(dead_code)]

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU8, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
};

/// The stress tests' size factor: `GORO_STRESS` (default 1).
pub(crate) fn scale() -> usize {
    std::env::var("GORO_STRESS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// One counter per value id: each value must be received exactly once.
pub(crate) struct Seen(Vec<AtomicU8>);

impl Seen {
    pub(crate) fn new(n: usize) -> Arc<Seen> {
        Arc::new(Seen((0..n).map(|_| AtomicU8::new(0)).collect()))
    }

    /// Counts value `v`; fails if it was received before.
    pub(crate) fn mark(&self, v: usize) {
        let c = self.0[v].fetch_add(1, Ordering::Relaxed);
        assert_eq!(c, 0, "value {v} received twice");
    }

    /// How many times value `v` was received.
    pub(crate) fn count(&self, v: usize) -> u8 {
        self.0[v].load(Ordering::Relaxed)
    }

    /// Fails unless every value was received exactly once.
    pub(crate) fn assert_all_once(&self) {
        for (v, c) in self.0.iter().enumerate() {
            let c = c.load(Ordering::Relaxed);
            assert_eq!(c, 1, "value {v} received {c} times");
        }
    }
}

/// Polls `fut` once with a waker that counts its wakes.
pub(crate) fn poll_once<F: Future + ?Sized>(
    fut: std::pin::Pin<&mut F>,
    w: &Arc<CountWaker>,
) -> Poll<F::Output> {
    let waker = Waker::from(w.clone());
    fut.poll(&mut Context::from_waker(&waker))
}

/// A waker that counts how often it was woken.
#[derive(Default)]
pub(crate) struct CountWaker(pub(crate) AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
impl CountWaker {
    pub(crate) fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// CPU ticks (user + system) used so far by this process's threads whose
/// name starts with `prefix` (Linux: `/proc/self/task/*/stat`).
#[cfg(target_os = "linux")]
pub(crate) fn cpu_ticks(prefix: &str) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let p = e.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let Ok(s) = std::fs::read_to_string(p.join("stat")) else {
            continue;
        };
        let rest = &s[s.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 (1-based), 12 and 13 here.
        total += f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    }
    total
}

/// Runs `f` on its own thread and fails the test if it has not returned
/// within `secs` (a hang detector; the bound is generous).
pub(crate) fn within<R: Send + 'static>(secs: u64, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("hung: no result within {secs} s"),
    }
}
