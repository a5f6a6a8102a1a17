//! Many shop processes, one shop (`--queue nats://HOST:PORT`): the orders
//! travel through a JetStream work queue (`queue/nats.rs`), and the stock
//! and totals live in a JetStream key-value bucket every process reads and
//! writes with compare-and-set revisions.
//!
//! Bucket `SHOP_STATE`:
//!
//! - `ledger`: one JSON value with the stock of every product, the totals
//!   and `limbo`, the ids of orders applied to it whose order record (below)
//!   is not written yet. An order changes stock and totals together, so
//!   they are one key: one compare-and-set applies the whole effect or
//!   nothing. A conflict (another process wrote first) reads again and
//!   retries.
//! - `order.<id>`: the idempotency record of an order: written once its
//!   effect is in the ledger.
//!
//! Applying order `id`: (1) read the ledger; `id` in `limbo` → applied,
//! only the record is missing; (2) its record exists → already applied,
//! just acknowledge; otherwise apply it and add `id` to `limbo`, written
//! with the revision read in (1) (compare-and-set; on a conflict, back to
//! (1)); (3) write the record; (4) acknowledge the message. A crash between any two steps leaves a state
//! from which the redelivered message takes the same path and applies
//! nothing twice. Ids whose record is written leave `limbo` in this
//! process's next ledger write.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};

use super::queue::nats::{Broker, Delivery};
use super::{Catalog, Order};

/// The key-value bucket of the shared state.
pub(crate) const BUCKET: &str = "SHOP_STATE";
const LEDGER: &str = "ledger";

/// What every process sees: stock and totals, one value.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Ledger {
    pub(crate) stock: Vec<u64>,
    pub(crate) processed: u64,
    pub(crate) fulfilled: u64,
    pub(crate) backordered: u64,
    pub(crate) units: u64,
    pub(crate) revenue_cents: u64,
    /// Orders processed on a second or later delivery (a worker died or
    /// timed out before acknowledging).
    pub(crate) redelivered: u64,
    /// Wrapping sum of the ids of every applied order: a test compares it
    /// with the ids it was answered `202` for.
    pub(crate) id_sum: u64,
    /// Applied, idempotency record not yet written.
    pub(crate) limbo: Vec<u64>,
}

/// An order on the wire (the message body).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireOrder {
    pub(crate) id: u64,
    pub(crate) product: usize,
    pub(crate) qty: u32,
    pub(crate) customer: u64,
    /// When the handler published it (Unix ms): a message the broker stored
    /// later than `sent + publish timeout` was answered `503` (the handler
    /// gave up waiting), so it is dropped, not applied.
    pub(crate) sent_unix_ms: u64,
}

/// The shared state of this process's view: the bucket, and the ids this
/// process has recorded and may take out of `limbo`.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) broker: Broker,
    kv: kv::Store,
    /// Serialises this process's ledger writes: its own workers never
    /// conflict with each other, only with other processes.
    ledger_lock: goro::sync::Mutex<Vec<u64>>,
    pub(crate) publish_timeout: Duration,
    /// Messages dropped because they were stored after their handler gave up.
    pub(crate) dropped_late: AtomicU64,
}

