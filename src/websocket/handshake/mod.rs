//! Sans-IO WebSocket opening handshake (RFC 6455 §4, §9.1, §11.3).
//!
//! * [`server`]: incremental request parser + validation, `101`/error/status-page
//!   response builders.
//! * [`client`]: request builder and incremental response parser.
//! * [`extensions`]: `Sec-WebSocket-Extensions` parsing.
//! * [`ServerHandshake`] and [`ClientHandshake`] also work on `http::Request` /
//!   `http::Response` values, for HTTP stacks that parse and upgrade connections
//!   themselves; our own server and client run the same functions on bytes.
//!
//! Both parsers are fed the caller's growing receive buffer; they scan only bytes
//! not seen before for the end of the HTTP head (no quadratic re-scan, cf.
//! CVE-2023-43669) and enforce byte and header-count limits before allocating.
//! They report how many bytes the head used: anything after it belongs to the
//! WebSocket stream and stays with the caller.

pub mod client;
pub mod extensions;
mod head;
mod negotiated;
pub mod server;

pub use client::{ClientHandshake, ResponseParser};
pub use extensions::parse_extensions;
pub use negotiated::Negotiated;
pub use server::{
    accept_response, deny_response, error_response, flash_policy_response, status_page_response,
    Accepted, Checked, ParsedRequest, PendingUpgrade, Refusal, RequestParser, ServerHandshake,
    ServerHandshakeConfig, UpgradeRequest,
};

pub(crate) use head::{parse_response as head_parse_response, HeadScanner, HeaderError};

use base64::Engine as _;
use sha1::{Digest, Sha1};

use super::types::{is_tchar, Headers};

/// The GUID appended to the client key before hashing (RFC 6455 §1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Default limit on the size of an HTTP head (request or response), in bytes.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// Default limit on the number of header lines in an HTTP head.
pub const DEFAULT_MAX_HEADERS: usize = 64;

/// WebSocket protocol versions a server supports by default (RFC 6455 = 13, hybi-08 = 8).
pub const SUPPORTED_VERSIONS: [u8; 2] = [8, 13];

