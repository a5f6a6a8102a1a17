//! `net/*`: the netpoller — many connections each waiting on its socket.

use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::rt;
use crate::workload::{ns_per, Cfg, Outcome, Unit, Workload};

/// Connections of `net/echo`.
pub const ECHO_CONNS: usize = 1_000;
/// Round trips per connection (full, quick). The Go twin's sizes.go holds
/// the same pair.
pub const ECHO_ROUNDS: (usize, usize) = (100, 10);
/// Bytes per message.
pub const ECHO_MSG: usize = 64;

pub fn workloads() -> Vec<Workload> {
    vec![Workload::new(
        "net/echo",
        Unit::NsPerOp,
        "TCP echo on loopback: 1,000 connections (dialed before the clock starts), each \
         writing a 64-byte message and reading it back N times, server and clients in one \
         runtime; ns per round trip",
    )
    .with("tokio", echo_tokio)]
}

/// The message client `c` sends in round `r`: checked byte for byte.
pub fn message(c: usize, r: usize) -> [u8; ECHO_MSG] {
    let mut m = [0u8; ECHO_MSG];
    for (i, b) in m.iter_mut().enumerate() {
        *b = (c * 31 + r * 7 + i) as u8;
    }
    m
}

fn echo_tokio(cfg: &Cfg) -> Outcome {
    let rounds = cfg.n(ECHO_ROUNDS.0, ECHO_ROUNDS.1);
    rt::tokio(cfg, move || async move {
        let ln = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = ln.local_addr().unwrap();
        let server = tokio::spawn(async move {
            loop {
                let (mut s, _) = ln.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; ECHO_MSG];
                    while s.read_exact(&mut buf).await.is_ok() {
                        s.write_all(&buf).await.unwrap();
                    }
                });
            }
        });
        let dials: Vec<_> = (0..ECHO_CONNS)
            .map(|_| {
                tokio::spawn(async move {
                    let s = tokio::net::TcpStream::connect(addr).await.unwrap();
                    s.set_nodelay(true).unwrap();
                    s
                })
            })
            .collect();
        let mut conns = Vec::with_capacity(ECHO_CONNS);
        for d in dials {
            conns.push(d.await.unwrap());
        }
        let start = Instant::now();
        let clients: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(c, mut s)| {
                tokio::spawn(async move {
                    let mut buf = [0u8; ECHO_MSG];
                    for r in 0..rounds {
                        let m = message(c, r);
                        s.write_all(&m).await.unwrap();
                        s.read_exact(&mut buf).await.unwrap();
                        assert_eq!(buf, m);
                    }
                    rounds
                })
            })
            .collect();
        let mut total = 0;
        for h in clients {
            total += h.await.unwrap();
        }
        let elapsed = start.elapsed();
        server.abort();
        assert_eq!(total, ECHO_CONNS * rounds);
        ns_per(elapsed, total)
    })
}
