//! Origin checking for WebSocket servers, with Autobahn's `allowedOrigins` /
//! `allowNullOrigin` semantics.
//!
//! Patterns such as `https://*.example.com:443` are matched against the origin
//! normalized to `scheme://host:port` with an explicit port (80 for `http`/`ws`, 443
//! for `https`/`wss`). A pattern must match the whole origin; `*` matches any run of
//! characters and everything else is literal — a `.` is a dot (Autobahn's regex
//! translation made it "any character", see its security fix #691). Matching is
//! ASCII case-insensitive and linear-time per pattern segment (no backtracking).
//!
//! An absent `Origin` header is allowed (non-browser clients send none); the opaque
//! origin `null` is allowed only when `allow_null_origin` is set, whatever the patterns.

use crate::websocket::handshake::HandshakeError;

/// A pre-compiled `*`-wildcard pattern, anchored at both ends.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::origin::WildcardPattern;
///
/// let p = WildcardPattern::new("https://*.example.com:443");
/// assert!(p.matches("https://www.example.com:443"));
/// assert!(!p.matches("https://evil.org:443"));
/// assert!(WildcardPattern::new("*").is_match_all());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WildcardPattern {
    /// The literal pieces between `*`s (lower-cased); one piece means no `*`.
    segments: Vec<String>,
}

impl WildcardPattern {
    /// Compiles `pattern`; `*` is the only special character.
    pub fn new(pattern: &str) -> Self {
        Self {
            segments: pattern
                .to_ascii_lowercase()
                .split('*')
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether the pattern matches all of `text` (ASCII case-insensitive).
    pub fn matches(&self, text: &str) -> bool {
        let text = text.to_ascii_lowercase();
        let text = text.as_str();
        let (first, rest) = match self.segments.split_first() {
            Some(x) => x,
            None => return text.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return text == first;
        };
        // Prefix and suffix must both fit without overlapping.
        if text.len() < first.len() + last.len()
            || !text.starts_with(first.as_str())
            || !text.ends_with(last.as_str())
        {
            return false;
        }
        let Some(mut inner) = text.get(first.len()..text.len() - last.len()) else {
            return false;
        };
        // With only `*` as wildcard, taking the leftmost occurrence of each middle
        // piece is optimal, so no backtracking is needed.
        for seg in middle {
            match inner.find(seg.as_str()) {
                Some(i) => inner = inner.get(i + seg.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }

    /// Whether this pattern is a lone `*` (matches anything).
    pub fn is_match_all(&self) -> bool {
        self.segments.len() == 2 && self.segments.iter().all(String::is_empty)
    }
}

/// A parsed `Origin` header value.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::origin::Origin;
///
/// let o = Origin::parse("HTTPS://Example.com")?;
/// assert_eq!(o.serialize(), "https://example.com:443");
/// assert_eq!(Origin::parse("null")?, Origin::Null);
/// assert!(Origin::parse("https://example.com/path").is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The opaque origin `null` (also used for `file:` origins, as Autobahn does).
    Null,
    /// A tuple origin.
    Tuple {
        /// Lower-cased scheme.
        scheme: String,
        /// Lower-cased host (IPv6 literals keep their brackets).
        host: String,
        /// Explicit or default port.
        port: u16,
    },
}

impl Origin {
    /// Parses an origin such as `https://Example.com` or `http://[::1]:8080`.
    ///
    /// Strict: userinfo, paths other than `/`, queries, fragments, non-ASCII hosts
    /// and schemes without a known default port (unless a port is given) are errors.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim_matches(|c| c == ' ' || c == '\t');
        if s.eq_ignore_ascii_case("null") {
            return Ok(Origin::Null);
        }
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| "origin has no scheme".to_owned())?;
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err("invalid origin scheme".into());
        }
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "file" {
            return Ok(Origin::Null);
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| "unterminated IPv6 literal".to_owned())?;
            if addr.is_empty()
                || !addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err("invalid IPv6 literal".into());
            }
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| "junk after host".to_owned())?,
                ),
            };
            (format!("[{}]", addr.to_ascii_lowercase()), port)
        } else {
            let (host, port) = match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            let host_ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            if !host_ok {
                return Err("invalid origin host".into());
            }
            (host.to_ascii_lowercase(), port)
        };
        let port = match port {
            Some(p) => {
                if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("invalid origin port".into());
                }
                p.parse::<u16>()
                    .map_err(|_| "origin port out of range".to_owned())?
            }
            None => match scheme.as_str() {
                "http" | "ws" => 80,
                "https" | "wss" => 443,
                _ => return Err(format!("no default port for scheme {scheme:?}")),
            },
        };
        Ok(Origin::Tuple { scheme, host, port })
    }

    /// `scheme://host:port` (explicit port), or `null`.
    pub fn serialize(&self) -> String {
        match self {
            Origin::Null => "null".into(),
            Origin::Tuple { scheme, host, port } => format!("{scheme}://{host}:{port}"),
        }
    }
}

