//! The task allocation and its type-erased vtable.
//!
//! Every function here takes a `NonNull<Header>` and relies on the state
//! word's ownership rules (see `state.rs`) for the right to touch the stage
//! or the join waker. The scheduler is reached through the `Schedule`
//! type parameter: goroutines go to the worker run queues, `spawn_blocking`
//! calls to the blocking pool.

use std::{
    future::Future,
    marker::PhantomData,
    mem::ManuallyDrop,
    panic::{catch_unwind, AssertUnwindSafe, Location},
    pin::Pin,
    ptr::NonNull,
    sync::Arc,
    task::{Context, Poll, Waker},
};

use super::{
    join::JoinError,
    state::{
        IdleAction, Snapshot, StartAction, State, WakeAction, JOIN_HANDLE, JOIN_WAKER, NO_ENTRY,
    },
    waker::WakerRef,
};
use crate::{
    loom::UnsafeCell,
    runtime::{context, Shared},
    site::Site,
    wait::{WaitReason, WaitRecord},
};

/// Where a task goes when it is woken, and how its exit is accounted.
pub(crate) trait Schedule: Sized + 'static {
    /// Puts a notified task in a run queue. The task's queue reference moves
    /// with it. `yielded` is true when the task woke itself during its own
    /// poll (it goes to the back of the queue, not to `runnext`).
    fn schedule(shared: &Shared, task: Notified, yielded: bool);

    /// The task is about to complete: account for its exit. Returns true
    /// when the task also left the owned list (the list's reference is
    /// then the caller's).
    fn release(shared: &Shared, header: NonNull<Header>) -> bool;
}

/// The part of a task every goroutine has, whatever its future.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// The runtime, kept alive by one strong count per task.
    pub(crate) shared: NonNull<Shared>,
    /// Go's goroutine id and its parent's, 48 bits each.
    ids: Ids,
    /// The user's `go(..)` call.
    spawned_at: Site,
    /// What it waits for (reason, site, since when).
    pub(crate) wait: WaitRecord,
}

/// A goroutine's id and the id of the goroutine that spawned it (0: none),
/// 48 bits each, in 12 bytes of 4-byte alignment: beside the 32-bit sites
/// they keep the header at 48 bytes (issue 14). Ids count spawns from 1,
/// so they stay unique for the first 2^48 (281 trillion) goroutines of a
/// process: a million spawns a second for nine years.
#[derive(Clone, Copy)]
struct Ids {
    lo: [u32; 2],
    hi: [u16; 2],
}

impl Ids {
    fn new(id: u64, parent: u64) -> Ids {
        Ids {
            lo: [id as u32, parent as u32],
            hi: [(id >> 32) as u16, (parent >> 32) as u16],
        }
    }

    #[inline]
    fn get(self, i: usize) -> u64 {
        u64::from(self.hi[i]) << 32 | u64::from(self.lo[i])
    }
}

impl Header {
    #[inline]
    pub(crate) fn shared(&self) -> &Shared {
        // SAFETY: each task holds a strong count on its runtime's `Shared`
        // until it is deallocated.
        unsafe { self.shared.as_ref() }
    }

    /// Go's goroutine id.
    #[inline]
    pub(crate) fn id(&self) -> u64 {
        self.ids.get(0)
    }

    /// The id of the goroutine that spawned this one (0: none).
    pub(crate) fn parent(&self) -> u64 {
        self.ids.get(1)
    }

    /// The user's `go(..)` call.
    pub(crate) fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at.get().expect("a goroutine's spawn site")
    }

    /// The spawn site, encoded (for a stamp read by another thread).
    #[inline]
    pub(crate) fn spawn_site(&self) -> Site {
        self.spawned_at
    }

    /// The recorded wait: reason, call site and since when (coarse seconds).
    pub(crate) fn wait(&self) -> (WaitReason, Option<&'static Location<'static>>, u32) {
        self.wait.get()
    }
}

pub(crate) struct Vtable {
    poll: unsafe fn(NonNull<Header>),
    dealloc: unsafe fn(NonNull<Header>),
    schedule: unsafe fn(NonNull<Header>, bool),
    read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    drop_join_handle: unsafe fn(NonNull<Header>),
    shutdown: unsafe fn(NonNull<Header>),
}

