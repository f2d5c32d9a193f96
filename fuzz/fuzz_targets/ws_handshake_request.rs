//! Server side: `RequestParser` fed a client's opening request as a growing buffer.
//!
//! Input: `[max_bytes, max_headers, flags, k, k piece lengths..., request...]`
//! * `max_header_bytes = (max_bytes + 1) * 32`, `max_headers = max_headers % 72`
//! * `flags` bit 0 `web_status`, bit 1 `serve_flash_socket_policy`, bit 2 versions
//!   `[13]` only, bits 3–4 origin policy (see `policy`), bits 5–7
//!   `trust_x_forwarded_for`.
//!
//! Invariants: whole and piecewise feeding give the same answer; a decided answer
//! does not change when more bytes follow; `consumed` is within the input and the
//! limit and ends the head; the limits hold; accepted requests satisfy what the
//! validation promises; every error has an HTTP status and an error page that is
//! itself a well-formed HTTP response.
#![no_main]

use autobahn::websocket::handshake::server::FLASH_POLICY_REQUEST;
use autobahn::websocket::handshake::{
    accept_key, accept_response, error_response, is_token, HandshakeError, ParsedRequest,
    RequestParser, ServerHandshakeConfig,
};
use autobahn::websocket::origin::OriginPolicy;
use autobahn::websocket::proxy::ProxyResponseParser;
use autobahn::websocket::types::Headers;
use fuzz_support::{feed_prefixes, piece_ends, split_input, TRAILER};
use libfuzzer_sys::fuzz_target;

fn policy(sel: u8) -> OriginPolicy {
    match sel & 3 {
        0 => OriginPolicy::default(),
        1 => OriginPolicy::new(["https://*.example.com:443"], false),
        2 => OriginPolicy::new(Vec::<String>::new(), false),
        _ => OriginPolicy::new(["*://localhost:*", "http://a.com:80"], true),
    }
}

fn config(h: &[u8]) -> ServerHandshakeConfig {
    let flags = h[2];
    ServerHandshakeConfig {
        versions: if flags & 4 != 0 {
            vec![13]
        } else {
            vec![8, 13]
        },
        web_status: flags & 1 != 0,
        serve_flash_socket_policy: flags & 2 != 0,
        origins: policy(flags >> 3),
        trust_x_forwarded_for: usize::from(flags >> 5),
        max_header_bytes: (usize::from(h[0]) + 1) * 32,
        max_headers: usize::from(h[1] % 72),
        // Half the inputs also check the `Host` port (what the URL in the input names, or
        // the default port 80).
        external_port: (h[0] & 1 == 1).then_some(9000),
        default_port: 80,
    }
}

type Answer = Result<Option<ParsedRequest>, HandshakeError>;

fn parse_all(config: &ServerHandshakeConfig, buf: &[u8], ends: &[usize]) -> Answer {
    let mut p = RequestParser::new("tcp:192.0.2.1:5000", config);
    feed_prefixes(buf, ends, |b| p.parse(b, config)).0
}

fn check_consumed(buf: &[u8], consumed: usize, config: &ServerHandshakeConfig) {
    assert!(
        consumed > 0 && consumed <= buf.len(),
        "consumed {consumed} of {}",
        buf.len()
    );
    assert!(
        consumed <= config.max_header_bytes,
        "consumed {consumed} over the limit"
    );
    assert_eq!(buf[consumed - 1], b'\n', "head must end with a line feed");
}

fn check(config: &ServerHandshakeConfig, buf: &[u8], answer: &Answer) {
    match answer {
        Ok(None) => {
            assert!(
                buf.len() < config.max_header_bytes,
                "undecided at {} bytes",
                buf.len()
            );
        }
        Ok(Some(ParsedRequest::FlashPolicy { consumed })) => {
            assert!(config.serve_flash_socket_policy);
            assert_eq!(*consumed, FLASH_POLICY_REQUEST.len());
            assert!(buf.starts_with(FLASH_POLICY_REQUEST));
        }
        Ok(Some(ParsedRequest::StatusPage { path, consumed })) => {
            assert!(config.web_status);
            check_consumed(buf, *consumed, config);
            assert!(!path.is_empty());
        }
        Ok(Some(ParsedRequest::Upgrade(u))) => {
            check_consumed(buf, u.consumed, config);
            let r = &u.request;
            assert!(
                r.headers.len() <= config.max_headers,
                "{} headers",
                r.headers.len()
            );
            assert!(config.versions.contains(&r.version));
            assert!(
                config.origins.is_allowed(r.origin.as_deref()),
                "{:?}",
                r.origin
            );
            assert!(!r.path.is_empty(), "path {:?}", r.path);
            for (i, p) in r.protocols.iter().enumerate() {
                assert!(
                    is_token(p) && !r.protocols[..i].contains(p),
                    "{:?}",
                    r.protocols
                );
            }
            for e in &r.extensions {
                assert!(is_token(&e.name), "{e:?}");
            }
            assert_eq!(u.key.len(), 24);
            assert_eq!(accept_key(&u.key).len(), 28);
            let resp = accept_response(&u.key, None, &[], &Headers::new(), None)
                .expect("101 for an accepted request");
            assert!(resp.starts_with(b"HTTP/1.1 101 "));
        }
        Err(e) => {
            let status = e.http_status();
            assert!(
                matches!(status, 400 | 403 | 405 | 426 | 431 | 505),
                "{e:?} -> {status}"
            );
            if let HandshakeError::HeadTooLarge { limit } = e {
                assert_eq!(*limit, config.max_header_bytes);
                assert!(buf.len() >= *limit);
            }
            if let HandshakeError::TooManyHeaders { limit } = e {
                assert_eq!(*limit, config.max_headers);
            }
            // Our error page is a well-formed HTTP response carrying that status.
            let page = error_response(e, Some("fuzz"));
            match ProxyResponseParser::with_limits(64 * 1024, 64).parse(&page) {
                Err(HandshakeError::ProxyRefused { status: s, .. }) => assert_eq!(s, status),
                other => panic!("error page for {e:?} parsed as {other:?}"),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((h, lengths, buf)) = split_input(data, 3) else {
        return;
    };
    let config = config(h);
    let whole = parse_all(&config, buf, &[buf.len()]);
    check(&config, buf, &whole);
    let split = parse_all(&config, buf, &piece_ends(lengths, buf.len()));
    assert_eq!(whole, split, "whole vs. pieces");
    if buf.len() <= 256 {
        let ends: Vec<usize> = (0..=buf.len()).collect();
        assert_eq!(
            whole,
            parse_all(&config, buf, &ends),
            "whole vs. byte by byte"
        );
    }
    if !matches!(whole, Ok(None)) {
        let mut longer = buf.to_vec();
        longer.extend_from_slice(TRAILER);
        assert_eq!(
            whole,
            parse_all(&config, &longer, &[longer.len()]),
            "bytes after the head"
        );
    }
});
