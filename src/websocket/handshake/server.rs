//! Server side of the opening handshake: an incremental request parser with
//! RFC 6455 §4.2.1 validation, and builders for the `101` answer, error answers,
//! the web status page and the Flash socket policy.

use std::collections::BTreeMap;

use base64::Engine as _;

use super::head::{parse_request, HeadScanner, OwnedRequest};
use super::{
    accept_key, check_outgoing_header, has_token, is_token, list_values, parse_extensions, single,
    version_list, write_header, HandshakeError, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEADER_BYTES,
    SUPPORTED_VERSIONS,
};
use crate::websocket::origin::OriginPolicy;
use crate::websocket::types::{ConnectionRequest, Extension, Headers};

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

fn validate(
    req: OwnedRequest,
    peer: &str,
    consumed: usize,
    config: &ServerHandshakeConfig,
) -> Result<ParsedRequest, HandshakeError> {
    if req.method != "GET" {
        return Err(HandshakeError::MethodNotAllowed(req.method));
    }
    if req.minor_version != 1 {
        return Err(HandshakeError::HttpVersion);
    }
    let (path, params) = parse_target(&req.target)?;
    let h = &req.headers;
    let host = single(h, "Host")?
        .ok_or(HandshakeError::MissingHeader("Host"))?
        .to_owned();
    if let Some(expected) = config.external_port {
        check_host_port(&host, expected, config.default_port)?;
    }

    if !h.contains("Upgrade") {
        return if config.web_status {
            Ok(ParsedRequest::StatusPage { path, consumed })
        } else {
            Err(HandshakeError::UpgradeRequired)
        };
    }
    if !has_token(h, "Upgrade", "websocket") {
        return Err(HandshakeError::NotWebSocketUpgrade);
    }
    if !has_token(h, "Connection", "upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade);
    }

    let version = single(h, "Sec-WebSocket-Version")?
        .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Version"))?;
    let version = parse_version(version)?;
    if !config.versions.contains(&version) {
        return Err(HandshakeError::UnsupportedVersion {
            version,
            supported: config.versions.clone(),
        });
    }

    let key = single(h, "Sec-WebSocket-Key")?
        .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Key"))?;
    if !is_valid_key(key) {
        return Err(HandshakeError::InvalidKey);
    }
    let key = key.to_owned();

    // hybi-08..12 browsers sent the origin as Sec-WebSocket-Origin.
    let origin = if version <= 12 {
        single(h, "Sec-WebSocket-Origin")?
    } else {
        single(h, "Origin")?
    };
    config.origins.check(origin)?;
    let origin = origin.map(str::to_owned);

    let mut protocols: Vec<String> = Vec::new();
    // A set, not a scan of `protocols`: a 16 KiB head holds thousands of tokens, and a
    // quadratic duplicate check would make it cost 200 handshakes' worth of CPU.
    let mut seen = std::collections::HashSet::new();
    for p in list_values(h, "Sec-WebSocket-Protocol") {
        if !is_token(p) {
            return Err(HandshakeError::InvalidProtocol(format!(
                "{p:?} is not a token"
            )));
        }
        if !seen.insert(p) {
            return Err(HandshakeError::InvalidProtocol(format!(
                "duplicate protocol {p:?}"
            )));
        }
        protocols.push(p.to_owned());
    }

    let extensions = parse_extensions(h.get_all("Sec-WebSocket-Extensions"))?;
    let peer = resolve_peer(peer, h, config.trust_x_forwarded_for);

    Ok(ParsedRequest::Upgrade(Box::new(UpgradeRequest {
        request: ConnectionRequest {
            peer,
            headers: req.headers,
            host,
            path,
            params,
            version,
            origin,
            protocols,
            extensions,
        },
        key,
        consumed,
    })))
}

/// Autobahn's `externalPort` check: the port in `Host` (or `default_port` when it
/// names none) must be the port the server is reachable under.
fn check_host_port(host: &str, expected: u16, default_port: u16) -> Result<(), HandshakeError> {
    // After an IPv6 literal's `]`, or after the only `:` of a name or IPv4 address.
    let port_text = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map(|(_, rest)| rest),
        None => Some(host),
    }
    .and_then(|rest| rest.rsplit_once(':'))
    .map(|(_, port)| port);
    let port = match port_text {
        None => Some(default_port),
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
        Some(_) => None,
    };
    if port == Some(expected) {
        Ok(())
    } else {
        Err(HandshakeError::HostPortMismatch {
            host: host.to_owned(),
            expected,
        })
    }
}

