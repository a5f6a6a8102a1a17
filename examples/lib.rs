//! goro's examples live beside this file, one per Go concept; see
//! `tour.rs` for a walk through all of them. This library is empty.
