//! RawSocket URLs (`autobahn.rawsocket.util`): `rs://host:port` for plain TCP,
//! `rss://host:port` for TLS.
//!
//! Unix domain sockets use the form of later Autobahn releases:
//! `rs://unix:/path/to/socket` (host `unix`, then the path). We chose it over
//! `rs:///path` so that URLs are interchangeable with Autobahn|Python and
//! Crossbar configurations; `rss://unix:/path` means TLS over the socket.
//!
//! Parsing follows Autobahn's rules: scheme `rs` or `rss`, a host is required,
//! no path (except the socket path of a `unix:` URL), no query, no fragment;
//! the port defaults to 80 (`rs`) or 443 (`rss`) and must be 1..=65535.
//! In addition, user info (`user@host`) is rejected rather than ignored.

/// Errors of [`parse_url`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is not `rs` or `rss` (or there is no `scheme://`).
    #[error("invalid RawSocket URL: scheme {0:?} is not for RawSocket")]
    InvalidScheme(String),
    /// No host between `://` and the port.
    #[error("invalid RawSocket URL: missing hostname")]
    MissingHost,
    /// A path after the authority (only `unix:` URLs carry one).
    #[error("invalid RawSocket URL: non-empty path {0:?}")]
    NonEmptyPath(String),
    /// A non-empty `?query`.
    #[error("invalid RawSocket URL: non-empty query {0:?}")]
    NonEmptyQuery(String),
    /// A non-empty `#fragment`.
    #[error("invalid RawSocket URL: non-empty fragment {0:?}")]
    NonEmptyFragment(String),
    /// The port is not a number in 1..=65535.
    #[error("invalid RawSocket URL: invalid port {0:?}")]
    InvalidPort(String),
    /// `user@` before the host.
    #[error("invalid RawSocket URL: user info is not allowed")]
    UserInfo,
    /// A `unix:` URL without a socket path.
    #[error("invalid RawSocket URL: missing Unix domain socket path")]
    MissingSocketPath,
    /// An IPv6 address literal without its closing `]`, or with junk after it.
    #[error("invalid RawSocket URL: malformed IPv6 host {0:?}")]
    InvalidIpv6(String),
}

/// Where a RawSocket URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawSocketEndpoint {
    /// A TCP host (name or IP address, IPv6 without brackets) and port.
    Tcp {
        /// Host name (lowercased) or IP address.
        host: String,
        /// Port, defaulted from the scheme if the URL has none.
        port: u16,
    },
    /// A Unix domain socket at this filesystem path (not interpreted further).
    Unix {
        /// The socket path.
        path: String,
    },
}

/// A parsed RawSocket URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawSocketUrl {
    /// `true` for `rss` (RawSocket over TLS).
    pub is_secure: bool,
    /// TCP host and port, or Unix socket path.
    pub endpoint: RawSocketEndpoint,
}

/// Builds a RawSocket URL from its parts, like Autobahn's `create_url`:
/// `rs://host:port` or `rss://host:port`, with the port always written and
/// defaulting to 80 (`rs`) or 443 (`rss`). An IPv6 address is put in brackets.
///
/// # Examples
///
/// ```
/// use autobahn::rawsocket::create_url;
///
/// assert_eq!(create_url("localhost", Some(8080), false), "rs://localhost:8080");
/// assert_eq!(create_url("::1", None, true), "rss://[::1]:443");
/// ```
pub fn create_url(hostname: &str, port: Option<u16>, is_secure: bool) -> String {
    let scheme = if is_secure { "rss" } else { "rs" };
    let port = port.unwrap_or(if is_secure { 443 } else { 80 });
    if hostname.contains(':') && !hostname.starts_with('[') {
        format!("{scheme}://[{hostname}]:{port}")
    } else {
        format!("{scheme}://{hostname}:{port}")
    }
}

