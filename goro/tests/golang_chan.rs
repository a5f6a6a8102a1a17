//! Go's channel tests, ported: one module per Go file, each naming the file
//! it comes from. Goroutines are std threads (the goro runtime is not
//! merged yet). Sizes scale with `GORO_STRESS` (default 1: a few seconds).
//!
//! Each ported module carries Go's notice:
//!
//! Copyright 2009 The Go Authors. All rights reserved.
//! Use of this source code is governed by a BSD-style
//! license that can be found in the LICENSE file.

use std::{thread, time::Duration};

use goro::chan::{self, Receiver, Select, Sender, TrySendError};

fn scale() -> usize {
    std::env::var("GORO_STRESS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn go<F: FnOnce() + Send + 'static>(f: F) -> thread::JoinHandle<()> {
    thread::spawn(f)
}

/// Port of test/chan/fifo.go.
///
/// Copyright 2009 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod fifo {
    use super::*;

    const N: i32 = 10;

    #[test]
    fn asynch_fifo() {
        let (tx, rx) = goro::chan::<i32>(N as usize);
        for i in 0..N {
            tx.send_blocking(i).unwrap();
        }
        for i in 0..N {
            assert_eq!(rx.recv_blocking(), Some(i), "AsynchFifo");
        }
    }

    fn chain(ch: Receiver<i32>, val: i32, in_: Receiver<i32>, out: Sender<i32>) {
        in_.recv_blocking();
        assert_eq!(ch.recv_blocking(), Some(val), "bad chain");
        out.send_blocking(1).unwrap();
    }

    #[test]
    fn synch_fifo() {
        let (tx, rx) = goro::chan::<i32>(0);
        let (start_tx, start_rx) = goro::chan::<i32>(0);
        let mut in_ = start_rx;
        let mut hs = Vec::new();
        for i in 0..N {
            let (out_tx, out_rx) = goro::chan::<i32>(0);
            let (rx, prev) = (rx.clone(), in_);
            hs.push(go(move || chain(rx, i, prev, out_tx)));
            in_ = out_rx;
        }
        start_tx.send_blocking(0).unwrap();
        for i in 0..N {
            tx.send_blocking(i).unwrap();
        }
        in_.recv_blocking();
        for h in hs {
            h.join().unwrap();
        }
    }
}

/// Port of test/chan/sieve1.go.
///
/// Copyright 2009 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod sieve1 {
    use super::*;

    fn generate(ch: Sender<i32>) {
        let mut i = 2;
        while ch.send_blocking(i).is_ok() {
            i += 1;
        }
    }

    fn filter(in_: Receiver<i32>, out: Sender<i32>, prime: i32) {
        for i in in_.iter() {
            if i % prime != 0 && out.send_blocking(i).is_err() {
                return;
            }
        }
    }

    fn sieve(primes: Sender<i32>) {
        let (tx, mut rx) = goro::chan::<i32>(0);
        go(move || generate(tx));
        loop {
            let Some(prime) = rx.recv_blocking() else {
                return;
            };
            if primes.send_blocking(prime).is_err() {
                return; // main is done: dropping `rx` unwinds the chain
            }
            let (tx1, rx1) = goro::chan::<i32>(0);
            go(move || filter(rx, tx1, prime));
            rx = rx1;
        }
    }

    #[test]
    fn sieve1() {
        let (tx, rx) = goro::chan::<i32>(0);
        let h = go(move || sieve(tx));
        let a = [
            2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
            89, 97,
        ];
        for want in a {
            assert_eq!(rx.recv_blocking(), Some(want));
        }
        drop(rx);
        h.join().unwrap();
    }
}

