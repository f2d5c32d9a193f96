//! WAMP over WebSocket (Autobahn's `WampWebSocketClientProtocol`): a [`Transport`] on
//! top of our own WebSocket client.
//!
//! The client announces the WAMP subprotocols (`wamp.2.cbor`, `wamp.2.msgpack`,
//! `wamp.2.json` by default, in that order of preference, as Autobahn does) and the
//! router picks one; that choice fixes the serializer. Each WebSocket message carries
//! one WAMP message (several in the `.batched` modes): binary messages for CBOR and
//! MessagePack, text messages for JSON. A message in the wrong frame type, or bytes
//! that do not decode, fail the connection: close 1002 (1009 for a message over
//! `max_decoded_size`), then TCP is dropped without waiting for the router's close.
//!
//! Incoming messages are decoded by the connection's handler, inside the connection
//! task, and handed to [`WebSocketTransport::recv`] through a queue bounded in
//! messages ([`WebSocketTransportConfig::queue_size`]) and in decoded bytes
//! ([`WebSocketTransportConfig::max_queued_bytes`]). When the application does not
//! read, the queue fills, the handler waits, the connection task buffers at most the
//! client's `max_queued_bytes` of WebSocket messages and then stops reading from the
//! socket: TCP pushes back on the router.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::error::SerializationError;
use super::message::Message;
use super::serializer::{for_subprotocol, Serializer, DEFAULT_MAX_DECODED_SIZE};
use super::transport::{
    HeldBytes, QueuedBytes, Transport, TransportError, DEFAULT_MAX_QUEUED_BYTES,
};
use crate::websocket::client::WebSocketClientFactory;
use crate::websocket::error::Chain;
use crate::websocket::types::ConnectionResponse;
use crate::websocket::{
    CloseInfo, Error as WsError, WebSocketChannel, WebSocketClientHandler, WebSocketHandler,
};

/// The subprotocols announced when none are configured, most preferred first
/// (Autobahn's default order: CBOR, MessagePack, JSON).
pub const DEFAULT_SUBPROTOCOLS: [&str; 3] = ["wamp.2.cbor", "wamp.2.msgpack", "wamp.2.json"];

/// Default capacity of the queue of received messages not yet taken by `recv`.
pub const DEFAULT_QUEUE_SIZE: usize = 64;

/// WebSocket close code for a normal closure.
const CLOSE_NORMAL: u16 = 1000;

/// Settings of a [`WebSocketTransport`] beyond those of the WebSocket client.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::websocket_transport::{WebSocketTransportConfig, DEFAULT_SUBPROTOCOLS};
///
/// assert_eq!(WebSocketTransportConfig::default().effective_subprotocols(), DEFAULT_SUBPROTOCOLS);
/// let config = WebSocketTransportConfig {
///     max_decoded_size: 8 << 20,
///     ..WebSocketTransportConfig::with_subprotocols(["wamp.2.msgpack.batched", "wamp.2.json"])
/// };
/// assert_eq!(config.effective_subprotocols()[0], "wamp.2.msgpack.batched");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketTransportConfig {
    /// WAMP subprotocols to announce, most preferred first (`wamp.2.json`,
    /// `wamp.2.msgpack.batched`, ...). Empty means [`DEFAULT_SUBPROTOCOLS`].
    pub subprotocols: Vec<String>,
    /// How many received messages may wait for `recv` before the connection stops
    /// reading from the socket (at least 1).
    pub queue_size: usize,
    /// The most memory one received WebSocket message may take once decoded
    /// (default [`DEFAULT_MAX_DECODED_SIZE`], 64 MiB); a message past it fails the
    /// connection with [`SerializationError::TooLarge`]
    /// as the reason. Not in Autobahn|Python: it bounds what dense shapes (lists of
    /// tiny dicts decode to 200× their wire size) can make a hostile router cost,
    /// next to the WebSocket `max_message_payload_size`, which bounds the wire size.
    pub max_decoded_size: usize,
    /// Bytes (decoded) of received messages that may wait for `recv` before the
    /// connection stops taking messages from the WebSocket layer, `0` for no bound in
    /// bytes (default [`DEFAULT_MAX_QUEUED_BYTES`], 4 MiB). One message may overshoot
    /// it. Behind it, the WebSocket client's own
    /// [`max_queued_bytes`](crate::websocket::options::ClientOptions::max_queued_bytes) bounds
    /// the undecoded messages, so a router that floods a session that does not read
    /// makes it hold at most both bounds plus one message. Autobahn|Python reads as
    /// fast as the router sends and queues without bound.
    pub max_queued_bytes: usize,
}

