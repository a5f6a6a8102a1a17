//! Waiting: the fixed vocabulary of wait reasons, and the one wait loop that
//! drives a goro future on a plain OS thread.
//!
//! Every goro primitive that can block is written once, as a future driven
//! by `Waker`s. Its `_blocking` twin is `block_on(that_future)`: the same
//! protocol, with the thread parked instead of the task suspended (the
//! pattern of smol's event-listener-strategy).
//!
//! Before a primitive returns `Poll::Pending` it calls [`record`] with its
//! [`WaitReason`] and the `#[track_caller]` location of the user's call, so
//! that the goroutine dump and the deadlock detector can say what each
//! goroutine waits for and where. A goroutine that returns `Pending` without
//! recording anything is waiting on a foreign future: the deadlock detector
//! counts it as possibly runnable.

// loom-exempt: statics (the wait-tracking switch, the coarse clock, the blocking-call count) and `WaitRecord`'s diagnostics.
use std::{
    future::Future,
    panic::Location,
    pin::pin,
    sync::{
        atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering},
        Arc, OnceLock,
    },
    task::{Context, Poll, Wake, Waker},
    time::Instant,
};

use crate::{runtime::park::Parker, site::Site};

/// Why a goroutine is blocked: Go's fixed vocabulary, shared by the dump and
/// the deadlock detector.
///
/// # Examples
///
/// ```
/// use goro::runtime::WaitReason;
/// assert_eq!(WaitReason::ChanReceive.as_str(), "chan receive");
/// assert_eq!(WaitReason::MutexLock.to_string(), "sync.Mutex.Lock");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[non_exhaustive]
pub enum WaitReason {
    /// Not blocked on a goro primitive: running, runnable, or waiting on a
    /// foreign future.
    None = 0,
    /// `rx.recv()` on a channel.
    ChanReceive,
    /// `tx.send(v)` on a channel.
    ChanSend,
    /// Receiving from a `never()` channel (Go's nil channel).
    ChanReceiveNilChan,
    /// Sending on a channel that can never be ready.
    ChanSendNilChan,
    /// `select!` with at least one arm.
    Select,
    /// `select!` with no arms (`select {}`).
    SelectNoCases,
    /// `goro::time::sleep`.
    Sleep,
    /// `sync::Mutex::lock`.
    MutexLock,
    /// `sync::RwMutex::read`.
    RwMutexRLock,
    /// `sync::RwMutex::write`.
    RwMutexLock,
    /// `sync::WaitGroup::wait`.
    WaitGroupWait,
    /// `sync::Cond::wait`.
    CondWait,
    /// `sync::Once::call_once` while another caller runs the function.
    OnceWait,
    /// `sync::Semaphore::acquire`.
    SemaphoreAcquire,
    /// Waiting on a socket in the netpoller.
    IoWait,
    /// Awaiting another goroutine's `JoinHandle`.
    Join,
    /// Awaiting a `spawn_blocking` call.
    Blocking,
    /// Waiting for a context to be done.
    ContextDone,
    /// `errgroup::Group::wait` or a `go` waiting for a slot under a limit.
    ErrGroupWait,
}