/// The future, then its output: no tag of its own, the state word says
/// which one is there (see `state.rs`, "Who owns the stage"):
/// - not `COMPLETE`: the future, until the worker holding `RUNNING` takes
///   it out in `finish` or `cancel_running` (then nothing until it writes
///   the output and sets `COMPLETE`);
/// - `COMPLETE` with `JOIN_HANDLE`: the output, until the handle takes it
///   (`read_output`, which clears `JOIN_HANDLE`) or drops it;
/// - `COMPLETE` without `JOIN_HANDLE`: nothing (the output was dropped by
///   whoever saw the handle gone, or taken by the handle).
///
/// A tag would cost a word per goroutine (issue 14).
union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, JoinError>>,
}

#[repr(C)]
struct Cell<F: Future, S> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
    _s: PhantomData<S>,
}

/// A task in (or on its way to) a run queue: owns the queue's reference.
pub(crate) struct Notified(NonNull<Header>);

// SAFETY: a task may be run and dropped on any thread: spawned futures and
// their outputs are `Send`, and the header's shared fields are atomics or
// guarded by the owned-list lock.
unsafe impl Send for Notified {}

impl Notified {
    /// # Safety
    /// `ptr` must point at a live task and carry one reference, which the
    /// `Notified` takes over.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified {
        Notified(ptr)
    }

    #[inline]
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let p = self.0;
        std::mem::forget(self);
        p
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `Notified` owns a reference, so the task is alive.
        unsafe { self.0.as_ref() }
    }

    /// Polls the task once (or finishes its cancellation).
    #[inline]
    pub(crate) fn run(self) {
        let ptr = self.into_raw();
        // SAFETY: the reference moves into `poll`, which accounts for it.
        unsafe { (ptr.as_ref().vtable.poll)(ptr) }
    }

    /// Runtime shutdown: drop the future if it has not finished.
    /// Consumes the reference the caller held (the owned list's).
    pub(crate) fn shutdown(self) {
        let ptr = self.into_raw();
        // SAFETY: as in `run`.
        unsafe { (ptr.as_ref().vtable.shutdown)(ptr) }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // SAFETY: the `Notified` owns one reference.
        unsafe { drop_ref(self.0) }
    }
}

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Notified(goroutine {})", self.header().id())
    }
}

/// Allocates a goroutine. The task starts notified with three references:
/// the returned `Notified` (for the run queue), one for the owned list
/// (returned as the raw pointer) and one for the join handle.
pub(crate) fn allocate<F, S>(
    future: F,
    shared: &Shared,
    id: u64,
    parent: u64,
    spawned_at: &'static Location<'static>,
) -> (Notified, NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    allocate_listed::<F, S>(future, shared, id, parent, spawned_at, NO_ENTRY)
}

/// [`allocate`] with the task's owned-list entry in its first state word
/// (`runtime/owned.rs`; written once, with the rest of the header: setting
/// it afterwards read back the word just written, a store-forwarding
/// stall on every spawn).
#[inline]
pub(crate) fn allocate_listed<F, S>(
    future: F,
    shared: &Shared,
    id: u64,
    parent: u64,
    spawned_at: &'static Location<'static>,
    entry: u32,
) -> (Notified, NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let cell = Cell::<F, S> {
        header: Header {
            state: State::new_listed(entry),
            vtable: vtable::<F, S>(),
            shared: NonNull::from(shared),
            ids: Ids::new(id, parent),
            spawned_at: Site::new(spawned_at),
            wait: WaitRecord::new(),
        },
        stage: UnsafeCell::new(Stage {
            future: ManuallyDrop::new(future),
        }),
        _s: PhantomData,
    };
    // The strong count released in `dealloc`.
    std::mem::forget(shared.arc());
    let mem = super::alloc::allocate(std::alloc::Layout::new::<Cell<F, S>>()).cast::<Cell<F, S>>();
    // SAFETY: `mem` is a fresh block with the layout of `Cell<F, S>`.
    unsafe { mem.as_ptr().write(cell) };
    let ptr = mem.cast::<Header>();
    (Notified(ptr), ptr)
}

