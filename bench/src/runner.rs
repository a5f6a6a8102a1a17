//! The runner: one child process per (workload, impl) — and per repetition
//! for memory workloads — so that only one runtime lives at a time and RSS
//! starts clean; the Go twin beside them; medians; the table on stdout and
//! in `RESULTS.md`.
//!
//! Child protocol (shared with the Go twin): one line per repetition on
//! stdout, `RESULT <area/workload/impl> <value> <unit>`, or
//! `FINDING <area/workload/impl> <text>` when the implementation produced a
//! reportable defect (e.g. `LOST 12`) instead of a value. A child that exits
//! non-zero failed its assertions.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::go;
use crate::workload::{self, Cfg, Unit, Workload};

/// Column order of the table; columns nobody filled are left out.
const COLUMNS: &[&str] = &[
    "goro",
    "goro_blocking",
    "goro_nosysmon",
    "goro_notrack",
    "tokio",
    "go",
    "std",
    "crossbeam",
    "flume",
    "kanal",
    "async-channel",
    "async-executor",
];

/// Command-line options of a full run.
#[derive(Debug)]
pub struct Opts {
    pub filters: Vec<String>,
    pub cfg: Cfg,
    pub reps: usize,
    pub go: bool,
    pub write: Option<bool>,
    pub timeout: Duration,
}

/// What one table cell holds.
#[derive(Clone, Debug)]
enum Cell {
    /// `side`: the median of each side value (e.g. `p99` in µs).
    Value {
        median: f64,
        all: Vec<f64>,
        side: Vec<(String, f64)>,
    },
    Finding(String),
    Failed,
    NotAvailable,
}

struct Row {
    workload: &'static str,
    unit: Unit,
    note: &'static str,
    cells: Vec<(&'static str, Cell)>,
}

impl Row {
    fn get(&self, col: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|(c, _)| *c == col)
            .map(|(_, cell)| cell)
    }

    fn value(&self, col: &str) -> Option<f64> {
        match self.get(col) {
            Some(Cell::Value { median, .. }) => Some(*median),
            _ => None,
        }
    }
}

fn selected(opts: &Opts, id: &str) -> bool {
    opts.filters.is_empty() || opts.filters.iter().any(|f| id.contains(f.as_str()))
}

/// Runs everything the filters select; returns the process exit code.
pub fn run(opts: &Opts) -> i32 {
    let workloads = workload::all();
    let go_bin = if opts.go
        && workloads
            .iter()
            .any(|w| selected(opts, &format!("{}/go", w.id)))
    {
        prepare_go()
    } else {
        Err("Go twin skipped (--no-go)".into())
    };
    let go_version = match &go_bin {
        Ok((_, v)) => v.clone(),
        Err(_) => "n/a".into(),
    };

    let mut rows = Vec::new();
    let mut failed = false;
    for w in &workloads {
        let mut cells = Vec::new();
        for imp in &w.impls {
            let id = format!("{}/{}", w.id, imp.name);
            if !selected(opts, &id) {
                continue;
            }
            let cell = run_impl(opts, w, &id, |reps| {
                let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
                cmd.args(["--child", &id, "--procs", &opts.cfg.procs.to_string()])
                    .args(["--reps", &reps.to_string()]);
                if opts.cfg.quick {
                    cmd.arg("--quick");
                }
                cmd
            });
            failed |= matches!(cell, Cell::Failed);
            cells.push((imp.name, cell));
        }
        let go_id = format!("{}/go", w.id);
        if selected(opts, &go_id) {
            let cell = match &go_bin {
                // A Go server driven from Rust (net/shop): a Rust child
                // runs it, given the twin's path.
                Ok((bin, _)) if w.go_driver.is_some() => run_impl(opts, w, &go_id, |reps| {
                    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
                    cmd.args(["--child", &go_id, "--procs", &opts.cfg.procs.to_string()])
                        .args(["--reps", &reps.to_string()])
                        .env("GORO_BENCH_GO_BIN", bin);
                    if opts.cfg.quick {
                        cmd.arg("--quick");
                    }
                    cmd
                }),
                Ok((bin, _)) => run_impl(opts, w, &go_id, |reps| {
                    let mut cmd = Command::new(bin);
                    cmd.arg(w.id).args(["--reps", &reps.to_string()]);
                    cmd.env("GOMAXPROCS", opts.cfg.procs.to_string());
                    if opts.cfg.quick {
                        cmd.arg("--quick");
                    }
                    cmd
                }),
                Err(_) => Cell::NotAvailable,
            };
            failed |= matches!(cell, Cell::Failed);
            cells.push(("go", cell));
        }
        if !cells.is_empty() {
            rows.push(Row {
                workload: w.id,
                unit: w.unit,
                note: w.note,
                cells,
            });
        }
    }

    let columns: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| rows.iter().any(|r| r.get(c).is_some()))
        .collect();
    println!(
        "\nmedians of {} repetitions, {} workers per runtime{}; lower is better (req/s: higher)",
        if opts.cfg.quick { 1 } else { opts.reps },
        opts.cfg.procs,
        if opts.cfg.quick {
            ", --quick sizes"
        } else {
            ""
        }
    );
    print!("{}", text_table(&rows, &columns));
    if let Err(e) = &go_bin {
        println!("\n{e}");
    }
    if workloads
        .iter()
        .any(|w| w.id == "net/shop" && rows.iter().any(|r| r.workload == w.id))
    {
        if let Err(e) = crate::shop::find_wrk() {
            println!("\n{e}");
        }
    }

    let write = opts.write.unwrap_or(opts.filters.is_empty());
    if write {
        let path = go::bench_dir().join("RESULTS.md");
        let md = markdown(opts, &rows, &columns, &go_version);
        match std::fs::write(&path, md) {
            Ok(()) => println!("\nwrote {}", path.display()),
            Err(e) => eprintln!("writing {}: {e}", path.display()),
        }
    }
    if failed {
        eprintln!("\nsome benchmarks FAILED (see above)");
        1
    } else {
        0
    }
}

