//! Task memory: blocks of exact size, carved from large chunks, and a
//! per-thread cache of freed blocks by size class (Go's per-P and global
//! free lists of goroutine structs, `gfput`/`gfget`, and its `allgs`, which
//! are never freed either).
//!
//! Spawning and finishing goroutines allocate and free blocks of a few
//! hundred bytes at a high rate, often on different threads; the system
//! allocator spends a large share of a spawn-heavy workload on that churn.
//! Here a freed block goes to the freeing thread's cache for its class
//! (sizes rounded up to 8 bytes, or 16 for 16-aligned tasks, up to 1 KiB),
//! and the next spawn of the same class on that thread reuses it. A
//! thread caches at most `MAX_BYTES` of blocks, whatever their classes:
//! finished goroutines are often freed in bursts (the goroutines of a
//! spawn-heavy program finish in waves; until a finished goroutine left
//! its list at once, a sweep of the owned list freed them all together), and a
//! cache of a few hundred blocks a class overflowed there (`spawn/skynet`:
//! 11% of its instructions went to `malloc`/`free` of task blocks that a
//! larger cache reuses). What overflows goes to a process-wide pool per
//! class, in batches, where any thread finds it again; a thread that exits
//! gives its cache (and the rest of its chunk) to the pool.
//!
//! Why exact-size blocks from chunks, never returned? `malloc` puts an
//! 8-byte header before every block and rounds it to 16 bytes: a 144-byte
//! task cost 160, a parked goroutine a tenth more than its block (issue
//! 14). A block carved from a 64 KiB chunk costs its size. The price is
//! Go's: task memory, once used, stays with the process for the next
//! goroutines (of any runtime) rather than going back to the allocator.
//! Larger or over-aligned tasks go straight to the system allocator.

// loom-exempt: the process-wide pool of free task blocks (memory, not a
// protocol).
use std::{
    alloc::{alloc, dealloc, handle_alloc_error, Layout},
    cell::RefCell,
    ptr::NonNull,
    sync::{
        atomic::{AtomicUsize, Ordering::Relaxed},
        Mutex,
    },
};

/// Blocks of alignment up to `GRAIN` have classes 8 bytes apart; blocks
/// aligned to 16 have their own classes, 16 bytes apart.
const GRAIN: usize = 8;
const CLASSES: usize = 128; // blocks up to 1 KiB
/// The largest alignment a class serves.
const MAX_ALIGN: usize = 16;
/// The bytes of free blocks one thread keeps (Go keeps every freed `g`).
const MAX_BYTES: usize = 4 << 20;
/// The size of the chunks blocks are carved from.
const CHUNK: usize = 64 << 10;
/// How many blocks move between a thread's cache and the pool at once.
const BATCH: usize = 32;

/// The class of a task of `layout` and the size and alignment it is
/// really given: 8-aligned classes `0..CLASSES`, 16-aligned ones after.
fn class_of(layout: Layout) -> Option<(usize, Layout)> {
    if layout.align() > MAX_ALIGN || layout.size() > GRAIN * CLASSES || layout.size() == 0 {
        return None;
    }
    let (class, real) = if layout.align() <= GRAIN {
        let c = layout.size().div_ceil(GRAIN) - 1;
        (c, (c + 1) * GRAIN)
    } else {
        let c = layout.size().div_ceil(MAX_ALIGN) - 1;
        (CLASSES + c, (c + 1) * MAX_ALIGN)
    };
    let align = if class < CLASSES { GRAIN } else { MAX_ALIGN };
    Some((class, Layout::from_size_align(real, align).ok()?))
}

/// The classes: `CLASSES` 8-aligned, `CLASSES / 2` 16-aligned.
const ALL_CLASSES: usize = CLASSES + CLASSES / 2;

/// A free block (its memory is only ours while it sits in a list).
#[derive(Clone, Copy)]
struct Block(NonNull<u8>);

// SAFETY: a free block is plain memory owned by whichever list holds it.
unsafe impl Send for Block {}

/// Free blocks of every class that no thread's cache holds, and the
/// unused tails of chunks whose thread exited.
struct Pool {
    lists: [Vec<Block>; ALL_CLASSES],
    tails: Vec<(Block, usize)>,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    lists: [const { Vec::new() }; ALL_CLASSES],
    tails: Vec::new(),
});

