//! An adversarial suite for `goro::sync` (issue 11 / issue 15): lock,
//! acquire and wait futures cancelled half way in storms (timeouts, aborts,
//! polled once and dropped), counting that no lock, permit or signal is
//! lost; panics while holding guards; `Duration::MAX` timeouts; plain
//! threads mixed with goroutines; 10^5 waiters on one primitive.
//!
//! Every storm ends with an exact check: the primitive is free again (a
//! `try_*` succeeds, `available()` is full), and counted work equals the
//! successful acquisitions. A lost wake-up shows up as a hang, caught by a
//! generous timeout. Sizes scale with `GORO_STRESS` (default 1: the file
//! runs in a few seconds in debug on 2 cores).

use std::{
    future::Future,
    pin::pin,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    task::Context,
    time::Duration,
};

use goro::{
    sync::{Cond, Mutex, Once, OnceValue, RwMutex, Semaphore, WaitGroup},
    time::{sleep, timeout},
};

fn scale() -> usize {
    std::env::var("GORO_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// A tiny xorshift, seeded per goroutine.
struct Rng(u64);

impl Rng {
    fn new(seed: usize) -> Rng {
        Rng((seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Generous: only catches hangs.
const HANG: Duration = Duration::from_secs(30);

/// Polls `fut` once with a no-op waker, then drops it: the sharpest
/// cancellation (registered, then gone before any wake-up).
fn poll_once_and_drop<F: Future>(fut: F) -> bool {
    let mut fut = pin!(fut);
    let waker = futures::task::noop_waker();
    fut.as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_ready()
}

/// Mutex: 16 goroutines lock (borrowed and owned) with random tiny
/// timeouts or poll once and drop, 2 threads lock with `lock_blocking`;
/// never two holders, every lock held adds exactly one, and the mutex ends
/// free.
#[goro::test(procs = 2)]
async fn mutex_cancel_storm() {
    let rounds = 400 * scale();
    let m = Arc::new(Mutex::new(0usize));
    let inside = Arc::new(AtomicBool::new(false));
    let taken = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for g in 0..16 {
        let (m, inside, taken) = (m.clone(), inside.clone(), taken.clone());
        hs.push(goro::go(async move {
            let mut rng = Rng::new(g);
            for _ in 0..rounds {
                let d = Duration::from_micros(rng.below(300));
                match rng.below(3) {
                    0 => {
                        if let Ok(mut guard) = timeout(d, m.lock()).await {
                            assert!(!inside.swap(true, SeqCst), "two holders at once");
                            *guard += 1;
                            taken.fetch_add(1, SeqCst);
                            inside.store(false, SeqCst);
                        }
                    }
                    1 => {
                        if let Ok(mut guard) = timeout(d, m.clone().lock_owned()).await {
                            assert!(!inside.swap(true, SeqCst), "two holders at once");
                            *guard += 1;
                            taken.fetch_add(1, SeqCst);
                            if rng.below(4) == 0 {
                                goro::yield_now().await;
                            }
                            inside.store(false, SeqCst);
                        }
                    }
                    _ => {
                        let _ = poll_once_and_drop(m.lock());
                    }
                }
            }
        }));
    }
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (m, inside, taken) = (m.clone(), inside.clone(), taken.clone());
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    let mut g = m.lock_blocking();
                    assert!(!inside.swap(true, SeqCst), "two holders at once");
                    *g += 1;
                    taken.fetch_add(1, SeqCst);
                    inside.store(false, SeqCst);
                }
            })
        })
        .collect();
    timeout(HANG, async {
        for h in hs {
            h.await.unwrap();
        }
    })
    .await
    .expect("mutex storm hung: a lock was lost");
    for t in threads {
        goro::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
    }
    let v = *m.try_lock().expect("the mutex ends free");
    assert_eq!(v, taken.load(SeqCst));
    assert!(v >= 2 * rounds);
}

/// The same storm, counted exactly: each goroutine records its own
/// successful locks and adds exactly one per lock held.
#[goro::test(procs = 2)]
async fn mutex_cancel_storm_exact() {
    let rounds = 500 * scale();
    let m = Arc::new(Mutex::new(0usize));
    let holders = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for g in 0..12 {
        let (m, holders) = (m.clone(), holders.clone());
        hs.push(goro::go(async move {
            let mut rng = Rng::new(100 + g);
            let mut mine = 0;
            for _ in 0..rounds {
                let d = Duration::from_micros(rng.below(200));
                if let Ok(mut guard) = timeout(d, m.lock()).await {
                    assert_eq!(holders.fetch_add(1, SeqCst), 0, "two holders");
                    *guard += 1;
                    mine += 1;
                    if rng.below(8) == 0 {
                        goro::yield_now().await;
                    }
                    holders.fetch_sub(1, SeqCst);
                }
                // A lock future polled once and dropped must not keep it.
                let _ = poll_once_and_drop(m.lock());
            }
            mine
        }));
    }
    let mut total = 0;
    for h in hs {
        total += timeout(HANG, h).await.expect("storm hung").unwrap();
    }
    assert_eq!(*m.try_lock().expect("ends free"), total);
}

/// Hand-off mode (a waiter kept out for over 1 ms by barging newcomers is
/// handed the lock directly): waiters time out around that moment, so
/// some are dropped after the lock was handed to them and must pass it on.
#[goro::test(procs = 2)]
async fn mutex_hand_off_to_cancelled_waiters() {
    let rounds = 150 * scale();
    let m = Arc::new(Mutex::new(0usize));
    let stop = Arc::new(AtomicBool::new(false));
    let mut bargers = Vec::new();
    for _ in 0..2 {
        let (m, stop) = (m.clone(), stop.clone());
        bargers.push(goro::go(async move {
            let mut mine = 0;
            while !stop.load(SeqCst) {
                *m.lock().await += 1;
                mine += 1;
                if mine % 16 == 0 {
                    goro::yield_now().await;
                }
            }
            mine
        }));
    }
    let mut waiters = Vec::new();
    for g in 0..6 {
        let m = m.clone();
        waiters.push(goro::go(async move {
            let mut rng = Rng::new(700 + g);
            let mut mine = 0;
            for _ in 0..rounds {
                let d = Duration::from_micros(500 + rng.below(2500));
                if let Ok(mut guard) = timeout(d, m.lock()).await {
                    *guard += 1;
                    mine += 1;
                    if rng.below(8) == 0 {
                        sleep(Duration::from_micros(rng.below(1500))).await;
                    }
                }
            }
            mine
        }));
    }
    let mut total = 0;
    for h in waiters {
        total += timeout(HANG, h).await.expect("waiter hung").unwrap();
    }
    stop.store(true, SeqCst);
    for h in bargers {
        total += timeout(HANG, h).await.expect("barger hung").unwrap();
    }
    assert_eq!(*m.try_lock().expect("ends free"), total);
}

/// Polls a pinned future once with a no-op waker.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    let waker = futures::task::noop_waker();
    fut.poll(&mut Context::from_waker(&waker))
}