impl Default for WebSocketTransportConfig {
    fn default() -> Self {
        Self {
            subprotocols: Vec::new(),
            queue_size: DEFAULT_QUEUE_SIZE,
            max_decoded_size: DEFAULT_MAX_DECODED_SIZE,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
        }
    }
}

impl WebSocketTransportConfig {
    /// A configuration announcing exactly `subprotocols`, in this order.
    pub fn with_subprotocols<I: IntoIterator<Item = S>, S: Into<String>>(subprotocols: I) -> Self {
        Self {
            subprotocols: subprotocols.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// The subprotocols to announce: the configured ones, or the defaults.
    pub fn effective_subprotocols(&self) -> Vec<String> {
        if self.subprotocols.is_empty() {
            DEFAULT_SUBPROTOCOLS.iter().map(|s| s.to_string()).collect()
        } else {
            self.subprotocols.clone()
        }
    }
}

/// Why a [`WebSocketTransport`] could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebSocketConnectError {
    /// The WebSocket connection or its opening handshake failed (including HTTP
    /// refusals, TLS, proxy and timeouts).
    #[error(transparent)]
    WebSocket(#[from] WsError),
    /// A configured subprotocol is not a WAMP subprotocol we can serialize.
    #[error("unsupported WAMP subprotocol {0:?}")]
    UnsupportedSubprotocol(String),
    /// The server accepted the connection without selecting a WAMP subprotocol.
    #[error("the server did not select any WAMP subprotocol")]
    NoSubprotocol,
    /// The server selected a subprotocol we did not offer.
    #[error("the server selected subprotocol {0:?}, which was not offered")]
    UnexpectedSubprotocol(String),
}

impl From<WebSocketConnectError> for TransportError {
    fn from(e: WebSocketConnectError) -> Self {
        TransportError::Connect(Box::new(e))
    }
}

/// What the connection task hands to `recv`: a message with its charge to the
/// receive budget.
type Item = Result<(Message, HeldBytes), TransportError>;

/// The WebSocket handler of a WAMP connection: decodes messages and queues them.
struct WampHandler {
    channel: WebSocketChannel,
    serializer: Option<Arc<dyn Serializer>>,
    /// Bound on what one received message may cost decoded.
    max_decoded_size: usize,
    /// `None` once the transport has been told that it ended.
    tx: Option<mpsc::Sender<Item>>,
    /// Bytes of the messages in `tx` not yet taken by the session.
    queued: QueuedBytes,
}

/// WebSocket close code for a message that is not valid WAMP (Autobahn's `_bailout`).
const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// WebSocket close code for a message over `max_decoded_size`.
const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;

impl WampHandler {
    /// Reports a fatal error to `recv` (once) and fails the connection: a close frame
    /// with `code` and the error as reason, then TCP is dropped (as the WebSocket layer
    /// fails a connection; Autobahn|Python with `failByDrop` drops TCP without it).
    async fn fail(&mut self, code: u16, err: TransportError) {
        tracing::debug!(peer = %self.channel.peer(), "wamp/websocket: failing connection: {err}");
        self.channel
            .fail_connection(code, &format!("WAMP protocol error ({err})"));
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Err(err)).await;
        }
    }
}

