//! The WAMP transport abstraction (Autobahn's `ITransport`): something that carries
//! whole WAMP messages to a router and back.
//!
//! Implementations: WebSocket (our own client, subprotocol `wamp.2.*`) and RawSocket
//! (TCP, TLS, Unix). The session owns one transport and drives it from one task.

use std::future::Future;

use super::message::Message;

mod queued_bytes;

pub(crate) use queued_bytes::{HeldBytes, QueuedBytes};

/// Default bound on the bytes of received messages a WAMP transport holds for the
/// session ([`RawSocketOptions::max_queued_bytes`](super::rawsocket_transport::RawSocketOptions::max_queued_bytes),
/// [`WebSocketTransportConfig::max_queued_bytes`](super::websocket_transport::WebSocketTransportConfig::max_queued_bytes)):
/// 4 MiB, like the WebSocket layer's read-ahead bound.
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 4 << 20;

/// Why a transport failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Connecting or the transport handshake failed (why is the source: a
    /// [`WebSocketConnectError`](super::websocket_transport::WebSocketConnectError), a
    /// [`RawSocketConnectError`](super::rawsocket_transport::RawSocketConnectError), or a message).
    #[error("connecting the transport failed")]
    Connect(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The stream failed or the peer went away.
    #[error("transport lost: {0}")]
    Lost(String),
    /// The transport is closed.
    #[error("transport closed")]
    Closed,
    /// An outgoing message is larger than the peer accepts; nothing was sent and the
    /// transport stays usable.
    #[error("message of {size} bytes exceeds the peer's limit of {max} bytes")]
    MessageTooLarge {
        /// Serialized size.
        size: usize,
        /// The peer's limit.
        max: usize,
    },
    /// A message could not be serialized.
    #[error("cannot serialize: {0}")]
    Serialize(String),
    /// Bytes from the peer are not a valid WAMP message.
    #[error("invalid message from peer: {0}")]
    Protocol(String),
}

/// A connected, message-oriented WAMP transport.
///
/// # Examples
///
/// Any message-oriented connection can carry a session. This one is an in-process
/// pipe of messages, to a scripted router that welcomes the session and answers a
/// call:
///
/// ```
/// use autobahn::wamp::message::{Message, ResultMessage, Welcome};
/// use autobahn::wamp::session::SessionEvent;
/// use autobahn::wamp::transport::{Transport, TransportError};
/// use autobahn::wamp::{CallOptions, ComponentConfig, Dict, HelloDetails, Session};
/// use autobahn::{dict, list};
/// use tokio::sync::mpsc;
///
/// struct Pipe {
///     tx: Option<mpsc::Sender<Message>>,
///     rx: mpsc::Receiver<Message>,
/// }
///
/// impl Transport for Pipe {
///     async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
///         let tx = self.tx.as_ref().ok_or(TransportError::Closed)?;
///         tx.send(msg).await.map_err(|_| TransportError::Closed)
///     }
///     async fn recv(&mut self) -> Option<Result<Message, TransportError>> {
///         self.rx.recv().await.map(Ok) // mpsc::Receiver::recv is cancel-safe
///     }
///     fn is_open(&self) -> bool {
///         self.tx.is_some()
///     }
///     async fn close(&mut self) {
///         self.tx = None;
///     }
///     fn abort(&mut self) {
///         self.tx = None;
///     }
///     fn serializer_id(&self) -> &'static str {
///         "json"
///     }
///     fn peer(&self) -> String {
///         "pipe".into()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (to_router, mut router_inbox) = mpsc::channel(8);
/// let (router_outbox, from_router) = mpsc::channel(8);
/// tokio::spawn(async move {
///     while let Some(msg) = router_inbox.recv().await {
///         let answer = match msg {
///             Message::Hello(_) => Message::Welcome(Welcome { session: 1, details: dict! {} }),
///             Message::Call(call) => Message::Result(ResultMessage {
///                 request: call.request,
///                 details: dict! {},
///                 args: Some(list![5]),
///                 kwargs: None,
///             }),
///             _ => continue,
///         };
///         if router_outbox.send(answer).await.is_err() {
///             break;
///         }
///     }
/// });
///
/// let pipe = Pipe { tx: Some(to_router), rx: from_router };
/// let (session, mut lifecycle) = Session::start(pipe, ComponentConfig::new("realm1"));
/// session.join(HelloDetails::new("realm1")).await?;
/// assert!(matches!(lifecycle.next().await, Some(SessionEvent::Joined(_))));
/// let result = session
///     .call("com.example.add2", list![2, 3], Dict::new(), CallOptions::default())
///     .await?;
/// assert_eq!(result.value().as_i64(), Some(5));
/// // Closing the transport without leaving first: Left (transport lost), Disconnected.
/// session.disconnect().await;
/// assert!(matches!(lifecycle.next().await, Some(SessionEvent::Left(_))));
/// assert_eq!(lifecycle.next().await, Some(SessionEvent::Disconnected));
/// # Ok(())
/// # }
/// ```
pub trait Transport: Send + 'static {
    /// Serializes and sends one message. Waits while the transport's send queue is
    /// full (backpressure). An oversized message is an error and the transport stays
    /// open.
    fn send(&mut self, msg: Message) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// The next message from the peer, `None` once the transport is closed.
    ///
    /// Must be cancel-safe: dropping the future before it completes loses no message
    /// (the session selects on it).
    fn recv(&mut self) -> impl Future<Output = Option<Result<Message, TransportError>>> + Send;

    /// True until the transport closed or failed.
    fn is_open(&self) -> bool;

    /// Closes the transport cleanly (WebSocket close handshake, or TCP shutdown).
    fn close(&mut self) -> impl Future<Output = ()> + Send;

    /// Drops the transport at once.
    fn abort(&mut self);

    /// Channel binding data for authentication (e.g. `tls-unique`), if the transport
    /// can provide it.
    fn channel_id(&self, binding: &str) -> Option<Vec<u8>> {
        let _ = binding;
        None
    }

    /// The serializer in use (`"json"`, `"msgpack"`, `"cbor"`, `"ubjson"`).
    fn serializer_id(&self) -> &'static str;

    /// A description of the peer (for logs and `SessionDetails`).
    fn peer(&self) -> String;
}
