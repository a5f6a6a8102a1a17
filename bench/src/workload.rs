//! The benchmark registry: what a workload is, what one implementation of it
//! returns, and the sizes every implementation (and the Go twin) agrees on.
//!
//! Ids read `area/workload/impl` (STYLE habit 11), e.g.
//! `chan/pingpong_unbuffered/flume`. A workload function runs one repetition,
//! asserts its result and returns the measured value; the runner takes the
//! median over repetitions.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// What a workload measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Wall-clock nanoseconds per operation (lower is better).
    NsPerOp,
    /// Resident bytes per parked goroutine (lower is better).
    BytesPerGoroutine,
    /// Worst-case latency in microseconds (lower is better).
    MaxLatencyUs,
    /// Requests answered per second (higher is better).
    ReqPerSec,
}

impl Unit {
    /// The unit as written on a `RESULT` line, shared with the Go twin.
    pub fn tag(self) -> &'static str {
        match self {
            Unit::NsPerOp => "ns/op",
            Unit::BytesPerGoroutine => "B/goroutine",
            Unit::MaxLatencyUs => "us(max)",
            Unit::ReqPerSec => "req/s",
        }
    }

    /// True when a larger value is better (throughput).
    pub fn higher_is_better(self) -> bool {
        self == Unit::ReqPerSec
    }
}

/// The outcome of one repetition: the measured value, or a short finding
/// that replaces it in the table (e.g. `LOST 12` for a channel that dropped
/// messages in a select). Assertion failures panic instead.
pub type Outcome = Result<f64, String>;

/// Settings shared by every workload of one run.
#[derive(Clone, Copy, Debug)]
pub struct Cfg {
    /// Worker threads of every runtime (Go: GOMAXPROCS).
    pub procs: usize,
    /// Smaller sizes, one repetition.
    pub quick: bool,
}

impl Cfg {
    /// `full` normally, `quick` under `--quick`. The Go twin (bench/go/sizes.go)
    /// holds the same pairs: change both together.
    pub fn n(&self, full: usize, quick: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// One implementation of a workload.
#[derive(Clone, Copy)]
pub struct Impl {
    /// Column name: `goro`, `tokio`, `crossbeam`, ...
    pub name: &'static str,
    /// Runs one repetition.
    pub run: fn(&Cfg) -> Outcome,
}

/// Runs one repetition of a workload's Go column from a Rust child, given
/// the built Go twin (for workloads whose Go side is a server that this
/// crate drives, like `net/shop`).
pub type GoDriver = fn(&Cfg, &Path) -> Outcome;

/// A workload and its in-process implementations (Go runs in its own binary).
pub struct Workload {
    /// `area/workload`, e.g. `spawn/skynet`.
    pub id: &'static str,
    pub unit: Unit,
    /// One line for the README/RESULTS notes.
    pub note: &'static str,
    pub impls: Vec<Impl>,
    /// When set, the Go column runs as `--child area/workload/go` with the
    /// twin's path in `GORO_BENCH_GO_BIN`, instead of the twin itself.
    pub go_driver: Option<GoDriver>,
}

impl Workload {
    pub fn new(id: &'static str, unit: Unit, note: &'static str) -> Self {
        Workload {
            id,
            unit,
            note,
            impls: Vec::new(),
            go_driver: None,
        }
    }

    pub fn with_go_driver(mut self, driver: GoDriver) -> Self {
        self.go_driver = Some(driver);
        self
    }

    pub fn with(mut self, name: &'static str, run: fn(&Cfg) -> Outcome) -> Self {
        self.impls.push(Impl { name, run });
        self
    }
}

/// Nanoseconds per operation.
pub fn ns_per(elapsed: Duration, ops: usize) -> Outcome {
    Ok(elapsed.as_nanos() as f64 / ops as f64)
}

static SIDE: Mutex<Vec<(&'static str, f64)>> = Mutex::new(Vec::new());

/// Records a side value of the current repetition (e.g. `p99` latency in
/// µs), printed as `SIDE <id> <name> <value>` after its `RESULT` line and
/// shown beside the median in the table.
pub fn side(name: &'static str, value: f64) {
    SIDE.lock().unwrap().push((name, value));
}

/// The side values recorded since the last call.
pub fn take_side() -> Vec<(&'static str, f64)> {
    std::mem::take(&mut *SIDE.lock().unwrap())
}

/// Every workload, in table order.
pub fn all() -> Vec<Workload> {
    let mut v = Vec::new();
    v.extend(crate::spawn::workloads());
    v.extend(crate::chan::workloads());
    v.extend(crate::sync::workloads());
    v.extend(crate::net::workloads());
    v.extend(crate::sched::workloads());
    v.extend(crate::shop::workloads());
    #[cfg(feature = "goro")]
    for (id, imp) in crate::goro_impl::impls() {
        let w = v
            .iter_mut()
            .find(|w| w.id == id)
            .expect("goro impl of a known workload");
        let pos = w
            .impls
            .iter()
            .take_while(|i| i.name.starts_with("goro"))
            .count();
        w.impls.insert(pos, imp);
    }
    v
}
