//! Client side: `ResponseParser` fed a server's answer as a growing buffer.
//!
//! Input: `[max_bytes, max_headers, flags, k, k piece lengths..., response...]`
//! * `max_header_bytes = (max_bytes + 1) * 32`, `max_headers = max_headers % 72`
//! * `flags` bit 0: offer subprotocols `chat`, `superchat`; bit 1: version 8.
//!
//! The request was sent with the RFC 6455 §1.3 example key, so a valid answer
//! carries `Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
//! Invariants: whole and piecewise feeding agree; a decided answer does not change
//! when more bytes follow; `consumed` is within the input and the limit; accepted
//! answers satisfy what the validation promises; errors are client-side ones (502)
//! or limit/syntax errors.
#![no_main]

use autobahn::websocket::handshake::{ClientHandshake, HandshakeError};
use autobahn::websocket::types::ConnectionResponse;
use fuzz_support::{feed_prefixes, piece_ends, split_input, TRAILER};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

type Answer = Result<Option<(ConnectionResponse, usize)>, HandshakeError>;

fn client(h: &[u8]) -> ClientHandshake {
    let mut c = ClientHandshake::new("server.example.com", 80, false);
    c.max_header_bytes = (usize::from(h[0]) + 1) * 32;
    c.max_headers = usize::from(h[1] % 72);
    if h[2] & 1 != 0 {
        c.protocols = vec!["chat".into(), "superchat".into()];
    }
    if h[2] & 2 != 0 {
        c.version = 8;
    }
    c
}

fn parse_all(c: &ClientHandshake, buf: &[u8], ends: &[usize]) -> Answer {
    let mut p = c.response_parser(KEY, "tcp:192.0.2.2:80");
    feed_prefixes(buf, ends, |b| p.parse(b)).0
}

fn check(c: &ClientHandshake, buf: &[u8], answer: &Answer) {
    match answer {
        Ok(None) => assert!(buf.len() < c.max_header_bytes, "undecided at {}", buf.len()),
        Ok(Some((r, consumed))) => {
            let n = *consumed;
            assert!(
                n > 0 && n <= buf.len() && n <= c.max_header_bytes,
                "consumed {n}"
            );
            assert_eq!(buf[n - 1], b'\n');
            assert!(r.headers.len() <= c.max_headers);
            assert_eq!(r.version, c.version);
            assert_eq!(
                r.headers
                    .get("sec-websocket-accept")
                    .map(|v| v.trim_matches([' ', '\t'])),
                Some(ACCEPT)
            );
            if let Some(p) = &r.protocol {
                assert!(c.protocols.contains(p), "{p:?} not offered");
            }
        }
        Err(e) => {
            use HandshakeError::*;
            match e {
                HeadTooLarge { limit } => {
                    assert_eq!(*limit, c.max_header_bytes);
                    assert!(buf.len() >= *limit);
                }
                TooManyHeaders { limit } => assert_eq!(*limit, c.max_headers),
                UnexpectedStatus { status, .. } => assert_ne!(*status, 101),
                Malformed(_)
                | HttpSyntax(_)
                | HttpVersion
                | NotWebSocketUpgrade
                | NoConnectionUpgrade
                | MissingHeader(_)
                | DuplicateHeader(_)
                | AcceptMismatch
                | UnexpectedProtocol(_)
                | InvalidExtensions(_) => {}
                other => panic!("server-side error from the client parser: {other:?}"),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((h, lengths, buf)) = split_input(data, 3) else {
        return;
    };
    let c = client(h);
    let whole = parse_all(&c, buf, &[buf.len()]);
    check(&c, buf, &whole);
    let split = parse_all(&c, buf, &piece_ends(lengths, buf.len()));
    assert_eq!(whole, split, "whole vs. pieces");
    if buf.len() <= 256 {
        let ends: Vec<usize> = (0..=buf.len()).collect();
        assert_eq!(whole, parse_all(&c, buf, &ends), "whole vs. byte by byte");
    }
    if !matches!(whole, Ok(None)) {
        let mut longer = buf.to_vec();
        longer.extend_from_slice(TRAILER);
        assert_eq!(
            whole,
            parse_all(&c, &longer, &[longer.len()]),
            "bytes after the head"
        );
    }
});
