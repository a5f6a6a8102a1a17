//! The durable shop's faults: a locked database and a full one answer
//! `503` with the reason and lose nothing already accepted; a database path
//! that cannot be used fails at start with one line; a reopened database
//! re-queues its unprocessed orders and its stats cover every run.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use goro_examples::shop::{Config, Server, Stats};

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

    fn shutdown(mut self) -> Stats {
        let server = self.server.take().unwrap();
        self.rt.block_on(server.shutdown())
    }
}

fn durable(db: &Path) -> Config {
    Config {
        db: Some(db.to_path_buf()),
        delay: Duration::ZERO,
        workers: 2,
        ..Config::default()
    }
}

/// `POST /buy` on a fresh connection: (status, body).
fn buy(addr: SocketAddr, customer: u64) -> (u16, String) {
    let body = format!(r#"{{"product":"rust-mug","qty":1,"customer":{customer}}}"#);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /buy HTTP/1.1\r\nHost: shop\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    )
}

#[test]
fn locked_database_answers_503_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let shop = Shop::start(durable(&db));
    for c in 0..5 {
        assert_eq!(buy(shop.addr, c).0, 202);
    }
    // Another process holds the write lock.
    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (status, body) = buy(shop.addr, 100);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("database is locked"), "{body}");
    assert!(body.contains("not taken"), "{body}");
    other.execute_batch("ROLLBACK").unwrap();
    drop(other);
    assert_eq!(buy(shop.addr, 6).0, 202);

    let stats = shop.shutdown();
    assert_eq!(stats.accepted, 6);
    assert_eq!(stats.processed, 6);
    assert_eq!(stats.rejected, 1);
    assert_eq!(stats.units, 6);
    let stored: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM orders WHERE customer = 100",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 0, "the 503 order was stored");
}

#[test]
fn full_database_answers_503_and_keeps_what_it_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let shop = Shop::start(Config {
        db_max_pages: Some(12),
        ..durable(&db)
    });
    let mut accepted = 0u64;
    let full = loop {
        let (status, body) = buy(shop.addr, accepted);
        match status {
            202 => accepted += 1,
            503 => break body,
            other => panic!("{other}: {body}"),
        }
        assert!(accepted < 50_000, "the database never filled up");
    };
    assert!(full.contains("full"), "{full}");
    assert!(accepted > 0);
    let stats = shop.shutdown();
    assert_eq!(stats.accepted, accepted, "every 202 is in the database");

    // Room again (no page limit): the reopened shop processes the rest.
    let shop = Shop::start(durable(&db));
    let stats_then = shop.shutdown();
    assert_eq!(stats_then.accepted, accepted);
    assert_eq!(stats_then.processed, accepted);
    assert_eq!(stats_then.queued, 0);
    assert_eq!(stats_then.units, accepted);
}

#[test]
fn reopened_database_requeues_and_counts_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let shop = Shop::start(durable(&db));
    for c in 0..10 {
        assert_eq!(buy(shop.addr, c).0, 202);
    }
    let first = shop.shutdown();
    assert_eq!((first.accepted, first.processed), (10, 10));
    assert_eq!(first.storage, db.display().to_string());
    assert!(first.commits > 0 && first.largest_commit > 0);

    // Accepted but unprocessed rows (as a crash leaves them) are queued again.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "INSERT INTO orders(product, qty, customer) VALUES (2, 3, 500), (2, 4, 501);",
        )
        .unwrap();
    let shop = Shop::start(durable(&db));
    assert_eq!(buy(shop.addr, 11).0, 202);
    let second = shop.shutdown();
    assert_eq!(second.accepted, 13);
    assert_eq!(second.processed, 13);
    assert_eq!(second.units, 10 + 3 + 4 + 1);
    let mug = second
        .stock
        .iter()
        .find(|(n, _)| n == "rust-mug")
        .unwrap()
        .1;
    assert_eq!(mug, 1_000_000 - 18);
}

#[test]
fn unusable_database_paths_fail_at_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 4096]).unwrap();
    let cases = [
        (dir.path().join("no/such/dir/shop.db"), "unable to open"),
        (garbage, "not a database"),
        (dir.path().to_path_buf(), "unable to open"),
    ];
    let rt = goro::Runtime::builder().procs(1).build().unwrap();
    for (path, want) in cases {
        let err = rt
            .block_on(Server::bind("127.0.0.1:0", durable(&path)))
            .expect_err("should not start");
        let msg = err.to_string();
        assert!(msg.contains(want), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(!msg.contains('\n'), "{msg:?}");
    }
}

/// Clients that send an order and hang up while it is being stored (as
/// `wrk` does at the end of a run): hyper then drops the handler, but the
/// order, stored anyway, must still be processed in this run, not left
/// `accepted` until the next start. Another connection's write lock holds
/// the commit back until the client is gone.
#[test]
fn orders_from_clients_that_hang_up_are_still_processed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.db");
    let shop = Shop::start(durable(&db));
    assert_eq!(buy(shop.addr, 0).0, 202); // the schema is there
    let other = rusqlite::Connection::open(&db).unwrap();
    for c in 1..=3u64 {
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let body = format!(r#"{{"product":"rust-mug","qty":1,"customer":{c}}}"#);
        let mut s = TcpStream::connect(shop.addr).unwrap();
        write!(
            s,
            "POST /buy HTTP/1.1\r\nHost: shop\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(40)); // the writer waits for the lock
        drop(s); // gone before the answer
        std::thread::sleep(Duration::from_millis(20));
        other.execute_batch("ROLLBACK").unwrap(); // the commit goes through
        std::thread::sleep(Duration::from_millis(60));
    }
    drop(other);
    let stats = shop.shutdown();
    // Normally 4; fewer only if a handler was too slow to reach the writer
    // before its client left (then the order was never stored at all).
    assert!(stats.accepted >= 1, "{stats:?}");
    assert_eq!(stats.queued, 0, "{stats:?}");
    assert_eq!(stats.processed, stats.accepted, "{stats:?}");
}
