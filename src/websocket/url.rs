//! WebSocket URL helpers mirroring `autobahn.websocket.util`: [`create_url`] and
//! [`parse_url`].

use std::collections::BTreeMap;

/// Components of a WebSocket URL, as Autobahn's `parse_url` returns them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedUrl {
    /// `true` for `wss`.
    pub is_secure: bool,
    /// Host name or IP address (IPv6 without brackets), lower-cased.
    pub host: String,
    /// Explicit port, or 80 for `ws` and 443 for `wss`.
    pub port: u16,
    /// Path plus `?query` exactly as they go on the request line (still escaped).
    pub resource: String,
    /// Path, percent-decoded.
    pub path: String,
    /// Query parameters, percent-decoded; blank values dropped (like `parse_qs`).
    pub params: BTreeMap<String, Vec<String>>,
}

/// Why a WebSocket URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// Not a URL at all (the URL parser's error is the source).
    #[error("not a URL")]
    Invalid(#[source] ::url::ParseError),
    /// The scheme is not `ws` or `wss`.
    #[error("protocol scheme {0:?} is not for WebSocket")]
    Scheme(String),
    /// No host.
    #[error("missing hostname")]
    MissingHost,
    /// A non-empty fragment (not allowed in WebSocket URLs, RFC 6455 §3).
    #[error("non-empty fragment {0:?}")]
    Fragment(String),
}

/// Parses a WebSocket URL such as `ws://localhost:9000/myresource?param1=23&param2=456`.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::url::parse_url;
///
/// let url = parse_url("wss://Example.com/chat?room=a%20b")?;
/// assert!(url.is_secure);
/// assert_eq!((url.host.as_str(), url.port), ("example.com", 443));
/// assert_eq!(url.resource, "/chat?room=a%20b");
/// assert_eq!(url.params["room"], ["a b"]);
/// assert!(parse_url("http://example.com").is_err());
/// # Ok::<(), autobahn::websocket::url::UrlError>(())
/// ```
pub fn parse_url(url: &str) -> Result<ParsedUrl, UrlError> {
    let u = ::url::Url::parse(url).map_err(UrlError::Invalid)?;
    let is_secure = match u.scheme() {
        "ws" => false,
        "wss" => true,
        other => return Err(UrlError::Scheme(other.to_owned())),
    };
    if let Some(f) = u.fragment() {
        if !f.is_empty() {
            return Err(UrlError::Fragment(f.to_owned()));
        }
    }
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(UrlError::MissingHost)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_owned();
    let port = u
        .port_or_known_default()
        .unwrap_or(if is_secure { 443 } else { 80 });
    let raw_path = if u.path().is_empty() { "/" } else { u.path() };
    let (resource, params) = match u.query() {
        Some(q) if !q.is_empty() => (format!("{raw_path}?{q}"), parse_query(q)),
        _ => (raw_path.to_owned(), BTreeMap::new()),
    };
    Ok(ParsedUrl {
        is_secure,
        host,
        port,
        resource,
        path: percent_decode(raw_path),
        params,
    })
}

/// Builds a WebSocket URL from components. The port is always written (80/443 when
/// `None`, as Autobahn does); `path` (default `/`) and `params` are escaped.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::url::create_url;
///
/// assert_eq!(create_url("localhost", Some(9000), false, None, &[]), "ws://localhost:9000/");
/// assert_eq!(
///     create_url("::1", None, true, Some("/a b"), &[("q", "x&y")]),
///     "wss://[::1]:443/a%20b?q=x%26y"
/// );
/// ```
pub fn create_url(
    hostname: &str,
    port: Option<u16>,
    is_secure: bool,
    path: Option<&str>,
    params: &[(&str, &str)],
) -> String {
    let scheme = if is_secure { "wss" } else { "ws" };
    let port = port.unwrap_or(if is_secure { 443 } else { 80 });
    let host = if hostname.contains(':') && !hostname.starts_with('[') {
        format!("[{hostname}]")
    } else {
        hostname.to_owned()
    };
    let path = match path {
        Some(p) => quote(p, b"/", false),
        None => "/".to_owned(),
    };
    let mut url = format!("{scheme}://{host}:{port}{path}");
    if !params.is_empty() {
        url.push('?');
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", quote(k, b"", true), quote(v, b"", true)))
            .collect();
        url.push_str(&query.join("&"));
    }
    url
}

