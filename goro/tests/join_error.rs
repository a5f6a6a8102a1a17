//! `JoinError` as an application error: `Send + Sync + 'static`, usable
//! with `?` into `Box<dyn Error + Send + Sync>` (what anyhow requires), with
//! the panic payload and the goroutine id kept.

use std::error::Error;

type BoxError = Box<dyn Error + Send + Sync + 'static>;

fn assert_send_sync_static<T: Send + Sync + 'static>() {}

#[test]
fn join_error_is_send_sync_error() {
    assert_send_sync_static::<goro::JoinError>();
    fn is_error<E: Error + Send + Sync + 'static>() {}
    is_error::<goro::JoinError>();
}

async fn sum_in_goroutine(n: u64) -> Result<u64, BoxError> {
    let h = goro::go(async move { (1..=n).sum::<u64>() });
    let v = h.await?;
    Ok(v)
}

async fn panics_in_goroutine() -> Result<u64, BoxError> {
    let h = goro::go(async move {
        if std::hint::black_box(true) {
            panic!("worker failed on item {}", 3);
        }
        1_u64
    });
    Ok(h.await?)
}

#[test]
fn question_mark_into_boxed_error() {
    goro::run(async {
        assert_eq!(sum_in_goroutine(100).await.unwrap(), 5050);

        let err = panics_in_goroutine().await.unwrap_err();
        let join = err.downcast_ref::<goro::JoinError>().expect("a JoinError");
        assert!(join.is_panic());
        assert!(!join.is_cancelled());
        assert_eq!(join.panic_message(), Some("worker failed on item 3"));
        assert!(
            err.to_string()
                .ends_with("panicked: worker failed on item 3"),
            "{err}"
        );

        // The boxed error crosses to another goroutine (needs Send) and is
        // read from two at once (needs Sync).
        let err = std::sync::Arc::new(err);
        let (e1, e2) = (err.clone(), err.clone());
        let a = goro::go(async move { e1.to_string() });
        let b = goro::go(async move { e2.to_string() });
        assert_eq!(a.await.unwrap(), b.await.unwrap());
    });
}

#[test]
fn cancelled_keeps_id_and_has_no_payload() {
    goro::run(async {
        let h = goro::go(std::future::pending::<()>());
        let id = h.id();
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(!err.is_panic());
        assert_eq!(err.id(), id);
        assert_eq!(err.panic_message(), None);
        assert_eq!(err.to_string(), format!("goroutine {id} was cancelled"));
        let err = err.try_into_panic().unwrap_err();
        assert!(err.is_cancelled());
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| err.into_panic()));
        assert!(r.is_err(), "into_panic on a cancelled goroutine must panic");
    });
}

#[test]
fn panic_payload_round_trips() {
    #[derive(Debug, PartialEq)]
    struct Custom(u32);
    goro::run(async {
        let h = goro::go(async { std::panic::panic_any(Custom(9)) });
        let id = h.id();
        let err = h.await.unwrap_err();
        assert_eq!(err.id(), id);
        assert!(err.is_panic());
        // Not a string: no message, but the payload is intact.
        assert_eq!(err.panic_message(), None);
        assert!(format!("{err:?}").contains("Box<dyn Any>"));
        let payload = err.try_into_panic().expect("a panic");
        assert_eq!(payload.downcast_ref::<Custom>(), Some(&Custom(9)));

        // A formatted message is captured too, and resume_unwind re-raises it.
        let n = std::hint::black_box(5);
        let err = goro::go(async move { panic!("n = {n}") })
            .await
            .unwrap_err();
        assert_eq!(err.panic_message(), Some("n = 5"));
        let payload = err.into_panic();
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::panic::resume_unwind(payload)
        }))
        .unwrap_err();
        // (rustc may fold the formatting into a `&'static str` payload.)
        let msg = again
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| again.downcast_ref::<&'static str>().copied());
        assert_eq!(msg, Some("n = 5"));
    });
}
