//! Values exchanged with user code during the opening handshake, mirroring
//! `autobahn.websocket.types`: [`ConnectionRequest`], [`ConnectionResponse`],
//! [`ConnectionAccept`], [`ConnectionDeny`], plus the [`Headers`] multi-map and the
//! [`Extension`] offer/response element they carry.

use std::collections::BTreeMap;
use std::fmt;

use super::peer::PeerAddr;

/// An ordered multi-map of HTTP header `(name, value)` pairs.
///
/// Order and duplicates are kept as received; look-ups by name are ASCII
/// case-insensitive, as HTTP field names are.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::types::Headers;
///
/// let mut h = Headers::new();
/// h.insert("Set-Cookie", "a=1");
/// h.append("set-cookie", "b=2"); // names are case-insensitive
/// assert_eq!(h.get("SET-COOKIE"), Some("a=1"));
/// assert_eq!(h.get_all("Set-Cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
/// h.insert("Set-Cookie", "c=3"); // insert replaces every value
/// assert_eq!(h.count("set-cookie"), 1);
/// assert_eq!(h.remove("set-cookie"), 1);
/// assert!(h.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// An empty header map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty header map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// The first value of header `name` (case-insensitive), if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of header `name` (case-insensitive), in order of appearance.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many times header `name` (case-insensitive) occurs.
    pub fn count(&self, name: &str) -> usize {
        self.get_all(name).count()
    }

    /// Whether header `name` (case-insensitive) occurs at least once.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All `(name, value)` pairs in order.
    pub fn iter(&self) -> HeadersIter<'_> {
        HeadersIter(self.entries.iter())
    }

    /// Sets header `name` to `value`, removing every earlier value of that name.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.remove(&name);
        self.entries.push((name, value.into()));
    }

    /// Adds a `(name, value)` pair, keeping earlier values of the same name.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Removes every value of header `name` (case-insensitive); returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.entries.len();
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        before - self.entries.len()
    }

    /// Number of `(name, value)` pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<T: IntoIterator<Item = (N, V)>>(iter: T) -> Self {
        Self {
            entries: iter
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }
}

impl<N: Into<String>, V: Into<String>> Extend<(N, V)> for Headers {
    fn extend<T: IntoIterator<Item = (N, V)>>(&mut self, iter: T) {
        self.entries
            .extend(iter.into_iter().map(|(n, v)| (n.into(), v.into())));
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a str);
    type IntoIter = HeadersIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the `(name, value)` pairs of [`Headers`], in order.
#[derive(Debug, Clone)]
pub struct HeadersIter<'a>(std::slice::Iter<'a, (String, String)>);

impl<'a> Iterator for HeadersIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

/// One element of a `Sec-WebSocket-Extensions` header: an extension name and its
/// parameters (RFC 6455 §9.1).
///
/// `Display` renders header syntax, e.g. `permessage-deflate; client_max_window_bits`;
/// values that are not HTTP tokens are written as quoted strings.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::types::Extension;
///
/// let ext = Extension::new("permessage-deflate")
///     .with_param("client_max_window_bits", None)
///     .with_param("server_max_window_bits", Some("10".into()));
/// assert_eq!(ext.param("server_max_window_bits"), Some(Some("10")));
/// assert_eq!(ext.param("client_max_window_bits"), Some(None)); // present, no value
/// assert_eq!(ext.param("server_no_context_takeover"), None); // absent
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order: name and optional value (already unquoted).
    pub params: Vec<(String, Option<String>)>,
}

impl Extension {
    /// An extension without parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter (builder style).
    pub fn with_param(mut self, name: impl Into<String>, value: Option<String>) -> Self {
        self.params.push((name.into(), value));
        self
    }

    /// The first parameter named `name` (case-insensitive): `None` if absent,
    /// `Some(None)` if present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            write!(f, "; {name}")?;
            if let Some(v) = value {
                if !v.is_empty() && v.bytes().all(is_tchar) {
                    write!(f, "={v}")?;
                } else {
                    f.write_str("=\"")?;
                    for c in v.chars() {
                        if c == '"' || c == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("\"")?;
                }
            }
        }
        Ok(())
    }
}

