//! [`PeerAddr`]: the address of the other end of a connection, typed.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The other end of a connection: a TCP socket address, a Unix socket path, or a stream
/// the library knows nothing about.
///
/// `Display` gives Autobahn's peer descriptor, the string the `peer` fields and
/// [`WebSocketChannel::peer`](super::WebSocketChannel::peer) carry: `tcp:1.2.3.4:5678`,
/// `tcp:[::1]:5678`, `unix:/run/app.sock`, `unix` for an unnamed Unix socket, and
/// [`Other`](Self::Other)'s text as is. [`Self::parse`] reads that form back, so that
/// `PeerAddr::parse(&a.to_string()) == a` for TCP and UTF-8 paths.
///
/// Over TLS the address is the TCP one underneath. A client that connects through an
/// HTTP proxy sees the proxy's address: that is the socket it is connected to.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::PeerAddr;
///
/// let tcp = PeerAddr::parse("tcp:127.0.0.1:5000");
/// assert_eq!(tcp.socket_addr(), Some("127.0.0.1:5000".parse()?));
/// assert_eq!(tcp.to_string(), "tcp:127.0.0.1:5000");
///
/// let unix = PeerAddr::parse("unix:/run/app.sock");
/// assert_eq!(unix.unix_path(), Some(std::path::Path::new("/run/app.sock")));
///
/// // What is not an address of ours stays text.
/// assert_eq!(PeerAddr::parse("pipe"), PeerAddr::Other("pipe".into()));
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerAddr {
    /// A TCP peer (also under TLS).
    Tcp(SocketAddr),
    /// A Unix domain socket peer: its path, `None` when the peer's socket is unnamed
    /// (as a connecting client's usually is).
    Unix(Option<PathBuf>),
    /// A stream whose peer the library cannot know (an in-memory pipe, a stream an
    /// application connected itself): the name the application gave it, or the
    /// descriptor of the URL's host.
    Other(String),
}

impl PeerAddr {
    /// Reads Autobahn's descriptor form (`tcp:ip:port`, `unix:path`, `unix`); any other
    /// text becomes [`Self::Other`]. Only the exact form [`Display`](fmt::Display) writes
    /// counts as TCP, so `parse(s).to_string() == s` for every `s`.
    pub fn parse(descriptor: &str) -> Self {
        if let Some(addr) = descriptor.strip_prefix("tcp:") {
            if let Ok(a) = addr.parse::<SocketAddr>() {
                if a.to_string() == addr {
                    return Self::Tcp(a);
                }
            }
        } else if descriptor == "unix" {
            return Self::Unix(None);
        } else if let Some(path) = descriptor.strip_prefix("unix:") {
            return Self::Unix(Some(PathBuf::from(path)));
        }
        Self::Other(descriptor.to_owned())
    }

    /// The TCP socket address, if this is a TCP peer.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Tcp(a) => Some(*a),
            _ => None,
        }
    }

    /// The Unix socket path, if this is a named Unix socket peer.
    pub fn unix_path(&self) -> Option<&Path> {
        match self {
            Self::Unix(p) => p.as_deref(),
            _ => None,
        }
    }

    /// The peer of a Unix stream, as the OS reports it.
    #[cfg(unix)]
    pub(crate) fn of_unix(addr: &tokio::net::unix::SocketAddr) -> Self {
        Self::Unix(addr.as_pathname().map(Path::to_path_buf))
    }
}

/// Nothing known: [`PeerAddr::Other`] with empty text.
impl Default for PeerAddr {
    fn default() -> Self {
        Self::Other(String::new())
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(a) => write!(f, "tcp:{a}"),
            Self::Unix(Some(p)) => write!(f, "unix:{}", p.display()),
            Self::Unix(None) => f.write_str("unix"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

impl From<SocketAddr> for PeerAddr {
    fn from(addr: SocketAddr) -> Self {
        Self::Tcp(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_autobahns_descriptor() {
        let v4: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let v6: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(PeerAddr::Tcp(v4).to_string(), "tcp:127.0.0.1:5000");
        assert_eq!(PeerAddr::from(v6).to_string(), "tcp:[::1]:443");
        let sock = PeerAddr::Unix(Some("/run/x.sock".into()));
        assert_eq!(sock.to_string(), "unix:/run/x.sock");
        assert_eq!(PeerAddr::Unix(None).to_string(), "unix");
        assert_eq!(PeerAddr::Other("pipe".into()).to_string(), "pipe");
        assert_eq!(PeerAddr::default().to_string(), "");
    }

    #[test]
    fn parse_reads_display_back_and_keeps_the_rest() {
        for s in [
            "tcp:127.0.0.1:5000",
            "tcp:[::1]:443",
            "tcp:[fe80::1%2]:80",
            "unix:/run/x.sock",
            "unix",
        ] {
            let addr = PeerAddr::parse(s);
            assert!(!matches!(addr, PeerAddr::Other(_)), "{s}: {addr:?}");
            assert_eq!(addr.to_string(), s);
        }
        // Not in the exact form: text, unchanged.
        for s in [
            "tcp:localhost:80",
            "tcp:1.2.3.4:05",
            "tcp:::1:80",
            "pipe",
            "",
            "2.2.2.2",
        ] {
            assert_eq!(PeerAddr::parse(s), PeerAddr::Other(s.into()), "{s}");
        }
        assert_eq!(
            PeerAddr::parse("tcp:10.0.0.1:80").socket_addr(),
            Some("10.0.0.1:80".parse().unwrap())
        );
        assert_eq!(PeerAddr::parse("unix").unix_path(), None);
        assert_eq!(
            PeerAddr::parse("unix:/a").unix_path(),
            Some(Path::new("/a"))
        );
        assert_eq!(PeerAddr::parse("unix:/a").socket_addr(), None);
    }
}
