//! A tokio-bound HTTP client inside goroutines (goro feature `tokio`):
//! hyper-util's pooled client — tokio's `TcpStream`, tokio's timers, its
//! connection tasks `tokio::spawn`ed — used unwrapped from goroutines,
//! ordering from the shop over loopback.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use goro_examples::shop::{Config, Server, Stats};

const CUSTOMERS: u64 = 8;
const ORDERS_EACH: u64 = 40;

#[test]
fn hyper_util_client_in_goroutines_orders_from_the_shop() {
    let rt = goro::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let server = Server::bind("127.0.0.1:0", Config::default())
            .await
            .unwrap();
        let addr = server.addr();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(5))
            .build_http();
        let accepted = Arc::new(AtomicU64::new(0));
        let retried = Arc::new(AtomicU64::new(0));
        let customers = goro::sync::WaitGroup::new();
        for c in 0..CUSTOMERS {
            let (client, accepted, retried) = (client.clone(), accepted.clone(), retried.clone());
            customers.go(async move {
                for i in 0..ORDERS_EACH {
                    loop {
                        let body = format!(
                            r#"{{"product":"rust-mug","qty":1,"customer":{}}}"#,
                            c * 1000 + i
                        );
                        let req = Request::builder()
                            .method(Method::POST)
                            .uri(format!("http://{addr}/buy"))
                            .body(Full::new(Bytes::from(body)))
                            .unwrap();
                        let resp = client.request(req).await.expect("POST /buy");
                        let status = resp.status();
                        let body = resp.into_body().collect().await.unwrap().to_bytes();
                        match status {
                            StatusCode::ACCEPTED => {
                                accepted.fetch_add(1, SeqCst);
                                break;
                            }
                            StatusCode::SERVICE_UNAVAILABLE => {
                                retried.fetch_add(1, SeqCst);
                                tokio::time::sleep(Duration::from_millis(5)).await;
                            }
                            other => panic!("{other}: {body:?}"),
                        }
                    }
                }
            });
        }
        customers.wait().await;
        assert_eq!(accepted.load(SeqCst), CUSTOMERS * ORDERS_EACH);

        let resp = client
            .get(format!("http://{addr}/stats").parse().unwrap())
            .await
            .expect("GET /stats");
        assert_eq!(resp.status(), StatusCode::OK);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let seen: Stats = serde_json::from_slice(&body).unwrap();
        assert_eq!(seen.accepted, CUSTOMERS * ORDERS_EACH);
        assert_eq!(seen.rejected, retried.load(SeqCst));

        drop(client);
        let stats = server.shutdown().await;
        assert_eq!(stats.processed, CUSTOMERS * ORDERS_EACH);
        assert_eq!(stats.units, CUSTOMERS * ORDERS_EACH);
    });
}