/// Python's `quote`/`quote_plus`: keeps ASCII alphanumerics, `_.-~` and `safe`,
/// writes `%XX` for every other byte (space as `+` when `plus`).
fn quote(s: &str, safe: &[u8], plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.contains(&b) {
            out.push(char::from(b));
        } else if plus && b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (like Python's `unquote`): malformed escapes are kept
/// literally, invalid UTF-8 is replaced by U+FFFD. `+` is left alone.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::url::percent_decode;
///
/// assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
/// ```
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = |j: usize| b.get(j).and_then(|&h| char::from(h).to_digit(16));
            if let (Some(hi), Some(lo)) = (hex(i + 1), hex(i + 2)) {
                // hi, lo < 16, so this fits a byte.
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parsing like Python's `parse_qs`: repeated keys collect values, blank
/// values are dropped, `+` means space.
pub(crate) fn parse_query(query: &str) -> BTreeMap<String, Vec<String>> {
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in ::url::form_urlencoded::parse(query.as_bytes()) {
        if !v.is_empty() {
            params
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_seed_example() {
        let u = parse_url("ws://localhost:9000/myresource?param1=23&param2=456&param1=7").unwrap();
        assert!(!u.is_secure);
        assert_eq!(u.host, "localhost");
        assert_eq!(u.port, 9000);
        assert_eq!(u.resource, "/myresource?param1=23&param2=456&param1=7");
        assert_eq!(u.path, "/myresource");
        assert_eq!(u.params["param1"], ["23", "7"]);
        assert_eq!(u.params["param2"], ["456"]);
    }

    #[test]
    fn parse_defaults_and_escapes() {
        let u = parse_url("wss://Example.COM").unwrap();
        assert!(u.is_secure);
        assert_eq!((u.host.as_str(), u.port), ("example.com", 443));
        assert_eq!((u.resource.as_str(), u.path.as_str()), ("/", "/"));
        assert!(u.params.is_empty());
        let u = parse_url("ws://h/a%20b/c?x=1%202&y=&z=a+b#").unwrap();
        assert_eq!(u.port, 80);
        assert_eq!(u.path, "/a b/c");
        assert_eq!(u.resource, "/a%20b/c?x=1%202&y=&z=a+b");
        assert_eq!(u.params["x"], ["1 2"]);
        assert_eq!(u.params["z"], ["a b"]);
        assert!(!u.params.contains_key("y"));
        let u = parse_url("ws://[::1]:8080/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 8080));
        assert_eq!(parse_url("ws://h:80/").unwrap().port, 80);
    }

    #[test]
    fn parse_errors() {
        assert!(matches!(parse_url("http://h/"), Err(UrlError::Scheme(s)) if s == "http"));
        assert!(matches!(
            parse_url("ws://h/#frag"),
            Err(UrlError::Fragment(_))
        ));
        assert!(matches!(parse_url("not a url"), Err(UrlError::Invalid(_))));
        assert!(parse_url("ws://").is_err());
        assert!(parse_url("ws://h:99999/").is_err());
        assert!(matches!(parse_url("tcp://h:1"), Err(UrlError::Scheme(_))));
    }

    #[test]
    fn create() {
        assert_eq!(
            create_url("localhost", None, false, None, &[]),
            "ws://localhost:80/"
        );
        assert_eq!(create_url("h", None, true, None, &[]), "wss://h:443/");
        assert_eq!(
            create_url(
                "h",
                Some(9000),
                false,
                Some("/a b/ü"),
                &[("k y", "v&=1"), ("x", "~.")]
            ),
            "ws://h:9000/a%20b/%C3%BC?k+y=v%26%3D1&x=~."
        );
        assert_eq!(
            create_url("::1", Some(1), false, None, &[]),
            "ws://[::1]:1/"
        );
        // Round trip.
        let s = create_url("h", Some(9000), true, Some("/p q"), &[("a", "1 2")]);
        let u = parse_url(&s).unwrap();
        assert_eq!(
            (u.path.as_str(), u.params["a"][0].as_str()),
            ("/p q", "1 2")
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/a%2Fb%zz%4"), "/a/b%zz%4");
        assert_eq!(percent_decode("%C3%A9+"), "é+");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
        assert_eq!(percent_decode("%"), "%");
    }
}
