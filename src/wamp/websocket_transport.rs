//! WAMP over WebSocket (Autobahn's `WampWebSocketClientProtocol`): a [`Transport`] on
//! top of our own WebSocket client, on its pull API
//! ([`WebSocket`](crate::websocket::WebSocket)).
//!
//! The client announces the WAMP subprotocols (`wamp.2.cbor`, `wamp.2.msgpack`,
//! `wamp.2.json` by default, in that order of preference, as Autobahn does) and the
//! router picks one; that choice fixes the serializer. Each WebSocket message carries
//! one WAMP message (several in the `.batched` modes): binary messages for CBOR and
//! MessagePack, text messages for JSON. A message in the wrong frame type, or bytes
//! that do not decode, fail the connection: close 1002 (1009 for a message over
//! `max_decoded_size`), then TCP is dropped without waiting for the router's close.
//!
//! [`WebSocketTransport::recv`] takes the next WebSocket message from the connection's
//! reading half and decodes it; sends go through the connection's channel. While the
//! session does not read, a small task keeps the connection going (writing, answering
//! pings, running its timers): it reads ahead at most the WebSocket client's
//! `max_queued_bytes` of messages, then stops reading from the socket, and TCP pushes
//! back on the router.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;

use futures_sink::Sink;
use tokio::task::JoinHandle;

use super::error::SerializationError;
use super::message::Message;
use super::serializer::{for_subprotocol, Serializer, DEFAULT_MAX_DECODED_SIZE};
use super::transport::{Transport, TransportError, DEFAULT_MAX_QUEUED_BYTES};
use crate::websocket::client::WebSocketClientFactory;
use crate::websocket::error::Chain;
use crate::websocket::stream::MaybeTlsStream;
use crate::websocket::{
    Error as WsError, WebSocketChannel, WebSocketClientHandler, WebSocketConnection,
    WebSocketHandler, WebSocketReader, WebSocketWriter,
};

/// The subprotocols announced when none are configured, most preferred first
/// (Autobahn's default order: CBOR, MessagePack, JSON).
pub const DEFAULT_SUBPROTOCOLS: [&str; 3] = ["wamp.2.cbor", "wamp.2.msgpack", "wamp.2.json"];

/// Default of [`WebSocketTransportConfig::queue_size`] (no longer used).
#[deprecated(
    since = "0.1.0",
    note = "`queue_size` is ignored; see `max_queued_bytes`"
)]
pub const DEFAULT_QUEUE_SIZE: usize = 64;

/// WebSocket close code for a normal closure.
const CLOSE_NORMAL: u16 = 1000;
/// WebSocket close code for a message that is not valid WAMP (Autobahn's `_bailout`).
const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// WebSocket close code for a message over `max_decoded_size`.
const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;

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
    /// Unused, kept for compatibility: the transport has no queue of its own any more.
    /// The WebSocket connection holds at most 64 received messages (and
    /// [`Self::max_queued_bytes`]) for `recv`.
    #[deprecated(
        since = "0.1.0",
        note = "ignored: the bound is `max_queued_bytes`, in bytes"
    )]
    pub queue_size: usize,
    /// The most memory one received WebSocket message may take once decoded
    /// (default [`DEFAULT_MAX_DECODED_SIZE`], 64 MiB); a message past it fails the
    /// connection with [`SerializationError::TooLarge`]
    /// as the reason. Not in Autobahn|Python: it bounds what dense shapes (lists of
    /// tiny dicts decode to 200× their wire size) can make a hostile router cost,
    /// next to the WebSocket `max_message_payload_size`, which bounds the wire size.
    pub max_decoded_size: usize,
    /// Bytes of received messages that may wait for `recv` before the connection stops
    /// reading from the socket, `0` for no bound here (default
    /// [`DEFAULT_MAX_QUEUED_BYTES`], 4 MiB). The messages wait undecoded in the
    /// WebSocket connection, so this lowers the WebSocket client's
    /// [`max_queued_bytes`](crate::websocket::options::ClientOptions::max_queued_bytes)
    /// to this value when that is higher (or unbounded): the tighter of the two
    /// applies. A router that floods a session that does not read makes it hold at
    /// most that plus one message. Autobahn|Python reads as fast as the router sends
    /// and queues without bound.
    pub max_queued_bytes: usize,
}