impl WaitReason {
    /// Go's words for this reason, as printed in a goroutine dump.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::runtime::WaitReason;
    /// assert_eq!(WaitReason::ChanReceive.as_str(), "chan receive");
    /// assert_eq!(WaitReason::MutexLock.as_str(), "sync.Mutex.Lock");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::None => "running",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceiveNilChan => "chan receive (nil chan)",
            WaitReason::ChanSendNilChan => "chan send (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Sleep => "sleep",
            WaitReason::MutexLock => "sync.Mutex.Lock",
            WaitReason::RwMutexRLock => "sync.RWMutex.RLock",
            WaitReason::RwMutexLock => "sync.RWMutex.Lock",
            WaitReason::WaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::CondWait => "sync.Cond.Wait",
            WaitReason::OnceWait => "sync.Once.Do",
            WaitReason::SemaphoreAcquire => "semacquire",
            WaitReason::IoWait => "IO wait",
            WaitReason::Join => "goroutine join",
            WaitReason::Blocking => "syscall",
            WaitReason::ContextDone => "context done",
            WaitReason::ErrGroupWait => "errgroup.Group.Wait",
        }
    }

    /// Whether only another goroutine (or thread) acting on a goro primitive
    /// can end this wait. `Sleep`, `IoWait` and `Blocking` can end on their
    /// own; `None` is a foreign future, which might.
    ///
    /// # Examples
    ///
    /// ```
    /// use goro::runtime::WaitReason;
    /// assert!(WaitReason::ChanSend.is_goro_primitive()); // only a receiver can end it
    /// assert!(!WaitReason::Sleep.is_goro_primitive()); // ends on its own
    /// ```
    pub fn is_goro_primitive(self) -> bool {
        !matches!(
            self,
            WaitReason::None | WaitReason::Sleep | WaitReason::IoWait | WaitReason::Blocking
        )
    }

    /// The reason stored as `v` (`reason as u8`); `None` for anything else.
    pub(crate) fn from_u8(v: u8) -> WaitReason {
        ALL_REASONS
            .get(v as usize)
            .copied()
            .unwrap_or(WaitReason::None)
    }
}

/// What a goroutine waits for: the reason, the user's call site, and
/// since when (whole seconds on the coarse clock, `coarse_now`). Written
/// by the goroutine itself with `Relaxed` stores before it returns
/// `Pending`, read by the dump, the deadlock detector and the statistics:
/// diagnostics, outside every protocol. One in every task header, one for
/// the main goroutine.
/// `std` atomics (see the `loom-exempt` import), as the record is outside
/// every protocol and the loom models need not explore it.
///
/// Eight bytes (it is in every goroutine's header, issue 14): the site as
/// a 32-bit [`Site`], and the reason in the low byte of a word whose upper
/// 24 bits are the coarse second the wait began, modulo 2^24 (194 days;
/// a wait is read back relative to now, so it is right for any wait
/// shorter than that).
#[repr(C)]
pub(crate) struct WaitRecord {
    /// The user's blocking call (a `Site`), while blocked on a goro
    /// primitive.
    at: AtomicU32,
    /// `since << 8 | reason`: the reason a `WaitReason` as `u8` (`None`
    /// while running or on a foreign future), `since` 24 bits of
    /// `coarse_now`.
    since_reason: AtomicU32,
}

/// The bits of `since` a `WaitRecord` keeps.
const SINCE_MASK: u32 = (1 << 24) - 1;

impl WaitRecord {
    pub(crate) fn new() -> WaitRecord {
        WaitRecord {
            at: AtomicU32::new(0),
            since_reason: AtomicU32::new(0),
        }
    }

    /// The goroutine waits for `reason` at `at`, from now on.
    #[inline]
    pub(crate) fn record(&self, reason: WaitReason, at: &'static Location<'static>) {
        self.at.store(Site::new(at).to_bits(), Ordering::Relaxed);
        self.since_reason
            .store(coarse_now() << 8 | reason as u32, Ordering::Relaxed);
    }

    /// Running again (or on a foreign future): no reason.
    #[inline]
    pub(crate) fn clear(&self) {
        self.since_reason.store(0, Ordering::Relaxed);
    }

    /// The recorded wait: reason, call site and since when (on the coarse
    /// clock, as `coarse_now` counts).
    pub(crate) fn get(&self) -> (WaitReason, Option<&'static Location<'static>>, u32) {
        let v = self.since_reason.load(Ordering::Relaxed);
        let reason = WaitReason::from_u8(v as u8);
        let at = Site::from_bits(self.at.load(Ordering::Relaxed)).get();
        let now = coarse_now();
        let since = now.wrapping_sub(now.wrapping_sub(v >> 8) & SINCE_MASK);
        (reason, at, since)
    }
}

