// crossbeam-channel is dual-licensed MIT OR Apache-2.0; this port is used
// under its MIT licence:
//
// The MIT License (MIT)
//
// Copyright (c) 2019 The Crossbeam Project Developers
//
// Permission is hereby granted, free of charge, to any
// person obtaining a copy of this software and associated
// documentation files (the "Software"), to deal in the
// Software without restriction, including without
// limitation the rights to use, copy, modify, merge,
// publish, distribute, sublicense, and/or sell copies of
// the Software, and to permit persons to whom the Software
// is furnished to do so, subject to the following
// conditions:
//
// The above copyright notice and this permission notice
// shall be included in all copies or substantial portions
// of the Software.
//
// THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF
// ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED
// TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
// PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT
// SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
// CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION
// OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR
// IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
// DEALINGS IN THE SOFTWARE.

//! Ported from crossbeam-channel's `tests/after.rs` and `tests/tick.rs`,
//! adapted to goro's `_blocking` API.
//!
//! Deliberate differences (Go 1.23's timer channels, which goro follows):
//! a timer's channel buffers nothing, so `capacity()` and `len()` are 0
//! (crossbeam: capacity 1, len 1 once fired); `tick(0)` is Go's nil channel
//! (never ready), so the zero-period cases use 1 ns.
//!
//! `is_empty` is therefore always true and `is_full` always true too
//! (goro's rule for an unbuffered channel, as crossbeam's zero-capacity
//! channel: `len() >= capacity()`). The `recv_timeout` upper bounds
//! (crossbeam: within 50 ms) are left out: no wall-clock speed assertions
//! on a loaded machine.
//!
//! after.rs `fairness` with `dur = 1` is a deliberate difference (see there).

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    thread,
    time::{Duration, Instant},
};

use goro::{
    chan::{RecvTimeoutError, Select, TryRecvError},
    select_blocking as select,
    time::{after, tick},
};

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// crossbeam's zero period: goro's `tick(0)` is never ready.
const TINY: Duration = Duration::from_nanos(1);

mod after_rs {
    use super::*;

