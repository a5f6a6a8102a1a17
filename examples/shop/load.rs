//! The demo's customers: client goroutines that buy over keep-alive
//! HTTP/1.1 connections and time every request.
//!
//! Each customer is one goroutine with its own connection (hyper's client
//! `conn` API on a `goro::net::TcpStream`; Go's `http.Client` keeps such a
//! connection in its pool). All customers connect first and then start
//! together, so the clock measures requests, not connection set-up. A
//! customer sends its orders one after another; a `503` makes it back off
//! (a pause that doubles on every refusal in a row, with jitter) and send
//! the same order again, so every good order ends up accepted. Every `bad_every`-th order is deliberately
//! wrong (malformed JSON, unknown product, zero or negative quantity,
//! oversized body) and must come back `400`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Request, StatusCode};

/// The products customers pick from (all in `Catalog::demo()`).
const PRODUCTS: [&str; 6] = [
    "gopher-plush",
    "ferris-plush",
    "rust-mug",
    "channel-tee",
    "select-socks",
    "limited-poster",
];

/// How many customers buy how much.
///
/// # Examples
///
/// ```
/// use goro_examples::shop::load::LoadConfig;
///
/// let cfg = LoadConfig { orders: 1000, customers: 10, ..LoadConfig::default() };
/// assert_eq!(cfg.expected_bad(), 10); // one in a hundred
/// ```
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// Orders in total (`--orders`).
    pub orders: u64,
    /// Concurrent customers, each a goroutine with one connection (`--customers`).
    pub customers: u64,
    /// Every `bad_every`-th order is invalid on purpose; 0 = none.
    pub bad_every: u64,
    /// First pause after a `503` before sending the order again; it doubles
    /// on each refusal in a row, up to 32 times. (A real client would
    /// honour `Retry-After: 1`; the demo is in more of a hurry.)
    pub retry_pause: Duration,
}

impl Default for LoadConfig {
    fn default() -> LoadConfig {
        LoadConfig {
            orders: 50_000,
            customers: 1_000,
            bad_every: 100,
            retry_pause: Duration::from_millis(10),
        }
    }
}

impl LoadConfig {
    /// How many orders are bad on purpose: the `400`s to expect.
    pub fn expected_bad(&self) -> u64 {
        (0..self.orders).filter(|&n| self.is_bad(n)).count() as u64
    }

    fn is_bad(&self, n: u64) -> bool {
        self.bad_every > 0 && n % self.bad_every == self.bad_every - 1
    }