/// Port of test/chan/nonblock.go.
///
/// Copyright 2009 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod nonblock {
    use super::*;

    fn sleep() {
        thread::sleep(Duration::from_millis(2));
    }

    /// Retries a non-blocking operation for a while, as Go's test loops
    /// with `sleep()` until the other goroutine is ready.
    fn eventually<R>(mut f: impl FnMut() -> Option<R>) -> R {
        for _ in 0..2000 {
            if let Some(r) = f() {
                return r;
            }
            sleep();
        }
        panic!("operation never became ready");
    }

    fn run<T: Clone + PartialEq + std::fmt::Debug + Send + 'static>(a: T, b: T) {
        let (sync_tx, sync_rx) = goro::chan::<bool>(0);
        for buffer in 0..2 {
            let (tx, rx) = goro::chan::<T>(buffer);
            assert!(rx.try_recv().is_err(), "blocked sender");

            // receiver
            let (rx2, sync2, a2) = (rx.clone(), sync_tx.clone(), a.clone());
            go(move || {
                assert_eq!(rx2.recv_blocking(), Some(a2));
                sync2.send_blocking(true).unwrap();
            });
            let mut v = Some(a.clone());
            eventually(|| match tx.try_send(v.take().unwrap()) {
                Ok(()) => Some(()),
                Err(TrySendError::Full(x)) => {
                    v = Some(x);
                    None
                }
                Err(TrySendError::Closed(_)) => panic!("closed"),
            });
            sync_rx.recv_blocking();

            // sender
            let (tx2, sync2, b2) = (tx.clone(), sync_tx.clone(), b.clone());
            go(move || {
                tx2.send_blocking(b2).unwrap();
                sync2.send_blocking(true).unwrap();
            });
            if buffer > 0 {
                sync_rx.recv_blocking();
            }
            let got = eventually(|| rx.try_recv().ok());
            assert_eq!(got, b);
            if buffer == 0 {
                sync_rx.recv_blocking();
            }
        }
    }

    #[test]
    fn nonblock() {
        run::<i32>(123, 234);
        run::<i64>(123456, 234567);
        run::<bool>(true, true);
        run::<String>("hello".into(), "hello again".into());
    }
}

/// Port of test/chan/select.go (nil channels become absent arms of a
/// dynamic `Select`).
///
/// Copyright 2009 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod select {
    use super::*;

    struct Vals {
        counter: u32,
        shift: u32,
    }

    impl Vals {
        fn get_value(&mut self) -> u32 {
            self.counter += 1;
            1 << self.shift
        }

        fn send(&mut self, mut a: Option<&Sender<u32>>, mut b: Option<&Sender<u32>>) -> i32 {
            let mut i = 0;
            loop {
                // Go evaluates every case's value, nil channel or not.
                let (va, vb) = (self.get_value(), self.get_value());
                let mut sel = Select::new();
                let ia = a.map(|a| sel.send(a, va));
                let ib = b.map(|b| sel.send(b, vb));
                match sel.try_select() {
                    None => break,
                    Some(op) if Some(op.index()) == ia => {
                        op.send(a.unwrap()).unwrap();
                        i += 1;
                        a = None;
                    }
                    Some(op) => {
                        assert_eq!(Some(op.index()), ib);
                        op.send(b.unwrap()).unwrap();
                        i += 1;
                        b = None;
                    }
                }
                self.shift += 1;
            }
            i
        }
    }

    #[test]
    fn select() {
        let mut v = Vals {
            counter: 0,
            shift: 0,
        };
        let (a, ar) = goro::chan::<u32>(1);
        let (b, br) = goro::chan::<u32>(1);
        assert_eq!(v.send(Some(&a), Some(&b)), 2);
        let (av, bv) = (ar.recv_blocking().unwrap(), br.recv_blocking().unwrap());
        assert_eq!(av | bv, 3, "bad values");
        assert_eq!(v.send(Some(&a), None), 1);
        assert_eq!(v.counter, 10);
    }
}

