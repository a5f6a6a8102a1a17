//! Timers: sleep, timeout, Timer, Ticker; inside and outside a runtime.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use goro::time::{sleep, timeout, Ticker, Timer};

fn rt() -> goro::Runtime {
    goro::Runtime::builder().procs(2).build().unwrap()
}

#[test]
fn timers_fire_in_deadline_order() {
    rt().block_on(async {
        let order = Arc::new(Mutex::new(Vec::new()));
        // Spawn in scrambled order.
        let ms = [30u64, 10, 50, 20, 40, 5, 45, 15, 35, 25];
        let hs: Vec<_> = ms
            .iter()
            .map(|&m| {
                let order = order.clone();
                goro::go(async move {
                    sleep(Duration::from_millis(m)).await;
                    order.lock().unwrap().push(m);
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        let got = order.lock().unwrap().clone();
        let mut want = ms.to_vec();
        want.sort();
        assert_eq!(got, want);
    });
}

#[test]
fn sleep_waits_at_least_its_duration() {
    rt().block_on(async {
        let t = Instant::now();
        sleep(Duration::from_millis(20)).await;
        assert!(t.elapsed() >= Duration::from_millis(20));
        // Zero and past deadlines complete at once.
        sleep(Duration::ZERO).await;
        goro::time::sleep_until(Instant::now() - Duration::from_millis(1)).await;
    });
}

#[test]
fn timeout_cancels_the_inner_future() {
    rt().block_on(async {
        struct Flag(Arc<Mutex<bool>>);
        impl Drop for Flag {
            fn drop(&mut self) {
                *self.0.lock().unwrap() = true;
            }
        }
        let dropped = Arc::new(Mutex::new(false));
        let f = Flag(dropped.clone());
        let r = timeout(Duration::from_millis(10), async move {
            let _f = f;
            sleep(Duration::from_secs(3600)).await;
            1
        })
        .await;
        assert!(r.is_err());
        assert!(*dropped.lock().unwrap());
        assert_eq!(timeout(Duration::from_secs(10), async { 2 }).await, Ok(2));
        // The long sleep was disarmed: no timers left armed.
        assert_eq!(goro::runtime::stats().unwrap().timers, 0);
    });
}

#[test]
fn timer_stop_and_reset() {
    rt().block_on(async {
        let mut t = Timer::new(Duration::from_secs(3600));
        assert!(t.stop());
        assert!(!t.stop());
        assert!(!t.reset(Duration::from_millis(5)));
        let fired = (&mut t).await;
        assert!(fired <= Instant::now());
        assert!(!t.stop(), "a fired timer reports it was not stopped");
        // A stopped timer never fires.
        let mut t = Timer::new(Duration::from_millis(1));
        t.stop();
        assert!(timeout(Duration::from_millis(20), &mut t).await.is_err());
    });
}

#[test]
fn ticker_ticks_at_its_period() {
    rt().block_on(async {
        let start = Instant::now();
        let mut t = Ticker::new(Duration::from_millis(5));
        let mut last = start;
        for _ in 0..5 {
            let at = t.tick().await;
            assert!(at > last);
            last = at;
        }
        assert!(start.elapsed() >= Duration::from_millis(25));
        t.stop();
        assert!(timeout(Duration::from_millis(20), t.tick()).await.is_err());
        t.reset(Duration::from_millis(1));
        t.tick().await;
    });
}

#[test]
fn many_timers_from_many_goroutines() {
    rt().block_on(async {
        let hs: Vec<_> = (0..2000u64)
            .map(|i| goro::go(async move { sleep(Duration::from_micros(i % 500)).await }))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
}

#[test]
fn timers_work_outside_a_runtime() {
    // On a foreign executor and on a plain thread: the global timer thread.
    let t = Instant::now();
    futures::executor::block_on(sleep(Duration::from_millis(10)));
    assert!(t.elapsed() >= Duration::from_millis(10));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let r = rt.block_on(timeout(
        Duration::from_millis(5),
        std::future::pending::<()>(),
    ));
    assert!(r.is_err());
}

#[test]
fn a_timer_set_while_all_workers_park_still_fires() {
    let rt = goro::Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        // Let the worker park with no timers, then set one from main.
        std::thread::sleep(Duration::from_millis(20));
        let h = goro::go(async { sleep(Duration::from_millis(5)).await });
        h.await.unwrap();
        // A long timer first, then a shorter one from another goroutine.
        let long = goro::go(async { sleep(Duration::from_millis(500)).await });
        std::thread::sleep(Duration::from_millis(10));
        let t = Instant::now();
        goro::go(async { sleep(Duration::from_millis(5)).await })
            .await
            .unwrap();
        assert!(
            t.elapsed() < Duration::from_millis(400),
            "the earlier timer waited for the later one"
        );
        long.abort();
    });
}

#[test]
fn after_and_tick_are_channels() {
    rt().block_on(async {
        let t = Instant::now();
        let at = goro::time::after(Duration::from_millis(10))
            .recv()
            .await
            .unwrap();
        assert!(at >= t + Duration::from_millis(10));
        assert!(t.elapsed() >= Duration::from_millis(10));

        let ticks = goro::time::tick(Duration::from_millis(3));
        let mut last = t;
        for _ in 0..4 {
            let v = ticks.recv().await.unwrap();
            assert!(v > last);
            last = v;
        }
        drop(ticks); // ticking stops with the last receiver

        // A timeout as a select arm.
        let (_tx, rx) = goro::chan::<()>(0);
        let mut timed_out = false;
        goro::select! {
            recv(rx) -> _ => {}
            recv(goro::time::after(Duration::from_millis(5))) -> _ => timed_out = true,
        }
        assert!(timed_out);
    });
    // Outside a runtime, with a blocking select.
    let (_tx, rx) = goro::chan::<()>(0);
    let timeout = goro::time::after(Duration::from_millis(5));
    let mut timed_out = false;
    goro::select_blocking! {
        recv(rx) -> _ => {}
        recv(timeout) -> _ => timed_out = true,
    }
    assert!(timed_out);
}
