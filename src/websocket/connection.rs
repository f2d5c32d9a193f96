//! The pull API: a connection as a value, with `recv`/`send`/`close` and the
//! `Stream`/`Sink` traits, over any stream.
//!
//! It drives the same connection state as the callback API (`driver::Io`: timers,
//! auto-ping, limits, permessage-deflate, the closing handshake); only who asks for the
//! next event differs. As with every pull API, the connection makes progress while it is
//! polled: keep a `recv` (or a `Stream` consumer) running, or pings go unanswered.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

use super::channel::{Phase, WebSocketChannel};
use super::driver::{CloseInfo, Io};
use super::error::{Error, Result};
use super::message::{Message, Utf8Bytes};
use super::peer::PeerAddr;
use super::protocol::{Event, SendError};
use super::server::ConnectionSlot;

/// A WebSocket connection as a value: receive with [`Self::recv`] (or as a
/// `futures_core::Stream` of [`Message`]s), send with [`Self::send`] (or as a
/// `futures_sink::Sink`), end with [`Self::close`]. Cloneable senders for other tasks:
/// [`Self::channel`].
///
/// # Examples
///
/// A client on the pull API against a callback echo server:
///
/// ```
/// use autobahn::websocket::{Message, WebSocketClientFactory, WebSocketServerFactory};
/// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerHandler};
///
/// struct Echo(WebSocketChannel);
/// impl WebSocketHandler for Echo {
///     async fn on_message(&mut self, payload: bytes::Bytes, is_binary: bool) {
///         let _ = self.0.send_message(payload, is_binary).await;
///     }
/// }
/// impl WebSocketServerHandler for Echo {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let factory = WebSocketServerFactory::new("ws://127.0.0.1");
/// # let listener = factory.listen("127.0.0.1:0").await?;
/// # let url = format!("ws://{}", listener.local_addr()?);
/// # tokio::spawn(factory.serve(listener, Echo));
/// let mut ws = WebSocketClientFactory::new(&url)?.connect_websocket().await?;
/// ws.send("hello").await?;
/// assert_eq!(ws.recv().await, Some(Message::from("hello")));
/// let close = ws.close(Some(1000), None).await?;
/// assert!(close.was_clean);
/// # Ok(())
/// # }
/// ```
pub struct WebSocket<S> {
    io: Io<S>,
    /// Hand pings and pongs out as messages.
    control: bool,
    /// The connection's span: entered whenever the connection is polled.
    span: tracing::Span,
    /// The server's `max_connections` place, given back when the connection is dropped.
    _slot: Option<ConnectionSlot>,
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("peer", &self.io.channel().peer())
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    pub(crate) fn from_io(io: Io<S>, span: tracing::Span) -> Self {
        Self {
            io,
            control: false,
            span,
            _slot: None,
        }
    }

    /// Keeps a server's connection slot for as long as the connection lives.
    pub(crate) fn holding(mut self, slot: ConnectionSlot) -> Self {
        self._slot = Some(slot);
        self
    }

    /// A cloneable handle that sends on this connection from other tasks (what the
    /// callback API's handlers hold). Its sends go out while this value is polled.
    pub fn channel(&self) -> &WebSocketChannel {
        self.io.channel()
    }

    /// The peer's address (see [`WebSocketChannel::peer_addr`]).
    pub fn peer_addr(&self) -> &PeerAddr {
        self.io.channel().peer_addr()
    }

    /// Also hand out pings and pongs (already answered and matched) as messages.
    /// Off by default, as in python-websockets.
    pub fn receive_control_frames(&mut self, on: bool) {
        self.control = on;
    }

