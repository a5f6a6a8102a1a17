//! Incoming signals on a channel: Go's `os/signal` (`signal.Notify`,
//! `Stop`, `Reset`, `Ignore`, `Ignored`). Unix only.
//!
//! [`notify`] returns a [`Receiver<Signal>`] that gets every listed signal
//! the process receives from then on, so a signal is one more `select!`
//! arm:
//!
//! ```no_run
//! use goro::signal::{self, Signal};
//!
//! #[goro::main]
//! async fn main() {
//!     let sigs = signal::notify(&[Signal::SIGINT, Signal::SIGTERM]);
//!     let (work_tx, work) = goro::chan::<u32>(0);
//!     goro::go(async move { for i in 0.. { if work_tx.send(i).await.is_err() { return } } });
//!     loop {
//!         goro::select! {
//!             recv(work) -> job => println!("job {job:?}"),
//!             recv(sigs) -> sig => {
//!                 println!("{}: shutting down", sig.unwrap());
//!                 break;
//!             }
//!         }
//!     }
//! }
//! ```
//!
//! As in Go:
//! - delivery never blocks: the channel has room for one signal, and a
//!   signal that finds it full is dropped for that channel (several
//!   signals of one kind in a row may also arrive as one, as the operating
//!   system coalesces pending signals);
//! - several channels may want one signal: each gets it;
//! - a subscribed `SIGQUIT` reaches its channel instead of printing the
//!   goroutine dump;
//! - once no channel wants a signal any more ([`stop`], [`reset`], or every
//!   receiver dropped), Go's default applies: `SIGHUP`, `SIGINT` and
//!   `SIGTERM` end the process, `SIGQUIT` prints the dump and exits with
//!   status 2, the job-control stops stop it, and other signals are
//!   dropped;
//! - a program waiting for a signal is not a deadlock: while a
//!   subscription exists, the detector does not report.
//!
//! Why a `Receiver` and not Go's `Notify(c, sigs...)` on a channel you
//! make? Go needs the caller to pick a buffered channel or signals get
//! lost; here the right one is made for you. [`notify_to`] is there for
//! the Go form (one channel for signals and other events).
//!
//! Signals that cannot be caught (`SIGKILL`, `SIGSTOP`) or that belong to
//! the runtime (`SIGSEGV`, `SIGILL`, `SIGFPE`) are never delivered, as in
//! Go.

// loom-exempt: the static signal registry.
use std::{
    collections::BTreeSet,
    fmt,
    sync::{Arc, Mutex},
};

use signal_hook::consts::signal as sig;

use crate::{
    chan::{Receiver, Sender, TrySendError},
    runtime::{lock_static as lock, signal as dispatcher},
};

/// A signal number: Go's `os.Signal` / `syscall.Signal`.
///
/// `Display` prints Go's description (`interrupt`, `terminated`, ...),
/// `Debug` the constant's name (`SIGINT`).
///
/// # Examples
///
/// ```
/// use goro::signal::Signal;
/// assert_eq!(Signal::INTERRUPT, Signal::SIGINT);
/// assert_eq!(Signal::SIGTERM.to_string(), "terminated");
/// assert_eq!(format!("{:?}", Signal::SIGHUP), "SIGHUP");
/// assert_eq!(Signal::from_raw(Signal::SIGUSR1.as_raw()), Signal::SIGUSR1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

macro_rules! signals {
    ($($name:ident = $desc:literal,)*) => {
        impl Signal {
            $(
                #[doc = concat!("`", stringify!($name), "`: ", $desc, ".")]
                pub const $name: Signal = Signal(sig::$name);
            )*

            /// Every signal `notify(&[])` subscribes to: all that can be
            /// caught except the runtime's (`SIGSEGV`, ...) and `SIGPROF`.
            const CATCHABLE: &'static [Signal] = &[$(Signal::$name),*];

            fn name(self) -> Option<(&'static str, &'static str)> {
                match self.0 {
                    $(sig::$name => Some((stringify!($name), $desc)),)*
                    _ => None,
                }
            }
        }
    };
}

signals! {
    SIGHUP = "hangup",
    SIGINT = "interrupt",
    SIGQUIT = "quit",
    SIGTERM = "terminated",
    SIGUSR1 = "user defined signal 1",
    SIGUSR2 = "user defined signal 2",
    SIGPIPE = "broken pipe",
    SIGALRM = "alarm clock",
    SIGCHLD = "child exited",
    SIGCONT = "continued",
    SIGTSTP = "stopped",
    SIGTTIN = "stopped (tty input)",
    SIGTTOU = "stopped (tty output)",
    SIGWINCH = "window changed",
    SIGURG = "urgent I/O condition",
    SIGXCPU = "CPU time limit exceeded",
    SIGXFSZ = "file size limit exceeded",
    SIGVTALRM = "virtual timer expired",
}

impl Signal {
    /// Go's `os.Interrupt` (`SIGINT`, Ctrl-C).
    pub const INTERRUPT: Signal = Signal::SIGINT;

