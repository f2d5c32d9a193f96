//! The error type of the tokio WebSocket layer.
//!
//! Each variant says what was being done and with whom; the underlying failure (an
//! [`std::io::Error`], a `rustls::Error`, an [`httparse::Error`] inside
//! [`HandshakeError`]) is its [`source`](std::error::Error::source), never repeated in
//! its own text, so that an error-chain reporter (`anyhow`'s `{:#}`, `tracing`'s error
//! fields) prints every piece once.

use std::fmt;

use super::handshake::HandshakeError;
use super::protocol::{ProtocolViolation, SendError};
use super::url::UrlError;

/// A boxed underlying error, for sources of more than one type (TLS).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The network step of opening a connection that failed (see [`Error::Connect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectStep {
    /// Opening the TCP connection (to the server, or to the proxy).
    TcpConnect,
    /// Opening the Unix domain socket connection.
    UnixConnect,
    /// Asking the HTTP proxy for a tunnel (`CONNECT host:port`).
    ProxyConnect,
    /// Sending the HTTP upgrade request or reading its answer.
    HttpUpgrade,
}

impl fmt::Display for ConnectStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectStep::TcpConnect => "TCP connect",
            ConnectStep::UnixConnect => "Unix socket connect",
            ConnectStep::ProxyConnect => "proxy CONNECT",
            ConnectStep::HttpUpgrade => "HTTP upgrade",
        })
    }
}

/// What can go wrong on a WebSocket connection.
///
/// The message says what failed and with whom; the underlying error (I/O, rustls,
/// httparse, the URL parser, the handshake) is the [`source`](std::error::Error::source),
/// never repeated in the message, so an error reporter prints each cause once.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::{Error, WebSocketClientFactory};
///
/// let err = WebSocketClientFactory::new("http://example.com").err().unwrap();
/// assert!(matches!(err, Error::Url { .. }));
/// let mut chain = vec![err.to_string()];
/// let mut source = std::error::Error::source(&err);
/// while let Some(cause) = source {
///     chain.push(cause.to_string());
///     source = cause.source();
/// }
/// assert!(chain.len() >= 2, "{chain:?}"); // context, then the cause
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The stream failed (the I/O error is the source).
    #[error("I/O error")]
    Io(#[from] std::io::Error),
    /// A network step of opening a connection failed (the I/O error is the source).
    #[error("{step} to {target} failed")]
    Connect {
        /// Which step failed.
        step: ConnectStep,
        /// Where to: `host:port`, the proxy's `host:port`, or the socket path.
        target: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The peer broke the protocol; we failed the connection with the given close code.
    #[error("protocol violation")]
    Protocol(#[from] ProtocolViolation),
    /// A send the protocol or connection state does not allow.
    #[error("cannot send")]
    Send(#[from] SendError),
    /// The opening handshake failed (what was wrong is the source).
    #[error("opening handshake with {peer} failed")]
    Handshake {
        /// The URL (client) or the peer's address (server).
        peer: String,
        /// What was wrong.
        #[source]
        source: HandshakeError,
    },
    /// The server answered the opening handshake with an HTTP error.
    #[error("{url}: the server answered HTTP {status} {reason}")]
    HttpStatus {
        /// The URL asked for.
        url: String,
        /// HTTP status code.
        status: u16,
        /// HTTP reason phrase.
        reason: String,
    },
    /// A WebSocket URL could not be used (why is the source).
    #[error("invalid WebSocket URL {url:?}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        #[source]
        source: UrlError,
    },
    /// TLS setup or handshake failed: `context` says what was being done, the
    /// `rustls::Error` (or the I/O error) is the source when there is one.
    #[error("TLS: {context}")]
    Tls {
        /// What was being done, and with whom.
        context: String,
        /// The underlying failure, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The proxy failed: closed the connection, or its answer was not HTTP (the source
    /// says which).
    #[error("proxy CONNECT through {proxy} failed")]
    Proxy {
        /// The proxy's `host:port`.
        proxy: String,
        /// What went wrong.
        #[source]
        source: HandshakeError,
    },
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

impl Error {
    /// A TLS error with no underlying error (e.g. a configuration problem found by us).
    pub fn tls(context: impl Into<String>) -> Error {
        Error::Tls {
            context: context.into(),
            source: None,
        }
    }

    /// A TLS error caused by `source` (a `rustls::Error`, an I/O error, a PEM error ...).
    pub fn tls_with(context: impl Into<String>, source: impl Into<BoxError>) -> Error {
        Error::Tls {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// A failed TLS handshake, with [`tls_source`] of tokio-rustls' I/O error.
    #[cfg(feature = "tls")]
    pub(crate) fn tls_handshake(context: impl Into<String>, e: std::io::Error) -> Error {
        Error::tls_with(context, tls_source(e))
    }

    /// The HTTP status of an [`Error::HttpStatus`].
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::HttpStatus { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The source to report for a TLS handshake's I/O error: the `rustls::Error` inside
/// it (an `io::Error` hides its inner error from `source()`), otherwise the I/O error.
#[cfg(feature = "tls")]
pub(crate) fn tls_source(e: std::io::Error) -> BoxError {
    if !e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) {
        return Box::new(e);
    }
    match e.into_inner() {
        Some(inner) => inner,
        None => "TLS handshake failed".into(),
    }
}

/// Result alias for this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Displays an error and its sources, `": "`-separated: for logs, where a bare
/// `{e}` shows only the top-level context.
pub(crate) struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Errors cross tasks and threads (`tokio::spawn`, `anyhow`).
    #[test]
    fn error_is_send_sync_static() {
        fn check<T: std::error::Error + Send + Sync + 'static>() {}
        check::<Error>();
    }

    #[test]
    fn chain_joins_every_source_once() {
        let e = Error::Connect {
            step: ConnectStep::TcpConnect,
            target: "127.0.0.1:1".into(),
            source: std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"),
        };
        assert_eq!(
            Chain(&e).to_string(),
            "TCP connect to 127.0.0.1:1 failed: refused"
        );
    }
}
