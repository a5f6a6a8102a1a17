//! The shims every crossbeam-channel port shares: crossbeam's names for
//! goro's constructors and results, a stand-in for `fastrand`, `ms`.
//!
//! Adapted from the tests of crossbeam-channel
//! (https://github.com/crossbeam-rs/crossbeam, MIT OR Apache-2.0):
//! Copyright (c) 2019 The Crossbeam Project Developers.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use goro::chan::{Receiver, Sender};

/// crossbeam's `RecvError` (goro's `recv` returns `None` instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

/// crossbeam's results are `Result`s where goro's are `Option`s.
pub trait ResultLike {
    fn is_ok(&self) -> bool;
    fn is_err(&self) -> bool;
}

impl<T> ResultLike for Option<T> {
    fn is_ok(&self) -> bool {
        self.is_some()
    }
    fn is_err(&self) -> bool {
        self.is_none()
    }
}

/// crossbeam's `bounded(cap)`: goro's `chan(cap)`.
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    goro::chan(cap)
}

/// crossbeam's `unbounded()`: a buffer no test fills.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    goro::chan(1 << 40)
}

/// A stand-in for the `fastrand` crate (xorshift).
pub mod fastrand {
    pub struct Rng(u64);
    impl Rng {
        pub fn new() -> Rng {
            Rng(0x9E37_79B9_7F4A_7C15)
        }
        pub fn usize(&mut self, r: std::ops::Range<usize>) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            r.start + (self.0 % (r.end - r.start) as u64) as usize
        }
    }
}

/// Milliseconds.
pub fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}