impl Cluster {
    /// Opens (or creates) the bucket and its ledger, seeded from `catalog`.
    pub(crate) async fn open(
        broker: Broker,
        catalog: &Catalog,
        publish_timeout: Duration,
    ) -> Result<Cluster, String> {
        let url = broker.url.clone();
        // The bucket's stream, as `create_key_value` would make it. Made
        // here because `create_key_value` first asks for the account's
        // info, whose answer from nats-server 2.9 (Debian's) async-nats
        // 0.42 cannot parse.
        use async_nats::jetstream::stream;
        broker
            .js
            .get_or_create_stream(stream::Config {
                name: format!("KV_{BUCKET}"),
                subjects: vec![format!("$KV.{BUCKET}.>")],
                max_messages_per_subject: 1, // history 1
                storage: stream::StorageType::File,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                discard: stream::DiscardPolicy::New,
                num_replicas: 1,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("NATS broker at {url}: bucket {BUCKET}: {e}"))?;
        let kv = broker
            .js
            .get_key_value(BUCKET)
            .await
            .map_err(|e| format!("NATS broker at {url}: bucket {BUCKET}: {e}"))?;
        let seed = Ledger {
            stock: catalog.products.iter().map(|p| p.stock).collect(),
            ..Ledger::default()
        };
        // The first process seeds the ledger; the others find it.
        let _ = kv
            .create(
                LEDGER,
                serde_json::to_vec(&seed).expect("plain data").into(),
            )
            .await;
        kv.entry(LEDGER)
            .await
            .map_err(|e| format!("NATS broker at {url}: reading the ledger: {e}"))?
            .ok_or_else(|| format!("NATS broker at {url}: no ledger in {BUCKET}"))?;
        Ok(Cluster {
            broker,
            kv,
            ledger_lock: goro::sync::Mutex::new(Vec::new()),
            publish_timeout,
            dropped_late: AtomicU64::new(0),
        })
    }

    /// The ledger now.
    pub(crate) async fn ledger(&self) -> Result<Ledger, String> {
        let e = self
            .kv
            .entry(LEDGER)
            .await
            .map_err(|e| format!("reading the ledger: {e}"))?
            .ok_or("no ledger")?;
        serde_json::from_slice(&e.value).map_err(|e| format!("ledger: {e}"))
    }

    /// Applies `order` at most once (see the module docs); `Ok(true)` if
    /// this call applied it, `Ok(false)` if it was applied before.
    pub(crate) async fn apply(
        &self,
        order: &Order,
        catalog: &Catalog,
        redelivery: bool,
    ) -> Result<bool, String> {
        let key = format!("order.{}", order.id);
        let mut recorded = self.ledger_lock.lock().await;
        let (applied, fulfilled) = loop {
            let entry = self
                .kv
                .entry(LEDGER)
                .await
                .map_err(|e| format!("reading the ledger: {e}"))?
                .ok_or("no ledger")?;
            let mut l: Ledger =
                serde_json::from_slice(&entry.value).map_err(|e| format!("ledger: {e}"))?;
            if l.limbo.contains(&order.id) {
                break (false, None);
            }
            // Checked after reading the ledger: an id leaves `limbo` only
            // after its record is written, so an order applied at or
            // before this revision shows up in one of the two; one applied
            // later makes the compare-and-set below fail.
            if self
                .kv
                .get(key.as_str())
                .await
                .map_err(|e| format!("reading {key}: {e}"))?
                .is_some()
            {
                return Ok(false);
            }
            l.limbo.retain(|id| !recorded.contains(id));
            l.limbo.push(order.id);
            let qty = u64::from(order.qty);
            let ok = l.stock.get(order.product).is_some_and(|&s| s >= qty);
            l.processed += 1;
            l.id_sum = l.id_sum.wrapping_add(order.id);
            if redelivery {
                l.redelivered += 1;
            }
            if ok {
                l.stock[order.product] -= qty;
                l.fulfilled += 1;
                l.units += qty;
                l.revenue_cents += catalog.products[order.product].price_cents * qty;
            } else {
                l.backordered += 1;
            }
            let value = serde_json::to_vec(&l).expect("plain data");
            match self.kv.update(LEDGER, value.into(), entry.revision).await {
                Ok(_) => {
                    recorded.clear();
                    break (true, Some(ok));
                }
                Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => return Err(format!("writing the ledger: {e}")),
            }
        };
        drop(recorded);
        let record = serde_json::json!({ "fulfilled": fulfilled });
        self.kv
            .put(
                key.as_str(),
                serde_json::to_vec(&record).expect("json").into(),
            )
            .await
            .map_err(|e| format!("writing {key}: {e}"))?;
        self.ledger_lock.lock().await.push(order.id);
        Ok(applied)
    }
}

/// One worker of the pool, fed by the broker: the same loop as the
/// in-process pool's, plus the acknowledgement.
pub(crate) async fn worker(
    id: usize,
    cluster: Arc<Cluster>,
    catalog: Arc<Catalog>,
    cfg: Arc<super::Config>,
    per_worker: Arc<Vec<AtomicU64>>,
    deliveries: goro::chan::Receiver<Delivery>,
) {
    while let Some(d) = deliveries.recv().await {
        let order: WireOrder = match serde_json::from_slice(d.payload()) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("shop: dropping a malformed message: {e}");
                let _ = d.ack().await;
                continue;
            }
        };
        // Stored after its handler gave up (the handler answered 503).
        let late = d.stored_unix_ms().is_some_and(|stored| {
            stored - i128::from(order.sent_unix_ms) > cluster.publish_timeout.as_millis() as i128
        });
        if late {
            cluster.dropped_late.fetch_add(1, Relaxed);
            let _ = d.ack().await;
            continue;
        }
        let order = Order {
            id: order.id,
            product: order.product,
            qty: order.qty,
            customer: order.customer,
        };
        let _ = super::state::checksum(&order, cfg.cpu_rounds);
        if !cfg.delay.is_zero() {
            goro::time::sleep(cfg.delay).await;
        }
        match cluster.apply(&order, &catalog, d.delivered() > 1).await {
            Ok(_) => {
                per_worker[id].fetch_add(1, Relaxed);
                // A lost ack only means one more delivery, found applied.
                let _ = d.ack().await;
            }
            Err(e) => {
                eprintln!("shop: order {}: {e}; delivering it again", order.id);
                let _ = d.nak(Duration::from_millis(500)).await;
            }
        }
    }
}
