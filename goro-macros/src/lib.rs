//! Procedural macros for goro.
