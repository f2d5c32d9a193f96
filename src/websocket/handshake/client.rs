//! Client side of the opening handshake: the request (RFC 6455 §4.1), as bytes or as
//! an `http::Request`, and the check of the server's answer (§4.2.2, §4.1 steps 1–6)
//! with the extension negotiation ([`ClientHandshake::negotiate`]).

mod response;

pub use response::ResponseParser;

use base64::Engine as _;
use rand::RngCore;

use super::server::extensions_header;
use super::{
    check_outgoing_header, is_token, parse_extensions, write_header, HandshakeError,
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEADER_BYTES,
};
use crate::websocket::types::Headers;
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
#[derive(Clone)]
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
    /// (e.g. `permessage-deflate; client_max_window_bits`), sent before
    /// [`Self::per_message_compression_offers`]. The server's answer may only accept
    /// permessage-deflate.
    pub extensions: Vec<String>,
    /// permessage-deflate offers, in order of preference (default none).
    #[cfg(feature = "deflate")]
    pub per_message_compression_offers: Vec<crate::websocket::deflate::PerMessageDeflateOffer>,
    /// Accepts (or refuses, failing the handshake) the server's permessage-deflate
    /// response (default [`accept_response`](crate::websocket::deflate::accept_response)).
    #[cfg(feature = "deflate")]
    pub per_message_compression_accept:
        Option<crate::websocket::deflate::PerMessageCompressionResponseAccept>,
    /// WebSocket version to speak: 13 (default) or 8.
    pub version: u8,
    /// Largest accepted response head in bytes.
    pub max_header_bytes: usize,
    /// Most response header lines accepted.
    pub max_headers: usize,
}

impl std::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("ClientHandshake");
        d.field("host", &self.host)
            .field("port", &self.port)
            .field("is_secure", &self.is_secure)
            .field("resource", &self.resource)
            .field("origin", &self.origin)
            .field("protocols", &self.protocols)
            .field("useragent", &self.useragent)
            .field("headers", &self.headers)
            .field("extensions", &self.extensions);
        #[cfg(feature = "deflate")]
        d.field(
            "per_message_compression_offers",
            &self.per_message_compression_offers,
        );
        d.field("version", &self.version)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("max_headers", &self.max_headers)
            .finish_non_exhaustive()
    }
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
            #[cfg(feature = "deflate")]
            per_message_compression_offers: Vec::new(),
            #[cfg(feature = "deflate")]
            per_message_compression_accept: Some(std::sync::Arc::new(
                crate::websocket::deflate::accept_response,
            )),
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
        let headers = self.request_headers(key)?;
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(format!("GET {} HTTP/1.1\r\n", self.resource).as_bytes());
        for (n, v) in &headers {
            write_header(&mut out, n, v);
        }
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }

    /// The request as an `http::Request` with a fresh random key, for an HTTP client
    /// that performs the upgrade itself; returns it and the key (for
    /// [`Self::check_response`]). The URI is the resource (origin-form); `Host` is a
    /// header.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::handshake::ClientHandshake;
    /// use autobahn::websocket::url::parse_url;
    ///
    /// let mut client = ClientHandshake::from_url(&parse_url("ws://localhost:9000/chat?room=1")?);
    /// client.protocols = vec!["chat.v2".into(), "chat.v1".into()];
    /// let (request, key) = client.http_request()?;
    /// assert_eq!(request.uri(), "/chat?room=1");
    /// assert_eq!(request.headers()["host"], "localhost:9000");
    /// assert_eq!(request.headers()["sec-websocket-protocol"], "chat.v2, chat.v1");
    /// assert_eq!(request.headers()["sec-websocket-key"], key.as_str());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_request(&self) -> Result<(http::Request<()>, String), HandshakeError> {
        let key = generate_key();
        let request = self.http_request_with_key(&key)?;
        Ok((request, key))
    }

    /// [`Self::http_request`] with a given `Sec-WebSocket-Key`. Refuses what
    /// [`Self::build_request_with_key`] refuses, and a resource `http::Uri` does not take.
    pub fn http_request_with_key(&self, key: &str) -> Result<http::Request<()>, HandshakeError> {
        let headers = self.request_headers(key)?;
        let uri = http::Uri::try_from(self.resource.as_str()).map_err(|_| {
            HandshakeError::InvalidArgument(format!("invalid resource {:?}", self.resource))
        })?;
        let mut request = http::Request::new(());
        *request.uri_mut() = uri;
        let map = request.headers_mut();
        for (n, v) in &headers {
            let bad = |why| HandshakeError::InvalidOutgoingHeader {
                name: n.to_owned(),
                why,
            };
            let name = http::HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| bad("name is not an HTTP token"))?;
            let value = http::HeaderValue::from_str(v)
                .map_err(|_| bad("value contains control characters (CR/LF/NUL...)"))?;
            map.append(name, value);
        }
        Ok(request)
    }

    /// The request's headers in the order written, after checking every value that
    /// goes into the request.
    fn request_headers(&self, key: &str) -> Result<Headers, HandshakeError> {
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

        let mut out = Headers::with_capacity(12 + self.headers.len());
        let ua = self.useragent.as_deref().unwrap_or(DEFAULT_USER_AGENT);
        check_outgoing_header("User-Agent", ua)?;
        out.append("User-Agent", ua);
        out.append("Host", host);
        out.append("Upgrade", "websocket");
        out.append("Connection", "Upgrade");
        out.append("Pragma", "no-cache");
        out.append("Cache-Control", "no-cache");
        for (n, v) in &self.headers {
            check_outgoing_header(n, v)?;
            if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(n)) {
                return Err(HandshakeError::InvalidOutgoingHeader {
                    name: n.to_owned(),
                    why: "reserved handshake header",
                });
            }
            out.append(n, v);
        }
        if let Some(o) = &self.origin {
            let name = if self.version <= 12 {
                "Sec-WebSocket-Origin"
            } else {
                "Origin"
            };
            check_outgoing_header(name, o)?;
            out.append(name, o);
        }
        if !self.protocols.is_empty() {
            if let Some(p) = self.protocols.iter().find(|p| !is_token(p)) {
                return Err(bad(format!("subprotocol {p:?} is not a token")));
            }
            out.append("Sec-WebSocket-Protocol", self.protocols.join(", "));
        }
        let offers = self.extension_offers();
        if !offers.is_empty() {
            // Re-render parsed offers so only well-formed syntax goes on the wire.
            let parsed = parse_extensions(offers.iter().map(String::as_str))
                .map_err(|e| bad(format!("extension offer: {e}")))?;
            if !parsed.is_empty() {
                out.append("Sec-WebSocket-Extensions", extensions_header(&parsed)?);
            }
        }
        check_outgoing_header("Sec-WebSocket-Key", key)?;
        out.append("Sec-WebSocket-Key", key);
        out.append("Sec-WebSocket-Version", self.version.to_string());
        Ok(out)
    }

    /// Every extension offer as header syntax: [`Self::extensions`], then the
    /// permessage-deflate offers.
    fn extension_offers(&self) -> Vec<String> {
        #[allow(unused_mut)]
        let mut offers = self.extensions.clone();
        #[cfg(feature = "deflate")]
        offers.extend(
            self.per_message_compression_offers
                .iter()
                .map(|o| o.to_extension_string()),
        );
        offers
    }
}

/// A random `Sec-WebSocket-Key`: base64 of 16 random bytes (RFC 6455 §4.1).
pub fn generate_key() -> String {
    let mut nonce = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut nonce);
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

#[cfg(test)]
mod tests;