/// Why an opening handshake failed.
///
/// Server-side variants carry the HTTP status a server should answer
/// ([`HandshakeError::http_status`]); [`server::error_response`] builds that answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The HTTP head did not end within the byte limit.
    #[error("HTTP head larger than {limit} bytes")]
    HeadTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The HTTP head has more header lines than allowed.
    #[error("more than {limit} HTTP header lines")]
    TooManyHeaders {
        /// The configured limit.
        limit: usize,
    },
    /// The HTTP head is not valid HTTP/1.x syntax.
    #[error("malformed HTTP head: {0}")]
    Malformed(String),
    /// The HTTP head is not valid HTTP/1.x syntax (httparse's error is the source).
    #[error("malformed HTTP head")]
    HttpSyntax(#[source] httparse::Error),
    /// The peer closed the connection before the handshake completed.
    #[error("the connection closed during the opening handshake")]
    ConnectionClosed,
    /// The server closed the connection without answering our plain-HTTP upgrade at all,
    /// which a TLS server does with a request that is not TLS.
    #[error("the server closed the connection without answering the HTTP upgrade; is it a TLS server (wss://)?")]
    ClosedWithoutAnswer,
    /// The server answered our plain-HTTP upgrade with a TLS record.
    #[error("the server answered the HTTP upgrade with TLS; is it a TLS server (wss://)?")]
    TlsAnswer,
    /// We refused the handshake: a limit, the application's `on_connect`, or a
    /// negotiation that cannot succeed (the text says which).
    #[error("{0}")]
    Rejected(String),
    /// The request method is not GET.
    #[error("HTTP method {0:?} not allowed (WebSocket needs GET)")]
    MethodNotAllowed(String),
    /// The HTTP version is not 1.1.
    #[error("unsupported HTTP version (WebSocket needs HTTP/1.1)")]
    HttpVersion,
    /// A required header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header that must occur once occurs several times.
    #[error("duplicate {0} header")]
    DuplicateHeader(&'static str),
    /// A plain HTTP request without `Upgrade` (and the status page is disabled).
    #[error("HTTP Upgrade header missing")]
    UpgradeRequired,
    /// `Upgrade` does not list `websocket`.
    #[error("Upgrade header does not contain the websocket token")]
    NotWebSocketUpgrade,
    /// `Connection` does not list `upgrade`.
    #[error("Connection header does not contain the upgrade token")]
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Version` is not a number.
    #[error("invalid Sec-WebSocket-Version {0:?}")]
    InvalidVersion(String),
    /// `Sec-WebSocket-Version` names a version the server does not speak.
    #[error("unsupported WebSocket version {version}")]
    UnsupportedVersion {
        /// Version the client asked for.
        version: u8,
        /// Versions the server speaks (sent back in `Sec-WebSocket-Version`).
        supported: Vec<u8>,
    },
    /// `Sec-WebSocket-Key` is not the base64 encoding of 16 bytes.
    #[error("invalid Sec-WebSocket-Key")]
    InvalidKey,
    /// `Sec-WebSocket-Protocol` is malformed (non-token or duplicate entries).
    #[error("invalid Sec-WebSocket-Protocol: {0}")]
    InvalidProtocol(String),
    /// `Sec-WebSocket-Extensions` is malformed.
    #[error("invalid Sec-WebSocket-Extensions: {0}")]
    InvalidExtensions(String),
    /// The request target is not an origin-form path, or has a fragment.
    #[error("invalid request target: {0}")]
    InvalidTarget(String),
    /// The port in `Host` is not the server's external port (Autobahn's `externalPort`).
    #[error("Host {host:?} does not name this server's port {expected}")]
    HostPortMismatch {
        /// The `Host` header as received.
        host: String,
        /// The port the server is reachable under.
        expected: u16,
    },
    /// The `Origin` is not allowed by the server's origin policy.
    #[error("origin {0:?} not allowed")]
    OriginNotAllowed(String),
    /// (client) The server did not answer `101 Switching Protocols`.
    #[error("server answered HTTP {status} {reason}")]
    UnexpectedStatus {
        /// HTTP status code received.
        status: u16,
        /// Reason phrase received.
        reason: String,
    },
    /// (client) `Sec-WebSocket-Accept` does not match the key we sent.
    #[error("Sec-WebSocket-Accept does not match the key sent")]
    AcceptMismatch,
    /// (client) The server selected a subprotocol we did not offer.
    #[error("server selected subprotocol {0:?} that was not offered")]
    UnexpectedProtocol(String),
    /// (client) The server accepted extensions we did not offer (or permessage-deflate
    /// more than once); their names.
    #[error("server answered with extensions we did not offer: {}", .0.join(", "))]
    UnexpectedExtensions(Vec<String>),
    /// (client) The server's permessage-deflate response is not one our offers allow.
    #[cfg(feature = "deflate")]
    #[error("invalid permessage-deflate response")]
    InvalidDeflateResponse(#[source] crate::websocket::deflate::DeflateNegotiationError),
    /// (client) Our permessage-deflate acceptor refused the server's response.
    #[cfg(feature = "deflate")]
    #[error("permessage-deflate response refused")]
    DeflateResponseRefused,
    /// (client) Our permessage-deflate acceptor answered with settings that contradict
    /// the server's response.
    #[cfg(feature = "deflate")]
    #[error("invalid permessage-deflate acceptance")]
    InvalidDeflateAcceptance(#[source] crate::websocket::deflate::DeflateNegotiationError),
    /// (client) The HTTP proxy did not answer CONNECT with 2xx.
    #[error("proxy refused CONNECT: HTTP {status} {reason}")]
    ProxyRefused {
        /// HTTP status code received from the proxy.
        status: u16,
        /// Reason phrase received from the proxy.
        reason: String,
    },
    /// An outgoing header (from user code or configuration) is not valid HTTP; the
    /// message was not built.
    #[error("invalid outgoing header {name:?}: {why}")]
    InvalidOutgoingHeader {
        /// Header name as given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// An argument used to build a handshake message is invalid.
    #[error("invalid handshake argument: {0}")]
    InvalidArgument(String),
}

impl HandshakeError {
    /// The HTTP status a server should answer with.
    ///
    /// Client- and proxy-side variants (the remote server misbehaved) return 502;
    /// errors in locally supplied values return 500.
    pub fn http_status(&self) -> u16 {
        use HandshakeError::*;
        match self {
            HeadTooLarge { .. } | TooManyHeaders { .. } => 431,
            MethodNotAllowed(_) => 405,
            HttpVersion => 505,
            UpgradeRequired | UnsupportedVersion { .. } => 426,
            OriginNotAllowed(_) => 403,
            Malformed(_)
            | HttpSyntax(_)
            | ConnectionClosed
            | ClosedWithoutAnswer
            | TlsAnswer
            | Rejected(_)
            | MissingHeader(_)
            | DuplicateHeader(_)
            | NotWebSocketUpgrade
            | NoConnectionUpgrade
            | InvalidVersion(_)
            | InvalidKey
            | InvalidProtocol(_)
            | InvalidExtensions(_)
            | InvalidTarget(_)
            | HostPortMismatch { .. } => 400,
            UnexpectedStatus { .. }
            | AcceptMismatch
            | UnexpectedProtocol(_)
            | UnexpectedExtensions(_)
            | ProxyRefused { .. } => 502,
            #[cfg(feature = "deflate")]
            InvalidDeflateResponse(_) | DeflateResponseRefused => 502,
            InvalidOutgoingHeader { .. } | InvalidArgument(_) => 500,
            #[cfg(feature = "deflate")]
            InvalidDeflateAcceptance(_) => 500,
        }
    }

    /// Headers a server must add to its error response for this error: the
    /// supported versions for [`HandshakeError::UnsupportedVersion`] (RFC 6455 §4.4),
    /// `Upgrade: websocket` for [`HandshakeError::UpgradeRequired`].
    pub fn response_headers(&self) -> Headers {
        let mut h = Headers::new();
        match self {
            HandshakeError::UnsupportedVersion { supported, .. } => {
                h.append("Sec-WebSocket-Version", version_list(supported));
            }
            HandshakeError::UpgradeRequired => {
                h.append("Upgrade", "websocket");
            }
            _ => {}
        }
        h
    }
}

impl From<HeaderError> for HandshakeError {
    fn from(e: HeaderError) -> Self {
        match e {
            HeaderError::TooLarge { limit } => HandshakeError::HeadTooLarge { limit },
            HeaderError::TooManyHeaders { limit } => HandshakeError::TooManyHeaders { limit },
            HeaderError::Malformed(m) => HandshakeError::Malformed(m),
            HeaderError::Syntax(e) => HandshakeError::HttpSyntax(e),
        }
    }
}

/// `versions` in descending order, comma-separated (`13, 8`).
fn version_list(versions: &[u8]) -> String {
    let mut v = versions.to_vec();
    v.sort_unstable_by(|a, b| b.cmp(a));
    v.dedup();
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Sec-WebSocket-Accept` for a client key: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).
///
/// # Examples
///
/// ```
/// use autobahn::websocket::handshake::accept_key;
///
/// // The example of RFC 6455 §1.3.
/// assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(WEBSOCKET_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Whether `s` is a non-empty HTTP token (RFC 7230 §3.2.6).
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Iterates the trimmed, non-empty elements of comma-separated header values
/// (over every occurrence of `name`).
pub(crate) fn list_values<'a>(
    headers: &'a Headers,
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(name)
        .flat_map(|v| v.split(','))
        .map(|s| s.trim_matches(|c| c == ' ' || c == '\t'))
        .filter(|s| !s.is_empty())
}