/// The exact "granted, then dropped before it looked" case for each
/// primitive, driven by hand: the grant must be passed on.
#[test]
fn granted_then_dropped_passes_the_grant_on() {
    // Mutex in hand-off mode: a waiter kept out for over 1 ms by a barger
    // switches the mutex to hand-off; the next unlock hands it the lock.
    let m = Mutex::new(0);
    let g = m.try_lock().unwrap();
    let mut w = Box::pin(m.lock());
    assert!(poll_once(w.as_mut()).is_pending());
    std::thread::sleep(Duration::from_millis(3));
    drop(g); // normal mode: wakes the waiter to retry
    let b = m.try_lock().expect("a newcomer barges in");
    assert!(poll_once(w.as_mut()).is_pending()); // lost after > 1 ms: hand-off
    drop(b); // hands the lock to the waiter
    assert!(m.try_lock().is_none(), "handed to the waiter");
    drop(w); // dropped before it saw the grant
    assert!(m.try_lock().is_some(), "the handed-off lock was lost");

    // Semaphore: a waiter granted its permits, then dropped.
    let sem = Semaphore::new(2);
    let p = sem.try_acquire(2).unwrap();
    let mut w = Box::pin(sem.acquire(2));
    assert!(poll_once(w.as_mut()).is_pending());
    drop(p); // grants both permits to the waiter
    assert_eq!(sem.available(), 0);
    drop(w);
    assert_eq!(sem.available(), 2, "granted permits were lost");

    // RwMutex: readers granted by the writer's unlock, then dropped; and an
    // announced writer dropped while it waits for readers.
    let rw = RwMutex::new(0);
    let wg = rw.try_write().unwrap();
    let mut r1 = Box::pin(rw.read());
    let mut r2 = Box::pin(rw.read());
    assert!(poll_once(r1.as_mut()).is_pending());
    assert!(poll_once(r2.as_mut()).is_pending());
    drop(wg);
    drop(r1);
    assert!(rw.try_write().is_none(), "r2 holds its granted read lock");
    drop(r2);
    assert!(rw.try_write().is_some(), "a granted read lock was lost");
    let r = rw.try_read().unwrap();
    let mut w = Box::pin(rw.write());
    assert!(poll_once(w.as_mut()).is_pending());
    assert!(
        rw.try_read().is_none(),
        "an announced writer keeps readers out"
    );
    drop(w);
    assert!(
        rw.try_read().is_some(),
        "a withdrawn writer lets readers in"
    );
    drop(r);
    assert!(rw.try_write().is_some());

    // Owned twins.
    let m = Arc::new(Mutex::new(0));
    let g = m.try_lock().unwrap();
    let mut w = Box::pin(m.clone().lock_owned());
    assert!(poll_once(w.as_mut()).is_pending());
    std::thread::sleep(Duration::from_millis(3));
    drop(g);
    let b = m.try_lock().expect("a newcomer barges in");
    assert!(poll_once(w.as_mut()).is_pending());
    drop(b);
    drop(w);
    assert!(
        m.try_lock().is_some(),
        "owned: the handed-off lock was lost"
    );
    let sem = Arc::new(Semaphore::new(1));
    let p = sem.try_acquire(1).unwrap();
    let mut w = Box::pin(sem.clone().acquire_owned(1));
    assert!(poll_once(w.as_mut()).is_pending());
    drop(p);
    drop(w);
    assert_eq!(sem.available(), 1, "owned: granted permits were lost");
    let rw = Arc::new(RwMutex::new(0));
    let wg = rw.try_write().unwrap();
    let mut r = Box::pin(rw.clone().read_owned());
    assert!(poll_once(r.as_mut()).is_pending());
    drop(wg);
    drop(r);
    assert!(
        rw.try_write().is_some(),
        "owned: a granted read lock was lost"
    );

    // Cond: a notified waiter dropped before it woke passes the signal on.
    let m = Mutex::new(());
    let c = Cond::new();
    let mut w1 = Box::pin(c.wait(m.try_lock().unwrap()));
    assert!(poll_once(w1.as_mut()).is_pending());
    let mut w2 = Box::pin(c.wait(m.try_lock().unwrap()));
    assert!(poll_once(w2.as_mut()).is_pending());
    c.signal(); // to w1, the oldest
    drop(w1);
    assert!(
        poll_once(w2.as_mut()).is_ready(),
        "the signal died with the cancelled waiter"
    );
}

