//! goro: `net/*`.

use std::sync::Arc;
use std::time::Instant;

use goro::net::{TcpListener, TcpStream};

use super::join;
use crate::net::{message, ECHO_CONNS, ECHO_MSG, ECHO_ROUNDS};
use crate::workload::{ns_per, Cfg, Outcome};

pub(crate) fn echo(cfg: &Cfg) -> Outcome {
    let rounds = cfg.n(ECHO_ROUNDS.0, ECHO_ROUNDS.1);
    super::run(cfg, move || async move {
        let ln = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = ln.local_addr().unwrap();
        let acceptor = ln.clone();
        let server = goro::go(async move {
            // Ends when the deadline below is set in the past.
            while let Ok((s, _)) = acceptor.accept().await {
                goro::go(async move {
                    let mut buf = [0u8; ECHO_MSG];
                    while s.read_exact(&mut buf).await.is_ok() {
                        s.write_all(&buf).await.unwrap();
                    }
                });
            }
        });
        let dials: Vec<_> = (0..ECHO_CONNS)
            .map(|_| goro::go(async move { TcpStream::connect(addr).await.unwrap() }))
            .collect();
        let mut conns = Vec::with_capacity(ECHO_CONNS);
        for d in dials {
            conns.push(join(d).await);
        }
        let start = Instant::now();
        let clients: Vec<_> = conns
            .into_iter()
            .enumerate()
            .map(|(c, s)| {
                goro::go(async move {
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
            total += join(h).await;
        }
        let elapsed = start.elapsed();
        // Stop the accept loop the Go way: a deadline in the past.
        ln.set_deadline(Some(Instant::now()));
        join(server).await;
        assert_eq!(total, ECHO_CONNS * rounds);
        ns_per(elapsed, total)
    })
}
