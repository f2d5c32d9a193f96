use super::*;
use crate::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams, EXTENSION_NAME};

/// Splits `name; a; b=c` (test helper, not a header parser) into the name and its params.
fn ext(s: &str) -> (String, Vec<(String, Option<String>)>) {
    let mut parts = s.split(';').map(str::trim);
    let name = parts.next().unwrap().to_owned();
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), Some(v.trim().to_owned())),
            None => (p.to_owned(), None),
        })
        .collect();
    (name, params)
}

fn params(s: &str) -> Vec<(String, Option<String>)> {
    ext(&format!(
        "{EXTENSION_NAME}{}{s}",
        if s.is_empty() { "" } else { "; " }
    ))
    .1
}

fn offer(s: &str) -> Result<PerMessageDeflateOffer> {
    PerMessageDeflateOffer::parse(&params(s))
}

fn response(s: &str, offers: &[PerMessageDeflateOffer]) -> Result<PerMessageDeflateResponse> {
    PerMessageDeflateResponse::parse(&params(s), offers)
}

fn bad_value(name: &str, value: Option<&str>) -> DeflateNegotiationError {
    DeflateNegotiationError::InvalidValue {
        name: name.into(),
        value: value.map(Into::into),
    }
}

#[test]
fn offer_defaults_and_string() {
    let o = PerMessageDeflateOffer::default();
    assert!(o.accept_no_context_takeover && o.accept_max_window_bits);
    assert!(!o.request_no_context_takeover);
    assert_eq!(o.request_max_window_bits, 0);
    assert_eq!(
        o.to_extension_string(),
        "permessage-deflate; client_no_context_takeover; client_max_window_bits"
    );
    let o = PerMessageDeflateOffer::new(true, false, true, 10).unwrap();
    assert_eq!(
        o.to_string(),
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=10"
    );
    assert_eq!(
        PerMessageDeflateOffer::new(true, true, false, 16),
        Err(DeflateNegotiationError::Incompatible(
            "max window bits must be 0 (none) or 8..=15"
        ))
    );
    assert!(PerMessageDeflateOffer::new(true, true, false, 7).is_err());
    assert_eq!(default_offers(), vec![PerMessageDeflateOffer::default()]);
}

#[test]
fn offer_parse_each_parameter() {
    let empty = offer("").unwrap();
    assert_eq!(
        empty,
        PerMessageDeflateOffer {
            accept_no_context_takeover: true,
            accept_max_window_bits: false,
            request_no_context_takeover: false,
            request_max_window_bits: 0
        }
    );
    assert!(
        offer("client_max_window_bits")
            .unwrap()
            .accept_max_window_bits
    );
    for bits in 8..=15 {
        let o = offer(&format!("client_max_window_bits={bits}")).unwrap();
        assert!(o.accept_max_window_bits);
        let o = offer(&format!("server_max_window_bits={bits}")).unwrap();
        assert_eq!(o.request_max_window_bits, bits);
    }
    assert!(
        offer("client_no_context_takeover")
            .unwrap()
            .accept_no_context_takeover
    );
    assert!(
        offer("server_no_context_takeover")
            .unwrap()
            .request_no_context_takeover
    );
    let all = offer(
        "client_no_context_takeover; client_max_window_bits=9; server_no_context_takeover; server_max_window_bits=8",
    )
    .unwrap();
    assert_eq!(
        all,
        PerMessageDeflateOffer::new(true, true, true, 8).unwrap()
    );
    // Quoted values (RFC 6455 §9.1 quoted-string) are accepted.
    assert_eq!(
        offer("server_max_window_bits=\"12\"")
            .unwrap()
            .request_max_window_bits,
        12
    );
}

#[test]
fn offer_round_trips_through_its_string() {
    for o in [
        PerMessageDeflateOffer::default(),
        PerMessageDeflateOffer::new(true, false, true, 8).unwrap(),
        PerMessageDeflateOffer::new(true, true, false, 15).unwrap(),
    ] {
        let (name, p) = ext(&o.to_extension_string());
        assert_eq!(name, EXTENSION_NAME);
        assert_eq!(PerMessageDeflateOffer::parse(&p).unwrap(), o);
    }
}

