//! The worker pool's channel on a NATS JetStream broker (`--queue nats://HOST:PORT`).
//!
//! In one process the shop's queue is a buffered `goro::chan`; across
//! processes it is a JetStream stream with work-queue retention and one
//! shared durable pull consumer: every message goes to exactly one of the
//! consumer's pullers, and a message that is not acknowledged within the
//! ack wait is delivered again (to whoever pulls next — a survivor when its
//! worker died). This module makes that look like the in-process pool:
//! [`subscribe`] returns a goro [`Receiver<Delivery>`], and a worker does
//! `while let Some(d) = deliveries.recv().await { ...; d.ack().await }`.
//!
//! async-nats is bound to tokio; with goro's `tokio` feature every goro
//! thread has entered goro's background tokio runtime, so its futures are
//! awaited in goroutines as written (no second runtime).

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream, AckKind};
use futures_util::StreamExt;
use goro::chan::Receiver;

/// The stream that holds accepted orders until a worker acknowledged them.
pub(crate) const STREAM: &str = "SHOP_ORDERS";
/// The subject orders are published on.
pub(crate) const SUBJECT: &str = "shop.orders";
/// The durable consumer every shop process pulls from.
pub(crate) const CONSUMER: &str = "shop-workers";

/// A connection to the broker: the client, its JetStream context, the stream.
#[derive(Clone, Debug)]
pub(crate) struct Broker {
    pub(crate) url: String,
    pub(crate) client: async_nats::Client,
    pub(crate) js: jetstream::Context,
}

/// Connects to `url` (fails at once if nobody answers there), and creates
/// the work-queue stream if it does not exist yet. Every JetStream request
/// (a publish's acknowledgement included) gives up after `timeout`. The
/// stream holds at most `capacity` orders: a publish beyond is refused (the
/// shop answers `503`, as with a full in-process queue).
pub(crate) async fn connect(
    url: &str,
    timeout: Duration,
    capacity: usize,
) -> Result<Broker, String> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        // Reconnect quickly when the broker comes back (the default backs
        // off up to several seconds).
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((attempts as u64 * 100).min(1000))
        })
        .connect(url)
        .await
        .map_err(|e| format!("cannot reach the NATS broker at {url}: {e}"))?;
    let mut js = jetstream::new(client.clone());
    js.set_timeout(timeout);
    js.get_or_create_stream(stream::Config {
        name: STREAM.into(),
        subjects: vec![SUBJECT.into()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        // Publishes with the same message id within this window are stored
        // once (the broker's de-duplication).
        duplicate_window: Duration::from_secs(120),
        max_messages: capacity as i64,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    })
    .await
    .map_err(|e| format!("NATS broker at {url}: creating stream {STREAM}: {e} (is JetStream on? nats-server -js)"))?;
    Ok(Broker {
        url: url.into(),
        client,
        js,
    })
}

impl Broker {
    /// Whether the client is connected now (a publish would otherwise wait
    /// for the reconnection).
    pub(crate) fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Publishes `payload` with message id `id` and waits for the broker's
    /// acknowledgement: `Ok` means it is stored (or was already, a duplicate).
    pub(crate) async fn publish(&self, id: &str, payload: Vec<u8>) -> Result<(), String> {
        if !self.connected() {
            return Err(format!("NATS broker at {} unreachable", self.url));
        }
        let ack = self
            .js
            .send_publish(
                SUBJECT,
                jetstream::context::Publish::build()
                    .payload(payload.into())
                    .message_id(id),
            )
            .await
            .map_err(|e| format!("NATS publish: {e}"))?;
        ack.await.map_err(|e| format!("NATS publish: {e}"))?;
        Ok(())
    }

    /// Orders stored and not yet acknowledged by a worker.
    pub(crate) async fn queued(&self) -> Option<u64> {
        let mut s = self.js.get_stream(STREAM).await.ok()?;
        Some(s.info().await.ok()?.state.messages)
    }
}