/// Whether `b` is an RFC 7230 `tchar` (a byte allowed in an HTTP token).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// What a client asked for in its opening handshake; handed to a server's `on_connect`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionRequest {
    /// Descriptor of the connecting client (e.g. `tcp:1.2.3.4:5678`, or the trusted
    /// `X-Forwarded-For` address).
    pub peer: String,
    /// The address of the connection's other end, typed: the client's, or with a
    /// trusted `X-Forwarded-For` the nearest proxy's (then [`Self::peer`] names the
    /// client). [`PeerAddr::Other`] when the request came over a stream the server did
    /// not accept itself and was given no `tcp:`/`unix:` descriptor for.
    pub peer_addr: PeerAddr,
    /// HTTP headers of the request, as received.
    pub headers: Headers,
    /// The `Host` header value.
    pub host: String,
    /// Path of the requested resource, percent-decoded (`/myservice`).
    pub path: String,
    /// Query parameters, percent-decoded; repeated keys collect all values
    /// (`?foo=23&foo=66` → `{"foo": ["23", "66"]}`). Blank values are dropped, as
    /// Python's `parse_qs` does.
    pub params: BTreeMap<String, Vec<String>>,
    /// WebSocket protocol version the client announced (13 or 8).
    pub version: u8,
    /// The `Origin` (or, for version 8, `Sec-WebSocket-Origin`) header, if sent.
    /// Only meaningful for browser clients.
    pub origin: Option<String>,
    /// Subprotocols the client announced, in order of preference.
    pub protocols: Vec<String>,
    /// Extensions the client offered, in order.
    pub extensions: Vec<Extension>,
}

/// What a server answered in the opening handshake; handed to a client's `on_connect`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionResponse {
    /// Descriptor of the server connected to: `tcp:ip:port` of the socket (not the URL's
    /// host name), `unix:path`, or for a stream connected elsewhere `tcp:host:port` of
    /// the URL.
    pub peer: String,
    /// The address of the socket connected to, typed (through an HTTP proxy: the
    /// proxy's); [`PeerAddr::Other`] for a stream connected elsewhere
    /// ([`connect_stream`](super::WebSocketClientFactory::connect_stream)).
    pub peer_addr: PeerAddr,
    /// HTTP headers of the response, as received.
    pub headers: Headers,
    /// WebSocket protocol version spoken.
    pub version: u8,
    /// The subprotocol the server selected, if any.
    pub protocol: Option<String>,
    /// Extensions the server accepted (to be checked by the caller against its offers).
    pub extensions: Vec<Extension>,
}

/// A server's decision to accept a connection, optionally selecting a subprotocol
/// and adding headers (e.g. cookies) to the `101` response.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::types::ConnectionAccept;
///
/// let accept = ConnectionAccept::with_subprotocol("wamp.2.json").header("Set-Cookie", "id=1");
/// assert_eq!(accept.subprotocol.as_deref(), Some("wamp.2.json"));
/// assert_eq!(accept.headers.get("set-cookie"), Some("id=1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionAccept {
    /// The selected subprotocol; must be one the client announced.
    pub subprotocol: Option<String>,
    /// Extra headers for the `101 Switching Protocols` response.
    pub headers: Headers,
}

impl ConnectionAccept {
    /// Accept without subprotocol or extra headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accept selecting `protocol`.
    pub fn with_subprotocol(protocol: impl Into<String>) -> Self {
        Self {
            subprotocol: Some(protocol.into()),
            headers: Headers::new(),
        }
    }

    /// Adds an extra response header (builder style). Values are checked when the
    /// response is built: CR, LF and other control characters are refused.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }
}

impl From<Option<String>> for ConnectionAccept {
    fn from(subprotocol: Option<String>) -> Self {
        Self {
            subprotocol,
            headers: Headers::new(),
        }
    }
}

