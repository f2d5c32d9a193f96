//! Tests of the server's handshake as data: `http::Request` in, `http::Response` out,
//! and the same answers as the byte path.

use super::*;
use crate::websocket::handshake::{accept_key, RequestParser};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const PEER: &str = "tcp:127.0.0.1:50000";

/// A valid upgrade request for `/chat?room=1`, plus `extra` headers.
fn request(extra: &[(&str, &str)]) -> http::Request<()> {
    let mut b = http::Request::get("/chat?room=1")
        .header("Host", "localhost:9000")
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Key", KEY)
        .header("Sec-WebSocket-Version", "13");
    for (n, v) in extra {
        b = b.header(*n, *v);
    }
    b.body(()).unwrap()
}

fn pending(hs: &ServerHandshake, req: &http::Request<()>) -> PendingUpgrade {
    match hs.check_request(req, PEER) {
        Ok(Checked::Upgrade(p)) => p,
        other => panic!("not an upgrade: {other:?}"),
    }
}

fn refused(hs: &ServerHandshake, req: &http::Request<()>) -> Refusal {
    match hs.check_request(req, PEER) {
        Err(r) => r,
        Ok(other) => panic!("accepted: {other:?}"),
    }
}

fn header<B>(resp: &http::Response<B>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[test]
fn accept_gives_101_with_accept_key_and_what_on_connect_sees() {
    let hs = ServerHandshake::new();
    let p = pending(&hs, &request(&[("Origin", "http://example.com")]));
    let r = p.request();
    assert_eq!(
        (r.path.as_str(), r.host.as_str(), r.version, r.peer.as_str()),
        ("/chat", "localhost:9000", 13, PEER)
    );
    assert_eq!(r.params["room"], ["1"]);
    assert_eq!(r.origin.as_deref(), Some("http://example.com"));
    assert_eq!(p.key(), KEY);

    let accepted = hs.respond(p, Ok(ConnectionAccept::new())).unwrap();
    let resp = accepted.response();
    assert_eq!(resp.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(resp.version(), http::Version::HTTP_11);
    assert_eq!(
        header(&resp, "sec-websocket-accept").as_deref(),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(header(&resp, "upgrade").as_deref(), Some("websocket"));
    assert_eq!(header(&resp, "connection").as_deref(), Some("Upgrade"));
    assert_eq!(header(&resp, "server").as_deref(), Some(DEFAULT_SERVER));
    assert_eq!(header(&resp, "sec-websocket-protocol"), None);
    assert_eq!(accepted.negotiated(), &Negotiated::default());
}

#[test]
fn http_and_byte_paths_give_the_same_answer() {
    let raw = format!(
        "GET /chat?room=1 HTTP/1.1\r\nHost: localhost:9000\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: b, a\r\n\r\n"
    );
    let mut hs = ServerHandshake::new();
    hs.protocols = vec!["a".into(), "b".into()];
    hs.headers.append("X-Served-By", "test");
    let decision = || Ok(ConnectionAccept::new().header("Set-Cookie", "id=1"));

    let mut parser = RequestParser::new(PEER, &hs.config);
    let Some(ParsedRequest::Upgrade(u)) = parser.parse(raw.as_bytes(), &hs.config).unwrap() else {
        panic!("not an upgrade");
    };
    let from_bytes = hs.respond(hs.negotiate(*u).unwrap(), decision()).unwrap();
    let from_http = hs
        .respond(
            pending(&hs, &request(&[("Sec-WebSocket-Protocol", "b, a")])),
            decision(),
        )
        .unwrap();
    assert_eq!(from_bytes.to_bytes(), from_http.to_bytes());
    // The client's preference wins among the protocols we speak.
    assert_eq!(from_http.negotiated().subprotocol.as_deref(), Some("b"));
    let text = String::from_utf8(from_http.to_bytes()).unwrap();
    assert_eq!(
        text,
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nServer: {DEFAULT_SERVER}\r\n\
             X-Served-By: test\r\nSet-Cookie: id=1\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Protocol: b\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(KEY)
        )
    );
    let resp = from_http.response();
    assert_eq!(header(&resp, "x-served-by").as_deref(), Some("test"));
    assert_eq!(header(&resp, "set-cookie").as_deref(), Some("id=1"));
}

#[test]
fn protocol_selection() {
    let mut hs = ServerHandshake::new();
    hs.protocols = vec!["wamp.2.cbor".into(), "wamp.2.json".into()];
    let offer = [("Sec-WebSocket-Protocol", "wamp.2.json, wamp.2.cbor")];
    let chosen = |decision: ConnectionAccept| {
        hs.respond(pending(&hs, &request(&offer)), Ok(decision))
            .map(|a| a.into_negotiated().subprotocol)
    };
    // No choice by on_connect: the client's first that we speak.
    assert_eq!(
        chosen(ConnectionAccept::new()),
        Ok(Some("wamp.2.json".into()))
    );
    // on_connect's choice among the offered ones wins.
    assert_eq!(
        chosen(ConnectionAccept::with_subprotocol("wamp.2.cbor")),
        Ok(Some("wamp.2.cbor".into()))
    );
    // A choice the client did not offer: 500, nothing accepted.
    let refusal = chosen(ConnectionAccept::with_subprotocol("mqtt")).unwrap_err();
    assert_eq!(refusal.status(), 500);
    assert!(refusal
        .response()
        .body()
        .contains("server chose a subprotocol the client did not offer"));
    // Nothing in common: no protocol header.
    let hs = ServerHandshake::new();
    let accepted = hs
        .respond(pending(&hs, &request(&offer)), Ok(ConnectionAccept::new()))
        .unwrap();
    assert_eq!(header(&accepted.response(), "sec-websocket-protocol"), None);
}

#[test]
fn on_connect_deny_is_answered_with_its_status_and_reason() {
    let hs = ServerHandshake::new();
    let deny = ConnectionDeny::new(ConnectionDeny::NOT_FOUND, Some("no <such> room"));
    let refusal = hs
        .respond(pending(&hs, &request(&[])), Err(deny))
        .unwrap_err();
    assert_eq!(
        refusal.error(),
        &HandshakeError::Rejected("connection denied by on_connect: 404".into())
    );
    let resp = refusal.response();
    assert_eq!(resp.status(), http::StatusCode::NOT_FOUND);
    assert_eq!(header(&resp, "connection").as_deref(), Some("close"));
    assert_eq!(
        header(&resp, "content-length"),
        Some(resp.body().len().to_string())
    );
    assert!(
        resp.body().contains("no &lt;such&gt; room"),
        "{}",
        resp.body()
    );
    assert!(refusal
        .to_bytes()
        .starts_with(b"HTTP/1.1 404 Not Found\r\n"));
    // A code that is no error status is answered as 500.
    let refusal = hs
        .respond(
            pending(&hs, &request(&[])),
            Err(ConnectionDeny::new(200, None::<String>)),
        )
        .unwrap_err();
    assert_eq!(refusal.status(), 500);
}

#[test]
fn invalid_accept_headers_are_a_500_not_a_broken_101() {
    let hs = ServerHandshake::new();
    for (name, value) in [("X-Bad", "a\r\nInjected: 1"), ("Sec-WebSocket-Accept", "x")] {
        let decision = Ok(ConnectionAccept::new().header(name, value));
        let refusal = hs
            .respond(pending(&hs, &request(&[])), decision)
            .unwrap_err();
        assert_eq!(refusal.status(), 500, "{name}");
        assert!(matches!(
            refusal.error(),
            HandshakeError::InvalidOutgoingHeader { .. }
        ));
    }
}

#[test]
fn each_invalid_request_gets_the_status_our_server_answers() {
    let hs = ServerHandshake::new();
    let with = |f: &dyn Fn(&mut http::Request<()>)| {
        let mut r = request(&[]);
        f(&mut r);
        refused(&hs, &r)
    };
    let post = with(&|r| *r.method_mut() = http::Method::POST);
    assert_eq!(post.status(), 405);
    let http10 = with(&|r| *r.version_mut() = http::Version::HTTP_10);
    assert_eq!(http10.status(), 505);
    let http2 = with(&|r| *r.version_mut() = http::Version::HTTP_2);
    assert_eq!(*http2.error(), HandshakeError::HttpVersion);
    let no_key = with(&|r| {
        r.headers_mut().remove("sec-websocket-key");
    });
    assert_eq!(
        *no_key.error(),
        HandshakeError::MissingHeader("Sec-WebSocket-Key")
    );
    assert_eq!(no_key.status(), 400);
    let bad_key = with(&|r| {
        r.headers_mut()
            .insert("sec-websocket-key", "short".parse().unwrap());
    });
    assert_eq!(*bad_key.error(), HandshakeError::InvalidKey);
    let no_conn = with(&|r| {
        r.headers_mut().remove("connection");
    });
    assert_eq!(*no_conn.error(), HandshakeError::NoConnectionUpgrade);
    let bad_protocols = with(&|r| {
        r.headers_mut()
            .insert("sec-websocket-protocol", "a, a".parse().unwrap());
    });
    assert_eq!(bad_protocols.status(), 400);

    let old = with(&|r| {
        r.headers_mut()
            .insert("sec-websocket-version", "7".parse().unwrap());
    });
    assert_eq!(old.status(), 426);
    let resp = old.response();
    assert_eq!(
        header(&resp, "sec-websocket-version").as_deref(),
        Some("13, 8")
    );
    assert_eq!(header(&resp, "server").as_deref(), Some(DEFAULT_SERVER));
    // The error page is the one the byte path writes.
    assert_eq!(
        old.to_bytes(),
        super::super::error_response(old.error(), Some(DEFAULT_SERVER))
    );
}

#[test]
fn plain_get_is_the_status_page_or_426() {
    let mut plain = http::Request::get("/").body(()).unwrap();
    plain
        .headers_mut()
        .insert("host", "localhost".parse().unwrap());
    let mut hs = ServerHandshake::new();
    match hs.check_request(&plain, PEER) {
        Ok(Checked::StatusPage(page)) => {
            assert_eq!(page.status(), http::StatusCode::OK);
            assert!(page.body().contains("WebSocket endpoint"));
            assert_eq!(header(&page, "server").as_deref(), Some(DEFAULT_SERVER));
        }
        other => panic!("{other:?}"),
    }
    hs.config.web_status = false;
    let refusal = refused(&hs, &plain);
    assert_eq!(refusal.status(), 426);
    assert_eq!(
        header(&refusal.response(), "upgrade").as_deref(),
        Some("websocket")
    );
}

#[test]
fn host_port_checked_against_external_port() {
    let mut hs = ServerHandshake::new();
    hs.config.external_port = Some(9000);
    assert!(hs.check_request(&request(&[]), PEER).is_ok());
    let mut other_port = request(&[]);
    other_port
        .headers_mut()
        .insert("host", "localhost:9001".parse().unwrap());
    let refusal = refused(&hs, &other_port);
    assert_eq!(refusal.status(), 400);
    assert!(matches!(
        refusal.error(),
        HandshakeError::HostPortMismatch { expected: 9000, .. }
    ));
    // No port in Host: the default port of the scheme.
    let mut no_port = request(&[]);
    no_port
        .headers_mut()
        .insert("host", "localhost".parse().unwrap());
    hs.config.external_port = Some(443);
    assert!(hs.check_request(&no_port, PEER).is_err());
    hs.config.default_port = 443;
    assert!(hs.check_request(&no_port, PEER).is_ok());
}

#[test]
fn origin_policy() {
    let options = ServerOptions {
        allowed_origins: vec!["https://*.example.com:443".into()],
        ..ServerOptions::default()
    };
    let hs = ServerHandshake::from_options(&options);
    let good = pending(&hs, &request(&[("Origin", "https://app.example.com")]));
    assert_eq!(
        good.request().origin.as_deref(),
        Some("https://app.example.com")
    );
    let refusal = refused(&hs, &request(&[("Origin", "https://evil.test")]));
    assert_eq!(refusal.status(), 403);
    assert_eq!(
        *refusal.error(),
        HandshakeError::OriginNotAllowed("https://evil.test".into())
    );
    // `null` only when allowed.
    assert_eq!(refused(&hs, &request(&[("Origin", "null")])).status(), 403);
    let hs = ServerHandshake::from_options(&ServerOptions {
        allow_null_origin: true,
        ..ServerOptions::default()
    });
    assert!(hs
        .check_request(&request(&[("Origin", "null")]), PEER)
        .is_ok());
}

#[test]
fn too_many_connections_is_503() {
    let refusal = Refusal::too_many_connections();
    assert_eq!(refusal.status(), 503);
    assert!(refusal.response().body().contains("too many connections"));
    assert!(refusal
        .to_bytes()
        .starts_with(b"HTTP/1.1 503 Service Unavailable\r\n"));
    let chain = std::error::Error::source(&refusal).map(ToString::to_string);
    assert_eq!(
        chain.as_deref(),
        Some("maximum number of connections reached")
    );
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use crate::websocket::deflate::{
        PerMessageDeflateOffer, PerMessageDeflateOfferAccept, MAX_WINDOW_BITS,
    };
    use std::sync::Arc;

    fn offer(value: &str) -> http::Request<()> {
        request(&[("Sec-WebSocket-Extensions", value)])
    }

    #[test]
    fn offer_with_params_is_accepted_with_a_matching_response() {
        let hs = ServerHandshake::new();
        let p = pending(
            &hs,
            &offer("permessage-deflate; server_max_window_bits=10; client_max_window_bits"),
        );
        let params = *p.deflate().expect("deflate agreed before on_connect");
        assert_eq!(params.server_max_window_bits, 10);
        assert_eq!(p.extensions().len(), 1);
        let accepted = hs.respond(p, Ok(ConnectionAccept::new())).unwrap();
        assert_eq!(
            header(&accepted.response(), "sec-websocket-extensions").as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
        let negotiated = accepted.into_negotiated();
        assert_eq!(negotiated.deflate, Some(params));
        let codec = negotiated.deflate_codec(true).unwrap();
        assert!(codec.is_server());
        assert_eq!(codec.params().client_max_window_bits, MAX_WINDOW_BITS);
    }

    #[test]
    fn first_acceptable_offer_wins_and_others_are_ignored() {
        let hs = ServerHandshake::new();
        let p = pending(
            &hs,
            &offer("x-webkit-deflate-frame, permessage-deflate; server_no_context_takeover, permessage-deflate"),
        );
        assert!(p.deflate().unwrap().server_no_context_takeover);
        assert_eq!(p.extensions()[0].name, "permessage-deflate");
    }

    #[test]
    fn invalid_offers_are_400_before_on_connect() {
        let hs = ServerHandshake::new();
        for bad in [
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; bogus",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        ] {
            let refusal = refused(&hs, &offer(bad));
            assert_eq!(refusal.status(), 400, "{bad}");
            assert!(
                refusal
                    .error()
                    .to_string()
                    .starts_with("invalid permessage-deflate offer"),
                "{bad}: {}",
                refusal.error()
            );
        }
        // Malformed header syntax is refused by the validation already.
        let refusal = refused(&hs, &offer("permessage-deflate; =1"));
        assert!(matches!(
            refusal.error(),
            HandshakeError::InvalidExtensions(_)
        ));
    }

    #[test]
    fn compression_declined_or_acceptance_invalid() {
        let mut hs = ServerHandshake::new();
        hs.per_message_compression_accept = None;
        let p = pending(&hs, &offer("permessage-deflate"));
        assert_eq!(p.deflate(), None);
        let accepted = hs.respond(p, Ok(ConnectionAccept::new())).unwrap();
        assert_eq!(
            header(&accepted.response(), "sec-websocket-extensions"),
            None
        );

        // An acceptor asking for an invalid window: refused, not sent.
        hs.per_message_compression_accept =
            Some(Arc::new(|offers: &[PerMessageDeflateOffer]| {
                let mut a = PerMessageDeflateOfferAccept::new(*offers.first()?);
                a.window_bits = Some(20);
                Some(a)
            }));
        let refusal = refused(&hs, &offer("permessage-deflate"));
        assert_eq!(refusal.status(), 400);
        assert!(refusal
            .error()
            .to_string()
            .starts_with("invalid permessage-deflate acceptance"));
    }
}