fn prepare_go() -> Result<(PathBuf, String), String> {
    let go = go::find_go().inspect_err(|e| eprintln!("{e}"))?;
    let version = go::go_version(&go).unwrap_or_default();
    eprintln!("building the Go twin with {} ({version})", go.display());
    let bin = go::build(&go).inspect_err(|e| eprintln!("{e}"))?;
    Ok((bin, version))
}

/// Runs one implementation: one child with `reps` repetitions for timings,
/// `reps` children with one each for memory.
fn run_impl(opts: &Opts, w: &Workload, id: &str, command: impl Fn(usize) -> Command) -> Cell {
    let reps = if opts.cfg.quick { 1 } else { opts.reps };
    // Timings get one extra, discarded, warm-up repetition (heap growth, page
    // faults, thread start-up); memory runs one fresh process per repetition.
    let warmup = usize::from(w.unit == Unit::NsPerOp && !opts.cfg.quick);
    let launches: Vec<usize> = match w.unit {
        Unit::BytesPerGoroutine => vec![1; reps],
        // Throughput: every repetition starts a fresh server anyway.
        Unit::NsPerOp | Unit::MaxLatencyUs | Unit::ReqPerSec => vec![reps + warmup],
    };
    print!("{id:<44} ");
    let _ = std::io::stdout().flush();
    let started = Instant::now();
    let mut values = Vec::new();
    let mut side: Vec<(String, Vec<f64>)> = Vec::new();
    for n in launches {
        match run_child(command(n), opts.timeout) {
            Ok(lines) => {
                for line in lines {
                    let mut parts = line.splitn(4, ' ');
                    match (parts.next(), parts.next(), parts.next(), parts.next()) {
                        (Some("RESULT"), Some(_), Some(v), _) => match v.parse::<f64>() {
                            Ok(v) => values.push(v),
                            Err(_) => return fail(format!("bad line {line:?}")),
                        },
                        (Some("SIDE"), Some(_), Some(name), Some(v)) => {
                            let Ok(v) = v.parse::<f64>() else {
                                return fail(format!("bad line {line:?}"));
                            };
                            match side.iter_mut().find(|(n, _)| n == name) {
                                Some((_, vs)) => vs.push(v),
                                None => side.push((name.to_string(), vec![v])),
                            }
                        }
                        (Some("FINDING"), Some(_), Some(a), b) => {
                            let text = [Some(a), b]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" ");
                            println!("{text}");
                            return Cell::Finding(text);
                        }
                        _ => {}
                    }
                }
            }
            Err(e) => return fail(e),
        }
    }
    values.drain(..warmup.min(values.len()));
    if values.is_empty() {
        return fail("no RESULT line".into());
    }
    let median = median(&mut values.clone());
    let side: Vec<(String, f64)> = side
        .into_iter()
        .map(|(name, mut vs)| {
            vs.drain(..warmup.min(vs.len()));
            (name, self::median(&mut vs))
        })
        .collect();
    println!(
        "{:>12}{}   [{}]  {:.1}s",
        fmt_value(median, w.unit),
        fmt_side(&side),
        values
            .iter()
            .map(|v| fmt_value(*v, w.unit))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    );
    Cell::Value {
        median,
        all: values,
        side,
    }
}

