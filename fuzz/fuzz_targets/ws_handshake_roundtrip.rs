//! Client request builder → server parser → `101` builder → client response parser.
//!
//! Input: `arbitrary` client settings and key. Whatever `build_request_with_key`
//! accepts, a default server must accept (unless a limit or a documented refusal
//! applies) and must see the same host, key, subprotocols, extension offers, origin
//! and extra headers; the server's `101` (selecting the first subprotocol and
//! echoing the offers) must be accepted by the client with the same values.
#![no_main]

use arbitrary::Arbitrary;
use autobahn::websocket::handshake::{
    accept_response, parse_extensions, ClientHandshake, HandshakeError, ParsedRequest,
    RequestParser, ServerHandshakeConfig,
};
use autobahn::websocket::types::Headers;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    host: String,
    port: u16,
    is_secure: bool,
    resource: String,
    origin: Option<String>,
    protocols: Vec<String>,
    useragent: Option<String>,
    headers: Vec<(String, String)>,
    extensions: Vec<String>,
    version8: bool,
    key: [u8; 16],
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

fuzz_target!(|input: Input| {
    let mut c = ClientHandshake::new(input.host.clone(), input.port, input.is_secure);
    c.resource = input.resource.clone();
    c.origin = input.origin.clone();
    c.protocols = input.protocols.clone();
    c.useragent = input.useragent.clone();
    c.headers = input.headers.iter().cloned().collect();
    c.extensions = input.extensions.clone();
    c.version = if input.version8 { 8 } else { 13 };
    let key = base64(&input.key);
    assert_eq!(key.len(), 24);
    let Ok(request) = c.build_request_with_key(&key) else {
        return;
    };

    let config = ServerHandshakeConfig::default();
    let mut parser = RequestParser::new("tcp:192.0.2.1:5000", &config);
    let u = match parser.parse(&request, &config) {
        Ok(Some(ParsedRequest::Upgrade(u))) => u,
        Err(HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders { .. }) => {
            return;
        }
        Err(HandshakeError::OriginNotAllowed(o)) if o.trim().eq_ignore_ascii_case("null") => {
            return;
        }
        // Duplicate subprotocol offers are refused by the server (RFC 6455 §4.1
        // asks for unique values); the client does not check for them.
        Err(HandshakeError::InvalidProtocol(_))
            if input
                .protocols
                .iter()
                .enumerate()
                .any(|(i, p)| input.protocols[..i].contains(p)) =>
        {
            return;
        }
        other => panic!(
            "server refused our own request: {other:?}\n{}",
            String::from_utf8_lossy(&request)
        ),
    };
    assert_eq!(u.consumed, request.len());
    assert_eq!(u.key, key);
    let r = &u.request;
    assert_eq!(r.version, c.version);
    assert_eq!(r.protocols, c.protocols, "subprotocols");
    let host = if c.host.contains(':') {
        format!("[{}]", c.host)
    } else {
        c.host.clone()
    };
    let default_port = if c.is_secure { 443 } else { 80 };
    let host = if c.port == default_port {
        host
    } else {
        format!("{host}:{}", c.port)
    };
    assert_eq!(r.host, host);
    assert!(r.path.starts_with('/'), "path {:?}", r.path);
    assert_eq!(r.origin.as_deref(), c.origin.as_deref().map(ows), "origin");
    for (n, v) in &c.headers {
        assert!(
            r.headers.get_all(n).any(|x| ows(x) == ows(v)),
            "header {n}: {v:?} lost: {:?}",
            r.headers
        );
    }
    let offers = parse_extensions(c.extensions.iter().map(String::as_str)).expect("built");
    assert_eq!(r.extensions, offers, "extension offers");

    let chosen = r.protocols.first().map(String::as_str);
    let response = accept_response(&u.key, chosen, &r.extensions, &Headers::new(), None)
        .expect("101 for our own request");
    let mut rp = c.response_parser(&key, "tcp:192.0.2.2:80");
    match rp.parse(&response) {
        Ok(Some((resp, n))) => {
            assert_eq!(n, response.len());
            assert_eq!(resp.protocol.as_deref(), chosen);
            assert_eq!(resp.extensions, r.extensions, "extensions echoed");
        }
        Err(HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders { .. }) => {}
        other => panic!(
            "client refused the server's 101: {other:?}\n{}",
            String::from_utf8_lossy(&response)
        ),
    }
});