fn parse_version(v: &str) -> Result<u8, HandshakeError> {
    if v.is_empty() || v.len() > 3 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HandshakeError::InvalidVersion(v.to_owned()));
    }
    v.parse()
        .map_err(|_| HandshakeError::InvalidVersion(v.to_owned()))
}

/// A key is the base64 encoding (24 characters, padded) of 16 bytes (RFC 6455 §4.1).
fn is_valid_key(key: &str) -> bool {
    key.len() == 24
        && base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|k| k.len() == 16)
}

/// The client address: the transport peer, or with `trust` > 0 reverse proxies the
/// `trust`-th `X-Forwarded-For` entry from the right (the leftmost if there are
/// fewer), as Autobahn does. Entries further left were written by the client and
/// are never used.
fn resolve_peer(peer: &str, h: &Headers, trust: usize) -> String {
    if trust == 0 {
        return peer.to_owned();
    }
    let entries: Vec<&str> = list_values(h, "X-Forwarded-For").collect();
    let idx = entries.len().saturating_sub(trust);
    entries
        .get(idx)
        .map_or_else(|| peer.to_owned(), |s| (*s).to_owned())
}

type Params = BTreeMap<String, Vec<String>>;

/// Splits a request target into a percent-decoded path and query parameters.
/// Accepts origin-form (`/a?b`) and absolute http(s)/ws(s) URIs (RFC 6455 §4.1).
fn parse_target(target: &str) -> Result<(String, Params), HandshakeError> {
    let bad = |why: &str| HandshakeError::InvalidTarget(format!("{why}: {target:?}"));
    if target.contains('#') {
        return Err(bad("fragment not allowed"));
    }
    let rest = if target.starts_with('/') {
        target
    } else {
        let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
        let after_scheme = ["http://", "https://", "ws://", "wss://"]
            .iter()
            .find(|s| lower.starts_with(**s))
            .and_then(|s| target.get(s.len()..))
            .ok_or_else(|| bad("not a path or absolute URI"))?;
        match after_scheme.find(['/', '?']) {
            Some(i) => after_scheme.get(i..).unwrap_or("/"),
            None => "/",
        }
    };
    let (raw_path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let path = if raw_path.is_empty() {
        "/".to_owned()
    } else {
        crate::websocket::url::percent_decode(raw_path)
    };
    Ok((
        path,
        query
            .map(crate::websocket::url::parse_query)
            .unwrap_or_default(),
    ))
}

/// Headers a user may not set on handshake responses: they would contradict the
/// ones this module writes.
const RESERVED: &[&str] = &[
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Version",
    "Content-Length",
    "Transfer-Encoding",
];

fn check_extra(name: &str, value: &str) -> Result<(), HandshakeError> {
    check_outgoing_header(name, value)?;
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(HandshakeError::InvalidOutgoingHeader {
            name: name.to_owned(),
            why: "reserved handshake header",
        });
    }
    Ok(())
}

/// The `101 Switching Protocols` answer to a request with `key`.
///
/// `subprotocol` must be a token, extension names and parameter names tokens, and
/// `extra` headers (e.g. from [`ConnectionAccept`](crate::websocket::types::ConnectionAccept))
/// valid and not one of the handshake headers; otherwise nothing is built.
pub fn accept_response(
    key: &str,
    subprotocol: Option<&str>,
    extensions: &[Extension],
    extra: &Headers,
    server: Option<&str>,
) -> Result<Vec<u8>, HandshakeError> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    if let Some(s) = server {
        check_outgoing_header("Server", s)?;
        write_header(&mut out, "Server", s);
    }
    for (n, v) in extra {
        check_extra(n, v)?;
        write_header(&mut out, n, v);
    }
    write_header(&mut out, "Upgrade", "websocket");
    write_header(&mut out, "Connection", "Upgrade");
    if let Some(p) = subprotocol {
        if !is_token(p) {
            return Err(HandshakeError::InvalidArgument(format!(
                "subprotocol {p:?} is not a token"
            )));
        }
        write_header(&mut out, "Sec-WebSocket-Protocol", p);
    }
    if !extensions.is_empty() {
        let value = extensions_header(extensions)?;
        write_header(&mut out, "Sec-WebSocket-Extensions", &value);
    }
    write_header(&mut out, "Sec-WebSocket-Accept", &accept_key(key));
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// Renders extensions as one header value, refusing names that are not tokens.
pub(crate) fn extensions_header(extensions: &[Extension]) -> Result<String, HandshakeError> {
    for e in extensions {
        if !is_token(&e.name) || !e.params.iter().all(|(n, _)| is_token(n)) {
            return Err(HandshakeError::InvalidArgument(format!(
                "extension {:?} has a name or parameter that is not a token",
                e.name
            )));
        }
    }
    let value = extensions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    check_outgoing_header("Sec-WebSocket-Extensions", &value)?;
    Ok(value)
}

