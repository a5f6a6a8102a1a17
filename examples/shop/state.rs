//! The shop's shared state and its workers.
//!
//! One `State` lives behind an `Arc`, shared by every connection goroutine
//! and every worker — what a Go program keeps in a struct whose methods are
//! the handlers. Who touches what:
//!
//! - `queue` (the sending end): handlers `try_send`; `Server::shutdown`
//!   closes it. The workers own the receiving end.
//! - `catalog` (`RwMutex`): handlers read it to check the product; a worker
//!   writes it for the moment it reserves stock.
//! - `totals` (`Mutex`): only workers write; `/stats` reads.
//! - `accepted`, `rejected`, `bad`: counters bumped on every request, so
//!   they are atomics (Go: `sync/atomic`), not behind the totals' lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use goro::chan::{Receiver, Sender, TrySendError};
use goro::sync::{Mutex, RwMutex};

use super::db::{self, Db};
use super::{Catalog, Config, Order, OrderRequest, Stats};

/// What the workers add up.
#[derive(Debug, Default)]
struct Totals {
    processed: u64,
    fulfilled: u64,
    backordered: u64,
    units: u64,
    revenue_cents: u64,
    per_worker: Vec<u64>,
    /// XOR of every receipt checksum: keeps the CPU step from being
    /// optimised away.
    receipts: u64,
}

/// Why an order was not queued.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// `400`: the message says what is wrong.
    Bad(String),
    /// `503`: the queue is full; try again later.
    Full,
    /// `503`: the shop is shutting down.
    Closing,
    /// `503`: the database cannot take the order now (full disk, locked).
    Storage(String),
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) cfg: Config,
    catalog: RwMutex<Catalog>,
    totals: Mutex<Totals>,
    queue: Sender<Order>,
    next_id: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    bad: AtomicU64,
    /// The durable store (`None`: in memory only, `--memory`).
    db: Option<Db>,
    /// Durable mode: orders admitted (being stored or queued) and not yet
    /// taken by a worker. Bounds the queue *before* an order is stored, so
    /// an order is never stored and then refused.
    admitted: AtomicU64,
    /// Durable mode: workers do not wait for the commit of an order they
    /// processed — a goroutine each waits for it, so the writer can batch
    /// many workers' results — but at most `cfg.batch` wait at once.
    recording: goro::sync::WaitGroup,
    /// Durable mode: orders being stored and queued, each in a goroutine
    /// that outlives a client hanging up; waited for before the queue closes.
    placing: goro::sync::WaitGroup,
    recording_slots: goro::sync::Semaphore,
    /// Durable mode: set when shutdown closes the queue; new orders get `503`.
    closing: std::sync::atomic::AtomicBool,
    /// `--queue nats://...`: the broker and the shared state (issue 18).
    pub(crate) cluster: Option<Arc<super::cluster::Cluster>>,
    /// `--queue nats://...`: orders processed by each of this process's workers.
    pub(crate) per_worker: Arc<Vec<AtomicU64>>,
    /// `--queue nats://...`: this process's order ids are `node << 32 | n`,
    /// unique among processes sharing a broker.
    node: u64,
}

impl State {
    /// The state and the receiving end of its queue, for the workers. With
    /// a database, the orders it holds accepted but unprocessed are queued
    /// again first.
    pub(crate) fn new(
        cfg: Config,
        cluster: Option<Arc<super::cluster::Cluster>>,
    ) -> Result<(Arc<State>, Receiver<Order>), String> {
        let (db, pending) = match &cfg.db {
            Some(path) => {
                let (db, pending) = db::open(path, &cfg.catalog, cfg.batch, cfg.db_max_pages)?;
                (Some(db), pending)
            }
            None => (None, Vec::new()),
        };
        // Go: `queue := make(chan Order, cfg.Queue)`.
        let (queue, orders) = goro::chan::<Order>(cfg.queue + pending.len());
        let admitted = AtomicU64::new(pending.len() as u64);
        for order in pending {
            queue.try_send(order).expect("room for every pending order");
        }
        let state = State {
            db,
            admitted,
            recording: goro::sync::WaitGroup::new(),
            placing: goro::sync::WaitGroup::new(),
            closing: std::sync::atomic::AtomicBool::new(false),
            recording_slots: goro::sync::Semaphore::new(cfg.batch.max(1)),
            catalog: RwMutex::new(cfg.catalog.clone()),
            totals: Mutex::new(Totals {
                per_worker: vec![0; cfg.workers],
                ..Totals::default()
            }),
            queue,
            per_worker: Arc::new((0..cfg.workers).map(|_| AtomicU64::new(0)).collect()),
            node: node_id(),
            cluster,
            next_id: AtomicU64::new(1),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            bad: AtomicU64::new(0),
            cfg,
        };
        Ok((Arc::new(state), orders))
    }

