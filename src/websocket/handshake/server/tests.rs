//! Tests of the server-side handshake: bytes in, values/bytes out.

use super::*;
use crate::websocket::handshake::head::HeadScanner;
use crate::websocket::types::{Extension, Headers};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// RFC 6455 §1.2 example request (plus a query and an extension offer).
fn rfc_request() -> String {
    "GET /chat?foo=23&foo=66&bar=2&empty= HTTP/1.1\r\n\
     Host: server.example.com\r\n\
     Upgrade: websocket\r\n\
     Connection: Upgrade\r\n\
     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
     Origin: http://example.com\r\n\
     Sec-WebSocket-Protocol: chat, superchat\r\n\
     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
     Sec-WebSocket-Version: 13\r\n\r\n"
        .to_owned()
}

/// A minimal valid request with `extra` header lines (each ending in CRLF) and a
/// version header.
fn req_with(extra: &str, version: &str) -> String {
    format!(
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: {version}\r\n{extra}\r\n"
    )
}

fn parse_with(
    buf: &[u8],
    cfg: &ServerHandshakeConfig,
) -> Result<Option<ParsedRequest>, HandshakeError> {
    RequestParser::new("tcp:10.0.0.1:5555", cfg).parse(buf, cfg)
}

fn parse(buf: &str) -> Result<Option<ParsedRequest>, HandshakeError> {
    parse_with(buf.as_bytes(), &ServerHandshakeConfig::default())
}

fn upgrade(buf: &str) -> UpgradeRequest {
    match parse(buf) {
        Ok(Some(ParsedRequest::Upgrade(u))) => *u,
        other => panic!("expected upgrade, got {other:?}"),
    }
}

fn err(buf: &str) -> HandshakeError {
    match parse(buf) {
        Err(e) => e,
        other => panic!("expected error, got {other:?}"),
    }
}

#[test]
fn rfc_example_request() {
    let u = upgrade(&rfc_request());
    let r = &u.request;
    assert_eq!(u.key, KEY);
    assert_eq!(u.consumed, rfc_request().len());
    assert_eq!(r.peer, "tcp:10.0.0.1:5555");
    assert_eq!(r.host, "server.example.com");
    assert_eq!(r.path, "/chat");
    assert_eq!(r.params["foo"], ["23", "66"]);
    assert_eq!(r.params["bar"], ["2"]);
    assert!(!r.params.contains_key("empty"));
    assert_eq!(r.version, 13);
    assert_eq!(r.origin.as_deref(), Some("http://example.com"));
    assert_eq!(r.protocols, ["chat", "superchat"]);
    assert_eq!(
        r.extensions,
        [Extension::new("permessage-deflate").with_param("client_max_window_bits", None)]
    );
    assert_eq!(r.headers.get("sec-websocket-key"), Some(KEY));
    assert_eq!(r.headers.len(), 8);
}