/// Standard reason phrase for the codes a handshake may answer.
fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        c if c < 400 => "Redirect",
        c if c < 500 => "Client Error",
        _ => "Server Error",
    }
}

/// Minimal HTML escaping for text placed in generated pages.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_response(code: u16, extra: &Headers, body: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(format!("HTTP/1.1 {code} {}\r\n", reason_phrase(code)).as_bytes());
    for (n, v) in extra {
        // These four are written below; anything else (e.g. Upgrade, or
        // Sec-WebSocket-Version on a 426) may be set.
        let reserved = [
            "Content-Type",
            "Content-Length",
            "Transfer-Encoding",
            "Connection",
        ]
        .iter()
        .any(|r| r.eq_ignore_ascii_case(n));
        match check_outgoing_header(n, v) {
            Ok(()) if !reserved => write_header(&mut out, n, v),
            _ => tracing::warn!(header = n, "dropping invalid or reserved header"),
        }
    }
    write_header(&mut out, "Content-Type", "text/html; charset=UTF-8");
    write_header(&mut out, "Content-Length", &body.len().to_string());
    write_header(&mut out, "Connection", "close");
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
    out
}

/// An HTTP error answer refusing the handshake (e.g. from a `ConnectionDeny`),
/// with a small HTML body showing `reason`, `Content-Length` and `Connection: close`.
///
/// Codes outside 300..=599 are answered as 500. Invalid or reserved `extra` headers
/// are dropped (logged), never written.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::handshake::server::deny_response;
/// use autobahn::websocket::types::Headers;
///
/// let mut extra = Headers::new();
/// extra.insert("Retry-After", "30");
/// let answer = deny_response(503, Some("too busy"), &extra);
/// let text = String::from_utf8_lossy(&answer);
/// assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
/// assert!(text.contains("Retry-After: 30\r\n") && text.contains("too busy"));
/// ```
pub fn deny_response(code: u16, reason: Option<&str>, extra: &Headers) -> Vec<u8> {
    let code = if (300..=599).contains(&code) {
        code
    } else {
        500
    };
    let phrase = reason_phrase(code);
    let detail = reason
        .map(|r| format!("<p>{}</p>", html_escape(r)))
        .unwrap_or_default();
    let body = format!(
        "<!DOCTYPE html><html><head><title>{code} - {phrase}</title></head>\
         <body><h1>{code} - {phrase}</h1>{detail}</body></html>"
    );
    html_response(code, extra, &body)
}

/// The error answer for a failed handshake: `err.http_status()`, its message as
/// reason, and the headers it requires (e.g. `Sec-WebSocket-Version: 13, 8`).
pub fn error_response(err: &HandshakeError, server: Option<&str>) -> Vec<u8> {
    let mut extra = err.response_headers();
    if let Some(s) = server {
        extra.append("Server", s);
    }
    deny_response(err.http_status(), Some(&err.to_string()), &extra)
}

/// The page shown for a plain HTTP GET (Autobahn's `webStatus`): `200 OK` saying
/// this is a WebSocket endpoint speaking `versions`, with `server` as `Server` header
/// and page title. With `server` `None` (or empty) neither names the server.
pub fn status_page_response(server: Option<&str>, versions: &[u8]) -> Vec<u8> {
    let server = server.filter(|s| !s.is_empty());
    let name = html_escape(server.unwrap_or("WebSocket endpoint"));
    let body = format!(
        "<!DOCTYPE html><html><head><title>{name}</title></head><body>\
         <h1>{name}</h1><p>This is a <b>WebSocket endpoint</b>, not a web server. \
         Talk to it with a WebSocket client (RFC 6455, versions {}).</p></body></html>",
        version_list(versions)
    );
    let mut extra = Headers::new();
    if let Some(s) = server {
        extra.append("Server", s);
    }
    html_response(200, &extra, &body)
}

/// The Flash socket policy answer: `policy` (a NUL is appended if missing) or, when
/// `None`, Autobahn's default allowing any domain to connect to `port`.
pub fn flash_policy_response(policy: Option<&str>, port: u16) -> Vec<u8> {
    let mut out = match policy {
        Some(p) => p.as_bytes().to_vec(),
        None => format!(
            "<cross-domain-policy>\n  <allow-access-from domain=\"*\" to-ports=\"{port}\" />\n</cross-domain-policy>"
        )
        .into_bytes(),
    };
    if out.last() != Some(&0) {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests;