impl Default for WebSocketTransportConfig {
    #[allow(deprecated)] // `queue_size` keeps its old default for code that reads it
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

/// The handler of the opening handshake: the connection then goes to the pull API.
struct Handshake;

impl WebSocketHandler for Handshake {}
impl WebSocketClientHandler for Handshake {}

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
/// // JSON only; the factory carries TLS, proxy and WebSocket options, such as the
/// // keepalive the `ApplicationRunner` turns on by default (off in a bare client).
/// let config = WebSocketTransportConfig::with_subprotocols(["wamp.2.json"]);
/// let mut factory = WebSocketClientFactory::new("ws://127.0.0.1:8080/ws")?;
/// factory.options_mut().auto_ping_interval = Some(std::time::Duration::from_secs(10));
/// factory.options_mut().auto_ping_timeout = Some(std::time::Duration::from_secs(5));
/// let transport = WebSocketTransport::connect_with_factory(factory, &config).await?;
/// assert_eq!(transport.subprotocol(), "wamp.2.json");
/// assert_eq!(transport.serializer_id(), "json");
/// # Ok(())
/// # }
/// ```
pub struct WebSocketTransport {
    /// The connection's reading half; `None` once aborted.
    reader: Option<WebSocketReader<MaybeTlsStream>>,
    /// Sends on the connection.
    channel: WebSocketChannel,
    /// Drives the connection with its writing half while `recv` is not polled.
    keeper: Option<JoinHandle<()>>,
    serializer: Box<dyn Serializer>,
    /// Bound on what one received message may cost decoded.
    max_decoded_size: usize,
    /// The rest of a batch: messages decoded from one WebSocket message.
    batch: VecDeque<Message>,
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
    /// protocol options). The factory's subprotocols are replaced by `config`'s, and
    /// its `max_queued_bytes` is lowered to `config`'s if higher.
    pub async fn connect_with_factory(
        factory: WebSocketClientFactory,
        config: &WebSocketTransportConfig,
    ) -> Result<Self, WebSocketConnectError> {
        let (factory, offered) = prepare(factory, config)?;
        let conn = factory.connect(|_| Handshake).await?;
        let tls_exporter = conn.stream().tls_exporter();
        let mut t = Self::start(conn, &offered, config)?;
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
        let conn = factory.connect_unix(path, |_| Handshake).await?;
        Self::start(conn, &offered, config)
    }