/// Stores `waker` in `slot` unless the stored one would wake the same task
/// (`Waker::will_wake`): a re-poll with the same waker clones nothing.
/// Every primitive that keeps one waker per waiter stores it through this.
#[inline]
pub(crate) fn update_waker(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(w) if w.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// Lists every `WaitReason` once, for `from_u8`: the list becomes
/// `ALL_REASONS`, and an exhaustive match over it fails to compile while
/// a variant is missing; the assertion below checks that the list is in
/// discriminant order. A new variant cannot be decoded as `None` by
/// mistake.
macro_rules! all_reasons {
    ($($v:ident),* $(,)?) => {
        const ALL_REASONS: &[WaitReason] = &[$(WaitReason::$v),*];

        #[allow(dead_code)]
        const fn every_reason_is_listed(r: WaitReason) {
            match r {
                $(WaitReason::$v)|* => {}
            }
        }
    };
}

all_reasons!(
    None,
    ChanReceive,
    ChanSend,
    ChanReceiveNilChan,
    ChanSendNilChan,
    Select,
    SelectNoCases,
    Sleep,
    MutexLock,
    RwMutexRLock,
    RwMutexLock,
    WaitGroupWait,
    CondWait,
    OnceWait,
    SemaphoreAcquire,
    IoWait,
    Join,
    Blocking,
    ContextDone,
    ErrGroupWait,
);

const _: () = {
    let mut i = 0;
    while i < ALL_REASONS.len() {
        assert!(
            ALL_REASONS[i] as usize == i,
            "ALL_REASONS out of discriminant order"
        );
        i += 1;
    }
};

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Records, on the goroutine being polled on this thread (if any), that it
/// is about to block for `reason` at the user's call site `at`.
///
/// Call it right before returning `Poll::Pending`. Costs a thread-local read
/// and two relaxed stores; does nothing outside a goroutine.
#[inline]
pub(crate) fn record(reason: WaitReason, at: &'static Location<'static>) {
    if TRACKING.load(Ordering::Relaxed) {
        crate::runtime::context::with_wait_record(|r| r.record(reason, at));
    }
}

/// Whether blocking calls record their wait reason and site. Only the
/// benchmarks turn it off, to measure what recording costs.
static TRACKING: AtomicBool = AtomicBool::new(true);

/// Turns the recording of wait reasons and sites on or off, process-wide.
/// For measuring its cost only: with it off, dumps show no blocking sites
/// and the deadlock detector never reports (every goroutine looks as if it
/// waited on a foreign future).
#[doc(hidden)]
pub fn set_wait_tracking(on: bool) {
    TRACKING.store(on, Ordering::Relaxed);
}

/// The coarse clock that stamps when a wait began: whole seconds since
/// [`clock_epoch`], advanced by the workers (every 61 scheduling ticks and
/// when they wake). A main goroutine woken by a plain thread while every
/// worker slept long may stamp its next wait with the old second. A wait stamped
/// by a clock that lagged reads as a little shorter than it was; the dump
/// prints waits in minutes, as Go does.
static COARSE_SECS: AtomicU32 = AtomicU32::new(0);

/// The instant the coarse clock counts from (the first use).
pub(crate) fn clock_epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The coarse clock's reading (see [`COARSE_SECS`]).
#[inline]
pub(crate) fn coarse_now() -> u32 {
    COARSE_SECS.load(Ordering::Relaxed)
}

/// Advances the coarse clock to `now`. Writes only when the second changed,
/// so the workers do not bounce its cache line.
#[inline]
pub(crate) fn tick_coarse_clock(now: Instant) {
    let secs = now.saturating_duration_since(clock_epoch()).as_secs() as u32;
    if COARSE_SECS.load(Ordering::Relaxed) < secs {
        COARSE_SECS.fetch_max(secs, Ordering::Relaxed);
    }
}

/// How many OS threads are parked inside a goro `_blocking` call right now
/// (counted from the first `Pending` to the return, so a thread still
/// spinning before it sleeps is counted as parked, and so is one that was
/// woken and is polling again). The deadlock detector will not report while
/// any is: such a thread may be the one that wakes a goroutine.
static THREADS_IN_BLOCKING_CALLS: AtomicUsize = AtomicUsize::new(0);

/// The number of OS threads currently parked inside a goro `_blocking` call.
pub(crate) fn threads_in_blocking_calls() -> usize {
    THREADS_IN_BLOCKING_CALLS.load(Ordering::SeqCst)
}

/// A waker that unparks one OS thread: the thread waiting in `block_on`
/// (here, or as `Runtime::block_on`'s main goroutine, with its own).
pub(crate) struct ThreadWaker(pub(crate) Parker);

impl ThreadWaker {
    /// A fresh parker and a waker for it.
    pub(crate) fn new_pair() -> (Arc<ThreadWaker>, Waker) {
        let p = Arc::new(ThreadWaker(Parker::new()));
        let w = Waker::from(p.clone());
        (p, w)
    }
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    static THREAD_WAKER: (Arc<ThreadWaker>, Waker) = ThreadWaker::new_pair();
}

/// Drives `fut` to completion on the calling OS thread, parking the thread
/// while it is pending. This is the body of every `_blocking` twin.
///
/// Each wait spins for up to 10 µs before the thread sleeps
/// (`Parker::spin_until_notified`): a hand-off between two threads then
/// costs no futex sleep and wake-up when the other side answers quickly;
/// a longer wait pays those 10 µs of CPU once per sleep.
///
/// Called inside a goroutine it blocks that goroutine's worker thread, as a
/// blocking syscall does in Go.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    match block_on_deadline(pin!(fut), None) {
        Some(v) => v,
        None => unreachable!("no deadline"),
    }
}

