// Copyright 2009 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

//! Ported from Go's `src/time/sleep_test.go` (Go 1.23+, synchronous timer
//! channels: `asynctimerchan=0`), the tests whose semantics map onto goro.
//!
//! Left out: `AfterFunc` (goro has no `time.AfterFunc`; see
//! `context::after_func`), negative durations (`Duration` is unsigned),
//! nil/zero `Timer` panics (no such values in Rust), the GODEBUG
//! `asynctimerchan=1` variants, benchmarks. `TestTimerGC` counts armed
//! timers through `stats().timers` instead of the GC's allocation counts.
//! Upper bounds on elapsed time are left out (no speed assertions).

use std::time::{Duration, Instant};

use goro::{
    chan::{Receiver, TryRecvError},
    time::{after, sleep, tick, Ticker, Timer},
};

fn rt() -> goro::Runtime {
    goro::Runtime::builder().procs(2).build().unwrap()
}

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

/// `select { case <-c: true; default: false }`
fn ready(c: &Receiver<Instant>) -> bool {
    c.try_recv().is_ok()
}

#[test]
fn test_ticker_stress() {
    rt().block_on(async {
        let ticker = Ticker::new(Duration::from_nanos(1));
        for _ in 0..100 {
            ticker.chan().recv().await.unwrap();
        }
        ticker.stop();
    });
}

#[test]
fn test_ticker_concurrent_stress() {
    rt().block_on(async {
        let ticker = Ticker::new(Duration::from_nanos(1));
        let wg = goro::sync::WaitGroup::new();
        for _ in 0..10 {
            let c = ticker.chan().clone();
            wg.go(async move {
                for _ in 0..100 {
                    c.recv().await.unwrap();
                }
            });
        }
        wg.wait().await;
        ticker.stop();
    });
}

#[test]
fn test_after() {
    rt().block_on(async {
        let delay = 100 * MS;
        let start = Instant::now();
        let end = after(delay).recv().await.unwrap();
        assert!(
            start.elapsed() >= delay,
            "After({delay:?}) slept too little"
        );
        assert!(end >= start + delay, "After({delay:?}) value too early");
    });
}

#[test]
fn test_after_tick() {
    rt().block_on(async {
        const COUNT: u32 = 10;
        let delta = 10 * MS;
        let t0 = Instant::now();
        for _ in 0..COUNT {
            after(delta).recv().await.unwrap();
        }
        let target = delta * COUNT;
        assert!(t0.elapsed() >= target * 9 / 10, "{COUNT} ticks too fast");
    });
}

#[test]
fn test_after_stop() {
    rt().block_on(async {
        let t0 = Timer::new(50 * MS);
        let c2 = after(100 * MS);
        assert!(t0.stop(), "failed to stop event 0");
        c2.recv().await.unwrap();
        assert!(!ready(t0.chan()), "event 0 was not stopped");
        assert!(!t0.stop(), "Stop returned true twice");
    });
}

const SLOTS: [u32; 13] = [5, 3, 6, 6, 6, 1, 1, 2, 7, 9, 4, 8, 0];

async fn test_after_queuing1(delta: Duration) -> Result<(), String> {
    let (tx, result) = goro::chan::<(u32, Instant)>(SLOTS.len());
    let t0 = Instant::now();
    for slot in SLOTS {
        let ac = after(delta * slot);
        let tx = tx.clone();
        goro::go(async move {
            tx.send((slot, ac.recv().await.unwrap())).await.unwrap();
        });
    }
    let mut order = Vec::new();
    let mut times = Vec::new();
    for _ in SLOTS {
        let (slot, t) = result.recv().await.unwrap();
        order.push(slot);
        times.push(t);
    }
    if order.windows(2).any(|w| w[1] < w[0]) {
        return Err(format!("After calls returned out of order: {order:?}"));
    }
    for (slot, t) in order.iter().zip(times) {
        let target = delta * *slot;
        if t.duration_since(t0) + delta / 2 < target {
            return Err(format!("After({target:?}) arrived too early"));
        }
    }
    Ok(())
}

#[test]
fn test_after_queuing() {
    rt().block_on(async {
        // Go retries with larger deltas: timers on a loaded machine may be
        // woken late enough to reorder goroutines.
        let mut err = Ok(());
        for i in 0..5 {
            let delta = MS * (20 + i * 50);
            err = test_after_queuing1(delta).await;
            if err.is_ok() {
                break;
            }
        }
        err.unwrap();
    });
}