/// Parses a RawSocket URL (`rs://localhost:9000`, `rss://example.com`,
/// `rs://unix:/tmp/router.sock`); see the module docs for the rules.
///
/// # Examples
///
/// ```
/// use autobahn::rawsocket::{parse_url, RawSocketEndpoint};
///
/// let url = parse_url("rss://Router.example.com")?;
/// assert!(url.is_secure);
/// assert_eq!(url.endpoint, RawSocketEndpoint::Tcp { host: "router.example.com".into(), port: 443 });
///
/// let unix = parse_url("rs://unix:/run/crossbar.sock")?;
/// assert_eq!(unix.endpoint, RawSocketEndpoint::Unix { path: "/run/crossbar.sock".into() });
/// assert!(parse_url("ws://localhost:8080").is_err());
/// # Ok::<(), autobahn::rawsocket::UrlError>(())
/// ```
pub fn parse_url(url: &str) -> Result<RawSocketUrl, UrlError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| UrlError::InvalidScheme(String::new()))?;
    let is_secure = match scheme.to_ascii_lowercase().as_str() {
        "rs" => false,
        "rss" => true,
        _ => return Err(UrlError::InvalidScheme(scheme.to_owned())),
    };
    // Fragment first: a '?' inside the fragment belongs to it.
    let rest = match rest.split_once('#') {
        Some((_, frag)) if !frag.is_empty() => {
            return Err(UrlError::NonEmptyFragment(frag.to_owned()))
        }
        Some((before, _)) => before,
        None => rest,
    };
    let rest = match rest.split_once('?') {
        Some((_, query)) if !query.is_empty() => {
            return Err(UrlError::NonEmptyQuery(query.to_owned()))
        }
        Some((before, _)) => before,
        None => rest,
    };

    if let Some(prefix) = rest.get(..5) {
        if prefix.eq_ignore_ascii_case("unix:") {
            let path = &rest[5..];
            if path.is_empty() {
                return Err(UrlError::MissingSocketPath);
            }
            return Ok(RawSocketUrl {
                is_secure,
                endpoint: RawSocketEndpoint::Unix {
                    path: path.to_owned(),
                },
            });
        }
    }

    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !path.is_empty() {
        return Err(UrlError::NonEmptyPath(path.to_owned()));
    }
    if authority.contains('@') {
        return Err(UrlError::UserInfo);
    }
    let (host, port) = split_host_port(authority)?;
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    let port = match port {
        None | Some("") => {
            if is_secure {
                443
            } else {
                80
            }
        }
        Some(p) => parse_port(p)?,
    };
    Ok(RawSocketUrl {
        is_secure,
        endpoint: RawSocketEndpoint::Tcp {
            host: host.to_ascii_lowercase(),
            port,
        },
    })
}

/// Splits `host[:port]` or `[v6]:port`; the host is returned without brackets.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), UrlError> {
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| UrlError::InvalidIpv6(authority.to_owned()))?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(UrlError::InvalidIpv6(authority.to_owned())),
            },
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

