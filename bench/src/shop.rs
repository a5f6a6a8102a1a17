//! `net/shop`: the shop demo's HTTP order service, goro (examples/shop/)
//! against its Go twin (bench/go/shop.go), driven by the same load
//! generator, `wrk`, over loopback.
//!
//! One repetition: start the server as its own process (goro:
//! `goro-bench --shop-server goro`; tokio + hyper: `--shop-server tokio`,
//! src/shop_tokio.rs; Go: `goro-bench-go shop`), wait for its
//! `listening on ADDR` line, run `wrk` against `POST /buy` for a few
//! seconds over keep-alive connections, then stop the server with SIGINT
//! and read its `summary {json}` line: the graceful shutdown must have
//! processed every accepted order, and the server's counts must match
//! wrk's. The value is requests per second (all answers: `202`s and the
//! `503`s of a full queue); the p99 latency rides along as a side value.
//!
//! The servers get `--procs` threads (goro `procs`, Go `GOMAXPROCS`), 8
//! workers, a queue of 1024 and no downstream delay, so the workers keep
//! up and the whole path is measured: HTTP, JSON, the catalog's read lock,
//! the channel, a worker's wake-up, the write lock and the totals' mutex.
//!
//! `wrk` comes from the distribution (`apt-get install wrk`); without it
//! the cells read `n/a` and the runner says why.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::workload::{Cfg, Outcome, Unit, Workload};

/// wrk's connections and threads; seconds per repetition (full, quick).
const CONNECTIONS: usize = 256;
const WRK_THREADS: usize = 1;
const SECONDS: (usize, usize) = (5, 2);
/// The shop's settings, the same for both servers.
const WORKERS: usize = 8;
const QUEUE: usize = 1024;
const DELAY_US: u64 = 0;

/// The order every wrk request sends.
const BODY: &str = r#"{"product":"rust-mug","qty":1,"customer":1}"#;

pub fn workloads() -> Vec<Workload> {
    let w = Workload::new(
        "net/shop",
        Unit::ReqPerSec,
        "the shop demo's HTTP order service (POST /buy → buffered channel → 8 workers; 202, or 503 when the \
         queue is full), goro+hyper vs tokio+hyper vs Go's net/http twin, each its own process, driven by wrk \
         (256 keep-alive connections, 1 thread) for 5 s on loopback; requests/s, p99 latency beside it; \
         after SIGINT every accepted order must have been processed",
    )
    .with_go_driver(go_shop);
    #[cfg(feature = "goro")]
    let w = w.with("goro", goro_shop);
    vec![w.with("tokio", tokio_shop)]
}

/// `net/shop/goro`: the server is this binary in `--shop-server goro` mode.
#[cfg(feature = "goro")]
fn goro_shop(cfg: &Cfg) -> Outcome {
    drive(shop_server("goro", cfg), cfg)
}

/// `net/shop/tokio`: `--shop-server tokio` (src/shop_tokio.rs).
fn tokio_shop(cfg: &Cfg) -> Outcome {
    drive(shop_server("tokio", cfg), cfg)
}

fn shop_server(which: &str, cfg: &Cfg) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
    cmd.args(["--shop-server", which, "--procs", &cfg.procs.to_string()]);
    cmd
}

/// `net/shop/go`: the server is the Go twin, `goro-bench-go shop`.
fn go_shop(cfg: &Cfg, go_bin: &Path) -> Outcome {
    let mut cmd = Command::new(go_bin);
    cmd.args(["shop", "--workers", &WORKERS.to_string()])
        .args(["--queue", &QUEUE.to_string()])
        .args(["--delay-us", &DELAY_US.to_string()])
        .env("GOMAXPROCS", cfg.procs.to_string());
    drive(cmd, cfg)
}

/// `wrk`, or why it cannot be used.
pub fn find_wrk() -> Result<PathBuf, String> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join("wrk"))
            .find(|p| p.is_file())
    });
    found.ok_or_else(|| {
        "wrk not found on PATH: net/shop needs it as its load generator; \
         install it with `apt-get install wrk`"
            .to_string()
    })
}

