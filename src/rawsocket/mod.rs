//! WAMP-RawSocket transport: sans-IO handshake and framing, and URL helpers.
//!
//! WAMP-over-RawSocket (WAMP spec, "RawSocket Transport") is a length-prefixed
//! framing for WAMP messages over any reliable byte stream (TCP, TLS, Unix
//! domain sockets). A connection is:
//!
//! 1. a 4-octet handshake each way ([`handshake`]): the client announces the
//!    largest message it is willing to *receive* and the serializer it wants; the
//!    router echoes the serializer and announces its own receive limit, or
//!    refuses with an error code;
//! 2. then frames in both directions ([`framing`]): a 4-octet header (type and
//!    length) followed by the payload. Each side enforces the limit *it*
//!    announced on what it receives, and must not send more than the *peer*
//!    announced.
//!
//! These modules do no IO: bytes in, values out, and know nothing of WAMP messages.
//! The tokio client transport on top is
//! [`wamp::rawsocket_transport`](crate::wamp::rawsocket_transport), beside the WebSocket
//! one.

pub mod framing;
pub mod handshake;
pub mod url;

pub use framing::{encode_frame, Frame, FrameDecoder, FrameKind};
pub use handshake::{
    accept_reply, error_reply, parse_client_hello, parse_server_reply, ClientHandshake,
    HandshakeErrorCode, SerializerId, ServerHello,
};
pub use url::{create_url, parse_url, RawSocketEndpoint, RawSocketUrl, UrlError};

/// Errors of the RawSocket handshake and framing.
///
/// Every variant except [`RawSocketError::MessageTooLarge`] means the peer
/// broke the protocol (or refused us) and the connection must be failed.
/// `MessageTooLarge` is returned to the *sender* of an oversized message: the
/// message was not sent and the connection is still fine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RawSocketError {
    /// The first handshake octet was not the magic `0x7F`: the peer does not
    /// speak RawSocket (perhaps it is an HTTP server).
    #[error("not a RawSocket peer: first handshake octet is {0:#04x}, expected 0x7f")]
    BadMagic(u8),
    /// The reserved third and fourth handshake octets were not zero.
    #[error("reserved handshake octets are not zero: {0:#04x} {1:#04x}")]
    ReservedHandshakeBits(u8, u8),
    /// The client asked for serializer id 0, which the spec declares illegal.
    #[error("client requested the illegal serializer id 0")]
    IllegalSerializer,
    /// The router refused the connection with an error reply.
    #[error("router refused the RawSocket handshake: {0}")]
    Refused(HandshakeErrorCode),
    /// The router accepted, but with another serializer than the one requested
    /// (the spec requires it to echo the client's choice).
    #[error("router answered with serializer {got}, but {requested} was requested")]
    SerializerMismatch {
        /// The serializer id the client asked for.
        requested: u8,
        /// The serializer id in the router's reply.
        got: u8,
    },
    /// A received frame header has one of the four reserved bits set.
    #[error("reserved bits set in frame header octet {0:#04x}")]
    ReservedFrameBits(u8),
    /// A received frame has a message type other than 0 (WAMP message),
    /// 1 (PING) or 2 (PONG).
    #[error("unknown RawSocket frame type {0}")]
    UnknownFrameType(u8),
    /// A received frame header has the 25th length bit set together with
    /// non-zero lower length bits (that bit may only encode exactly 2^24).
    #[error("invalid frame length encoding: extra length bit set with lower bits {0:#08x}")]
    InvalidFrameLength(u32),
    /// A received frame is longer than the maximum length we announced.
    #[error("received frame of {size} octets exceeds our announced maximum of {max}")]
    FrameTooLarge {
        /// Length from the frame header.
        size: u32,
        /// The limit we announced in the handshake.
        max: u32,
    },
    /// A message to be sent is longer than the maximum the peer announced.
    /// Nothing was written; the connection is unaffected.
    #[error("message of {size} octets exceeds the peer's maximum message length of {max}")]
    MessageTooLarge {
        /// Length of the payload that was to be sent.
        size: usize,
        /// The peer's announced limit.
        max: u32,
    },
}