#[test]
fn test_sleep_zero_deadlock() {
    goro::Runtime::builder()
        .procs(4)
        .build()
        .unwrap()
        .block_on(async {
            let (tx, c) = goro::chan::<bool>(0);
            goro::go(async move {
                for _ in 0..100 {
                    goro::yield_now().await;
                }
                tx.send(true).await.unwrap();
            });
            for _ in 0..100 {
                sleep(Duration::ZERO).await;
                let (t, r) = goro::chan::<bool>(1);
                t.send(true).await.unwrap();
                r.recv().await.unwrap();
            }
            c.recv().await.unwrap();
        });
}

async fn test_reset(d: Duration) -> Result<(), &'static str> {
    let t0 = Timer::new(2 * d);
    sleep(d).await;
    if !t0.reset(3 * d) {
        return Err("resetting unfired timer returned false");
    }
    sleep(2 * d).await;
    if ready(t0.chan()) {
        return Err("timer fired early");
    }
    sleep(2 * d).await;
    if !ready(t0.chan()) {
        return Err("reset timer did not fire");
    }
    if t0.reset(50 * MS) {
        return Err("resetting expired timer returned true");
    }
    Ok(())
}

#[test]
fn test_reset_() {
    rt().block_on(async {
        let mut d = MS;
        loop {
            match test_reset(d).await {
                Ok(()) => break,
                Err(e) => {
                    d *= 2;
                    assert!(d <= 10 * 1000 * MS, "{e}");
                }
            }
        }
    });
}

#[test]
fn test_overflow_sleep() {
    rt().block_on(async {
        let big = goro::go(async {
            sleep(Duration::MAX).await;
            panic!("big sleep returned");
        });
        goro::select! {
            recv(after(Duration::MAX)) -> _ => panic!("big timeout fired"),
            recv(after(25 * MS)) -> _ => {}
        }
        big.abort();
        assert!(big.await.unwrap_err().is_cancelled());
    });
}

/// Zero-duration timers are not missed (Go issue 44868).
#[test]
fn test_zero_timer() {
    for _ in 0..10_000 {
        let ti = Timer::new(Duration::ZERO);
        assert!(ti.chan().recv_blocking().is_some());
    }
    // impl=cache: one timer, reset each time.
    let timer = Timer::new(HOUR);
    for _ in 0..10_000 {
        timer.reset(Duration::ZERO);
        assert!(timer.chan().recv_blocking().is_some());
    }
}

/// Rapidly moving a timer earlier does not drop it (Go issue 47329).
#[test]
fn test_timer_modified_earlier() {
    rt().block_on(async {
        for _ in 0..200 {
            let timer = Timer::new(HOUR);
            for _ in 0..10 {
                if !timer.stop() {
                    timer.chan().recv().await.unwrap();
                }
                timer.reset(Duration::ZERO);
            }
            let deadline = Timer::new(10 * 1000 * MS);
            goro::select! {
                recv(timer.chan()) -> v => assert!(v.is_some()),
                recv(deadline.chan()) -> _ => panic!("deadline expired"),
            }
        }
    });
}

/// Rapidly moving timers earlier and later does not lose sleeps (Go
/// issue 47762).
#[test]
fn test_adjust_timers() {
    rt().block_on(async {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut timers: Vec<Option<Timer>> = (0..100).map(|_| None).collect();
        let mut states = vec![0; timers.len()];
        let mut indices: Vec<usize> = (0..timers.len()).collect();
        while !indices.is_empty() {
            let ii = rnd(indices.len());
            let i = indices[ii];
            let state = states[i];
            states[i] += 1;
            match state {
                0 => timers[i] = Some(Timer::new(Duration::ZERO)),
                1 => {
                    // The timer is now idle.
                    timers[i].as_ref().unwrap().chan().recv().await.unwrap();
                }
                // Reset to various long durations, which we'll cancel.
                2 | 4 | 6 => {
                    let d = [60, 180, 120][(state - 2) / 2];
                    let t = timers[i].as_ref().unwrap();
                    assert!(!t.reset(Duration::from_secs(d)), "shouldn't be active");
                }
                // Stop (and drain) a long-duration timer.
                3 | 5 | 7 => {
                    let t = timers[i].as_ref().unwrap();
                    if !t.stop() {
                        t.chan().recv().await.unwrap();
                    }
                }
                // A short-duration timer we expect to select without blocking.
                8 => {
                    let t = timers[i].as_ref().unwrap();
                    assert!(!t.reset(Duration::ZERO), "timer.Reset returned true");
                }
                9 => {
                    timers[i].as_ref().unwrap().chan().recv().await.unwrap();
                }
                // Timer is done. Swap with tail and remove.
                _ => {
                    indices.swap_remove(ii);
                }
            }
        }
    });
}

