//! Accepting one connection: TLS, the opening handshake (or a refusal, a status page, a
//! Flash policy), the `max_connections` slot, then the connection's handler loop or its
//! [`WebSocket`] for the caller.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tracing::Instrument;

use crate::websocket::builder::WebSocketBuilder;
use crate::websocket::channel::WebSocketChannel;
use crate::websocket::connection::WebSocket;
use crate::websocket::driver::{CloseInfo, Io};
use crate::websocket::error::{Error, Result};
use crate::websocket::handler::WebSocketServerHandler;
use crate::websocket::handler_loop;
use crate::websocket::handshake::server::{
    deny_response, flash_policy_response, status_page_response, ParsedRequest, PendingUpgrade,
    Refusal, RequestParser,
};
use crate::websocket::handshake::{HandshakeError, Negotiated};
use crate::websocket::peer::PeerAddr;
use crate::websocket::protocol::{Receiver, Sender};
use crate::websocket::span;
use crate::websocket::stream::MaybeTlsStream;
use crate::websocket::types::Headers;

use super::WebSocketServerFactory;

impl WebSocketServerFactory {
    /// Runs one accepted TCP connection to its end (TLS first, if configured).
    ///
    /// # Examples
    ///
    /// An accept loop of your own, e.g. to count or filter peers before the handshake:
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerFactory};
    /// use autobahn::websocket::WebSocketServerHandler;
    ///
    /// struct Quiet(WebSocketChannel);
    /// impl WebSocketHandler for Quiet {}
    /// impl WebSocketServerHandler for Quiet {}
    ///
    /// # async fn run() -> Result<(), autobahn::websocket::Error> {
    /// let factory = Arc::new(WebSocketServerFactory::new("ws://127.0.0.1:9000"));
    /// let listener = factory.listen("127.0.0.1:9000").await?;
    /// loop {
    ///     let (tcp, addr) = listener.accept().await?;
    ///     if !addr.ip().is_loopback() {
    ///         continue; // dropped before any handshake
    ///     }
    ///     let factory = factory.clone();
    ///     tokio::spawn(async move {
    ///         if let Ok(close) = factory.accept_tcp(tcp, addr, Quiet).await {
    ///             tracing::info!(%addr, ?close.code, "connection ended");
    ///         }
    ///     });
    /// }
    /// # }
    /// ```
    pub async fn accept_tcp<H, F>(
        &self,
        tcp: TcpStream,
        addr: SocketAddr,
        make: F,
    ) -> Result<CloseInfo>
    where
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let _ = tcp.set_nodelay(self.options.tcp_no_delay);
        let peer = PeerAddr::Tcp(addr);
        let span = span::connection_span("server", &peer, None);
        self.accept_tcp_in_span(tcp, peer, make)
            .instrument(span)
            .await
    }

    /// [`Self::accept_tcp`] in the connection's span.
    async fn accept_tcp_in_span<H, F>(
        &self,
        tcp: TcpStream,
        peer: PeerAddr,
        make: F,
    ) -> Result<CloseInfo>
    where
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let (stream, slot, deadline) = self.secure(tcp, &peer).await?;
        self.run_connection(stream, peer, make, slot, deadline)
            .await
    }

    /// [`Self::accept_tcp`] for the pull API (see [`Self::accept_stream_websocket`]).
    pub async fn accept_tcp_websocket<H, F>(
        &self,
        tcp: TcpStream,
        addr: SocketAddr,
        make: F,
    ) -> Result<Option<WebSocket<MaybeTlsStream>>>
    where
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let _ = tcp.set_nodelay(self.options.tcp_no_delay);
        let peer = PeerAddr::Tcp(addr);
        let span = span::connection_span("server", &peer, None);
        let opened = async {
            let (stream, slot, deadline) = self.secure(tcp, &peer).await?;
            self.handshake(stream, peer, make, slot, deadline).await
        }
        .instrument(span.clone())
        .await?;
        Ok(opened.map(|o| self.websocket_of(o, span)))
    }

    /// Takes a connection slot and starts the handshake deadline, then runs the TLS
    /// handshake if the factory has TLS.
    ///
    /// A TLS handshake in progress holds a connection slot, and the TLS and the HTTP
    /// handshakes share one `open_handshake_timeout`: a slow client gets one timeout, not
    /// two, and a flood of TLS handshakes counts against `max_connections`.
    async fn secure(
        &self,
        tcp: TcpStream,
        peer: &PeerAddr,
    ) -> Result<(MaybeTlsStream, ConnectionSlot, Option<Instant>)> {
        let slot = ConnectionSlot::take(&self.connections);
        let deadline = self.open_deadline();
        #[cfg(feature = "tls")]
        if let Some(acceptor) = &self.tls {
            let tls = within(deadline, acceptor.accept(tcp))
                .await
                .map_err(|_| Error::Timeout("TLS handshake"))?
                .map_err(|e| Error::tls_handshake(format!("handshake with {peer} failed"), e))?;
            tracing::debug!("TLS handshake done");
            return Ok((MaybeTlsStream::TlsServer(Box::new(tls)), slot, deadline));
        }
        let _ = peer;
        Ok((MaybeTlsStream::Tcp(tcp), slot, deadline))
    }

    /// When the opening handshake of a connection accepted now must be done.
    fn open_deadline(&self) -> Option<Instant> {
        self.options
            .open_handshake_timeout
            .map(|t| Instant::now() + t)
    }

    /// Runs one connection over any stream: opening handshake (bounded by
    /// `open_handshake_timeout`), then messages until the connection closes.
    ///
    /// `peer` names the client: a descriptor `tcp:ip:port` or `unix:path` (as
    /// [`PeerAddr`]'s `Display` writes it) gives the connection a typed
    /// [`PeerAddr`]; anything else becomes [`PeerAddr::Other`].
    ///
    /// # Examples
    ///
    /// Any byte stream will do; here one end of an in-memory pipe:
    ///
    /// ```
    /// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerFactory};
    /// use autobahn::websocket::WebSocketServerHandler;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// struct Silent(WebSocketChannel);
    /// impl WebSocketHandler for Silent {}
    /// impl WebSocketServerHandler for Silent {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (server_end, mut browser) = tokio::io::duplex(4096);
    /// let factory = WebSocketServerFactory::new("ws://localhost");
    /// tokio::spawn(async move { factory.accept_stream(server_end, "pipe".into(), Silent).await });
    ///
    /// // A plain HTTP GET gets the status page (`web_status`).
    /// browser.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
    /// let mut page = Vec::new();
    /// browser.read_to_end(&mut page).await?;
    /// assert!(page.starts_with(b"HTTP/1.1 200 OK"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept_stream<S, H, F>(
        &self,
        stream: S,
        peer: String,
        make: F,
    ) -> Result<CloseInfo>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        self.accept_stream_from(stream, PeerAddr::parse(&peer), make)
            .await
    }

    /// [`Self::accept_stream`] with the peer's address typed.
    pub(crate) async fn accept_stream_from<S, H, F>(
        &self,
        stream: S,
        peer: PeerAddr,
        make: F,
    ) -> Result<CloseInfo>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let slot = ConnectionSlot::take(&self.connections);
        let deadline = self.open_deadline();
        let span = span::connection_span("server", &peer, None);
        self.run_connection(stream, peer, make, slot, deadline)
            .instrument(span)
            .await
    }

    /// [`Self::accept_stream`] with its connection slot taken and its handshake deadline
    /// set (before TLS, for [`Self::accept_tcp`]).
    async fn run_connection<S, H, F>(
        &self,
        stream: S,
        peer: PeerAddr,
        make: F,
        slot: ConnectionSlot,
        deadline: Option<Instant>,
    ) -> Result<CloseInfo>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let Some(mut opened) = self.handshake(stream, peer, make, slot, deadline).await? else {
            return Ok(CloseInfo {
                was_clean: true,
                code: None,
                reason: None,
            });
        };
        let io = Io::new(
            opened.stream,
            opened.leftover,
            opened.channel,
            opened.receiver,
            self.driver_config(),
        );
        // The caller's span (the connection's) is entered around the whole loop.
        let ws = WebSocket::from_io(io, tracing::Span::none());
        Ok(handler_loop::run(ws, &mut opened.handler).await)
    }

    /// Accepts a connection for the pull API: the opening handshake over `stream` (the
    /// handler from `make` decides in `on_connect`, and is dropped then), and the
    /// connection as a [`WebSocket`]. `None` if the request was not a WebSocket upgrade
    /// and was answered (the status page). `peer` as for [`Self::accept_stream`].
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::{Message, WebSocketClientFactory, WebSocketServerFactory};
    /// use autobahn::websocket::{WebSocketHandler, WebSocketServerHandler};
    ///
    /// struct AcceptAll;
    /// impl WebSocketHandler for AcceptAll {}
    /// impl WebSocketServerHandler for AcceptAll {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    /// let factory = WebSocketServerFactory::new("ws://localhost");
    /// tokio::spawn(async move {
    ///     let accepted = factory.accept_stream_websocket(server_end, "pipe".into(), |_| AcceptAll);
    ///     if let Ok(Some(mut ws)) = accepted.await {
    ///         while let Some(message) = ws.recv().await {
    ///             let _ = ws.send(message).await; // echo
    ///         }
    ///     }
    /// });
    /// let client = WebSocketClientFactory::new("ws://localhost")?;
    /// let mut ws = client.connect_stream_websocket(client_end).await?;
    /// ws.send("ping?").await?;
    /// assert_eq!(ws.recv().await, Some(Message::from("ping?")));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept_stream_websocket<S, H, F>(
        &self,
        stream: S,
        peer: String,
        make: F,
    ) -> Result<Option<WebSocket<S>>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        self.accept_stream_websocket_from(stream, PeerAddr::parse(&peer), make)
            .await
    }

    /// [`Self::accept_stream_websocket`] with the peer's address typed.
    pub(crate) async fn accept_stream_websocket_from<S, H, F>(
        &self,
        stream: S,
        peer: PeerAddr,
        make: F,
    ) -> Result<Option<WebSocket<S>>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let slot = ConnectionSlot::take(&self.connections);
        let deadline = self.open_deadline();
        let span = span::connection_span("server", &peer, None);
        let opened = self
            .handshake(stream, peer, make, slot, deadline)
            .instrument(span.clone())
            .await?;
        Ok(opened.map(|o| self.websocket_of(o, span)))
    }

    /// A connection over a stream that another HTTP stack upgraded, after it answered
    /// the handshake with [`Self::server_handshake`] (check, `on_connect`, respond): the
    /// third way to get a [`WebSocket`], besides accepting a stream or a TCP connection.
    /// It counts against `max_connections` and the message budget like the others.
    /// `peer` as for [`Self::accept_stream`] (`format!("tcp:{addr}")` gives
    /// [`PeerAddr::Tcp`]). Without a factory: [`WebSocketBuilder`].
    ///
    /// # Examples
    ///
    /// With hyper (the test `ws_http_handshake` runs this): answer the request with
    /// `accepted.response()`, then, once hyper hands over the upgraded stream:
    ///
    /// ```ignore
    /// let negotiated = accepted.negotiated().clone();
    /// let on_upgrade = hyper::upgrade::on(&mut request);
    /// tokio::spawn(async move {
    ///     let stream = hyper_util::rt::TokioIo::new(on_upgrade.await?);
    ///     let mut ws = factory.upgraded_websocket(stream, &negotiated, format!("tcp:{peer}"));
    ///     while let Some(message) = ws.recv().await { /* ... */ }
    ///     Ok::<_, hyper::Error>(())
    /// });
    /// ```
    pub fn upgraded_websocket<S>(
        &self,
        stream: S,
        negotiated: &Negotiated,
        peer: String,
    ) -> WebSocket<S>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.upgraded_websocket_from(stream, negotiated, PeerAddr::parse(&peer))
    }

    /// [`Self::upgraded_websocket`] with the peer's address typed.
    pub(crate) fn upgraded_websocket_from<S>(
        &self,
        stream: S,
        negotiated: &Negotiated,
        peer: PeerAddr,
    ) -> WebSocket<S>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let slot = ConnectionSlot::take(&self.connections);
        WebSocketBuilder::server(&self.options)
            .driver_config(self.driver_config())
            .negotiated(negotiated.clone())
            .peer_addr(peer)
            .build(stream)
            .holding(slot)
    }

    /// The handshake done, the connection as a value (holding its connection slot).
    fn websocket_of<S, H>(&self, opened: Opened<S, H>, span: tracing::Span) -> WebSocket<S>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let io = span.in_scope(|| {
            Io::new(
                opened.stream,
                opened.leftover,
                opened.channel,
                opened.receiver,
                self.driver_config(),
            )
        });
        WebSocket::from_io(io, span)
            .holding(opened.slot)
            .speaking(opened.subprotocol)
    }

    /// The connection limit, then the opening handshake within `deadline`; `None` if the
    /// request was answered without an upgrade (status page, policy file).
    async fn handshake<S, H, F>(
        &self,
        mut stream: S,
        peer: PeerAddr,
        make: F,
        slot: ConnectionSlot,
        deadline: Option<Instant>,
    ) -> Result<Option<Opened<S, H>>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let max = self.options.max_connections;
        if max != 0 && slot.count > max {
            // Only the bytes live across the writes: this state can be the largest of the
            // connection task's future, whose size is idle memory per connection.
            let answer = Refusal::too_many_connections().to_bytes();
            let _ = stream.write_all(&answer).await;
            let _ = stream.shutdown().await;
            return Err(Error::Handshake {
                peer: peer.to_string(),
                source: Refusal::too_many_connections().into_error(),
            });
        }
        let sender = Sender::new(self.options.protocol_config());
        let channel = WebSocketChannel::new(sender, peer);
        let mut handler = make(channel.clone());
        let opened = within(deadline, self.open(&mut stream, &channel, &mut handler))
            .await
            .map_err(|_| Error::Timeout("opening handshake"))?;
        match opened {
            Ok(Some((leftover, receiver, subprotocol))) => Ok(Some(Opened {
                stream,
                leftover,
                channel,
                receiver,
                handler,
                slot,
                subprotocol,
            })),
            Ok(None) => {
                // Status page or Flash policy served.
                let _ = stream.shutdown().await;
                Ok(None)
            }
            Err(e) => {
                let _ = stream.shutdown().await;
                discard_input(&mut stream).await;
                Err(e)
            }
        }
    }

    /// The opening handshake: the bytes read past it, the receiver and the subprotocol
    /// agreed on; `Ok(None)` if the request was not a WebSocket upgrade and was answered
    /// (status page, policy file).
    async fn open<S, H>(
        &self,
        stream: &mut S,
        channel: &WebSocketChannel,
        handler: &mut H,
    ) -> Result<Option<(BytesMut, Receiver, Option<String>)>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
    {
        let peer = channel.peer();
        let failed = |source| Error::Handshake {
            peer: peer.to_owned(),
            source,
        };
        let handshake = self.server_handshake();
        let config = &handshake.config;
        let mut parser = RequestParser::new(peer, config);
        let mut buf = BytesMut::with_capacity(1024);
        let parsed = loop {
            match parser.parse(&buf, config) {
                Ok(Some(p)) => break p,
                Ok(None) => {}
                Err(e) => return Err(failed(refuse(stream, handshake.refuse(e)).await)),
            }
            if buf.len() > config.max_header_bytes {
                return Err(failed(HandshakeError::HeadTooLarge {
                    limit: config.max_header_bytes,
                }));
            }
            // A TLS ClientHello (record type 22) never ends an HTTP head: answer now rather
            // than at the open-handshake timeout, so that a wss:// client fails fast.
            if buf.first() == Some(&0x16) {
                let why = "TLS handshake sent to a WebSocket server without TLS; use ws://";
                let _ = stream
                    .write_all(&deny_response(400, Some(why), &Headers::new()))
                    .await;
                return Err(failed(HandshakeError::Rejected(why.into())));
            }
            buf.reserve(1024);
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(failed(HandshakeError::ConnectionClosed));
            }
        };
        let upgrade = match parsed {
            ParsedRequest::Upgrade(mut u) => {
                span::record_path(&tracing::Span::current(), &u.request.path);
                // The exact address (the parser read it back from the descriptor).
                u.request.peer_addr = channel.peer_addr().clone();
                *u
            }
            ParsedRequest::StatusPage { .. } => {
                let page = status_page_response(handshake.server.as_deref(), &config.versions);
                stream.write_all(&page).await?;
                return Ok(None);
            }
            ParsedRequest::FlashPolicy { .. } => {
                // The configured policy is complete and served as is, like Autobahn's;
                // the port argument only fills in a missing policy.
                let policy = flash_policy_response(Some(&self.options.flash_socket_policy), 0);
                stream.write_all(&policy).await?;
                return Ok(None);
            }
        };
        let consumed = upgrade.consumed;
        let pending = match handshake.negotiate(upgrade) {
            Ok(p) => p,
            Err(refusal) => return Err(failed(refuse(stream, refusal).await)),
        };
        let mut receiver = Receiver::new(self.options.protocol_config());
        self.set_deflate(&pending, &mut receiver, channel);
        let decision = handler.on_connect(pending.request()).await;
        let accepted = match handshake.respond(pending, decision) {
            Ok(a) => a,
            Err(refusal) => return Err(failed(refuse(stream, refusal).await)),
        };
        let answer = accepted.to_bytes();
        let negotiated = accepted.into_negotiated();
        stream.write_all(&answer).await?;
        span::record_negotiated(
            &tracing::Span::current(),
            negotiated.subprotocol.as_deref(),
            &negotiated.extensions,
        );
        tracing::debug!("WebSocket opening handshake done");
        let _ = buf.split_to(consumed);
        Ok(Some((buf, receiver, negotiated.subprotocol)))
    }

    /// Sets up both directions' permessage-deflate codecs, if compression was agreed.
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    fn set_deflate(
        &self,
        pending: &PendingUpgrade,
        receiver: &mut Receiver,
        channel: &WebSocketChannel,
    ) {
        #[cfg(feature = "deflate")]
        if let Some(params) = pending.deflate() {
            let threshold = self.options.per_message_compression_threshold;
            crate::websocket::connection::install_deflate(
                params, true, threshold, receiver, channel,
            );
        }
    }
}