#[test]
fn byte_by_byte_and_trailing_bytes_preserved() {
    let mut buf = rfc_request().into_bytes();
    let head_len = buf.len();
    buf.extend_from_slice(b"\x81\x85trailing-frame");
    let cfg = ServerHandshakeConfig::default();
    let mut p = RequestParser::new("peer", &cfg);
    for n in 0..head_len {
        assert_eq!(p.parse(&buf[..n], &cfg).unwrap(), None, "at {n}");
    }
    match p.parse(&buf, &cfg).unwrap() {
        Some(ParsedRequest::Upgrade(u)) => {
            assert_eq!(u.consumed, head_len);
            assert_eq!(&buf[u.consumed..], b"\x81\x85trailing-frame");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn scanning_is_incremental_not_quadratic() {
    // Each call must only look at new bytes: after n one-byte feeds the scanner has
    // examined exactly n bytes in total positions, never restarting from 0.
    let req = rfc_request();
    let mut s = HeadScanner::new(DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADERS);
    let mut examined = 0usize;
    for n in 0..req.len() {
        let before = s.scanned();
        let _ = s.scan(&req.as_bytes()[..n]);
        examined += s.scanned() - before;
    }
    assert!(examined <= req.len());
}

#[test]
fn header_flood_over_limits() {
    // Too many header lines: refused while scanning, before the head is complete.
    let mut many = "GET / HTTP/1.1\r\n".to_owned();
    for i in 0..65 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    let e = parse(&many).unwrap_err();
    assert_eq!(e, HandshakeError::TooManyHeaders { limit: 64 });
    assert_eq!(e.http_status(), 431);
    // Too many bytes without an end of head.
    let big = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(20_000));
    assert_eq!(
        parse(&big).unwrap_err(),
        HandshakeError::HeadTooLarge { limit: 16 * 1024 }
    );
    // Custom limits.
    let cfg = ServerHandshakeConfig {
        max_header_bytes: 64,
        max_headers: 2,
        ..Default::default()
    };
    assert!(matches!(
        parse_with(rfc_request().as_bytes(), &cfg),
        Err(HandshakeError::HeadTooLarge { limit: 64 })
    ));
}

#[test]
fn key_errors() {
    let missing = req_with("", "13");
    assert_eq!(
        err(&missing),
        HandshakeError::MissingHeader("Sec-WebSocket-Key")
    );
    let dup = req_with(
        &format!("Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Key: {KEY}\r\n"),
        "13",
    );
    assert_eq!(
        err(&dup),
        HandshakeError::DuplicateHeader("Sec-WebSocket-Key")
    );
    for bad in [
        "dGhlIHNhbXBsZSBub25jZQ",            // unpadded
        "dGhlIHNhbXBsZSBub25jZQ==AA",        // too long
        "dGhlIHNhbXBsZSBub25jZR==",          // non-canonical trailing bits
        "c2hvcnQ=",                          // 5 bytes
        "!!!!!!!!!!!!!!!!!!!!!!==",          // not base64
        "dGhlIHNhbXBsZSBub25jZQ==,dGhlIHNh", // list
    ] {
        let r = req_with(&format!("Sec-WebSocket-Key: {bad}\r\n"), "13");
        let e = err(&r);
        assert_eq!(e, HandshakeError::InvalidKey, "{bad}");
        assert_eq!(e.http_status(), 400);
    }
    // Surrounding whitespace is not part of the value.
    let ok = req_with(&format!("Sec-WebSocket-Key:   {KEY}  \r\n"), "13");
    assert_eq!(upgrade(&ok).key, KEY);
}

#[test]
fn version_errors() {
    let k = format!("Sec-WebSocket-Key: {KEY}\r\n");
    let e = err(&req_with(&k, "7"));
    assert_eq!(
        e,
        HandshakeError::UnsupportedVersion {
            version: 7,
            supported: vec![8, 13]
        }
    );
    let resp = String::from_utf8(error_response(&e, Some("AutobahnRust"))).unwrap();
    assert!(
        resp.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{resp}"
    );
    assert!(resp.contains("\r\nSec-WebSocket-Version: 13, 8\r\n"));
    assert!(resp.contains("\r\nServer: AutobahnRust\r\n"));
    for bad in ["x", "13, 8", "", "1000", "-1"] {
        assert!(
            matches!(err(&req_with(&k, bad)), HandshakeError::InvalidVersion(_)),
            "{bad:?}"
        );
    }
    let no_version = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{k}\r\n"
    );
    assert_eq!(
        err(&no_version),
        HandshakeError::MissingHeader("Sec-WebSocket-Version")
    );
    // Version 8 accepted by default, but not when configured away.
    assert_eq!(upgrade(&req_with(&k, "8")).request.version, 8);
    let cfg = ServerHandshakeConfig {
        versions: vec![13],
        ..Default::default()
    };
    assert!(matches!(
        parse_with(req_with(&k, "8").as_bytes(), &cfg),
        Err(HandshakeError::UnsupportedVersion { version: 8, .. })
    ));
}

#[test]
fn http_level_errors() {
    let k = format!("Sec-WebSocket-Key: {KEY}\r\n");
    let post = req_with(&k, "13").replacen("GET", "POST", 1);
    assert_eq!(err(&post).http_status(), 405);
    let http10 = req_with(&k, "13").replacen("HTTP/1.1", "HTTP/1.0", 1);
    assert_eq!(err(&http10), HandshakeError::HttpVersion);
    let no_host = req_with(&k, "13").replacen("Host: h\r\n", "", 1);
    assert_eq!(err(&no_host), HandshakeError::MissingHeader("Host"));
    let two_hosts = req_with(&format!("{k}Host: other\r\n"), "13");
    assert_eq!(err(&two_hosts), HandshakeError::DuplicateHeader("Host"));
    let not_ws = req_with(&k, "13").replacen("Upgrade: websocket", "Upgrade: h2c", 1);
    assert_eq!(err(&not_ws), HandshakeError::NotWebSocketUpgrade);
    let no_conn = req_with(&k, "13").replacen("Connection: Upgrade", "Connection: close", 1);
    assert_eq!(err(&no_conn), HandshakeError::NoConnectionUpgrade);
    assert!(matches!(
        err("GARBAGE\r\n\r\n"),
        HandshakeError::HttpSyntax(_)
    ));
    assert_eq!(err("GARBAGE\r\n\r\n").http_status(), 400);
    // Token lists, case-insensitively, over several header lines.
    let lists = req_with(&k, "13")
        .replacen("Upgrade: websocket", "Upgrade: foo, WebSocket", 1)
        .replacen(
            "Connection: Upgrade",
            "Connection: keep-alive\r\nConnection: UPGRADE",
            1,
        );
    assert_eq!(upgrade(&lists).request.version, 13);
}

#[test]
fn request_targets() {
    let k = format!("Sec-WebSocket-Key: {KEY}\r\n");
    let with_target = |t: &str| req_with(&k, "13").replacen("GET / ", &format!("GET {t} "), 1);
    let u = upgrade(&with_target("/a%20b/%C3%A9?x=1+2&y=%26"));
    assert_eq!(u.request.path, "/a b/é");
    assert_eq!(u.request.params["x"], ["1 2"]);
    assert_eq!(u.request.params["y"], ["&"]);
    let u = upgrade(&with_target("http://h/ws?a=b"));
    assert_eq!(
        (u.request.path.as_str(), u.request.params["a"][0].as_str()),
        ("/ws", "b")
    );
    assert_eq!(upgrade(&with_target("wss://h")).request.path, "/");
    assert_eq!(upgrade(&with_target("/?q=1")).request.path, "/");
    for bad in ["/a#frag", "*", "ftp://h/", "chat"] {
        assert!(
            matches!(err(&with_target(bad)), HandshakeError::InvalidTarget(_)),
            "{bad}"
        );
    }
}

#[test]
fn protocols_and_extensions() {
    let k = format!("Sec-WebSocket-Key: {KEY}\r\n");
    let u = upgrade(&req_with(
        &format!("{k}Sec-WebSocket-Protocol: a , b\r\nSec-WebSocket-Protocol: c\r\n"),
        "13",
    ));
    assert_eq!(u.request.protocols, ["a", "b", "c"]);
    let dup = req_with(
        &format!("{k}Sec-WebSocket-Protocol: a, b\r\nSec-WebSocket-Protocol: a\r\n"),
        "13",
    );
    assert!(matches!(err(&dup), HandshakeError::InvalidProtocol(_)));
    let nontoken = req_with(&format!("{k}Sec-WebSocket-Protocol: a b\r\n"), "13");
    assert!(matches!(err(&nontoken), HandshakeError::InvalidProtocol(_)));
    let bad_ext = req_with(&format!("{k}Sec-WebSocket-Extensions: foo; =\r\n"), "13");
    assert_eq!(err(&bad_ext).http_status(), 400);
}

#[test]
fn thousands_of_protocols_in_one_head_are_all_kept_and_a_late_duplicate_is_found() {
    // 2,500 distinct tokens nearly fill a 16 KiB head; the duplicate check is a set lookup each.
    let k = format!("Sec-WebSocket-Key: {KEY}\r\n");
    let tokens: Vec<String> = (0..2500).map(|i| format!("p{i}")).collect();
    let list = tokens.join(",");
    let cfg = ServerHandshakeConfig::default();
    let ok = req_with(&format!("{k}Sec-WebSocket-Protocol: {list}\r\n"), "13");
    match parse_with(ok.as_bytes(), &cfg) {
        Ok(Some(ParsedRequest::Upgrade(u))) => assert_eq!(u.request.protocols, tokens),
        other => panic!("expected upgrade, got {other:?}"),
    }
    let dup = req_with(&format!("{k}Sec-WebSocket-Protocol: {list},p0\r\n"), "13");
    assert!(matches!(
        parse_with(dup.as_bytes(), &cfg),
        Err(HandshakeError::InvalidProtocol(m)) if m.contains("\"p0\"")
    ));
}

#[test]
fn origin_checks() {
    let k = format!("Sec-WebSocket-Key: {KEY}\r\n");
    let cfg = ServerHandshakeConfig {
        origins: OriginPolicy::new(["https://*.example.com:443"], false),
        ..Default::default()
    };
    let run =
        |extra: &str, v: &str| parse_with(req_with(&format!("{k}{extra}"), v).as_bytes(), &cfg);
    assert!(run("Origin: https://app.example.com\r\n", "13").is_ok());
    let e = run("Origin: https://evilexample.com\r\n", "13").unwrap_err();
    assert_eq!(e.http_status(), 403);
    assert_eq!(
        run("Origin: null\r\n", "13").unwrap_err().http_status(),
        403
    );
    // No Origin at all (non-browser client) is allowed.
    assert!(run("", "13").is_ok());
    // Version 8 uses Sec-WebSocket-Origin; a plain Origin is not consulted.
    assert_eq!(
        run("Sec-WebSocket-Origin: https://evil.org\r\n", "8")
            .unwrap_err()
            .http_status(),
        403
    );
    assert!(run("Origin: https://evil.org\r\n", "8").is_ok());
    let dup = run(
        "Origin: https://a.example.com\r\nOrigin: https://evil.org\r\n",
        "13",
    );
    assert_eq!(dup, Err(HandshakeError::DuplicateHeader("Origin")));
}

#[test]
fn x_forwarded_for() {
    let k = format!("Sec-WebSocket-Key: {KEY}\r\n");
    let req = req_with(
        &format!("{k}X-Forwarded-For: spoofed, 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n"),
        "13",
    );
    let peer_with = |trust: usize| {
        let cfg = ServerHandshakeConfig {
            trust_x_forwarded_for: trust,
            ..Default::default()
        };
        match parse_with(req.as_bytes(), &cfg) {
            Ok(Some(ParsedRequest::Upgrade(u))) => u.request.peer,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(peer_with(0), "tcp:10.0.0.1:5555");
    assert_eq!(peer_with(1), "2.2.2.2");
    assert_eq!(peer_with(2), "1.1.1.1");
    assert_eq!(peer_with(3), "spoofed");
    assert_eq!(peer_with(10), "spoofed");
    // Trust without a header keeps the transport peer.
    let cfg = ServerHandshakeConfig {
        trust_x_forwarded_for: 1,
        ..Default::default()
    };
    match parse_with(req_with(&k, "13").as_bytes(), &cfg) {
        Ok(Some(ParsedRequest::Upgrade(u))) => assert_eq!(u.request.peer, "tcp:10.0.0.1:5555"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn plain_get_status_page() {
    let get = "GET /info?x=1 HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(
        parse(get).unwrap(),
        Some(ParsedRequest::StatusPage {
            path: "/info".into(),
            consumed: get.len()
        })
    );
    let cfg = ServerHandshakeConfig {
        web_status: false,
        ..Default::default()
    };
    let e = parse_with(get.as_bytes(), &cfg).unwrap_err();
    assert_eq!(e, HandshakeError::UpgradeRequired);
    let resp = String::from_utf8(error_response(&e, None)).unwrap();
    assert!(resp.starts_with("HTTP/1.1 426 "));
    assert!(resp.contains("\r\nUpgrade: websocket\r\n"));

    let page = String::from_utf8(status_page_response(Some("Autobahn<Rust>"), &[13])).unwrap();
    let (head, body) = page.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(head.contains("\r\nServer: Autobahn<Rust>\r\n"));
    assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
    assert!(body.contains("Autobahn&lt;Rust&gt;"));
    assert!(body.contains("WebSocket endpoint"));
}

#[test]
fn status_page_without_server_name() {
    let page = String::from_utf8(status_page_response(None, &[13])).unwrap();
    let (head, body) = page.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(!head.to_ascii_lowercase().contains("\r\nserver:"), "{head}");
    assert!(body.contains("versions 13)"), "{body}");
    // An empty name is no name either.
    let page = String::from_utf8(status_page_response(Some(""), &[13])).unwrap();
    assert!(!page.to_ascii_lowercase().contains("\r\nserver:"), "{page}");
}

#[test]
fn host_port_checked_against_external_port() {
    let host_req =
        |host: &str| rfc_request().replace("Host: server.example.com", &format!("Host: {host}"));
    let cfg = |external_port, default_port| ServerHandshakeConfig {
        external_port,
        default_port,
        ..Default::default()
    };
    let accepted =
        |host: &str, c: &ServerHandshakeConfig| match parse_with(host_req(host).as_bytes(), c) {
            Ok(Some(ParsedRequest::Upgrade(_))) => true,
            Err(HandshakeError::HostPortMismatch { .. }) => false,
            other => panic!("Host {host:?}: {other:?}"),
        };
    let on_9000 = cfg(Some(9000), 80);
    assert!(accepted("server.example.com:9000", &on_9000));
    assert!(accepted("[::1]:9000", &on_9000));
    assert!(accepted("10.0.0.1:9000", &on_9000));
    for host in [
        "server.example.com:9001",
        "server.example.com",
        "[::1]",
        "[::1]:90000",
        "server.example.com:",
        "server.example.com:+9000",
        "[::1:9000",
    ] {
        assert!(!accepted(host, &on_9000), "{host}");
    }
    // No port in Host means the scheme's default port.
    assert!(accepted("server.example.com", &cfg(Some(80), 80)));
    assert!(accepted("[::1]", &cfg(Some(443), 443)));
    assert!(!accepted("server.example.com", &cfg(Some(443), 80)));
    // Without an external port any Host port is fine.
    assert!(accepted("server.example.com:1", &cfg(None, 80)));
    // The status page is refused too, with 400.
    let c = cfg(Some(9000), 80);
    let e = parse_with(b"GET / HTTP/1.1\r\nHost: a:1\r\n\r\n", &c).unwrap_err();
    assert_eq!(
        e,
        HandshakeError::HostPortMismatch {
            host: "a:1".into(),
            expected: 9000
        }
    );
    assert_eq!(e.http_status(), 400);
}

#[test]
fn flash_policy() {
    let cfg = ServerHandshakeConfig {
        serve_flash_socket_policy: true,
        ..Default::default()
    };
    let mut p = RequestParser::new("peer", &cfg);
    for n in 0..FLASH_POLICY_REQUEST.len() {
        assert_eq!(p.parse(&FLASH_POLICY_REQUEST[..n], &cfg).unwrap(), None);
    }
    assert_eq!(
        p.parse(FLASH_POLICY_REQUEST, &cfg).unwrap(),
        Some(ParsedRequest::FlashPolicy { consumed: 23 })
    );
    // Not enabled: the bytes are just a malformed HTTP head (never complete here).
    let off = ServerHandshakeConfig::default();
    assert_eq!(
        RequestParser::new("p", &off)
            .parse(FLASH_POLICY_REQUEST, &off)
            .unwrap(),
        None
    );
    // Enabled, but a normal request still works.
    assert!(matches!(
        parse_with(rfc_request().as_bytes(), &cfg),
        Ok(Some(ParsedRequest::Upgrade(_)))
    ));
    let resp = flash_policy_response(None, 9000);
    assert!(resp.ends_with(b"</cross-domain-policy>\0"));
    assert!(String::from_utf8_lossy(&resp).contains("to-ports=\"9000\""));
    assert_eq!(flash_policy_response(Some("<x/>"), 1), b"<x/>\0");
    assert_eq!(flash_policy_response(Some("<x/>\0"), 1), b"<x/>\0");
}

#[test]
fn accept_response_bytes() {
    let mut extra = Headers::new();
    extra.append("Set-Cookie", "a=1");
    let exts = [Extension::new("permessage-deflate")
        .with_param("server_max_window_bits", Some("10".into()))];
    let r = accept_response(KEY, Some("chat"), &exts, &extra, Some("AutobahnRust/0.1")).unwrap();
    assert_eq!(
        String::from_utf8(r).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\n\
         Server: AutobahnRust/0.1\r\n\
         Set-Cookie: a=1\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Protocol: chat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    let minimal = accept_response(KEY, None, &[], &Headers::new(), None).unwrap();
    assert_eq!(
        minimal,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
}

#[test]
fn accept_response_refuses_injection() {
    let inject = |n: &str, v: &str| {
        let mut h = Headers::new();
        h.append(n, v);
        accept_response(KEY, None, &[], &h, None)
    };
    assert!(inject("Set-Cookie", "a=1\r\nX-Evil: 1").is_err());
    assert!(inject("Set-Cookie", "a=1\nX-Evil: 1").is_err());
    assert!(inject("X-Evil\r\nA", "1").is_err());
    assert!(inject("sec-websocket-accept", "forged").is_err());
    assert!(inject("Connection", "close").is_err());
    assert_eq!(inject("X", "\r").unwrap_err().http_status(), 500);
    assert!(accept_response(KEY, Some("a\r\nb"), &[], &Headers::new(), None).is_err());
    assert!(accept_response(KEY, Some("a b"), &[], &Headers::new(), None).is_err());
    assert!(accept_response(KEY, None, &[], &Headers::new(), Some("S\r\nX: y")).is_err());
    let bad_ext = [Extension::new("x\r\ny")];
    assert!(accept_response(KEY, None, &bad_ext, &Headers::new(), None).is_err());
    let bad_val = [Extension::new("x").with_param("p", Some("a\nb".into()))];
    assert!(accept_response(KEY, None, &bad_val, &Headers::new(), None).is_err());
}

#[test]
fn deny_response_bytes() {
    let mut extra = Headers::new();
    extra.append("X-Reason", "policy");
    extra.append("X-Evil", "a\r\nInjected: 1");
    extra.append("Content-Length", "0");
    let r = String::from_utf8(deny_response(403, Some("<b>no</b>"), &extra)).unwrap();
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 403 Forbidden\r\n"));
    assert!(head.contains("\r\nX-Reason: policy\r\n"));
    assert!(!r.contains("Injected"));
    assert_eq!(head.matches("Content-Length").count(), 1);
    assert!(head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())));
    assert!(head.ends_with("\r\nConnection: close"));
    assert!(body.contains("&lt;b&gt;no&lt;/b&gt;"));
    // Nonsense codes become 500; the reason never reaches the status line.
    let r = String::from_utf8(deny_response(42, Some("x\r\ny"), &Headers::new())).unwrap();
    assert!(r.starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
    let r = String::from_utf8(deny_response(200, None, &Headers::new())).unwrap();
    assert!(r.starts_with("HTTP/1.1 500 "));
    let r = String::from_utf8(deny_response(404, None, &Headers::new())).unwrap();
    assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"));
}

#[test]
fn responses_parse_as_http() {
    // Our own answers must be well-formed HTTP.
    for bytes in [
        accept_response(KEY, Some("chat"), &[], &Headers::new(), Some("s")).unwrap(),
        deny_response(400, Some("bad"), &Headers::new()),
        status_page_response(Some("srv"), &[13, 8]),
        error_response(&HandshakeError::InvalidKey, Some("srv")),
    ] {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut resp = httparse::Response::new(&mut headers);
        assert!(resp.parse(&bytes).unwrap().is_complete());
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary bytes never panic, and feeding them in pieces gives the same
        /// outcome as feeding them at once.
        #[test]
        fn arbitrary_bytes_and_splits(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            cut in 0usize..600,
        ) {
            let cfg = ServerHandshakeConfig { max_header_bytes: 512, max_headers: 8, ..Default::default() };
            let whole = RequestParser::new("p", &cfg).parse(&data, &cfg);
            let mut p = RequestParser::new("p", &cfg);
            let cut = cut.min(data.len());
            let first = p.parse(&data[..cut], &cfg);
            let split = match first {
                Ok(None) => p.parse(&data, &cfg),
                done => done,
            };
            // The outcome depends only on the bytes up to the end of the head (or
            // the limit), so a prefix that already decides must agree with the whole.
            prop_assert_eq!(whole, split);
        }

        /// Mutating a valid request in one byte never panics.
        #[test]
        fn mutated_valid_request(pos in 0usize..400, byte in any::<u8>()) {
            let mut data = rfc_request().into_bytes();
            let pos = pos % data.len();
            data[pos] = byte;
            let cfg = ServerHandshakeConfig::default();
            let _ = RequestParser::new("p", &cfg).parse(&data, &cfg);
        }
    }
}
