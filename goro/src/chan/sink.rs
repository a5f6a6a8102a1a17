//! `Sender` as a `futures_sink::Sink`: one pending send, owned by the
//! `Sender`.

use std::{
    future::Future,
    panic::Location,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use super::{
    arm::SendArm,
    core::Chan,
    error::SendError,
    sender::{Send, Sender},
};

/// A send owned by a `Sender` for its `Sink` implementation.
pub(super) struct SinkSend<T> {
    // Declared first: dropped (unlinked) before the channel it points at.
    send: Send<'static, T>,
    _chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Polls the send started by `start_send`, if any.
    fn poll_sink(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let Some(s) = self.sink.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        // SAFETY: the `send` field of the pinned box is never moved out.
        let send = unsafe { s.as_mut().map_unchecked_mut(|s| &mut s.send) };
        let r = std::task::ready!(send.poll(cx));
        self.sink = None;
        Poll::Ready(r)
    }
}

/// A `Sender` is a [`Sink`](futures_sink::Sink) of one pending send:
/// `start_send` starts a send, and `poll_ready` / `poll_flush` complete it
/// (on an unbuffered channel, when a receiver takes the value).
/// `poll_close` flushes, then closes the channel (Go's `close(ch)`, for
/// every sender). A send started but not flushed when the `Sender` is
/// dropped is cancelled: its value is dropped, not delivered.
///
/// # Examples
///
/// ```
/// use futures::{SinkExt, StreamExt};
/// let (mut tx, rx) = goro::chan::<i32>(0);
/// let t = std::thread::spawn(move || rx.iter().collect::<Vec<_>>());
/// futures::executor::block_on(async {
///     tx.send_all(&mut futures::stream::iter([1, 2, 3]).map(Ok)).await.unwrap();
///     SinkExt::close(&mut tx).await.unwrap();
/// });
/// assert_eq!(t.join().unwrap(), [1, 2, 3]);
/// ```
impl<T> futures_sink::Sink<T> for Sender<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.get_mut().poll_sink(cx)
    }

    #[track_caller]
    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), SendError<T>> {
        let this = self.get_mut();
        assert!(
            this.sink.is_none(),
            "goro: Sink::start_send without poll_ready returning Ready(Ok)"
        );
        if this.chan.is_closed() {
            return Err(SendError(item));
        }
        let chan = this.chan.clone();
        this.sink = Some(Box::pin(SinkSend {
            send: Send {
                // SAFETY: the channel is kept alive by the `Arc` stored
                // beside the arm in the same box, dropped after it (field
                // order).
                arm: unsafe { SendArm::new(Arc::as_ptr(&chan), item) },
                at: Location::caller(),
            },
            _chan: chan,
        }));
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.get_mut().poll_sink(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let this = self.get_mut();
        let r = std::task::ready!(this.poll_sink(cx));
        this.chan.close();
        Poll::Ready(r)
    }
}