/// A decimal port in 1..=65535.
fn parse_port(p: &str) -> Result<u16, UrlError> {
    let invalid = || UrlError::InvalidPort(p.to_owned());
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(invalid()),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(is_secure: bool, host: &str, port: u16) -> RawSocketUrl {
        RawSocketUrl {
            is_secure,
            endpoint: RawSocketEndpoint::Tcp {
                host: host.into(),
                port,
            },
        }
    }

    #[test]
    fn create() {
        assert_eq!(create_url("localhost", None, false), "rs://localhost:80");
        assert_eq!(create_url("localhost", None, true), "rss://localhost:443");
        assert_eq!(
            create_url("example.com", Some(9000), false),
            "rs://example.com:9000"
        );
        assert_eq!(create_url("::1", Some(8080), true), "rss://[::1]:8080");
        assert_eq!(create_url("[::1]", Some(8080), true), "rss://[::1]:8080");
    }

    #[test]
    fn parse_tcp() {
        assert_eq!(
            parse_url("rs://localhost:9000"),
            Ok(tcp(false, "localhost", 9000))
        );
        assert_eq!(parse_url("rs://localhost"), Ok(tcp(false, "localhost", 80)));
        assert_eq!(
            parse_url("rss://Example.COM"),
            Ok(tcp(true, "example.com", 443))
        );
        assert_eq!(parse_url("RSS://h:1"), Ok(tcp(true, "h", 1)));
        assert_eq!(parse_url("rs://h:"), Ok(tcp(false, "h", 80)));
        assert_eq!(parse_url("rs://[::1]:9000"), Ok(tcp(false, "::1", 9000)));
        assert_eq!(parse_url("rss://[fe80::1]"), Ok(tcp(true, "fe80::1", 443)));
        // Empty query/fragment markers are tolerated, as in Autobahn.
        assert_eq!(parse_url("rs://h:5?"), Ok(tcp(false, "h", 5)));
        assert_eq!(parse_url("rs://h:5#"), Ok(tcp(false, "h", 5)));
    }

    #[test]
    fn round_trip() {
        for (host, port, secure) in [("localhost", Some(9000), false), ("::1", None, true)] {
            let url = create_url(host, port, secure);
            let parsed = parse_url(&url).unwrap();
            let want = port.unwrap_or(if secure { 443 } else { 80 });
            assert_eq!(parsed, tcp(secure, host, want), "{url}");
        }
    }

    #[test]
    fn parse_unix() {
        assert_eq!(
            parse_url("rs://unix:/tmp/router.sock"),
            Ok(RawSocketUrl {
                is_secure: false,
                endpoint: RawSocketEndpoint::Unix {
                    path: "/tmp/router.sock".into()
                }
            })
        );
        assert!(matches!(
            parse_url("rss://unix:relative.sock"),
            Ok(RawSocketUrl {
                is_secure: true,
                endpoint: RawSocketEndpoint::Unix { .. }
            })
        ));
        assert_eq!(parse_url("rs://unix:"), Err(UrlError::MissingSocketPath));
        // A host called "unix" without the colon is just a host.
        assert_eq!(parse_url("rs://unix"), Ok(tcp(false, "unix", 80)));
    }

    #[test]
    fn parse_malformed() {
        let cases = [
            ("ws://localhost:9000", UrlError::InvalidScheme("ws".into())),
            ("localhost:9000", UrlError::InvalidScheme(String::new())),
            ("rs://:9000", UrlError::MissingHost),
            ("rs://", UrlError::MissingHost),
            ("rs://h:9000/", UrlError::NonEmptyPath("/".into())),
            ("rs://h/ws", UrlError::NonEmptyPath("/ws".into())),
            ("rs://h?a=1", UrlError::NonEmptyQuery("a=1".into())),
            ("rs://h#x?y", UrlError::NonEmptyFragment("x?y".into())),
            ("rs://h:0", UrlError::InvalidPort("0".into())),
            ("rs://h:65536", UrlError::InvalidPort("65536".into())),
            ("rs://h:+80", UrlError::InvalidPort("+80".into())),
            ("rs://h:80:81", UrlError::InvalidPort("80:81".into())),
            (
                "rs://h:99999999999999999999",
                UrlError::InvalidPort("99999999999999999999".into()),
            ),
            ("rs://user@h:80", UrlError::UserInfo),
            ("rs://[::1", UrlError::InvalidIpv6("[::1".into())),
            ("rs://[::1]x", UrlError::InvalidIpv6("[::1]x".into())),
            ("rs://[]:80", UrlError::MissingHost),
        ];
        for (url, want) in cases {
            assert_eq!(parse_url(url), Err(want), "{url}");
        }
        // Non-ASCII input must not panic on slicing.
        assert!(parse_url("rs://ü").is_ok());
        assert!(parse_url("rs://üñï:1").is_ok());
        assert_eq!(
            parse_url("rs://ünix:/x"),
            Err(UrlError::NonEmptyPath("/x".into()))
        );
    }
}