    /// The next message; `None` once the connection has closed (then
    /// [`Self::close_info`] says how). Pings are answered meanwhile.
    ///
    /// Cancel safe: a message is never lost when the future is dropped before it is
    /// ready.
    pub async fn recv(&mut self) -> Option<Message> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`Self::recv`] as a poll function.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        let _span = (!self.span.is_none()).then(|| self.span.enter());
        loop {
            let message = match ready!(self.io.poll_next(cx)) {
                None => return Poll::Ready(None),
                Some(Event::Message { payload, is_binary }) => {
                    // As the callback API logs it, in the connection's span.
                    tracing::trace!(len = payload.len(), is_binary, "message received");
                    match is_binary {
                        true => Message::Binary(payload),
                        false => Message::Text(Utf8Bytes::from_received(payload)),
                    }
                }
                Some(Event::Ping(p)) if self.control => Message::Ping(p),
                Some(Event::Pong(p)) if self.control => Message::Pong(p),
                Some(_) => continue,
            };
            return Poll::Ready(Some(message));
        }
    }

    /// Sends a message: waits while more than the high-water mark is queued for the
    /// peer, then until it is written (as `SinkExt::send` does) — unless received messages
    /// are already waiting for [`Self::recv`]: then the message goes out with the next
    /// `recv` (or [`Self::flush`]), together with the replies to those messages.
    ///
    /// That is how the callback API writes too: a `recv`/`send` loop answering a burst of
    /// messages makes one write for the burst, not one per message (in `ws_echo` with 16
    /// messages in flight, a third of the CPU per message). A loop that stops calling `recv`
    /// after a `send` should call `flush`, or nothing moves anyway: this connection does
    /// its IO only while it is polled.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<()> {
        poll_fn(|cx| self.poll_ready_to_send(cx)).await?;
        self.queue(message.into())?;
        if self.io.has_events_queued() {
            return Ok(());
        }
        self.flush().await
    }

    /// Waits until everything queued (messages, pongs, a close) is written.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.poll_flushed(cx)).await
    }

    /// Starts the closing handshake (`code` 1000 or 3000–4999, as
    /// [`WebSocketChannel::send_close`]) and waits for it to end, discarding messages that
    /// still arrive; returns how the connection ended.
    pub async fn close(&mut self, code: Option<u16>, reason: Option<&str>) -> Result<CloseInfo> {
        self.start_close(code, reason)?;
        while self.recv().await.is_some() {}
        Ok(self.io.close_info())
    }

    /// Queues our close frame (`code` as for [`WebSocketChannel::send_close`]).
    pub(crate) fn start_close(&mut self, code: Option<u16>, reason: Option<&str>) -> Result<()> {
        if let Some(c) = code {
            if c != 1000 && !(3000..=4999).contains(&c) {
                return Err(SendError::InvalidCloseCode(c).into());
            }
        }
        self.queue_close(code, reason)
    }

    /// The next event, pings and pongs included (for the callback API).
    #[inline]
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let _span = (!self.span.is_none()).then(|| self.span.enter());
        self.io.poll_next(cx)
    }

    /// Moves IO along (reading, answering, writing, timing) while the application is busy.
    #[inline]
    pub(crate) fn poll_progress(&mut self, cx: &mut Context<'_>) {
        let _span = (!self.span.is_none()).then(|| self.span.enter());
        self.io.poll_progress(cx, false);
    }

    /// The application took the last event and is back in the same task poll: a read
    /// that was pending then is still pending.
    #[inline]
    pub(crate) fn set_same_poll(&mut self, same: bool) {
        self.io.same_poll = same;
    }

    /// How the connection ended (call once `poll_event` gave `None`).
    pub(crate) fn final_close_info(&self) -> CloseInfo {
        self.io.close_info()
    }

    /// For a split connection: whether the reading half may have something now.
    pub(crate) fn has_news_for_reader(&self) -> bool {
        self.io.has_news_for_reader()
    }

    /// For a split connection: whether a waiting writing half may go on now.
    pub(crate) fn has_news_for_writer(&self) -> bool {
        self.io.has_news_for_writer()
    }

    /// How the connection ended, once it has (`recv` returned `None`).
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.io.is_done().then(|| self.io.close_info())
    }

    /// Ready when less than the high-water mark is queued; moves output meanwhile.
    pub(crate) fn poll_ready_to_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let _span = (!self.span.is_none()).then(|| self.span.enter());
        let mut progressed = false;
        loop {
            {
                let side = self.io.channel().shared.lock();
                if side.phase == Phase::Closed {
                    return Poll::Ready(Err(Error::ConnectionClosed));
                }
                if side.out.len() < side.high_water {
                    return Poll::Ready(Ok(()));
                }
            }
            if progressed {
                return Poll::Pending;
            }
            self.io.poll_progress(cx, false);
            progressed = true;
        }
    }

    pub(crate) fn queue(&mut self, message: Message) -> Result<()> {
        let mut guard = self.io.channel().shared.lock();
        let side = &mut *guard;
        match side.phase {
            Phase::Open => {}
            Phase::Connecting => return Err(Error::NotOpen),
            Phase::Closed => return Err(Error::ConnectionClosed),
        }
        let out = &mut side.out;
        let sent = match message {
            Message::Text(t) => side.sender.send_message(out, t.into_bytes(), false),
            Message::Binary(b) => side.sender.send_message(out, b, true),
            Message::Ping(p) => side.sender.send_ping(out, &p),
            Message::Pong(p) => side.sender.send_pong(out, &p),
        };
        Ok(sent?)
    }

    fn queue_close(&mut self, code: Option<u16>, reason: Option<&str>) -> Result<()> {
        let mut guard = self.io.channel().shared.lock();
        let side = &mut *guard;
        if side.phase != Phase::Open || side.sender.close_sent() {
            return Ok(()); // closing or closed already
        }
        Ok(side.sender.send_close(&mut side.out, code, reason)?)
    }

    /// Ready once everything queued is written (or the connection ended).
    pub(crate) fn poll_flushed(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let _span = (!self.span.is_none()).then(|| self.span.enter());
        self.io.poll_progress(cx, false);
        if self.io.is_done() {
            // What was not written yet is lost with the connection.
            Poll::Ready(Err(Error::ConnectionClosed))
        } else if self.io.is_flushed() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

/// Sets up both directions' permessage-deflate codecs of a new connection (`is_server`:
/// our role), when the handshake agreed compression.
#[cfg(feature = "deflate")]
pub(crate) fn install_deflate(
    params: &crate::websocket::deflate::PerMessageDeflateParams,
    is_server: bool,
    threshold: usize,
    receiver: &mut super::protocol::Receiver,
    channel: &WebSocketChannel,
) {
    use crate::websocket::deflate::PerMessageDeflate;
    receiver.set_deflate(PerMessageDeflate::new(is_server, *params));
    channel
        .shared
        .lock()
        .sender
        .set_deflate(PerMessageDeflate::new(is_server, *params), threshold);
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// `Sink::poll_close`: our close frame (1000), flushed.
    pub(crate) fn poll_sink_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.queue_close(Some(1000), None)?;
        match self.poll_flushed(cx) {
            // The peer answered our close already: closed is what was asked for.
            Poll::Ready(Err(Error::ConnectionClosed)) => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

impl<S> Drop for WebSocket<S> {
    /// Senders on [`WebSocket::channel`] clones fail from now on instead of queueing.
    fn drop(&mut self) {
        let channel = self.io.channel();
        let mut side = channel.shared.lock();
        side.phase = Phase::Closed;
        side.out = Default::default();
        drop(side);
        channel.shared.drained.notify_waiters();
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WebSocket<S> {
    type Item = Message;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_ready_to_send(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        self.get_mut().queue(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_flushed(cx)
    }

    /// Sends a close frame (1000) and flushes; the peer's answer ends the `Stream`.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_sink_close(cx)
    }
}