/// Whether any comma-separated element of header `name` equals `token`
/// (ASCII case-insensitive).
pub(crate) fn has_token(headers: &Headers, name: &str, token: &str) -> bool {
    list_values(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// The single value of header `name`: `Ok(None)` if absent, error if repeated.
pub(crate) fn single<'a>(
    headers: &'a Headers,
    name: &'static str,
) -> Result<Option<&'a str>, HandshakeError> {
    let mut it = headers.get_all(name);
    let first = it.next();
    if it.next().is_some() {
        return Err(HandshakeError::DuplicateHeader(name));
    }
    Ok(first.map(|v| v.trim_matches(|c| c == ' ' || c == '\t')))
}

/// Checks that an outgoing header can be written without breaking the message:
/// the name is a token, the value has no control characters other than HTAB
/// (so no CR/LF header injection).
pub(crate) fn check_outgoing_header(name: &str, value: &str) -> Result<(), HandshakeError> {
    if !is_token(name) {
        return Err(HandshakeError::InvalidOutgoingHeader {
            name: name.to_owned(),
            why: "name is not an HTTP token",
        });
    }
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(HandshakeError::InvalidOutgoingHeader {
            name: name.to_owned(),
            why: "value contains control characters (CR/LF/NUL...)",
        });
    }
    Ok(())
}