/// One order handed to a worker: its payload, how often it was delivered,
/// when the broker stored it; `ack()` when its effect is committed, `nak()`
/// to have it delivered again.
pub(crate) struct Delivery {
    msg: jetstream::Message,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("subject", &self.msg.subject)
            .field("delivered", &self.delivered())
            .finish()
    }
}

impl Delivery {
    /// The message body.
    pub(crate) fn payload(&self) -> &[u8] {
        &self.msg.payload
    }

    /// 1 on the first delivery, 2 after one redelivery, ...
    pub(crate) fn delivered(&self) -> i64 {
        self.msg.info().map(|i| i.delivered).unwrap_or(1)
    }

    /// When the broker stored it, in Unix milliseconds.
    pub(crate) fn stored_unix_ms(&self) -> Option<i128> {
        self.msg
            .info()
            .ok()
            .map(|i| i.published.unix_timestamp_nanos() / 1_000_000)
    }

    /// Done: the broker removes the message (work-queue retention).
    pub(crate) async fn ack(&self) -> Result<(), String> {
        self.msg
            .double_ack()
            .await
            .map_err(|e| format!("NATS ack: {e}"))
    }

    /// Not done: deliver it again after `delay`.
    pub(crate) async fn nak(&self, delay: Duration) -> Result<(), String> {
        self.msg
            .ack_with(AckKind::Nak(Some(delay)))
            .await
            .map_err(|e| format!("NATS nak: {e}"))
    }
}

/// Joins the shared durable consumer (creating it if needed, with
/// `ack_wait`) and returns its deliveries as a goro channel: a goroutine
/// pulls at most `batch` messages ahead and sends them on. It stops (and
/// the channel closes) when `done` closes; after a broker failure it pulls
/// again once the broker is back.
pub(crate) async fn subscribe(
    broker: &Broker,
    ack_wait: Duration,
    batch: usize,
    done: Receiver<()>,
) -> Result<Receiver<Delivery>, String> {
    let url = broker.url.clone();
    let stream = broker
        .js
        .get_stream(STREAM)
        .await
        .map_err(|e| format!("NATS broker at {url}: stream {STREAM}: {e}"))?;
    let consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(
            CONSUMER,
            consumer::pull::Config {
                durable_name: Some(CONSUMER.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| format!("NATS broker at {url}: consumer {CONSUMER}: {e}"))?;
    // Unbuffered: a message waits in the puller until a worker is free, so
    // no more than `batch` are held here unacknowledged.
    let (tx, rx) = goro::chan::<Delivery>(0);
    goro::go(async move {
        loop {
            let messages = consumer
                .stream()
                .max_messages_per_batch(batch.max(1))
                .heartbeat(Duration::from_secs(1))
                .expires(Duration::from_secs(5))
                .messages()
                .await;
            let mut messages = match messages {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("shop: NATS pull from {url}: {e}; retrying");
                    goro::select! {
                        recv(done) -> _ => return,
                        recv(goro::time::after(Duration::from_millis(200))) -> _ => continue,
                    }
                }
            };
            loop {
                let msg = {
                    let next = std::pin::pin!(messages.next());
                    let stop = std::pin::pin!(done.recv());
                    match futures_util::future::select(next, stop).await {
                        futures_util::future::Either::Right(_) => return,
                        futures_util::future::Either::Left((m, _)) => m,
                    }
                };
                match msg {
                    Some(Ok(msg)) => {
                        if tx.send(Delivery { msg }).await.is_err() {
                            return; // the workers are gone
                        }
                    }
                    Some(Err(e)) => {
                        // Missed heartbeats while the broker is away, and
                        // the like: the stream keeps trying by itself.
                        eprintln!("shop: NATS pull from {url}: {e}");
                        goro::time::sleep(Duration::from_millis(100)).await;
                    }
                    None => break, // ended: pull anew
                }
            }
        }
    });
    Ok(rx)
}
