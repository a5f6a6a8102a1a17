//! The durable store: SQLite (compiled in), WAL mode, one writer thread
//! that owns the database and group-commits.
//!
//! ```text
//!   handler ──Accept + reply chan──▶ ┐
//!   handler ──Accept + reply chan──▶ ├─ jobs: goro::chan ─▶ writer thread (owns the Connection)
//!   worker  ──Done   + reply chan──▶ ┘                       drain ≤ N jobs, BEGIN IMMEDIATE,
//!                                                            apply all, COMMIT (one fsync),
//!   every waiting handler/worker ◀── its answer ─────────────then answer each
//! ```
//!
//! Why a thread and not a goroutine: SQLite's calls block (disk, fsync), and
//! a goroutine must not block its worker thread. The writer is a plain
//! `std::thread` that waits with `recv_blocking` — goro channels work from
//! any thread — so no goroutine ever waits on the disk, only on its reply
//! channel.
//!
//! Group commit: one `fsync` is the cost of a commit, whatever it holds, so
//! the writer takes every job already queued (up to [`Config::batch`]) into
//! one transaction. Under load many handlers wait at once and the batches
//! grow; alone, a request commits by itself at once.
//!
//! Exactly once: an order's row is `accepted` until a worker's `Done` job
//! moves it, in the same transaction as the stock it takes and its line in
//! the `stock_moves` ledger, to `fulfilled` or `backordered`. A `Done` for
//! an order that is no longer `accepted` changes nothing. At start every
//! `accepted` row is queued again.
//!
//! [`Config::batch`]: super::Config::batch

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use goro::chan::{Receiver, Sender};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{Catalog, Order};

/// How long a statement waits for another connection's lock before the
/// batch fails (and its requests get a `503`).
const BUSY_TIMEOUT: Duration = Duration::from_millis(200);

/// What the database says about the shop (the durable part of `Stats`).
#[derive(Debug, Default)]
pub(crate) struct DbStats {
    pub(crate) accepted: u64,
    pub(crate) processed: u64,
    pub(crate) queued: u64,
    pub(crate) fulfilled: u64,
    pub(crate) backordered: u64,
    pub(crate) units: u64,
    pub(crate) revenue_cents: u64,
    pub(crate) per_worker: Vec<u64>,
    pub(crate) stock: Vec<(String, u64)>,
}

/// A processed order: fulfilled or not, or already processed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    Fulfilled,
    Backordered,
    AlreadyProcessed,
}

enum Job {
    Accept {
        product: usize,
        qty: u32,
        customer: u64,
        reply: Sender<Result<u64, String>>,
    },
    Done {
        id: u64,
        worker: usize,
        reply: Sender<Result<Done, String>>,
    },
    Stats {
        reply: Sender<Result<DbStats, String>>,
    },
    Close {
        reply: Sender<()>,
    },
}

/// Group-commit counters.
#[derive(Debug, Default)]
pub(crate) struct Commits {
    pub(crate) commits: AtomicU64,
    pub(crate) jobs: AtomicU64,
    pub(crate) largest: AtomicU64,
}