impl WebSocketHandler for WampHandler {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let Some(tx) = &self.tx else {
            return;
        };
        let Some(serializer) = &self.serializer else {
            return self
                .fail(
                    CLOSE_PROTOCOL_ERROR,
                    TransportError::Protocol("no serializer negotiated".into()),
                )
                .await;
        };
        match serializer.unserialize_limited(&payload, is_binary, self.max_decoded_size) {
            Ok(messages) => {
                drop(payload);
                for msg in messages {
                    // Past the budget the handler waits, so the connection stops
                    // reading once its own read-ahead bound is reached.
                    self.queued.below_limit().await;
                    let held = self.queued.charge(msg.memory_size());
                    if tx.send(Ok((msg, held))).await.is_err() {
                        // The transport was dropped or closed: nobody reads any more.
                        self.tx = None;
                        return;
                    }
                }
            }
            Err(e) => {
                let code = match e {
                    SerializationError::TooLarge { .. } => CLOSE_MESSAGE_TOO_BIG,
                    _ => CLOSE_PROTOCOL_ERROR,
                };
                self.fail(code, TransportError::Protocol(e.to_string()))
                    .await
            }
        }
    }

    async fn on_close(&mut self, was_clean: bool, code: Option<u16>, reason: Option<String>) {
        tracing::debug!(
            peer = %self.channel.peer(),
            was_clean,
            ?code,
            ?reason,
            "wamp/websocket: connection closed"
        );
        // Dropping the sender is what makes `recv` return `None`: the handler itself
        // lives on in the connection task's result.
        if let Some(tx) = self.tx.take() {
            if !was_clean {
                let why = reason.unwrap_or_else(|| {
                    format!(
                        "connection closed uncleanly (code {})",
                        code.unwrap_or(1006)
                    )
                });
                let _ = tx.send(Err(TransportError::Lost(why))).await;
            }
        }
    }
}

impl WebSocketClientHandler for WampHandler {
    async fn on_connect(&mut self, response: &ConnectionResponse) {
        self.serializer = response
            .protocol
            .as_deref()
            .and_then(for_subprotocol)
            .map(Arc::from);
    }
}

/// A WAMP transport over a WebSocket connection (Autobahn's
/// `WampWebSocketClientProtocol` as an `ITransport`).
///
/// Dropping it drops the connection without a closing handshake; call
/// [`Transport::close`] for a clean close (WebSocket close code 1000).
///
/// # Examples
///
/// ```no_run
/// use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
/// use autobahn::wamp::transport::Transport;
/// use autobahn::websocket::WebSocketClientFactory;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // JSON only; the factory carries TLS, proxy and WebSocket options.
/// let config = WebSocketTransportConfig::with_subprotocols(["wamp.2.json"]);
/// let factory = WebSocketClientFactory::new("ws://127.0.0.1:8080/ws")?;
/// let transport = WebSocketTransport::connect_with_factory(factory, &config).await?;
/// assert_eq!(transport.subprotocol(), "wamp.2.json");
/// assert_eq!(transport.serializer_id(), "json");
/// # Ok(())
/// # }
/// ```
pub struct WebSocketTransport {
    channel: WebSocketChannel,
    serializer: Arc<dyn Serializer>,
    rx: mpsc::Receiver<Item>,
    /// What the messages in `rx` hold.
    queued: QueuedBytes,
    task: Option<JoinHandle<(WampHandler, CloseInfo)>>,
    /// `recv` returned `None` or an error, or we closed/aborted: no more messages.
    done: bool,
    subprotocol: String,
    peer: String,
    /// RFC 9266 `tls-exporter` channel binding, over TLS.
    tls_exporter: Option<Vec<u8>>,
}

