//! Autobahn's callback API as a layer on [`WebSocket`]: the loop that takes the
//! connection's events and calls the handler's hooks (`on_open`, `on_message` or the
//! frame-based and streaming hooks, `on_ping`, `on_pong`, `on_close`).
//!
//! The connection keeps moving while a hook is pending (a handler that awaits its own
//! sends, say): reading (up to its bounds), answering pings, writing, timing. There is
//! one implementation of a connection; this file only decides when to call whom.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite};

use super::connection::WebSocket;
use super::driver::CloseInfo;
use super::handler::{Delivery, WebSocketHandler};
use super::protocol::Event;

/// Runs an open connection to its end, calling the handler's hooks; returns how it
/// ended. The connection is dropped before `on_close`, so sends from there fail.
pub(crate) async fn run<S, H>(mut ws: WebSocket<S>, handler: &mut H) -> CloseInfo
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: WebSocketHandler,
{
    let delivery = handler.delivery();
    ws.receive_streaming(delivery != Delivery::Whole);
    // Frame-based delivery: the pieces of the frame in progress.
    let mut frame = Vec::new();
    let _ = alongside(&mut ws, pin!(handler.on_open())).await;
    while let Some(event) = poll_fn(|cx| ws.poll_event(cx)).await {
        let at_once = match event {
            Event::Message { payload, is_binary } => {
                tracing::trace!(len = payload.len(), is_binary, "message received");
                alongside(&mut ws, pin!(handler.on_message(payload, is_binary))).await
            }
            Event::FrameBegin {
                len,
                first,
                is_binary,
            } => {
                let mut at_once = true;
                if first {
                    tracing::trace!(is_binary, "message begins");
                    at_once = alongside(&mut ws, pin!(handler.on_message_begin(is_binary))).await;
                }
                if delivery == Delivery::Streaming {
                    at_once &= alongside(&mut ws, pin!(handler.on_message_frame_begin(len))).await;
                }
                at_once
            }
            Event::FrameData(piece) => match delivery {
                Delivery::Streaming => {
                    alongside(&mut ws, pin!(handler.on_message_frame_data(piece))).await
                }
                _ => {
                    frame.push(piece);
                    true
                }
            },
            Event::FrameEnd { last } => {
                let mut at_once = match delivery {
                    Delivery::Streaming => {
                        alongside(&mut ws, pin!(handler.on_message_frame_end())).await
                    }
                    _ => {
                        let pieces = std::mem::take(&mut frame);
                        alongside(&mut ws, pin!(handler.on_message_frame(pieces))).await
                    }
                };
                if last {
                    at_once &= alongside(&mut ws, pin!(handler.on_message_end())).await;
                }
                at_once
            }
            Event::Ping(p) => {
                tracing::trace!(len = p.len(), "ping received");
                alongside(&mut ws, pin!(handler.on_ping(p))).await
            }
            Event::Pong(p) => {
                tracing::trace!(len = p.len(), "pong received");
                alongside(&mut ws, pin!(handler.on_pong(p))).await
            }
            Event::Close { .. } => true,
        };
        ws.set_same_poll(at_once);
    }
    let info = ws.final_close_info();
    drop(ws);
    tracing::debug!(
        was_clean = info.was_clean,
        code = ?info.code,
        reason = ?info.reason,
        "WebSocket connection closed"
    );
    handler
        .on_close(info.was_clean, info.code, info.reason.clone())
        .await;
    info
}

/// Polls a handler hook while keeping the connection's IO going; the future is true if the
/// hook completed on its first poll (so the caller is still in the same task poll).
///
/// The hook is pinned where the caller made it: moving a hook's future into an async
/// helper's state (and pinning it there) cost two copies of it per message (~130
/// instructions per message in `ws_echo`).
fn alongside<'a, S, F>(
    ws: &'a mut WebSocket<S>,
    mut hook: Pin<&'a mut F>,
) -> impl Future<Output = bool> + 'a
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Future<Output = ()>,
{
    let mut at_once = true;
    poll_fn(move |cx| {
        if hook.as_mut().poll(cx).is_ready() {
            return Poll::Ready(at_once);
        }
        at_once = false;
        ws.poll_progress(cx);
        Poll::Pending
    })
}
