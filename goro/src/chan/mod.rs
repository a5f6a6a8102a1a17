//! Channels with Go's semantics, and `select`.
//!
//! [`chan`]`::<T>(n)` is Go's `make(chan T, n)`: it returns a [`Sender`] and
//! a [`Receiver`], both `Clone` (any number of senders and receivers, MPMC).
//! With `n == 0` the channel is a rendezvous: a send completes only when a
//! receiver has taken the value.
//!
//! - [`Sender::send`]`(v).await` is `ch <- v`. It fails with
//!   [`SendError`]`(v)`, handing the value back, once the channel is closed
//!   (Go panics).
//! - [`Receiver::recv`]`().await` is `v, ok := <-ch`: `Some(v)`, or `None`
//!   once the channel is closed and drained. `while let Some(v) =
//!   rx.recv().await` is `for v := range ch`; a `Receiver` is also a
//!   `Stream`.
//! - [`Sender::close`] is `close(ch)`; the channel also closes when the
//!   last `Sender` is dropped. Closing twice returns `false` (Go panics).
//! - [`select!`](crate::select) is Go's `select`, with `recv`, `send` and
//!   `default` arms; [`Select`] builds one at run time over any number of
//!   channels; [`never()`] is the nil channel whose arm never fires.
//! - Every operation has a `_blocking` twin for plain threads
//!   ([`Sender::send_blocking`], [`Receiver::recv_blocking`],
//!   [`select_blocking!`](crate::select_blocking)) and a `try_` form that
//!   never waits.
//!
//! # Examples
//!
//! A producer, a consumer, and a timeout in a `select!`:
//!
//! ```
//! use std::time::Duration;
//!
//! goro::run(async {
//!     let (tx, rx) = goro::chan::<u32>(4);
//!     goro::go(async move {
//!         for i in 1..=3 {
//!             tx.send(i).await.unwrap();
//!         }
//!     }); // the last Sender is dropped: the channel closes
//!     let mut sum = 0;
//!     loop {
//!         goro::select! {
//!             recv(rx) -> v => match v {
//!                 Some(v) => sum += v,
//!                 None => break, // closed and drained
//!             },
//!             recv(goro::time::after(Duration::from_secs(10))) -> _ => panic!("stuck"),
//!         }
//!     }
//!     assert_eq!(sum, 6);
//! });
//! ```
//!
//! # Cancellation
//!
//! Dropping a pending `send` or `recv` future (a `select!` arm that lost,
//! a timeout) never loses a value: a value handed to a receiver that is
//! then dropped goes back to the front of the channel, and an unbuffered
//! send reports success only once a receiver has really taken its value.
//! A `select!` completes exactly one arm. A dropped `send` future did not
//! deliver (a value in flight to a receiver is taken back), with one
//! window: a receiver took the value after the future's last poll (it was
//! woken to return `Ok`) and the future was dropped without being polled
//! again — so `time::timeout(d, tx.send(v))` may time out having
//! delivered. A `select!` with a timer arm, `default(d)` and
//! [`Sender::send_timeout`] have no such window. A `Receiver` polled as a
//! `Stream` holds no value between polls: a dropped `next()` strands
//! nothing.
//!
//! # Compared with crossbeam-channel and tokio
//!
//! The shape is crossbeam-channel's (`Sender`/`Receiver`, `try_send` with
//! `Full`/`Closed`, `select!`, a dynamic `Select`), with `async`
//! operations added and Go's close semantics (an explicit `close`, a
//! `send` on a closed channel returns the value). Unlike
//! `tokio::sync::mpsc`, receivers can be cloned, capacity 0 is a real
//! rendezvous, and `select!` never drops a received value. Every channel
//! works in goroutines, in other executors and on plain threads.
//!
//! The protocol (Go's `hchan` with a two-phase rendezvous) is documented
//! in the source, in `chan/core.rs`.

mod arm;
mod core;
mod dyn_select;
mod error;
mod macros;
mod ready;
mod receiver;
mod ring;
mod select;
mod sender;
mod sink;
mod waiter;
mod weak;

#[cfg(all(test, loom))]
mod loom_tests;

use std::sync::Arc;

pub(crate) use self::core::{Chan, Due};
pub use self::{
    dyn_select::{Select, SelectFut, SelectTimeoutError, Selected},
    error::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError},
    receiver::{IntoIter, Iter, Receiver, Recv, TryIter},
    sender::{Send, Sender},
    weak::WeakSender,
};