/// Semaphore of 5 with weighted acquires cancelled by timeouts and aborts:
/// the held weight never exceeds 5 and every permit comes back.
#[goro::test(procs = 2)]
async fn semaphore_cancel_storm() {
    const SIZE: usize = 5;
    let rounds = 400 * scale();
    let sem = Arc::new(Semaphore::new(SIZE));
    let held = Arc::new(AtomicUsize::new(0));
    let granted = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for g in 0..16 {
        let (sem, held, granted) = (sem.clone(), held.clone(), granted.clone());
        hs.push(goro::go(async move {
            let mut rng = Rng::new(200 + g);
            for _ in 0..rounds {
                let n = 1 + rng.below(SIZE as u64) as usize;
                let d = Duration::from_micros(rng.below(300));
                let permit = if rng.below(2) == 0 {
                    timeout(d, sem.acquire(n))
                        .await
                        .ok()
                        .map(|p| (p.num_permits(), Some(p), None))
                } else {
                    timeout(d, sem.clone().acquire_owned(n))
                        .await
                        .ok()
                        .map(|p| (p.num_permits(), None, Some(p)))
                };
                if let Some((k, _p, _op)) = permit {
                    let now = held.fetch_add(k, SeqCst) + k;
                    assert!(now <= SIZE, "{now} permits held of {SIZE}");
                    granted.fetch_add(1, SeqCst);
                    if rng.below(4) == 0 {
                        goro::yield_now().await;
                    }
                    held.fetch_sub(k, SeqCst);
                }
                let _ = poll_once_and_drop(sem.acquire(n));
            }
        }));
    }
    // Aborted goroutines, each stuck in an acquire.
    for _ in 0..50 {
        let sem2 = sem.clone();
        let h = goro::go(async move {
            let _p = sem2.acquire(SIZE).await;
            sleep(Duration::from_micros(50)).await;
        });
        goro::yield_now().await;
        h.abort();
        let _ = h.await;
    }
    for h in hs {
        timeout(HANG, h).await.expect("storm hung").unwrap();
    }
    assert!(granted.load(SeqCst) > 0);
    assert_eq!(sem.available(), SIZE, "a permit was lost");
    assert!(sem.try_acquire(SIZE).is_some());
}

