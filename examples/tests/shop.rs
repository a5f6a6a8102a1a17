//! The shop demo's service (`goro_examples::shop`) over real HTTP on an
//! ephemeral port: good and bad orders, routing, a burst larger than the
//! queue, and the graceful shutdown.
//!
//! The server runs on its own goro runtime; most requests come from a
//! deliberately plain client — `std::net::TcpStream` and hand-written
//! HTTP/1.1 on the test thread — so that what is tested is the bytes on the
//! wire, not a client library's reading of them. One test uses the demo's
//! own load generator (hyper's client on goro) over keep-alive connections.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use goro_examples::shop::load::{self, LoadConfig};
use goro_examples::shop::{Config, Server, Stats};

/// A goro runtime with a shop on 127.0.0.1:0.
struct Shop {
    rt: goro::Runtime,
    server: Option<Server>,
    addr: SocketAddr,
}

impl Shop {
    fn start(cfg: Config) -> Shop {
        let rt = goro::Runtime::builder().procs(2).build().expect("runtime");
        let server = rt.block_on(Server::bind("127.0.0.1:0", cfg)).expect("bind");
        let addr = server.addr();
        Shop {
            rt,
            server: Some(server),
            addr,
        }
    }

    fn stats(&self) -> Stats {
        let server = self.server.as_ref().unwrap();
        self.rt.block_on(server.stats())
    }

    fn shutdown(&mut self) -> Stats {
        let server = self.server.take().unwrap();
        self.rt.block_on(server.shutdown())
    }
}

/// One answer: status, headers (names lower-cased), body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and
/// reads the answer to the end.
fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Answer {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    raw(addr, &[head.as_bytes(), body].concat())
}

/// Writes `bytes` as they are and parses the answer.
fn raw(addr: SocketAddr, bytes: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(bytes).expect("write");
    let mut out = Vec::new();
    // The server may close with part of a refused body unread (a reset):
    // what arrived before it is the answer.
    let _ = s.read_to_end(&mut out);
    parse(&out)
}

