//! Client side of the opening handshake: request builder (RFC 6455 §4.1) and an
//! incremental parser/validator of the server's answer (§4.2.2, §4.1 steps 1–6).

use base64::Engine as _;
use rand::RngCore;

use super::head::{parse_response, HeadScanner};
use super::server::extensions_header;
use super::{
    accept_key, check_outgoing_header, has_token, is_token, parse_extensions, single, write_header,
    HandshakeError, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEADER_BYTES,
};
use crate::websocket::types::{ConnectionResponse, Headers};
use crate::websocket::url::ParsedUrl;

/// Default `User-Agent`: `AutobahnRust/<crate version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("AutobahnRust/", env!("CARGO_PKG_VERSION"));

/// Headers the request builder writes itself; user-supplied extra headers may not
/// repeat them.
const RESERVED: &[&str] = &[
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Sec-WebSocket-Origin",
    "Origin",
    "User-Agent",
    "Content-Length",
    "Transfer-Encoding",
];

/// Everything the client's opening request says (Autobahn's client factory
/// `url`/`origin`/`protocols`/`useragent`/`headers` plus extension offers).
///
/// # Examples
///
/// The whole opening handshake, sans-IO: the client's request, the server's parse and
/// answer, and the client's check of that answer.
///
/// ```
/// use autobahn::websocket::handshake::server::{
///     accept_response, ParsedRequest, RequestParser, ServerHandshakeConfig,
/// };
/// use autobahn::websocket::handshake::ClientHandshake;
/// use autobahn::websocket::types::Headers;
/// use autobahn::websocket::url::parse_url;
///
/// let mut client = ClientHandshake::from_url(&parse_url("ws://localhost:9000/chat")?);
/// client.protocols = vec!["chat.v2".into()];
/// let (request, key) = client.build_request()?;
///
/// let config = ServerHandshakeConfig::default();
/// let mut parser = RequestParser::new("tcp:127.0.0.1:50000", &config);
/// let Some(ParsedRequest::Upgrade(upgrade)) = parser.parse(&request, &config)? else {
///     panic!("not an upgrade request");
/// };
/// assert_eq!(upgrade.request.path, "/chat");
/// assert_eq!(upgrade.request.protocols, ["chat.v2"]);
/// let answer = accept_response(&upgrade.key, Some("chat.v2"), &[], &Headers::new(), None)?;
///
/// let mut check = client.response_parser(&key, "tcp:127.0.0.1:9000");
/// let (response, used) = check.parse(&answer)?.expect("complete answer");
/// assert_eq!(response.protocol.as_deref(), Some("chat.v2"));
/// assert_eq!(used, answer.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHandshake {
    /// Server host name or IP (IPv6 without brackets).
    pub host: String,
    /// Server port.
    pub port: u16,
    /// `wss` (only used to omit the default port from `Host`).
    pub is_secure: bool,
    /// Resource: escaped path plus optional `?query` (default `/`).
    pub resource: String,
    /// `Origin` to send (as `Sec-WebSocket-Origin` for version 8).
    pub origin: Option<String>,
    /// Subprotocols to offer, in order of preference.
    pub protocols: Vec<String>,
    /// `User-Agent`; `None` means [`DEFAULT_USER_AGENT`].
    pub useragent: Option<String>,
    /// Extra request headers (e.g. `Authorization`, cookies).
    pub headers: Headers,
    /// Extension offers, each as `Sec-WebSocket-Extensions` syntax
    /// (e.g. `permessage-deflate; client_max_window_bits`).
    pub extensions: Vec<String>,
    /// WebSocket version to speak: 13 (default) or 8.
    pub version: u8,
    /// Largest accepted response head in bytes.
    pub max_header_bytes: usize,
    /// Most response header lines accepted.
    pub max_headers: usize,
}