fn vtable<F, S>() -> &'static Vtable
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    struct Table<F, S>(PhantomData<(F, S)>);
    impl<F, S> Table<F, S>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        const VTABLE: Vtable = Vtable {
            poll: poll::<F, S>,
            dealloc: dealloc::<F, S>,
            schedule: schedule::<S>,
            read_output: read_output::<F, S>,
            drop_join_handle: drop_join_handle::<F, S>,
            shutdown: shutdown::<F, S>,
        };
    }
    &Table::<F, S>::VTABLE
}

/// # Safety
/// `ptr` must point at a `Cell<F, S>`.
#[inline]
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: `Cell` is `repr(C)` with the header first; the caller vouches
    // for the concrete type and that the task is alive.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

// ---- references and wake-ups ---------------------------------------------

/// Drops one reference, freeing the task if it was the last.
///
/// # Safety
/// The caller owns one reference to a live task.
#[inline]
pub(crate) unsafe fn drop_ref(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive until here.
    let header = unsafe { ptr.as_ref() };
    if header.state.ref_dec() {
        // SAFETY: that was the last reference.
        unsafe { (header.vtable.dealloc)(ptr) }
    }
}

/// # Safety
/// The caller owns one reference, which this consumes.
pub(crate) unsafe fn wake_by_val(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the task alive.
    let header = unsafe { ptr.as_ref() };
    let (action, drop_it) = header.state.wake_by_val();
    if action == WakeAction::Submit {
        // SAFETY: the waker's reference became the queue's reference.
        unsafe { (header.vtable.schedule)(ptr, false) }
    } else if drop_it {
        // SAFETY: we still own the waker's reference.
        unsafe { drop_ref(ptr) }
    }
}

/// # Safety
/// The caller holds (or borrows) a reference to a live task.
pub(crate) unsafe fn wake_by_ref(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the task alive.
    let header = unsafe { ptr.as_ref() };
    if header.state.wake_by_ref() == WakeAction::Submit {
        // SAFETY: `wake_by_ref` added the queue's reference.
        unsafe { (header.vtable.schedule)(ptr, false) }
    }
}

/// Requests cancellation (`JoinHandle::abort`).
///
/// # Safety
/// The caller holds a reference to a live task.
pub(crate) unsafe fn cancel(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the task alive.
    let header = unsafe { ptr.as_ref() };
    if header.state.cancel() == WakeAction::Submit {
        // SAFETY: `cancel` added the queue's reference.
        unsafe { (header.vtable.schedule)(ptr, false) }
    }
}

unsafe fn schedule<S: Schedule>(ptr: NonNull<Header>, yielded: bool) {
    // SAFETY: the caller hands over one reference for the run queue.
    let task = unsafe { Notified::from_raw(ptr) };
    let shared = task.header().shared;
    // SAFETY: the task keeps its runtime alive.
    S::schedule(unsafe { shared.as_ref() }, task, yielded)
}

// ---- running ---------------------------------------------------------------

unsafe fn poll<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the vtable was built for this `Cell<F, S>`; the run queue's
    // reference keeps it alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    let header = &cell.header;
    match header.state.start() {
        StartAction::Skip => {
            // SAFETY: the run queue's reference.
            unsafe { drop_ref(ptr) };
            return;
        }
        StartAction::Cancel => {
            // SAFETY: we hold RUNNING and the queue's reference.
            unsafe { cancel_running::<F, S>(ptr, true) };
            return;
        }
        StartAction::Poll => {}
    }

    // SAFETY: the run queue's reference keeps the task alive during the poll.
    let waker = unsafe { WakerRef::new(ptr) };
    let mut cx = Context::from_waker(&waker);
    header.wait.clear();
    let guard = context::enter_task(header);
    let result = catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: we hold RUNNING on a task that is not complete (`start`
            // skips complete ones), so we own the stage and it holds the
            // future. The future lives in the task allocation, which never
            // moves until it is freed: it is pinned.
            unsafe { Pin::new_unchecked(&mut *(*stage).future) }.poll(&mut cx)
        })
    }));
    drop(guard);

    match result {
        Ok(Poll::Pending) => match header.state.idle() {
            // `idle` dropped the run queue's reference.
            IdleAction::Idle => {}
            IdleAction::Dealloc => {
                // SAFETY: `idle` dropped the last reference.
                unsafe { dealloc::<F, S>(ptr) }
            }
            IdleAction::Requeue => {
                // Woken during its own poll: a yield. The queue reference
                // is reused.
                // SAFETY: the task keeps its runtime alive.
                unsafe { schedule::<S>(ptr, true) }
            }
            IdleAction::Cancel => {
                // SAFETY: we still hold RUNNING and the queue's reference.
                unsafe { cancel_running::<F, S>(ptr, true) }
            }
        },
        Ok(Poll::Ready(out)) => {
            // SAFETY: RUNNING: we own the stage, which holds the future.
            unsafe { finish::<F, S>(ptr, Ok(out), true, true) }
        }
        Err(panic) => {
            // A `_blocking` call released by shutdown is a cancellation.
            let err = if crate::wait::is_shutdown_unwind(&*panic) {
                JoinError::cancelled(header.id())
            } else {
                JoinError::panic(header.id(), panic)
            };
            // SAFETY: RUNNING: we own the stage, which holds the future.
            unsafe { finish::<F, S>(ptr, Err(err), true, true) }
        }
    }
}