/// RwMutex: readers and writers with random timeouts; a writer is always
/// alone, and the lock ends free.
#[goro::test(procs = 2)]
async fn rwmutex_cancel_storm() {
    let rounds = 300 * scale();
    let m = Arc::new(RwMutex::new(0usize));
    let readers = Arc::new(AtomicUsize::new(0));
    let writer = Arc::new(AtomicBool::new(false));
    let mut hs = Vec::new();
    for g in 0..16 {
        let (m, readers, writer) = (m.clone(), readers.clone(), writer.clone());
        hs.push(goro::go(async move {
            let mut rng = Rng::new(300 + g);
            let mut writes = 0;
            for _ in 0..rounds {
                let d = Duration::from_micros(rng.below(300));
                match rng.below(4) {
                    0 => {
                        if let Ok(mut w) = timeout(d, m.write()).await {
                            assert!(!writer.swap(true, SeqCst));
                            assert_eq!(readers.load(SeqCst), 0, "writer with readers");
                            *w += 1;
                            writes += 1;
                            writer.store(false, SeqCst);
                        }
                    }
                    1 => {
                        if let Ok(mut w) = timeout(d, m.clone().write_owned()).await {
                            assert!(!writer.swap(true, SeqCst));
                            assert_eq!(readers.load(SeqCst), 0, "writer with readers");
                            *w += 1;
                            writes += 1;
                            writer.store(false, SeqCst);
                        }
                    }
                    2 => {
                        if let Ok(r) = timeout(d, m.read()).await {
                            readers.fetch_add(1, SeqCst);
                            assert!(!writer.load(SeqCst), "reader with a writer");
                            let _ = *r;
                            if rng.below(4) == 0 {
                                goro::yield_now().await;
                            }
                            readers.fetch_sub(1, SeqCst);
                        }
                    }
                    _ => {
                        let _ = poll_once_and_drop(m.write());
                        let _ = poll_once_and_drop(m.read());
                    }
                }
            }
            writes
        }));
    }
    let mut writes = 0;
    for h in hs {
        writes += timeout(HANG, h).await.expect("storm hung").unwrap();
    }
    assert_eq!(*m.try_write().expect("ends free"), writes);
}

