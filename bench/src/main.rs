//! goro's benchmark runner: goro, tokio, the channel crates and Go's runtime
//! on the same workloads. See bench/README.md.
//!
//! ```text
//! cargo run --release -- [FILTER...] [--quick] [--procs N] [--reps N] [--no-go] [--write|--no-write] [--list]
//! ```
//! A FILTER keeps the ids (`area/workload/impl`) that contain it.

mod chan;
mod go;
#[cfg(feature = "goro")]
mod goro_impl;
mod mem;
mod net;
mod rt;
mod runner;
mod sched;
mod shop;
mod shop_tokio;
mod spawn;
mod sync;
mod workload;

use std::time::Duration;

use workload::Cfg;

const USAGE: &str =
    "usage: goro-bench [FILTER...] [--quick] [--procs N] [--reps N] [--timeout SECS] \
                     [--no-go] [--write|--no-write] [--list]";

fn main() {
    let mut args = std::env::args().skip(1);
    let mut filters = Vec::new();
    let mut quick = false;
    let mut procs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let mut reps = 5;
    let mut go = true;
    let mut write = None;
    let mut timeout = 300;
    let mut child = None;
    let mut shop_server = None;
    let number = |flag: &str, v: Option<String>| -> usize {
        v.and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| {
                eprintln!("{flag} needs a positive number\n{USAGE}");
                std::process::exit(2)
            })
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--procs" => procs = number("--procs", args.next()),
            "--reps" => reps = number("--reps", args.next()),
            "--timeout" => timeout = number("--timeout", args.next()),
            "--no-go" => go = false,
            "--write" => write = Some(true),
            "--no-write" => write = Some(false),
            "--child" => child = args.next(),
            // net/shop's servers (src/shop.rs): `goro` or `tokio`.
            "--shop-server" => shop_server = args.next(),
            "--list" => {
                runner::list();
                return;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            f if f.starts_with('-') => {
                eprintln!("unknown flag {f}\n{USAGE}");
                std::process::exit(2);
            }
            f => filters.push(f.to_string()),
        }
    }
    let cfg = Cfg { procs, quick };
    if let Some(which) = shop_server {
        std::process::exit(shop::serve(&which, &cfg));
    }
    let code = match child {
        Some(id) => runner::run_child_mode(&id, &cfg, reps),
        None => runner::run(&runner::Opts {
            filters,
            cfg,
            reps,
            go,
            write,
            timeout: Duration::from_secs(timeout as u64),
        }),
    };
    std::process::exit(code);
}
