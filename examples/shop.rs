//! The shop: goro's main demo. An HTTP order service on hyper + goro that
//! fires its own load at itself.
//!
//! `POST /buy` puts the order into a buffered channel and answers
//! `202 Accepted` at once; a fixed pool of worker goroutines processes the
//! orders; a full queue answers `503` with `Retry-After`; bad input gets a
//! `400` that says what is wrong. `GET /stats` tells how it is going. The
//! service lives in `examples/shop/` (module `goro_examples::shop`); this
//! file is the command line around it.
//!
//! ```text
//! cargo run --release --example shop                      # serve + 50,000 orders from 1,000 customers
//! cargo run --release --example shop -- --orders 200000 --customers 2000
//! cargo run --release --example shop -- --serve           # only serve, on 127.0.0.1:8080
//!   curl -i -d '{"product":"rust-mug","qty":2,"customer":7}' localhost:8080/buy
//!   curl localhost:8080/stats
//!   Ctrl-C: stop accepting, drain the queue, wait for the workers, print the summary
//! ```
//!
//! `cargo run --release --example shop -- --help` lists the flags. By
//! default the orders are kept in a SQLite database in a new temporary
//! directory (the summary's `data` line says where); `--db PATH` picks the
//! file (reopening it re-queues what was accepted and not yet processed),
//! `--memory` keeps everything in memory as a pure-speed comparison.
//! `GOMAXPROCS` sets the worker threads, as in Go.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use goro::signal::{notify, Signal};
use goro_examples::shop::load::{self, LoadConfig, LoadReport};
use goro_examples::shop::{Config, Server, Stats};
use indicatif::{ProgressBar, ProgressStyle};

/// goro's HTTP order service demo: serves `POST /buy` and `GET /stats`
/// and, unless told otherwise, fires its own load at itself.
#[derive(Parser, Debug)]
#[command(name = "shop", version)]
struct Cli {
    /// Only serve, on ADDR (default 127.0.0.1:8080), until Ctrl-C; then
    /// drain the queue and print the summary
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
    serve: Option<String>,
    /// Only be the customers: send the load to a shop already running at
    /// IP:PORT (e.g. the Go twin) instead of starting one
    #[arg(long, value_name = "IP:PORT", conflicts_with = "serve")]
    target: Option<SocketAddr>,
    /// Worker goroutines processing orders
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    workers: u64,
    /// The order queue: a capacity N (an in-process channel; full answers
    /// 503), or nats://HOST:PORT, a NATS JetStream broker shared by every
    /// shop started with the same URL (stock and totals in its key-value store)
    #[arg(long, value_name = "N|nats://HOST:PORT", default_value = "1024", value_parser = parse_queue)]
    queue: Queue,
    /// With --queue nats://...: the most orders the broker's stream holds
    /// (shared by every shop); beyond, 503 [default: 1024]
    #[arg(long = "queue-len", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    queue_len: Option<u64>,
    /// With --queue nats://...: an order not acknowledged this long after
    /// its delivery is delivered again (to any shop process)
    #[arg(long = "ack-wait-ms", value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..))]
    ack_wait_ms: u64,
    /// Simulated downstream call per order, in microseconds (0: none)
    #[arg(long = "delay-us", value_name = "US", default_value_t = 200)]
    delay_us: u64,
    /// Orders the customers send (demo and --target)
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..))]
    orders: u64,
    /// Concurrent customers, each a keep-alive connection (demo and --target)
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    customers: u64,
    /// SQLite database file for the orders (created if missing; reopened
    /// as it is, its unprocessed orders queued again). Default: shop.db in
    /// a new temporary directory
    #[arg(long, value_name = "PATH", conflicts_with = "memory")]
    db: Option<PathBuf>,
    /// Keep the orders in memory only (no database): a pure-speed comparison
    #[arg(long)]
    memory: bool,
    /// Most writes the database writer commits in one transaction (group commit)
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,
}

/// `--queue`: a capacity or a broker.
#[derive(Clone, Debug)]
enum Queue {
    Len(u64),
    Nats(String),
}

fn parse_queue(s: &str) -> Result<Queue, String> {
    if s.starts_with("nats://") {
        return Ok(Queue::Nats(s.to_string()));
    }
    match s.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(Queue::Len(n)),
        _ => Err(format!(
            "expected a capacity (1 or more) or nats://HOST:PORT, got {s:?}"
        )),
    }
}

struct Opts {
    serve: Option<String>,
    target: Option<SocketAddr>,
    shop: Config,
    load: LoadConfig,
}

pub(crate) fn main() -> ExitCode {
    let opts = match options(Cli::parse()) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("shop: {msg}");
            return ExitCode::FAILURE;
        }
    };

    // Go: `signal.Notify(sigint, os.Interrupt, syscall.SIGTERM)`. Ctrl-C or
    // a plain `kill` stops accepting, drains the queue and prints the summary.
    let sigint = notify(&[Signal::INTERRUPT, Signal::SIGTERM]);

    // Go's `func main()`: the runtime starts, main's body is the first goroutine.
    goro::run(async move {
        match (opts.serve, opts.target) {
            (Some(addr), _) => serve(&addr, opts.shop, sigint).await,
            (None, Some(target)) => drive(target, opts.load).await,
            (None, None) => demo(opts.shop, opts.load, sigint).await,
        }
    })
}