    /// Checks the negotiated subprotocol and takes the connection over.
    fn start(
        conn: WebSocketConnection<MaybeTlsStream, Handshake>,
        offered: &[String],
        config: &WebSocketTransportConfig,
    ) -> Result<Self, WebSocketConnectError> {
        let peer = conn.response().peer.clone();
        let Some(subprotocol) = conn.response().protocol.clone() else {
            return Err(WebSocketConnectError::NoSubprotocol);
        };
        if !offered.contains(&subprotocol) {
            return Err(WebSocketConnectError::UnexpectedSubprotocol(subprotocol));
        }
        let Some(serializer) = for_subprotocol(&subprotocol) else {
            return Err(WebSocketConnectError::UnsupportedSubprotocol(subprotocol));
        };
        let channel = conn.channel().clone();
        let (reader, writer) = conn.into_websocket().split();
        tracing::debug!(%peer, %subprotocol, "wamp/websocket: connected");
        Ok(Self {
            reader: Some(reader),
            channel,
            keeper: Some(tokio::spawn(keep_going(writer))),
            serializer,
            max_decoded_size: config.max_decoded_size,
            batch: VecDeque::new(),
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

    /// Fails the connection on a message that is not valid WAMP: a close frame with the
    /// error as reason, then TCP is dropped (as the WebSocket layer fails a connection;
    /// Autobahn|Python with `failByDrop` drops TCP without it).
    fn fail(&mut self, e: SerializationError) -> TransportError {
        let code = match e {
            SerializationError::TooLarge { .. } => CLOSE_MESSAGE_TOO_BIG,
            _ => CLOSE_PROTOCOL_ERROR,
        };
        let err = TransportError::Protocol(e.to_string());
        tracing::debug!(peer = %self.peer, "wamp/websocket: failing connection: {err}");
        self.channel
            .fail_connection(code, &format!("WAMP protocol error ({err})"));
        self.done = true;
        err
    }

    /// How the connection ended, once the reader saw the end: `None` after a clean
    /// close, else why it was lost.
    fn ended(&mut self) -> Option<Result<Message, TransportError>> {
        self.done = true;
        let info = self.reader.as_ref()?.close_info()?;
        tracing::debug!(peer = %self.peer, ?info, "wamp/websocket: connection closed");
        if info.was_clean {
            return None;
        }
        let why = info.reason.unwrap_or_else(|| {
            format!(
                "connection closed uncleanly (code {})",
                info.code.unwrap_or(1006)
            )
        });
        Some(Err(TransportError::Lost(why)))
    }
}

/// Keeps the connection going while the session does not read: writes what is queued,
/// reads ahead up to the client's `max_queued_bytes`, answers pings and runs the timers.
/// Ends with the connection.
async fn keep_going(mut writer: WebSocketWriter<MaybeTlsStream>) {
    poll_fn(|cx| match Pin::new(&mut writer).poll_flush(cx) {
        Poll::Ready(Err(_)) => Poll::Ready(()),
        // Flushed or not, the connection woke us (input, timers, output) or will.
        _ => Poll::Pending,
    })
    .await
}

/// Validates the configured subprotocols and puts them and the read-ahead bound on the
/// factory.
fn prepare(
    mut factory: WebSocketClientFactory,
    config: &WebSocketTransportConfig,
) -> Result<(WebSocketClientFactory, Vec<String>), WebSocketConnectError> {
    let offered = config.effective_subprotocols();
    if let Some(bad) = offered.iter().find(|p| for_subprotocol(p).is_none()) {
        return Err(WebSocketConnectError::UnsupportedSubprotocol(bad.clone()));
    }
    let read_ahead = &mut factory.options_mut().max_queued_bytes;
    *read_ahead = tighter_bound(*read_ahead, config.max_queued_bytes);
    Ok((factory.protocols(offered.clone()), offered))
}

/// The tighter of two bounds where `0` means none.
fn tighter_bound(a: usize, b: usize) -> usize {
    match (a, b) {
        (0, n) | (n, 0) => n,
        (a, b) => a.min(b),
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
        loop {
            if self.done {
                return None;
            }
            if let Some(msg) = self.batch.pop_front() {
                return Some(Ok(msg));
            }
            // Cancel safe: `WebSocketReader::recv` is, and nothing else here awaits.
            let Some(ws_message) = self.reader.as_mut()?.recv().await else {
                return self.ended();
            };
            let payload = ws_message.payload();
            match self.serializer.unserialize_limited(
                payload,
                ws_message.is_binary(),
                self.max_decoded_size,
            ) {
                Ok(messages) => self.batch.extend(messages),
                Err(e) => return Some(Err(self.fail(e))),
            }
        }
    }

    fn is_open(&self) -> bool {
        !self.done && self.channel.is_open()
    }

    async fn close(&mut self) {
        let was_done = std::mem::replace(&mut self.done, true);
        self.batch.clear();
        if !was_done && self.channel.is_open() {
            if let Err(e) = self.channel.send_close(Some(CLOSE_NORMAL), None).await {
                tracing::debug!(peer = %self.peer, "wamp/websocket: close failed: {e}");
            }
        }
        // The connection ends after the closing handshake, bounded by the client's
        // close_handshake_timeout; messages still arriving are dropped.
        if let Some(reader) = &mut self.reader {
            while reader.recv().await.is_some() {}
        }
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.await;
        }
    }

    fn abort(&mut self) {
        self.done = true;
        self.batch.clear();
        // Both halves gone: the connection (and its socket) is dropped.
        self.reader = None;
        if let Some(keeper) = self.keeper.take() {
            keeper.abort();
        }
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
        self.abort();
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
        let c = WebSocketTransportConfig::with_subprotocols(["wamp.2.json", "wamp.2.flatbuffers"]);
        match prepare(f, &c) {
            Err(WebSocketConnectError::UnsupportedSubprotocol(p)) => {
                assert_eq!(p, "wamp.2.flatbuffers")
            }
            other => panic!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn max_queued_bytes_lowers_the_read_ahead_bound() {
        let factory = |bound| {
            WebSocketClientFactory::new("ws://127.0.0.1:1/")
                .unwrap()
                .with_protocol_options(crate::websocket::options::ClientOptions {
                    max_queued_bytes: bound,
                    ..Default::default()
                })
        };
        let read_ahead = |ws_bound, wamp_bound| {
            let config = WebSocketTransportConfig {
                max_queued_bytes: wamp_bound,
                ..Default::default()
            };
            let (f, _) = prepare(factory(ws_bound), &config).unwrap();
            f.options().max_queued_bytes
        };
        assert_eq!(read_ahead(4 << 20, 1 << 20), 1 << 20);
        assert_eq!(read_ahead(1 << 20, 4 << 20), 1 << 20);
        assert_eq!(read_ahead(0, 1 << 20), 1 << 20, "unbounded WebSocket");
        assert_eq!(read_ahead(1 << 20, 0), 1 << 20, "no bound from WAMP");
        assert_eq!(read_ahead(0, 0), 0);
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