    /// Where the orders are kept: the database file, or `None` in memory.
    pub(crate) fn db_path(&self) -> Option<&std::path::Path> {
        self.db.as_ref().map(|d| d.path.as_path())
    }

    /// Waits until every processed order is recorded in the database.
    pub(crate) async fn wait_recorded(&self) {
        self.recording.wait().await;
    }

    /// Closes the database (after the workers are done).
    pub(crate) async fn close_db(&self) {
        if let Some(db) = &self.db {
            db.close().await;
        }
    }

    /// Checks an order and queues it without waiting: its id, or why not.
    pub(crate) async fn place(self: &Arc<Self>, body: &[u8]) -> Result<u64, Refusal> {
        let req = OrderRequest::parse(body).map_err(|e| self.bad(e))?;
        // A shared read lock: every handler may hold it at once.
        let product = self.catalog.read().await.find(&req.product);
        let Some(product) = product else {
            return Err(self.bad(format!("unknown product {:?}", req.product)));
        };
        if let Some(cluster) = &self.cluster {
            return self.place_on_broker(cluster, product, &req).await;
        }
        if self.db.is_some() {
            // In a goroutine of its own: if the client hangs up (hyper then
            // drops this handler), an order already sent to the database is
            // still queued for the workers once stored, never left behind.
            let me = self.clone();
            return self
                .placing
                .go(async move { me.place_durably(product, &req).await })
                .await
                .unwrap_or_else(|e| Err(Refusal::Storage(format!("internal error: {e}"))));
        }
        let order = Order {
            id: self.next_id.fetch_add(1, Relaxed),
            product,
            qty: req.qty as u32, // 1 ..= MAX_QTY, checked by parse
            customer: req.customer,
        };
        let id = order.id;
        // Go: `select { case queue <- order: ...; default: 503 }`.
        match self.queue.try_send(order) {
            Ok(()) => {
                self.accepted.fetch_add(1, Relaxed);
                Ok(id)
            }
            Err(e) => {
                self.rejected.fetch_add(1, Relaxed);
                Err(match e {
                    TrySendError::Full(_) => Refusal::Full,
                    TrySendError::Closed(_) => Refusal::Closing,
                })
            }
        }
    }

    /// Durable mode: admit (or `503` at once if the queue is full), store
    /// in the database (group-committed), then queue for the workers.
    async fn place_durably(&self, product: usize, req: &OrderRequest) -> Result<u64, Refusal> {
        let Some(db) = &self.db else {
            unreachable!("durable mode has a database")
        };
        if self.admitted.fetch_add(1, Relaxed) >= self.cfg.queue as u64 {
            self.admitted.fetch_sub(1, Relaxed);
            self.rejected.fetch_add(1, Relaxed);
            return Err(Refusal::Full);
        }
        if self.closing.load(std::sync::atomic::Ordering::SeqCst) {
            self.admitted.fetch_sub(1, Relaxed);
            self.rejected.fetch_add(1, Relaxed);
            return Err(Refusal::Closing);
        }
        let qty = req.qty as u32; // 1 ..= MAX_QTY, checked by parse
        let id = match db.accept(product, qty, req.customer).await {
            Ok(id) => id,
            Err(msg) => {
                self.admitted.fetch_sub(1, Relaxed);
                self.rejected.fetch_add(1, Relaxed);
                return Err(Refusal::Storage(msg));
            }
        };
        self.accepted.fetch_add(1, Relaxed);
        let order = Order {
            id,
            product,
            qty,
            customer: req.customer,
        };
        // Admitted, so there is room. Closed only past the shutdown's grace
        // period: the order is stored and the next start queues it.
        let _ = self.queue.try_send(order);
        Ok(id)
    }

