//! Tests of the client's check of an `http::Response`, and of the request as an
//! `http::Request`.

use super::*;
use crate::websocket::handshake::{Checked, ServerHandshake};
use crate::websocket::types::ConnectionAccept;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const PEER: &str = "tcp:127.0.0.1:9000";

fn client() -> ClientHandshake {
    let mut c = ClientHandshake::new("localhost", 9000, false);
    c.resource = "/chat?x=1".into();
    c.protocols = vec!["chat".into(), "superchat".into()];
    c
}

/// A `101` with the right accept key plus `extra` headers.
fn answer(extra: &[(&str, &str)]) -> http::Response<()> {
    let mut b = http::Response::builder()
        .status(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", ACCEPT);
    for (n, v) in extra {
        b = b.header(*n, *v);
    }
    b.body(()).unwrap()
}

fn check(c: &ClientHandshake, resp: &http::Response<()>) -> Result<Negotiated, HandshakeError> {
    c.check_response(KEY, resp, PEER).map(|(_, n)| n)
}

#[test]
fn good_response() {
    let (resp, negotiated) = client()
        .check_response(
            KEY,
            &answer(&[
                ("Sec-WebSocket-Protocol", "superchat"),
                ("Set-Cookie", "a=1"),
            ]),
            PEER,
        )
        .unwrap();
    assert_eq!(resp.protocol.as_deref(), Some("superchat"));
    assert_eq!(resp.peer, PEER);
    assert_eq!(resp.headers.get("set-cookie"), Some("a=1"));
    assert_eq!(negotiated.subprotocol.as_deref(), Some("superchat"));
    assert!(negotiated.extensions.is_empty());
}

#[test]
fn wrong_status_key_or_headers() {
    let c = client();
    let mut not_101 = answer(&[]);
    *not_101.status_mut() = http::StatusCode::FORBIDDEN;
    assert_eq!(
        check(&c, &not_101),
        Err(HandshakeError::UnexpectedStatus {
            status: 403,
            reason: "Forbidden".into()
        })
    );
    let mut wrong_key = answer(&[]);
    wrong_key.headers_mut().insert(
        "sec-websocket-accept",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".parse().unwrap(),
    );
    assert_eq!(check(&c, &wrong_key), Err(HandshakeError::AcceptMismatch));
    let mut no_upgrade = answer(&[]);
    no_upgrade.headers_mut().remove("upgrade");
    assert_eq!(
        check(&c, &no_upgrade),
        Err(HandshakeError::NotWebSocketUpgrade)
    );
    let mut http10 = answer(&[]);
    *http10.version_mut() = http::Version::HTTP_10;
    assert_eq!(check(&c, &http10), Err(HandshakeError::HttpVersion));
}

#[test]
fn unoffered_subprotocol() {
    assert_eq!(
        check(&client(), &answer(&[("Sec-WebSocket-Protocol", "mqtt")])),
        Err(HandshakeError::UnexpectedProtocol("mqtt".into()))
    );
}

#[test]
fn unoffered_extension() {
    let err = check(&client(), &answer(&[("Sec-WebSocket-Extensions", "x-foo")])).unwrap_err();
    assert_eq!(
        err,
        HandshakeError::UnexpectedExtensions(vec!["x-foo".into()])
    );
    assert_eq!(
        err.to_string(),
        "server answered with extensions we did not offer: x-foo"
    );
    assert_eq!(err.http_status(), 502);
    assert_eq!(
        check(
            &client(),
            &answer(&[("Sec-WebSocket-Extensions", "x-foo; =")])
        ),
        Err(HandshakeError::InvalidExtensions(
            "expected parameter name at offset 7".into()
        ))
    );
}

#[test]
fn http_request_matches_the_bytes() {
    let mut c = client();
    c.origin = Some("http://example.com".into());
    c.headers.append("Authorization", "Bearer t");
    let req = c.http_request_with_key(KEY).unwrap();
    assert_eq!(req.method(), http::Method::GET);
    assert_eq!(req.uri(), "/chat?x=1");
    assert_eq!(req.version(), http::Version::HTTP_11);
    let bytes = String::from_utf8(c.build_request_with_key(KEY).unwrap()).unwrap();
    let mut lines = bytes.lines().skip(1).filter(|l| !l.is_empty());
    for (name, value) in req.headers() {
        let line = lines.next().expect("as many lines as headers");
        assert_eq!(
            line.to_ascii_lowercase(),
            format!("{name}: {}", value.to_str().unwrap()).to_ascii_lowercase()
        );
    }
    assert_eq!(lines.next(), None);
    // What the builder refuses, both forms refuse.
    c.headers.append("Upgrade", "h2c");
    assert!(c.http_request_with_key(KEY).is_err());
    assert!(c.build_request_with_key(KEY).is_err());
}

#[test]
fn http_roundtrip_with_our_server() {
    let c = client();
    let (req, key) = c.http_request().unwrap();
    let mut hs = ServerHandshake::new();
    hs.protocols = vec!["superchat".into()];
    let Ok(Checked::Upgrade(p)) = hs.check_request(&req, "tcp:127.0.0.1:50000") else {
        panic!("our server refused our request");
    };
    let resp = hs
        .respond(p, Ok(ConnectionAccept::new()))
        .unwrap()
        .response();
    let (_, negotiated) = c.check_response(&key, &resp, PEER).unwrap();
    assert_eq!(negotiated.subprotocol.as_deref(), Some("superchat"));
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use crate::websocket::deflate::{default_offers, PerMessageDeflateOffer};

    fn deflate_client() -> ClientHandshake {
        let mut c = client();
        c.per_message_compression_offers = default_offers();
        c
    }

    #[test]
    fn offers_go_into_the_request() {
        let mut c = deflate_client();
        c.per_message_compression_offers
            .push(PerMessageDeflateOffer::new(true, false, true, 10).unwrap());
        let req = c.http_request_with_key(KEY).unwrap();
        assert_eq!(
            req.headers()["sec-websocket-extensions"],
            "permessage-deflate; client_no_context_takeover; client_max_window_bits, \
             permessage-deflate; client_no_context_takeover; server_no_context_takeover; \
             server_max_window_bits=10"
        );
    }

    #[test]
    fn good_deflate_response_gives_the_codec_parameters() {
        let c = deflate_client();
        let n = check(
            &c,
            &answer(&[(
                "Sec-WebSocket-Extensions",
                "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
            )]),
        )
        .unwrap();
        let params = n.deflate.expect("deflate agreed");
        assert_eq!(
            (params.server_max_window_bits, params.client_max_window_bits),
            (10, 9)
        );
        assert!(!n.deflate_codec(false).unwrap().is_server());
    }

    #[test]
    fn bad_deflate_params_are_refused() {
        let c = deflate_client();
        for bad in [
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; bogus",
            "permessage-deflate; client_max_window_bits=16",
        ] {
            let err = check(&c, &answer(&[("Sec-WebSocket-Extensions", bad)])).unwrap_err();
            assert!(
                matches!(err, HandshakeError::InvalidDeflateResponse(_)),
                "{bad}: {err:?}"
            );
            // The reason is the source, for error chains.
            assert!(std::error::Error::source(&err).is_some(), "{bad}");
        }
        // Two deflate responses: one extension of each kind at most.
        let two = "permessage-deflate, permessage-deflate";
        assert!(matches!(
            check(&c, &answer(&[("Sec-WebSocket-Extensions", two)])),
            Err(HandshakeError::UnexpectedExtensions(_))
        ));
        // Deflate that we did not offer.
        let err = check(
            &client(),
            &answer(&[("Sec-WebSocket-Extensions", "permessage-deflate")]),
        )
        .unwrap_err();
        assert!(
            matches!(err, HandshakeError::InvalidDeflateResponse(_)),
            "{err:?}"
        );
        // Our acceptor refusing the response.
        let mut c = deflate_client();
        c.per_message_compression_accept = None;
        assert_eq!(
            check(
                &c,
                &answer(&[("Sec-WebSocket-Extensions", "permessage-deflate")])
            ),
            Err(HandshakeError::DeflateResponseRefused)
        );
    }

    #[test]
    fn deflate_roundtrip_with_our_server_agrees_on_both_directions() {
        let c = deflate_client();
        let (req, key) = c.http_request().unwrap();
        let hs = ServerHandshake::new();
        let Ok(Checked::Upgrade(p)) = hs.check_request(&req, "tcp:127.0.0.1:50000") else {
            panic!("our server refused our request");
        };
        let accepted = hs.respond(p, Ok(ConnectionAccept::new())).unwrap();
        let (_, client_side) = c.check_response(&key, &accepted.response(), PEER).unwrap();
        let server = accepted.negotiated().deflate.unwrap();
        let client = client_side.deflate.unwrap();
        assert_eq!(server.server_max_window_bits, client.server_max_window_bits);
        assert_eq!(
            server.server_no_context_takeover,
            client.server_no_context_takeover
        );
    }
}