/// Port of test/chan/select3.go: which operations block.
///
/// Copyright 2010 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod select3 {
    use super::*;

    const ALWAYS: bool = true;
    const NEVER: bool = false;

    /// Runs `f` on a thread and checks whether it blocks (for 20 ms).
    fn test_block(signal: bool, f: impl FnOnce() + Send + 'static) {
        let (tx, rx) = goro::chan::<()>(0);
        go(move || {
            f();
            let _ = tx.send_blocking(());
        });
        thread::sleep(Duration::from_millis(20));
        match rx.try_recv() {
            Ok(()) => assert!(!signal, "did not block"),
            Err(_) => assert!(signal || rx.recv_blocking().is_some(), "blocked"),
        }
        if signal {
            // The blocked thread stays parked forever, as a goroutine would.
            drop(rx);
        }
    }

    #[test]
    fn select3() {
        // nil channel receive blocks
        test_block(ALWAYS, || {
            goro::chan::never::<i32>().recv_blocking();
        });
        // select with only nil channels blocks
        test_block(ALWAYS, || {
            let n = goro::chan::never::<i32>();
            goro::select_blocking! { recv(n) -> _ => {} }
        });
        test_block(ALWAYS, || {
            let (n1, n2) = (goro::chan::never::<i32>(), goro::chan::never::<i32>());
            goro::select_blocking! {
                recv(n1) -> _ => {}
                recv(n2) -> _ => {}
            }
        });
        // empty select blocks
        test_block(ALWAYS, || goro::select_blocking! {});
        // unbuffered: receive and send block
        let (tx, rx) = goro::chan::<i32>(0);
        let rx1 = rx.clone();
        test_block(ALWAYS, move || {
            rx1.recv_blocking();
        });
        let (stx, srx) = goro::chan::<i32>(0);
        let tx1 = stx.clone();
        test_block(ALWAYS, move || {
            let _ = tx1.send_blocking(7);
        });
        // buffered: send does not block until full, receive does not block
        let (btx, brx) = goro::chan::<i32>(1);
        let b1 = btx.clone();
        test_block(NEVER, move || b1.send_blocking(7).unwrap());
        let b1 = brx.clone();
        test_block(NEVER, move || assert_eq!(b1.recv_blocking(), Some(7)));
        // closed: receive and select receive do not block
        let (ctx, crx) = goro::chan::<i32>(0);
        ctx.close();
        let c1 = crx.clone();
        test_block(NEVER, move || assert_eq!(c1.recv_blocking(), None));
        let c1 = crx.clone();
        test_block(NEVER, move || {
            let n = goro::chan::never::<i32>();
            goro::select_blocking! {
                recv(c1) -> v => assert_eq!(v, None),
                recv(n) -> _ => unreachable!(),
            }
        });
        // select with default never blocks
        let r1 = rx.clone();
        test_block(NEVER, move || {
            goro::select_blocking! {
                recv(r1) -> _ => panic!("unbuffered receive without sender"),
                default => {}
            }
        });
        // send on closed channel does not block
        let c2 = ctx.clone();
        test_block(NEVER, move || assert!(c2.send_blocking(1).is_err()));
        let c2 = ctx.clone();
        test_block(NEVER, move || {
            goro::select_blocking! { send(c2, 1) -> r => assert!(r.is_err()) }
        });
        drop((tx, rx, stx, srx));
    }
}