    /// `--queue nats://...`: publish to the broker, `Ok` once it stored it.
    async fn place_on_broker(
        &self,
        cluster: &super::cluster::Cluster,
        product: usize,
        req: &OrderRequest,
    ) -> Result<u64, Refusal> {
        if self.closing.load(std::sync::atomic::Ordering::SeqCst) {
            self.rejected.fetch_add(1, Relaxed);
            return Err(Refusal::Closing);
        }
        let id = self.node << 32 | self.next_id.fetch_add(1, Relaxed);
        let sent_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let wire = super::cluster::WireOrder {
            id,
            product,
            qty: req.qty as u32, // 1 ..= MAX_QTY, checked by parse
            customer: req.customer,
            sent_unix_ms,
        };
        let payload = serde_json::to_vec(&wire).expect("plain data");
        let published = goro::time::timeout(
            cluster.publish_timeout,
            cluster.broker.publish(&id.to_string(), payload),
        )
        .await;
        match published {
            Ok(Ok(())) => {
                self.accepted.fetch_add(1, Relaxed);
                Ok(id)
            }
            Ok(Err(msg)) => {
                self.rejected.fetch_add(1, Relaxed);
                Err(Refusal::Storage(msg))
            }
            Err(_) => {
                self.rejected.fetch_add(1, Relaxed);
                Err(Refusal::Storage(format!(
                    "NATS broker at {} did not acknowledge in time",
                    cluster.broker.url
                )))
            }
        }
    }

    /// Counts a bad request and wraps its message.
    pub(crate) fn bad(&self, msg: String) -> Refusal {
        self.bad.fetch_add(1, Relaxed);
        Refusal::Bad(msg)
    }

    /// Closes the queue: from now on `place` answers `Closing`, and the
    /// workers stop once they have drained what is queued. Orders being
    /// stored right now are queued first.
    pub(crate) async fn close_queue(&self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.placing.wait().await;
        self.queue.close();
    }

    /// A snapshot for `GET /stats`; with a database, its orders, stock and
    /// totals are read from it (all runs on this database).
    pub(crate) async fn stats(&self) -> Stats {
        if let Some(cluster) = &self.cluster {
            let l = cluster.ledger().await.unwrap_or_else(|e| {
                eprintln!("shop: {e}");
                super::cluster::Ledger::default()
            });
            let names = self.catalog.read().await.products.clone();
            return Stats {
                accepted: self.accepted.load(Relaxed),
                processed: l.processed,
                queued: cluster.broker.queued().await.unwrap_or(0),
                rejected: self.rejected.load(Relaxed),
                bad_requests: self.bad.load(Relaxed),
                fulfilled: l.fulfilled,
                backordered: l.backordered,
                units: l.units,
                revenue_cents: l.revenue_cents,
                per_worker: self.per_worker.iter().map(|n| n.load(Relaxed)).collect(),
                stock: names
                    .iter()
                    .zip(&l.stock)
                    .map(|(p, &s)| (p.name.clone(), s))
                    .collect(),
                storage: format!("{} (JetStream)", cluster.broker.url),
                redelivered: l.redelivered,
                applied_id_sum: l.id_sum,
                ..Stats::default()
            };
        }
        if let Some(db) = &self.db {
            let d = db.stats().await.unwrap_or_else(|e| {
                eprintln!("shop: reading stats: {e}");
                db::DbStats::default()
            });
            let c = &db.commits;
            return Stats {
                accepted: d.accepted,
                processed: d.processed,
                queued: d.queued,
                rejected: self.rejected.load(Relaxed),
                bad_requests: self.bad.load(Relaxed),
                fulfilled: d.fulfilled,
                backordered: d.backordered,
                units: d.units,
                revenue_cents: d.revenue_cents,
                per_worker: d.per_worker,
                stock: d.stock,
                storage: db.path.display().to_string(),
                commits: c.commits.load(Relaxed),
                committed_writes: c.jobs.load(Relaxed),
                largest_commit: c.largest.load(Relaxed),
                ..Stats::default()
            };
        }
        let stock = self
            .catalog
            .read()
            .await
            .products
            .iter()
            .map(|p| (p.name.clone(), p.stock))
            .collect();
        let t = self.totals.lock().await;
        Stats {
            accepted: self.accepted.load(Relaxed),
            processed: t.processed,
            queued: self.queue.len() as u64,
            rejected: self.rejected.load(Relaxed),
            bad_requests: self.bad.load(Relaxed),
            fulfilled: t.fulfilled,
            backordered: t.backordered,
            units: t.units,
            revenue_cents: t.revenue_cents,
            per_worker: t.per_worker.clone(),
            stock,
            storage: "memory".into(),
            ..Stats::default()
        }
    }
}