/// Which origins a server accepts (Autobahn's `allowedOrigins` + `allowNullOrigin`).
///
/// # Examples
///
/// The sans-IO check, and the same policy on a server through its options:
///
/// ```
/// use autobahn::websocket::origin::OriginPolicy;
/// use autobahn::websocket::WebSocketServerFactory;
///
/// let policy = OriginPolicy::new(["https://*.example.com:443", "http://localhost:8080"], false);
/// assert!(policy.is_allowed(Some("https://app.example.com")));
/// assert!(policy.is_allowed(None)); // no Origin header: not a browser
/// assert!(!policy.is_allowed(Some("null")));
/// assert_eq!(policy.check(Some("https://evil.org")).unwrap_err().http_status(), 403);
///
/// let mut factory = WebSocketServerFactory::new("ws://localhost:9000");
/// let options = factory.options_mut();
/// options.allowed_origins = vec!["https://*.example.com:443".into()];
/// options.allow_null_origin = false;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPolicy {
    patterns: Vec<WildcardPattern>,
    allow_all: bool,
    allow_null: bool,
}

impl Default for OriginPolicy {
    /// Every origin except `null` (Autobahn's default `allowedOrigins=['*']`).
    fn default() -> Self {
        Self::new(["*"], false)
    }
}

impl OriginPolicy {
    /// A policy from wildcard patterns (compiled once here). An empty list allows
    /// only requests without `Origin`.
    pub fn new<I, S>(patterns: I, allow_null_origin: bool) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns: Vec<_> = patterns
            .into_iter()
            .map(|p| WildcardPattern::new(p.as_ref()))
            .collect();
        Self {
            allow_all: patterns.iter().any(WildcardPattern::is_match_all),
            patterns,
            allow_null: allow_null_origin,
        }
    }

    /// Whether the `null` origin is accepted.
    pub fn allows_null_origin(&self) -> bool {
        self.allow_null
    }

    /// Checks an `Origin` header value (`None` when the header is absent).
    ///
    /// Errors are [`HandshakeError::OriginNotAllowed`] (HTTP 403).
    pub fn check(&self, origin: Option<&str>) -> Result<(), HandshakeError> {
        let Some(raw) = origin else {
            return Ok(());
        };
        let denied = || HandshakeError::OriginNotAllowed(raw.to_owned());
        if raw.trim().eq_ignore_ascii_case("null") {
            return if self.allow_null {
                Ok(())
            } else {
                Err(denied())
            };
        }
        if self.allow_all {
            return Ok(());
        }
        match Origin::parse(raw) {
            Ok(Origin::Null) if self.allow_null => Ok(()),
            Ok(o @ Origin::Tuple { .. }) => {
                let s = o.serialize();
                if self.patterns.iter().any(|p| p.matches(&s)) {
                    Ok(())
                } else {
                    tracing::debug!(origin = %s, "origin not in allowed_origins");
                    Err(denied())
                }
            }
            Ok(Origin::Null) => Err(denied()),
            Err(why) => {
                tracing::debug!(origin = raw, why, "unparsable origin");
                Err(denied())
            }
        }
    }

    /// `check(origin).is_ok()`.
    pub fn is_allowed(&self, origin: Option<&str>) -> bool {
        self.check(origin).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol(p: &[&str]) -> OriginPolicy {
        OriginPolicy::new(p.iter().copied(), false)
    }

    #[test]
    fn wildcard_basics() {
        let p = WildcardPattern::new("a*b*c");
        assert!(p.matches("abc"));
        assert!(p.matches("aXbYc"));
        assert!(p.matches("abbbc"));
        assert!(p.matches("ABC"));
        assert!(!p.matches("ab"));
        assert!(!p.matches("ac"));
        assert!(!p.matches("abcd"));
        assert!(!p.matches("xabc"));
        let lit = WildcardPattern::new("a.b");
        assert!(lit.matches("a.b"));
        assert!(!lit.matches("aXb"));
        assert!(WildcardPattern::new("*").matches(""));
        assert!(WildcardPattern::new("*").is_match_all());
        assert!(!WildcardPattern::new("**a").is_match_all());
        // Prefix and suffix may not overlap.
        assert!(!WildcardPattern::new("aa*aa").matches("aaa"));
        assert!(WildcardPattern::new("aa*aa").matches("aaaa"));
        // Non-ASCII text never panics on boundaries.
        assert!(WildcardPattern::new("é*é").matches("éxé"));
        assert!(!WildcardPattern::new("é*é").matches("é"));
    }

    #[test]
    fn wildcard_no_exponential_blowup() {
        let p = WildcardPattern::new(&"a*".repeat(50).to_string());
        let text = "a".repeat(49) + "b";
        assert!(p.matches(&"a".repeat(60)));
        assert!(!WildcardPattern::new(&("a*".repeat(50) + "c")).matches(&text));
    }

    #[test]
    fn parse_and_normalize() {
        let n = |s: &str| Origin::parse(s).map(|o| o.serialize());
        assert_eq!(n("https://Example.COM").unwrap(), "https://example.com:443");
        assert_eq!(n("http://example.com").unwrap(), "http://example.com:80");
        assert_eq!(n("ws://a").unwrap(), "ws://a:80");
        assert_eq!(n("wss://a").unwrap(), "wss://a:443");
        assert_eq!(n("http://a:8080/").unwrap(), "http://a:8080");
        assert_eq!(n("http://[::1]:9000").unwrap(), "http://[::1]:9000");
        assert_eq!(n("http://[::1]").unwrap(), "http://[::1]:80");
        assert_eq!(n("null").unwrap(), "null");
        assert_eq!(n("file:///etc/passwd").unwrap(), "null");
        assert_eq!(
            n("chrome-extension://abc:1").unwrap(),
            "chrome-extension://abc:1"
        );
        for bad in [
            "chrome-extension://abc",
            "example.com",
            "http://",
            "http://a:",
            "http://a:99999",
            "http://a:-1",
            "http://a/path",
            "http://a?q",
            "http://a#f",
            "http://u@a",
            "http://a b",
            "http://ä.com",
            "http://[::1",
            "http://[::1]x",
            "1http://a",
        ] {
            assert!(n(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn autobahn_subdomain_pattern_is_anchored_and_literal() {
        let p = pol(&["https://*.example.com:443"]);
        assert!(p.is_allowed(Some("https://www.example.com")));
        assert!(p.is_allowed(Some("https://a.b.example.com:443")));
        assert!(p.is_allowed(Some("HTTPS://WWW.EXAMPLE.COM")));
        for bad in [
            "https://evilexample.com",
            "https://evilexample.com:443",
            "https://x.example.com.evil.org",
            "https://x.example.com.evil.org:443",
            "https://x.exampleXcom:443",
            "https://example.com",
            "http://www.example.com",
            "https://www.example.com:4430",
            "https://www.example.com:8443",
            "https://evil.org/.example.com:443",
            "https://evil.org?.example.com:443",
            "https://evil.org#.example.com:443",
            "https://evil.org@x.example.com",
            "https://evil.org:1.example.com:443",
            "xhttps://www.example.com:443",
        ] {
            assert!(!p.is_allowed(Some(bad)), "{bad}");
            assert_eq!(p.check(Some(bad)).unwrap_err().http_status(), 403);
        }
    }

    #[test]
    fn any_scheme_and_port() {
        let p = pol(&["*://*.example.com:*", "http://localhost:8080"]);
        assert!(p.is_allowed(Some("http://a.example.com:1234")));
        assert!(p.is_allowed(Some("wss://a.example.com")));
        assert!(p.is_allowed(Some("http://localhost:8080")));
        assert!(!p.is_allowed(Some("http://localhost")));
        assert!(!p.is_allowed(Some("http://a.example.org:1234")));
    }

    #[test]
    fn null_and_absent() {
        assert!(OriginPolicy::default().is_allowed(None));
        assert!(OriginPolicy::default().is_allowed(Some("http://anything")));
        assert!(OriginPolicy::default().is_allowed(Some("chrome-extension://x")));
        assert!(!OriginPolicy::default().is_allowed(Some("null")));
        assert!(!pol(&["*"]).is_allowed(Some("NULL")));
        assert!(!pol(&["https://a.com:443"]).is_allowed(Some("file:///x")));
        let p = OriginPolicy::new(["https://a.com:443"], true);
        assert!(p.is_allowed(Some("null")));
        assert!(p.is_allowed(Some("file:///x")));
        assert!(p.allows_null_origin());
        assert!(!p.is_allowed(Some("https://b.com")));
        let none = OriginPolicy::new(Vec::<String>::new(), false);
        assert!(none.is_allowed(None));
        assert!(!none.is_allowed(Some("https://a.com")));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Reference matcher: plain recursive glob (exponential, fine for tiny inputs).
    fn naive(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => (0..=t.len()).any(|i| naive(rest, &t[i..])),
            Some((c, rest)) => t.first() == Some(c) && naive(rest, &t[1..]),
        }
    }

    proptest! {
        #[test]
        fn matches_reference(p in "[ab.*]{0,8}", t in "[ab.]{0,10}") {
            prop_assert_eq!(WildcardPattern::new(&p).matches(&t), naive(p.as_bytes(), t.as_bytes()));
        }

        #[test]
        fn origin_parse_never_panics(s in "\\PC{0,40}") {
            let _ = Origin::parse(&s);
            let _ = OriginPolicy::new(["https://*.a.com:*"], true).check(Some(&s));
        }
    }
}
