//! hyper 1.x on goro (feature `hyper`): an HTTP/1 server and client on
//! goro sockets, with goro's executor and timer.

use std::{
    convert::Infallible,
    sync::{
        atomic::{AtomicUsize, Ordering::SeqCst},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use goro::net::{
    hyper::{GoroExecutor, GoroTimer, HyperIo},
    TcpListener, TcpStream,
};
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, service::service_fn, Request, Response, StatusCode};

async fn echo(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let body = body.unwrap_or_default();
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("x-path", path)
        .body(Full::new(body))
        .unwrap())
}

/// An HTTP/1 server on `ln`; returns the number of connections served.
fn serve(ln: TcpListener, served: Arc<AtomicUsize>) {
    goro::go(async move {
        while let Ok((conn, _)) = ln.accept().await {
            let served = served.clone();
            goro::go(async move {
                hyper::server::conn::http1::Builder::new()
                    .timer(GoroTimer)
                    .header_read_timeout(Duration::from_secs(5))
                    .serve_connection(conn, service_fn(echo))
                    .await
                    .unwrap();
                served.fetch_add(1, SeqCst);
            });
        }
    });
}

#[test]
fn hyper_server_and_client_on_goro() {
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        serve(ln, served.clone());

        const CLIENTS: usize = 50;
        const REQUESTS: usize = 20;
        let hs: Vec<_> = (0..CLIENTS)
            .map(|c| {
                goro::go(async move {
                    let conn = TcpStream::connect(addr).await.unwrap();
                    let (mut sender, connection) =
                        hyper::client::conn::http1::handshake(conn).await.unwrap();
                    let driver = goro::go(connection);
                    let mut bytes = 0;
                    for r in 0..REQUESTS {
                        let body = format!("client {c} request {r}");
                        let req = Request::post(format!("/c{c}/r{r}"))
                            .body(Full::new(Bytes::from(body.clone())))
                            .unwrap();
                        let resp = sender.send_request(req).await.unwrap();
                        assert_eq!(resp.status(), StatusCode::OK);
                        assert_eq!(resp.headers()["x-path"], format!("/c{c}/r{r}").as_str());
                        let got = resp.into_body().collect().await.unwrap().to_bytes();
                        assert_eq!(got, body.as_bytes());
                        bytes += got.len();
                    }
                    drop(sender);
                    driver.await.unwrap().unwrap();
                    bytes
                })
            })
            .collect();
        let mut total = 0;
        for h in hs {
            total += h.await.unwrap();
        }
        let expected: usize = (0..CLIENTS)
            .flat_map(|c| (0..REQUESTS).map(move |r| format!("client {c} request {r}").len()))
            .sum();
        assert_eq!(total, expected);
        // Every server connection ended cleanly when its client hung up.
        let start = std::time::Instant::now();
        while served.load(SeqCst) < CLIENTS && start.elapsed() < Duration::from_secs(10) {
            goro::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(served.load(SeqCst), CLIENTS);
    });
}

#[test]
fn hyper_over_split_halves_and_executor() {
    use hyper::rt::Executor;
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        serve(ln, Arc::new(AtomicUsize::new(0)));
        // A client over the generic adapter, its connection driven by a
        // goroutine started through hyper's Executor trait.
        let conn = HyperIo::new(TcpStream::connect(addr).await.unwrap());
        let (mut sender, connection) = hyper::client::conn::http1::handshake(conn).await.unwrap();
        let (tx, rx) = goro::chan(1);
        GoroExecutor.execute(async move {
            let _ = tx.send(connection.await.is_ok()).await;
        });
        let req = Request::get("/adapter")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.headers()["x-path"], "/adapter");
        drop(sender);
        assert_eq!(rx.recv().await, Some(true));
    });
}

#[test]
fn header_read_timeout_uses_goro_timer() {
    // A client that connects and says nothing: hyper's header-read timeout,
    // driven by GoroTimer, closes the connection.
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let server = goro::go(async move {
            let (conn, _) = ln.accept().await.unwrap();
            hyper::server::conn::http1::Builder::new()
                .timer(GoroTimer)
                .header_read_timeout(Duration::from_millis(50))
                .serve_connection(conn, service_fn(echo))
                .await
        });
        let c = TcpStream::connect(addr).await.unwrap();
        let start = std::time::Instant::now();
        let res = server.await.unwrap();
        assert!(res.is_err(), "the silent connection timed out");
        assert!(start.elapsed() >= Duration::from_millis(50));
        drop(c);
    });
}

/// Large bodies both ways through the streams' `rt::Read` (which reads
/// into hyper's possibly uninitialised buffer with `recv(2)` on
/// `MaybeUninit` bytes, issue 11 item 18): every byte arrives, in order.
#[test]
fn large_bodies_through_the_uninit_read_path() {
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        serve(ln, Arc::new(AtomicUsize::new(0)));
        let conn = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(conn).await.unwrap();
        goro::go(connection);
        for size in [1, 8191, 8192, 65_537, 1 << 20] {
            let body: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
            let req = Request::post("/big")
                .body(Full::new(Bytes::from(body.clone())))
                .unwrap();
            sender.ready().await.unwrap();
            let resp = sender.send_request(req).await.unwrap();
            let got = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(got.len(), size);
            assert!(got == body, "body of {size} bytes corrupted");
        }
    });
}

