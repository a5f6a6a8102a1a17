//! Go's own tests of the `sync` package and of `x/sync/semaphore`, ported to
//! goro, one module per Go file. Goroutines are OS threads or tokio tasks
//! here (the goro runtime is not merged yet); Go channels are
//! `std::sync::mpsc` channels, `select { default: }` is `try_recv`.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::SeqCst},
        mpsc, Arc,
    },
    thread,
    time::Duration,
};

use goro::sync::{Cond, Mutex, Once, RwMutex, Semaphore, WaitGroup};

/// Ported from Go's `src/sync/mutex_test.go`.
///
/// Copyright 2009 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod mutex_test {
    use super::*;

    fn hammer_mutex(m: &Mutex<()>, loops: usize, cdone: mpsc::Sender<bool>) {
        for _ in 0..loops {
            let _g = m.lock_blocking();
        }
        cdone.send(true).unwrap();
    }

    #[test]
    fn test_mutex() {
        let m = Arc::new(Mutex::new(()));
        let (c, rc) = mpsc::channel();
        for _ in 0..10 {
            let (m, c) = (m.clone(), c.clone());
            thread::spawn(move || hammer_mutex(&m, 1000, c));
        }
        for _ in 0..10 {
            rc.recv().unwrap();
        }
    }

    /// The same hammer with tokio tasks using `lock().await`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_mutex_async() {
        let m = Arc::new(Mutex::new(0usize));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move {
                    for _ in 0..1000 {
                        *m.lock().await += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*m.lock().await, 10_000);
    }

    // TestMutexMisuse: unlocking an unlocked mutex cannot be written with
    // goro's guards, so there is nothing to port.

    #[test]
    fn test_mutex_fairness() {
        let mu = Arc::new(Mutex::new(()));
        let stop = Arc::new(AtomicBool::new(false));
        let hog = {
            let (mu, stop) = (mu.clone(), stop.clone());
            thread::spawn(move || loop {
                {
                    let _g = mu.lock_blocking();
                    thread::sleep(Duration::from_micros(100));
                }
                if stop.load(SeqCst) {
                    return;
                }
            })
        };
        let (done, rdone) = mpsc::channel();
        {
            let mu = mu.clone();
            thread::spawn(move || {
                for _ in 0..10 {
                    thread::sleep(Duration::from_micros(100));
                    drop(mu.lock_blocking());
                }
                let _ = done.send(true);
            });
        }
        let res = rdone.recv_timeout(Duration::from_secs(10));
        stop.store(true, SeqCst);
        hog.join().unwrap();
        assert!(res.is_ok(), "can't acquire Mutex in 10 seconds");
    }
}

