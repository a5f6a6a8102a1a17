//! Task memory: a per-thread cache of freed task blocks, by size class
//! (Go's per-P free lists of goroutine structs, `gfput`/`gfget`).
//!
//! Spawning and finishing goroutines allocate and free blocks of a few
//! hundred bytes at a high rate, often on different threads; the system
//! allocator spends a large share of a spawn-heavy workload on that churn.
//! Here a freed block goes to the freeing thread's cache for its class
//! (sizes rounded up to 8 bytes, up to 1 KiB), and the next spawn of the
//! same class on that thread reuses it. A thread caches at most
//! `MAX_BYTES` of blocks, whatever their classes: finished goroutines are
//! often freed in bursts (a sweep of the owned list drops the last
//! reference of every task it finds finished), and a cache of a few
//! hundred blocks a class overflowed into the system allocator there
//! (`spawn/skynet`: 11% of its instructions went to `malloc`/`free` of
//! task blocks that a larger cache reuses).
//! Larger or over-aligned tasks go straight to the system allocator. A
//! thread's cache is returned to the allocator when the thread exits.

use std::{
    alloc::{alloc, dealloc, handle_alloc_error, Layout},
    cell::RefCell,
    ptr::NonNull,
};

/// Size classes are 8 bytes apart: the system allocator adds an 8-byte
/// header and rounds chunks to 16 bytes, so a task of 16k + 8 bytes
/// rounded up to 16k + 16 would cost a whole 16 bytes more per goroutine.
const GRAIN: usize = 8;
const CLASSES: usize = 128; // blocks up to 1 KiB
/// The alignment every class is allocated with (what `malloc` gives).
const ALIGN: usize = 16;
/// The bytes of free blocks one thread keeps (Go keeps every freed `g`).
const MAX_BYTES: usize = 4 << 20;

/// The layout a task of `layout` is really allocated with, and its class.
fn class_of(layout: Layout) -> Option<(usize, Layout)> {
    if layout.align() > ALIGN || layout.size() > GRAIN * CLASSES || layout.size() == 0 {
        return None;
    }
    let class = layout.size().div_ceil(GRAIN) - 1;
    let real = Layout::from_size_align((class + 1) * GRAIN, ALIGN).ok()?;
    Some((class, real))
}

struct Cache {
    lists: [Vec<NonNull<u8>>; CLASSES],
    /// The bytes of the blocks in `lists`.
    bytes: usize,
}

impl Drop for Cache {
    fn drop(&mut self) {
        for (class, list) in self.lists.iter_mut().enumerate() {
            let layout = Layout::from_size_align((class + 1) * GRAIN, ALIGN).expect("class layout");
            for p in list.drain(..) {
                // SAFETY: every cached block was allocated with its class's layout.
                unsafe { dealloc(p.as_ptr(), layout) };
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache {
            lists: [const { Vec::new() }; CLASSES],
            bytes: 0,
        })
    };
}

/// Allocates a block for a task of `layout`.
pub(crate) fn allocate(layout: Layout) -> NonNull<u8> {
    let real = match class_of(layout) {
        Some((class, real)) => {
            let cached = CACHE
                .try_with(|c| {
                    c.try_borrow_mut().ok().and_then(|mut c| {
                        let p = c.lists[class].pop()?;
                        c.bytes -= real.size();
                        Some(p)
                    })
                })
                .ok()
                .flatten();
            if let Some(p) = cached {
                return p;
            }
            real
        }
        None => layout,
    };
    // SAFETY: `real` has a non-zero size (tasks hold at least a header).
    let p = unsafe { alloc(real) };
    NonNull::new(p).unwrap_or_else(|| handle_alloc_error(real))
}

/// Frees a block from [`allocate`] with the same `layout`.
///
/// # Safety
/// `p` came from `allocate(layout)` and its contents have been dropped.
pub(crate) unsafe fn free(p: NonNull<u8>, layout: Layout) {
    let real = match class_of(layout) {
        Some((class, real)) => {
            let kept = CACHE
                .try_with(|c| match c.try_borrow_mut() {
                    Ok(mut c) if c.bytes + real.size() <= MAX_BYTES => {
                        c.lists[class].push(p);
                        c.bytes += real.size();
                        true
                    }
                    _ => false,
                })
                .unwrap_or(false);
            if kept {
                return;
            }
            real
        }
        None => layout,
    };
    // SAFETY: per the caller, allocated by `allocate` with this layout,
    // which used `real`.
    unsafe { dealloc(p.as_ptr(), real) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_up_and_big_or_aligned_blocks_bypass_the_cache() {
        let l = Layout::from_size_align(200, 8).unwrap();
        let (c, real) = class_of(l).unwrap();
        assert_eq!(real.size(), 200);
        assert_eq!(c, 24);
        let (c, real) = class_of(Layout::from_size_align(212, 16).unwrap()).unwrap();
        assert_eq!((c, real.size(), real.align()), (26, 216, 16));
        assert!(class_of(Layout::from_size_align(4096, 8).unwrap()).is_none());
        assert!(class_of(Layout::from_size_align(64, 64).unwrap()).is_none());
        // A freed block is reused by the next allocation of its class.
        let p = allocate(l);
        // SAFETY: from `allocate(l)`, nothing inside.
        unsafe { free(p, l) };
        let q = allocate(Layout::from_size_align(199, 8).unwrap());
        assert_eq!(p, q);
        // SAFETY: as above.
        unsafe { free(q, l) };
    }

    /// A burst of frees is cached up to `MAX_BYTES`, the rest returned to
    /// the system allocator; the cached blocks are all handed out again.
    #[test]
    fn the_cache_keeps_at_most_max_bytes() {
        let l = Layout::from_size_align(1024, 8).unwrap();
        let n = MAX_BYTES / 1024 + 100;
        let blocks: Vec<_> = (0..n).map(|_| allocate(l)).collect();
        for p in blocks {
            // SAFETY: from `allocate(l)`, nothing inside.
            unsafe { free(p, l) };
        }
        let bytes = CACHE.with(|c| c.borrow().bytes);
        assert!((MAX_BYTES - 1024..=MAX_BYTES).contains(&bytes), "{bytes}");
        let again: Vec<_> = (0..n).map(|_| allocate(l)).collect();
        assert_eq!(CACHE.with(|c| c.borrow().bytes), 0);
        for p in again {
            // SAFETY: as above.
            unsafe { free(p, l) };
        }
    }
}