/// Port of test/chan/doubleselect.go: two cases of one select must never
/// both run.
///
/// Copyright 2009 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod doubleselect {
    use super::*;

    fn sender(
        n: usize,
        c1: Sender<usize>,
        c2: Sender<usize>,
        c3: Sender<usize>,
        c4: Sender<usize>,
    ) {
        for i in 0..n {
            goro::select_blocking! {
                send(c1, i) => {}
                send(c2, i) => {}
                send(c3, i) => {}
                send(c4, i) => {}
            }
        }
    }

    fn mux(out: Sender<usize>, in_: Receiver<usize>) {
        for v in in_.iter() {
            out.send_blocking(v).unwrap();
        }
    }

    #[test]
    fn doubleselect() {
        let n = 10_000 * scale();
        let (c1, r1) = goro::chan::<usize>(0);
        let (c2, r2) = goro::chan::<usize>(0);
        let (c3, r3) = goro::chan::<usize>(0);
        let (c4, r4) = goro::chan::<usize>(0);
        let (cmux, rmux) = goro::chan::<usize>(0);
        go(move || sender(n, c1, c2, c3, c4));
        for r in [r1, r2, r3, r4] {
            let cmux = cmux.clone();
            go(move || mux(cmux, r));
        }
        drop(cmux);
        let mut seen = vec![false; n];
        for v in rmux.iter() {
            assert!(!seen[v], "got duplicate value: {v}");
            seen[v] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}

/// Port of test/chan/zerosize.go: channels of zero-sized values.
///
/// Copyright 2012 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod zerosize {
    #[test]
    fn zerosize() {
        let (_a, ra) = goro::chan::<[u8; 0]>(0);
        let (_b, rb) = goro::chan::<()>(0);
        let (tc, rc) = goro::chan::<[u8; 0]>(2);
        tc.try_send([]).unwrap();
        tc.try_send([]).unwrap();
        assert_eq!(rc.len(), 2);
        assert_eq!(rc.recv_blocking(), Some([]));
        assert_eq!(ra.capacity() + rb.capacity(), 0);
    }
}