    /// The signal with number `n` (`libc::SIGRTMIN() + 1`, say).
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::signal::Signal;
    /// assert_eq!(Signal::from_raw(Signal::SIGTERM.as_raw()), Signal::SIGTERM);
    /// ```
    pub const fn from_raw(n: i32) -> Signal {
        Signal(n)
    }

    /// The signal's number.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(goro::signal::Signal::SIGINT.as_raw(), 2);
    /// ```
    pub const fn as_raw(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some((name, _)) => f.write_str(name),
            None => write!(f, "Signal({})", self.0),
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some((_, desc)) => f.write_str(desc),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// One channel's subscription.
struct Sub {
    tx: Sender<Signal>,
    /// The signals it wants; `None`: every one.
    sigs: Option<BTreeSet<Signal>>,
}

impl Sub {
    fn wants(&self, s: Signal) -> bool {
        self.sigs.as_ref().is_none_or(|set| set.contains(&s))
    }
}

struct Registry {
    subs: Vec<Sub>,
    ignored: BTreeSet<Signal>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    subs: Vec::new(),
    ignored: BTreeSet::new(),
});

/// Keeps the deadlock detector's count equal to `subs.len()`.
fn set_subs(reg: &mut Registry, f: impl FnOnce(&mut Vec<Sub>)) {
    let before = reg.subs.len();
    f(&mut reg.subs);
    // Receivers all dropped: nothing can get those signals any more.
    reg.subs.retain(|s| !s.tx.is_closed());
    dispatcher::add_subscriptions(reg.subs.len() as isize - before as isize);
}

/// The dispatcher thread's hook: delivers `n` to every subscription that
/// wants it, without blocking. True when it was delivered (or ignored).
fn deliver(n: i32) -> bool {
    let s = Signal(n);
    let mut reg = lock(&REGISTRY);
    if reg.ignored.contains(&s) {
        return true;
    }
    let mut handled = false;
    let mut closed = false;
    for sub in reg.subs.iter().filter(|sub| sub.wants(s)) {
        match sub.tx.try_send(s) {
            // Full: dropped for this channel, as Go's non-blocking send.
            Ok(()) | Err(TrySendError::Full(_)) => handled = true,
            Err(TrySendError::Closed(_)) => closed = true,
        }
    }
    if closed {
        set_subs(&mut reg, |_| {});
    }
    handled
}

/// Makes goro's handler catch `signals` (all catchable ones when empty).
fn watch(signals: &[Signal]) {
    dispatcher::set_hook(deliver);
    let all = if signals.is_empty() {
        Signal::CATCHABLE
    } else {
        signals
    };
    for s in all {
        // Signals that cannot be caught are never delivered (Go ignores
        // them in Notify too).
        let _ = dispatcher::watch(s.0);
    }
}

/// Go's `signal.Notify(c, sigs...)` with a channel made for you: the
/// returned receiver gets each of `signals` the process receives from now
/// on (every catchable signal when `signals` is empty). Its buffer holds
/// one signal; delivery never blocks (see the [module docs](self)).
/// Dropping every clone of the receiver ends the subscription.
///
/// # Examples
///
/// ```
/// use goro::signal::{self, Signal};
/// goro::run(async {
///     let sigs = signal::notify(&[Signal::SIGUSR1]);
///     signal_hook::low_level::raise(Signal::SIGUSR1.as_raw()).unwrap();
///     assert_eq!(sigs.recv().await, Some(Signal::SIGUSR1));
///     signal::stop(&sigs);
/// });
/// ```
#[must_use = "signals are delivered to the receiver; dropping it unsubscribes"]
pub fn notify(signals: &[Signal]) -> Receiver<Signal> {
    let (tx, rx) = crate::chan::chan(1);
    notify_to(&tx, signals);
    rx
}

/// Go's `signal.Notify(c, sigs...)` on a channel of yours: `tx` gets each
/// of `signals` (every catchable one when empty). A second call with the
/// same channel adds to its set, as in Go. Sends never block: a signal
/// that finds the channel full is dropped for it, so give it a buffer.
///
/// # Examples
///
/// ```
/// use goro::signal::{self, Signal};
/// goro::run(async {
///     let (tx, rx) = goro::chan(4);
///     signal::notify_to(&tx, &[Signal::SIGUSR2]);
///     signal_hook::low_level::raise(Signal::SIGUSR2.as_raw()).unwrap();
///     assert_eq!(rx.recv().await, Some(Signal::SIGUSR2));
///     signal::stop(&rx);
/// });
/// ```
pub fn notify_to(tx: &Sender<Signal>, signals: &[Signal]) {
    // The hook first, then the subscription, then the handlers: from the
    // moment a signal is caught, it has somewhere to go.
    dispatcher::set_hook(deliver);
    let mut reg = lock(&REGISTRY);
    set_subs(&mut reg, |subs| {
        let new: Option<BTreeSet<Signal>> =
            (!signals.is_empty()).then(|| signals.iter().copied().collect());
        match subs.iter_mut().find(|s| Arc::ptr_eq(&s.tx.chan, &tx.chan)) {
            Some(sub) => match (&mut sub.sigs, new) {
                (Some(old), Some(new)) => old.extend(new),
                (sigs, _) => *sigs = None, // everything
            },
            None => subs.push(Sub {
                tx: tx.clone(),
                sigs: new,
            }),
        }
    });
    // Go: a signal that is notified is no longer ignored.
    match signals {
        [] => reg.ignored.clear(),
        sigs => sigs.iter().for_each(|s| {
            reg.ignored.remove(s);
        }),
    }
    drop(reg);
    watch(signals);
}

/// Go's `signal.Stop(c)`: the channel `rx` receives from gets no more
/// signals once this returns. Signals no other channel wants go back to
/// Go's default behaviour (see the [module docs](self)).
///
/// A channel made by [`notify`] is then closed (goro held its only
/// sender): `recv` returns the signals still buffered, then `None`. Why
/// close it, when Go's stays open? Nothing can send on it any more, and a
/// receiver waiting on it forever would be a leaked goroutine; Go's
/// channel stays open only because it is the caller's. A channel of yours
/// given to [`notify_to`] stays open: goro drops only its own clone of
/// the sender.
///
/// # Examples
///
/// ```
/// use goro::signal::{self, Signal};
/// let sigs = signal::notify(&[Signal::SIGWINCH]);
/// signal::stop(&sigs);
/// signal_hook::low_level::raise(Signal::SIGWINCH.as_raw()).unwrap();
/// assert_eq!(sigs.recv_blocking(), None); // closed: no more signals
/// ```
pub fn stop(rx: &Receiver<Signal>) {
    let mut reg = lock(&REGISTRY);
    set_subs(&mut reg, |subs| {
        subs.retain(|s| !Arc::ptr_eq(&s.tx.chan, &rx.chan))
    });
}

/// Go's `signal.Reset(sigs...)`: no channel gets `signals` any more (every
/// signal when empty) and they are no longer ignored: Go's default
/// behaviour applies to them again. A subscription left with no signal
/// ends as with [`stop`].
///
/// # Examples
///
/// ```
/// use goro::signal::{self, Signal};
/// let a = signal::notify(&[Signal::SIGWINCH, Signal::SIGUSR2]);
/// signal::reset(&[Signal::SIGWINCH]);
/// // `a` still gets SIGUSR2.
/// signal_hook::low_level::raise(Signal::SIGUSR2.as_raw()).unwrap();
/// assert_eq!(a.recv_blocking(), Some(Signal::SIGUSR2));
/// signal::reset(&[]);
/// ```
pub fn reset(signals: &[Signal]) {
    let mut reg = lock(&REGISTRY);
    remove_signals(&mut reg, signals);
    match signals {
        [] => reg.ignored.clear(),
        sigs => sigs.iter().for_each(|s| {
            reg.ignored.remove(s);
        }),
    }
}

/// Go's `signal.Ignore(sigs...)`: `signals` (every catchable one when
/// empty) are dropped on arrival, and no channel gets them any more.
///
/// # Examples
///
/// ```
/// use goro::signal::{self, Signal};
/// signal::ignore(&[Signal::SIGHUP]);
/// assert!(signal::ignored(Signal::SIGHUP));
/// // A SIGHUP now would not end the process.
/// signal::reset(&[Signal::SIGHUP]);
/// assert!(!signal::ignored(Signal::SIGHUP));
/// ```
pub fn ignore(signals: &[Signal]) {
    watch(signals);
    let mut reg = lock(&REGISTRY);
    remove_signals(&mut reg, signals);
    let all = if signals.is_empty() {
        Signal::CATCHABLE
    } else {
        signals
    };
    reg.ignored.extend(all.iter().copied());
}

/// Go's `signal.Ignored(sig)`: whether `sig` is being ignored through
/// [`ignore`].
///
/// # Examples
///
/// ```
/// use goro::signal::{ignore, ignored, reset, Signal};
/// ignore(&[Signal::SIGUSR2]);
/// assert!(ignored(Signal::SIGUSR2));
/// reset(&[Signal::SIGUSR2]);
/// assert!(!ignored(Signal::SIGUSR2));
/// ```
pub fn ignored(sig: Signal) -> bool {
    lock(&REGISTRY).ignored.contains(&sig)
}

/// Takes `signals` (all when empty) out of every subscription; a
/// subscription left with none ends.
fn remove_signals(reg: &mut Registry, signals: &[Signal]) {
    set_subs(reg, |subs| {
        if signals.is_empty() {
            subs.clear();
            return;
        }
        for sub in subs.iter_mut() {
            let set = sub
                .sigs
                .get_or_insert_with(|| Signal::CATCHABLE.iter().copied().collect());
            for s in signals {
                set.remove(s);
            }
        }
        subs.retain(|s| s.sigs.as_ref().is_none_or(|set| !set.is_empty()));
    });
}