/// Side values, e.g. `, p99 1.20 ms` (a `p..` side value is a latency in
/// µs) or `, locks/msg 0.031` (any other: a plain number).
fn fmt_side(side: &[(String, f64)]) -> String {
    side.iter()
        .map(|(name, v)| match name.starts_with('p') {
            true => format!(", {name} {:.2} ms", v / 1000.0),
            false => format!(", {name} {v:.3}"),
        })
        .collect()
}

fn fail(why: String) -> Cell {
    println!("FAILED");
    for line in why
        .lines()
        .rev()
        .take(15)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        println!("    {line}");
    }
    Cell::Failed
}

/// Runs a child to completion (or kills it at `timeout`); its stdout lines.
fn run_child(mut cmd: Command, timeout: Duration) -> Result<Vec<String>, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawning {cmd:?}: {e}"))?;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {}s (killed)", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for child: {e}")),
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("exited with {status}\n{stderr}{stdout}"));
    }
    Ok(stdout.lines().map(str::to_string).collect())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn fmt_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::NsPerOp if v < 10.0 => format!("{v:.2} ns"),
        Unit::NsPerOp if v < 1000.0 => format!("{v:.1} ns"),
        Unit::NsPerOp => format!("{:.2} µs", v / 1000.0),
        Unit::BytesPerGoroutine => format!("{v:.0} B"),
        Unit::MaxLatencyUs if v < 10_000.0 => format!("{v:.0} µs"),
        Unit::MaxLatencyUs => format!("{:.1} ms", v / 1000.0),
        Unit::ReqPerSec => format!("{:.1}k req/s", v / 1000.0),
    }
}

fn fmt_cell(cell: Option<&Cell>, unit: Unit) -> String {
    match cell {
        None => "—".into(),
        Some(Cell::Value { median, side, .. }) => {
            format!("{}{}", fmt_value(*median, unit), fmt_side(side))
        }
        Some(Cell::Finding(f)) => f.clone(),
        Some(Cell::Failed) => "FAILED".into(),
        Some(Cell::NotAvailable) => "n/a".into(),
    }
}

/// goro's time relative to `other`'s (below 1: goro is faster); for
/// throughput the inverse, so that the reading stays the same.
fn ratio(row: &Row, other: &str, label: &str) -> String {
    match (row.value("goro"), row.value(other)) {
        (Some(g), Some(o)) if row.unit.higher_is_better() && g > 0.0 => {
            format!("{:.2}× {label}", o / g)
        }
        (Some(g), Some(o)) if o > 0.0 => format!("{:.2}× {label}", g / o),
        _ => "—".into(),
    }
}

fn header(col: &str) -> &str {
    if col == "go" {
        "Go"
    } else {
        col
    }
}

fn table_cells(rows: &[Row], columns: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut head = vec!["workload".to_string()];
    head.extend(columns.iter().map(|c| header(c).to_string()));
    head.push("goro/Go".into());
    head.push("goro/tokio".into());
    let body = rows
        .iter()
        .map(|r| {
            let mut line = vec![r.workload.to_string()];
            line.extend(columns.iter().map(|c| fmt_cell(r.get(c), r.unit)));
            line.push(ratio(r, "go", "Go"));
            line.push(ratio(r, "tokio", "tokio"));
            line
        })
        .collect();
    (head, body)
}

fn text_table(rows: &[Row], columns: &[&str]) -> String {
    let (head, body) = table_cells(rows, columns);
    let width = |i: usize| {
        std::iter::once(&head[i])
            .chain(body.iter().map(|l| &l[i]))
            .map(|s| s.chars().count())
            .max()
            .unwrap()
    };
    let widths: Vec<usize> = (0..head.len()).map(width).collect();
    let fmt_line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = widths[i] - c.chars().count();
            if i == 0 {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            } else {
                s.push_str("  ");
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
        }
        s.push('\n');
        s
    };
    let mut out = fmt_line(&head);
    out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
    out.push('\n');
    for l in &body {
        out.push_str(&fmt_line(l));
    }
    out
}