#[test]
fn offer_parse_rejects_bad_input() {
    assert_eq!(
        offer("foo"),
        Err(DeflateNegotiationError::UnknownParameter("foo".into()))
    );
    // Parameter names are case-sensitive tokens.
    assert!(offer("Server_No_Context_Takeover").is_err());
    assert_eq!(
        offer("server_no_context_takeover; server_no_context_takeover"),
        Err(DeflateNegotiationError::DuplicateParameter(
            "server_no_context_takeover".into()
        ))
    );
    assert!(matches!(
        offer("client_max_window_bits; client_max_window_bits=10"),
        Err(DeflateNegotiationError::DuplicateParameter(_))
    ));
    assert!(matches!(
        offer("server_max_window_bits=10; server_max_window_bits=10"),
        Err(DeflateNegotiationError::DuplicateParameter(_))
    ));
    assert_eq!(
        offer("server_max_window_bits"),
        Err(bad_value("server_max_window_bits", None))
    );
    for v in [
        "7",
        "16",
        "0",
        "08",
        "010",
        "+9",
        "9.0",
        "abc",
        "",
        "\"\"",
        "99999999999999999999",
        "\"9",
    ] {
        assert_eq!(
            offer(&format!("server_max_window_bits={v}")),
            Err(bad_value("server_max_window_bits", Some(v))),
            "{v}"
        );
        assert_eq!(
            offer(&format!("client_max_window_bits={v}")),
            Err(bad_value("client_max_window_bits", Some(v))),
            "{v}"
        );
    }
    assert_eq!(
        offer("client_no_context_takeover=1"),
        Err(bad_value("client_no_context_takeover", Some("1")))
    );
    assert_eq!(
        offer("server_no_context_takeover=true"),
        Err(bad_value("server_no_context_takeover", Some("true")))
    );
}

#[test]
fn offer_accept_validation() {
    use DeflateNegotiationError::Incompatible;
    let plain = PerMessageDeflateOffer::default();
    let strict = PerMessageDeflateOffer::new(false, false, true, 10).unwrap();
    let ok = |o, rnct, rbits, nct, wb, ml| {
        PerMessageDeflateOfferAccept::with_params(o, rnct, rbits, nct, wb, ml)
    };
    assert!(ok(plain, true, 8, Some(true), Some(8), Some(1)).is_ok());
    assert!(ok(plain, false, 0, Some(false), Some(15), Some(9)).is_ok());
    assert!(matches!(
        ok(strict, true, 0, None, None, None),
        Err(Incompatible(_))
    ));
    assert!(matches!(
        ok(strict, false, 9, None, None, None),
        Err(Incompatible(_))
    ));
    assert!(matches!(
        ok(plain, false, 16, None, None, None),
        Err(Incompatible(_))
    ));
    assert!(matches!(
        ok(plain, false, 7, None, None, None),
        Err(Incompatible(_))
    ));
    // The client requested server_no_context_takeover: we may not refuse it.
    assert!(matches!(
        ok(strict, false, 0, Some(false), None, None),
        Err(Incompatible(_))
    ));
    assert!(ok(strict, false, 0, Some(true), None, None).is_ok());
    // window_bits at most what the client asked for.
    assert!(ok(strict, false, 0, None, Some(10), None).is_ok());
    assert!(ok(strict, false, 0, None, Some(8), None).is_ok());
    assert!(matches!(
        ok(strict, false, 0, None, Some(11), None),
        Err(Incompatible(_))
    ));
    assert!(matches!(
        ok(plain, false, 0, None, Some(16), None),
        Err(Incompatible(_))
    ));
    assert!(matches!(
        ok(plain, false, 0, None, None, Some(0)),
        Err(Incompatible(_))
    ));
    assert!(matches!(
        ok(plain, false, 0, None, None, Some(10)),
        Err(Incompatible(_))
    ));
    // An invalid offer (public fields) is caught too.
    let broken = PerMessageDeflateOffer {
        request_max_window_bits: 3,
        ..plain
    };
    assert!(PerMessageDeflateOfferAccept::new(broken)
        .validate()
        .is_err());
}

#[test]
fn offer_accept_strings() {
    let plain = PerMessageDeflateOffer::default();
    assert_eq!(
        PerMessageDeflateOfferAccept::new(plain).to_extension_string(),
        "permessage-deflate"
    );
    let strict = PerMessageDeflateOffer::new(true, true, true, 10).unwrap();
    assert_eq!(
        PerMessageDeflateOfferAccept::new(strict).to_string(),
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"
    );
    let a =
        PerMessageDeflateOfferAccept::with_params(strict, true, 8, None, Some(9), None).unwrap();
    assert_eq!(
        a.to_extension_string(),
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; \
         client_no_context_takeover; client_max_window_bits=8"
    );
    // Own restrictions are declared even if not requested.
    let a = PerMessageDeflateOfferAccept::with_params(plain, false, 0, Some(true), Some(12), None)
        .unwrap();
    assert_eq!(
        a.to_extension_string(),
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=12"
    );
}

