//! Server side of the opening handshake: an incremental request parser with
//! RFC 6455 §4.2.1 validation, builders for the `101` answer, error answers,
//! the web status page and the Flash socket policy, and [`ServerHandshake`], the
//! whole decision from a request (bytes or `http::Request`) to its answer.

mod answer;
mod upgrade;
mod validate;

pub(crate) use answer::extensions_header;
pub use answer::{
    accept_response, deny_response, error_response, flash_policy_response, status_page_response,
};
pub use upgrade::{Accepted, Checked, PendingUpgrade, Refusal, ServerHandshake, DEFAULT_SERVER};

use super::head::{parse_request, HeadScanner};
use super::{HandshakeError, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEADER_BYTES, SUPPORTED_VERSIONS};
use crate::websocket::origin::OriginPolicy;
use crate::websocket::types::ConnectionRequest;
use validate::validate;

/// What a Flash player sends first to ask for a socket policy.
pub const FLASH_POLICY_REQUEST: &[u8] = b"<policy-file-request/>\0";

/// Handshake-related server settings (a subset of Autobahn's server protocol options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHandshakeConfig {
    /// WebSocket versions accepted (default `[8, 13]`).
    pub versions: Vec<u8>,
    /// Answer a plain GET without `Upgrade` with a status page (default `true`);
    /// when `false` such requests get 426.
    pub web_status: bool,
    /// Recognize a Flash policy-file request as the first bytes (default `false`).
    pub serve_flash_socket_policy: bool,
    /// Allowed origins (default: all but `null`).
    pub origins: OriginPolicy,
    /// Number of trusted reverse proxies adding `X-Forwarded-For` (default 0: ignore it).
    pub trust_x_forwarded_for: usize,
    /// Largest accepted request head in bytes (default 16 KiB).
    pub max_header_bytes: usize,
    /// Most header lines accepted (default 64).
    pub max_headers: usize,
    /// The port clients must name in `Host` (Autobahn's `externalPort`); `None`
    /// (default) skips the check. A `Host` without a port names `default_port`.
    pub external_port: Option<u16>,
    /// The port a `Host` without one means: 80 for `ws`, 443 for `wss` (default 80).
    pub default_port: u16,
}

impl Default for ServerHandshakeConfig {
    fn default() -> Self {
        Self {
            versions: SUPPORTED_VERSIONS.to_vec(),
            web_status: true,
            serve_flash_socket_policy: false,
            origins: OriginPolicy::default(),
            trust_x_forwarded_for: 0,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            external_port: None,
            default_port: 80,
        }
    }
}

/// A valid WebSocket upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// The request as handed to `on_connect`.
    pub request: ConnectionRequest,
    /// The client's `Sec-WebSocket-Key` (for [`accept_response`]).
    pub key: String,
    /// Bytes of the buffer used by the request head; later bytes are WebSocket data.
    pub consumed: usize,
}

/// What a complete request turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedRequest {
    /// A valid WebSocket upgrade request.
    Upgrade(Box<UpgradeRequest>),
    /// A plain HTTP GET without `Upgrade` (and `web_status` is on): answer with
    /// [`status_page_response`] and close.
    StatusPage {
        /// Percent-decoded request path.
        path: String,
        /// Bytes of the buffer used by the request head.
        consumed: usize,
    },
    /// A Flash policy-file request (and `serve_flash_socket_policy` is on): answer
    /// with [`flash_policy_response`] and close.
    FlashPolicy {
        /// Bytes used by the request.
        consumed: usize,
    },
}

/// Incremental parser of one client's opening request.
///
/// Feed it the connection's receive buffer after each read (the buffer must only
/// grow); only bytes not seen before are scanned.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::handshake::server::{
///     error_response, ParsedRequest, RequestParser, ServerHandshakeConfig,
/// };
///
/// let config = ServerHandshakeConfig::default();
///
/// // A browser opening the page: answered with the status page.
/// let mut parser = RequestParser::new("tcp:127.0.0.1:50000", &config);
/// let get = b"GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n";
/// assert!(matches!(parser.parse(get, &config)?, Some(ParsedRequest::StatusPage { .. })));
///
/// // An upgrade without a key: refused with 400 and a small HTML page.
/// let mut parser = RequestParser::new("tcp:127.0.0.1:50001", &config);
/// let bad = b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
///             Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let err = parser.parse(bad, &config).unwrap_err();
/// assert_eq!(err.http_status(), 400);
/// assert!(error_response(&err, None).starts_with(b"HTTP/1.1 400"));
/// # Ok::<(), autobahn::websocket::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequestParser {
    peer: String,
    scanner: HeadScanner,
}

impl RequestParser {
    /// A parser for a client at transport address `peer` (e.g. `tcp:1.2.3.4:5678`),
    /// with the size limits of `config`.
    pub fn new(peer: impl Into<String>, config: &ServerHandshakeConfig) -> Self {
        Self {
            peer: peer.into(),
            scanner: HeadScanner::new(config.max_header_bytes, config.max_headers),
        }
    }

    /// Parses `buf`: `Ok(None)` until the request head is complete; then the kind
    /// of request, or an error whose [`HandshakeError::http_status`] the server
    /// should answer (see [`error_response`]).
    pub fn parse(
        &mut self,
        buf: &[u8],
        config: &ServerHandshakeConfig,
    ) -> Result<Option<ParsedRequest>, HandshakeError> {
        if config.serve_flash_socket_policy {
            let n = buf.len().min(FLASH_POLICY_REQUEST.len());
            if buf.get(..n) == FLASH_POLICY_REQUEST.get(..n) {
                if n == FLASH_POLICY_REQUEST.len() {
                    return Ok(Some(ParsedRequest::FlashPolicy { consumed: n }));
                }
                return Ok(None);
            }
        }
        let Some(head) = self.scanner.scan(buf)? else {
            return Ok(None);
        };
        let req = parse_request(buf, head)?;
        let parsed = validate(req, &self.peer, head.end, config);
        if let Err(e) = &parsed {
            tracing::debug!(peer = %self.peer, error = %e, "opening handshake refused");
        }
        parsed.map(Some)
    }
}

#[cfg(test)]
mod tests;