/// Ports of src/runtime/chan_test.go.
///
/// Copyright 2009 The Go Authors. All rights reserved.
/// Use of this source code is governed by a BSD-style
/// license that can be found in the LICENSE file.
mod runtime_chan_test {
    use super::*;
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    /// TestChan
    #[test]
    fn test_chan() {
        let n = 20 * scale();
        for chan_cap in 0..n {
            // Ensure that receive from empty chan blocks.
            {
                let (tx, rx) = goro::chan::<i32>(chan_cap);
                let recv1 = Arc::new(AtomicUsize::new(0));
                let recv2 = Arc::new(AtomicUsize::new(0));
                let (r1, rx1) = (recv1.clone(), rx.clone());
                let h1 = go(move || {
                    rx1.recv_blocking();
                    r1.store(1, Ordering::SeqCst);
                });
                let (r2, rx2) = (recv2.clone(), rx.clone());
                let h2 = go(move || {
                    rx2.recv_blocking();
                    r2.store(1, Ordering::SeqCst);
                });
                thread::sleep(Duration::from_millis(1));
                assert_eq!(
                    recv1.load(Ordering::SeqCst) + recv2.load(Ordering::SeqCst),
                    0,
                    "chan[{chan_cap}]: receive from empty chan"
                );
                // Ensure that non-blocking receive does not block.
                goro::select_blocking! {
                    recv(rx) -> _ => panic!("chan[{chan_cap}]: receive from empty chan"),
                    default => {}
                }
                tx.send_blocking(0).unwrap();
                tx.send_blocking(0).unwrap();
                h1.join().unwrap();
                h2.join().unwrap();
            }
            // Ensure that send to full chan blocks.
            {
                let (tx, rx) = goro::chan::<i32>(chan_cap);
                for i in 0..chan_cap {
                    tx.send_blocking(i as i32).unwrap();
                }
                let sent = Arc::new(AtomicUsize::new(0));
                let (s, tx1) = (sent.clone(), tx.clone());
                let h = go(move || {
                    tx1.send_blocking(0).unwrap();
                    s.store(1, Ordering::SeqCst);
                });
                thread::sleep(Duration::from_millis(1));
                assert_eq!(
                    sent.load(Ordering::SeqCst),
                    0,
                    "chan[{chan_cap}]: send to full chan"
                );
                goro::select_blocking! {
                    send(tx, 0) => panic!("chan[{chan_cap}]: send to full chan"),
                    default => {}
                }
                rx.recv_blocking();
                h.join().unwrap();
            }
            // Ensure that we receive 0 from closed chan.
            {
                let (tx, rx) = goro::chan::<i32>(chan_cap);
                for i in 0..chan_cap {
                    tx.send_blocking(i as i32).unwrap();
                }
                tx.close();
                for i in 0..chan_cap {
                    assert_eq!(rx.recv_blocking(), Some(i as i32));
                }
                assert_eq!(rx.recv_blocking(), None);
                assert_eq!(rx.recv_blocking(), None);
            }
            // Ensure that close unblocks receive.
            {
                let (tx, rx) = goro::chan::<i32>(chan_cap);
                let (dtx, drx) = goro::chan::<bool>(0);
                let h = go(move || {
                    let v = rx.recv_blocking();
                    dtx.send_blocking(v.is_none()).unwrap();
                });
                thread::sleep(Duration::from_millis(1));
                tx.close();
                assert_eq!(
                    drx.recv_blocking(),
                    Some(true),
                    "chan[{chan_cap}]: received non-zero from closed chan"
                );
                h.join().unwrap();
            }
            // Send 100 integers, ensure that we receive them non-corrupted in FIFO order.
            {
                let (tx, rx) = goro::chan::<i32>(chan_cap);
                let h = go(move || {
                    for i in 0..100 {
                        tx.send_blocking(i).unwrap();
                    }
                });
                for i in 0..100 {
                    assert_eq!(rx.recv_blocking(), Some(i), "chan[{chan_cap}]");
                }
                h.join().unwrap();
                // Same, but using recv2.
                let (tx, rx) = goro::chan::<i32>(chan_cap);
                let h = go(move || {
                    for i in 0..100 {
                        tx.send_blocking(i).unwrap();
                    }
                });
                for i in 0..100 {
                    let v = rx.recv_blocking();
                    assert_eq!(v, Some(i), "chan[{chan_cap}]");
                }
                h.join().unwrap();
            }
            // Send 1000 integers in 4 goroutines, ensure that we receive what we send.
            {
                const P: usize = 4;
                const L: usize = 1000;
                let (tx, rx) = goro::chan::<usize>(chan_cap);
                let mut hs = Vec::new();
                for _ in 0..P {
                    let tx = tx.clone();
                    hs.push(go(move || {
                        for i in 0..L {
                            tx.send_blocking(i).unwrap();
                        }
                    }));
                }
                let (dtx, drx) = goro::chan::<Vec<usize>>(0);
                for _ in 0..P {
                    let (rx, dtx) = (rx.clone(), dtx.clone());
                    go(move || {
                        let mut recv = vec![0; L];
                        for _ in 0..L {
                            recv[rx.recv_blocking().unwrap()] += 1;
                        }
                        dtx.send_blocking(recv).unwrap();
                    });
                }
                let mut recv = vec![0; L];
                for _ in 0..P {
                    for (k, v) in drx.recv_blocking().unwrap().into_iter().enumerate() {
                        recv[k] += v;
                    }
                }
                assert!(
                    recv.iter().all(|&c| c == P),
                    "chan[{chan_cap}]: received wrong counts"
                );
                for h in hs {
                    h.join().unwrap();
                }
            }
            // Test len/cap.
            {
                let (tx, rx) = goro::chan::<i32>(chan_cap);
                assert_eq!((rx.len(), rx.capacity()), (0, chan_cap));
                for i in 0..chan_cap {
                    tx.send_blocking(i as i32).unwrap();
                }
                assert_eq!((tx.len(), tx.capacity()), (chan_cap, chan_cap));
            }
        }
    }

    /// TestNonblockRecvRace: a select with default on a ready channel must
    /// not take the default.
    #[test]
    fn nonblock_recv_race() {
        let n = 2000 * scale();
        for _ in 0..n {
            let (tx, rx) = goro::chan::<i32>(1);
            tx.send_blocking(1).unwrap();
            let rx2 = rx.clone();
            let h = go(move || {
                goro::select_blocking! {
                    recv(rx2) => {}
                    default => panic!("chan is not ready"),
                }
            });
            tx.close();
            rx.recv_blocking();
            h.join().unwrap();
        }
    }

