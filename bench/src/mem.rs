//! Resident memory of this process, for `spawn/parked_mem`.
//!
//! Read from `/proc/self/statm` (second field: resident pages), which the
//! kernel keeps exact for the process; the Go twin reads the same file.

/// Resident set size in bytes.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("resident pages in /proc/self/statm");
    pages * page_size()
}

/// The page size, from the auxiliary vector's AT_PAGESZ (no libc needed).
fn page_size() -> u64 {
    const AT_PAGESZ: u64 = 6;
    if let Ok(auxv) = std::fs::read("/proc/self/auxv") {
        for pair in auxv.chunks_exact(16) {
            let key = u64::from_ne_bytes(pair[..8].try_into().unwrap());
            let val = u64::from_ne_bytes(pair[8..].try_into().unwrap());
            if key == AT_PAGESZ {
                return val;
            }
        }
    }
    4096
}

/// Bytes per goroutine: `(after - before) / n`.
pub fn per_goroutine(before: u64, after: u64, n: usize) -> f64 {
    after.saturating_sub(before) as f64 / n as f64
}