/// Appends `name: value\r\n` to `out`.
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Copies httparse's parsed headers into an owned [`Headers`] (values decoded as
/// UTF-8, invalid bytes replaced).
pub(crate) fn owned_headers(parsed: &[httparse::Header<'_>]) -> Headers {
    parsed
        .iter()
        .map(|h| (h.name, String::from_utf8_lossy(h.value).into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_accept_example() {
        // RFC 6455 §1.3 example.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn status_codes() {
        assert_eq!(HandshakeError::InvalidKey.http_status(), 400);
        assert_eq!(
            HandshakeError::OriginNotAllowed("http://x:80".into()).http_status(),
            403
        );
        let e = HandshakeError::UnsupportedVersion {
            version: 7,
            supported: vec![8, 13],
        };
        assert_eq!(e.http_status(), 426);
        assert_eq!(
            e.response_headers().get("sec-websocket-version"),
            Some("13, 8")
        );
        assert_eq!(HandshakeError::HttpVersion.http_status(), 505);
        assert_eq!(
            HandshakeError::MethodNotAllowed("POST".into()).http_status(),
            405
        );
        assert_eq!(HandshakeError::HeadTooLarge { limit: 1 }.http_status(), 431);
        assert!(HandshakeError::InvalidKey.response_headers().is_empty());
    }

    #[test]
    fn token_lists() {
        let h: Headers = [
            ("Connection", "keep-alive, Upgrade"),
            ("connection", " x ,,"),
        ]
        .into_iter()
        .collect();
        assert!(has_token(&h, "CONNECTION", "upgrade"));
        assert!(!has_token(&h, "connection", "upgrad"));
        assert_eq!(
            list_values(&h, "connection").collect::<Vec<_>>(),
            ["keep-alive", "Upgrade", "x"]
        );
        assert_eq!(
            single(&h, "Connection"),
            Err(HandshakeError::DuplicateHeader("Connection"))
        );
        assert_eq!(single(&h, "Host"), Ok(None));
    }

    #[test]
    fn outgoing_header_checks() {
        assert!(check_outgoing_header("Set-Cookie", "a=b; Path=/\tx").is_ok());
        assert!(check_outgoing_header("X", "a\r\nInjected: 1").is_err());
        assert!(check_outgoing_header("X", "a\nb").is_err());
        assert!(check_outgoing_header("X", "a\0b").is_err());
        assert!(check_outgoing_header("Bad Name", "v").is_err());
        assert!(check_outgoing_header("Bad:Name", "v").is_err());
        assert!(check_outgoing_header("", "v").is_err());
    }
}