/// One worker of the pool: Go's `for order := range queue { ... }`. It
/// returns when the queue is closed and drained.
pub(crate) async fn worker(id: usize, state: Arc<State>, orders: Receiver<Order>) {
    while let Some(order) = orders.recv().await {
        if state.db.is_some() {
            state.admitted.fetch_sub(1, Relaxed);
            let _ = checksum(&order, state.cfg.cpu_rounds);
            if !state.cfg.delay.is_zero() {
                goro::time::sleep(state.cfg.delay).await;
            }
            // Recorded in the background, so that the next order need not
            // wait for this one's commit (the writer batches them).
            state.recording_slots.acquire(1).await.forget();
            let st = state.clone();
            state.recording.go(async move {
                if let Some(db) = &st.db {
                    record_durably(db, id, &order).await;
                }
                st.recording_slots.release(1);
            });
            continue;
        }
        // The CPU step: price the order and compute its receipt checksum.
        let receipt = checksum(&order, state.cfg.cpu_rounds);
        // The downstream call (payment, warehouse): the goroutine sleeps,
        // the worker thread runs other goroutines meanwhile.
        if !state.cfg.delay.is_zero() {
            goro::time::sleep(state.cfg.delay).await;
        }
        // Reserve stock under the write lock, for as short as possible.
        let (fulfilled, price) = {
            let mut catalog = state.catalog.write().await;
            let ok = catalog.reserve(order.product, u64::from(order.qty));
            (ok, catalog.products[order.product].price_cents)
        }; // write lock released here (Go: `mu.Unlock()`)
        let mut t = state.totals.lock().await;
        t.processed += 1;
        t.per_worker[id] += 1;
        t.receipts ^= receipt;
        if fulfilled {
            t.fulfilled += 1;
            t.units += u64::from(order.qty);
            t.revenue_cents += price * u64::from(order.qty);
        } else {
            t.backordered += 1;
        }
    }
}

/// Records a processed order in the database (stock, ledger, status in
/// one transaction). A storage error is retried for a while; if it lasts,
/// the order stays `accepted` in the database and the next start queues it
/// again — never lost, never applied twice.
async fn record_durably(db: &Db, worker: usize, order: &Order) {
    let mut pause = std::time::Duration::from_millis(5);
    for _ in 0..30 {
        match db.done(order.id, worker).await {
            Ok(_) => return,
            Err(e) => {
                eprintln!("shop: recording order {}: {e}; retrying", order.id);
                goro::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(100));
            }
        }
    }
    eprintln!(
        "shop: order {} stays accepted in the database; the next start processes it",
        order.id
    );
}

/// `rounds` rounds of FNV-1a over the order: a few microseconds of CPU.
pub(crate) fn checksum(order: &Order, rounds: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for r in 0..rounds {
        for v in [
            order.id,
            order.product as u64,
            u64::from(order.qty),
            order.customer,
            u64::from(r),
        ] {
            h ^= v;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    std::hint::black_box(h)
}

/// A random 31-bit number for this process (order ids `node << 32 | n`).
fn node_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 33).max(1)
}