/// `--serve`: serve until Ctrl-C, then shut down gracefully.
async fn serve(addr: &str, cfg: Config, sigint: goro::chan::Receiver<Signal>) -> ExitCode {
    let server = match Server::bind(addr, cfg.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("shop: cannot start on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = server.addr();
    println!("shop listening on http://{addr}/ ({})", describe(&cfg));
    print_data(&server.stats().await);
    println!(
        "  curl -i -d '{{\"product\":\"rust-mug\",\"qty\":2,\"customer\":7}}' http://{addr}/buy"
    );
    println!("  curl http://{addr}/stats");
    println!("  curl http://{addr}/debug/goroutines      # grouped; ?debug=2 every goroutine");
    println!("Ctrl-C stops it gracefully.");
    sigint.recv().await;
    println!("\nshutting down: no new connections, draining the queue ...");
    let stats = server.shutdown().await;
    print_summary(&stats);
    check(&stats)
}

/// The default: serve on a free port and be our own customers.
async fn demo(cfg: Config, load_cfg: LoadConfig, sigint: goro::chan::Receiver<Signal>) -> ExitCode {
    let server = match Server::bind("127.0.0.1:0", cfg.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("shop: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = server.addr();
    // A reopened database already holds orders: the check counts this run's.
    let before = server.stats().await;
    println!("shop listening on http://{addr}/ ({})", describe(&cfg));
    print_data(&before);
    println!(
        "{} customers send {} orders over keep-alive HTTP/1.1 (1 in {} bad on purpose) ...",
        load_cfg.customers, load_cfg.orders, load_cfg.bad_every
    );

    // Hidden automatically when stderr is not a terminal.
    let bar = ProgressBar::new(load_cfg.orders).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} orders  {per_sec}  {elapsed}")
            .expect("a valid template"),
    );
    let tick = bar.clone();
    let expected_bad = load_cfg.expected_bad();

    // The customers run in their own goroutine; main waits for whichever
    // comes first, their report or Ctrl-C (Go: a `select` over two channels).
    let (report_tx, report_rx) = goro::chan::<std::io::Result<LoadReport>>(1);
    goro::go(async move {
        let report = load::run(addr, load_cfg, Arc::new(move || tick.inc(1))).await;
        let _ = report_tx.send(report).await;
    });
    let report = goro::select! {
        recv(report_rx) -> r => r,
        recv(sigint) -> _ => None,
    };
    bar.finish_and_clear();

    let stats = server.shutdown().await;
    let mut ok = true;
    match report {
        Some(Ok(report)) => {
            print_load(&report);
            if report.bad != expected_bad || report.other != 0 {
                println!(
                    "FAILED: expected {expected_bad} × 400 and no other status, got {} × 400, {} other",
                    report.bad, report.other
                );
                ok = false;
            }
            if report.accepted != stats.accepted - before.accepted {
                println!(
                    "FAILED: customers saw {} × 202, the shop counted {}",
                    report.accepted,
                    stats.accepted - before.accepted
                );
                ok = false;
            }
        }
        Some(Err(e)) => {
            println!("FAILED: the customers stopped: {e}");
            ok = false;
        }
        None => println!("\ninterrupted: shut down gracefully"),
    }
    print_summary(&stats);
    if ok {
        check(&stats)
    } else {
        ExitCode::FAILURE
    }
}

/// `--target ADDR`: only the customers, against a shop running elsewhere.
async fn drive(target: std::net::SocketAddr, load_cfg: LoadConfig) -> ExitCode {
    println!(
        "{} customers send {} orders to http://{target}/ ...",
        load_cfg.customers, load_cfg.orders
    );
    let expected_bad = load_cfg.expected_bad();
    let report = match load::run(target, load_cfg, Arc::new(|| {})).await {
        Ok(r) => r,
        Err(e) => {
            println!("FAILED: the customers stopped: {e}");
            return ExitCode::FAILURE;
        }
    };
    print_load(&report);
    // The target goes on serving: its workers may still be draining.
    goro::time::sleep(Duration::from_millis(500)).await;
    match load::fetch_stats(target).await {
        Ok(stats) => print_summary(&stats),
        Err(e) => println!("GET /stats: {e}"),
    }
    if report.bad == expected_bad && report.other == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn describe(cfg: &Config) -> String {
    let queue = match &cfg.nats {
        Some(url) => format!("queue on the NATS broker {url}"),
        None => format!("queue of {}", cfg.queue),
    };
    format!(
        "{} workers, {queue}, {} µs downstream delay, {} threads, {}",
        cfg.workers,
        cfg.delay.as_micros(),
        goro::procs(),
        if cfg.nats.is_some() {
            "stock and totals in JetStream key-value, shared"
        } else if cfg.db.is_some() {
            "orders in SQLite"
        } else {
            "orders in memory"
        }
    )
}

/// Where the orders go.
fn print_data(s: &Stats) {
    if s.storage.ends_with("(JetStream)") {
        println!(
            "data        {}: {} orders processed so far by all shops, {} queued",
            s.storage,
            thousands(s.processed),
            thousands(s.queued)
        );
    } else if s.storage == "memory" {
        println!("data        in memory only (--memory): gone when the shop stops");
    } else {
        println!(
            "data        {} (SQLite, WAL){}",
            s.storage,
            if s.accepted > 0 {
                format!(
                    ": reopened with {} orders, {} to process",
                    thousands(s.accepted),
                    thousands(s.queued)
                )
            } else {
                String::new()
            }
        )
    }
}

fn print_load(r: &LoadReport) {
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
    println!();
    println!(
        "requests    {} in {:.2} s = {} req/s",
        thousands(r.requests()),
        r.elapsed.as_secs_f64(),
        thousands(r.per_second() as u64)
    );
    println!(
        "latency     p50 {}   p99 {}   max {}",
        ms(r.percentile(50.0)),
        ms(r.percentile(99.0)),
        ms(r.percentile(100.0))
    );
    println!(
        "answers     202 Accepted {} · 503 retry later {} · 400 bad request {}{}",
        thousands(r.accepted),
        thousands(r.rejected),
        thousands(r.bad),
        if r.errors > 0 {
            format!(" · {} reconnects", r.errors)
        } else {
            String::new()
        }
    );
}

fn print_summary(s: &Stats) {
    println!(
        "orders      {} processed: {} fulfilled, {} back-ordered; {} units, ${}.{:02}",
        thousands(s.processed),
        thousands(s.fulfilled),
        thousands(s.backordered),
        thousands(s.units),
        thousands(s.revenue_cents / 100),
        s.revenue_cents % 100
    );
    println!(
        "per worker  {}",
        s.per_worker
            .iter()
            .map(|n| thousands(*n))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if s.storage.ends_with("(JetStream)") {
        println!(
            "data        {}: {} redelivered orders (all shops)",
            s.storage,
            thousands(s.redelivered)
        );
    } else if s.storage == "memory" {
        println!("data        in memory only (--memory): gone now");
    } else {
        let mean = s.committed_writes as f64 / s.commits.max(1) as f64;
        println!(
            "data        {} (SQLite, WAL): {} commits this run, {:.1} writes per commit on average, largest {}",
            s.storage,
            thousands(s.commits),
            mean,
            thousands(s.largest_commit)
        );
        println!(
            "            sqlite3 {} 'select status, count(*) from orders group by status'",
            s.storage
        );
    }
}

/// The promise of the shop: every order answered `202` was processed.
fn check(s: &Stats) -> ExitCode {
    if s.storage.ends_with("(JetStream)") {
        // Shared with other processes: the broker redelivers what this one
        // left unacknowledged; its totals are every shop's.
        println!(
            "check       this shop accepted {}; all shops processed {}, {} queued on the broker",
            thousands(s.accepted),
            thousands(s.processed),
            thousands(s.queued)
        );
        return ExitCode::SUCCESS;
    }
    if s.accepted == s.processed && s.queued == 0 {
        println!(
            "check       accepted {} = processed {} ✓",
            thousands(s.accepted),
            thousands(s.processed)
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "check       FAILED: accepted {} ≠ processed {} (queued {})",
            s.accepted, s.processed, s.queued
        );
        ExitCode::FAILURE
    }
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The checked command line as the shop's and the customers' configs.
fn options(cli: Cli) -> Result<Opts, String> {
    let (queue, nats) = match cli.queue {
        Queue::Len(n) => (n as usize, None),
        Queue::Nats(url) => (
            cli.queue_len.unwrap_or(Config::default().queue as u64) as usize,
            Some(url),
        ),
    };
    let db = if cli.memory || nats.is_some() || (cli.target.is_some() && cli.serve.is_none()) {
        None
    } else if let Some(path) = cli.db {
        Some(path)
    } else {
        // Kept after the run (printed), so the data can be looked at.
        let dir = tempfile::Builder::new()
            .prefix("goro-shop-")
            .tempdir()
            .map_err(|e| format!("creating a temporary directory: {e}"))?
            .keep();
        Some(dir.join("shop.db"))
    };
    Ok(Opts {
        serve: cli.serve,
        target: cli.target,
        shop: Config {
            workers: cli.workers as usize,
            queue,
            delay: Duration::from_micros(cli.delay_us),
            db,
            nats,
            ack_wait: Duration::from_millis(cli.ack_wait_ms),
            batch: cli.batch as usize,
            ..Config::default()
        },
        load: LoadConfig {
            orders: cli.orders,
            customers: cli.customers,
            ..LoadConfig::default()
        },
    })
}
