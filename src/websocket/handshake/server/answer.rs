//! The server's answers (`101`, error pages, status page, Flash policy) as data, and
//! their two renderings: bytes for our own server, `http::Response` for other stacks.
//!
//! Headers are kept in an ordered, case-preserving [`Headers`] until rendered, so the
//! bytes our server writes keep their order and spelling (`Sec-WebSocket-Accept`);
//! `http::HeaderMap` would lowercase the names and group repeated ones.

use super::super::{
    accept_key, check_outgoing_header, is_token, version_list, write_header, HandshakeError,
};
use crate::websocket::types::{Extension, Headers};

/// One HTTP answer of the opening handshake: status, headers in order, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Headers,
    pub body: String,
}

impl Answer {
    /// The answer as written on the wire by our server.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        let status = self.status;
        out.extend_from_slice(
            format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes(),
        );
        for (n, v) in &self.headers {
            write_header(&mut out, n, v);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.body.as_bytes());
        out
    }

    /// The answer as an `http::Response` carrying `body` (HTTP/1.1, names lowercased by
    /// the `http` crate).
    pub fn to_http<B>(&self, body: B) -> http::Response<B> {
        let mut response = http::Response::new(body);
        *response.status_mut() = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        for (n, v) in &self.headers {
            // Every header was checked when the answer was built; this is a safety net.
            match (
                http::HeaderName::from_bytes(n.as_bytes()),
                http::HeaderValue::from_str(v),
            ) {
                (Ok(name), Ok(value)) => {
                    headers.append(name, value);
                }
                _ => tracing::warn!(header = n, "dropping a header http cannot carry"),
            }
        }
        response
    }
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

/// The `101 Switching Protocols` answer to a request with `key`; see [`accept_response`].
pub(crate) fn accept_answer(
    key: &str,
    subprotocol: Option<&str>,
    extensions: &[Extension],
    extra: &Headers,
    server: Option<&str>,
) -> Result<Answer, HandshakeError> {
    let mut headers = Headers::with_capacity(extra.len() + 6);
    if let Some(s) = server {
        check_outgoing_header("Server", s)?;
        headers.append("Server", s);
    }
    for (n, v) in extra {
        check_extra(n, v)?;
        headers.append(n, v);
    }
    headers.append("Upgrade", "websocket");
    headers.append("Connection", "Upgrade");
    if let Some(p) = subprotocol {
        if !is_token(p) {
            return Err(HandshakeError::InvalidArgument(format!(
                "subprotocol {p:?} is not a token"
            )));
        }
        headers.append("Sec-WebSocket-Protocol", p);
    }
    if !extensions.is_empty() {
        headers.append("Sec-WebSocket-Extensions", extensions_header(extensions)?);
    }
    headers.append("Sec-WebSocket-Accept", accept_key(key));
    Ok(Answer {
        status: 101,
        headers,
        body: String::new(),
    })
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
    accept_answer(key, subprotocol, extensions, extra, server).map(|a| a.to_bytes())
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
        101 => "Switching Protocols",
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

fn html_answer(code: u16, extra: &Headers, body: String) -> Answer {
    let mut headers = Headers::with_capacity(extra.len() + 3);
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
            Ok(()) if !reserved => headers.append(n, v),
            _ => tracing::warn!(header = n, "dropping invalid or reserved header"),
        }
    }
    headers.append("Content-Type", "text/html; charset=UTF-8");
    headers.append("Content-Length", body.len().to_string());
    headers.append("Connection", "close");
    Answer {
        status: code,
        headers,
        body,
    }
}

/// The refusal answer of [`deny_response`].
pub(crate) fn deny_answer(code: u16, reason: Option<&str>, extra: &Headers) -> Answer {
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
    html_answer(code, extra, body)
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
    deny_answer(code, reason, extra).to_bytes()
}

/// The error answer of [`error_response`].
pub(crate) fn error_answer(err: &HandshakeError, server: Option<&str>) -> Answer {
    let mut extra = err.response_headers();
    if let Some(s) = server {
        extra.append("Server", s);
    }
    deny_answer(err.http_status(), Some(&err.to_string()), &extra)
}

/// The error answer for a failed handshake: `err.http_status()`, its message as
/// reason, and the headers it requires (e.g. `Sec-WebSocket-Version: 13, 8`).
pub fn error_response(err: &HandshakeError, server: Option<&str>) -> Vec<u8> {
    error_answer(err, server).to_bytes()
}

/// The status page answer of [`status_page_response`].
pub(crate) fn status_page_answer(server: Option<&str>, versions: &[u8]) -> Answer {
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
    html_answer(200, &extra, body)
}

/// The page shown for a plain HTTP GET (Autobahn's `webStatus`): `200 OK` saying
/// this is a WebSocket endpoint speaking `versions`, with `server` as `Server` header
/// and page title. With `server` `None` (or empty) neither names the server.
pub fn status_page_response(server: Option<&str>, versions: &[u8]) -> Vec<u8> {
    status_page_answer(server, versions).to_bytes()
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