/// Drops the future of a task we hold `RUNNING` on and completes it with
/// `Cancelled`.
///
/// # Safety
/// The caller holds `RUNNING`; `queue_ref` says whether it also owns a run
/// queue reference to drop.
unsafe fn cancel_running<F, S>(ptr: NonNull<Header>, queue_ref: bool)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: per the caller, we own the stage.
    let cell = unsafe { cell::<F, S>(ptr) };
    // Drop the future now, in this goroutine's context so that waits it
    // records are attributed correctly; a panicking destructor becomes the
    // task's result.
    let _g = context::enter_task(&cell.header);
    let dropped = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: RUNNING on a task not complete: we own the stage and it
        // holds the future, dropped once here (`finish` is told it is gone).
        cell.stage
            .with_mut(|s| unsafe { ManuallyDrop::drop(&mut (*s).future) });
    }));
    drop(_g);
    let result = match dropped {
        Err(p) if !crate::wait::is_shutdown_unwind(&*p) => {
            Err(JoinError::panic(cell.header.id(), p))
        }
        _ => Err(JoinError::cancelled(cell.header.id())),
    };
    // SAFETY: forwarded from the caller; the future is gone.
    unsafe { finish::<F, S>(ptr, result, queue_ref, false) }
}

/// Stores the result, counts the exit, marks the task complete and
/// wakes the joiner.
///
/// # Safety
/// The caller holds `RUNNING`; `queue_ref` says whether it owns a run queue
/// reference to drop; `has_future` whether the stage still holds the future
/// (else it holds nothing).
unsafe fn finish<F, S>(
    ptr: NonNull<Header>,
    result: Result<F::Output, JoinError>,
    queue_ref: bool,
    has_future: bool,
) where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: per the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    let header = &cell.header;
    // Take the future out first (after a `Ready` or a panic it is still
    // there): its destructor may panic. Then the panic is the result and
    // the output it replaces is dropped, never leaked.
    let dropped = catch_unwind(AssertUnwindSafe(|| {
        if has_future {
            // SAFETY: RUNNING: we own the stage, which holds the future
            // (the caller says), dropped once here.
            cell.stage
                .with_mut(|s| unsafe { ManuallyDrop::drop(&mut (*s).future) });
        }
    }));
    let result = match dropped {
        Ok(()) => result,
        Err(p) if crate::wait::is_shutdown_unwind(&*p) => {
            let _ = catch_unwind(AssertUnwindSafe(|| drop(result)));
            Err(JoinError::cancelled(header.id()))
        }
        Err(p) => {
            let _ = catch_unwind(AssertUnwindSafe(|| drop(result)));
            Err(JoinError::panic(header.id(), p))
        }
    };
    // SAFETY: as above; the stage holds nothing now.
    cell.stage.with_mut(|s| unsafe {
        std::ptr::write(
            s,
            Stage {
                output: ManuallyDrop::new(result),
            },
        )
    });
    // Count the exit first, so that whoever sees the task complete also
    // sees `num_goroutine` without it.
    let released = S::release(header.shared(), ptr);
    let prev: Snapshot = header.state.complete();
    if !prev.has(JOIN_HANDLE) {
        // Nobody will read the output: drop it here.
        // SAFETY: COMPLETE without a join handle: the stage is ours, and
        // holds the output just written; taken once.
        let out = cell
            .stage
            .with_mut(|s| unsafe { ManuallyDrop::take(&mut (*s).output) });
        drop_output(header, out);
    }
    if prev.has(JOIN_WAKER) {
        // JOIN_WAKER was set before COMPLETE: the entry is the runtime's
        // now and the handle will not touch it again. Woken only if the
        // handle is still there; a foreign executor's waker must not unwind
        // here, in its wake or its drop.
        if let Some(w) = header.shared().join_wakers.take(ptr.as_ptr() as usize) {
            if prev.has(JOIN_HANDLE) {
                super::wake_contained(w);
            } else {
                super::drop_contained(w);
            }
        }
    }
    let refs = usize::from(queue_ref) + usize::from(released);
    let last = match refs {
        0 => false,
        1 => header.state.ref_dec(),
        _ => header.state.ref_dec_twice(),
    };
    if last {
        // SAFETY: the last reference is gone.
        unsafe { dealloc::<F, S>(ptr) }
    }
}

