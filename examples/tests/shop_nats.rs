//! The shop on NATS JetStream (`--queue nats://HOST:PORT`, issue 18):
//! a real `nats-server -js` on a loopback port with a temporary store, and
//! shop processes (`shop-server --serve ... --queue nats://...`) sharing it.
//!
//! - Three shops take orders; one is killed with SIGKILL while it holds
//!   unacknowledged orders; the survivors get them after the ack wait.
//!   Then: every order answered `202` was applied exactly once (count,
//!   units and the sum of the ids, read from the shared ledger), nothing
//!   answered `400`/`503` was applied.
//! - No broker at start: a one-line error naming the URL, non-zero exit.
//! - The broker goes away mid-run: `503` with `Retry-After`; it comes back
//!   (same port, same store): the shop reconnects, and every order answered
//!   `202` before, during and after is applied once.
//!
//! The broker must be installed (`apt-get install -y nats-server`; `.ci/run`
//! does): without it these tests fail, they do not skip.
//!
//! The clients are plain `std::net` threads writing HTTP/1.1 by hand.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goro_examples::shop::Stats;

/// A `nats-server -js` on 127.0.0.1, killed when dropped (also on a panic).
struct Broker {
    child: Option<Child>,
    port: u16,
    store: PathBuf,
}

impl Broker {
    fn start(store: &Path) -> Broker {
        let mut b = Broker {
            child: None,
            port: free_port(),
            store: store.to_path_buf(),
        };
        b.restart();
        b
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts it (again: same port, same store) and waits until it answers.
    fn restart(&mut self) {
        assert!(self.child.is_none());
        let child = Command::new("nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run nats-server ({e}): the NATS tests need the broker; \
                     install it with `apt-get install -y nats-server` (.ci/run does)"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // The server greets with an INFO line once it is ready.
            if let Ok(s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let mut line = String::new();
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                if BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("INFO") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, and wait for it to be gone.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `shop-server --serve 127.0.0.1:0 --queue URL`, killed when dropped.
struct Shop {
    child: Child,
    addr: SocketAddr,
}

impl Shop {
    fn start(url: &str, extra: &[&str]) -> Shop {
        let (child, addr) = common::start_shop_server(["--queue", url].iter().chain(extra));
        Shop { child, addr }
    }

    fn stats(&self) -> Stats {
        let r = request(self.addr, "GET", "/stats", "").expect("GET /stats");
        assert_eq!(r.status, 200);
        serde_json::from_str(&r.body).expect("stats JSON")
    }

    /// SIGKILL.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Response {
    status: u16,
    retry_after: bool,
    body: String,
}

/// One request on a fresh connection.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: shop\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {resp:?}")))?;
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    Ok(Response {
        status,
        retry_after: head.to_ascii_lowercase().contains("\r\nretry-after: "),
        body: body.to_string(),
    })
}

/// Orders answered `202`: id → units; and the other answers counted.
#[derive(Default)]
struct Book {
    accepted: HashMap<u64, u64>,
    bad: u64,
    rejected: u64,
    /// No answer (the connection broke): must stay 0, the tests never
    /// kill a shop with a request in flight.
    unknown: u64,
}

impl Book {
    /// Sends order `c` (one in 10 bad: `qty: 0`) and books the answer.
    fn order(&mut self, addr: SocketAddr, c: u64) -> Option<Response> {
        let qty = if c % 10 == 9 { 0 } else { 1 + c % 5 };
        let product = ["rust-mug", "gopher-plush"][(c % 2) as usize];
        let body = format!(r#"{{"product":"{product}","qty":{qty},"customer":{c}}}"#);
        match request(addr, "POST", "/buy", &body) {
            Ok(r) => {
                match r.status {
                    202 => {
                        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
                        let id = v["order"].as_u64().expect("an order id");
                        assert!(self.accepted.insert(id, qty).is_none(), "id {id} twice");
                    }
                    400 => self.bad += 1,
                    503 => {
                        assert!(r.retry_after, "503 without Retry-After");
                        self.rejected += 1;
                    }
                    s => panic!("unexpected status {s}: {}", r.body),
                }
                Some(r)
            }
            Err(_) => {
                self.unknown += 1;
                None
            }
        }
    }

    fn merge(&mut self, other: Book) {
        for (id, qty) in other.accepted {
            assert!(self.accepted.insert(id, qty).is_none(), "id {id} twice");
        }
        self.bad += other.bad;
        self.rejected += other.rejected;
        self.unknown += other.unknown;
    }

    /// The shared ledger holds exactly the `202` orders, each once.
    fn check(&self, s: &Stats) {
        let n = self.accepted.len() as u64;
        let units: u64 = self.accepted.values().sum();
        let id_sum = self.accepted.keys().fold(0u64, |a, &id| a.wrapping_add(id));
        assert_eq!(s.processed, n, "processed ≠ orders answered 202");
        assert_eq!(s.fulfilled, n, "plenty of stock: every order fulfilled");
        assert_eq!(s.units, units, "units ≠ the 202 orders' units");
        assert_eq!(
            s.applied_id_sum, id_sum,
            "the applied orders are not the 202 orders"
        );
        assert_eq!(s.queued, 0);
    }
}

/// Polls `shop` until the ledger holds `n` orders and nothing is queued.
fn drain(shop: &Shop, n: u64) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = shop.stats();
        if s.processed >= n && s.queued == 0 {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "not drained: {n} accepted, stats {s:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn three_shops_one_killed_every_accepted_order_applied_once() {
    let store = tempfile::tempdir().unwrap();
    let broker = Broker::start(store.path());
    let url = broker.url();
    // Slow workers (10 ms each), so the broker holds a backlog and every
    // shop holds unacknowledged orders; a short ack wait.
    let args = [
        "--workers",
        "4",
        "--delay-us",
        "10000",
        "--ack-wait-ms",
        "1000",
    ];
    let mut shops: Vec<Shop> = (0..3).map(|_| Shop::start(&url, &args)).collect();
    let addrs: Vec<SocketAddr> = shops.iter().map(|s| s.addr).collect();

    // Clients go round the shops; `live` shops get orders.
    let live = Arc::new(AtomicUsize::new(3));
    let in_flight_to_victim = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let books = Arc::new(Mutex::new(Book::default()));
    let clients: Vec<_> = (0..6u64)
        .map(|t| {
            let (live, stop, books, addrs) =
                (live.clone(), stop.clone(), books.clone(), addrs.clone());
            let victim_busy = in_flight_to_victim.clone();
            std::thread::spawn(move || {
                let mut book = Book::default();
                let mut c = t * 1_000_000;
                while !stop.load(SeqCst) {
                    c += 1;
                    let n = live.load(SeqCst);
                    let i = (c as usize) % 3;
                    let i = if i >= n { i % n } else { i };
                    // The victim (index 2) is counted while a request is at it.
                    if i == 2 {
                        victim_busy.fetch_add(1, SeqCst);
                        if live.load(SeqCst) < 3 {
                            victim_busy.fetch_sub(1, SeqCst);
                            continue;
                        }
                    }
                    book.order(addrs[i], c);
                    if i == 2 {
                        victim_busy.fetch_sub(1, SeqCst);
                    }
                }
                books.lock().unwrap().merge(book);
            })
        })
        .collect();

    std::thread::sleep(Duration::from_millis(1500));
    // No more orders to the victim; once its last request is answered,
    // SIGKILL it: it still holds orders pulled from the shared consumer.
    live.store(2, SeqCst);
    while in_flight_to_victim.load(SeqCst) > 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let before = shops[2].stats();
    assert!(before.queued > 0, "no backlog: {before:?}");
    let mut victim = shops.pop().unwrap();
    victim.kill();
    let killed = Instant::now();
    let victim_processed = before.per_worker.iter().sum::<u64>();
    assert!(victim_processed > 0, "the victim processed nothing");

    // The survivors take its unacknowledged orders after the ack wait.
    let deadline = killed + Duration::from_secs(20);
    let redelivery = loop {
        if shops[0].stats().redelivered > 0 {
            break killed.elapsed();
        }
        assert!(Instant::now() < deadline, "nothing redelivered");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let book = books.lock().unwrap();
    assert_eq!(book.unknown, 0);
    assert!(book.bad > 0);
    let s = drain(&shops[0], book.accepted.len() as u64);
    book.check(&s);
    assert_eq!(shops[1].stats().applied_id_sum, s.applied_id_sum);
    eprintln!(
        "shop_nats: {} orders accepted, {} × 400, {} × 503; {} redelivered after the kill, \
         first one applied {:.0} ms after it (ack wait 1000 ms); the killed shop had processed \
         {victim_processed}",
        book.accepted.len(),
        book.bad,
        book.rejected,
        s.redelivered,
        redelivery.as_secs_f64() * 1e3
    );
}

#[test]
fn no_broker_at_start_is_a_one_line_error_naming_the_url() {
    let url = format!("nats://127.0.0.1:{}", free_port());
    let out = Command::new(env!("CARGO_BIN_EXE_shop-server"))
        .args(["--serve", "127.0.0.1:0", "--queue", &url])
        .output()
        .expect("starting shop-server");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(&url), "{err}");
    assert!(err.contains("cannot reach the NATS broker"), "{err}");
}

#[test]
fn broker_lost_mid_run_answers_503_then_reconnects_losing_nothing() {
    let store = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(store.path());
    let shop = Shop::start(&broker.url(), &["--workers", "2", "--ack-wait-ms", "1000"]);
    let mut book = Book::default();
    let mut c = 0;
    for _ in 0..20 {
        c += 1;
        book.order(shop.addr, c);
    }
    assert_eq!(book.rejected, 0);

    broker.kill();
    // 503 with Retry-After (checked in `order`) while it is away.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut refused = 0;
    while refused < 5 {
        c += 1;
        if c % 10 == 9 {
            continue; // a bad order is a 400 whatever the broker does
        }
        let r = book.order(shop.addr, c).expect("an answer");
        if r.status == 503 {
            refused += 1;
            assert!(r.body.contains("NATS"), "{}", r.body);
        }
        assert!(Instant::now() < deadline, "no 503 with the broker gone");
    }

    broker.restart();
    // The shop reconnects by itself: 202 again.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut after = 0;
    while after < 20 {
        c += 1;
        if book.order(shop.addr, c).map(|r| r.status) == Some(202) {
            after += 1;
        }
        assert!(
            Instant::now() < deadline,
            "no 202 after the broker came back"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(book.unknown, 0);
    let s = drain(&shop, book.accepted.len() as u64);
    book.check(&s);
}