/// Cond: steady consumers that never cancel and flaky ones that time out
/// and retry; the producer signals once per token. A signal delivered to a
/// cancelled waiter must be passed on, or a steady consumer sleeps forever
/// with a token left.
#[goro::test(procs = 2)]
async fn cond_signal_survives_cancelled_waiters() {
    let tokens = 2_000 * scale();
    let state = Arc::new((Mutex::new((0usize, false)), Cond::new()));
    let consumed = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for g in 0..8 {
        let (state, consumed) = (state.clone(), consumed.clone());
        let flaky = g % 2 == 1;
        hs.push(goro::go(async move {
            let (m, c) = &*state;
            let mut rng = Rng::new(400 + g);
            loop {
                let mut guard = m.lock().await;
                loop {
                    if guard.0 > 0 {
                        guard.0 -= 1;
                        consumed.fetch_add(1, SeqCst);
                        break;
                    }
                    if guard.1 {
                        return;
                    }
                    if flaky {
                        let d = Duration::from_micros(rng.below(200));
                        match timeout(d, c.wait(guard)).await {
                            Ok(g) => guard = g,
                            // Cancelled: the mutex was unlocked by the wait.
                            Err(_) => guard = m.lock().await,
                        }
                    } else {
                        guard = c.wait(guard).await;
                    }
                }
            }
        }));
    }
    let (m, c) = &*state;
    for i in 0..tokens {
        m.lock().await.0 += 1;
        c.signal();
        if i % 64 == 0 {
            goro::yield_now().await;
        }
    }
    // Wait until every token is gone, then stop everyone.
    timeout(HANG, async {
        while consumed.load(SeqCst) < tokens {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("a token was left with consumers asleep: a signal was lost");
    m.lock().await.1 = true;
    c.broadcast();
    for h in hs {
        timeout(HANG, h).await.expect("consumer hung").unwrap();
    }
    assert_eq!(consumed.load(SeqCst), tokens);
    assert_eq!(m.lock().await.0, 0);
}

/// WaitGroup waits and Once calls cancelled while the work runs elsewhere.
#[goro::test(procs = 2)]
async fn waitgroup_and_once_waits_cancelled() {
    for round in 0..100 * scale() {
        let wg = WaitGroup::new();
        wg.add(1);
        let mut waiters = Vec::new();
        for i in 0..8 {
            let wg = wg.clone();
            waiters.push(goro::go(async move {
                if i % 2 == 0 {
                    timeout(Duration::from_micros(50), wg.wait()).await.is_ok()
                } else {
                    wg.wait().await;
                    true
                }
            }));
        }
        goro::yield_now().await;
        assert!(!poll_once_and_drop(wg.wait()));
        wg.done();
        for (i, h) in waiters.into_iter().enumerate() {
            let done = timeout(HANG, h).await.expect("wait hung").unwrap();
            assert!(i % 2 == 0 || done, "round {round}: steady waiter {i}");
        }

        let once = Arc::new(Once::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicBool::new(false));
        let runner = {
            let (once, runs, started) = (once.clone(), runs.clone(), started.clone());
            goro::spawn_blocking(move || {
                once.call_once_blocking(|| {
                    started.store(true, SeqCst);
                    std::thread::sleep(Duration::from_micros(200));
                    runs.fetch_add(1, SeqCst);
                })
            })
        };
        let mut callers = Vec::new();
        for i in 0..6 {
            let (once, runs) = (once.clone(), runs.clone());
            callers.push(goro::go(async move {
                let f = once.call_once(|| {
                    runs.fetch_add(1, SeqCst);
                });
                if i % 2 == 0 {
                    let _ = timeout(Duration::from_micros(20), f).await;
                } else {
                    f.await;
                    assert!(once.is_completed());
                }
            }));
        }
        for h in callers {
            timeout(HANG, h).await.expect("once hung").unwrap();
        }
        runner.await.unwrap();
        assert_eq!(runs.load(SeqCst), 1, "round {round}");
        let _ = started;
    }
}

/// A panic while holding each kind of guard releases it; the panic
/// reaches the `JoinHandle`, and the primitives keep working.
#[goro::test(procs = 2)]
async fn panics_while_holding_guards_release_them() {
    let m = Arc::new(Mutex::new(0));
    let rw = Arc::new(RwMutex::new(0));
    let sem = Arc::new(Semaphore::new(3));
    for i in 0..20 {
        let (m2, rw2, sem2) = (m.clone(), rw.clone(), sem.clone());
        let h = goro::go(async move {
            let _a = m2.lock().await;
            let _b = rw2.clone().write_owned().await;
            let _c = sem2.acquire(2).await;
            let _d = sem2.clone().acquire_owned(1).await;
            goro::yield_now().await;
            panic!("boom {i}");
        });
        let e = h.await.unwrap_err();
        assert!(e.is_panic());
        assert!(m.try_lock().is_some());
        assert!(rw.try_write().is_some());
        assert_eq!(sem.available(), 3);
        let (m2, rw2) = (m.clone(), rw.clone());
        let h = goro::go(async move {
            let _r = rw2.read().await;
            let _g = m2.clone().lock_owned().await;
            panic!("reader boom");
        });
        assert!(h.await.unwrap_err().is_panic());
        assert!(rw.try_write().is_some());
        assert!(m.try_lock().is_some());
    }
    // And on a plain thread, through catch_unwind.
    let m2 = m.clone();
    let r = std::thread::spawn(move || {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _g = m2.lock_blocking();
            panic!("thread boom");
        }))
        .is_err()
    })
    .join()
    .unwrap();
    assert!(r);
    *m.lock().await += 1;

    // A panicking Once initialiser counts as done; a panicking OnceValue
    // initialiser makes later calls panic with Go's words.
    let once = Once::new();
    let caught = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        once.call_once(|| panic!("init")),
    ))
    .await;
    assert!(caught.is_err());
    assert!(once.is_completed());
    once.call_once(|| unreachable!()).await;
    let cell: Arc<OnceValue<u8>> = Arc::new(OnceValue::new());
    let c2 = cell.clone();
    assert!(
        goro::go(async move { *c2.get_or_init(|| panic!("init")).await })
            .await
            .unwrap_err()
            .is_panic()
    );
    let c2 = cell.clone();
    let e = goro::go(async move { *c2.get_or_init(|| 1).await })
        .await
        .unwrap_err();
    assert!(e.is_panic());
    assert!(cell.get().is_none());
}

