//! What tokio sockets in goroutines cost: the same echo — `CONNS`
//! connections, each doing `ROUNDS` round trips of 64 bytes — three ways:
//!
//! 1. goro + tokio sockets: goroutines using `tokio::net` (feature
//!    `tokio`: the tokio thread drives the sockets, goro's workers run the
//!    goroutines);
//! 2. native tokio: the same code as tokio tasks on a multi-thread tokio
//!    runtime with as many workers as goro has procs;
//! 3. goro's own sockets (`goro::net`), for reference.
//!
//! ```text
//! cargo run --release --example tokio_echo [CONNS] [ROUNDS]   # default 50 2000
//! ```

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MSG: usize = 64;

async fn tokio_server(
    listener: tokio::net::TcpListener,
    conns: usize,
    spawn: fn(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>),
) {
    for _ in 0..conns {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        spawn(Box::pin(async move {
            let mut buf = [0u8; MSG];
            while s.read_exact(&mut buf).await.is_ok() {
                s.write_all(&buf).await.unwrap();
            }
        }));
    }
}

async fn tokio_client(addr: std::net::SocketAddr, rounds: usize) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = [7u8; MSG];
    for _ in 0..rounds {
        s.write_all(&buf).await.unwrap();
        s.read_exact(&mut buf).await.unwrap();
    }
}

/// goro + tokio sockets.
fn goro_tokio(conns: usize, rounds: usize) -> Duration {
    goro::run(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        goro::go(tokio_server(listener, conns, |f| {
            goro::go(f);
        }));
        let t = Instant::now();
        let wg = goro::sync::WaitGroup::new();
        for _ in 0..conns {
            wg.go(tokio_client(addr, rounds));
        }
        wg.wait().await;
        t.elapsed()
    })
}

/// Native tokio.
fn native_tokio(conns: usize, rounds: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(procs())
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(tokio_server(listener, conns, |f| {
            tokio::spawn(f);
        }));
        let t = Instant::now();
        let hs: Vec<_> = (0..conns)
            .map(|_| tokio::spawn(tokio_client(addr, rounds)))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        t.elapsed()
    })
}

/// goro's own sockets.
fn goro_net(conns: usize, rounds: usize) -> Duration {
    goro::run(async move {
        let listener = goro::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        goro::go(async move {
            for _ in 0..conns {
                let (s, _) = listener.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                goro::go(async move {
                    let mut buf = [0u8; MSG];
                    while s.read_exact(&mut buf).await.is_ok() {
                        s.write_all(&buf).await.unwrap();
                    }
                });
            }
        });
        let t = Instant::now();
        let wg = goro::sync::WaitGroup::new();
        for _ in 0..conns {
            wg.go(async move {
                let s = goro::net::TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = [7u8; MSG];
                for _ in 0..rounds {
                    s.write_all(&buf).await.unwrap();
                    s.read_exact(&mut buf).await.unwrap();
                }
            });
        }
        wg.wait().await;
        t.elapsed()
    })
}

/// goro's default: `GOMAXPROCS`, else the cores available.
fn procs() -> usize {
    std::env::var("GOMAXPROCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("a number"));
    let conns = args.next().unwrap_or(50);
    let rounds = args.next().unwrap_or(2000);
    println!(
        "echo: {conns} connections × {rounds} round trips of {MSG} bytes, {} threads",
        procs()
    );
    for (name, f) in [
        (
            "goro + tokio sockets (feature tokio)",
            goro_tokio as fn(usize, usize) -> Duration,
        ),
        ("native tokio (multi-thread)", native_tokio),
        ("goro + goro::net", goro_net),
    ] {
        let d = f(conns, rounds);
        let rps = (conns * rounds) as f64 / d.as_secs_f64();
        println!(
            "{name:<40} {:>8.0} round trips/s  ({:.2} s)",
            rps,
            d.as_secs_f64()
        );
    }
}
