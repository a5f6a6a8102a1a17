//! `net/shop/tokio`: the shop on tokio + hyper, for the `net/shop` row:
//! the same service as `examples/shop/` (goro) and `go/shop.go` (Go) —
//! `POST /buy` → `try_send` on a bounded channel → a pool of workers, a
//! `RwLock` catalog, `Mutex` totals, 202/503/400, `GET /stats`, graceful
//! shutdown on SIGINT — written as a tokio programmer would. tokio's mpsc
//! is single-consumer, so the workers share its receiver behind a tokio
//! `Mutex`, as in `chan/worker_pool`.
//!
//! Runs as `goro-bench --shop-server tokio`; prints `listening on ADDR`,
//! and after SIGINT `summary {json}` with the shop's counters.

use std::convert::Infallible;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex, Notify, RwLock};

use crate::workload::Cfg;

const MAX_BODY: usize = 1024;
const MAX_QTY: i64 = 100;
const CPU_ROUNDS: u64 = 200;

struct Product {
    name: &'static str,
    price_cents: u64,
    stock: u64,
}

struct Order {
    id: u64,
    product: usize,
    qty: u64,
    customer: u64,
}

#[derive(Default)]
struct Totals {
    processed: u64,
    fulfilled: u64,
    backordered: u64,
    units: u64,
    revenue_cents: u64,
    receipts: u64,
    per_worker: Vec<u64>,
}

struct State {
    catalog: RwLock<Vec<Product>>,
    totals: Mutex<Totals>,
    /// `None` once the shop is closing.
    queue: std::sync::RwLock<Option<mpsc::Sender<Order>>>,
    capacity: usize,
    next_id: AtomicU64,
    accepted: AtomicU64,
    rejected: AtomicU64,
    bad: AtomicU64,
}

type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, body: Value) -> Answer {
    let mut bytes = serde_json::to_vec(&body).expect("json");
    bytes.push(b'\n');
    let mut a = Response::new(Full::new(Bytes::from(bytes)));
    *a.status_mut() = status;
    a.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    a
}

fn error(status: StatusCode, msg: &str) -> Answer {
    answer(status, json!({ "error": msg }))
}

impl State {
    fn bad(&self, msg: &str) -> Answer {
        self.bad.fetch_add(1, Relaxed);
        error(StatusCode::BAD_REQUEST, msg)
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Answer, Infallible> {
        let a = match (req.method(), req.uri().path()) {
            (&Method::POST, "/buy") => self.buy(req).await,
            (&Method::GET, "/stats") => answer(StatusCode::OK, self.stats().await),
            (_, "/buy" | "/stats") => {
                let allow = if req.uri().path() == "/buy" {
                    "POST"
                } else {
                    "GET"
                };
                let mut a = error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("method not allowed; use {allow}"),
                );
                a.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static(allow));
                a
            }
            (_, path) => error(
                StatusCode::NOT_FOUND,
                &format!("no such page {path:?}; try POST /buy or GET /stats"),
            ),
        };
        Ok(a)
    }

    async fn buy(&self, req: Request<Incoming>) -> Answer {
        let too_big = format!("body larger than {MAX_BODY} bytes");
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY) {
            return self.bad(&too_big);
        }
        let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return self.bad(&too_big),
        };
        let v: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return self.bad(&format!("malformed JSON: {e}")),
        };
        let (Some(name), Some(qty), Some(customer)) = (
            v["product"].as_str(),
            v["qty"].as_i64(),
            v["customer"].as_u64(),
        ) else {
            return self.bad("malformed JSON: product, qty and customer are required");
        };
        if !(1..=MAX_QTY).contains(&qty) {
            return self.bad(&format!("qty must be 1 to {MAX_QTY}, got {qty}"));
        }
        let product = self
            .catalog
            .read()
            .await
            .iter()
            .position(|p| p.name == name);
        let Some(product) = product else {
            return self.bad(&format!("unknown product {name:?}"));
        };
        let order = Order {
            id: self.next_id.fetch_add(1, Relaxed),
            product,
            qty: qty as u64,
            customer,
        };
        let id = order.id;
        let sent = match &*self.queue.read().unwrap() {
            Some(q) => q.try_send(order).is_ok(),
            None => false,
        };
        if sent {
            self.accepted.fetch_add(1, Relaxed);
            answer(StatusCode::ACCEPTED, json!({ "order": id }))
        } else {
            self.rejected.fetch_add(1, Relaxed);
            let mut a = error(StatusCode::SERVICE_UNAVAILABLE, "queue full, retry later");
            a.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
            a
        }
    }

    async fn stats(&self) -> Value {
        let stock: Vec<Value> = self
            .catalog
            .read()
            .await
            .iter()
            .map(|p| json!([p.name, p.stock]))
            .collect();
        let queued = match &*self.queue.read().unwrap() {
            Some(q) => self.capacity - q.capacity(),
            None => 0,
        };
        let t = self.totals.lock().await;
        json!({
            "accepted": self.accepted.load(Relaxed),
            "processed": t.processed,
            "queued": queued,
            "rejected": self.rejected.load(Relaxed),
            "bad_requests": self.bad.load(Relaxed),
            "fulfilled": t.fulfilled,
            "backordered": t.backordered,
            "units": t.units,
            "revenue_cents": t.revenue_cents,
            "per_worker": t.per_worker,
            "stock": stock,
        })
    }
}