fn markdown(opts: &Opts, rows: &[Row], columns: &[&str], go_version: &str) -> String {
    let (head, body) = table_cells(rows, columns);
    let mut md = String::new();
    md.push_str("# goro benchmark results\n\n");
    let args: Vec<String> = std::env::args().skip(1).collect();
    md.push_str(&format!(
        "Generated by `cargo run --release{}{}` in bench/ on {}.\n\n",
        if cfg!(feature = "goro") {
            ""
        } else {
            " --no-default-features"
        },
        if args.is_empty() {
            String::new()
        } else {
            format!(" -- {}", args.join(" "))
        },
        date()
    ));
    md.push_str(&format!(
        "- Machine: {} cores (nproc), {}\n",
        nproc(),
        cpu_model()
    ));
    md.push_str(&format!(
        "- Rust: {}; Go: {go_version}\n",
        env!("BENCH_RUSTC_VERSION")
    ));
    md.push_str(&format!(
        "- Every runtime gets {} workers (tokio `worker_threads`, goro `procs`, async-executor threads, Go `GOMAXPROCS`); \
         {} repetitions{}, median shown; lower is better. Timings follow one discarded warm-up repetition \
         in the same process; each memory repetition is a fresh process.\n",
        opts.cfg.procs,
        if opts.cfg.quick { 1 } else { opts.reps },
        if opts.cfg.quick { " at the `--quick` sizes" } else { "" }
    ));
    md.push_str(&format!(
        "- goro: {}\n\n",
        if cfg!(feature = "goro") {
            "built in"
        } else {
            "not built (`--no-default-features`): its columns are empty"
        }
    ));
    md.push_str(&format!("| {} |\n", head.join(" | ")));
    md.push_str(&format!("|{}\n", " --- |".repeat(head.len())));
    for l in &body {
        md.push_str(&format!("| {} |\n", l.join(" | ")));
    }
    md.push_str("\nUnits: ns per operation, except `spawn/parked_mem`: resident bytes per parked goroutine, and \
                 `net/shop`: requests per second (higher is better; its goro/Go ratio is Go's req/s over goro's, so \
                 below 1 still means goro is faster), with the median p99 latency beside it. \
                 `—` = no such implementation, `n/a` = not available on this machine, `LOST n` = messages lost.\n\n");
    md.push_str("## What each row measures\n\n");
    for r in rows {
        md.push_str(&format!("- `{}`: {}.\n", r.workload, r.note));
    }
    md.push_str("\n## All repetitions\n\n");
    for r in rows {
        for (col, cell) in &r.cells {
            if let Cell::Value { all, .. } = cell {
                let vals = all
                    .iter()
                    .map(|v| fmt_value(*v, r.unit))
                    .collect::<Vec<_>>()
                    .join(", ");
                md.push_str(&format!("- `{}/{}`: {vals}\n", r.workload, col));
            }
        }
    }
    md
}

fn date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(unknown date)".into())
}

fn nproc() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// `--child ID`: runs `reps` repetitions of one implementation in this
/// process and prints the protocol lines.
pub fn run_child_mode(id: &str, cfg: &Cfg, reps: usize) -> i32 {
    // The Go column of a workload with a Go driver (net/shop).
    if let Some(w) = workload::all()
        .into_iter()
        .find(|w| w.go_driver.is_some() && format!("{}/go", w.id) == id)
    {
        let Some(bin) = std::env::var_os("GORO_BENCH_GO_BIN") else {
            eprintln!("{id} needs GORO_BENCH_GO_BIN (the runner sets it)");
            return 2;
        };
        let driver = w.go_driver.unwrap();
        return child_reps(id, w.unit, reps, || driver(cfg, bin.as_ref()));
    }
    let Some((w, imp)) = workload::all().into_iter().find_map(|w| {
        let imp = w
            .impls
            .iter()
            .find(|i| format!("{}/{}", w.id, i.name) == id)
            .copied();
        imp.map(|i| (w, i))
    }) else {
        eprintln!("unknown benchmark id {id:?}");
        return 2;
    };
    child_reps(id, w.unit, reps, || (imp.run)(cfg))
}

/// Runs `reps` repetitions and prints their protocol lines.
fn child_reps(
    id: &str,
    unit: Unit,
    reps: usize,
    mut run: impl FnMut() -> workload::Outcome,
) -> i32 {
    for _ in 0..reps {
        match run() {
            Ok(v) => {
                println!("RESULT {id} {v} {}", unit.tag());
                for (name, v) in workload::take_side() {
                    println!("SIDE {id} {name} {v}");
                }
            }
            Err(finding) => {
                println!("FINDING {id} {finding}");
                break;
            }
        }
        let _ = std::io::stdout().flush();
    }
    0
}

/// `--list`: every id, Go twins included.
pub fn list() {
    for w in workload::all() {
        for i in &w.impls {
            println!("{}/{}", w.id, i.name);
        }
        println!("{}/go", w.id);
    }
}