    /// TestSelectFairness
    #[test]
    fn select_fairness() {
        let trials = 10_000 * scale();
        let (c1, r1) = goro::chan::<u8>(trials + 1);
        let (c2, r2) = goro::chan::<u8>(trials + 1);
        for _ in 0..trials + 1 {
            c1.send_blocking(1).unwrap();
            c2.send_blocking(2).unwrap();
        }
        let (_c3, r3) = goro::chan::<u8>(0);
        let (_c4, r4) = goro::chan::<u8>(0);
        let (out, rout) = goro::chan::<u8>(0);
        let (done, rdone) = goro::chan::<u8>(0);
        let h = go(move || loop {
            let b = goro::select_blocking! {
                recv(r3) -> b => b,
                recv(r4) -> b => b,
                recv(r1) -> b => b,
                recv(r2) -> b => b,
            };
            goro::select_blocking! {
                send(out, b.unwrap()) => {}
                recv(rdone) => return,
            }
        });
        let (mut cnt1, mut cnt2) = (0, 0);
        for _ in 0..trials {
            match rout.recv_blocking() {
                Some(1) => cnt1 += 1,
                Some(2) => cnt2 += 1,
                b => panic!("unexpected value {b:?} on channel"),
            }
        }
        // If the select in the goroutine is fair, cnt1 and cnt2 should be
        // about the same value. With 10,000 trials, the expected margin of
        // error at a confidence level of six nines is 4.891676 / (2 *
        // Sqrt(10000)).
        let r = cnt1 as f64 / trials as f64;
        let e = (r - 0.5).abs();
        if e > 4.891676 / (2.0 * (trials as f64).sqrt()) {
            panic!("unfair select: in {trials} trials, results were {cnt1}, {cnt2}");
        }
        drop(done);
        h.join().unwrap();
    }