async fn worker(
    id: usize,
    state: Arc<State>,
    orders: Arc<Mutex<mpsc::Receiver<Order>>>,
    delay: Duration,
) {
    loop {
        let Some(order) = orders.lock().await.recv().await else {
            return;
        };
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for r in 0..CPU_ROUNDS {
            for v in [order.id, order.product as u64, order.qty, order.customer, r] {
                h ^= v;
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let (ok, price) = {
            let mut c = state.catalog.write().await;
            let p = &mut c[order.product];
            let ok = p.stock >= order.qty;
            if ok {
                p.stock -= order.qty;
            }
            (ok, p.price_cents)
        };
        let mut t = state.totals.lock().await;
        t.processed += 1;
        t.per_worker[id] += 1;
        t.receipts ^= std::hint::black_box(h);
        if ok {
            t.fulfilled += 1;
            t.units += order.qty;
            t.revenue_cents += price * order.qty;
        } else {
            t.backordered += 1;
        }
    }
}

/// `goro-bench --shop-server tokio`.
pub fn serve(cfg: &Cfg, workers: usize, queue: usize, delay: Duration) -> i32 {
    let sigint = Arc::new(Notify::new());
    let n = sigint.clone();
    ctrlc::set_handler(move || n.notify_one()).expect("installing the SIGINT handler");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.procs)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let p = |name, price_cents, stock| Product {
            name,
            price_cents,
            stock,
        };
        let (tx, rx) = mpsc::channel(queue);
        let state = Arc::new(State {
            catalog: RwLock::new(vec![
                p("gopher-plush", 1999, 1_000_000),
                p("ferris-plush", 1999, 1_000_000),
                p("rust-mug", 1250, 1_000_000),
                p("channel-tee", 2400, 1_000_000),
                p("select-socks", 900, 1_000_000),
                p("limited-poster", 4900, 500),
            ]),
            totals: Mutex::new(Totals {
                per_worker: vec![0; workers],
                ..Totals::default()
            }),
            queue: std::sync::RwLock::new(Some(tx)),
            capacity: queue,
            next_id: AtomicU64::new(1),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            bad: AtomicU64::new(0),
        });
        let rx = Arc::new(Mutex::new(rx));
        let pool: Vec<_> = (0..workers)
            .map(|id| tokio::spawn(worker(id, state.clone(), rx.clone(), delay)))
            .collect();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listening");
        println!("listening on {}", listener.local_addr().unwrap());
        let _ = std::io::stdout().flush();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let mut stop = stop_rx.clone();
                    conns.spawn(async move {
                        let svc = service_fn(move |req| state.clone().handle(req));
                        let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                        tokio::pin!(conn);
                        tokio::select! {
                            _ = conn.as_mut() => {}
                            _ = stop.changed() => {
                                conn.as_mut().graceful_shutdown();
                                let _ = conn.await;
                            }
                        }
                    });
                }
                _ = sigint.notified() => break,
            }
        }
        drop(listener);
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while conns.join_next().await.is_some() {}
        })
        .await;
        state.queue.write().unwrap().take(); // close: the workers drain and stop
        for w in pool {
            w.await.expect("worker");
        }
        let stats = state.stats().await;
        println!("summary {stats}");
        let _ = std::io::stdout().flush();
        i32::from(stats["accepted"] != stats["processed"])
    })
}