/// Writes a refusal's answer (best effort: the handshake failed either way) and gives
/// its reason.
async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, refusal: Refusal) -> HandshakeError {
    let _ = stream.write_all(&refusal.to_bytes()).await;
    refusal.into_error()
}

/// Counts a connection for `max_connections` while it lives.
/// After refusing a request: at most this long and this many bytes of the client's
/// unread input are read and discarded before the socket closes.
const REFUSAL_LINGER: std::time::Duration = std::time::Duration::from_secs(1);
const REFUSAL_LINGER_BYTES: usize = 256 * 1024;

/// Reads and discards what the client still sends (the rest of an oversized head, a
/// body) until it closes, for a bounded time and amount. Closing a socket with unread
/// input makes the kernel send RST, which can destroy our error response in the
/// client's receive buffer before it reads it.
async fn discard_input<S: AsyncRead + Unpin>(stream: &mut S) {
    let drain = async {
        // On the heap: an array here would enlarge every connection task's future.
        let mut scratch = vec![0u8; 8192];
        let mut total = 0;
        while total < REFUSAL_LINGER_BYTES {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(REFUSAL_LINGER, drain).await;
}

/// How long the accept loops pause after an error that is not about one connection.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// An accept error never ends a server. One connection's failure (reset or aborted
/// before we took it) is skipped; anything else, out of file descriptors above all, is
/// logged and waited out briefly: retrying at once would spin a core and flood the log
/// until a descriptor is free.
pub(super) async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    if matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted) {
        tracing::debug!("accept: {e}");
        return;
    }
    tracing::warn!("accept failed: {e}; pausing {ACCEPT_BACKOFF:?}");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// Runs `fut` until `deadline` (without one, for 30 years: one code path keeps each
/// connection task's future small); `Err` if the deadline passed.
fn within<F: std::future::Future>(deadline: Option<Instant>, fut: F) -> tokio::time::Timeout<F> {
    let deadline = deadline
        .unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(30 * 365 * 86_400));
    tokio::time::timeout_at(deadline, fut)
}

/// An accepted connection whose opening handshake is done.
struct Opened<S, H> {
    stream: S,
    leftover: BytesMut,
    channel: WebSocketChannel,
    receiver: Receiver,
    handler: H,
    slot: ConnectionSlot,
    subprotocol: Option<String>,
}

/// One place under `max_connections`, given back when dropped.
pub(crate) struct ConnectionSlot {
    counter: Arc<AtomicUsize>,
    count: usize,
}

impl ConnectionSlot {
    fn take(counter: &Arc<AtomicUsize>) -> Self {
        let count = counter.fetch_add(1, Ordering::AcqRel) + 1;
        Self {
            counter: counter.clone(),
            count,
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::AcqRel);
    }
}