    #[test]
    fn fire() {
        let start = Instant::now();
        let r = after(ms(50));

        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
        thread::sleep(ms(100));

        let fired = r.try_recv().unwrap();
        assert!(start < fired);
        assert!(fired - start >= ms(50));

        let now = Instant::now();
        assert!(fired < now);
        assert!(now - fired >= ms(50));

        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));

        select! {
            recv(r) -> _ => panic!(),
            default => {}
        }

        select! {
            recv(r) -> _ => panic!(),
            recv(after(ms(200))) -> _ => {}
        }
    }

    #[test]
    fn capacity() {
        const COUNT: usize = 10;

        for i in 0..COUNT {
            let r = after(ms(i as u64));
            assert_eq!(r.capacity(), 0); // crossbeam: Some(1)
        }
    }

    #[test]
    fn len_empty_full() {
        let r = after(ms(50));

        assert_eq!(r.len(), 0);
        assert!(r.is_empty());
        assert!(r.is_full()); // crossbeam: false (capacity 1)

        thread::sleep(ms(100));

        assert_eq!(r.len(), 0); // crossbeam: 1 (goro makes the value on receive)
        assert!(r.is_empty()); // crossbeam: false
        assert!(r.is_full());

        r.try_recv().unwrap();

        assert_eq!(r.len(), 0);
        assert!(r.is_empty());
        assert!(r.is_full()); // crossbeam: false
    }

    #[test]
    fn try_recv() {
        let r = after(ms(200));
        assert!(r.try_recv().is_err());

        thread::sleep(ms(100));
        assert!(r.try_recv().is_err());

        thread::sleep(ms(200));
        assert!(r.try_recv().is_ok());
        assert!(r.try_recv().is_err());

        thread::sleep(ms(200));
        assert!(r.try_recv().is_err());
    }

    #[test]
    fn recv() {
        let start = Instant::now();
        let r = after(ms(50));

        let fired = r.recv_blocking().unwrap();
        assert!(start < fired);
        assert!(fired - start >= ms(50));

        let now = Instant::now();
        assert!(fired < now);

        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn recv_timeout() {
        let start = Instant::now();
        let r = after(ms(200));

        assert_eq!(r.recv_timeout(ms(100)), Err(RecvTimeoutError::Timeout));
        let now = Instant::now();
        assert!(now - start >= ms(100));

        let fired = r.recv_timeout(ms(200)).unwrap();
        assert!(fired - start >= ms(200));

        assert_eq!(r.recv_timeout(ms(200)), Err(RecvTimeoutError::Timeout));
        let now = Instant::now();
        assert!(now - start >= ms(400));

        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn recv_two() {
        let r1 = after(ms(50));
        let r2 = after(ms(50));

        thread::scope(|scope| {
            scope.spawn(|| {
                select! {
                    recv(r1) -> _ => {}
                    recv(r2) -> _ => {}
                }
            });
            scope.spawn(|| {
                select! {
                    recv(r1) -> _ => {}
                    recv(r2) -> _ => {}
                }
            });
        });
    }

    #[test]
    fn recv_race() {
        select! {
            recv(after(ms(50))) -> _ => {}
            recv(after(ms(100))) -> _ => panic!(),
        }

        select! {
            recv(after(ms(100))) -> _ => panic!(),
            recv(after(ms(50))) -> _ => {}
        }
    }

    #[test]
    fn stress_default() {
        const COUNT: usize = 10;

        for _ in 0..COUNT {
            select! {
                recv(after(ms(0))) -> _ => {}
                default => panic!(),
            }
        }

        for _ in 0..COUNT {
            select! {
                recv(after(ms(100))) -> _ => panic!(),
                default => {}
            }
        }
    }

    #[test]
    fn select() {
        const THREADS: usize = 4;
        const COUNT: usize = 1000;
        const TIMEOUT_MS: u64 = 100;

        let v = (0..COUNT)
            .map(|i| after(ms(i as u64 / TIMEOUT_MS / 2)))
            .collect::<Vec<_>>();
        let hits = AtomicUsize::new(0);

        thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    let v: Vec<&_> = v.iter().collect();

                    loop {
                        let timeout = after(ms(TIMEOUT_MS));
                        let mut sel = Select::new();
                        for r in &v {
                            sel.recv(*r);
                        }
                        let oper_timeout = sel.recv(&timeout);

                        let oper = sel.select_blocking();
                        match oper.index() {
                            i if i == oper_timeout => {
                                oper.recv(&timeout).unwrap();
                                break;
                            }
                            i => {
                                oper.recv(v[i]).unwrap();
                                hits.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                });
            }
        });

        assert_eq!(hits.load(Ordering::SeqCst), COUNT);
    }

    #[test]
    fn ready() {
        const THREADS: usize = 4;
        const COUNT: usize = 1000;
        const TIMEOUT_MS: u64 = 100;

        let v = (0..COUNT)
            .map(|i| after(ms(i as u64 / TIMEOUT_MS / 2)))
            .collect::<Vec<_>>();
        let hits = AtomicUsize::new(0);

        thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    let v: Vec<&_> = v.iter().collect();

                    loop {
                        let timeout = after(ms(TIMEOUT_MS));
                        let mut sel = Select::new();
                        for r in &v {
                            sel.recv(*r);
                        }
                        let oper_timeout = sel.recv(&timeout);

                        loop {
                            let i = sel.ready();
                            if i == oper_timeout {
                                timeout.try_recv().unwrap();
                                return;
                            } else if v[i].try_recv().is_ok() {
                                hits.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                        }
                    }
                });
            }
        });

        assert_eq!(hits.load(Ordering::SeqCst), COUNT);
    }

    #[test]
    fn stress_clone() {
        const RUNS: usize = 200; // crossbeam: 1000
        const THREADS: usize = 10;
        const COUNT: usize = 50;

        for i in 0..RUNS {
            let r = after(ms(i as u64 % 10));

            thread::scope(|scope| {
                for _ in 0..THREADS {
                    scope.spawn(|| {
                        let r = r.clone();
                        let _ = r.try_recv();

                        for _ in 0..COUNT {
                            drop(r.clone());
                            thread::yield_now();
                        }
                    });
                }
            });
        }
    }

    #[test]
    fn fairness() {
        const COUNT: usize = 1000;

        // crossbeam also runs `dur = 1`: two timers a few µs apart, the
        // select blocked on both. goro, like Go, delivers the earlier
        // deadline first to the blocked select, so the first arm wins.
        for &dur in &[0] {
            let mut hits = [0usize; 2];

            for _ in 0..COUNT {
                select! {
                    recv(after(ms(dur))) -> _ => hits[0] += 1,
                    recv(after(ms(dur))) -> _ => hits[1] += 1,
                }
            }

            assert!(
                hits.iter().all(|x| *x >= COUNT / hits.len() / 2),
                "dur {dur}: {hits:?}"
            );
        }
    }

    #[test]
    fn fairness_duplicates() {
        const COUNT: usize = 1000;

        // `dur = 1`: five arms on one channel, the select blocked before the
        // timer fires; arms register in shuffled order, so any may win.
        for &dur in &[0, 1] {
            let mut hits = [0usize; 5];

            for _ in 0..COUNT {
                let r = after(ms(dur));
                select! {
                    recv(r) -> _ => hits[0] += 1,
                    recv(r) -> _ => hits[1] += 1,
                    recv(r) -> _ => hits[2] += 1,
                    recv(r) -> _ => hits[3] += 1,
                    recv(r) -> _ => hits[4] += 1,
                }
            }

            assert!(
                hits.iter().all(|x| *x >= COUNT / hits.len() / 2),
                "dur {dur}: {hits:?}"
            );
        }
    }
}