/// Ported from Go's `src/sync/rwmutex_test.go`.
///
/// Copyright 2009 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod rwmutex_test {
    use super::*;

    fn do_test_parallel_readers(num_readers: usize) {
        let m = Arc::new(RwMutex::new(()));
        let (clocked, rclocked) = mpsc::channel();
        let (cdone, rcdone) = mpsc::channel();
        let mut unlockers = Vec::new();
        for _ in 0..num_readers {
            let (m, clocked, cdone) = (m.clone(), clocked.clone(), cdone.clone());
            let (cunlock, rcunlock) = mpsc::channel::<bool>();
            unlockers.push(cunlock);
            thread::spawn(move || {
                let g = m.read_blocking();
                clocked.send(true).unwrap();
                rcunlock.recv().unwrap();
                drop(g);
                cdone.send(true).unwrap();
            });
        }
        // Wait for all parallel RLock()s to succeed.
        for _ in 0..num_readers {
            rclocked.recv().unwrap();
        }
        for c in &unlockers {
            c.send(true).unwrap();
        }
        for _ in 0..num_readers {
            rcdone.recv().unwrap();
        }
    }

    #[test]
    fn test_parallel_readers() {
        do_test_parallel_readers(1);
        do_test_parallel_readers(3);
        do_test_parallel_readers(4);
    }

    fn reader(rwm: &RwMutex<()>, iterations: usize, activity: &AtomicI32) {
        for _ in 0..iterations {
            let g = rwm.read_blocking();
            let n = activity.fetch_add(1, SeqCst) + 1;
            assert!((1..10000).contains(&n), "wlock({n})");
            for _ in 0..100 {
                std::hint::spin_loop();
            }
            activity.fetch_sub(1, SeqCst);
            drop(g);
        }
    }

    fn writer(rwm: &RwMutex<()>, iterations: usize, activity: &AtomicI32) {
        for _ in 0..iterations {
            let g = rwm.write_blocking();
            let n = activity.fetch_add(10000, SeqCst) + 10000;
            assert_eq!(n, 10000, "wlock({n})");
            for _ in 0..100 {
                std::hint::spin_loop();
            }
            activity.fetch_sub(10000, SeqCst);
            drop(g);
        }
    }

    fn hammer_rwmutex(num_readers: usize, iterations: usize) {
        // Number of active readers + 10000 * number of active writers.
        let activity = AtomicI32::new(0);
        let rwm = RwMutex::new(());
        thread::scope(|s| {
            s.spawn(|| writer(&rwm, iterations, &activity));
            let mut i = 0;
            while i < num_readers / 2 {
                s.spawn(|| reader(&rwm, iterations, &activity));
                i += 1;
            }
            s.spawn(|| writer(&rwm, iterations, &activity));
            while i < num_readers {
                s.spawn(|| reader(&rwm, iterations, &activity));
                i += 1;
            }
        });
    }

    #[test]
    fn test_rwmutex() {
        let n = 300;
        hammer_rwmutex(1, n);
        hammer_rwmutex(3, n);
        hammer_rwmutex(10, n);
        hammer_rwmutex(5, n);
    }

    /// TestRLocker: Go's `RLocker` is a `Locker` view of the read side;
    /// here the read guards play `rl`, sent to the main goroutine to unlock.
    #[test]
    fn test_rlocker() {
        let wl: &'static RwMutex<()> = Box::leak(Box::new(RwMutex::new(())));
        let n = 10;
        let (rlocked, rrlocked) = mpsc::sync_channel(1);
        let (wlocked, rwlocked) = mpsc::sync_channel(1);
        let t = thread::spawn(move || {
            for _ in 0..n {
                let r1 = wl.read_blocking();
                let r2 = wl.read_blocking();
                rlocked.send((r1, r2)).unwrap();
                let w = wl.write_blocking();
                wlocked.send(w).unwrap();
            }
        });
        for _ in 0..n {
            let (r1, r2) = rrlocked.recv().unwrap();
            drop(r1);
            thread::sleep(Duration::from_millis(1));
            assert!(
                rwlocked.try_recv().is_err(),
                "RLocker() didn't read-lock it"
            );
            drop(r2);
            let w = rwlocked.recv().unwrap();
            thread::sleep(Duration::from_millis(1));
            assert!(
                rrlocked.try_recv().is_err(),
                "RLocker() didn't respect the write lock"
            );
            drop(w);
        }
        t.join().unwrap();
    }
}

/// Ported from Go's `src/sync/waitgroup_test.go`.
///
/// Copyright 2011 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod waitgroup_test {
    use super::*;

    fn test_wait_group(wg1: &WaitGroup, wg2: &WaitGroup) {
        let n = 16;
        wg1.add(n);
        wg2.add(n);
        let (exited, rexited) = mpsc::channel();
        for _ in 0..n {
            let (wg1, wg2, exited) = (wg1.clone(), wg2.clone(), exited.clone());
            thread::spawn(move || {
                wg1.done();
                wg2.wait_blocking();
                exited.send(true).unwrap();
            });
        }
        wg1.wait_blocking();
        for _ in 0..n {
            assert!(
                rexited.try_recv().is_err(),
                "WaitGroup released group too soon"
            );
            wg2.done();
        }
        for _ in 0..n {
            rexited.recv().unwrap(); // Will block if barrier fails to unlock someone.
        }
    }

    #[test]
    fn test_wait_group_() {
        let (wg1, wg2) = (WaitGroup::new(), WaitGroup::new());
        // Run the same test a few times to ensure barrier is in a proper state.
        for _ in 0..8 {
            test_wait_group(&wg1, &wg2);
        }
    }

    #[test]
    fn test_wait_group_misuse() {
        let wg = WaitGroup::new();
        wg.add(1);
        wg.done();
        let err = std::panic::catch_unwind(|| wg.done()).unwrap_err();
        let msg = err
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| err.downcast_ref::<String>().cloned())
            .unwrap();
        assert_eq!(msg, "sync: negative WaitGroup counter");
    }

    #[test]
    fn test_wait_group_race() {
        // Run this test for about 1ms.
        for _ in 0..1000 {
            let wg = WaitGroup::new();
            let n = Arc::new(AtomicI32::new(0));
            wg.add(2);
            for _ in 0..2 {
                let (wg, n) = (wg.clone(), n.clone());
                thread::spawn(move || {
                    n.fetch_add(1, SeqCst);
                    wg.done();
                });
            }
            // Wait for goroutine 1 and 2
            wg.wait_blocking();
            assert_eq!(n.load(SeqCst), 2, "Spurious wakeup from Wait");
        }
    }
}

