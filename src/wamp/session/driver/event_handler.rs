//! The task that runs one subscription handler, event after event.

use std::panic::AssertUnwindSafe;
use std::task::Poll;

use super::*;

/// The text of a panic payload (`&str` or `String`), or "panic".
pub(super) fn panic_payload_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// Starts the task that runs one subscription handler, event after event; returns its
/// queue. The task ends when the protocol drops the queue (unsubscribe, revocation,
/// session end) and the queued events are handled.
pub(in crate::wamp::session) fn spawn_event_handler(
    handler: Slot<EventHandler>,
    life: LifeSender,
    topic: String,
) -> mpsc::UnboundedSender<EventItem> {
    let (tx, mut rx) = mpsc::unbounded_channel::<EventItem>();
    tokio::spawn(async move {
        // `_held` keeps the event charged to the session's budget until handled.
        while let Some((args, kwargs, details, _held)) = rx.recv().await {
            // A panic is caught (without a task per event) and the next event still runs.
            let mut fut = current(&handler)(args, kwargs, details);
            let outcome = std::future::poll_fn(|cx| {
                match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                    Ok(Poll::Pending) => Poll::Pending,
                    Ok(Poll::Ready(r)) => Poll::Ready(Ok(r)),
                    Err(p) => Poll::Ready(Err(p)),
                }
            })
            .await;
            let error = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e,
                Err(p) => ApplicationError::with_message(
                    ApplicationError::RUNTIME_ERROR,
                    panic_payload_message(p),
                ),
            };
            let message = format!("event handler for '{topic}' failed");
            life.user_error(error, message);
        }
    });
    tx
}
