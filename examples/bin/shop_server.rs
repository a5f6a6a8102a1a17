//! The shop's command line as a binary target (`shop-server`), so that
//! integration tests can start it as a process (`CARGO_BIN_EXE_shop-server`)
//! and kill it; `cargo run --example shop` runs the same `main`.

#[path = "../shop.rs"]
mod shop;

fn main() -> std::process::ExitCode {
    shop::main()
}
