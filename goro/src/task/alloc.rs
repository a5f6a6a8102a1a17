//! Task memory: a per-thread cache of freed task blocks, by size class
//! (Go's per-P free lists of goroutine structs, `gfput`/`gfget`).
//!
//! Spawning and finishing goroutines allocate and free blocks of a few
//! hundred bytes at a high rate, often on different threads; the system
//! allocator spends a large share of a spawn-heavy workload on that churn.
//! Here a freed block goes to the freeing thread's cache for its class
//! (sizes rounded up to 16 bytes, up to 1 KiB, at most `PER_CLASS` blocks a
//! class), and the next spawn of the same class on that thread reuses it.
//! Larger or over-aligned tasks go straight to the system allocator. A
//! thread's cache is returned to the allocator when the thread exits.

use std::{
    alloc::{alloc, dealloc, handle_alloc_error, Layout},
    cell::RefCell,
    ptr::NonNull,
};

const GRAIN: usize = 16;
const CLASSES: usize = 64; // blocks up to 1 KiB
const PER_CLASS: usize = 256;

/// The layout a task of `layout` is really allocated with, and its class.
fn class_of(layout: Layout) -> Option<(usize, Layout)> {
    if layout.align() > GRAIN || layout.size() > GRAIN * CLASSES || layout.size() == 0 {
        return None;
    }
    let class = layout.size().div_ceil(GRAIN) - 1;
    let real = Layout::from_size_align((class + 1) * GRAIN, GRAIN).ok()?;
    Some((class, real))
}

struct Cache {
    lists: [Vec<NonNull<u8>>; CLASSES],
}

impl Drop for Cache {
    fn drop(&mut self) {
        for (class, list) in self.lists.iter_mut().enumerate() {
            let layout = Layout::from_size_align((class + 1) * GRAIN, GRAIN).expect("class layout");
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
        })
    };
}

/// Allocates a block for a task of `layout`.
pub(crate) fn allocate(layout: Layout) -> NonNull<u8> {
    let real = match class_of(layout) {
        Some((class, real)) => {
            let cached = CACHE
                .try_with(|c| {
                    c.try_borrow_mut()
                        .ok()
                        .and_then(|mut c| c.lists[class].pop())
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
                    Ok(mut c) if c.lists[class].len() < PER_CLASS => {
                        c.lists[class].push(p);
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
        assert_eq!(real.size(), 208);
        assert_eq!(c, 12);
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
}
