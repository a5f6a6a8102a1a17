//! `Waker`s that point straight at a task: clone is a reference increment,
//! wake submits the task to its scheduler.

use std::{
    mem::ManuallyDrop,
    ops::Deref,
    ptr::NonNull,
    task::{RawWaker, RawWakerVTable, Waker},
};

use super::raw::{self, Header};

/// A waker borrowed for one poll: it holds no reference of its own (the
/// polling worker holds one), so creating it costs nothing.
pub(crate) struct WakerRef {
    waker: ManuallyDrop<Waker>,
}

impl WakerRef {
    /// # Safety
    /// `header` must stay alive (a reference held by the caller) for as long
    /// as the `WakerRef` is used; clones take their own reference.
    pub(crate) unsafe fn new(header: NonNull<Header>) -> WakerRef {
        // SAFETY: the vtable's functions follow the RawWaker contract for a
        // pointer to a live task header; the caller keeps the task alive.
        let waker = unsafe { Waker::from_raw(raw_waker(header)) };
        WakerRef {
            waker: ManuallyDrop::new(waker),
        }
    }
}

impl Deref for WakerRef {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.waker
    }
}

/// Whether `waker` is a task waker for the task at `header`.
#[inline]
pub(crate) fn is_task_waker(waker: &Waker, header: *const Header) -> bool {
    std::ptr::eq(waker.data(), header as *const ()) && std::ptr::eq(waker.vtable(), &VTABLE)
}

fn raw_waker(header: NonNull<Header>) -> RawWaker {
    RawWaker::new(header.as_ptr() as *const (), &VTABLE)
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: a waker exists, so it holds (or borrows) a live reference.
    let header = unsafe { NonNull::new_unchecked(ptr as *mut Header) };
    // SAFETY: as above, the header is alive.
    unsafe { header.as_ref() }.state.ref_inc();
    raw_waker(header)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: the waker owns one reference to a live task.
    unsafe { raw::wake_by_val(NonNull::new_unchecked(ptr as *mut Header)) }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: the waker holds or borrows a reference to a live task.
    unsafe { raw::wake_by_ref(NonNull::new_unchecked(ptr as *mut Header)) }
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: the waker owns one reference, dropped here.
    unsafe { raw::drop_ref(NonNull::new_unchecked(ptr as *mut Header)) }
}
