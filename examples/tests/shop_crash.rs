//! The durable shop survives `SIGKILL`: the shop binary (`shop-server
//! --serve`) on a SQLite file takes orders from a few client threads and is
//! killed mid-run with a backlog of accepted, unprocessed orders; started
//! again on the same file, it re-queues them and drains. Then the database
//! itself is checked: every order answered `202` was processed exactly once
//! (one status change, at most one ledger line, stock and ledger agree), no
//! order answered `503` or `400` was stored, and nothing is left unprocessed.
//!
//! The clients are plain `std::net` threads writing HTTP/1.1 by hand; every
//! request carries a unique customer number, which is how a database row is
//! traced back to the answer its request got.

mod common;

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goro_examples::shop::{Catalog, Stats};

const CLIENTS: u64 = 6;

/// What one request got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Accepted(u64),
    Rejected,
    Bad,
    /// No answer: the connection broke (the kill).
    Unknown,
}

struct Shop {
    child: Child,
    addr: SocketAddr,
}

impl Shop {
    /// Starts `shop-server --serve 127.0.0.1:0 --db PATH` and reads its
    /// address from the first line it prints.
    fn start(db: &Path, extra: &[&str]) -> Shop {
        let args = [OsStr::new("--db"), db.as_os_str()]
            .into_iter()
            .chain(extra.iter().map(OsStr::new));
        let (child, addr) = common::start_shop_server(args);
        Shop { child, addr }
    }

    fn stats(&self) -> Stats {
        let (status, body) = request(self.addr, "GET", "/stats", "").expect("GET /stats");
        assert_eq!(status, 200);
        serde_json::from_str(&body).expect("stats JSON")
    }
}

/// One request on a fresh connection: (status, body).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
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
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((status, body))
}

/// The order of customer `c`: a mix of products (the poster runs out of
/// stock), one in 10 bad (`qty: 0`).
fn order_body(c: u64) -> String {
    let products = ["rust-mug", "limited-poster", "gopher-plush"];
    let qty = if c % 10 == 9 { 0 } else { 1 + c % 5 };
    format!(
        r#"{{"product":"{}","qty":{qty},"customer":{c}}}"#,
        products[(c % 3) as usize]
    )
}

#[test]
fn every_accepted_order_survives_sigkill_and_is_processed_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");

    // Slow workers, so a backlog builds up: 2 workers × 5 ms per order.
    let shop = Shop::start(
        &db,
        &["--workers", "2", "--delay-us", "5000", "--queue", "200"],
    );
    let outcomes: Arc<Mutex<HashMap<u64, Outcome>>> = Arc::default();
    let accepted = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|t| {
            let (outcomes, accepted, stop) = (outcomes.clone(), accepted.clone(), stop.clone());
            let addr = shop.addr;
            std::thread::spawn(move || {
                let mut c = t * 1_000_000;
                while !stop.load(SeqCst) {
                    c += 1;
                    let outcome = match request(addr, "POST", "/buy", &order_body(c)) {
                        Ok((202, body)) => {
                            accepted.fetch_add(1, SeqCst);
                            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                            Outcome::Accepted(v["order"].as_u64().unwrap())
                        }
                        Ok((503, _)) => Outcome::Rejected,
                        Ok((400, _)) => Outcome::Bad,
                        Ok((other, body)) => panic!("unexpected {other}: {body}"),
                        Err(_) => Outcome::Unknown,
                    };
                    outcomes.lock().unwrap().insert(c, outcome);
                    if outcome == Outcome::Unknown {
                        return; // the shop is gone
                    }
                }
            })
        })
        .collect();

    // Mid-run: enough accepted that a backlog is certain, then SIGKILL.
    let t0 = Instant::now();
    while accepted.load(SeqCst) < 400 {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the shop accepts nothing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut child = shop.child;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let outcomes = Arc::try_unwrap(outcomes).unwrap().into_inner().unwrap();

    // The kill left accepted, unprocessed orders behind.
    let backlog: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM orders WHERE status = 'accepted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        backlog > 0,
        "killed with nothing in flight: the test proves nothing"
    );

    // Restart on the same file and let it drain.
    let shop = Shop::start(&db, &["--workers", "4", "--delay-us", "0"]);
    let t0 = Instant::now();
    loop {
        let s = shop.stats();
        if s.queued == 0 && s.processed == s.accepted {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "not drained: {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut child = shop.child;
    child.kill().unwrap();
    child.wait().unwrap();

    check_database(&db, &outcomes);
}

fn check_database(db: &Path, outcomes: &HashMap<u64, Outcome>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut rows: HashMap<u64, (u64, String)> = HashMap::new(); // id → (customer, status)
    let mut st = conn
        .prepare("SELECT id, customer, status FROM orders")
        .unwrap();
    let mut q = st.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        let id = r.get::<_, i64>(0).unwrap() as u64;
        rows.insert(id, (r.get::<_, i64>(1).unwrap() as u64, r.get(2).unwrap()));
    }
    // Every 202 stored under its id, for its customer, and processed.
    let mut accepted = 0;
    for (&c, o) in outcomes {
        if let Outcome::Accepted(id) = o {
            accepted += 1;
            let (customer, status) = rows
                .get(id)
                .unwrap_or_else(|| panic!("202 order {id} lost"));
            assert_eq!(*customer, c, "order {id}");
            assert!(
                status == "fulfilled" || status == "backordered",
                "order {id}: {status}"
            );
        }
    }
    // Every stored order was answered 202, or its answer was lost in the
    // kill; none was answered 503 or 400.
    for (id, (customer, status)) in &rows {
        match outcomes.get(customer) {
            Some(Outcome::Accepted(a)) => assert_eq!(a, id),
            Some(Outcome::Unknown) => {}
            other => panic!("order {id} ({status}) stored, but its request got {other:?}"),
        }
        assert_ne!(status, "accepted", "order {id} never processed");
    }
    assert!(rows.len() >= accepted);
    assert!(
        rows.len() <= accepted + CLIENTS as usize,
        "more stored than answered"
    );

    // Exactly once: one ledger line per fulfilled order, none for others,
    // and the stock moved by exactly the ledger.
    let mut moves: HashMap<u64, u64> = HashMap::new();
    let mut per_product: HashMap<i64, i64> = HashMap::new();
    let mut st = conn
        .prepare("SELECT order_id, product, qty FROM stock_moves")
        .unwrap();
    let mut q = st.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        let id = r.get::<_, i64>(0).unwrap() as u64;
        *moves.entry(id).or_default() += 1;
        *per_product.entry(r.get(1).unwrap()).or_default() += r.get::<_, i64>(2).unwrap();
    }
    for (id, n) in &moves {
        assert_eq!(*n, 1, "order {id} took stock {n} times");
        assert_eq!(rows[id].1, "fulfilled");
    }
    let fulfilled: HashSet<_> = rows
        .iter()
        .filter(|(_, r)| r.1 == "fulfilled")
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(fulfilled.len(), moves.len());
    let catalog = Catalog::demo();
    let mut st = conn.prepare("SELECT id, stock FROM products").unwrap();
    let mut q = st.query([]).unwrap();
    while let Some(r) = q.next().unwrap() {
        let id: i64 = r.get(0).unwrap();
        let stock: i64 = r.get(1).unwrap();
        let start = catalog.products[id as usize].stock as i64;
        assert_eq!(
            start - stock,
            per_product.get(&id).copied().unwrap_or(0),
            "product {id}"
        );
    }
}