fn parse(out: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(out);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

fn buy(addr: SocketAddr, json: &str) -> Answer {
    request(addr, "POST", "/buy", json.as_bytes())
}

#[test]
fn good_order_is_accepted_and_processed() {
    let mut shop = Shop::start(Config::default());
    let a = buy(shop.addr, r#"{"product":"rust-mug","qty":2,"customer":7}"#);
    assert_eq!(a.status, 202, "{a:?}");
    assert_eq!(a.header("content-type"), Some("application/json"));
    assert_eq!(a.body.trim(), r#"{"order":1}"#);

    let stats = request(shop.addr, "GET", "/stats", b"");
    assert_eq!(stats.status, 200, "{stats:?}");
    let live: Stats = serde_json::from_str(&stats.body).expect("stats are JSON");
    assert_eq!(live.accepted, 1);
    assert_eq!(live.per_worker.len(), 8);

    let s = shop.shutdown();
    assert_eq!((s.accepted, s.processed, s.fulfilled), (1, 1, 1));
    assert_eq!(s.units, 2);
    assert_eq!(s.revenue_cents, 2 * 1250);
    assert_eq!(s.per_worker.iter().sum::<u64>(), 1);
    let mugs = s.stock.iter().find(|(n, _)| n == "rust-mug").unwrap();
    assert_eq!(mugs.1, 1_000_000 - 2);
}

#[test]
fn bad_input_gets_400_with_a_clear_message() {
    let mut shop = Shop::start(Config::default());
    let cases: &[(&str, &str)] = &[
        (r#"{"product":"rust-mug","qty":"#, "malformed JSON"),
        ("not json at all", "malformed JSON"),
        (
            r#"{"product":"rust-mug","qty":2}"#,
            "missing field `customer`",
        ),
        (
            r#"{"product":"kiwi","qty":1,"customer":1}"#,
            r#"unknown product \"kiwi\""#,
        ),
        (
            r#"{"product":"rust-mug","qty":0,"customer":1}"#,
            "qty must be at least 1, got 0",
        ),
        (
            r#"{"product":"rust-mug","qty":-3,"customer":1}"#,
            "qty must be at least 1, got -3",
        ),
        (
            r#"{"product":"rust-mug","qty":1000,"customer":1}"#,
            "qty must be at most 100, got 1000",
        ),
    ];
    for (body, msg) in cases {
        let a = buy(shop.addr, body);
        assert_eq!(a.status, 400, "{body}: {a:?}");
        assert!(
            a.body.contains(msg),
            "{body}: expected {msg:?} in {:?}",
            a.body
        );
        assert!(a.body.starts_with(r#"{"error":"#), "{a:?}");
    }

    // Oversized, declared: refused from the headers alone.
    let a = raw(
        shop.addr,
        b"POST /buy HTTP/1.1\r\nHost: shop\r\nContent-Length: 5000\r\n\r\n",
    );
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains("body larger than 1024 bytes"), "{a:?}");

    // Oversized, chunked (no length given): refused once 1024 bytes are read.
    let chunk = format!(
        r#"{{"product":"rust-mug","qty":1,"customer":1,"note":"{}"}}"#,
        "x".repeat(1500)
    );
    let msg = format!(
        "POST /buy HTTP/1.1\r\nHost: shop\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let a = raw(shop.addr, msg.as_bytes());
    assert_eq!(a.status, 400, "{a:?}");
    assert!(a.body.contains("body larger than 1024 bytes"), "{a:?}");

    let s = shop.shutdown();
    assert_eq!(s.bad_requests, cases.len() as u64 + 2);
    assert_eq!((s.accepted, s.processed), (0, 0));
}

#[test]
fn unknown_path_is_404_and_wrong_method_405() {
    let mut shop = Shop::start(Config::default());
    let a = request(shop.addr, "GET", "/checkout", b"");
    assert_eq!(a.status, 404, "{a:?}");
    assert!(a.body.contains("no such page"), "{a:?}");

    let a = request(shop.addr, "GET", "/buy", b"");
    assert_eq!(a.status, 405, "{a:?}");
    assert_eq!(a.header("allow"), Some("POST"));

    let a = request(shop.addr, "DELETE", "/stats", b"");
    assert_eq!(a.status, 405, "{a:?}");
    assert_eq!(a.header("allow"), Some("GET"));

    let s = shop.shutdown();
    assert_eq!((s.accepted, s.bad_requests), (0, 0));
}

/// Issue 16: the shop mounts `/debug/goroutines` (Go's pprof goroutine
/// page): the grouped profile, and every goroutine with `?debug=2`.
#[test]
fn debug_goroutines_page_groups_the_shops_goroutines() {
    let mut shop = Shop::start(Config::default());
    // The 8 order workers, once all blocked in the same receive, are one
    // group (just after start some may still be runnable).
    let start = std::time::Instant::now();
    loop {
        let a = request(shop.addr, "GET", "/debug/goroutines", b"");
        assert_eq!(a.status, 200, "{a:?}");
        assert_eq!(a.header("content-type"), Some("text/plain; charset=utf-8"));
        assert!(a.body.starts_with("goroutine profile: total "), "{a:?}");
        if a.body.contains("\n8 @ [chan receive]\n") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{}", a.body);
        std::thread::sleep(Duration::from_millis(5));
    }

    let full = request(shop.addr, "GET", "/debug/goroutines?debug=2", b"");
    assert_eq!(full.status, 200, "{full:?}");
    assert!(
        full.body.matches("[chan receive]:").count() >= 8,
        "{}",
        full.body
    );

    let a = request(shop.addr, "POST", "/debug/goroutines", b"");
    assert_eq!(a.status, 405, "{a:?}");
    shop.shutdown();
}

/// 200 orders at once against 2 slow workers and a queue of 10: most are
/// refused with 503 + Retry-After, none is lost — every 202 is processed.
#[test]
fn burst_larger_than_the_queue_gets_503s_and_loses_nothing() {
    let mut shop = Shop::start(Config {
        workers: 2,
        queue: 10,
        delay: Duration::from_millis(100),
        ..Config::default()
    });
    let addr = shop.addr;
    let clients: Vec<_> = (0..200)
        .map(|i| {
            std::thread::spawn(move || {
                buy(
                    addr,
                    &format!(r#"{{"product":"select-socks","qty":1,"customer":{i}}}"#),
                )
            })
        })
        .collect();
    let answers: Vec<Answer> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let accepted = answers.iter().filter(|a| a.status == 202).count() as u64;
    let busy: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(
        accepted + busy.len() as u64,
        200,
        "only 202 and 503 expected"
    );
    assert!(accepted >= 10, "the queue holds 10: {accepted} accepted");
    assert!(
        !busy.is_empty(),
        "200 orders into a queue of 10 must overflow"
    );
    for a in &busy {
        assert_eq!(a.header("retry-after"), Some("1"), "{a:?}");
        assert!(a.body.contains("queue full"), "{a:?}");
    }

    let live = shop.stats();
    assert_eq!(live.accepted, accepted);
    assert_eq!(live.rejected, busy.len() as u64);
    assert!(live.queued <= 10);

    let s = shop.shutdown();
    assert_eq!(s.accepted, accepted);
    assert_eq!(s.processed, accepted, "an accepted order was lost");
    assert_eq!(s.queued, 0);
    assert_eq!(s.per_worker.iter().sum::<u64>(), accepted);
}

/// Shutdown with a full queue: stop accepting, drain every queued order,
/// then return — accepted == processed.
#[test]
fn graceful_shutdown_processes_every_accepted_order() {
    let mut shop = Shop::start(Config {
        workers: 1,
        queue: 64,
        delay: Duration::from_millis(80),
        ..Config::default()
    });
    for i in 0..25 {
        let a = buy(
            shop.addr,
            &format!(r#"{{"product":"channel-tee","qty":1,"customer":{i}}}"#),
        );
        assert_eq!(a.status, 202, "{a:?}");
    }
    let before = shop.stats();
    assert!(
        before.queued > 0,
        "one 80 ms worker cannot have finished 25 orders yet"
    );

    let s = shop.shutdown();
    assert_eq!((s.accepted, s.processed, s.queued), (25, 25, 0));
    assert_eq!(s.fulfilled, 25);
    // The listener is closed: nobody is served any more.
    let refused = TcpStream::connect(shop.addr)
        .and_then(|mut c| {
            c.set_read_timeout(Some(Duration::from_secs(5)))?;
            c.write_all(b"GET /stats HTTP/1.1\r\nHost: shop\r\n\r\n")?;
            let mut buf = [0u8; 64];
            c.read(&mut buf)
        })
        .unwrap_or(0)
        == 0;
    assert!(refused, "the shop still answers after shutdown");
}

/// The demo's own customers: keep-alive connections, retries after 503,
/// a few bad orders on purpose — every good order accepted and processed.
#[test]
fn demo_load_over_keep_alive_connections() {
    let mut shop = Shop::start(Config {
        workers: 4,
        queue: 16,
        delay: Duration::from_millis(1),
        ..Config::default()
    });
    let cfg = LoadConfig {
        orders: 2_000,
        customers: 50,
        bad_every: 40,
        retry_pause: Duration::from_millis(2),
    };
    let expected_bad = cfg.expected_bad();
    let addr = shop.addr;
    let report = shop
        .rt
        .block_on(load::run(addr, cfg, Arc::new(|| {})))
        .expect("the load ran");
    assert_eq!(report.bad, expected_bad);
    assert_eq!(report.accepted + report.bad, 2_000);
    assert_eq!(report.other, 0);
    assert_eq!(
        report.requests(),
        report.accepted + report.bad + report.rejected
    );
    assert!(report.percentile(50.0) <= report.percentile(99.0));

    let s = shop.shutdown();
    assert_eq!(s.accepted, report.accepted);
    assert_eq!(s.processed, s.accepted, "an accepted order was lost");
    assert_eq!(s.rejected, report.rejected);
    assert_eq!(s.bad_requests, expected_bad);
}