/// How many blocks of each class the pool holds, written under its lock:
/// a thread whose cache is empty looks here before it takes the lock (a
/// spawn-heavy program that only grows finds the pool empty every time).
static POOLED: [AtomicUsize; ALL_CLASSES] = [const { AtomicUsize::new(0) }; ALL_CLASSES];

impl Pool {
    fn put(&mut self, class: usize, blocks: impl IntoIterator<Item = Block>) {
        self.lists[class].extend(blocks);
        POOLED[class].store(self.lists[class].len(), Relaxed);
    }
}

struct Cache {
    lists: [Vec<Block>; ALL_CLASSES],
    /// The bytes of the blocks in `lists`.
    bytes: usize,
    /// What is left of this thread's current chunk: start and length.
    tail: Option<(Block, usize)>,
}

impl Cache {
    fn allocate(&mut self, class: usize, real: Layout) -> NonNull<u8> {
        if let Some(b) = self.lists[class].pop() {
            self.bytes -= real.size();
            return b.0;
        }
        if POOLED[class].load(Relaxed) != 0 {
            let mut pool = crate::runtime::lock_static(&POOL);
            let list = &mut pool.lists[class];
            let at = list.len().saturating_sub(BATCH);
            self.lists[class].extend(list.drain(at..));
            POOLED[class].store(list.len(), Relaxed);
            drop(pool);
            if let Some(b) = self.lists[class].pop() {
                self.bytes += self.lists[class].len() * real.size();
                return b.0;
            }
        }
        self.carve(real)
    }

    /// A new block from the current chunk, or from a new one.
    fn carve(&mut self, real: Layout) -> NonNull<u8> {
        loop {
            if let Some((start, len)) = self.tail {
                let addr = start.0.as_ptr() as usize;
                let pad = addr.next_multiple_of(real.align()) - addr;
                if pad + real.size() <= len {
                    // SAFETY: within the chunk, `pad + size <= len`.
                    let p = unsafe { start.0.add(pad) };
                    let rest = len - pad - real.size();
                    // SAFETY: as above; one past the block, still in (or at
                    // the end of) the chunk.
                    self.tail = Some((Block(unsafe { p.add(real.size()) }), rest));
                    return p;
                }
            }
            // What is left of the old chunk is too small for this block
            // (and is at most a block's worth): it stays unused.
            let reused = crate::runtime::lock_static(&POOL).tails.pop();
            self.tail = Some(reused.unwrap_or_else(|| {
                let layout = Layout::from_size_align(CHUNK, MAX_ALIGN).expect("chunk layout");
                // SAFETY: a non-zero size.
                let p = unsafe { alloc(layout) };
                (
                    Block(NonNull::new(p).unwrap_or_else(|| handle_alloc_error(layout))),
                    CHUNK,
                )
            }));
        }
    }