/// `Duration::MAX` as a timeout on every wait: no overflow panic, and the
/// wait completes when the primitive is released.
#[goro::test(procs = 2)]
async fn duration_max_timeouts() {
    let m = Arc::new(Mutex::new(()));
    let rw = Arc::new(RwMutex::new(()));
    let sem = Arc::new(Semaphore::new(1));
    let wg = WaitGroup::new();
    let g = m.clone().lock_owned().await;
    let w = rw.clone().write_owned().await;
    let p = sem.clone().acquire_owned(1).await;
    wg.add(1);
    let waiter = {
        let (m, rw, sem, wg) = (m.clone(), rw.clone(), sem.clone(), wg.clone());
        goro::go(async move {
            let _g = timeout(Duration::MAX, m.lock()).await.unwrap();
            let _r = timeout(Duration::MAX, rw.read()).await.unwrap();
            let _p = timeout(Duration::MAX, sem.acquire(1)).await.unwrap();
            timeout(Duration::MAX, wg.wait()).await.unwrap();
        })
    };
    sleep(Duration::from_millis(2)).await;
    drop((g, w, p));
    wg.done();
    timeout(HANG, waiter).await.expect("hung").unwrap();
    // A semaphore request bigger than its size never resolves, and a
    // `Duration::MAX` timeout on it must neither panic nor resolve.
    let big = sem.acquire(2);
    assert!(timeout(Duration::from_millis(1), big).await.is_err());
    assert!(!poll_once_and_drop(timeout(Duration::MAX, sem.acquire(2))));
    assert_eq!(sem.available(), 1);
}

