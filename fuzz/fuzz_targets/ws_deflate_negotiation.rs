//! permessage-deflate negotiation (RFC 7692 §7.1) from an arbitrary
//! `Sec-WebSocket-Extensions` header to working codecs.
//!
//! Input: `[a0, a1, a2, a3, a4, n, header…]`: `a*` choose the server's and the
//! client's acceptance settings, `n` the size of the test message, the rest is the
//! header value (lines split at `\n`, as several header lines).
//!
//! Invariants: parsing never panics and fails only with typed errors; a parsed offer
//! prints as a header that parses back to the same offer; whatever a server accepts
//! (validated acceptance) gives a response that the client making that offer parses
//! and accepts; both sides' codecs then agree on the server's direction, the client
//! stays within what the server asked for its direction, and a message compressed by
//! either side inflates on the other — and with exactly the window the sender declared.
#![no_main]

use autobahn::websocket::deflate::{
    DeflateNegotiationError, PerMessageDeflate, PerMessageDeflateOffer,
    PerMessageDeflateOfferAccept, PerMessageDeflateResponse, PerMessageDeflateResponseAccept,
    EXTENSION_NAME,
};
use autobahn::websocket::handshake::{parse_extensions, HandshakeError};
use autobahn::websocket::types::Extension;
use fuzz_support::inflate::PeerInflater;
use libfuzzer_sys::fuzz_target;

fn one_extension(header: &str) -> Extension {
    let mut exts = parse_extensions([header]).expect("our own header does not parse");
    assert_eq!(exts.len(), 1, "{header}");
    let ext = exts.remove(0);
    assert_eq!(ext.name, EXTENSION_NAME);
    ext
}

/// An optional value from a byte: `None` for 0, else `f(b)`.
fn opt<T>(b: u8, f: impl FnOnce(u8) -> T) -> Option<T> {
    (b != 0).then(|| f(b))
}

fn bits(b: u8) -> u8 {
    // Mostly 8..=15, sometimes out of range (validation must refuse those).
    if b & 0x80 != 0 {
        b & 0x1f
    } else {
        8 + (b & 7)
    }
}

fn check_offer(offer: PerMessageDeflateOffer, a: &[u8], message: &[u8]) {
    offer.validate().expect("a parsed offer is valid");
    assert!(offer.accept_no_context_takeover, "parse always accepts it");
    let printed = offer.to_extension_string();
    let reparsed = PerMessageDeflateOffer::parse(&one_extension(&printed).params)
        .expect("our own offer does not parse");
    assert_eq!(reparsed, offer, "{printed}");

    // Server: accept with fuzzed settings; only validated acceptances are used.
    let accept = match PerMessageDeflateOfferAccept::with_params(
        offer,
        a[0] & 1 != 0,
        opt(a[0] >> 1, bits).unwrap_or(0),
        opt(a[1] & 3, |b| b == 1),
        opt(a[1] >> 2, bits),
        opt(a[2] & 0x0f, |b| b),
    ) {
        Ok(accept) => accept,
        Err(DeflateNegotiationError::Incompatible(_)) => return,
        Err(e) => panic!("acceptance refused with {e:?}"),
    };
    let header = accept.to_extension_string();
    // Client: the response must be allowed by the offer it answers.
    let response = PerMessageDeflateResponse::parse(&one_extension(&header).params, &[offer])
        .unwrap_or_else(|e| panic!("client refuses {header} for {offer}: {e}"));
    assert_eq!(response.to_extension_string(), header);
    let client_accept = match PerMessageDeflateResponseAccept::with_params(
        response,
        opt(a[3] & 3, |b| b == 1),
        opt(a[3] >> 2, bits),
        opt(a[4] & 0x0f, |b| b),
    ) {
        Ok(accept) => accept,
        Err(DeflateNegotiationError::Incompatible(_)) => return,
        Err(e) => panic!("response acceptance refused with {e:?}"),
    };
    let mut server = PerMessageDeflate::from_offer_accept(&accept);
    let mut client = PerMessageDeflate::from_response_accept(&client_accept);
    let (s, c) = (*server.params(), *client.params());
    // The server's direction: both sides agree.
    assert_eq!(s.server_no_context_takeover, c.server_no_context_takeover);
    assert_eq!(s.server_max_window_bits, c.server_max_window_bits);
    // The client's direction: within what the server asked for.
    assert!(
        c.client_max_window_bits <= s.client_max_window_bits,
        "{s:?} {c:?}"
    );
    assert!(!s.client_no_context_takeover || c.client_no_context_takeover);
    if offer.request_no_context_takeover {
        assert!(s.server_no_context_takeover);
    }
    if offer.request_max_window_bits != 0 {
        assert!(s.server_max_window_bits <= offer.request_max_window_bits);
    }

    // Two messages each way: the second may refer back to the first (takeover).
    let mut at_client = PeerInflater::new(s.server_max_window_bits);
    let mut at_server = PeerInflater::new(c.client_max_window_bits);
    for _ in 0..2 {
        let mut z = Vec::new();
        server.compress_message(message, &mut z).expect("compress");
        let mut out = Vec::new();
        client
            .decompress_message(&z, &mut out, 0)
            .expect("client inflates the server's message");
        assert!(out == message);
        assert!(at_client.message(&z, message.len()).as_deref() == Some(message));
        z.clear();
        client.compress_message(message, &mut z).expect("compress");
        out.clear();
        server
            .decompress_message(&z, &mut out, 0)
            .expect("server inflates the client's message");
        assert!(out == message);
        assert!(at_server.message(&z, message.len()).as_deref() == Some(message));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((a, rest)) = data.split_at_checked(6) else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let exts = match parse_extensions(text.split('\n')) {
        Ok(exts) => exts,
        Err(HandshakeError::InvalidExtensions(_)) => return,
        Err(e) => panic!("unexpected error kind {e:?}"),
    };
    // The test message: the header repeated, so matches reach back further than a
    // small window (up to 16 KiB).
    let n = usize::from(a[5]) * 64;
    let message: Vec<u8> = text.bytes().cycle().take(n).collect();
    for ext in exts.iter().take(4) {
        if !ext.name.eq_ignore_ascii_case(EXTENSION_NAME) {
            continue;
        }
        match PerMessageDeflateOffer::parse(&ext.params) {
            Ok(offer) => check_offer(offer, a, &message),
            Err(
                DeflateNegotiationError::UnknownParameter(_)
                | DeflateNegotiationError::DuplicateParameter(_)
                | DeflateNegotiationError::InvalidValue { .. },
            ) => {}
            Err(e) => panic!("unexpected offer error {e:?}"),
        }
        // The same parameters as a server's response to a default offer.
        let _ = PerMessageDeflateResponse::parse(&ext.params, &[PerMessageDeflateOffer::default()]);
    }
});