/// Go's `TestTimerGC`, counting armed timers instead of allocations.
#[test]
fn test_timer_gc() {
    rt().block_on(async {
        let base = goro::runtime::stats().unwrap().timers;
        let run = |what: &str, f: &dyn Fn()| {
            for _ in 0..10_000 {
                f();
            }
            let n = goro::runtime::stats().unwrap().timers;
            assert_eq!(n, base, "{what} did not get collected: {n} timers armed");
        };
        run("After", &|| drop(after(HOUR)));
        run("Tick", &|| drop(tick(HOUR)));
        run("NewTimer", &|| drop(Timer::new(HOUR)));
        run("NewTicker", &|| drop(Ticker::new(HOUR)));
        run("NewTimerStop", &|| {
            Timer::new(HOUR).stop();
        });
        run("NewTickerStop", &|| Ticker::new(HOUR).stop());
    });
}

/// The operations `testTimerChan` needs, for `Timer` and `Ticker` alike.
trait TimerLike {
    fn stop(&mut self) -> bool;
    fn reset(&mut self, d: Duration) -> bool;
    fn c(&self) -> Receiver<Instant>;
    fn is_ticker(&self) -> bool;
}

impl TimerLike for Timer {
    fn stop(&mut self) -> bool {
        Timer::stop(self)
    }
    fn reset(&mut self, d: Duration) -> bool {
        Timer::reset(self, d)
    }
    fn c(&self) -> Receiver<Instant> {
        self.chan().clone()
    }
    fn is_ticker(&self) -> bool {
        false
    }
}

/// Go's `tickerTimer`: a `Ticker` whose `stop`/`reset` report whether it
/// was running.
struct TickerTimer {
    t: Ticker,
    stopped: bool,
}

impl TimerLike for TickerTimer {
    fn stop(&mut self) -> bool {
        let pending = !self.stopped;
        self.stopped = true;
        self.t.stop();
        pending
    }
    fn reset(&mut self, d: Duration) -> bool {
        let pending = !self.stopped;
        self.stopped = false;
        self.t.reset(d);
        pending
    }
    fn c(&self) -> Receiver<Instant> {
        self.t.chan().clone()
    }
    fn is_ticker(&self) -> bool {
        true
    }
}