/// Ported from Go's `src/sync/once_test.go`.
///
/// Copyright 2009 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod once_test {
    use super::*;

    fn run(once: &Once, o: &AtomicI32, c: &mpsc::Sender<bool>) {
        once.call_once_blocking(|| {
            o.fetch_add(1, SeqCst);
        });
        let v = o.load(SeqCst);
        assert_eq!(v, 1, "once failed inside run: {v} is not 1");
        c.send(true).unwrap();
    }

    #[test]
    fn test_once() {
        let o = AtomicI32::new(0);
        let once = Once::new();
        let (c, rc) = mpsc::channel();
        const N: usize = 10;
        thread::scope(|s| {
            for _ in 0..N {
                let c = c.clone();
                let (once, o) = (&once, &o);
                s.spawn(move || run(once, o, &c));
            }
            for _ in 0..N {
                rc.recv().unwrap();
            }
        });
        assert_eq!(o.load(SeqCst), 1, "once failed outside run");
    }

    #[test]
    fn test_once_panic() {
        let once = Once::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            once.call_once_blocking(|| panic!("failed"));
        }));
        assert!(r.is_err(), "Once.Do did not panic");
        once.call_once_blocking(|| panic!("Once.Do called twice"));
    }
}

/// Ported from Go's `src/sync/cond_test.go`.
///
/// Copyright 2011 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod cond_test {
    use super::*;

    #[test]
    fn test_cond_signal() {
        let mc = Arc::new((Mutex::new(()), Cond::new()));
        let mut n = 2;
        let (running, rrunning) = mpsc::channel();
        let (awake, rawake) = mpsc::channel();
        for _ in 0..n {
            let (mc, running, awake) = (mc.clone(), running.clone(), awake.clone());
            thread::spawn(move || {
                let (m, c) = &*mc;
                let g = m.lock_blocking();
                running.send(true).unwrap();
                let g = c.wait_blocking(g);
                awake.send(true).unwrap();
                drop(g);
            });
        }
        for _ in 0..n {
            rrunning.recv().unwrap(); // Wait for everyone to run.
        }
        let (m, c) = &*mc;
        while n > 0 {
            assert!(rawake.try_recv().is_err(), "goroutine not asleep");
            let g = m.lock_blocking();
            c.signal();
            drop(g);
            rawake.recv().unwrap(); // Will deadlock if no goroutine wakes up
            thread::sleep(Duration::from_millis(1));
            assert!(rawake.try_recv().is_err(), "too many goroutines awake");
            n -= 1;
        }
        c.signal();
    }

    #[test]
    fn test_cond_signal_generations() {
        let mc = Arc::new((Mutex::new(()), Cond::new()));
        let n = 100;
        let (running, rrunning) = mpsc::channel();
        let (awake, rawake) = mpsc::channel();
        for i in 0..n {
            {
                let (mc, running, awake) = (mc.clone(), running.clone(), awake.clone());
                thread::spawn(move || {
                    let (m, c) = &*mc;
                    let g = m.lock_blocking();
                    running.send(true).unwrap();
                    let g = c.wait_blocking(g);
                    awake.send(i).unwrap();
                    drop(g);
                });
            }
            if i > 0 {
                let a = rawake.recv().unwrap();
                assert_eq!(a, i - 1, "wrong goroutine woke up: want {}, got {a}", i - 1);
            }
            rrunning.recv().unwrap();
            let (m, c) = &*mc;
            let g = m.lock_blocking();
            c.signal();
            drop(g);
        }
    }

    #[test]
    fn test_cond_broadcast() {
        let mc = Arc::new((Mutex::new(false), Cond::new()));
        let n = 50;
        let (running, rrunning) = mpsc::channel();
        let (awake, rawake) = mpsc::channel();
        for g in 0..n {
            let (mc, running, awake) = (mc.clone(), running.clone(), awake.clone());
            thread::spawn(move || {
                let (m, c) = &*mc;
                let mut exit = m.lock_blocking();
                while !*exit {
                    running.send(g).unwrap();
                    exit = c.wait_blocking(exit);
                    awake.send(g).unwrap();
                }
            });
        }
        let (m, c) = &*mc;
        for i in 0..n {
            for _ in 0..n {
                rrunning.recv().unwrap(); // Will deadlock unless n are running.
            }
            if i == n - 1 {
                *m.lock_blocking() = true;
            }
            assert!(rawake.try_recv().is_err(), "goroutine not asleep");
            let g = m.lock_blocking();
            c.broadcast();
            drop(g);
            let mut seen = vec![false; n];
            for _ in 0..n {
                let g = rawake.recv().unwrap();
                assert!(!seen[g], "goroutine woke up twice");
                seen[g] = true;
            }
        }
        thread::sleep(Duration::from_millis(1));
        assert!(rrunning.try_recv().is_err(), "goroutine did not exit");
        c.broadcast();
    }

    #[test]
    fn test_race() {
        let mc = Arc::new((Mutex::new(0), Cond::new()));
        let (done, rdone) = mpsc::channel();
        {
            let (mc, done) = (mc.clone(), done.clone());
            thread::spawn(move || {
                let (l, c) = &*mc;
                let mut x = l.lock_blocking();
                *x = 1;
                x = c.wait_blocking(x);
                assert_eq!(*x, 2, "want 2");
                *x = 3;
                c.signal();
                drop(x);
                done.send(true).unwrap();
            });
        }
        {
            let (mc, done) = (mc.clone(), done.clone());
            thread::spawn(move || {
                let (l, c) = &*mc;
                let mut x = l.lock_blocking();
                loop {
                    if *x == 1 {
                        *x = 2;
                        c.signal();
                        break;
                    }
                    drop(x);
                    thread::yield_now();
                    x = l.lock_blocking();
                }
                drop(x);
                done.send(true).unwrap();
            });
        }
        {
            let (mc, done) = (mc.clone(), done.clone());
            thread::spawn(move || {
                let (l, c) = &*mc;
                let mut x = l.lock_blocking();
                loop {
                    if *x == 2 {
                        x = c.wait_blocking(x);
                        assert_eq!(*x, 3, "want 3");
                        break;
                    }
                    if *x == 3 {
                        break;
                    }
                    drop(x);
                    thread::yield_now();
                    x = l.lock_blocking();
                }
                drop(x);
                done.send(true).unwrap();
            });
        }
        for _ in 0..3 {
            rdone.recv().unwrap();
        }
    }

    #[test]
    fn test_cond_signal_stealing() {
        for _ in 0..200 {
            let mc = Arc::new((Mutex::new(false), Cond::new()));
            // Start a waiter.
            let (ch, rch) = mpsc::channel();
            {
                let (mc, ch) = (mc.clone(), ch.clone());
                thread::spawn(move || {
                    let (m, cond) = &*mc;
                    let g = m.lock_blocking();
                    ch.send(()).unwrap();
                    drop(cond.wait_blocking(g));
                    ch.send(()).unwrap();
                });
            }
            rch.recv().unwrap();
            drop(mc.0.lock_blocking());
            // We know that the waiter is in the cond.Wait() call because we
            // synchronized with it, then acquired/released the mutex it was
            // holding when we synchronized.
            //
            // Start two goroutines that will race: one will broadcast on
            // the cond var, the other will wait on it.
            //
            // The new waiter may or may not get notified, but the first one
            // has to be notified.
            {
                let mc = mc.clone();
                thread::spawn(move || mc.1.broadcast());
            }
            let second = {
                let mc = mc.clone();
                thread::spawn(move || {
                    let (m, cond) = &*mc;
                    let mut done = m.lock_blocking();
                    while !*done {
                        done = cond.wait_blocking(done);
                    }
                })
            };
            // Check that the first waiter does get signaled.
            assert!(
                rch.recv_timeout(Duration::from_secs(2)).is_ok(),
                "First waiter didn't get broadcast."
            );
            // Release the second waiter in case it didn't get the broadcast.
            *mc.0.lock_blocking() = true;
            mc.1.broadcast();
            second.join().unwrap();
        }
    }
}

