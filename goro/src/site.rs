//! A call site — the `&'static Location` of a `#[track_caller]` call —
//! in 32 bits, for the fields every goroutine carries (its spawn site and
//! its wait site, issue 14).
//!
//! Every `Location` the compiler makes is a static of the program image,
//! and so is [`ANCHOR`]: on 64-bit targets a site is stored as its
//! distance from the anchor, in units of `Location`'s alignment, which
//! reaches ±8 GiB with 8-byte alignment — any program linked as one image.
//! A location farther away (goro in one shared library, the caller in
//! another) is interned instead, once, in a process-wide table, and
//! stored as its index. 32-bit targets store the address itself.
//!
//! The encoding: `0` is no site; an even word `2q` is the location `q`
//! units from the anchor; an odd word `2i + 1` is entry `i` of the table.
//!
//! Why not keep the pointer? A goroutine carries two sites; 8 bytes saved
//! from each parked goroutine's header (64 → 48 bytes with the packed ids,
//! see `task/raw.rs`). Encoding is a subtraction and a range check;
//! decoding (dumps, warnings, reports) an addition.

// loom-exempt: the table of far sites is a diagnostics registry outside
// every protocol.
use std::{collections::BTreeMap, panic::Location, sync::Mutex};

/// A call site, or none.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Site(u32);

/// What sites are measured from (64-bit targets).
#[cfg(target_pointer_width = "64")]
static ANCHOR: u64 = 0;

/// The sites too far from [`ANCHOR`], by address, and their indices.
static FAR: Mutex<(Vec<&'static Location<'static>>, BTreeMap<usize, u32>)> =
    Mutex::new((Vec::new(), BTreeMap::new()));

#[cfg(target_pointer_width = "64")]
const UNIT: isize = std::mem::align_of::<Location<'static>>() as isize;

impl Site {
    /// The site of `loc`.
    #[inline]
    pub(crate) fn new(loc: &'static Location<'static>) -> Site {
        let addr = loc as *const Location<'static> as usize;
        #[cfg(target_pointer_width = "64")]
        {
            let d = addr.wrapping_sub(&ANCHOR as *const u64 as usize) as isize;
            if d % UNIT == 0 {
                let q = d / UNIT;
                // `q == 0` would be the anchor itself, never a `Location`.
                if q != 0 && (-(1 << 30)..(1 << 30)).contains(&q) {
                    return Site((q as i32 as u32) << 1);
                }
            }
            Site::far(loc, addr)
        }
        #[cfg(not(target_pointer_width = "64"))]
        {
            let _ = Site::far;
            Site(addr as u32)
        }
    }

    #[cold]
    fn far(loc: &'static Location<'static>, addr: usize) -> Site {
        let mut far = crate::runtime::lock_static(&FAR);
        let (list, index) = &mut *far;
        let i = *index.entry(addr).or_insert_with(|| {
            list.push(loc);
            (list.len() - 1) as u32
        });
        assert!(i < 1 << 31, "goro: more than 2^31 distinct far call sites");
        Site(i << 1 | 1)
    }

    /// The location, if any.
    #[inline]
    pub(crate) fn get(self) -> Option<&'static Location<'static>> {
        if self.0 == 0 {
            return None;
        }
        if self.0 & 1 == 1 {
            let far = crate::runtime::lock_static(&FAR);
            return far.0.get((self.0 >> 1) as usize).copied();
        }
        // SAFETY: only `Site::new` makes an even nonzero word, from a
        // `&'static Location` at exactly this address (its provenance
        // exposed by the cast to `usize` there).
        Some(unsafe { &*(near_addr(self.0) as *const Location<'static>) })
    }

    /// The raw word, for an atomic.
    #[inline]
    pub(crate) fn to_bits(self) -> u32 {
        self.0
    }

    /// A word from [`to_bits`](Site::to_bits).
    #[inline]
    pub(crate) fn from_bits(bits: u32) -> Site {
        Site(bits)
    }
}

/// The address an even site word names.
#[cfg(target_pointer_width = "64")]
#[inline]
fn near_addr(v: u32) -> usize {
    let q = (v as i32 >> 1) as isize;
    (&ANCHOR as *const u64 as usize).wrapping_add((q * UNIT) as usize)
}

/// The address an even site word names (32-bit targets: the address).
#[cfg(not(target_pointer_width = "64"))]
#[inline]
fn near_addr(v: u32) -> usize {
    v as usize
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            Some(l) => write!(f, "Site({l})"),
            None => f.write_str("Site(none)"),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Site;
    use std::panic::Location;

    #[track_caller]
    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    #[test]
    fn sites_round_trip() {
        let a = here();
        let b = here();
        assert_eq!(
            Site::new(a).get().map(|l| l as *const _),
            Some(a as *const _)
        );
        assert_eq!(Site::new(b).get().unwrap().line(), b.line());
        assert_ne!(Site::new(a), Site::new(b));
        assert_eq!(Site::default().get(), None);
        // A far site goes through the table, once.
        let leaked: &'static Location<'static> = Box::leak(Box::new(*a));
        let addr = leaked as *const Location<'static> as usize;
        let s = Site::far(leaked, addr);
        assert_eq!(s.to_bits() & 1, 1);
        assert_eq!(Site::far(leaked, addr), s);
        assert_eq!(s.get().map(|l| l as *const _), Some(leaked as *const _));
        // Wherever the heap is, a leaked location round-trips.
        let s = Site::new(leaked);
        assert_eq!(s.get().map(|l| l as *const _), Some(leaked as *const _));
    }
}