#[test]
fn response_parse_each_parameter() {
    let offers = default_offers();
    assert_eq!(
        response("", &offers).unwrap(),
        PerMessageDeflateResponse::default()
    );
    for bits in 8..=15 {
        assert_eq!(
            response(&format!("client_max_window_bits={bits}"), &offers)
                .unwrap()
                .client_max_window_bits,
            bits
        );
        assert_eq!(
            response(&format!("server_max_window_bits={bits}"), &offers)
                .unwrap()
                .server_max_window_bits,
            bits
        );
    }
    let r = response(
        "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8",
        &offers,
    )
    .unwrap();
    assert_eq!(
        r,
        PerMessageDeflateResponse {
            client_max_window_bits: 8,
            client_no_context_takeover: true,
            server_max_window_bits: 8,
            server_no_context_takeover: true
        }
    );
    let (_, p) = ext(&r.to_extension_string());
    assert_eq!(PerMessageDeflateResponse::parse(&p, &offers).unwrap(), r);
}

#[test]
fn response_parse_rejects_bad_input() {
    use DeflateNegotiationError::*;
    let offers = default_offers();
    assert_eq!(response("x", &offers), Err(UnknownParameter("x".into())));
    assert!(matches!(
        response(
            "client_no_context_takeover; client_no_context_takeover",
            &offers
        ),
        Err(DuplicateParameter(_))
    ));
    // In a response client_max_window_bits needs a value.
    assert_eq!(
        response("client_max_window_bits", &offers),
        Err(bad_value("client_max_window_bits", None))
    );
    assert!(matches!(
        response("server_max_window_bits=16", &offers),
        Err(InvalidValue { .. })
    ));
    assert!(matches!(
        response("client_max_window_bits=7", &offers),
        Err(InvalidValue { .. })
    ));
    assert!(matches!(
        response("server_no_context_takeover=x", &offers),
        Err(InvalidValue { .. })
    ));
    // Nothing offered: no response is acceptable.
    assert!(matches!(response("", &[]), Err(NotAllowed(_))));
}

#[test]
fn response_checked_against_offers() {
    use DeflateNegotiationError::NotAllowed;
    let no_bits = PerMessageDeflateOffer::new(true, false, false, 0).unwrap();
    assert!(matches!(
        response("client_max_window_bits=10", &[no_bits]),
        Err(NotAllowed(_))
    ));
    // RFC 7692 §7.1.1.2: a server may ask for client_no_context_takeover unasked.
    let no_nct = PerMessageDeflateOffer::new(false, true, false, 0).unwrap();
    assert!(
        response("client_no_context_takeover", &[no_nct])
            .unwrap()
            .client_no_context_takeover
    );
    // Requested server restrictions must be granted (equal or smaller window).
    let wants = PerMessageDeflateOffer::new(true, true, true, 10).unwrap();
    assert!(matches!(
        response("server_max_window_bits=10", &[wants]),
        Err(NotAllowed(_))
    ));
    assert!(matches!(
        response("server_no_context_takeover", &[wants]),
        Err(NotAllowed(_))
    ));
    assert!(matches!(
        response(
            "server_no_context_takeover; server_max_window_bits=11",
            &[wants]
        ),
        Err(NotAllowed(_))
    ));
    assert!(response(
        "server_no_context_takeover; server_max_window_bits=10",
        &[wants]
    )
    .is_ok());
    assert!(response(
        "server_no_context_takeover; server_max_window_bits=8",
        &[wants]
    )
    .is_ok());
    // The server may restrict itself unasked.
    assert!(response(
        "server_no_context_takeover; server_max_window_bits=9",
        &[no_nct]
    )
    .is_ok());
    // Multiple offers: valid if any offer allows it.
    assert!(response("", &[wants, no_bits]).is_ok());
    let plain = PerMessageDeflateOffer::default();
    assert!(response("client_max_window_bits=9", &[no_bits, plain]).is_ok());
    assert!(response("client_max_window_bits=9", &[no_bits, no_bits]).is_err());
}

#[test]
fn response_accept_validation() {
    use DeflateNegotiationError::Incompatible;
    let r = PerMessageDeflateResponse {
        client_max_window_bits: 10,
        client_no_context_takeover: true,
        ..Default::default()
    };
    let ok = PerMessageDeflateResponseAccept::with_params;
    assert!(ok(r, Some(true), Some(10), Some(1)).is_ok());
    assert!(ok(r, None, Some(8), None).is_ok());
    assert!(matches!(
        ok(r, Some(false), None, None),
        Err(Incompatible(_))
    ));
    assert!(matches!(ok(r, None, Some(11), None), Err(Incompatible(_))));
    assert!(matches!(ok(r, None, Some(7), None), Err(Incompatible(_))));
    assert!(matches!(ok(r, None, None, Some(0)), Err(Incompatible(_))));
    let free = PerMessageDeflateResponse::default();
    assert!(ok(free, Some(false), Some(15), Some(9)).is_ok());
    assert!(matches!(
        ok(free, None, Some(16), None),
        Err(Incompatible(_))
    ));
}

