//! The error type of the tokio WebSocket layer.

use super::protocol::{ProtocolViolation, SendError};

/// What can go wrong on a WebSocket connection.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer broke the protocol; we failed the connection with the given close code.
    #[error("protocol violation: {0}")]
    Protocol(#[from] ProtocolViolation),
    /// A send the protocol or connection state does not allow.
    #[error("cannot send: {0}")]
    Send(#[from] SendError),
    /// The opening handshake failed.
    #[error("opening handshake failed: {0}")]
    Handshake(String),
    /// The server answered the opening handshake with an HTTP error.
    #[error("the server answered HTTP {status} {reason}")]
    HttpStatus {
        /// HTTP status code.
        status: u16,
        /// HTTP reason phrase.
        reason: String,
    },
    /// A WebSocket URL could not be used.
    #[error("invalid WebSocket URL: {0}")]
    Url(String),
    /// TLS setup or handshake failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// The proxy failed (closed the connection, sent a malformed answer, …).
    #[error("proxy: {0}")]
    Proxy(String),
    /// The proxy answered `CONNECT` with an HTTP error, e.g. 407 when it wants
    /// `Proxy-Authorization` (see [`Proxy::headers`](super::Proxy::headers)).
    #[error("the proxy refused CONNECT: HTTP {status} {reason}")]
    ProxyRefused {
        /// HTTP status code.
        status: u16,
        /// HTTP reason phrase.
        reason: String,
    },
    /// A timeout elapsed (opening handshake, closing handshake, ping).
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// The connection is not open (yet, or any more).
    #[error("the connection is not open")]
    NotOpen,
    /// The connection is closed.
    #[error("the connection is closed")]
    ConnectionClosed,
}

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
