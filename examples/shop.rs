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
//! Flags: `--workers N` (8), `--queue N` (1024), `--delay-us N` (200: the
//! simulated downstream call per order), `--orders N` (50000),
//! `--customers N` (1000), `--serve [ADDR]`, `--target ADDR` (send the load
//! to a shop that is already running there, e.g. the Go twin
//! `bench/go/bin/goro-bench-go shop --addr ADDR`, instead of starting one).
//! `GOMAXPROCS` sets the worker threads, as in Go.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use goro_examples::shop::load::{self, LoadConfig, LoadReport};
use goro_examples::shop::{Config, Server, Stats};
use indicatif::{ProgressBar, ProgressStyle};

const USAGE: &str = "usage: shop [--serve [ADDR]] [--workers N] [--queue N] [--delay-us N] \
                     [--orders N] [--customers N] [--target ADDR]";

struct Opts {
    serve: Option<String>,
    target: Option<std::net::SocketAddr>,
    shop: Config,
    load: LoadConfig,
}

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1).collect()) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    // Ctrl-C arrives on a plain OS thread (the ctrlc crate's); goro's
    // channels work from any thread, so it just sends. Go:
    // `signal.Notify(sigint, os.Interrupt)`.
    let (sigint_tx, sigint) = goro::chan::<()>(1);
    ctrlc::set_handler(move || {
        let _ = sigint_tx.try_send(());
    })
    .expect("installing the Ctrl-C handler");

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
async fn serve(addr: &str, cfg: Config, sigint: goro::chan::Receiver<()>) -> ExitCode {
    let server = match Server::bind(addr, cfg.clone()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("shop: listening on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = server.addr();
    println!("shop listening on http://{addr}/ ({})", describe(&cfg));
    println!(
        "  curl -i -d '{{\"product\":\"rust-mug\",\"qty\":2,\"customer\":7}}' http://{addr}/buy"
    );
    println!("  curl http://{addr}/stats");
    println!("Ctrl-C stops it gracefully.");
    sigint.recv().await;
    println!("\nshutting down: no new connections, draining the queue ...");
    let stats = server.shutdown().await;
    print_summary(&stats);
    check(&stats)
}

/// The default: serve on a free port and be our own customers.
async fn demo(cfg: Config, load_cfg: LoadConfig, sigint: goro::chan::Receiver<()>) -> ExitCode {
    let server = Server::bind("127.0.0.1:0", cfg.clone())
        .await
        .expect("listening on 127.0.0.1");
    let addr = server.addr();
    println!("shop listening on http://{addr}/ ({})", describe(&cfg));
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
            if report.accepted != stats.accepted {
                println!(
                    "FAILED: customers saw {} × 202, the shop counted {}",
                    report.accepted, stats.accepted
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
    format!(
        "{} workers, queue of {}, {} µs downstream delay, {} threads",
        cfg.workers,
        cfg.queue,
        cfg.delay.as_micros(),
        goro::procs()
    )
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
}

/// The promise of the shop: every order answered `202` was processed.
fn check(s: &Stats) -> ExitCode {
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

fn parse(args: Vec<String>) -> Result<Opts, String> {
    let mut opts = Opts {
        serve: None,
        target: None,
        shop: Config::default(),
        load: LoadConfig::default(),
    };
    let mut args = args.into_iter().peekable();
    while let Some(a) = args.next() {
        let mut number = |min: u64| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|&n| n >= min)
                .ok_or_else(|| format!("{a} needs a number ≥ {min}"))
        };
        match a.as_str() {
            "--workers" => opts.shop.workers = number(1)? as usize,
            "--queue" => opts.shop.queue = number(1)? as usize,
            "--delay-us" => opts.shop.delay = Duration::from_micros(number(0)?),
            "--orders" => opts.load.orders = number(1)?,
            "--customers" => opts.load.customers = number(1)?,
            "--serve" => {
                let addr = match args.peek() {
                    Some(v) if !v.starts_with("--") => args.next().unwrap(),
                    _ => "127.0.0.1:8080".to_string(),
                };
                opts.serve = Some(addr);
            }
            "--target" => {
                let addr = args.next().unwrap_or_default();
                let addr = addr
                    .parse()
                    .map_err(|_| format!("--target needs IP:PORT, got {addr:?}"))?;
                opts.target = Some(addr);
            }
            "-h" | "--help" => return Err("the shop: goro's HTTP order service demo".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(opts)
}
