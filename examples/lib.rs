//! goro's examples live beside this file, one per Go concept; see
//! `tour.rs` for a walk through all of them. This library holds the shop
//! service ([`shop`], shared by `examples/shop.rs`, its integration test and
//! the `net/shop` benchmark) and the doc tests below.
//!
//! # Data races do not compile: Rust's answer to `go run -race`
//!
//! In Go, a thousand goroutines doing `counter++` on one variable is a
//! program that compiles, runs, and prints a wrong total; `go run -race`
//! may catch it at run time (exit code 66). The same program in goro is
//! rejected by the compiler: a goroutine may outlive the function that
//! started it, so `goro::go` takes only futures that own what they use
//! (`'static`), and a `&mut counter` captured by a thousand goroutines is
//! a borrow error (`error[E0597]: counter does not live long enough`,
//! then `E0502` for reading `counter` while they may still write it).
//!
//! ```compile_fail,E0597
//! #[goro::main]
//! async fn main() {
//!     let mut counter: u64 = 0;
//!     let mut handles = Vec::new();
//!     for _ in 0..1000 {
//!         let c = &mut counter; // error[E0597]: `counter` does not live long enough
//!         handles.push(goro::go(async move {
//!             *c += 1; // the unsynchronised `counter++`
//!         }));
//!     }
//!     for h in handles {
//!         h.await.unwrap();
//!     }
//!     println!("{counter}");
//! }
//! ```
//!
//! Sharing a `Vec` by reference fails the same way: a goroutine cannot hold
//! a borrow of `main`'s stack.
//!
//! ```compile_fail,E0597
//! #[goro::main]
//! async fn main() {
//!     let mut seen: Vec<u32> = Vec::new();
//!     let seen_ref = &mut seen; // error[E0597]: `seen` does not live long enough
//!     goro::go(async move { seen_ref.push(1) });
//!     println!("{seen:?}");
//! }
//! ```
//!
//! Owning a handle is not enough either: a goroutine may run on any of the
//! runtime's threads, so what it holds must be `Send`. An `Rc<Cell<u64>>`
//! (a counter shared without atomics or a lock) is not:
//!
//! ```compile_fail
//! use std::{cell::Cell, rc::Rc};
//!
//! #[goro::main]
//! async fn main() {
//!     let counter = Rc::new(Cell::new(0u64));
//!     for _ in 0..1000 {
//!         let c = counter.clone();
//!         // error: future cannot be sent between threads safely
//!         // (`Rc<Cell<u64>>` is not `Send`)
//!         goro::go(async move { c.set(c.get() + 1) });
//!     }
//!     println!("{}", counter.get());
//! }
//! ```
//!
//! The same programs with the counter behind a `goro::sync::Mutex`, shared
//! through an `Arc`, compile and always print the exact total:
//!
//! ```
//! use std::sync::Arc;
//! use goro::sync::Mutex;
//!
//! #[goro::main]
//! async fn main() {
//!     let counter = Arc::new(Mutex::new(0u64));
//!     let mut handles = Vec::new();
//!     for _ in 0..1000 {
//!         let c = counter.clone();
//!         handles.push(goro::go(async move {
//!             *c.lock().await += 1; // mu.Lock(); counter++; mu.Unlock()
//!         }));
//!     }
//!     for h in handles {
//!         h.await.unwrap();
//!     }
//!     assert_eq!(*counter.lock().await, 1000);
//!
//!     let seen = Arc::new(Mutex::new(Vec::<u32>::new()));
//!     let s = seen.clone();
//!     goro::go(async move { s.lock().await.push(1) }).await.unwrap();
//!     assert_eq!(*seen.lock().await, [1]);
//! }
//! ```

pub mod bank;

#[path = "shop/mod.rs"]
pub mod shop;