/// One repetition against the server `cmd` starts.
fn drive(mut cmd: Command, cfg: &Cfg) -> Outcome {
    let wrk = match find_wrk() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}");
            return Err("n/a (no wrk)".into());
        }
    };
    let server = Server::start(&mut cmd);
    let addr = server.addr.clone();
    let secs = if cfg.quick { SECONDS.1 } else { SECONDS.0 };
    let script = std::env::temp_dir().join(format!("goro-bench-shop-{}.lua", std::process::id()));
    std::fs::write(&script, WRK_SCRIPT.replace("BODY", BODY)).expect("writing the wrk script");
    let out = Command::new(&wrk)
        .args([
            "-t",
            &WRK_THREADS.to_string(),
            "-c",
            &CONNECTIONS.to_string(),
        ])
        .args(["-d", &format!("{secs}s"), "--timeout", "10s", "-s"])
        .arg(&script)
        .arg(format!("http://{addr}/buy"))
        .output()
        .expect("running wrk");
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "wrk failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("WRK "))
        .unwrap_or_else(|| panic!("no WRK line in wrk's output:\n{text}"));
    let field = |name: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
    };
    let (requests, duration_us, p99_us) =
        (field("requests"), field("duration_us"), field("p99_us"));
    let (non2xx, socket_errors) = (field("non2xx"), field("socket_errors"));

    let summary = server.stop();
    let num = |key: &str| -> f64 {
        summary
            .split(&format!("\"{key}\":"))
            .nth(1)
            .and_then(|rest| rest.split([',', '}']).next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in the summary {summary}"))
    };
    let (accepted, processed, rejected, bad) = (
        num("accepted"),
        num("processed"),
        num("rejected"),
        num("bad_requests"),
    );
    assert_eq!(
        accepted, processed,
        "accepted orders not processed: {summary}"
    );
    assert_eq!(bad, 0.0, "the server refused wrk's order as bad: {summary}");
    assert_eq!(socket_errors, 0.0, "wrk saw socket errors: {line}");
    // wrk stops mid-request on its last connections: the server may have
    // answered a few requests wrk did not count.
    assert!(
        accepted + rejected >= requests && accepted + rejected <= requests + CONNECTIONS as f64,
        "the server answered {} requests, wrk counted {requests}: {summary}",
        accepted + rejected
    );
    assert!(
        rejected + CONNECTIONS as f64 >= non2xx,
        "503 counts differ: {line} / {summary}"
    );
    crate::workload::side("p99", p99_us);
    Ok(requests / (duration_us / 1e6))
}

/// wrk's script: POST the order, and print one machine-readable line.
const WRK_SCRIPT: &str = r#"
wrk.method = "POST"
wrk.body = 'BODY'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"#;

/// A server process and the address it printed.
struct Server {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    addr: String,
}

impl Server {
    fn start(cmd: &mut Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(a) = l.strip_prefix("listening on ") {
                        break a.trim().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("{cmd:?} exited without a `listening on` line");
                }
            }
        };
        Server { child, lines, addr }
    }

    /// SIGINT, then the `summary {json}` line; the server must exit 0.
    fn stop(mut self) -> String {
        // SAFETY: kill(2) with a pid of our own child and a valid signal.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0, "kill(SIGINT) failed");
        let summary = self
            .lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("summary ").map(str::to_string));
        let status = self.child.wait().expect("waiting for the server");
        let summary = summary.unwrap_or_else(|| panic!("the server printed no summary ({status})"));
        assert!(
            status.success(),
            "the server exited with {status}: {summary}"
        );
        summary
    }
}

/// `goro-bench --shop-server goro|tokio`: that shop on 127.0.0.1:0 with the
/// benchmark's settings until SIGINT; then the graceful shutdown and the
/// `summary {json}` line. Returns the exit code.
pub fn serve(which: &str, cfg: &Cfg) -> i32 {
    let delay = std::time::Duration::from_micros(DELAY_US);
    match which {
        #[cfg(feature = "goro")]
        "goro" => serve_goro(cfg),
        "tokio" => crate::shop_tokio::serve(cfg, WORKERS, QUEUE, delay),
        _ => {
            eprintln!("--shop-server goro|tokio (goro needs the goro feature), got {which:?}");
            2
        }
    }
}

#[cfg(feature = "goro")]
fn serve_goro(cfg: &Cfg) -> i32 {
    use std::io::Write;
    use std::time::Duration;

    use goro_examples::shop::{Config, Server};

    let (sigint_tx, sigint) = goro::chan::<()>(1);
    ctrlc::set_handler(move || {
        let _ = sigint_tx.try_send(());
    })
    .expect("installing the SIGINT handler");
    let rt = goro::Runtime::builder()
        .procs(cfg.procs)
        .build()
        .expect("goro runtime");
    rt.block_on(async move {
        let shop = Config {
            workers: WORKERS,
            queue: QUEUE,
            delay: Duration::from_micros(DELAY_US),
            ..Config::default()
        };
        let server = Server::bind("127.0.0.1:0", shop).await.expect("listening");
        println!("listening on {}", server.addr());
        let _ = std::io::stdout().flush();
        sigint.recv().await;
        let stats = server.shutdown().await;
        println!(
            "summary {}",
            serde_json::to_string(&stats).expect("stats serialize")
        );
        let _ = std::io::stdout().flush();
        i32::from(stats.accepted != stats.processed || stats.queued != 0)
    })
}