/// [`block_on`] with a deadline (`None`: none), for the `_timeout` /
/// `_deadline` twins: `None` if `fut` is still pending at `deadline` (it
/// was polled once more then). `fut` stays with the caller, who cancels it
/// and takes back what it holds (a send's value).
pub(crate) fn block_on_deadline<F: Future + ?Sized>(
    mut fut: std::pin::Pin<&mut F>,
    deadline: Option<Instant>,
) -> Option<F::Output> {
    // Nested calls on one thread share its parker (a wake-up meant for the
    // outer one is then a spurious wake for the inner, which re-polls and
    // sleeps again); while the thread-local is being destroyed, a fresh one.
    let (parker, waker) = THREAD_WAKER
        .try_with(|(p, w)| (p.clone(), w.clone()))
        .unwrap_or_else(|_| ThreadWaker::new_pair());
    let mut cx = Context::from_waker(&waker);
    if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
        return Some(v);
    }
    THREADS_IN_BLOCKING_CALLS.fetch_add(1, Ordering::SeqCst);
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            THREADS_IN_BLOCKING_CALLS.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _leave = Leave;
    // A goroutine's thread waiting here blocks its goroutines: tell sysmon;
    // and let shutdown release it.
    let call = crate::runtime::BlockingCall::enter(&parker);
    loop {
        // (Never while unwinding already: that would abort the process.)
        if call.released() && !std::thread::panicking() {
            // The runtime shuts down while this goroutine's thread waits:
            // unwind out of the goroutine, which then completes as
            // `Cancelled` (`resume_unwind` runs no panic hook: nothing is
            // printed).
            drop(call);
            std::panic::resume_unwind(Box::new(ShutdownUnwind));
        }
        // Spin first (at most 10 µs, never past the deadline): the other
        // side of a hand-off between threads usually answers sooner than a
        // futex sleep and wake-up would take (`Parker`, "Spinning before
        // sleeping").
        if !parker.0.spin_until_notified(deadline) {
            match deadline {
                None => parker.0.park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    parker.0.park_timeout(deadline - now);
                }
            }
        }
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Some(v);
        }
    }
}

/// The unwind payload of a `_blocking` call released by runtime shutdown;
/// the task machinery turns it into `JoinError::Cancelled`.
pub(crate) struct ShutdownUnwind;

/// Whether a caught panic is a shutdown release rather than a user panic.
pub(crate) fn is_shutdown_unwind(payload: &(dyn std::any::Any + Send)) -> bool {
    payload.is::<ShutdownUnwind>()
}
