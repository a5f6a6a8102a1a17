//! The sync package (being written).
