//! Ported from crossbeam-channel's `tests/never.rs`
//! (https://github.com/crossbeam-rs/crossbeam), adapted to goro's API:
//! `send`/`recv` are `send_blocking`/`recv_blocking` (a `None` from
//! `recv_blocking` is crossbeam's `RecvError`), `Disconnected` is `Closed`,
//! `select!` is `select_blocking!`, `capacity()` is a `usize`, and
//! iteration counts are smaller so the file runs in a few seconds.
//!
//! Copyright (c) 2019 The Crossbeam Project Developers. Licensed under
//! either of the Apache License, Version 2.0 or the MIT license, at your
//! option (crossbeam's LICENSE-APACHE and LICENSE-MIT).

// crossbeam's tests unwrap literal options on purpose (temporaries).
#![allow(clippy::unnecessary_literal_unwrap)]

use std::{thread, time::Instant};

#[allow(unused_imports)]
use goro::chan::{
    never, Receiver, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};

mod crossbeam_common;
#[allow(unused_imports)]
use crossbeam_common::*;

#[test]
fn smoke() {
    goro::select_blocking! {
        recv(never::<i32>()) -> _ => panic!(),
        default => {}
    }
}

#[test]
fn optional() {
    let (s, r) = unbounded::<i32>();
    s.send_blocking(1).unwrap();
    s.send_blocking(2).unwrap();

    let mut r = Some(&r);
    goro::select_blocking! {
        recv(r.unwrap_or(&never())) -> _ => {}
        default => panic!(),
    }

    r = None;
    goro::select_blocking! {
        recv(r.unwrap_or(&never())) -> _ => panic!(),
        default => {}
    }
}

#[test]
fn tick_n() {
    let mut r = goro::time::tick(ms(10));
    let mut step = 0;

    loop {
        goro::select_blocking! {
            recv(r) -> _ => step += 1,
            default(ms(200)) => break,
        }

        if step == 10 {
            r = never();
        }
    }

    assert_eq!(step, 10);
}

#[test]
fn capacity() {
    let r = never::<i32>();
    assert_eq!(r.capacity(), (0));
}

#[test]
fn len_empty_full() {
    let r = never::<i32>();
    assert_eq!(r.len(), 0);
    assert!(r.is_empty());
    assert!(r.is_full());
}

#[test]
fn try_recv() {
    let r = never::<i32>();
    assert!(r.try_recv().is_err());

    thread::sleep(ms(100));
    assert!(r.try_recv().is_err());
}

#[test]
fn recv_timeout() {
    let start = Instant::now();
    let r = never::<i32>();

    assert!(r.recv_timeout(ms(100)).is_err());
    let now = Instant::now();
    assert!(now - start >= ms(100));
    // (crossbeam also bounds the time from above: dropped, no speed
    // assertions on a loaded CI machine)

    assert!(r.recv_timeout(ms(100)).is_err());
    let now = Instant::now();
    assert!(now - start >= ms(200));
    // (crossbeam also bounds the time from above: dropped, no speed
    // assertions on a loaded CI machine)
}
