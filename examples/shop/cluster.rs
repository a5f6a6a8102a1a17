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
    /// To this process's applier, the one goroutine that writes the
    /// ledger: its own workers never conflict with each other, only with
    /// other processes.
    jobs: goro::chan::Sender<Job>,
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
        let (jobs, queued) = goro::chan(BATCH);
        let prices = catalog.products.iter().map(|p| p.price_cents).collect();
        goro::go(applier(kv.clone(), prices, queued));
        Ok(Cluster {
            broker,
            kv,
            jobs,
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

    /// Applies `order` at most once (see the module docs): hands it to
    /// this process's applier, which writes the ledger once for all the
    /// orders waiting (group commit). `Ok(true)` if it was applied now,
    /// `Ok(false)` if it had been before.
    pub(crate) async fn apply(&self, order: &Order, redelivery: bool) -> Result<bool, String> {
        let (reply, answer) = goro::chan(1);
        let job = Job {
            order: order.clone(),
            redelivery,
            reply,
        };
        if self.jobs.send(job).await.is_err() {
            return Err("the applier stopped".into());
        }
        answer
            .recv()
            .await
            .unwrap_or_else(|| Err("the applier stopped".into()))
    }
}

/// An order for the applier, and where to answer.
struct Job {
    order: Order,
    redelivery: bool,
    reply: goro::chan::Sender<Result<bool, String>>,
}

/// The most orders one ledger write takes.
const BATCH: usize = 256;

fn record_key(id: u64) -> String {
    format!("order.{id}")
}

/// This process's one writer of the ledger: takes every order waiting (up
/// to [`BATCH`]), applies them with one compare-and-set, writes their
/// records, answers each — the SQLite writer's group commit, on the broker.
async fn applier(kv: kv::Store, prices: Vec<u64>, jobs: goro::chan::Receiver<Job>) {
    // Ids whose record is written: they leave `limbo` in the next write.
    let mut recorded: Vec<u64> = Vec::new();
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        match apply_batch(&kv, &prices, &mut recorded, &batch).await {
            Ok(applied) => {
                for (job, a) in batch.iter().zip(applied) {
                    let _ = job.reply.try_send(Ok(a));
                }
            }
            Err(e) => {
                for job in &batch {
                    let _ = job.reply.try_send(Err(e.clone()));
                }
            }
        }
    }
}

/// Whether the record of each order exists, read concurrently (one
/// goroutine per lookup: the client pipelines them on its connection).
async fn records_exist(kv: &kv::Store, batch: &[Job]) -> Result<Vec<bool>, String> {
    let lookups: Vec<_> = batch
        .iter()
        .map(|j| {
            let (kv, key) = (kv.clone(), record_key(j.order.id));
            goro::go(async move { kv.get(key).await.map(|v| v.is_some()) })
        })
        .collect();
    let mut exists = Vec::with_capacity(lookups.len());
    for h in lookups {
        let found = h
            .await
            .map_err(|e| format!("reading an order record: {e:?}"))?
            .map_err(|e| format!("reading an order record: {e}"))?;
        exists.push(found);
    }
    Ok(exists)
}

/// One group commit (see the module docs for why it is at most once).
async fn apply_batch(
    kv: &kv::Store,
    prices: &[u64],
    recorded: &mut Vec<u64>,
    batch: &[Job],
) -> Result<Vec<bool>, String> {
    let (applied, to_record) = loop {
        let entry = kv
            .entry(LEDGER)
            .await
            .map_err(|e| format!("reading the ledger: {e}"))?
            .ok_or("no ledger")?;
        let mut l: Ledger =
            serde_json::from_slice(&entry.value).map_err(|e| format!("ledger: {e}"))?;
        // Read after the ledger: an id leaves `limbo` only after its record
        // is written, so an order applied at or before this revision shows
        // up in one of the two; one applied later makes the
        // compare-and-set below fail.
        let exists = records_exist(kv, batch).await?;
        let mut applied = vec![false; batch.len()];
        let mut to_record = Vec::new();
        for (i, job) in batch.iter().enumerate() {
            let o = &job.order;
            if exists[i] || to_record.contains(&o.id) {
                continue;
            }
            to_record.push(o.id);
            if l.limbo.contains(&o.id) {
                continue; // applied before, record missing
            }
            applied[i] = true;
            l.limbo.push(o.id);
            let qty = u64::from(o.qty);
            l.processed += 1;
            l.id_sum = l.id_sum.wrapping_add(o.id);
            if job.redelivery {
                l.redelivered += 1;
            }
            if l.stock.get(o.product).is_some_and(|&s| s >= qty) {
                l.stock[o.product] -= qty;
                l.fulfilled += 1;
                l.units += qty;
                l.revenue_cents += prices[o.product] * qty;
            } else {
                l.backordered += 1;
            }
        }
        if !applied.contains(&true) {
            break (applied, to_record); // nothing to write
        }
        l.limbo.retain(|id| !recorded.contains(id));
        let value = serde_json::to_vec(&l).expect("plain data");
        match kv.update(LEDGER, value.into(), entry.revision).await {
            Ok(_) => {
                recorded.clear();
                break (applied, to_record);
            }
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
            Err(e) => return Err(format!("writing the ledger: {e}")),
        }
    };
    let puts: Vec<_> = to_record
        .iter()
        .map(|&id| {
            let kv = kv.clone();
            goro::go(async move { kv.put(record_key(id), "applied".into()).await })
        })
        .collect();
    for h in puts {
        h.await
            .map_err(|e| format!("writing an order record: {e:?}"))?
            .map_err(|e| format!("writing an order record: {e}"))?;
    }
    recorded.extend(to_record);
    Ok(applied)
}

/// One worker of the pool, fed by the broker: the same loop as the
/// in-process pool's, plus the acknowledgement.
pub(crate) async fn worker(
    id: usize,
    cluster: Arc<Cluster>,
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
        match cluster.apply(&order, d.delivered() > 1).await {
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
