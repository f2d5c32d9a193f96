//! The 4-octet RawSocket handshake, both sides: `[client hello ×4, router reply ×4,
//! exp, ser]`.
//!
//! Invariants: every 4-octet hello either parses (and encodes back to the same octets,
//! announcing 2^9..=2^24) or fails with exactly the error its octets call for (bad
//! magic, reserved octets, serializer 0); every reply is an accept (round trip), or a
//! refusal whose code `error_reply` encodes back to the same octets; `check_reply`
//! accepts exactly the parsed replies that echo the requested serializer; what
//! `accept_reply`/`error_reply` build parses back.
#![no_main]

use autobahn::rawsocket::handshake::{MAGIC, MAX_MAX_LEN_EXP, MIN_MAX_LEN_EXP};
use autobahn::rawsocket::RawSocketError as E;
use autobahn::rawsocket::{
    accept_reply, error_reply, parse_client_hello, parse_server_reply, HandshakeErrorCode,
    SerializerId,
};
use libfuzzer_sys::fuzz_target;

fn expected_frame_error(b: [u8; 4]) -> Option<E> {
    if b[0] != MAGIC {
        Some(E::BadMagic(b[0]))
    } else if b[2] != 0 || b[3] != 0 {
        Some(E::ReservedHandshakeBits(b[2], b[3]))
    } else {
        None
    }
}

fuzz_target!(|data: [u8; 10]| {
    let hello = [data[0], data[1], data[2], data[3]];
    let reply = [data[4], data[5], data[6], data[7]];

    let client = parse_client_hello(hello);
    match (expected_frame_error(hello), &client) {
        (Some(e), Err(got)) => assert_eq!(&e, got),
        (None, Err(E::IllegalSerializer)) => assert_eq!(hello[1] & 0x0f, 0),
        (None, Ok(c)) => {
            assert_eq!(c.to_bytes(), hello, "hello round trip");
            assert_eq!(c.serializer.get(), hello[1] & 0x0f);
            assert!((512..=1 << 24).contains(&c.max_len()));
            assert_eq!(c.max_len(), 1 << (9 + (hello[1] >> 4)));
        }
        (want, got) => panic!("hello {hello:02x?}: want {want:?}, got {got:?}"),
    }

    let server = parse_server_reply(reply);
    match (expected_frame_error(reply), &server) {
        (Some(e), Err(got)) => assert_eq!(&e, got),
        (None, Err(E::Refused(code))) => {
            assert_eq!(reply[1] & 0x0f, 0);
            assert_eq!(error_reply(*code), reply, "refusal round trip");
        }
        (None, Ok(s)) => {
            assert_eq!(s.to_bytes(), reply, "reply round trip");
            assert_eq!(accept_reply(s.max_len_exp, s.serializer), reply);
            assert!((MIN_MAX_LEN_EXP..=MAX_MAX_LEN_EXP).contains(&s.max_len_exp));
        }
        (want, got) => panic!("reply {reply:02x?}: want {want:?}, got {got:?}"),
    }
    if let Ok(c) = client {
        match (c.check_reply(reply), &server) {
            (Ok(a), Ok(b)) => {
                assert_eq!(&a, b);
                assert_eq!(a.serializer, c.serializer);
            }
            (Err(E::SerializerMismatch { requested, got }), Ok(b)) => {
                assert_eq!((requested, got), (c.serializer.get(), b.serializer.get()));
                assert_ne!(requested, got);
            }
            (Err(a), Err(b)) => assert_eq!(&a, b),
            (a, b) => panic!("check_reply {a:?} vs parse {b:?}"),
        }
    }

    // Builders round trip for any exponent (clamped) and serializer.
    if let Some(ser) = SerializerId::new(data[9]) {
        let built = parse_server_reply(accept_reply(data[8], ser)).expect("accept reply parses");
        assert_eq!(built.serializer, ser);
        assert_eq!(
            built.max_len_exp,
            data[8].clamp(MIN_MAX_LEN_EXP, MAX_MAX_LEN_EXP)
        );
    }
    let code = HandshakeErrorCode::from_nibble(data[9]);
    assert_eq!(HandshakeErrorCode::from_nibble(code.nibble()), code);
    match parse_server_reply(error_reply(code)) {
        Err(E::Refused(c)) => assert_eq!(c, code),
        other => panic!("error reply {code:?} parses as {other:?}"),
    }
});
