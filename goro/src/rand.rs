//! A small, fast, thread-local pseudo-random generator (wyrand).
//!
//! Used where Go uses `cheaprand`: choosing a steal victim, shuffling the
//! arms of a `select`. Not for anything that needs unpredictability.

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded per process by the OS; mix in the thread's
    // address so each thread gets its own stream.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let local = 0u8;
    h.write_usize(&local as *const u8 as usize);
    h.finish() | 1
}

/// A uniformly distributed `u64`.
#[inline]
pub(crate) fn u64() -> u64 {
    STATE.with(|s| {
        let x = s.get().wrapping_add(0xa076_1d64_78bd_642f);
        s.set(x);
        let t = (x as u128).wrapping_mul((x ^ 0xe703_7ed1_a0b4_28db) as u128);
        (t as u64) ^ ((t >> 64) as u64)
    })
}

/// A uniformly distributed number in `0..n` (Lemire's multiply-shift; the
/// bias is below 2^-32 for the small `n` goro uses). `n` must be non-zero.
#[inline]
pub(crate) fn below(n: u32) -> u32 {
    debug_assert!(n > 0);
    (((u64() >> 32) * n as u64) >> 32) as u32
}

/// Replaces this thread's generator state with one derived from `seed`
/// (seeded scheduling: every choice on the thread then follows from it);
/// returns the old state, for [`restore`].
pub(crate) fn reseed(seed: u64) -> u64 {
    // Mixed so that neighbouring seeds start far apart.
    let s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03;
    STATE.with(|st| st.replace(s | 1))
}

/// Puts back a state [`reseed`] returned.
pub(crate) fn restore(state: u64) {
    STATE.with(|st| st.set(state));
}

#[cfg(test)]
mod tests {
    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut seen = [0u32; 7];
        for _ in 0..70_000 {
            let v = super::below(7);
            seen[v as usize] += 1;
        }
        for c in seen {
            assert!((8_000..12_000).contains(&c), "{seen:?}");
        }
    }
}