/// 10^5 goroutines wait on one primitive each in turn: a mutex handed
/// along the whole queue, a semaphore, a WaitGroup, a Cond broadcast.
#[goro::test(procs = 2)]
async fn hundred_thousand_waiters() {
    const N: usize = 100_000;
    // Mutex: all queue behind a held lock, then each takes it once.
    let m = Arc::new(Mutex::new(0usize));
    let g = m.lock().await;
    let hs: Vec<_> = (0..N)
        .map(|_| {
            let m = m.clone();
            goro::go(async move {
                *m.lock().await += 1;
            })
        })
        .collect();
    goro::yield_now().await;
    drop(g);
    timeout(HANG, async {
        for h in hs {
            h.await.unwrap();
        }
    })
    .await
    .expect("mutex queue hung");
    assert_eq!(*m.try_lock().unwrap(), N);

    // Semaphore of 1: the same, with permits.
    let sem = Arc::new(Semaphore::new(1));
    let done = Arc::new(AtomicUsize::new(0));
    let p = sem.acquire(1).await;
    let hs: Vec<_> = (0..N)
        .map(|_| {
            let (sem, done) = (sem.clone(), done.clone());
            goro::go(async move {
                let _p = sem.acquire_owned(1).await;
                done.fetch_add(1, SeqCst);
            })
        })
        .collect();
    goro::yield_now().await;
    drop(p);
    timeout(HANG, async {
        for h in hs {
            h.await.unwrap();
        }
    })
    .await
    .expect("semaphore queue hung");
    assert_eq!(done.load(SeqCst), N);
    assert_eq!(sem.available(), 1);

    // WaitGroup: N waiters released by one done.
    let wg = WaitGroup::new();
    wg.add(1);
    let released = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..N)
        .map(|_| {
            let (wg, released) = (wg.clone(), released.clone());
            goro::go(async move {
                wg.wait().await;
                released.fetch_add(1, SeqCst);
            })
        })
        .collect();
    goro::yield_now().await;
    wg.done();
    timeout(HANG, async {
        for h in hs {
            h.await.unwrap();
        }
    })
    .await
    .expect("waitgroup hung");
    assert_eq!(released.load(SeqCst), N);

    // Cond: N waiters, one broadcast once all are registered.
    let state = Arc::new((Mutex::new(false), Cond::new()));
    let registered = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..N)
        .map(|_| {
            let (state, registered) = (state.clone(), registered.clone());
            goro::go(async move {
                let (m, c) = &*state;
                let mut g = m.lock().await;
                registered.fetch_add(1, SeqCst);
                while !*g {
                    g = c.wait(g).await;
                }
            })
        })
        .collect();
    timeout(HANG, async {
        while registered.load(SeqCst) < N {
            sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("waiters did not register");
    *state.0.lock().await = true;
    state.1.broadcast();
    timeout(HANG, async {
        for h in hs {
            h.await.unwrap();
        }
    })
    .await
    .expect("cond broadcast lost waiters");
}

/// Threads and goroutines on one semaphore: `acquire_blocking` from plain
/// threads while goroutines acquire with cancellation; exact permit count.
#[goro::test(procs = 2)]
async fn plain_threads_and_cancelled_goroutines() {
    let rounds = 300 * scale();
    let sem = Arc::new(Semaphore::new(2));
    let rw = Arc::new(RwMutex::new(0usize));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let (sem, rw) = (sem.clone(), rw.clone());
            std::thread::spawn(move || {
                for i in 0..rounds {
                    let _p = sem.acquire_blocking(1 + i % 2);
                    *rw.write_blocking() += 1;
                    let _ = *rw.read_blocking();
                }
            })
        })
        .collect();
    let hs: Vec<_> = (0..8)
        .map(|g| {
            let (sem, rw) = (sem.clone(), rw.clone());
            goro::go(async move {
                let mut rng = Rng::new(500 + g);
                let mut writes = 0;
                for _ in 0..rounds {
                    let d = Duration::from_micros(rng.below(200));
                    if let Ok(_p) = timeout(d, sem.acquire(1)).await {
                        if let Ok(mut w) = timeout(d, rw.write()).await {
                            *w += 1;
                            writes += 1;
                        }
                    }
                }
                writes
            })
        })
        .collect();
    let mut writes = 0;
    for h in hs {
        writes += timeout(HANG, h).await.expect("hung").unwrap();
    }
    for t in threads {
        goro::spawn_blocking(move || t.join().unwrap())
            .await
            .unwrap();
    }
    assert_eq!(sem.available(), 2);
    assert_eq!(*rw.try_read().expect("ends free"), writes + 3 * rounds);
}

/// `WaitGroup::go` outside a runtime panics, and leaves the counter as it
/// was (a later `wait` does not hang).
#[test]
fn waitgroup_go_outside_a_runtime_leaves_the_counter() {
    let wg = WaitGroup::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wg.go(async {});
    }));
    assert!(r.is_err());
    let (tx, rx) = std::sync::mpsc::channel();
    let wg2 = wg.clone();
    std::thread::spawn(move || {
        wg2.wait_blocking();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("wait hung: the failed go left the counter at 1");
}