async fn test_timer_chan(tim: &mut dyn TimerLike) {
    let c = tim.c();
    let is_ticker = tim.is_ticker();
    let sched = 10 * MS;
    let tries = 100;
    let one = Duration::from_nanos(1);
    let no_tick = |c: &Receiver<Instant>| assert!(!ready(c), "extra tick");
    async fn assert_tick(c: &Receiver<Instant>, sched: Duration, tries: usize) {
        if ready(c) {
            return;
        }
        for _ in 0..tries {
            sleep(sched).await;
            if ready(c) {
                return;
            }
        }
        panic!("missing tick");
    }
    fn not_done(done: &Receiver<bool>) {
        assert_eq!(done.try_recv(), Err(TryRecvError::Empty), "early done");
    }
    async fn wait_done(done: &Receiver<bool>, sched: Duration, tries: usize) {
        for _ in 0..tries {
            sleep(sched).await;
            // A value, or closed: `<-done` is ready.
            if done.try_recv() != Err(TryRecvError::Empty) {
                return;
            }
        }
        panic!("never got done");
    }

    // Test simple stop; timer never in heap.
    tim.stop();
    no_tick(&c);

    // Test modify of timer not in heap.
    tim.reset(10000 * 1000 * MS);
    no_tick(&c);

    // Test modify of timer in heap.
    tim.reset(one);
    sleep(sched).await;
    assert_eq!((c.len(), c.capacity()), (0, 0));
    assert_tick(&c, sched, tries).await;

    // Sleep long enough that a second tick must happen if this is a ticker.
    // Test that Reset does not lose the tick that should have happened.
    sleep(sched).await;
    tim.reset(10000 * 1000 * MS);
    no_tick(&c);

    // Test stop while timer in heap (because goroutine is blocked on <-C).
    let (done_tx, done) = goro::chan::<bool>(0);
    not_done(&done);
    let c2 = c.clone();
    goro::go(async move {
        c2.recv().await;
        done_tx.close();
    });
    sleep(sched).await;
    not_done(&done);

    // Test reset far away while timer in heap.
    tim.reset(20000 * 1000 * MS);
    sleep(sched).await;
    not_done(&done);

    // Test imminent reset while in heap.
    tim.reset(one);
    wait_done(&done, sched, tries).await;

    // If this is a ticker, another tick should have come in already
    // (they are 1ns apart). If a timer, it should have stopped.
    if is_ticker {
        assert_tick(&c, sched, tries).await;
    } else {
        no_tick(&c);
    }

    tim.stop();
    no_tick(&c);

    // Again using select and with two goroutines waiting.
    tim.reset(10000 * 1000 * MS);
    let (done_tx, done) = goro::chan::<bool>(2);
    let (stop_tx, stop) = goro::chan::<bool>(0);
    let mut dones = Vec::new();
    for _ in 0..2 {
        let (c, done_tx, stop) = (c.clone(), done_tx.clone(), stop.clone());
        let (d_tx, d) = goro::chan::<bool>(0);
        dones.push(d);
        goro::go(async move {
            goro::select! {
                recv(c) -> _ => { done_tx.send(true).await.unwrap(); }
                recv(stop) -> _ => {}
            }
            d_tx.close();
        });
    }
    sleep(sched).await;
    not_done(&done);
    tim.reset(sched / 2);
    sleep(sched).await;
    wait_done(&done, sched, tries).await;
    tim.stop();
    stop_tx.close();
    for d in &dones {
        wait_done(d, sched, tries).await;
    }
    if is_ticker {
        // An extra send might have sent done again.
        let _ = done.try_recv();
    }
    not_done(&done);

    // Test enqueueTimerChan when timer is stopped.
    let (stop_tx, stop) = goro::chan::<bool>(0);
    let (done_tx, done) = goro::chan::<bool>(2);
    for _ in 0..2 {
        let (c, done_tx, stop) = (c.clone(), done_tx.clone(), stop.clone());
        goro::go(async move {
            goro::select! {
                recv(c) -> _ => panic!("unexpected data"),
                recv(stop) -> _ => {}
            }
            done_tx.send(true).await.unwrap();
        });
    }
    sleep(sched).await;
    stop_tx.close();
    wait_done(&done, sched, tries).await;
    wait_done(&done, sched, tries).await;

    // Test that Stop and Reset block old values from being received.
    // (Proposal go.dev/issue/37196.)
    tim.reset(one);
    sleep(10 * MS).await;
    assert!(tim.stop(), "tim.Stop() = false, want true");
    no_tick(&c);

    tim.reset(HOUR);
    no_tick(&c);
    assert!(tim.reset(one), "tim.Reset() = false, want true");
    assert_tick(&c, sched, tries).await;
    sleep(10 * MS).await;
    if is_ticker {
        assert_tick(&c, sched, tries).await;
        sleep(10 * MS).await;
    } else {
        no_tick(&c);
    }
    assert_eq!(tim.reset(HOUR), is_ticker);
    no_tick(&c);
}

#[test]
fn test_chan_timer() {
    rt().block_on(async {
        let mut tim = Timer::new(10000 * 1000 * MS);
        test_timer_chan(&mut tim).await;
    });
}

#[test]
fn test_chan_ticker() {
    rt().block_on(async {
        let mut tim = TickerTimer {
            t: Ticker::new(10000 * 1000 * MS),
            stopped: false,
        };
        test_timer_chan(&mut tim).await;
    });
}

/// Receiving late from `After(10ms)` gives the time it fired, not the
/// time of the receive.
#[test]
fn test_after_times() {
    rt().block_on(async {
        let start = Instant::now();
        let c = after(10 * MS);
        sleep(100 * MS).await;
        let dt = c.recv().await.unwrap() - start;
        assert!(dt < 80 * MS, "After(10ms) time is +{dt:?}");
    });
}

#[test]
fn test_tick_times() {
    rt().block_on(async {
        let start = Instant::now();
        let c = tick(10 * MS);
        sleep(100 * MS).await;
        let dt = c.recv().await.unwrap() - start;
        assert!(dt < 80 * MS, "Tick(10ms) time is +{dt:?}");
    });
}