/// The handle to the writer thread.
#[derive(Debug)]
pub(crate) struct Db {
    jobs: Sender<Job>,
    pub(crate) path: PathBuf,
    pub(crate) commits: Arc<Commits>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Opens (or creates) the database at `path`, checks it, and starts the
/// writer. Returns the orders accepted but not yet processed (to queue
/// again). Every failure is one line: what and where.
pub(crate) fn open(
    path: &Path,
    catalog: &Catalog,
    batch: usize,
    max_pages: Option<u64>,
) -> Result<(Db, Vec<Order>), String> {
    let fail = |e: rusqlite::Error| format!("database {}: {e}", path.display());
    let conn = Connection::open(path).map_err(fail)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
    // The first read of the file: a file that is not a database fails here.
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!(
            "database {}: cannot switch to WAL mode (got {mode})",
            path.display()
        ));
    }
    // A commit is on disk (fsync) before anybody is told "accepted".
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(fail)?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(fail)?;
    if check != "ok" {
        return Err(format!("database {}: corrupt: {check}", path.display()));
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS products(
             id INTEGER PRIMARY KEY, name TEXT NOT NULL,
             price_cents INTEGER NOT NULL, stock INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS orders(
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             product INTEGER NOT NULL, qty INTEGER NOT NULL, customer INTEGER NOT NULL,
             status TEXT NOT NULL DEFAULT 'accepted', worker INTEGER);
         CREATE INDEX IF NOT EXISTS orders_status ON orders(status);
         CREATE TABLE IF NOT EXISTS stock_moves(
             order_id INTEGER NOT NULL, product INTEGER NOT NULL,
             qty INTEGER NOT NULL, price_cents INTEGER NOT NULL);",
    )
    .map_err(fail)?;
    for (i, p) in catalog.products.iter().enumerate() {
        conn.execute(
            "INSERT OR IGNORE INTO products(id, name, price_cents, stock) VALUES (?1, ?2, ?3, ?4)",
            params![i as i64, p.name, p.price_cents as i64, p.stock as i64],
        )
        .map_err(fail)?;
    }
    if let Some(pages) = max_pages {
        // Tests: a database that fills up ("database or disk is full").
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
            .map_err(fail)?;
    }
    let pending = {
        let mut st = conn
            .prepare("SELECT id, product, qty, customer FROM orders WHERE status = 'accepted' ORDER BY id")
            .map_err(fail)?;
        let rows = st
            .query_map([], |r| {
                Ok(Order {
                    id: r.get::<_, i64>(0)? as u64,
                    product: r.get::<_, i64>(1)? as usize,
                    qty: r.get::<_, i64>(2)? as u32,
                    customer: r.get::<_, i64>(3)? as u64,
                })
            })
            .map_err(fail)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(fail)?
    };

    // Room for every handler and worker waiting at once; they wait for
    // their reply anyway, so this only bounds the memory.
    let (jobs, rx) = goro::chan::<Job>(batch.max(1) * 2);
    let commits = Arc::new(Commits::default());
    let c2 = commits.clone();
    let thread = std::thread::Builder::new()
        .name("shop-db-writer".into())
        .spawn(move || writer(conn, rx, batch.max(1), &c2))
        .map_err(|e| format!("starting the database writer: {e}"))?;
    let db = Db {
        jobs,
        path: path.to_path_buf(),
        commits,
        thread: Mutex::new(Some(thread)),
    };
    Ok((db, pending))
}

impl Db {
    async fn ask<T>(&self, job: impl FnOnce(Sender<T>) -> Job) -> Option<T> {
        let (tx, rx) = goro::chan(1);
        self.jobs.send(job(tx)).await.ok()?;
        rx.recv().await
    }

    /// Stores a new order durably: its id once committed.
    pub(crate) async fn accept(
        &self,
        product: usize,
        qty: u32,
        customer: u64,
    ) -> Result<u64, String> {
        self.ask(|reply| Job::Accept {
            product,
            qty,
            customer,
            reply,
        })
        .await
        .unwrap_or_else(|| Err("shutting down".into()))
    }

    /// Records an order as processed by `worker`, taking its stock.
    pub(crate) async fn done(&self, id: u64, worker: usize) -> Result<Done, String> {
        self.ask(|reply| Job::Done { id, worker, reply })
            .await
            .unwrap_or_else(|| Err("shutting down".into()))
    }

    pub(crate) async fn stats(&self) -> Result<DbStats, String> {
        self.ask(|reply| Job::Stats { reply })
            .await
            .unwrap_or_else(|| Err("the database is closed".into()))
    }

    /// Stops the writer after the jobs queued before this one, closes the
    /// database (checkpointing the WAL) and waits for the thread.
    pub(crate) async fn close(&self) {
        let _ = self.ask(|reply| Job::Close { reply }).await;
        let t = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = t {
            // The thread has answered and is dropping the connection: a
            // short wait, off the workers.
            let _ = goro::spawn_blocking(move || t.join()).await;
        }
    }
}

/// The writer thread: drain, one transaction, answer everybody.
fn writer(mut conn: Connection, jobs: Receiver<Job>, batch: usize, commits: &Commits) {
    let mut buf = Vec::with_capacity(batch);
    while let Some(first) = jobs.recv_blocking() {
        buf.push(first);
        while buf.len() < batch {
            match jobs.try_recv() {
                Ok(j) => buf.push(j),
                Err(_) => break,
            }
        }
        let mut close = None;
        let mut writes = Vec::with_capacity(buf.len());
        for job in buf.drain(..) {
            match job {
                Job::Stats { reply } => {
                    let _ = reply.try_send(read_stats(&conn).map_err(|e| e.to_string()));
                }
                Job::Close { reply } => close = Some(reply),
                w => writes.push(w),
            }
        }
        if !writes.is_empty() {
            commit(&mut conn, writes, commits);
        }
        if let Some(reply) = close {
            drop(conn);
            let _ = reply.try_send(());
            return;
        }
    }
}

