//! The WAMP transport abstraction (Autobahn's `ITransport`): something that carries
//! whole WAMP messages to a router and back.
//!
//! Implementations: WebSocket (our own client, subprotocol `wamp.2.*`) and RawSocket
//! (TCP, TLS, Unix). The session owns one transport and drives it from one task.

use std::future::Future;

use super::message::Message;

/// Why a transport failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Connecting or the transport handshake failed (why is the source: a
    /// [`WebSocketConnectError`](super::websocket_transport::WebSocketConnectError), a
    /// [`RawSocketConnectError`](crate::rawsocket::RawSocketConnectError), or a message).
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

    /// The serializer in use (`"json"`, `"msgpack"`, `"cbor"`).
    fn serializer_id(&self) -> &'static str;

    /// A description of the peer (for logs and `SessionDetails`).
    fn peer(&self) -> String;
}
