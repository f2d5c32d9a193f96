//! HTTP `CONNECT` tunnelling for clients behind a proxy (sans-IO): build the
//! request, parse the proxy's answer. After a 2xx answer the connection is a raw
//! tunnel to the target, on which TLS and the WebSocket handshake follow.

use crate::websocket::handshake::{
    HandshakeError, HeadScanner, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEADER_BYTES,
};
use crate::websocket::types::Headers;

/// The `CONNECT host:port` request, with `extra` headers such as
/// `Proxy-Authorization`.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::proxy::{connect_request, ProxyResponseParser};
/// use autobahn::websocket::types::Headers;
///
/// let mut extra = Headers::new();
/// extra.insert("Proxy-Authorization", "Basic dXNlcjpwYXNz");
/// let request = connect_request("example.com", 443, &extra)?;
/// assert!(request.starts_with(b"CONNECT example.com:443 HTTP/1.1\r\n"));
///
/// // The proxy's answer; bytes after the head already belong to the tunnel.
/// let mut parser = ProxyResponseParser::new();
/// let answer = b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03";
/// let head_len = parser.parse(answer)?.expect("complete head");
/// assert_eq!(&answer[head_len..], b"\x16\x03");
/// # Ok::<(), autobahn::websocket::handshake::HandshakeError>(())
/// ```
pub fn connect_request(host: &str, port: u16, extra: &Headers) -> Result<Vec<u8>, HandshakeError> {
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/?#@[]".contains(&b));
    if !host_ok {
        return Err(HandshakeError::InvalidArgument(format!(
            "invalid proxy target host {host:?}"
        )));
    }
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut out = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    for (n, v) in extra {
        crate::websocket::handshake::check_outgoing_header(n, v)?;
        if n.eq_ignore_ascii_case("Host") {
            return Err(HandshakeError::InvalidOutgoingHeader {
                name: n.to_owned(),
                why: "reserved header",
            });
        }
        crate::websocket::handshake::write_header(&mut out, n, v);
    }
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// Incremental parser of the proxy's answer to `CONNECT`.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::proxy::ProxyResponseParser;
///
/// let mut parser = ProxyResponseParser::new();
/// let mut buf = b"HTTP/1.1 200 OK\r\n".to_vec();
/// assert!(parser.parse(&buf)?.is_none()); // head not complete yet
/// buf.extend_from_slice(b"\r\n");
/// assert_eq!(parser.parse(&buf)?, Some(buf.len()));
///
/// // A refusal is an error.
/// let mut parser = ProxyResponseParser::new();
/// assert!(parser.parse(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").is_err());
/// # Ok::<(), autobahn::websocket::handshake::HandshakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ProxyResponseParser {
    scanner: HeadScanner,
}

impl Default for ProxyResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ProxyResponseParser {
    /// A parser with the default head limits (16 KiB, 64 headers).
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADERS)
    }

    /// A parser with explicit head limits.
    pub fn with_limits(max_header_bytes: usize, max_headers: usize) -> Self {
        Self {
            scanner: HeadScanner::new(max_header_bytes, max_headers),
        }
    }

    /// Parses `buf` (the receive buffer, which must only grow): `Ok(None)` until the
    /// head is complete; `Ok(Some(consumed))` for a 2xx answer (bytes after
    /// `consumed` belong to the tunnel); [`HandshakeError::ProxyRefused`] otherwise.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<usize>, HandshakeError> {
        let Some(head) = self.scanner.scan(buf)? else {
            return Ok(None);
        };
        let resp = super::handshake::head_parse_response(buf, head)?;
        if (200..300).contains(&resp.status) {
            Ok(Some(head.end))
        } else {
            Err(HandshakeError::ProxyRefused {
                status: resp.status,
                reason: resp.reason,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes() {
        let mut h = Headers::new();
        h.append("Proxy-Authorization", "Basic dXNlcjpwYXNz");
        assert_eq!(
            connect_request("example.com", 443, &h).unwrap(),
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
              Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n"
        );
        assert_eq!(
            connect_request("::1", 80, &Headers::new()).unwrap(),
            b"CONNECT [::1]:80 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"
        );
    }

    #[test]
    fn request_rejects_injection() {
        let mut h = Headers::new();
        h.append("X", "a\r\nEvil: 1");
        assert!(connect_request("a", 1, &h).is_err());
        assert!(connect_request("a b", 1, &Headers::new()).is_err());
        assert!(connect_request("a\r\n", 1, &Headers::new()).is_err());
        assert!(connect_request("", 1, &Headers::new()).is_err());
        let mut h = Headers::new();
        h.append("host", "x");
        assert!(connect_request("a", 1, &h).is_err());
    }

    #[test]
    fn ok_answer_leaves_tunnel_bytes() {
        let buf = b"HTTP/1.1 200 Connection established\r\nVia: p\r\n\r\n\x16\x03\x01";
        let mut p = ProxyResponseParser::new();
        let end = buf.len() - 3;
        for n in 0..end {
            assert_eq!(p.parse(&buf[..n]).unwrap(), None);
        }
        assert_eq!(p.parse(buf).unwrap(), Some(end));
        assert_eq!(&buf[end..], b"\x16\x03\x01");
    }

    #[test]
    fn refusal_and_limits() {
        let r = ProxyResponseParser::new()
            .parse(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            .unwrap_err();
        assert_eq!(
            r,
            HandshakeError::ProxyRefused {
                status: 407,
                reason: "Proxy Authentication Required".into()
            }
        );
        assert!(matches!(
            ProxyResponseParser::with_limits(16, 4).parse(&[b'x'; 40]),
            Err(HandshakeError::HeadTooLarge { limit: 16 })
        ));
        assert!(matches!(
            ProxyResponseParser::new().parse(b"garbage\r\n\r\n"),
            Err(HandshakeError::HttpSyntax(_))
        ));
    }
}
