//! The shop: an HTTP order service on hyper and goro — goro's main demo.
//!
//! ```text
//!   customers ──POST /buy──▶ handler ──try_send──▶ [ queue: goro::chan(N) ] ──▶ worker 1..W
//!                 ◀── 202 Accepted (at once)                                    │ CPU step
//!                 ◀── 503 + Retry-After (queue full)                            │ sleep (downstream)
//!                 ◀── 400 + message (bad input)                                 ▼
//!   GET /stats ◀── accepted, processed, queued, rejected, per worker      catalog (RwMutex)
//!                                                                          totals  (Mutex)
//! ```
//!
//! A Go programmer would write this with `net/http`, a buffered
//! `chan Order`, a pool of goroutines ranging over it, a `sync.RWMutex`
//! around the catalog, a `sync.Mutex` around the totals and a
//! `sync.WaitGroup` to wait for the workers at shutdown; the Go twin in
//! `bench/go/shop.go` is exactly that. Here each of those is the goro
//! type of the same name, and hyper plays `net/http`:
//!
//! - [`Server::bind`] listens on a `goro::net::TcpListener`; one goroutine
//!   accepts, one goroutine per connection runs hyper's HTTP/1.1 server on it
//!   (Go's `http.Server.Serve`).
//! - The handler never waits for the work: `try_send` on the buffered
//!   channel either queues the order (`202 Accepted`) or finds the queue full
//!   and answers `503 Service Unavailable` with `Retry-After`. Nothing is
//!   dropped silently: every `202` order is processed.
//! - [`Server::shutdown`] is Go's `srv.Shutdown` plus the pool's drain: stop
//!   accepting, let open connections finish their request, close the queue,
//!   `WaitGroup`-wait for the workers, return the final [`Stats`].
//! - [`load`] is the demo's customers: client goroutines with keep-alive
//!   connections (hyper's client on `goro::net::TcpStream`) that retry after
//!   a `503`.
//!
//! Reading order: `state.rs` (the queue, the workers, the locks), `http.rs`
//! (the handlers), `server.rs` (accept loop, one goroutine per connection,
//! graceful shutdown), `load.rs` (the customers), and `examples/shop.rs`
//! (the command line, Ctrl-C).
//!
//! # Examples
//!
//! ```
//! use goro_examples::shop::{Config, Server};
//!
//! goro::run(async {
//!     let server = Server::bind("127.0.0.1:0", Config::default()).await.unwrap();
//!     println!("serving on http://{}", server.addr());
//!     let stats = server.shutdown().await; // nobody came
//!     assert_eq!(stats.accepted, stats.processed);
//! });
//! ```

mod catalog;
mod cluster;
mod db;
mod http;
pub mod load;
mod net;
mod order;
mod queue;
mod server;
mod state;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use catalog::{Catalog, Product};
pub use order::{Order, OrderRequest, MAX_QTY};
pub use server::Server;

/// How the shop runs: pool size, queue length, the cost of one order.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use goro_examples::shop::Config;
///
/// let slow = Config { workers: 2, queue: 10, delay: Duration::from_millis(50), ..Config::default() };
/// assert_eq!(slow.max_body, Config::default().max_body);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// Worker goroutines processing orders (`--workers`).
    pub workers: usize,
    /// Capacity of the order queue, a buffered `goro::chan` (`--queue`);
    /// with `nats`, of the broker's stream (shared by every process).
    pub queue: usize,
    /// Simulated downstream call per order (payment, warehouse), slept with
    /// `goro::time::sleep` (`--delay-us`). Zero skips the sleep.
    pub delay: Duration,
    /// Rounds of the CPU step per order (computing a receipt checksum).
    pub cpu_rounds: u32,
    /// Largest accepted request body in bytes; larger gets a `400`.
    pub max_body: usize,
    /// The SQLite database file that keeps the orders (`--db`); created
    /// if missing, reopened as it is otherwise. `None`: in memory only
    /// (`--memory`).
    pub db: Option<PathBuf>,
    /// The most writes the database writer commits in one transaction
    /// (group commit, `--batch`).
    pub batch: usize,
    /// Tests: caps the database's size in pages, to see a full disk.
    pub db_max_pages: Option<u64>,
    /// The catalog the shop opens with.
    pub catalog: Catalog,
    /// `--queue nats://HOST:PORT`: the orders go through this NATS
    /// JetStream broker, and stock and totals live in its key-value store,
    /// shared by every shop process using it. Needs [`Server::bind`].
    pub nats: Option<String>,
    /// With `nats`: an order a worker has not acknowledged after this long
    /// is delivered again (to any process) (`--ack-wait-ms`).
    pub ack_wait: Duration,
    /// With `nats`: how long a handler waits for the broker to store an
    /// order before it answers `503`.
    pub publish_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            workers: 8,
            queue: 1024,
            delay: Duration::from_micros(200),
            cpu_rounds: 200,
            max_body: 1024,
            db: None,
            batch: 512,
            db_max_pages: None,
            catalog: Catalog::demo(),
            nats: None,
            ack_wait: Duration::from_secs(2),
            publish_timeout: Duration::from_secs(1),
        }
    }
}

/// What `GET /stats` answers (and [`Server::shutdown`] returns).
///
/// # Examples
///
/// ```
/// use goro_examples::shop::Stats;
///
/// let s: Stats = serde_json::from_str(r#"{"accepted":3,"processed":2,"queued":1,
///     "rejected":0,"bad_requests":1,"fulfilled":2,"backordered":0,"units":4,
///     "revenue_cents":5000,"per_worker":[1,1],"stock":[["rust-mug",10]]}"#).unwrap();
/// assert_eq!(s.accepted, s.processed + s.queued);
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Orders answered `202 Accepted` (queued).
    pub accepted: u64,
    /// Orders the workers finished.
    pub processed: u64,
    /// Orders waiting in the queue now.
    pub queued: u64,
    /// Orders answered `503` because the queue was full (or closing).
    pub rejected: u64,
    /// Requests answered `400`.
    pub bad_requests: u64,
    /// Processed orders that got their stock.
    pub fulfilled: u64,
    /// Processed orders that found too little stock (back-ordered).
    pub backordered: u64,
    /// Units shipped.
    pub units: u64,
    /// Money taken, in cents.
    pub revenue_cents: u64,
    /// Orders processed by each worker.
    pub per_worker: Vec<u64>,
    /// Stock left per product.
    pub stock: Vec<(String, u64)>,
    /// Where the orders are: the database file, or `memory`.
    #[serde(default)]
    pub storage: String,
    /// Durable mode: transactions the writer committed (this run).
    #[serde(default)]
    pub commits: u64,
    /// Durable mode: writes (new orders, processed orders) in them.
    #[serde(default)]
    pub committed_writes: u64,
    /// Durable mode: the most writes one transaction held (group commit).
    #[serde(default)]
    pub largest_commit: u64,
    /// `--queue nats://...`: orders applied on a second or later delivery
    /// (their first worker died or did not acknowledge in time), all processes.
    #[serde(default)]
    pub redelivered: u64,
    /// `--queue nats://...`: wrapping sum of the ids of every applied order,
    /// all processes (tests compare it with the ids answered `202`).
    #[serde(default)]
    pub applied_id_sum: u64,
}
