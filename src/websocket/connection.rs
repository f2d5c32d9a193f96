//! The pull API: a connection as a value, with `recv`/`send`/`close` and the
//! `Stream`/`Sink` traits, over any stream.
//!
//! It drives the same connection state as the callback API (`driver::Io`: timers,
//! auto-ping, limits, permessage-deflate, the closing handshake); only who asks for the
//! next event differs. As with every pull API, the connection makes progress while it is
//! polled: keep a `recv` (or a `Stream` consumer) running, or pings go unanswered.

use std::future::poll_fn;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite};

use super::channel::{Phase, WebSocketChannel};
use super::driver::{CloseInfo, Io};
use super::error::{Error, Result};
use super::message::{Message, Utf8Bytes};
use super::message_reader::{MessageReader, Source};
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
    /// Where the streamed message being received stands (streaming mode).
    pub(crate) incoming: Incoming,
    /// The subprotocol the opening handshake agreed on.
    subprotocol: Option<String>,
    /// The connection's span: entered whenever the connection is polled.
    pub(crate) span: tracing::Span,
    /// The receiver validates text as it arrives (`utf8_validate_incoming`), so received
    /// text is not validated again. Taken when the connection opens: the receiver that
    /// replaces a failed one later has default settings.
    text_validated: bool,
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
            text_validated: io.validates_utf8(),
            io,
            control: false,
            incoming: Incoming::Idle,
            subprotocol: None,
            span,
            _slot: None,
        }
    }

    /// Records the subprotocol the opening handshake agreed on.
    pub(crate) fn speaking(mut self, subprotocol: Option<String>) -> Self {
        self.subprotocol = subprotocol;
        self
    }

    /// The subprotocol the opening handshake agreed on (`Sec-WebSocket-Protocol`), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let factory = WebSocketServerFactory::new("ws://127.0.0.1").protocols(["chat.v2"]);
    /// let listener = factory.listen("127.0.0.1:0").await?;
    /// let url = format!("ws://{}", listener.local_addr()?);
    /// let _server = factory.start_websocket(listener, |mut ws| async move {
    ///     let _ = ws.send(format!("{:?}", ws.subprotocol())).await;
    /// });
    /// let factory = WebSocketClientFactory::new(&url)?.protocols(["chat.v1", "chat.v2"]);
    /// let mut ws = factory.connect_websocket().await?;
    /// assert_eq!(ws.subprotocol(), Some("chat.v2"));
    /// assert_eq!(ws.recv().await.as_ref().and_then(|m| m.as_text()), Some("Some(\"chat.v2\")"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
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

    /// Streaming mode: messages that begin from now on are handed over as they arrive,
    /// so that one of any size passes through bounded memory. Read them with
    /// [`Self::recv_streaming`], piece by piece or as an `AsyncRead`; [`Self::recv`] (and
    /// the `Stream`) still work, reassembling each message. Off by default. Set it before
    /// the first `recv` for it to apply to the first message.
    ///
    /// Raise `max_message_payload_size` (and `max_frame_payload_size`) in the options, or
    /// set them to 0 for no limit, to take messages larger than their defaults. A message
    /// in progress has `message_timeout` from its last progress, not from its start.
    ///
    /// Autobahn|Python streams when a protocol overrides `onMessageBegin` and friends;
    /// this is the pull API's switch (the callback API's is
    /// [`WebSocketHandler::delivery`](super::WebSocketHandler::delivery)).
    pub fn receive_streaming(&mut self, on: bool) {
        self.io.set_streaming(on);
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
                None => {
                    self.incoming = Incoming::Idle;
                    return Poll::Ready(None);
                }
                Some(Event::Message { payload, is_binary }) => {
                    received(payload, is_binary, self.text_validated)
                }
                Some(Event::Ping(p)) if self.control => Message::Ping(p),
                Some(Event::Pong(p)) if self.control => Message::Pong(p),
                Some(event) => match self.incoming.reassemble(event, self.text_validated) {
                    Some(message) => message,
                    None => continue,
                },
            };
            return Poll::Ready(Some(message));
        }
    }

    /// The next message as it arrives, to read piece by piece
    /// ([`MessageReader::chunk`]) or as an `AsyncRead`; `None` once the connection has
    /// closed. Without [`Self::receive_streaming`] (or for a message received before it
    /// was set), the whole message is its one piece.
    ///
    /// Dropping the reader before the message's end skips the rest of it. Cancel safe.
    ///
    /// # Examples
    ///
    /// A server that answers the length of each message, however large, without holding
    /// it:
    ///
    /// ```
    /// use autobahn::websocket::{Message, WebSocketClientFactory, WebSocketServerFactory};
    /// use autobahn::websocket::options::ServerOptions;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = ServerOptions {
    ///     max_message_payload_size: 0, // no limit: nothing is held
    ///     max_frame_payload_size: 0,
    ///     ..ServerOptions::default()
    /// };
    /// let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
    /// let listener = factory.listen("127.0.0.1:0").await?;
    /// let url = format!("ws://{}", listener.local_addr()?);
    /// let _server = factory.start_websocket(listener, |mut ws| async move {
    ///     ws.receive_streaming(true);
    ///     // (`while let` would keep the reader's borrow through the loop's body.)
    ///     loop {
    ///         let Some(mut message) = ws.recv_streaming().await else {
    ///             break;
    ///         };
    ///         let mut len = 0;
    ///         while let Ok(Some(piece)) = message.chunk().await {
    ///             len += piece.len();
    ///         }
    ///         drop(message);
    ///         let _ = ws.send(len.to_string()).await;
    ///     }
    /// });
    ///
    /// let mut ws = WebSocketClientFactory::new(&url)?.connect_websocket().await?;
    /// ws.send(vec![7u8; 100_000]).await?;
    /// assert_eq!(ws.recv().await, Some(Message::from("100000")));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv_streaming(&mut self) -> Option<MessageReader<'_, S>> {
        let start = poll_fn(|cx| self.poll_message_start(cx)).await?;
        Some(MessageReader::new(Source::Whole(self), start))
    }

    /// The start of the next message for [`Self::recv_streaming`]: whether it is binary,
    /// and the pieces already received.
    pub(crate) fn poll_message_start(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<MessageStart>> {
        let _span = (!self.span.is_none()).then(|| self.span.enter());
        if let Incoming::Assembling { is_binary, pieces } = &mut self.incoming {
            // A `recv` was cancelled in the middle of this message: go on from there.
            let start = MessageStart {
                is_binary: *is_binary,
                pieces: mem::take(pieces),
                complete: false,
            };
            self.incoming = Incoming::Reading;
            return Poll::Ready(Some(start));
        }
        loop {
            match ready!(self.io.poll_next(cx)) {
                None => {
                    self.incoming = Incoming::Idle;
                    return Poll::Ready(None);
                }
                Some(Event::Message { payload, is_binary }) => {
                    tracing::trace!(len = payload.len(), is_binary, "message received");
                    let start = MessageStart {
                        is_binary,
                        pieces: vec![payload],
                        complete: true,
                    };
                    return Poll::Ready(Some(start));
                }
                Some(Event::FrameBegin {
                    first: true,
                    is_binary,
                    ..
                }) if self.incoming.is_idle() => {
                    self.incoming = Incoming::Reading;
                    let start = MessageStart {
                        is_binary,
                        pieces: Vec::new(),
                        complete: false,
                    };
                    return Poll::Ready(Some(start));
                }
                Some(event) => {
                    // The rest of a message whose reader was dropped.
                    self.incoming.skip(&event);
                }
            }
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

/// A received message as a [`Message`], logged. `validated`: the payload is a whole
/// message the receiver validated as it arrived
/// ([`Receiver::validates_utf8`](super::protocol::Receiver::validates_utf8)).
pub(crate) fn received(payload: Bytes, is_binary: bool, validated: bool) -> Message {
    // As the callback API logs it, in the connection's span.
    tracing::trace!(len = payload.len(), is_binary, "message received");
    as_message(payload, is_binary, validated)
}

/// A received message's payload as a [`Message`] (`validated` as for [`received`]).
pub(crate) fn as_message(payload: Bytes, is_binary: bool, validated: bool) -> Message {
    match (is_binary, validated) {
        (true, _) => Message::Binary(payload),
        // SAFETY: the receiver validates every text message it hands out when
        // `validates_utf8` is on: whole (`Event::Message`) or, streamed, the pieces from
        // the first frame's `FrameBegin` to the `FrameEnd` that ends it (which it checks
        // ends on a character boundary). Our callers pass `validated` only for those.
        (false, true) => Message::Text(unsafe { Utf8Bytes::from_validated_unchecked(payload) }),
        (false, false) => Message::Text(Utf8Bytes::from_received(payload)),
    }
}

/// How [`WebSocket::recv_streaming`] found the next message.
pub(crate) struct MessageStart {
    pub is_binary: bool,
    /// Pieces received already.
    pub pieces: Vec<Bytes>,
    /// The pieces are the whole message.
    pub complete: bool,
}

/// Where the streamed message being received stands.
#[derive(Debug, Default)]
pub(crate) enum Incoming {
    /// Between messages.
    #[default]
    Idle,
    /// `recv` collects its pieces (kept here, so a cancelled `recv` loses nothing).
    Assembling { is_binary: bool, pieces: Vec<Bytes> },
    /// A [`MessageReader`] hands its pieces out.
    Reading,
    /// Its reader was dropped before its end: the rest is skipped.
    Skipping,
}

impl Incoming {
    fn is_idle(&self) -> bool {
        matches!(self, Incoming::Idle)
    }

    /// Takes one streaming event for `recv`; the message once it is complete.
    /// `validated`: the receiver validates text (see [`received`]).
    fn reassemble(&mut self, event: Event, validated: bool) -> Option<Message> {
        match (&mut *self, event) {
            (
                Incoming::Idle,
                Event::FrameBegin {
                    first: true,
                    is_binary,
                    ..
                },
            ) => {
                *self = Incoming::Assembling {
                    is_binary,
                    pieces: Vec::new(),
                };
                None
            }
            (Incoming::Assembling { pieces, .. }, Event::FrameData(piece)) => {
                pieces.push(piece);
                None
            }
            (Incoming::Assembling { .. }, Event::FrameEnd { last: true }) => {
                let Incoming::Assembling { is_binary, pieces } = mem::take(self) else {
                    return None;
                };
                // All of the message's pieces, from its first frame on.
                Some(received(concat(pieces), is_binary, validated))
            }
            (_, event) => {
                self.skip(&event);
                None
            }
        }
    }

    /// Skipping a message's rest ends with it.
    pub(crate) fn skip(&mut self, event: &Event) {
        if matches!(self, Incoming::Skipping) && matches!(event, Event::FrameEnd { last: true }) {
            *self = Incoming::Idle;
        }
    }
}

/// The pieces of a message as one payload (no copy if there is only one).
pub(crate) fn concat(mut pieces: Vec<Bytes>) -> Bytes {
    match pieces.len() {
        0 => Bytes::new(),
        1 => pieces.pop().unwrap_or_default(),
        _ => {
            let mut whole = BytesMut::with_capacity(pieces.iter().map(Bytes::len).sum());
            for piece in pieces {
                whole.extend_from_slice(&piece);
            }
            whole.freeze()
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
