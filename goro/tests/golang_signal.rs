//! Go's `os/signal` tests, ported to `goro::signal`, and goro's own
//! (SIGQUIT override, the deadlock detector and signal subscriptions).
//!
//! Ported from src/os/signal/signal_test.go of the Go distribution:
//!
//! Copyright 2009 The Go Authors. All rights reserved.
//! Use of this source code is governed by a BSD-style
//! license that can be found in the LICENSE file.
//!
//! Not ported: TestDetectNohup and TestNohup (goro does not look at the
//! dispositions a process inherits: `ignored` only reports `ignore`),
//! and the tests of `NotifyContext` (no such function).
//!
//! The tests of one binary share a process, and signals are per process:
//! each test holds `SERIAL` for its whole run.
#![cfg(all(unix, feature = "signal"))]
#![cfg(unix)]

use std::{
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use goro::{
    chan::Receiver,
    signal::{self, Signal},
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn rt() -> goro::Runtime {
    goro::Runtime::builder().procs(2).build().unwrap()
}

/// `syscall.Kill(syscall.Getpid(), sig)`.
fn kill(sig: Signal) {
    // SAFETY: plain syscalls.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig.as_raw()) }, 0);
}

/// Go waits one second; a loaded CI machine gets more (this only catches
/// a signal that never comes).
const WAIT: Duration = Duration::from_secs(5);
/// How long to watch for a signal that must not come (Go: 100 ms).
const QUIET: Duration = Duration::from_millis(100);

async fn wait_sig(c: &Receiver<Signal>, sig: Signal) {
    goro::select! {
        recv(c) -> s => assert_eq!(s, Some(sig), "signal was {s:?}, want {sig:?}"),
        recv(goro::time::after(WAIT)) -> _ => panic!("timeout waiting for {sig:?}"),
    }
}

/// No signal comes on `c`. (A channel from `notify` is closed when its
/// subscription ends, so `None` is "no signal".)
async fn no_sig(c: &Receiver<Signal>) {
    goro::select! {
        recv(c) -> s => {
            assert_eq!(s, None, "unexpected signal {s:?}");
            // Closed: still give a stray signal Go's 100 ms to show up.
            goro::time::sleep(QUIET).await;
        }
        recv(goro::time::after(QUIET)) -> _ => {}
    }
}

// Test that basic signal handling works.
#[test]
fn test_signal() {
    let _g = serial();
    rt().block_on(async {
        // Ask for SIGHUP
        let c = signal::notify(&[Signal::SIGHUP]);

        // Send this process a SIGHUP
        kill(Signal::SIGHUP);
        wait_sig(&c, Signal::SIGHUP).await;

        // Ask for everything we can get.
        let c1 = signal::notify(&[]);

        // Send this process a SIGWINCH
        kill(Signal::SIGWINCH);
        wait_sig(&c1, Signal::SIGWINCH).await;

        // Send two more SIGHUPs, to make sure that they get delivered on
        // c1 and that not reading from c does not block everything.
        kill(Signal::SIGHUP);
        wait_sig(&c1, Signal::SIGHUP).await;
        kill(Signal::SIGHUP);
        wait_sig(&c1, Signal::SIGHUP).await;

        // The first SIGHUP should be waiting for us on c.
        kill(Signal::SIGHUP);
        wait_sig(&c1, Signal::SIGHUP).await;
        wait_sig(&c, Signal::SIGHUP).await;
        signal::stop(&c1);
        signal::stop(&c);
    });
}

#[test]
fn test_stress() {
    let _g = serial();
    rt().block_on(async {
        let dur = Duration::from_millis(100);
        let (done_tx, done) = goro::chan::<()>(0);
        let (finished_tx, finished) = goro::chan::<usize>(0);
        let (done2, finished2) = (done.clone(), finished_tx.clone());
        // goro: subscribed before the sender starts (Go subscribes in the
        // goroutine): a SIGUSR1 that finds no goro handler installed yet
        // would end the process (the system's default, not Go's).
        let sig = signal::notify(&[Signal::SIGUSR1]);
        goro::go(async move {
            let mut got = 0;
            loop {
                goro::select! {
                    recv(sig) -> _ => got += 1,
                    recv(done2) -> _ => break,
                }
            }
            signal::stop(&sig);
            finished2.send(got).await.unwrap();
        });
        goro::go(async move {
            let mut sent = 0;
            loop {
                goro::select! {
                    recv(done) -> _ => break,
                    default => {
                        kill(Signal::SIGUSR1);
                        sent += 1;
                        goro::yield_now().await;
                    }
                }
            }
            finished_tx.send(sent).await.unwrap();
        });
        goro::time::sleep(dur).await;
        drop(done_tx); // close(done)
        let a = finished.recv().await.unwrap();
        let b = finished.recv().await.unwrap();
        // Coalesced and dropped signals are allowed; none at all is not.
        assert!(a > 0 && b > 0, "received/sent: {a}, {b}");
        goro::time::sleep(Duration::from_millis(10)).await;
    });
}

fn test_cancel(ignore: bool) {
    rt().block_on(async {
        // Send SIGWINCH. By default this signal should be ignored.
        kill(Signal::SIGWINCH);
        goro::time::sleep(Duration::from_millis(100)).await;

        // Ask to be notified on c1 when a SIGWINCH is received.
        let c1 = signal::notify(&[Signal::SIGWINCH]);
        // Ask to be notified on c2 when a SIGHUP is received.
        let c2 = signal::notify(&[Signal::SIGHUP]);

        // Send this process a SIGWINCH and wait for notification on c1.
        kill(Signal::SIGWINCH);
        wait_sig(&c1, Signal::SIGWINCH).await;

        // Send this process a SIGHUP and wait for notification on c2.
        kill(Signal::SIGHUP);
        wait_sig(&c2, Signal::SIGHUP).await;

        // Ignore, or reset the signal handlers for, SIGWINCH and SIGHUP.
        if ignore {
            signal::ignore(&[Signal::SIGWINCH, Signal::SIGHUP]);
        } else {
            signal::reset(&[Signal::SIGWINCH, Signal::SIGHUP]);
        }

        // At this point we do not expect any further signals on c1.
        // However, the initial SIGWINCH may have been delivered after
        // notify; read any possible signal from the channel now.
        let _ = c1.try_recv();

        // Send this process a SIGWINCH. It should be ignored.
        kill(Signal::SIGWINCH);

        // If ignoring, Send this process a SIGHUP. It should be ignored.
        if ignore {
            kill(Signal::SIGHUP);
        }

        no_sig(&c1).await;
        no_sig(&c2).await;

        // goro: the ignored SIGHUP must have been handled before `reset`
        // makes a SIGHUP fatal again. A subscribed signal sent after it is
        // dispatched with it or later; a second one after that one is
        // dispatched only once that batch is done.
        let sentinel = signal::notify(&[Signal::SIGUSR2]);
        for _ in 0..2 {
            kill(Signal::SIGUSR2);
            wait_sig(&sentinel, Signal::SIGUSR2).await;
        }
        signal::stop(&sentinel);

        // Reset the signal handlers for all signals.
        signal::reset(&[]);
    });
}

// Test that Reset cancels registration for listed signals on all channels.
#[test]
fn test_reset() {
    let _g = serial();
    test_cancel(false);
}

// Test that Ignore cancels registration for listed signals on all channels.
#[test]
fn test_ignore() {
    let _g = serial();
    test_cancel(true);
}

// Test that Ignored correctly detects changes to the ignored status of a
// signal.
#[test]
fn test_ignored() {
    let _g = serial();
    // Ask to be notified on SIGWINCH.
    let c = signal::notify(&[Signal::SIGWINCH]);

    // If we're being notified, then the signal should not be ignored.
    assert!(
        !signal::ignored(Signal::SIGWINCH),
        "expected SIGWINCH to not be ignored."
    );
    signal::stop(&c);
    signal::ignore(&[Signal::SIGWINCH]);

    // We're no longer paying attention to this signal.
    assert!(
        signal::ignored(Signal::SIGWINCH),
        "expected SIGWINCH to be ignored when explicitly ignoring it."
    );

    signal::reset(&[]);
    assert!(!signal::ignored(Signal::SIGWINCH));
}

// Test that Stop cancels the channel's registrations.
#[test]
fn test_stop() {
    let _g = serial();
    rt().block_on(async {
        for sig in [Signal::SIGWINCH, Signal::SIGHUP, Signal::SIGUSR1] {
            // Send the signal. If it's SIGWINCH, we should not see it.
            // (An uncaught SIGHUP would end the process.)
            if sig == Signal::SIGWINCH {
                kill(sig);
            }
            goro::time::sleep(Duration::from_millis(100)).await;

            // Ask for signal
            let c = signal::notify(&[sig]);

            // Send this process that signal
            kill(sig);
            wait_sig(&c, sig).await;

            signal::stop(&c);
            no_sig(&c).await;

            // Send the signal. If it's SIGWINCH, we should not see it; a
            // SIGUSR1 nobody wants is dropped (Go's default). A SIGHUP
            // would end the process.
            if sig != Signal::SIGHUP {
                kill(sig);
            }
            no_sig(&c).await;
        }
    });
}

// Test that SIGCONT works (issue 8953).
#[test]
fn test_sigcont() {
    let _g = serial();
    rt().block_on(async {
        let c = signal::notify(&[Signal::SIGCONT]);
        kill(Signal::SIGCONT);
        wait_sig(&c, Signal::SIGCONT).await;
        signal::stop(&c);
    });
}

const ATOMIC_STOP: &str = "GORO_TEST_ATOMIC_STOP";

// Test race between stopping and receiving a signal (issue 14571).
#[test]
fn test_atomic_stop() {
    if std::env::var_os(ATOMIC_STOP).is_some() {
        atomic_stop_test_program();
        return;
    }
    let _g = serial();
    use std::os::unix::process::ExitStatusExt;
    const EXECS: usize = 10;
    let exe = std::env::current_exe().unwrap();
    for i in 0..EXECS {
        let out = std::process::Command::new(&exe)
            .args([
                "test_atomic_stop",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ATOMIC_STOP, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let lost = stdout.contains("lost signal");
        assert!(!lost, "iteration {i}: lost signal: {stdout}");
        // The program should either die due to SIGINT, or exit with
        // success without printing "lost signal".
        if !out.status.success() {
            assert_eq!(
                out.status.signal(),
                Some(libc::SIGINT),
                "iteration {i}: got exit status {:?}; expected SIGINT\n{stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Run in a subprocess by `test_atomic_stop`. It tries to trigger a signal
/// delivery race. This function should either catch a signal or die from
/// it.
fn atomic_stop_test_program() {
    const TRIES: usize = 10;
    let mut printed = false;
    rt().block_on(async {
        for i in 0..TRIES {
            let cs = signal::notify(&[Signal::SIGINT]);
            let wg = goro::sync::WaitGroup::new();
            wg.add(1);
            let (wg2, cs2) = (wg.clone(), cs.clone());
            goro::go(async move {
                signal::stop(&cs2);
                wg2.done();
            });
            kill(Signal::SIGINT);
            // At this point we should either die from SIGINT or get a
            // notification on cs. If neither happens, we dropped the
            // signal. Give it a second to deliver, which is far far
            // longer than it should require.
            goro::select! {
                recv(cs) -> _ => {}
                recv(goro::time::after(Duration::from_secs(1))) -> _ => {
                    if !printed {
                        print!("lost signal on tries:");
                        printed = true;
                    }
                    print!(" {i}");
                }
            }
            wg.wait().await;
        }
    });
    if printed {
        println!();
    }
}

// goro's own tests.

/// A subscribed SIGQUIT reaches its channel instead of the goroutine dump
/// (which would end this process with status 2).
#[test]
fn subscribed_sigquit_overrides_the_dump() {
    let _g = serial();
    rt().block_on(async {
        let c = signal::notify(&[Signal::SIGQUIT]);
        kill(Signal::SIGQUIT);
        wait_sig(&c, Signal::SIGQUIT).await;
        signal::stop(&c);
    });
}

/// Several channels want one signal: each gets it; a full channel drops
/// it without holding up the others; dropping a receiver unsubscribes.
#[test]
fn every_subscriber_gets_it_and_full_channels_drop_it() {
    let _g = serial();
    rt().block_on(async {
        let a = signal::notify(&[Signal::SIGUSR2]);
        let (tx, b) = goro::chan(8);
        signal::notify_to(&tx, &[Signal::SIGUSR2]);
        signal::notify_to(&tx, &[Signal::SIGWINCH]); // adds to b's set
        let dropped = signal::notify(&[Signal::SIGUSR2]);
        drop(dropped);
        for _ in 0..3 {
            kill(Signal::SIGUSR2);
            wait_sig(&b, Signal::SIGUSR2).await;
        }
        kill(Signal::SIGWINCH);
        wait_sig(&b, Signal::SIGWINCH).await;
        no_sig(&b).await;
        // `a` was never read: it holds one, the rest were dropped.
        assert_eq!(a.len(), 1);
        assert_eq!(a.try_recv(), Ok(Signal::SIGUSR2));
        signal::stop(&a);
        signal::stop(&b);
    });
}

/// A program whose only goroutine waits for a signal is not deadlocked:
/// the signal may come from outside. (Before subscriptions counted, the
/// detector failed this test after its one-second confirmation.)
#[test]
fn waiting_for_a_signal_is_not_a_deadlock() {
    let _g = serial();
    // What `#[goro::test]` runs (deadlock reports fail the test), with the
    // lock held outside the async body.
    let rt = goro::Runtime::builder().procs(1).build().unwrap();
    goro::testing::run_test(rt, true, async {
        let c = signal::notify(&[Signal::SIGUSR2]);
        let sender = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            kill(Signal::SIGUSR2);
        });
        assert_eq!(c.recv().await, Some(Signal::SIGUSR2));
        signal::stop(&c);
        sender.join().unwrap();
    });
}