/// Drops an output nobody will read; a panic nobody will see is reported.
fn drop_output<T>(header: &Header, out: Result<T, JoinError>) {
    if let Err(e) = &out {
        if e.is_panic() {
            report_detached_panic(header, e.panic_message().unwrap_or("Box<dyn Any>"));
        }
    }
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| drop(out))) {
        // A `_blocking` call released by shutdown is not a user panic.
        if !crate::wait::is_shutdown_unwind(&*p) {
            report_detached_panic(header, crate::task::join::panic_message(&*p));
        }
    }
}

fn report_detached_panic(header: &Header, msg: &str) {
    eprintln!(
        "goro: goroutine {} (spawned at {}) panicked: {}; the runtime goes on",
        header.id(),
        header.spawned_at(),
        msg
    );
}

unsafe fn shutdown<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the caller hands over the owned list's reference.
    let header = unsafe { ptr.as_ref() };
    if header.state.shutdown() {
        // SAFETY: `shutdown()` gave us RUNNING. The owned list's reference
        // was taken out of the list by the caller and is dropped in
        // `finish` through `release`... which no longer finds it, so drop
        // it here instead.
        unsafe { cancel_running::<F, S>(ptr, false) };
    }
    // SAFETY: the owned list's reference, handed over by the caller.
    unsafe { drop_ref(ptr) }
}

// ---- joining ---------------------------------------------------------------

/// Writes `Poll<Result<F::Output, JoinError>>` into `dst`.
unsafe fn read_output<F, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the join handle's reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    let dst = dst as *mut Poll<Result<F::Output, JoinError>>;
    if can_read_output(&cell.header, ptr, waker) {
        // The handle gives up the stage as it takes the output: a second
        // take, or its drop, then finds `JOIN_HANDLE` clear.
        let prev = cell.header.state.take_output();
        assert!(
            prev.has(JOIN_HANDLE),
            "JoinHandle polled after it returned Ready"
        );
        // SAFETY: COMPLETE with the join handle present: the handle owned
        // the stage, which holds the output; taken once (`take_output`).
        let out = cell
            .stage
            .with_mut(|s| unsafe { ManuallyDrop::take(&mut (*s).output) });
        // SAFETY: `dst` points at a valid `Poll<..>` owned by the caller.
        unsafe { *dst = Poll::Ready(out) };
    }
}

/// The join-waker protocol: true when the output is ready to take; false
/// after storing `waker` to be woken on completion.
/// The waker lives in the runtime's `JoinWakers`, keyed by the task.
fn can_read_output(header: &Header, ptr: NonNull<Header>, waker: &Waker) -> bool {
    let snap = header.state.load();
    if snap.has(super::state::COMPLETE) {
        return true;
    }
    let wakers = &header.shared().join_wakers;
    let key = ptr.as_ptr() as usize;
    if snap.has(JOIN_WAKER) {
        // JOIN_WAKER set: the runtime may take the entry; looking at it
        // under the map's lock is safe either way.
        if wakers.will_wake(key, waker) {
            return false;
        }
        if header.state.unset_join_waker().is_err() {
            return true;
        }
    }
    // JOIN_WAKER clear and not complete: the handle owns the entry.
    let old = wakers.insert(key, waker.clone());
    // The waker it replaces may be another executor's: its drop must not
    // unwind into this joiner.
    super::drop_contained(old);
    if header.state.set_join_waker().is_err() {
        // Completed meanwhile, without seeing JOIN_WAKER: the entry is
        // still the handle's, and nobody else would remove it.
        super::drop_contained(wakers.take(key));
        return true;
    }
    false
}

