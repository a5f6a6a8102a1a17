//! Listening, one goroutine per connection, and the graceful shutdown.
//!
//! Go's `http.Server` does the same: `Serve` accepts in a loop and starts
//! `go c.serve(ctx)` per connection; `Shutdown` closes the listener and
//! lets active connections finish. Here a `goro::context` plays the
//! shutdown signal: cancelling it stops the accept loop and asks each
//! connection to close after its current request.
//!
//! Why `futures_util::future::select` and not `goro::select!`? `select!`
//! waits on channel operations, as Go's `select` does. Here one side is a
//! channel (`ctx.done()`) but the other is a future that is not a channel
//! operation — hyper's connection, or `listener.accept()`; in Go these would
//! be a blocking call in another goroutine and a channel of its result.
//! Racing the two futures directly says the same with no extra goroutine.

use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{select, Either};
use goro::chan::Receiver;
use goro::context::{self, CancelFunc, Context};
use goro::net::{TcpListener, TcpStream};
use goro::sync::WaitGroup;
use goro::JoinHandle;
use hyper::server::conn::http1;
use hyper::service::service_fn;

use super::cluster::{self, Cluster};
use super::http::handle;
use super::queue;
use super::state::{worker, State};
use super::{Config, Stats};
use crate::shop::net::Timer;

/// How long [`Server::shutdown`] lets open connections finish their
/// request before it closes the queue anyway.
const GRACE: Duration = Duration::from_secs(5);

/// A running shop: its listener, connections and workers.
///
/// # Examples
///
/// ```
/// use goro_examples::shop::{Config, Server};
///
/// goro::run(async {
///     let server = Server::bind("127.0.0.1:0", Config::default()).await.unwrap();
///     assert_ne!(server.addr().port(), 0);
///     assert_eq!(server.stats().await.accepted, 0);
///     server.shutdown().await;
/// });
/// ```
pub struct Server {
    addr: SocketAddr,
    state: Arc<State>,
    /// Cancelled by `shutdown`. Kept here: a context's `done()` channel
    /// closes when the last handle to the context is dropped.
    _ctx: Context,
    stop: CancelFunc,
    accept: JoinHandle<()>,
    conns: WaitGroup,
    workers: WaitGroup,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Listens on `addr` (`"127.0.0.1:0"` picks a free port), starts the
    /// workers and the accept loop, and returns at once. Call it inside a
    /// goro runtime: the goroutines it starts run there.
    pub async fn bind(addr: &str, cfg: Config) -> io::Result<Server> {
        let cluster = match &cfg.nats {
            Some(url) => {
                let broker = queue::nats::connect(url, cfg.publish_timeout, cfg.queue)
                    .await
                    .map_err(io::Error::other)?;
                let cluster = Cluster::open(broker, &cfg.catalog, cfg.publish_timeout)
                    .await
                    .map_err(io::Error::other)?;
                Some(Arc::new(cluster))
            }
            None => None,
        };
        let listener = TcpListener::bind(addr)?;
        let server = Server::start_with(listener, cfg.clone(), cluster.clone())?;
        if let Some(cluster) = cluster {
            // Every process's pool pulls from the one shared durable consumer.
            let deliveries = queue::nats::subscribe(
                &cluster.broker,
                cfg.ack_wait,
                cfg.workers,
                server._ctx.done(),
            )
            .await
            .map_err(io::Error::other)?;
            let cfg = Arc::new(cfg);
            for id in 0..cfg.workers {
                server.workers.go(cluster::worker(
                    id,
                    cluster.clone(),
                    cfg.clone(),
                    server.state.per_worker.clone(),
                    deliveries.clone(),
                ));
            }
        }
        Ok(server)
    }

    /// Serves on a listener you bound yourself (inside a goro runtime).
    /// Fails when the database cannot be opened (the error says which and why).
    /// Not with [`Config::nats`] (connecting is async: use [`Server::bind`]).
    pub fn start(listener: TcpListener, cfg: Config) -> io::Result<Server> {
        if cfg.nats.is_some() {
            return Err(io::Error::other(
                "a shop on a NATS broker starts with Server::bind",
            ));
        }
        Server::start_with(listener, cfg, None)
    }

    fn start_with(
        listener: TcpListener,
        cfg: Config,
        cluster: Option<Arc<Cluster>>,
    ) -> io::Result<Server> {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let on_broker = cluster.is_some();
        let (state, orders) = State::new(cfg, cluster).map_err(io::Error::other)?;

        // The worker pool: Go's `for i := 0; i < n; i++ { wg.Add(1); go worker(i) }`.
        // On a broker, `bind` starts it on the broker's deliveries instead.
        let workers = WaitGroup::new();
        for id in 0..if on_broker { 0 } else { state.cfg.workers } {
            workers.go(worker(id, state.clone(), orders.clone()));
        }
        drop(orders); // the workers hold the receiving ends now

        let (ctx, stop) = context::with_cancel(&context::background());
        let conns = WaitGroup::new();
        let accept = goro::go(accept_loop(
            listener,
            state.clone(),
            ctx.done(),
            conns.clone(),
        ));
        Ok(Server {
            addr,
            state,
            _ctx: ctx,
            stop,
            accept,
            conns,
            workers,
        })
    }

    /// The database file the orders are kept in (`None`: in memory).
    pub fn db_path(&self) -> Option<&std::path::Path> {
        self.state.db_path()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What `GET /stats` would answer now.
    pub async fn stats(&self) -> Stats {
        self.state.stats().await
    }

    /// Shuts down gracefully and returns the final stats: stop accepting,
    /// let open connections finish their request (up to 5 s), close the
    /// queue, wait for the workers to drain it. Every order answered `202`
    /// has been processed when this returns.
    pub async fn shutdown(self) -> Stats {
        // Go: `cancel()` — the accept loop and the connections see ctx.Done().
        (self.stop)();
        // When the accept loop has returned, the listener is closed and no
        // connection can join `conns` any more: waiting for them is race-free.
        let _ = self.accept.await;
        let _ = goro::time::timeout(GRACE, self.conns.wait()).await;
        // Late requests (a connection past the grace period) get a 503.
        self.state.close_queue().await;
        self.workers.wait().await;
        self.state.wait_recorded().await;
        let stats = self.state.stats().await;
        self.state.close_db().await;
        stats
    }
}

/// Accepts until `done` closes; one goroutine per connection.
async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    done: Receiver<()>,
    conns: WaitGroup,
) {
    loop {
        let accepted = match select(pin!(listener.accept()), pin!(done.recv())).await {
            Either::Left((accepted, _)) => accepted,
            Either::Right(_) => return, // shutting down: drop the listener
        };
        match accepted {
            Ok((stream, _peer)) => {
                conns.go(serve_conn(stream, state.clone(), done.clone()));
            }
            Err(e) => {
                // Out of file descriptors and the like: Go's Serve sleeps
                // and retries too.
                eprintln!("shop: accept: {e}");
                goro::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Runs hyper's HTTP/1.1 server on one connection until the client closes
/// it or the shop shuts down.
async fn serve_conn(stream: TcpStream, state: Arc<State>, done: Receiver<()>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| handle(state.clone(), req));
    let mut conn = pin!(http1::Builder::new()
        .timer(Timer)
        .serve_connection(stream, service));
    let stopping = matches!(
        select(conn.as_mut(), pin!(done.recv())).await,
        Either::Right(_)
    );
    if stopping {
        // Finish the request in flight, then close (Go: Shutdown closes
        // idle keep-alive connections at once).
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
    // A client that vanished mid-request is its own problem: nothing to do.
}