impl ClientHandshake {
    /// A handshake for `host:port` requesting `/` with version 13 and no options.
    pub fn new(host: impl Into<String>, port: u16, is_secure: bool) -> Self {
        Self {
            host: host.into(),
            port,
            is_secure,
            resource: "/".into(),
            origin: None,
            protocols: Vec::new(),
            useragent: None,
            headers: Headers::new(),
            extensions: Vec::new(),
            version: 13,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }

    /// A handshake for a parsed `ws://`/`wss://` URL.
    pub fn from_url(url: &ParsedUrl) -> Self {
        let mut h = Self::new(url.host.clone(), url.port, url.is_secure);
        h.resource.clone_from(&url.resource);
        h
    }

    /// Builds the request with a fresh random key; returns the bytes to send and
    /// the key (pass it to [`ClientHandshake::response_parser`]).
    pub fn build_request(&self) -> Result<(Vec<u8>, String), HandshakeError> {
        let key = generate_key();
        let bytes = self.build_request_with_key(&key)?;
        Ok((bytes, key))
    }

    /// Builds the request with a given `Sec-WebSocket-Key` (for tests; real clients
    /// use [`ClientHandshake::build_request`]).
    pub fn build_request_with_key(&self, key: &str) -> Result<Vec<u8>, HandshakeError> {
        let bad = |m: String| HandshakeError::InvalidArgument(m);
        if self.version != 13 && self.version != 8 {
            return Err(bad(format!(
                "unsupported WebSocket version {}",
                self.version
            )));
        }
        if !self.resource.starts_with('/')
            || !self.resource.bytes().all(|b| b.is_ascii_graphic())
            || self.resource.contains('#')
        {
            return Err(bad(format!("invalid resource {:?}", self.resource)));
        }
        let host_ok = !self.host.is_empty()
            && self
                .host
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"/?#@[]".contains(&b));
        if !host_ok {
            return Err(bad(format!("invalid host {:?}", self.host)));
        }
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default_port = if self.is_secure { 443 } else { 80 };
        let host = if self.port == default_port {
            host
        } else {
            format!("{host}:{}", self.port)
        };

        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(format!("GET {} HTTP/1.1\r\n", self.resource).as_bytes());
        let ua = self.useragent.as_deref().unwrap_or(DEFAULT_USER_AGENT);
        check_outgoing_header("User-Agent", ua)?;
        write_header(&mut out, "User-Agent", ua);
        write_header(&mut out, "Host", &host);
        write_header(&mut out, "Upgrade", "websocket");
        write_header(&mut out, "Connection", "Upgrade");
        write_header(&mut out, "Pragma", "no-cache");
        write_header(&mut out, "Cache-Control", "no-cache");
        for (n, v) in &self.headers {
            check_outgoing_header(n, v)?;
            if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(n)) {
                return Err(HandshakeError::InvalidOutgoingHeader {
                    name: n.to_owned(),
                    why: "reserved handshake header",
                });
            }
            write_header(&mut out, n, v);
        }
        if let Some(o) = &self.origin {
            let name = if self.version <= 12 {
                "Sec-WebSocket-Origin"
            } else {
                "Origin"
            };
            check_outgoing_header(name, o)?;
            write_header(&mut out, name, o);
        }
        if !self.protocols.is_empty() {
            if let Some(p) = self.protocols.iter().find(|p| !is_token(p)) {
                return Err(bad(format!("subprotocol {p:?} is not a token")));
            }
            write_header(
                &mut out,
                "Sec-WebSocket-Protocol",
                &self.protocols.join(", "),
            );
        }
        if !self.extensions.is_empty() {
            // Re-render parsed offers so only well-formed syntax goes on the wire.
            let parsed = parse_extensions(self.extensions.iter().map(String::as_str))
                .map_err(|e| bad(format!("extension offer: {e}")))?;
            if !parsed.is_empty() {
                write_header(
                    &mut out,
                    "Sec-WebSocket-Extensions",
                    &extensions_header(&parsed)?,
                );
            }
        }
        check_outgoing_header("Sec-WebSocket-Key", key)?;
        write_header(&mut out, "Sec-WebSocket-Key", key);
        write_header(&mut out, "Sec-WebSocket-Version", &self.version.to_string());
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }

    /// A parser for the server's answer to a request sent with `key`, to a server
    /// at transport address `peer`.
    pub fn response_parser(&self, key: &str, peer: impl Into<String>) -> ResponseParser {
        ResponseParser {
            scanner: HeadScanner::new(self.max_header_bytes, self.max_headers),
            expected_accept: accept_key(key),
            protocols: self.protocols.clone(),
            version: self.version,
            peer: peer.into(),
        }
    }
}

/// A random `Sec-WebSocket-Key`: base64 of 16 random bytes (RFC 6455 §4.1).
pub fn generate_key() -> String {
    let mut nonce = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut nonce);
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// Incremental parser and validator of the server's opening-handshake answer.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    scanner: HeadScanner,
    expected_accept: String,
    protocols: Vec<String>,
    version: u8,
    peer: String,
}

impl ResponseParser {
    /// Parses `buf`, the connection's receive buffer (which must only grow):
    /// `Ok(None)` until the head is complete, then the validated response and the
    /// number of bytes it used (later bytes are WebSocket frames for the caller).
    ///
    /// Whether the accepted extensions are acceptable is for the caller to check.
    pub fn parse(
        &mut self,
        buf: &[u8],
    ) -> Result<Option<(ConnectionResponse, usize)>, HandshakeError> {
        let Some(head) = self.scanner.scan(buf)? else {
            return Ok(None);
        };
        let resp = parse_response(buf, head)?;
        if resp.status != 101 {
            return Err(HandshakeError::UnexpectedStatus {
                status: resp.status,
                reason: resp.reason,
            });
        }
        if resp.minor_version != 1 {
            return Err(HandshakeError::HttpVersion);
        }
        let h = &resp.headers;
        if !has_token(h, "Upgrade", "websocket") {
            return Err(HandshakeError::NotWebSocketUpgrade);
        }
        if !has_token(h, "Connection", "upgrade") {
            return Err(HandshakeError::NoConnectionUpgrade);
        }
        let accept = single(h, "Sec-WebSocket-Accept")?
            .ok_or(HandshakeError::MissingHeader("Sec-WebSocket-Accept"))?;
        if accept != self.expected_accept {
            return Err(HandshakeError::AcceptMismatch);
        }
        let protocol = match single(h, "Sec-WebSocket-Protocol")? {
            None | Some("") => None,
            Some(p) if self.protocols.iter().any(|o| o == p) => Some(p.to_owned()),
            Some(p) => return Err(HandshakeError::UnexpectedProtocol(p.to_owned())),
        };
        let extensions = parse_extensions(h.get_all("Sec-WebSocket-Extensions"))?;
        Ok(Some((
            ConnectionResponse {
                peer: self.peer.clone(),
                headers: resp.headers,
                version: self.version,
                protocol,
                extensions,
            },
            head.end,
        )))
    }
}

#[cfg(test)]
mod tests;