    fn free(&mut self, p: NonNull<u8>, class: usize, real: Layout) {
        self.lists[class].push(Block(p));
        self.bytes += real.size();
        if self.bytes > MAX_BYTES {
            // Give a batch of this class to the pool.
            let list = &mut self.lists[class];
            let at = list.len().saturating_sub(BATCH);
            self.bytes -= (list.len() - at) * real.size();
            crate::runtime::lock_static(&POOL).put(class, list.drain(at..));
        }
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        let mut pool = crate::runtime::lock_static(&POOL);
        for (class, list) in self.lists.iter_mut().enumerate() {
            if !list.is_empty() {
                pool.put(class, list.drain(..));
            }
        }
        if let Some(t) = self.tail.take() {
            // Pooled tails hold a block of any class.
            if t.1 >= GRAIN * CLASSES + MAX_ALIGN {
                pool.tails.push(t);
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache {
            lists: [const { Vec::new() }; ALL_CLASSES],
            bytes: 0,
            tail: None,
        })
    };
}

/// Allocates a block for a task of `layout`.
pub(crate) fn allocate(layout: Layout) -> NonNull<u8> {
    let Some((class, real)) = class_of(layout) else {
        // SAFETY: `layout` has a non-zero size (tasks hold at least a header).
        let p = unsafe { alloc(layout) };
        return NonNull::new(p).unwrap_or_else(|| handle_alloc_error(layout));
    };
    let cached = CACHE
        .try_with(|c| c.try_borrow_mut().ok().map(|mut c| c.allocate(class, real)))
        .ok()
        .flatten();
    cached.unwrap_or_else(|| {
        // No cache on this thread (it is exiting): the pool, or the system
        // allocator. Either way the block is one of the class's from now on.
        let mut pool = crate::runtime::lock_static(&POOL);
        if let Some(b) = pool.lists[class].pop() {
            POOLED[class].store(pool.lists[class].len(), Relaxed);
            return b.0;
        }
        drop(pool);
        // SAFETY: a non-zero size.
        let p = unsafe { alloc(real) };
        NonNull::new(p).unwrap_or_else(|| handle_alloc_error(real))
    })
}

/// Frees a block from [`allocate`] with the same `layout`.
///
/// # Safety
/// `p` came from `allocate(layout)` and its contents have been dropped.
pub(crate) unsafe fn free(p: NonNull<u8>, layout: Layout) {
    let Some((class, real)) = class_of(layout) else {
        // SAFETY: per the caller, allocated by `allocate` with this layout,
        // which used the system allocator for it.
        unsafe { dealloc(p.as_ptr(), layout) };
        return;
    };
    let kept = CACHE
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut c) => {
                c.free(p, class, real);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false);
    if !kept {
        crate::runtime::lock_static(&POOL).put(class, [Block(p)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_up_and_big_or_aligned_blocks_bypass_the_cache() {
        let l = Layout::from_size_align(200, 8).unwrap();
        let (c, real) = class_of(l).unwrap();
        assert_eq!((c, real.size(), real.align()), (24, 200, 8));
        let (c, real) = class_of(Layout::from_size_align(144, 8).unwrap()).unwrap();
        assert_eq!((c, real.size()), (17, 144));
        let (c, real) = class_of(Layout::from_size_align(212, 16).unwrap()).unwrap();
        assert_eq!((c, real.size(), real.align()), (CLASSES + 13, 224, 16));
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

    /// Blocks are carved back to back, at their exact size and alignment.
    #[test]
    fn blocks_are_carved_at_their_exact_size() {
        std::thread::spawn(|| {
            let l = Layout::from_size_align(144, 8).unwrap();
            let a = allocate(l);
            let b = allocate(l);
            assert_eq!(b.as_ptr() as usize - a.as_ptr() as usize, 144);
            let l16 = Layout::from_size_align(40, 16).unwrap();
            let c = allocate(l16);
            assert_eq!(c.as_ptr() as usize % 16, 0);
            // SAFETY: from `allocate` with these layouts, nothing inside.
            unsafe {
                free(a, l);
                free(b, l);
                free(c, l16);
            }
        })
        .join()
        .unwrap();
    }

    /// A burst of frees is cached up to `MAX_BYTES`, the rest given to the
    /// pool; the blocks are all handed out again.
    #[test]
    fn the_cache_keeps_at_most_max_bytes() {
        std::thread::spawn(|| {
            let l = Layout::from_size_align(1024, 8).unwrap();
            let n = MAX_BYTES / 1024 + 100;
            let blocks: Vec<_> = (0..n).map(|_| allocate(l)).collect();
            for p in blocks {
                // SAFETY: from `allocate(l)`, nothing inside.
                unsafe { free(p, l) };
            }
            let bytes = CACHE.with(|c| c.borrow().bytes);
            assert!(
                (MAX_BYTES - BATCH * 1024..=MAX_BYTES).contains(&bytes),
                "{bytes}"
            );
            let again: Vec<_> = (0..n).map(|_| allocate(l)).collect();
            // Drawn from the pool in batches: at most one left over.
            let bytes = CACHE.with(|c| c.borrow().bytes);
            assert!(bytes < BATCH * 1024, "{bytes}");
            for p in again {
                // SAFETY: as above.
                unsafe { free(p, l) };
            }
        })
        .join()
        .unwrap();
    }
}