impl std::fmt::Debug for WebSocketTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketTransport")
            .field("peer", &self.peer)
            .field("subprotocol", &self.subprotocol)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl WebSocketTransport {
    /// Connects to `url` (`ws://…` or `wss://…`, the platform's roots for TLS) with the
    /// default WebSocket options, announcing `config`'s subprotocols.
    pub async fn connect(
        url: &str,
        config: &WebSocketTransportConfig,
    ) -> Result<Self, WebSocketConnectError> {
        Self::connect_with_factory(WebSocketClientFactory::new(url)?, config).await
    }

    /// Connects with an already configured client factory (TLS, proxy, headers,
    /// protocol options). The factory's subprotocols are replaced by `config`'s.
    pub async fn connect_with_factory(
        factory: WebSocketClientFactory,
        config: &WebSocketTransportConfig,
    ) -> Result<Self, WebSocketConnectError> {
        let (factory, offered) = prepare(factory, config)?;
        let (tx, rx) = mpsc::channel(config.queue_size.max(1));
        let queued = QueuedBytes::new(config.max_queued_bytes);
        let conn = factory
            .connect(|channel| new_handler(channel, tx, queued.clone(), config.max_decoded_size))
            .await?;
        let tls_exporter = conn.stream().tls_exporter();
        let mut t = Self::start(conn, rx, queued, &offered)?;
        t.tls_exporter = tls_exporter;
        Ok(t)
    }

    /// Like [`Self::connect_with_factory`], over the Unix domain socket at `path`
    /// (the factory's URL still gives the `Host` and resource).
    #[cfg(unix)]
    pub async fn connect_unix_with_factory(
        factory: WebSocketClientFactory,
        path: impl AsRef<std::path::Path>,
        config: &WebSocketTransportConfig,
    ) -> Result<Self, WebSocketConnectError> {
        let (factory, offered) = prepare(factory, config)?;
        let (tx, rx) = mpsc::channel(config.queue_size.max(1));
        let queued = QueuedBytes::new(config.max_queued_bytes);
        let conn = factory
            .connect_unix(path, |channel| {
                new_handler(channel, tx, queued.clone(), config.max_decoded_size)
            })
            .await?;
        Self::start(conn, rx, queued, &offered)
    }

    /// Checks the negotiated subprotocol and starts the connection task.
    fn start<S>(
        mut conn: crate::websocket::WebSocketConnection<S, WampHandler>,
        rx: mpsc::Receiver<Item>,
        queued: QueuedBytes,
        offered: &[String],
    ) -> Result<Self, WebSocketConnectError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let peer = conn.response().peer.clone();
        let Some(subprotocol) = conn.response().protocol.clone() else {
            return Err(WebSocketConnectError::NoSubprotocol);
        };
        if !offered.contains(&subprotocol) {
            return Err(WebSocketConnectError::UnexpectedSubprotocol(subprotocol));
        }
        // `on_connect` chose the handler's serializer from the same response.
        let Some(serializer) = conn.handler().serializer.clone() else {
            return Err(WebSocketConnectError::UnsupportedSubprotocol(subprotocol));
        };
        let channel = conn.channel().clone();
        tracing::debug!(%peer, %subprotocol, "wamp/websocket: connected");
        Ok(Self {
            channel,
            serializer,
            rx,
            queued,
            task: Some(conn.spawn()),
            done: false,
            subprotocol,
            peer,
            tls_exporter: None,
        })
    }

    /// The negotiated subprotocol (e.g. `wamp.2.cbor`).
    pub fn subprotocol(&self) -> &str {
        &self.subprotocol
    }

    /// The WebSocket channel underneath (to send pings, for instance).
    pub fn channel(&self) -> &WebSocketChannel {
        &self.channel
    }
}

/// Validates the configured subprotocols and puts them on the factory.
fn prepare(
    factory: WebSocketClientFactory,
    config: &WebSocketTransportConfig,
) -> Result<(WebSocketClientFactory, Vec<String>), WebSocketConnectError> {
    let offered = config.effective_subprotocols();
    if let Some(bad) = offered.iter().find(|p| for_subprotocol(p).is_none()) {
        return Err(WebSocketConnectError::UnsupportedSubprotocol(bad.clone()));
    }
    Ok((factory.protocols(offered.clone()), offered))
}

fn new_handler(
    channel: WebSocketChannel,
    tx: mpsc::Sender<Item>,
    queued: QueuedBytes,
    max_decoded_size: usize,
) -> WampHandler {
    WampHandler {
        channel,
        serializer: None,
        max_decoded_size,
        tx: Some(tx),
        queued,
    }
}

/// Maps a send failure of the WebSocket channel.
fn send_error(e: WsError) -> TransportError {
    match e {
        WsError::NotOpen | WsError::ConnectionClosed => TransportError::Closed,
        WsError::Send(crate::websocket::protocol::SendError::Closing)
        | WsError::Send(crate::websocket::protocol::SendError::Closed) => TransportError::Closed,
        other => TransportError::Lost(Chain(&other).to_string()),
    }
}

