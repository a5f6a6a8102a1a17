//! Channels (being written).

/// Placeholder.
pub fn chan() {}
