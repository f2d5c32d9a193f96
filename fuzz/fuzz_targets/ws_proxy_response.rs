//! `ProxyResponseParser`: a proxy's answer to `CONNECT`, fed as a growing buffer.
//!
//! Input: `[max_bytes, max_headers, k, k piece lengths..., response...]` with
//! `max_header_bytes = (max_bytes + 1) * 32`, `max_headers = max_headers % 72`.
//! Invariants: whole and piecewise feeding agree; a decided answer does not change
//! when tunnel bytes follow; `consumed` ends the head within the input and limit;
//! only 2xx is accepted and everything else is `ProxyRefused` or a limit/syntax error.
#![no_main]

use autobahn::websocket::handshake::HandshakeError;
use autobahn::websocket::proxy::ProxyResponseParser;
use fuzz_support::{feed_prefixes, piece_ends, split_input, TRAILER};
use libfuzzer_sys::fuzz_target;

type Answer = Result<Option<usize>, HandshakeError>;

fn parse_all(limits: (usize, usize), buf: &[u8], ends: &[usize]) -> Answer {
    let mut p = ProxyResponseParser::with_limits(limits.0, limits.1);
    feed_prefixes(buf, ends, |b| p.parse(b)).0
}

fn status_of(head: &[u8]) -> Option<u16> {
    // Reference: the status is the 3 digits after the first space of the first
    // non-empty line.
    let line = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.is_empty())?;
    let sp = line.iter().position(|&b| b == b' ')?;
    let digits = line.get(sp + 1..sp + 4)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((h, lengths, buf)) = split_input(data, 2) else {
        return;
    };
    let limits = ((usize::from(h[0]) + 1) * 32, usize::from(h[1] % 72));
    let whole = parse_all(limits, buf, &[buf.len()]);
    match &whole {
        Ok(None) => assert!(buf.len() < limits.0),
        Ok(Some(n)) => {
            let n = *n;
            assert!(n > 0 && n <= buf.len() && n <= limits.0, "consumed {n}");
            assert_eq!(buf[n - 1], b'\n');
            let s = status_of(&buf[..n]).expect("accepted head has a status");
            assert!((200..300).contains(&s), "accepted status {s}");
        }
        Err(HandshakeError::ProxyRefused { status, .. }) => {
            assert!(!(200..300).contains(status), "refused {status}");
        }
        Err(HandshakeError::HeadTooLarge { limit }) => {
            assert_eq!(*limit, limits.0);
            assert!(buf.len() >= *limit);
        }
        Err(HandshakeError::TooManyHeaders { limit }) => assert_eq!(*limit, limits.1),
        Err(HandshakeError::Malformed(_) | HandshakeError::HttpSyntax(_)) => {}
        Err(other) => panic!("unexpected error {other:?}"),
    }
    let split = parse_all(limits, buf, &piece_ends(lengths, buf.len()));
    assert_eq!(whole, split, "whole vs. pieces");
    if buf.len() <= 256 {
        let ends: Vec<usize> = (0..=buf.len()).collect();
        assert_eq!(
            whole,
            parse_all(limits, buf, &ends),
            "whole vs. byte by byte"
        );
    }
    if !matches!(whole, Ok(None)) {
        let mut longer = buf.to_vec();
        longer.extend_from_slice(TRAILER);
        assert_eq!(
            whole,
            parse_all(limits, &longer, &[longer.len()]),
            "tunnel bytes"
        );
    }
});