/// Ported from `golang.org/x/sync`'s `semaphore/semaphore_test.go`.
///
/// Copyright 2017 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod semaphore_test {
    use super::*;

    const MAX_SLEEP: Duration = Duration::from_millis(1);

    fn hammer_weighted(sem: &Semaphore, n: usize, loops: usize) {
        for i in 0..loops {
            let p = sem.acquire_blocking(n);
            thread::sleep(MAX_SLEEP * ((i * 7 + n) % 10) as u32 / 10);
            drop(p);
        }
    }

    #[test]
    fn test_weighted() {
        let n = 4;
        let loops = 400 / n;
        let sem = Semaphore::new(n);
        let wg = WaitGroup::new();
        wg.add(n as isize);
        thread::scope(|s| {
            for i in 0..n {
                let (sem, wg) = (&sem, wg.clone());
                s.spawn(move || {
                    hammer_weighted(sem, i, loops);
                    wg.done();
                });
            }
            wg.wait_blocking();
        });
    }

    #[test]
    fn test_weighted_panic() {
        let w = Semaphore::new(1);
        let r = std::panic::catch_unwind(|| w.release(1));
        assert!(
            r.is_err(),
            "release of an unacquired weighted semaphore did not panic"
        );
    }

    #[test]
    fn test_weighted_try_acquire() {
        let sem = Semaphore::new(2);
        let mut tries = vec![];
        sem.acquire_blocking(1).forget();
        tries.push(sem.try_acquire(1).map(|p| p.forget()).is_some());
        tries.push(sem.try_acquire(1).map(|p| p.forget()).is_some());
        sem.release(2);
        tries.push(sem.try_acquire(1).map(|p| p.forget()).is_some());
        sem.acquire_blocking(1).forget();
        tries.push(sem.try_acquire(1).map(|p| p.forget()).is_some());
        assert_eq!(tries, [true, false, true, false]);
    }

    #[tokio::test]
    async fn test_weighted_acquire() {
        let sem = Semaphore::new(2);
        let sem = &sem;
        let try_acquire = |n| async move {
            tokio::time::timeout(Duration::from_millis(10), sem.acquire(n))
                .await
                .map(|p| p.forget())
                .is_ok()
        };
        let mut tries = vec![];
        sem.acquire(1).await.forget();
        tries.push(try_acquire(1).await);
        tries.push(try_acquire(1).await);
        sem.release(2);
        tries.push(try_acquire(1).await);
        sem.acquire(1).await.forget();
        tries.push(try_acquire(1).await);
        assert_eq!(tries, [true, false, true, false]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_weighted_doesnt_block_if_too_big() {
        const N: usize = 2;
        let sem = Arc::new(Semaphore::new(N));
        let big = {
            let sem = sem.clone();
            tokio::spawn(async move {
                let _ = sem.acquire(N + 1).await;
                unreachable!("acquired more than the size");
            })
        };
        let tasks: Vec<_> = (0..N * 3)
            .map(|_| {
                let sem = sem.clone();
                tokio::spawn(async move {
                    let p = sem.acquire(1).await;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    drop(p);
                })
            })
            .collect();
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .expect("failed to acquire(1) with acquire(N+1) pending")
                .unwrap();
        }
        big.abort();
    }

    /// TestLargeAcquireDoesntStarve times out if a large call to Acquire
    /// starves. Merely returning from the test function indicates success.
    #[test]
    fn test_large_acquire_doesnt_starve() {
        let n = 4;
        let sem = Arc::new(Semaphore::new(n));
        let running = Arc::new(AtomicBool::new(true));
        let wg = WaitGroup::new();
        wg.add(n as isize);
        for _ in 0..n {
            sem.acquire_blocking(1).forget();
            let (sem, running, wg) = (sem.clone(), running.clone(), wg.clone());
            thread::spawn(move || {
                while running.load(SeqCst) {
                    thread::sleep(Duration::from_millis(1));
                    sem.release(1);
                    sem.acquire_blocking(1).forget();
                }
                sem.release(1);
                wg.done();
            });
        }
        sem.acquire_blocking(n).forget();
        running.store(false, SeqCst);
        sem.release(n);
        wg.wait_blocking();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_alloc_cancel_doesnt_starve() {
        let sem = Arc::new(Semaphore::new(10));
        // hold 1 read lock
        sem.acquire(1).await.forget();
        {
            let sem = sem.clone();
            tokio::spawn(async move {
                // start a write lock request that will give up after 300ms
                let r = tokio::time::timeout(Duration::from_millis(300), sem.acquire(10)).await;
                assert!(r.is_err());
            });
        }
        // sleep 100ms, long enough for the Lock request to be queued
        tokio::time::sleep(Duration::from_millis(100)).await;
        let done = Arc::new(AtomicUsize::new(0));
        let reader = {
            let (sem, done) = (sem.clone(), done.clone());
            tokio::spawn(async move {
                // queued after the Lock request, but notified when it is
                // cancelled
                drop(sem.acquire(1).await);
                done.store(1, SeqCst);
            })
        };
        tokio::time::timeout(Duration::from_secs(1), reader)
            .await
            .expect("reader starved by a cancelled writer")
            .unwrap();
        assert_eq!(done.load(SeqCst), 1);
    }
}