/// A server's refusal of a connection during the opening handshake, answered with
/// an HTTP error status (`code`) and an optional reason.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::types::ConnectionDeny;
///
/// let deny = ConnectionDeny::new(ConnectionDeny::FORBIDDEN, Some("members only"));
/// assert_eq!(deny.to_string(), "connection denied (403): members only");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionDeny {
    /// HTTP status code to answer.
    pub code: u16,
    /// Human-readable reason (shown in the response body).
    pub reason: Option<String>,
}

impl ConnectionDeny {
    /// HTTP 400.
    pub const BAD_REQUEST: u16 = 400;
    /// HTTP 403.
    pub const FORBIDDEN: u16 = 403;
    /// HTTP 404.
    pub const NOT_FOUND: u16 = 404;
    /// HTTP 406.
    pub const NOT_ACCEPTABLE: u16 = 406;
    /// HTTP 408.
    pub const REQUEST_TIMEOUT: u16 = 408;
    /// HTTP 500.
    pub const INTERNAL_SERVER_ERROR: u16 = 500;
    /// HTTP 501.
    pub const NOT_IMPLEMENTED: u16 = 501;
    /// HTTP 503.
    pub const SERVICE_UNAVAILABLE: u16 = 503;

    /// A denial with status `code` and an optional reason.
    pub fn new(code: u16, reason: Option<impl Into<String>>) -> Self {
        Self {
            code,
            reason: reason.map(Into::into),
        }
    }
}

impl fmt::Display for ConnectionDeny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Some(r) => write!(f, "connection denied ({}): {}", self.code, r),
            None => write!(f, "connection denied ({})", self.code),
        }
    }
}

impl std::error::Error for ConnectionDeny {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_case_insensitive_multi() {
        let mut h = Headers::new();
        h.append("Set-Cookie", "a=1");
        h.append("X-Other", "x");
        h.append("set-cookie", "b=2");
        assert_eq!(h.get("SET-COOKIE"), Some("a=1"));
        assert_eq!(h.get_all("set-Cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
        assert_eq!(h.count("set-cookie"), 2);
        assert_eq!(h.len(), 3);
        assert!(h.get("missing").is_none());
        h.insert("SET-cookie", "c=3");
        assert_eq!(h.get_all("set-cookie").collect::<Vec<_>>(), ["c=3"]);
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("X-Other", "x"), ("SET-cookie", "c=3")]
        );
        assert_eq!(h.remove("x-other"), 1);
        assert_eq!((&h).into_iter().count(), 1);
    }

    #[test]
    fn extension_display_quotes_when_needed() {
        let e = Extension::new("permessage-deflate")
            .with_param("client_max_window_bits", None)
            .with_param("server_max_window_bits", Some("10".into()))
            .with_param("x", Some("a b\"c\\".into()))
            .with_param("empty", Some(String::new()));
        assert_eq!(
            e.to_string(),
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10; \
             x=\"a b\\\"c\\\\\"; empty=\"\""
        );
        assert_eq!(e.param("SERVER_max_window_bits"), Some(Some("10")));
        assert_eq!(e.param("client_max_window_bits"), Some(None));
        assert_eq!(e.param("nope"), None);
    }

    #[test]
    fn deny_display_and_error() {
        let d = ConnectionDeny::new(ConnectionDeny::FORBIDDEN, Some("go away"));
        assert_eq!(d.to_string(), "connection denied (403): go away");
        let e: Box<dyn std::error::Error> = Box::new(ConnectionDeny::new(404, None::<String>));
        assert_eq!(e.to_string(), "connection denied (404)");
        assert_eq!(ConnectionDeny::SERVICE_UNAVAILABLE, 503);
    }

    #[test]
    fn accept_builders() {
        let a = ConnectionAccept::with_subprotocol("wamp.2.json").header("Set-Cookie", "x=1");
        assert_eq!(a.subprotocol.as_deref(), Some("wamp.2.json"));
        assert_eq!(a.headers.get("set-cookie"), Some("x=1"));
        assert_eq!(ConnectionAccept::from(None), ConnectionAccept::new());
    }
}