unsafe fn drop_join_handle<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the join handle's reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    let prev = cell.header.state.drop_join_handle();
    if prev.has(super::state::COMPLETE) && prev.has(JOIN_HANDLE) {
        // SAFETY: completed while the handle existed, which has not taken
        // the output: the handle owns it and nobody else touches the stage
        // any more.
        let out = cell
            .stage
            .with_mut(|s| unsafe { ManuallyDrop::take(&mut (*s).output) });
        drop_output(&cell.header, out);
    }
    // SAFETY: the handle's reference.
    unsafe { drop_ref(ptr) }
}

unsafe fn dealloc<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let cell = ptr.cast::<Cell<F, S>>();
    // SAFETY: the last reference is gone; we are the only user.
    let c = unsafe { cell.as_ref() };
    let shared = c.header.shared;
    // A task freed before it completed (a blocking task never run) still
    // holds its future; a complete one holds nothing (its output was
    // taken or dropped by whoever owned it). Dropping the future, or the
    // join waker, may panic; never unwind out of a waker drop.
    let snap = c.header.state.load();
    if !snap.has(super::state::COMPLETE) {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: not complete: the stage holds the future, and nobody
            // else can reach it.
            c.stage
                .with_mut(|s| unsafe { ManuallyDrop::drop(&mut (*s).future) });
        }));
        if snap.has(JOIN_WAKER) {
            // Never completed, so nobody took the handle's waker out.
            let w = c.header.shared().join_wakers.take(ptr.as_ptr() as usize);
            super::drop_contained(w);
        }
    }
    // SAFETY: the block came from `alloc::allocate` with this layout, and
    // its contents are dropped.
    unsafe { super::alloc::free(cell.cast(), std::alloc::Layout::new::<Cell<F, S>>()) };
    // SAFETY: the strong count taken in `allocate`. The last one tears
    // the runtime down, with whatever foreign wakers it still holds.
    super::drop_contained(unsafe { Arc::from_raw(shared.as_ptr() as *const Shared) });
}

// ---- the handle side, type-erased ----------------------------------------------

/// # Safety
/// `ptr` is a live task whose output type is `T`, and the caller holds the
/// join handle's reference.
pub(crate) unsafe fn join_poll<T>(
    ptr: NonNull<Header>,
    waker: &Waker,
) -> Poll<Result<T, JoinError>> {
    let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
    // SAFETY: the task is alive; `out` has the output type the vtable writes.
    unsafe { (ptr.as_ref().vtable.read_output)(ptr, &mut out as *mut _ as *mut (), waker) };
    out
}

/// # Safety
/// The caller owns the join handle's reference, consumed here.
pub(crate) unsafe fn join_drop(ptr: NonNull<Header>) {
    // SAFETY: per the caller.
    unsafe { (ptr.as_ref().vtable.drop_join_handle)(ptr) }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Header;

    /// The header, with everything the dump and the deadlock detector read
    /// (id, parent, spawn site, wait reason, site and start), is 48 bytes
    /// (issue 14): packed ids, 32-bit sites.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn header_is_48_bytes() {
        assert_eq!(std::mem::size_of::<Header>(), 48);
        assert_eq!(std::mem::size_of::<crate::wait::WaitRecord>(), 8);
    }

    /// The whole parked goroutine of `spawn/parked_mem` (issue 14): one
    /// block of the header and the stage (no tag: the state word says
    /// what it holds) holding an `async move { rx.recv().await }` over a
    /// `Receiver<()>`; no join-waker slot (`join_waker.rs`).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_parked_goroutine_is_one_small_block() {
        fn cell_size<F: std::future::Future>(_: &F) -> usize {
            std::mem::size_of::<super::Cell<F, ()>>()
        }
        let (_tx, rx) = crate::chan::<()>(0);
        let parked = async move {
            assert!(rx.recv().await.is_none());
        };
        assert_eq!(cell_size(&parked), 144);
    }
}