/// Makes a channel with a buffer of `cap` values (Go's `make(chan T,
/// cap)`); `cap == 0` is an unbuffered rendezvous. Both ends can be cloned
/// (many senders, many receivers; each value is received once).
///
/// # Examples
///
/// ```
/// let (tx, rx) = goro::chan::<i32>(0);
/// let t = std::thread::spawn(move || {
///     for i in 0..3 {
///         tx.send_blocking(i).unwrap();
///     }
/// });
/// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// t.join().unwrap();
/// ```
pub fn chan<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(self::core::Chan::new(cap, false));
    (Sender::from_chan(chan.clone()), Receiver::new(chan))
}

/// A receiver that is never ready and never closed (Go's nil channel):
/// in a `select!` its arm never fires; `recv()` on it waits forever.
///
/// # Examples
///
/// ```
/// let rx = goro::chan::never::<i32>();
/// assert_eq!(rx.try_recv(), Err(goro::chan::TryRecvError::Empty));
/// assert!(!rx.close());
/// ```
pub fn never<T>() -> Receiver<T> {
    Receiver::new(Arc::new(self::core::Chan::new(0, true)))
}

/// A channel that no `Sender` feeds and that only `Receiver::close` closes
/// (a context's `done()`: dropping it uncancelled must not close it).
pub(crate) fn closable<T>() -> Receiver<T> {
    Receiver::new(Arc::new(self::core::Chan::new(0, false)))
}

/// A timer's channel (`time::after`, `Timer::chan`), fed by `due`.
pub(crate) fn timer_chan<T>(due: Box<dyn Due<T>>) -> Receiver<T> {
    Receiver::new(Arc::new(self::core::Chan::new_timer(due)))
}

/// Items used by the `select!` macros' expansion. Not public API.
#[doc(hidden)]
pub mod __private {
    use std::{future::Future, pin::Pin, sync::Arc};

    use super::{arm::Arm, Receiver, SendError, Sender};
    pub use super::{
        arm::{RecvArm, SendArm},
        select::{ArmRef, SelectFuture},
    };

    /// What a `recv(..)` operand may be: a `Receiver`, a reference to
    /// one, or an `Option` of either (`None` is Go's nil channel).
    pub trait AsRecv {
        /// The channel's item type.
        type Item;
        /// The receiver, or `None` for a disabled arm.
        fn as_recv(&self) -> Option<&Receiver<Self::Item>>;
    }
    impl<T> AsRecv for Receiver<T> {
        type Item = T;
        fn as_recv(&self) -> Option<&Receiver<T>> {
            Some(self)
        }
    }
    impl<T> AsRecv for Option<Receiver<T>> {
        type Item = T;
        fn as_recv(&self) -> Option<&Receiver<T>> {
            self.as_ref()
        }
    }
    impl<T> AsRecv for Option<&Receiver<T>> {
        type Item = T;
        fn as_recv(&self) -> Option<&Receiver<T>> {
            *self
        }
    }
    impl<X: AsRecv + ?Sized> AsRecv for &X {
        type Item = X::Item;
        fn as_recv(&self) -> Option<&Receiver<X::Item>> {
            (**self).as_recv()
        }
    }
    impl<X: AsRecv + ?Sized> AsRecv for &mut X {
        type Item = X::Item;
        fn as_recv(&self) -> Option<&Receiver<X::Item>> {
            (**self).as_recv()
        }
    }

    /// What a `send(..)` operand may be; see [`AsRecv`].
    pub trait AsSend {
        /// The channel's item type.
        type Item;
        /// The sender, or `None` for a disabled arm.
        fn as_send(&self) -> Option<&Sender<Self::Item>>;
    }
    impl<T> AsSend for Sender<T> {
        type Item = T;
        fn as_send(&self) -> Option<&Sender<T>> {
            Some(self)
        }
    }
    impl<T> AsSend for Option<Sender<T>> {
        type Item = T;
        fn as_send(&self) -> Option<&Sender<T>> {
            self.as_ref()
        }
    }
    impl<T> AsSend for Option<&Sender<T>> {
        type Item = T;
        fn as_send(&self) -> Option<&Sender<T>> {
            *self
        }
    }
    impl<X: AsSend + ?Sized> AsSend for &X {
        type Item = X::Item;
        fn as_send(&self) -> Option<&Sender<X::Item>> {
            (**self).as_send()
        }
    }
    impl<X: AsSend + ?Sized> AsSend for &mut X {
        type Item = X::Item;
        fn as_send(&self) -> Option<&Sender<X::Item>> {
            (**self).as_send()
        }
    }