    /// TestSelectStress
    #[test]
    fn select_stress() {
        let n = 2_000 * scale();
        let (tx0, rx0) = goro::chan::<i32>(0);
        let (tx1, rx1) = goro::chan::<i32>(0);
        let (tx2, rx2) = goro::chan::<i32>(2);
        let (tx3, rx3) = goro::chan::<i32>(3);
        let txs = [tx0, tx1, tx2, tx3];
        let rxs = [rx0, rx1, rx2, rx3];
        let mut hs = Vec::new();
        // There are 4 goroutines that send N values on each of the chans,
        // + 4 goroutines that receive N values on each of the chans,
        // + 1 goroutine that sends N values on each of the chans in a single select,
        // + 1 goroutine that receives N values on each of the chans in a single select.
        for k in 0..4 {
            let tx = txs[k].clone();
            hs.push(go(move || {
                for _ in 0..n {
                    tx.send_blocking(0).unwrap();
                }
            }));
            let rx = rxs[k].clone();
            hs.push(go(move || {
                for _ in 0..n {
                    rx.recv_blocking().unwrap();
                }
            }));
        }
        {
            let txs = txs.clone();
            hs.push(go(move || {
                let mut left = [n; 4];
                while left.iter().any(|&l| l > 0) {
                    let mut sel = Select::new();
                    let mut idx = Vec::new();
                    for k in 0..4 {
                        if left[k] > 0 {
                            sel.send(&txs[k], 3);
                            idx.push(k);
                        }
                    }
                    let op = sel.select_blocking();
                    let k = idx[op.index()];
                    op.send(&txs[k]).unwrap();
                    left[k] -= 1;
                }
            }));
        }
        {
            let rxs = rxs.clone();
            hs.push(go(move || {
                let mut left = [n; 4];
                while left.iter().any(|&l| l > 0) {
                    let mut sel = Select::new();
                    let mut idx = Vec::new();
                    for k in 0..4 {
                        if left[k] > 0 {
                            sel.recv(&rxs[k]);
                            idx.push(k);
                        }
                    }
                    let op = sel.select_blocking();
                    let k = idx[op.index()];
                    op.recv(&rxs[k]).unwrap();
                    left[k] -= 1;
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
    }

    /// TestChanSendInterface
    #[test]
    fn chan_send_interface() {
        struct Mt;
        let m = Arc::new(Mt);
        let (tx, _rx) = goro::chan::<Box<dyn std::any::Any + Send + Sync>>(1);
        tx.send_blocking(Box::new(m.clone())).unwrap();
        goro::select_blocking! {
            send(tx, Box::new(m.clone())) => {}
            default => {}
        }
        goro::select_blocking! {
            send(tx, Box::new(m.clone())) => {}
            send(tx, Box::new(Mt)) => {}
            default => {}
        }
        assert_eq!(Arc::strong_count(&m), 2, "unsent values are dropped");
    }

    /// TestMultiConsumer
    #[test]
    fn multi_consumer() {
        const NWORK: usize = 23;
        let niter = 27_182 * scale();
        let pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
        let (q, qr) = goro::chan::<usize>(NWORK * 3);
        let (r, rr) = goro::chan::<usize>(NWORK * 3);
        let mut hs = Vec::new();
        for w in 0..NWORK {
            let (qr, r) = (qr.clone(), r.clone());
            hs.push(go(move || {
                for v in qr.iter() {
                    // mess with the fifo-ish nature of range
                    if pn[w % pn.len()] == v {
                        thread::yield_now();
                    }
                    r.send_blocking(v).unwrap();
                }
            }));
        }
        drop((qr, r));
        let (s_tx, s_rx) = goro::chan::<usize>(1);
        let feeder = go(move || {
            let mut s = 0;
            for i in 0..niter {
                let v = pn[i % pn.len()];
                s += v;
                q.send_blocking(v).unwrap();
            }
            drop(q);
            s_tx.send_blocking(s).unwrap();
        });
        let (mut n, mut s) = (0, 0);
        for v in rr.iter() {
            n += 1;
            s += v;
        }
        feeder.join().unwrap();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(n, niter, "wrong count");
        assert_eq!(s, s_rx.recv_blocking().unwrap(), "wrong sum");
    }

    /// TestSelectDuplicateChannel: this test makes sure we can queue a G
    /// on the same channel multiple times.
    #[test]
    fn select_duplicate_channel() {
        let (c, cr) = goro::chan::<i32>(0);
        let (d, dr) = goro::chan::<i32>(0);
        let (e, er) = goro::chan::<i32>(0);
        // goroutine A
        let (cr1, cr2) = (cr.clone(), cr.clone());
        go(move || {
            goro::select_blocking! {
                recv(cr1) => {}
                recv(cr1) => {}
                recv(dr) => {}
            }
            e.send_blocking(9).unwrap();
        });
        thread::sleep(Duration::from_millis(1)); // make sure goroutine A gets queued first on c
                                                 // goroutine B
        go(move || {
            cr2.recv_blocking();
        });
        thread::sleep(Duration::from_millis(1)); // make sure goroutine B gets queued on c before continuing
        d.send_blocking(7).unwrap(); // wake up A, it dequeues itself from c
        er.recv_blocking(); // A tells us it's done
        c.send_blocking(8).unwrap(); // wake up B
        drop(cr);
    }

    /// Same-channel send and receive arms in one select must not pair.
    #[test]
    fn select_send_recv_same_channel() {
        let (tx, rx) = goro::chan::<i32>(0);
        let got = goro::select_blocking! {
            send(tx, 1) => None,
            recv(rx) -> v => v,
            default => Some(-1),
        };
        assert_eq!(got, Some(-1));
    }
}

#[test]
fn chan_module_reexports() {
    let (_tx, rx): (Sender<i32>, Receiver<i32>) = chan::chan(0);
    assert_eq!(rx.capacity(), 0);
}
