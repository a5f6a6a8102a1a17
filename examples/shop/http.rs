//! The HTTP side: routing, reading the body with a size limit, and the
//! answers. Go's `http.HandleFunc("/buy", ...)` and friends.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;

use super::state::{Refusal, State};

/// The response type of every handler: a whole body in memory.
pub(crate) type Answer = Response<Full<Bytes>>;

/// Routes one request. Never fails: every problem is an HTTP answer.
pub(crate) async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Answer, Infallible> {
    let answer = match (req.method(), req.uri().path()) {
        (&Method::POST, "/buy") => buy(&state, req).await,
        (&Method::GET, "/stats") => json(StatusCode::OK, &state.stats().await),
        // Go: `import _ "net/http/pprof"`'s goroutine page; `?debug=2` the full dump.
        (&Method::GET, "/debug/goroutines") => {
            let Ok(page) = goro::net::hyper::debug_goroutines(req).await;
            page.map(|text| Full::new(Bytes::from(text)))
        }
        (_, "/buy") => method_not_allowed("POST"),
        (_, "/stats" | "/debug/goroutines") => method_not_allowed("GET"),
        (_, path) => error(
            StatusCode::NOT_FOUND,
            &format!("no such page {path:?}; try POST /buy, GET /stats or GET /debug/goroutines"),
        ),
    };
    Ok(answer)
}

/// `POST /buy`: read and check the order, queue it, answer at once.
async fn buy(state: &Arc<State>, req: Request<Incoming>) -> Answer {
    let limit = state.cfg.max_body;
    let too_big = || format!("body larger than {limit} bytes");
    // A declared length over the limit is refused before reading anything.
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return refused(state.bad(too_big()));
    }
    // Go: `http.MaxBytesReader(w, r.Body, limit)`.
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return refused(state.bad(too_big()))
        }
        Err(e) => return refused(state.bad(format!("reading the body: {e}"))),
    };
    match state.place(&body).await {
        Ok(id) => json(StatusCode::ACCEPTED, &Accepted { order: id }),
        Err(why) => refused(why),
    }
}

#[derive(Serialize)]
struct Accepted {
    order: u64,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

fn refused(why: Refusal) -> Answer {
    match why {
        Refusal::Bad(msg) => error(StatusCode::BAD_REQUEST, &msg),
        Refusal::Full => busy("queue full, retry later"),
        Refusal::Closing => busy("shutting down, retry later"),
        Refusal::Storage(msg) => busy(&format!("{msg}; the order was not taken, retry later")),
    }
}

/// `503` with `Retry-After: 1` (seconds: the header's unit).
fn busy(msg: &str) -> Answer {
    let mut a = error(StatusCode::SERVICE_UNAVAILABLE, msg);
    a.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    a
}

fn method_not_allowed(allow: &'static str) -> Answer {
    let mut a = error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed; use {allow}"),
    );
    a.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    a
}

fn error(status: StatusCode, msg: &str) -> Answer {
    json(status, &ErrorBody { error: msg })
}

fn json(status: StatusCode, value: &impl Serialize) -> Answer {
    let mut body = serde_json::to_vec(value).expect("plain data serializes");
    body.push(b'\n');
    let mut a = Response::new(Full::new(Bytes::from(body)));
    *a.status_mut() = status;
    a.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    a
}