/// One transaction for every write of the batch; answers each job.
fn commit(conn: &mut Connection, writes: Vec<Job>, commits: &Commits) {
    let result = (|| -> rusqlite::Result<Vec<Result<u64, Done>>> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(writes.len());
        for job in &writes {
            match job {
                Job::Accept {
                    product,
                    qty,
                    customer,
                    ..
                } => {
                    tx.prepare_cached(
                        "INSERT INTO orders(product, qty, customer) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![
                        *product as i64,
                        *qty as i64,
                        *customer as i64
                    ])?;
                    out.push(Ok(tx.last_insert_rowid() as u64));
                }
                Job::Done { id, worker, .. } => out.push(Err(process(&tx, *id, *worker)?)),
                _ => unreachable!("only writes are committed"),
            }
        }
        tx.commit()?;
        Ok(out)
    })();
    let n = writes.len() as u64;
    match result {
        Ok(out) => {
            commits.commits.fetch_add(1, Relaxed);
            commits.jobs.fetch_add(n, Relaxed);
            commits.largest.fetch_max(n, Relaxed);
            for (job, r) in writes.into_iter().zip(out) {
                match (job, r) {
                    (Job::Accept { reply, .. }, Ok(id)) => {
                        let _ = reply.try_send(Ok(id));
                    }
                    (Job::Done { reply, .. }, Err(done)) => {
                        let _ = reply.try_send(Ok(done));
                    }
                    _ => unreachable!("one answer per job, in order"),
                }
            }
        }
        Err(e) => {
            // Rolled back (the transaction dropped): nothing of the batch
            // is stored, and everybody hears why.
            let msg = format!("storage unavailable: {e}");
            for job in writes {
                match job {
                    Job::Accept { reply, .. } => {
                        let _ = reply.try_send(Err(msg.clone()));
                    }
                    Job::Done { reply, .. } => {
                        let _ = reply.try_send(Err(msg.clone()));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Processes order `id` inside the batch's transaction: the stock it takes,
/// its ledger line and its status change happen together or not at all.
fn process(tx: &rusqlite::Transaction<'_>, id: u64, worker: usize) -> rusqlite::Result<Done> {
    let row: Option<(i64, i64, String)> = tx
        .prepare_cached("SELECT product, qty, status FROM orders WHERE id = ?1")?
        .query_row([id as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((product, qty, status)) = row else {
        return Ok(Done::AlreadyProcessed);
    };
    if status != "accepted" {
        return Ok(Done::AlreadyProcessed);
    }
    let took = tx
        .prepare_cached("UPDATE products SET stock = stock - ?1 WHERE id = ?2 AND stock >= ?1")?
        .execute(params![qty, product])?
        == 1;
    if took {
        tx.prepare_cached(
            "INSERT INTO stock_moves(order_id, product, qty, price_cents)
             SELECT ?1, ?2, ?3, price_cents FROM products WHERE id = ?2",
        )?
        .execute(params![id as i64, product, qty])?;
    }
    let status = if took { "fulfilled" } else { "backordered" };
    tx.prepare_cached("UPDATE orders SET status = ?1, worker = ?2 WHERE id = ?3")?
        .execute(params![status, worker as i64, id as i64])?;
    Ok(if took {
        Done::Fulfilled
    } else {
        Done::Backordered
    })
}

fn read_stats(conn: &Connection) -> rusqlite::Result<DbStats> {
    let mut s = DbStats::default();
    let mut st = conn.prepare_cached("SELECT status, count(*) FROM orders GROUP BY status")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let status: String = r.get(0)?;
        let n = r.get::<_, i64>(1)? as u64;
        s.accepted += n;
        match status.as_str() {
            "accepted" => s.queued += n,
            "fulfilled" => s.fulfilled += n,
            _ => s.backordered += n,
        }
    }
    s.processed = s.fulfilled + s.backordered;
    let (units, revenue): (i64, i64) = conn.query_row(
        "SELECT coalesce(sum(qty), 0), coalesce(sum(qty * price_cents), 0) FROM stock_moves",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    s.units = units as u64;
    s.revenue_cents = revenue as u64;
    let mut st = conn.prepare_cached(
        "SELECT worker, count(*) FROM orders WHERE worker IS NOT NULL GROUP BY worker ORDER BY worker",
    )?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let w = r.get::<_, i64>(0)? as usize;
        if s.per_worker.len() <= w {
            s.per_worker.resize(w + 1, 0);
        }
        s.per_worker[w] = r.get::<_, i64>(1)? as u64;
    }
    let mut st = conn.prepare_cached("SELECT name, stock FROM products ORDER BY id")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        s.stock.push((r.get(0)?, r.get::<_, i64>(1)? as u64));
    }
    Ok(s)
}