/// Garbage, truncated requests and resets against the hyper server: each
/// bad connection ends (an error response or a close), none panics or
/// hangs the server, and well-formed requests made meanwhile all succeed.
#[test]
fn bad_input_does_not_hurt_the_server() {
    use std::io::{Read, Write};
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let (s2, f2) = (served.clone(), failed.clone());
        goro::go(async move {
            while let Ok((conn, _)) = ln.accept().await {
                let (served, failed) = (s2.clone(), f2.clone());
                goro::go(async move {
                    let r = hyper::server::conn::http1::Builder::new()
                        .timer(GoroTimer)
                        .header_read_timeout(Duration::from_secs(5))
                        .serve_connection(conn, service_fn(echo))
                        .await;
                    match r {
                        Ok(()) => served.fetch_add(1, SeqCst),
                        Err(_) => failed.fetch_add(1, SeqCst),
                    };
                });
            }
        });
        const BAD: usize = 40;
        let bad = goro::spawn_blocking(move || {
            let inputs: [&[u8]; 5] = [
                b"\x00\x01\x02 garbage \xff\xfe\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\nshort",
                b"GET /\xff HTTP/9.9\r\n\r\n",
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                b"GET / HTTP/1.1\r\n",
            ];
            let mut responded = 0;
            for i in 0..BAD {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                let _ = c.write_all(inputs[i % inputs.len()]);
                let _ = c.shutdown(std::net::Shutdown::Write);
                c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut resp = Vec::new();
                let _ = c.read_to_end(&mut resp);
                if resp.starts_with(b"HTTP/1.1 4") {
                    responded += 1;
                }
            }
            responded
        });
        // Good clients at the same time.
        let mut good = Vec::new();
        for i in 0..20 {
            good.push(goro::go(async move {
                let conn = TcpStream::connect(addr).await.unwrap();
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(conn).await.unwrap();
                goro::go(connection);
                let req = Request::post(format!("/g{i}"))
                    .body(Full::new(Bytes::from(format!("good {i}"))))
                    .unwrap();
                let resp = sender.send_request(req).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body, format!("good {i}").as_bytes());
            }));
        }
        for g in good {
            g.await.unwrap();
        }
        let responded = bad.await.unwrap();
        assert!(responded > 0, "no bad request got a 4xx answer");
        let start = std::time::Instant::now();
        while served.load(SeqCst) + failed.load(SeqCst) < BAD + 20 {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "served {} failed {} of {}",
                served.load(SeqCst),
                failed.load(SeqCst),
                BAD + 20
            );
            goro::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(served.load(SeqCst) + failed.load(SeqCst), BAD + 20);
        assert!(
            failed.load(SeqCst) >= BAD / 5 * 3,
            "bad requests not seen as errors"
        );
    });
}

/// Issue 16 part 3: `debug_goroutines` over a real HTTP GET on 127.0.0.1:
/// the grouped profile by default, the full dump with `?debug=2`.
#[test]
fn debug_goroutines_page_over_http() {
    use goro::net::hyper::debug_goroutines;
    const PARKED: usize = 1_000;
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = ln.local_addr().unwrap();
        let server = goro::go(async move {
            let (conn, _) = ln.accept().await.unwrap();
            hyper::server::conn::http1::Builder::new()
                .serve_connection(conn, service_fn(debug_goroutines))
                .await
                .unwrap();
        });
        let (tx, rx) = goro::chan::<()>(0);
        let parked: Vec<_> = (0..PARKED)
            .map(|_| {
                let rx = rx.clone();
                goro::go(async move { rx.recv().await })
            })
            .collect();
        while goro::runtime::dump()
            .grouped()
            .groups()
            .iter()
            .all(|g| g.count != PARKED)
        {
            goro::time::sleep(Duration::from_millis(1)).await;
        }
        let conn = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(conn).await.unwrap();
        let driver = goro::go(connection);
        async fn get(
            sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
            path: &'static str,
        ) -> String {
            // The connection takes a request only once it is done with the
            // last response (else hyper fails it: "connection was not ready").
            sender.ready().await.unwrap();
            let req = Request::get(path).body(Full::new(Bytes::new())).unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(body.to_vec()).unwrap()
        }
        let grouped = get(&mut sender, "/debug/goroutines").await;
        assert!(
            grouped.starts_with("goroutine profile: total "),
            "{grouped}"
        );
        let header = format!("\n{PARKED} @ [chan receive]\n\t{}:", file!());
        assert!(grouped.contains(&header), "{grouped}");
        assert!(grouped.lines().count() < 60, "{grouped}");
        let full = get(&mut sender, "/debug/goroutines?debug=2").await;
        assert!(!full.contains("goroutine profile"), "{full}");
        let receivers = full.matches("[chan receive]:").count();
        assert_eq!(receivers, PARKED, "{full}");
        drop(sender);
        driver.await.unwrap().unwrap();
        server.await.unwrap();
        drop(tx);
        for h in parked {
            assert_eq!(h.await.unwrap(), None);
        }
    });
}
