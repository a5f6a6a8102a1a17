//! Shared helpers for goro's examples.