    /// The receiver of a `recv` arm: the operand's (found by a method call,
    /// so smart pointers to a `Receiver` work too), or (operand `None`,
    /// guard false) a never-ready one stored in `nil`.
    pub fn recv_ref<'r, T>(
        op: Option<&'r Receiver<T>>,
        enabled: bool,
        nil: &'r mut Option<Receiver<T>>,
    ) -> &'r Receiver<T> {
        match op {
            Some(rx) if enabled => rx,
            _ => nil.insert(super::never()),
        }
    }

    /// The sender of a `send` arm; see [`recv_ref`].
    pub fn send_ref<'r, T>(
        op: Option<&'r Sender<T>>,
        enabled: bool,
        nil: &'r mut Option<Sender<T>>,
    ) -> &'r Sender<T> {
        match op {
            Some(tx) if enabled => tx,
            _ => nil.insert(Sender::from_chan(Arc::new(super::core::Chan::new(0, true)))),
        }
    }

    /// A receive arm on `rx`.
    pub fn recv_arm<T>(rx: &Receiver<T>) -> RecvArm<'_, T> {
        // SAFETY: the arm borrows `rx` (lifetime elision), which keeps the
        // channel alive.
        unsafe { RecvArm::new(Arc::as_ptr(&rx.chan)) }
    }

    /// A send arm of `v` on `tx` (`v` is evaluated before the select waits).
    pub fn send_arm<T>(tx: &Sender<T>, v: T) -> SendArm<'_, T> {
        // SAFETY: as in `recv_arm`.
        unsafe { SendArm::new(Arc::as_ptr(&tx.chan), v) }
    }

    /// Parks the thread until `fut` completes.
    pub fn block_on<F: Future>(fut: F) -> F::Output {
        crate::wait::block_on(fut)
    }

    /// What the macros need from an arm.
    pub trait MacroArm {
        /// The arm's result: `Option<T>` or `Result<(), SendError<T>>`.
        type Output;
        /// Type-erases the pinned arm for the select future.
        fn erase<'p>(self: Pin<&'p mut Self>) -> ArmRef<'p>
        where
            Self: 'p;
        /// Whether this arm's operation happened.
        fn chosen(&self) -> bool;
        /// Takes the result of the chosen arm.
        fn take(self: Pin<&mut Self>) -> Self::Output;
    }

    impl<T: std::marker::Send> MacroArm for RecvArm<'_, T> {
        type Output = Option<T>;
        fn erase<'p>(self: Pin<&'p mut Self>) -> ArmRef<'p>
        where
            Self: 'p,
        {
            ArmRef::recv(self)
        }
        fn chosen(&self) -> bool {
            self.has_out()
        }
        fn take(self: Pin<&mut Self>) -> Option<T> {
            self.take_out().expect("goro: arm not chosen")
        }
    }

    impl<T: std::marker::Send> MacroArm for SendArm<'_, T> {
        type Output = Result<(), SendError<T>>;
        fn erase<'p>(self: Pin<&'p mut Self>) -> ArmRef<'p>
        where
            Self: 'p,
        {
            ArmRef::send(self)
        }
        fn chosen(&self) -> bool {
            self.has_out()
        }
        fn take(self: Pin<&mut Self>) -> Result<(), SendError<T>> {
            self.take_out().expect("goro: arm not chosen")
        }
    }

    #[allow(dead_code)]
    fn _assert_arm_is_object_safe(_: &dyn Arm) {}
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn send_sync<X: std::marker::Send + Sync>() {}
    fn send<X: std::marker::Send>() {}
    struct NotSync(std::cell::Cell<u8>);
    send_sync::<Sender<NotSync>>();
    send_sync::<Receiver<NotSync>>();
    send::<Recv<'static, NotSync>>();
    send::<Send<'static, NotSync>>();
    send::<Select<'static>>();
    send::<SendError<NotSync>>();
}