    /// The body of order number `n`.
    fn body(&self, n: u64, customer: u64) -> Bytes {
        let product = PRODUCTS[(n % PRODUCTS.len() as u64) as usize];
        let qty = 1 + n % 3;
        if !self.is_bad(n) {
            return format!(r#"{{"product":"{product}","qty":{qty},"customer":{customer}}}"#)
                .into();
        }
        match (n / self.bad_every.max(1)) % 5 {
            0 => format!(r#"{{"product":"{product}","qty":{qty},"#).into(), // cut short
            1 => format!(r#"{{"product":"kiwi","qty":{qty},"customer":{customer}}}"#).into(),
            2 => format!(r#"{{"product":"{product}","qty":0,"customer":{customer}}}"#).into(),
            3 => format!(r#"{{"product":"{product}","qty":-2,"customer":{customer}}}"#).into(),
            _ => format!(
                r#"{{"product":"{product}","qty":1,"customer":{customer},"note":"{}"}}"#,
                "x".repeat(4096)
            )
            .into(),
        }
    }
}

/// What the customers saw.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Wall time from the first connection to the last answer.
    pub elapsed: Duration,
    /// `202 Accepted` answers.
    pub accepted: u64,
    /// `503 Service Unavailable` answers (each followed by a retry).
    pub rejected: u64,
    /// `400 Bad Request` answers.
    pub bad: u64,
    /// Any other status.
    pub other: u64,
    /// Connection errors (each followed by a reconnect and a retry).
    pub errors: u64,
    /// Every request's latency in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl LoadReport {
    /// Requests answered.
    pub fn requests(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    /// Requests answered per second.
    pub fn per_second(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-th percentile latency (`p` in 0..=100).
    pub fn percentile(&self, p: f64) -> Duration {
        let v = &self.latencies_us;
        if v.is_empty() {
            return Duration::ZERO;
        }
        let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        Duration::from_micros(u64::from(v[i.min(v.len() - 1)]))
    }

    fn merge(&mut self, other: LoadReport) {
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.bad += other.bad;
        self.other += other.other;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
    }
}

/// Sends `cfg.orders` orders to the shop at `addr` from `cfg.customers`
/// client goroutines and waits for all of them. `done_one` is called after
/// each order is settled (accepted or refused as bad): hook a progress bar
/// there.
pub async fn run(
    addr: SocketAddr,
    cfg: LoadConfig,
    done_one: Arc<dyn Fn() + Send + Sync>,
) -> io::Result<LoadReport> {
    let cfg = Arc::new(cfg);
    // Go: `var ready sync.WaitGroup; start := make(chan struct{})`.
    let ready = goro::sync::WaitGroup::new();
    let (start_tx, start) = goro::chan::<()>(0);
    let n = cfg.customers.min(cfg.orders);
    ready.add(n as isize);
    let customers: Vec<_> = (0..n)
        .map(|c| {
            let (cfg, done_one) = (cfg.clone(), done_one.clone());
            let (ready, start) = (ready.clone(), start.clone());
            goro::go(async move {
                let conn = Conn::open(addr).await;
                ready.done();
                start.recv().await; // returns None when main closes `start`
                customer(conn?, c, cfg, done_one).await
            })
        })
        .collect();
    ready.wait().await; // everybody is connected (or has failed to)
    let started = Instant::now();
    start_tx.close(); // Go: `close(start)` — a broadcast to every customer
    let mut report = LoadReport::default();
    for c in customers {
        report.merge(c.await.map_err(|e| io::Error::other(e.to_string()))??);
    }
    report.elapsed = started.elapsed();
    report.latencies_us.sort_unstable();
    Ok(report)
}

/// One customer: orders `c`, `c + customers`, `c + 2 * customers`, ...
async fn customer(
    mut conn: Conn,
    c: u64,
    cfg: Arc<LoadConfig>,
    done_one: Arc<dyn Fn() + Send + Sync>,
) -> io::Result<LoadReport> {
    let mut log = LoadReport::default();
    let mut n = c;
    while n < cfg.orders {
        let body = cfg.body(n, c);
        let mut pause = cfg.retry_pause;
        loop {
            let started = Instant::now();
            let status = match conn.post(body.clone()).await {
                Ok(status) => status,
                Err(_) if log.errors < 10 => {
                    // Reconnect and send the same order again.
                    log.errors += 1;
                    conn.sender = None;
                    continue;
                }
                Err(e) => return Err(e),
            };
            log.latencies_us.push(started.elapsed().as_micros() as u32);
            match status {
                StatusCode::ACCEPTED => log.accepted += 1,
                StatusCode::BAD_REQUEST => log.bad += 1,
                StatusCode::SERVICE_UNAVAILABLE => {
                    log.rejected += 1;
                    // Back off: between half and all of `pause`, which doubles.
                    let jitter = (n.wrapping_mul(0x9e37_79b9) ^ log.rejected) % 1000;
                    goro::time::sleep(pause / 2 + pause * jitter as u32 / 2000).await;
                    pause = (pause * 2).min(cfg.retry_pause * 32);
                    continue; // the same order again
                }
                _ => log.other += 1,
            }
            break;
        }
        done_one();
        n += cfg.customers;
    }
    Ok(log)
}

/// A keep-alive connection, (re)opened on demand.
struct Conn {
    addr: SocketAddr,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> io::Result<Conn> {
        Ok(Conn {
            addr,
            sender: Some(connect(addr).await?),
        })
    }

    /// `POST /buy` with `body`; the status, body read to the end.
    async fn post(&mut self, body: Bytes) -> io::Result<StatusCode> {
        let sender = match &mut self.sender {
            Some(s) if !s.is_closed() => s,
            slot => slot.insert(connect(self.addr).await?),
        };
        sender.ready().await.map_err(io::Error::other)?;
        let req = Request::post("/buy")
            .header(HOST, "shop")
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .expect("a valid request");
        let resp = sender.send_request(req).await.map_err(io::Error::other)?;
        let status = resp.status();
        resp.into_body().collect().await.map_err(io::Error::other)?;
        Ok(status)
    }
}

/// `GET /stats` from the shop at `addr` (this one or its Go twin).
///
/// # Examples
///
/// ```
/// use goro_examples::shop::{load, Config, Server};
///
/// goro::run(async {
///     let server = Server::bind("127.0.0.1:0", Config::default()).await.unwrap();
///     let stats = load::fetch_stats(server.addr()).await.unwrap();
///     assert_eq!(stats.accepted, 0);
///     server.shutdown().await;
/// });
/// ```
pub async fn fetch_stats(addr: SocketAddr) -> io::Result<super::Stats> {
    let mut sender = connect(addr).await?;
    let req = Request::get("/stats")
        .header(HOST, "shop")
        .body(Full::new(Bytes::new()))
        .expect("a valid request");
    let resp = sender.send_request(req).await.map_err(io::Error::other)?;
    let body = resp.into_body().collect().await.map_err(io::Error::other)?;
    serde_json::from_slice(&body.to_bytes()).map_err(io::Error::other)
}

/// Opens a connection and starts the goroutine that drives it (Go's
/// `http.Transport` runs a read and a write loop per connection).
async fn connect(addr: SocketAddr) -> io::Result<SendRequest<Full<Bytes>>> {
    let stream = goro::net::TcpStream::connect(addr).await?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::handshake(stream).await.map_err(io::Error::other)?;
    goro::go(async move {
        let _ = conn.await; // ends when the sender is dropped or the peer closes
    });
    Ok(sender)
}