mod tick_rs {
    use super::*;

    #[test]
    fn fire() {
        let start = Instant::now();
        let r = tick(ms(50));

        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
        thread::sleep(ms(100));

        let fired = r.try_recv().unwrap();
        assert!(start < fired);
        assert!(fired - start >= ms(50));

        let now = Instant::now();
        assert!(fired < now);
        assert!(now - fired >= ms(50));

        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));

        select! {
            recv(r) -> _ => panic!(),
            default => {}
        }

        select! {
            recv(r) -> _ => {}
            recv(tick(ms(200))) -> _ => panic!(),
        }
    }

    #[test]
    fn intervals() {
        let start = Instant::now();
        let r = tick(ms(50));

        let t1 = r.recv_blocking().unwrap();
        assert!(start + ms(50) <= t1);

        thread::sleep(ms(300));
        let t2 = r.try_recv().unwrap();
        assert!(start + ms(100) <= t2);

        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
        let t3 = r.recv_blocking().unwrap();
        assert!(start + ms(400) <= t3);

        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn capacity() {
        const COUNT: usize = 10;

        for i in 0..COUNT {
            let r = tick(ms(i as u64));
            assert_eq!(r.capacity(), 0); // crossbeam: Some(1)
        }
    }

    #[test]
    fn len_empty_full() {
        let r = tick(ms(50));

        assert_eq!(r.len(), 0);
        assert!(r.is_empty());
        assert!(r.is_full()); // crossbeam: false (capacity 1)

        thread::sleep(ms(100));

        assert_eq!(r.len(), 0); // crossbeam: 1
        assert!(r.is_empty()); // crossbeam: false
        assert!(r.is_full());

        r.try_recv().unwrap();

        assert_eq!(r.len(), 0);
        assert!(r.is_empty());
        assert!(r.is_full()); // crossbeam: false
    }

    #[test]
    fn try_recv() {
        let r = tick(ms(200));
        assert!(r.try_recv().is_err());

        thread::sleep(ms(100));
        assert!(r.try_recv().is_err());

        thread::sleep(ms(200));
        assert!(r.try_recv().is_ok());
        assert!(r.try_recv().is_err());

        thread::sleep(ms(200));
        assert!(r.try_recv().is_ok());
        assert!(r.try_recv().is_err());
    }

    #[test]
    fn recv() {
        let start = Instant::now();
        let r = tick(ms(50));

        let fired = r.recv_blocking().unwrap();
        assert!(start < fired);
        assert!(fired - start >= ms(50));

        let now = Instant::now();
        assert!(fired < now);

        assert_eq!(r.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn recv_timeout() {
        let start = Instant::now();
        let r = tick(ms(200));

        assert_eq!(r.recv_timeout(ms(100)), Err(RecvTimeoutError::Timeout));
        let now = Instant::now();
        assert!(now - start >= ms(100));

        let fired = r.recv_timeout(ms(200)).unwrap();
        assert!(fired - start >= ms(200));

        assert_eq!(r.recv_timeout(ms(100)), Err(RecvTimeoutError::Timeout));
        let now = Instant::now();
        assert!(now - start >= ms(300));

        let fired = r.recv_timeout(ms(200)).unwrap();
        assert!(fired - start >= ms(400));
    }

    #[test]
    fn recv_two() {
        let r1 = tick(ms(50));
        let r2 = tick(ms(50));

        thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..10 {
                        select! {
                            recv(r1) -> _ => {}
                            recv(r2) -> _ => {}
                        }
                    }
                });
            }
        });
    }

    #[test]
    fn recv_race() {
        select! {
            recv(tick(ms(50))) -> _ => {}
            recv(tick(ms(100))) -> _ => panic!(),
        }

        select! {
            recv(tick(ms(100))) -> _ => panic!(),
            recv(tick(ms(50))) -> _ => {}
        }
    }

    #[test]
    fn stress_default() {
        const COUNT: usize = 10;

        for _ in 0..COUNT {
            let r = tick(TINY);
            thread::sleep(TINY);
            select! {
                recv(r) -> _ => {}
                default => panic!(),
            }
        }

        for _ in 0..COUNT {
            select! {
                recv(tick(ms(100))) -> _ => panic!(),
                default => {}
            }
        }

        // goro: `tick(0)` is a nil channel (Go's `time.Tick(0)`).
        for _ in 0..COUNT {
            select! {
                recv(tick(ms(0))) -> _ => panic!(),
                default => {}
            }
        }
    }

    #[test]
    fn select() {
        const THREADS: usize = 4;

        let hits = AtomicUsize::new(0);
        let r1 = tick(ms(200));
        let r2 = tick(ms(300));

        thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    let timeout = after(ms(1100));
                    loop {
                        let mut sel = Select::new();
                        let oper1 = sel.recv(&r1);
                        let oper2 = sel.recv(&r2);
                        let oper3 = sel.recv(&timeout);
                        let oper = sel.select_blocking();
                        match oper.index() {
                            i if i == oper1 => {
                                oper.recv(&r1).unwrap();
                                hits.fetch_add(1, Ordering::SeqCst);
                            }
                            i if i == oper2 => {
                                oper.recv(&r2).unwrap();
                                hits.fetch_add(1, Ordering::SeqCst);
                            }
                            i if i == oper3 => {
                                oper.recv(&timeout).unwrap();
                                break;
                            }
                            _ => unreachable!(),
                        }
                    }
                });
            }
        });

        assert_eq!(hits.load(Ordering::SeqCst), 8);
    }

    #[test]
    fn ready() {
        const THREADS: usize = 4;

        let hits = AtomicUsize::new(0);
        let r1 = tick(ms(200));
        let r2 = tick(ms(300));

        thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    let timeout = after(ms(1100));
                    'outer: loop {
                        let mut sel = Select::new();
                        sel.recv(&r1);
                        sel.recv(&r2);
                        sel.recv(&timeout);
                        loop {
                            match sel.ready() {
                                0 => {
                                    if r1.try_recv().is_ok() {
                                        hits.fetch_add(1, Ordering::SeqCst);
                                        break;
                                    }
                                }
                                1 => {
                                    if r2.try_recv().is_ok() {
                                        hits.fetch_add(1, Ordering::SeqCst);
                                        break;
                                    }
                                }
                                2 => {
                                    if timeout.try_recv().is_ok() {
                                        break 'outer;
                                    }
                                }
                                _ => unreachable!(),
                            }
                        }
                    }
                });
            }
        });

        assert_eq!(hits.load(Ordering::SeqCst), 8);
    }

    #[test]
    fn fairness() {
        const COUNT: usize = 30;

        for dur in [TINY, ms(1)] {
            let mut hits = [0usize; 2];

            for _ in 0..COUNT {
                let r1 = tick(dur);
                let r2 = tick(dur);

                for _ in 0..COUNT {
                    select! {
                        recv(r1) -> _ => hits[0] += 1,
                        recv(r2) -> _ => hits[1] += 1,
                    }
                }
            }

            assert!(hits.iter().all(|x| *x >= COUNT / hits.len() / 2));
        }
    }

    #[test]
    fn fairness_duplicates() {
        const COUNT: usize = 30;

        for dur in [TINY, ms(1)] {
            let mut hits = [0usize; 5];

            for _ in 0..COUNT {
                let r = tick(dur);

                for _ in 0..COUNT {
                    select! {
                        recv(r) -> _ => hits[0] += 1,
                        recv(r) -> _ => hits[1] += 1,
                        recv(r) -> _ => hits[2] += 1,
                        recv(r) -> _ => hits[3] += 1,
                        recv(r) -> _ => hits[4] += 1,
                    }
                }
            }

            assert!(
                hits.iter().all(|x| *x >= COUNT / hits.len() / 2),
                "{dur:?}: {hits:?}"
            );
        }
    }
}