#[test]
fn default_acceptors() {
    assert_eq!(accept_first_offer(&[]), None);
    let a = PerMessageDeflateOffer::new(true, true, true, 9).unwrap();
    let b = PerMessageDeflateOffer::default();
    assert_eq!(
        accept_first_offer(&[a, b]),
        Some(PerMessageDeflateOfferAccept::new(a))
    );
    let r = PerMessageDeflateResponse::default();
    assert_eq!(
        accept_response(&r),
        Some(PerMessageDeflateResponseAccept::new(r))
    );
    // The type aliases hold the default acceptors.
    let server: PerMessageCompressionAccept = Arc::new(accept_first_offer);
    let client: PerMessageCompressionResponseAccept = Arc::new(accept_response);
    assert!(server(&[b]).is_some());
    assert!(client(&r).is_some());
}

/// Client offers → server accepts → client accepts the response → both codecs talk.
fn negotiate(
    offers: &[PerMessageDeflateOffer],
    server_accept: impl Fn(&[PerMessageDeflateOffer]) -> Option<PerMessageDeflateOfferAccept>,
) -> (PerMessageDeflate, PerMessageDeflate, String) {
    let parsed: Vec<_> = offers
        .iter()
        .map(|o| {
            let (name, p) = ext(&o.to_extension_string());
            assert_eq!(name, EXTENSION_NAME);
            PerMessageDeflateOffer::parse(&p).unwrap()
        })
        .collect();
    let accept = server_accept(&parsed).unwrap();
    accept.validate().unwrap();
    let header = accept.to_extension_string();
    let (_, p) = ext(&header);
    let response = PerMessageDeflateResponse::parse(&p, offers).unwrap();
    let client_accept = accept_response(&response).unwrap();
    (
        PerMessageDeflate::from_offer_accept(&accept),
        PerMessageDeflate::from_response_accept(&client_accept),
        header,
    )
}

fn exchange(from: &mut PerMessageDeflate, to: &mut PerMessageDeflate) {
    for i in 0..5 {
        let msg = format!("message {i}: {}", "hello websocket ".repeat(40 + i)).into_bytes();
        let mut wire = Vec::new();
        from.compress_message(&msg, &mut wire).unwrap();
        assert!(wire.len() < msg.len() / 4);
        let mut back = Vec::new();
        to.decompress_message(&wire, &mut back, 0).unwrap();
        assert_eq!(back, msg);
    }
}

#[test]
fn end_to_end_window_bits_8_and_no_context_takeover() {
    // Client asks the server for 8 bits without context takeover; the server asks the same
    // of the client (the Autobahn testsuite 13.* style).
    let offers = [PerMessageDeflateOffer::new(true, true, true, 8).unwrap()];
    let (mut server, mut client, header) = negotiate(&offers, |o| {
        PerMessageDeflateOfferAccept::with_params(o[0], true, 8, None, None, None).ok()
    });
    assert_eq!(
        header,
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=8; \
         client_no_context_takeover; client_max_window_bits=8"
    );
    let want = PerMessageDeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 8,
        client_max_window_bits: 8,
        ..Default::default()
    };
    assert_eq!(server.params(), &want);
    assert_eq!(client.params(), &want);
    assert!(server.is_server() && !client.is_server());
    exchange(&mut server, &mut client);
    exchange(&mut client, &mut server);
}

#[test]
fn end_to_end_defaults() {
    let (mut server, mut client, header) = negotiate(&default_offers(), accept_first_offer);
    assert_eq!(header, "permessage-deflate");
    assert_eq!(server.params(), &PerMessageDeflateParams::default());
    assert_eq!(client.params(), &PerMessageDeflateParams::default());
    exchange(&mut server, &mut client);
    exchange(&mut client, &mut server);
}

#[test]
fn end_to_end_overrides() {
    // Server restricts itself unasked; client tightens its own side.
    let (mut server, _, header) = negotiate(&default_offers(), |o| {
        PerMessageDeflateOfferAccept::with_params(o[0], false, 10, Some(true), Some(9), Some(1))
            .ok()
    });
    assert_eq!(
        header,
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10"
    );
    assert_eq!(server.params().mem_level, 1);
    let (_, p) = ext(&header);
    let r = PerMessageDeflateResponse::parse(&p, &default_offers()).unwrap();
    let a = PerMessageDeflateResponseAccept::with_params(r, Some(true), Some(8), Some(2)).unwrap();
    let mut client = PerMessageDeflate::from_response_accept(&a);
    assert_eq!(
        client.params(),
        &PerMessageDeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 9,
            client_max_window_bits: 8,
            mem_level: 2,
            ..Default::default()
        }
    );
    exchange(&mut server, &mut client);
    exchange(&mut client, &mut server);
}
