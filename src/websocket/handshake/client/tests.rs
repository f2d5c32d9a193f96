//! Tests of the client-side handshake: bytes in, values/bytes out.

use super::*;
use crate::websocket::handshake::server::{
    accept_response, ParsedRequest, RequestParser, ServerHandshakeConfig,
};
use crate::websocket::types::{ConnectionResponse, Extension};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn hs() -> ClientHandshake {
    let mut h = ClientHandshake::new("server.example.com", 80, false);
    h.resource = "/chat?x=1".into();
    h.origin = Some("http://example.com".into());
    h.protocols = vec!["chat".into(), "superchat".into()];
    h
}

fn response(extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {ACCEPT}\r\n{extra}\r\n"
    )
}

fn parse(
    h: &ClientHandshake,
    buf: &str,
) -> Result<Option<(ConnectionResponse, usize)>, HandshakeError> {
    h.response_parser(KEY, "tcp:1.2.3.4:80")
        .parse(buf.as_bytes())
}

#[test]
fn request_bytes() {
    let mut h = hs();
    h.headers.append("Authorization", "Bearer t");
    h.extensions = vec!["permessage-deflate;client_max_window_bits".into()];
    let req = String::from_utf8(h.build_request_with_key(KEY).unwrap()).unwrap();
    assert_eq!(
        req,
        format!(
            "GET /chat?x=1 HTTP/1.1\r\n\
             User-Agent: AutobahnRust/{}\r\n\
             Host: server.example.com\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Pragma: no-cache\r\n\
             Cache-Control: no-cache\r\n\
             Authorization: Bearer t\r\n\
             Origin: http://example.com\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
             Sec-WebSocket-Key: {KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn host_port_and_version8() {
    let mut h = ClientHandshake::new("::1", 9000, true);
    h.version = 8;
    h.origin = Some("https://o".into());
    h.useragent = Some("ua".into());
    let req = String::from_utf8(h.build_request_with_key(KEY).unwrap()).unwrap();
    assert!(req.contains("\r\nHost: [::1]:9000\r\n"));
    assert!(req.contains("\r\nSec-WebSocket-Origin: https://o\r\n"));
    assert!(!req.contains("\r\nOrigin:"));
    assert!(req.contains("\r\nSec-WebSocket-Version: 8\r\n"));
    assert!(req.contains("\r\nUser-Agent: ua\r\n"));
    let h = ClientHandshake::new("h", 443, true);
    let req = String::from_utf8(h.build_request_with_key(KEY).unwrap()).unwrap();
    assert!(req.contains("\r\nHost: h\r\n"));
    let h = ClientHandshake::new("h", 443, false);
    let req = String::from_utf8(h.build_request_with_key(KEY).unwrap()).unwrap();
    assert!(req.contains("\r\nHost: h:443\r\n"));
}

#[test]
fn from_url_and_random_key() {
    let url = crate::websocket::url::parse_url("wss://example.com:8443/ws?a=1").unwrap();
    let h = ClientHandshake::from_url(&url);
    assert_eq!(
        (h.host.as_str(), h.port, h.is_secure),
        ("example.com", 8443, true)
    );
    assert_eq!(h.resource, "/ws?a=1");
    let (req, key) = h.build_request().unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&key)
            .unwrap()
            .len(),
        16
    );
    assert!(String::from_utf8(req)
        .unwrap()
        .contains(&format!("Sec-WebSocket-Key: {key}\r\n")));
    assert_ne!(generate_key(), generate_key());
}

#[test]
fn request_argument_errors() {
    let build = |f: &dyn Fn(&mut ClientHandshake)| {
        let mut h = hs();
        f(&mut h);
        h.build_request_with_key(KEY)
    };
    assert!(build(&|h| h.version = 7).is_err());
    assert!(build(&|h| h.resource = "chat".into()).is_err());
    assert!(build(&|h| h.resource = "/a b".into()).is_err());
    assert!(build(&|h| h.resource = "/a\r\nX: y".into()).is_err());
    assert!(build(&|h| h.resource = "/a#f".into()).is_err());
    assert!(build(&|h| h.host = "a b".into()).is_err());
    assert!(build(&|h| h.host = "a/b".into()).is_err());
    assert!(build(&|h| h.host = String::new()).is_err());
    assert!(build(&|h| h.protocols = vec!["a b".into()]).is_err());
    assert!(build(&|h| h.origin = Some("o\r\nX: y".into())).is_err());
    assert!(build(&|h| h.useragent = Some("u\nX: y".into())).is_err());
    assert!(build(&|h| h.headers.append("X", "a\r\nY: b")).is_err());
    assert!(build(&|h| h.headers.append("sec-websocket-key", "k")).is_err());
    assert!(build(&|h| h.headers.append("Host", "other")).is_err());
    assert!(build(&|h| h.extensions = vec!["foo; =".into()]).is_err());
    assert!(build(&|h| h.extensions = vec!["a\r\nX: y".into()]).is_err());
}

#[test]
fn valid_response_with_trailing_frame() {
    let resp = response("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n");
    let mut buf = resp.clone().into_bytes();
    buf.extend_from_slice(b"\x81\x02hi");
    let h = hs();
    let mut p = h.response_parser(KEY, "tcp:1.2.3.4:80");
    for n in 0..resp.len() {
        assert_eq!(p.parse(&buf[..n]).unwrap(), None, "at {n}");
    }
    let (r, consumed) = p.parse(&buf).unwrap().unwrap();
    assert_eq!(consumed, resp.len());
    assert_eq!(&buf[consumed..], b"\x81\x02hi");
    assert_eq!(r.peer, "tcp:1.2.3.4:80");
    assert_eq!(r.version, 13);
    assert_eq!(r.protocol.as_deref(), Some("chat"));
    assert_eq!(
        r.extensions,
        [Extension::new("permessage-deflate").with_param("server_no_context_takeover", None)]
    );
    assert_eq!(r.headers.get("sec-websocket-accept"), Some(ACCEPT));
}

#[test]
fn response_errors() {
    let h = hs();
    assert_eq!(
        parse(&h, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").unwrap_err(),
        HandshakeError::UnexpectedStatus {
            status: 403,
            reason: "Forbidden".into()
        }
    );
    assert!(matches!(
        parse(&h, "HTTP/1.1 200 OK\r\n\r\n"),
        Err(HandshakeError::UnexpectedStatus { status: 200, .. })
    ));
    let wrong = response("").replace(ACCEPT, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    assert_eq!(
        parse(&h, &wrong).unwrap_err(),
        HandshakeError::AcceptMismatch
    );
    let missing = response("").replace(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n"), "");
    assert_eq!(
        parse(&h, &missing).unwrap_err(),
        HandshakeError::MissingHeader("Sec-WebSocket-Accept")
    );
    let dup = response(&format!("Sec-WebSocket-Accept: {ACCEPT}\r\n"));
    assert_eq!(
        parse(&h, &dup).unwrap_err(),
        HandshakeError::DuplicateHeader("Sec-WebSocket-Accept")
    );
    let no_upgrade = response("").replace("Upgrade: websocket\r\n", "");
    assert_eq!(
        parse(&h, &no_upgrade).unwrap_err(),
        HandshakeError::NotWebSocketUpgrade
    );
    let no_conn = response("").replace("Connection: Upgrade\r\n", "Connection: close\r\n");
    assert_eq!(
        parse(&h, &no_conn).unwrap_err(),
        HandshakeError::NoConnectionUpgrade
    );
    let proto = response("Sec-WebSocket-Protocol: other\r\n");
    assert_eq!(
        parse(&h, &proto).unwrap_err(),
        HandshakeError::UnexpectedProtocol("other".into())
    );
    let two = response("Sec-WebSocket-Protocol: chat, superchat\r\n");
    assert!(matches!(
        parse(&h, &two),
        Err(HandshakeError::UnexpectedProtocol(_))
    ));
    let bad_ext = response("Sec-WebSocket-Extensions: x; \"\r\n");
    assert!(matches!(
        parse(&h, &bad_ext),
        Err(HandshakeError::InvalidExtensions(_))
    ));
    let http10 = response("").replace("HTTP/1.1", "HTTP/1.0");
    assert_eq!(parse(&h, &http10).unwrap_err(), HandshakeError::HttpVersion);
    assert!(matches!(
        parse(&h, "NOT HTTP\r\n\r\n"),
        Err(HandshakeError::HttpSyntax(_))
    ));
    // Protocol not offered at all.
    let plain = ClientHandshake::new("h", 80, false);
    assert!(matches!(
        plain
            .response_parser(KEY, "p")
            .parse(response("Sec-WebSocket-Protocol: chat\r\n").as_bytes()),
        Err(HandshakeError::UnexpectedProtocol(_))
    ));
}

#[test]
fn response_limits() {
    let mut h = hs();
    h.max_headers = 4;
    let mut flood = "HTTP/1.1 101 Switching Protocols\r\n".to_owned();
    for i in 0..10 {
        flood.push_str(&format!("X-{i}: v\r\n"));
    }
    assert_eq!(
        parse(&h, &flood).unwrap_err(),
        HandshakeError::TooManyHeaders { limit: 4 }
    );
    h.max_header_bytes = 100;
    let big = format!("HTTP/1.1 101 OK\r\nX: {}", "a".repeat(200));
    assert_eq!(
        parse(&h, &big).unwrap_err(),
        HandshakeError::HeadTooLarge { limit: 100 }
    );
}

#[test]
fn client_server_round_trip() {
    let mut h = hs();
    h.extensions = vec!["permessage-deflate; client_max_window_bits".into()];
    let (req, key) = h.build_request().unwrap();
    let cfg = ServerHandshakeConfig::default();
    let up = match RequestParser::new("c", &cfg).parse(&req, &cfg).unwrap() {
        Some(ParsedRequest::Upgrade(u)) => u,
        other => panic!("{other:?}"),
    };
    assert_eq!(up.key, key);
    assert_eq!(up.request.path, "/chat");
    assert_eq!(up.request.protocols, ["chat", "superchat"]);
    assert_eq!(up.request.origin.as_deref(), Some("http://example.com"));
    let answer = accept_response(
        &up.key,
        Some("superchat"),
        &up.request.extensions,
        &Headers::new(),
        None,
    )
    .unwrap();
    let (resp, n) = h
        .response_parser(&key, "s")
        .parse(&answer)
        .unwrap()
        .unwrap();
    assert_eq!(n, answer.len());
    assert_eq!(resp.protocol.as_deref(), Some("superchat"));
    assert_eq!(resp.extensions, up.request.extensions);
}