impl Transport for WebSocketTransport {
    /// `tls-exporter` (RFC 9266) over `wss://`; `tls-unique` is not available (TLS 1.3
    /// does not define it and rustls does not provide it).
    fn channel_id(&self, binding: &str) -> Option<Vec<u8>> {
        match binding {
            "tls-exporter" => self.tls_exporter.clone(),
            _ => None,
        }
    }

    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        if self.done {
            return Err(TransportError::Closed);
        }
        let mut payload = Vec::with_capacity(128);
        self.serializer
            .serialize_into(&msg, &mut payload)
            .map_err(|e| TransportError::Serialize(e.to_string()))?;
        self.channel
            .send_message(payload, self.serializer.is_binary())
            .await
            .map_err(send_error)
    }

    async fn recv(&mut self) -> Option<Result<Message, TransportError>> {
        if self.done {
            return None;
        }
        // `mpsc::Receiver::recv` is cancel-safe, and nothing else here awaits.
        match self.rx.recv().await {
            // The session takes the message over: its charge is released.
            Some(Ok((msg, _held))) => Some(Ok(msg)),
            Some(Err(e)) => {
                self.done = true;
                Some(Err(e))
            }
            None => {
                self.done = true;
                None
            }
        }
    }

    fn is_open(&self) -> bool {
        !self.done && self.channel.is_open()
    }

    async fn close(&mut self) {
        self.done = true;
        // A handler blocked on a full queue must not keep the connection task from
        // seeing the close: closing the queue makes its pending send fail.
        self.rx.close();
        self.queued.close();
        if self.channel.is_open() {
            if let Err(e) = self.channel.send_close(Some(CLOSE_NORMAL), None).await {
                tracing::debug!(peer = %self.peer, "wamp/websocket: close failed: {e}");
            }
        }
        // The connection task ends after the closing handshake, bounded by the
        // client's close_handshake_timeout.
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn abort(&mut self) {
        self.done = true;
        self.rx.close();
        self.queued.close();
        self.channel.drop_connection();
    }

    fn serializer_id(&self) -> &'static str {
        self.serializer.serializer_id()
    }

    fn peer(&self) -> String {
        self.peer.clone()
    }
}

impl Drop for WebSocketTransport {
    fn drop(&mut self) {
        if self.task.as_ref().is_some_and(|t| !t.is_finished()) {
            self.channel.drop_connection();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_subprotocols_prefer_cbor() {
        let c = WebSocketTransportConfig::default();
        assert_eq!(
            c.effective_subprotocols(),
            ["wamp.2.cbor", "wamp.2.msgpack", "wamp.2.json"]
        );
        assert_eq!(c.queue_size, DEFAULT_QUEUE_SIZE);
        assert_eq!(c.max_queued_bytes, 4 << 20);
    }

    #[test]
    fn configured_subprotocols_replace_defaults() {
        let c = WebSocketTransportConfig::with_subprotocols(["wamp.2.json.batched"]);
        assert_eq!(c.effective_subprotocols(), ["wamp.2.json.batched"]);
    }

    #[test]
    fn unknown_subprotocol_is_refused_before_connecting() {
        let f = WebSocketClientFactory::new("ws://127.0.0.1:1/").unwrap();
        let c = WebSocketTransportConfig::with_subprotocols(["wamp.2.json", "wamp.2.ubjson"]);
        match prepare(f, &c) {
            Err(WebSocketConnectError::UnsupportedSubprotocol(p)) => {
                assert_eq!(p, "wamp.2.ubjson")
            }
            other => panic!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn send_errors_map_to_closed_or_lost() {
        assert!(matches!(
            send_error(WsError::ConnectionClosed),
            TransportError::Closed
        ));
        assert!(matches!(
            send_error(WsError::NotOpen),
            TransportError::Closed
        ));
        assert!(matches!(
            send_error(WsError::Timeout("x")),
            TransportError::Lost(_)
        ));
    }
}
