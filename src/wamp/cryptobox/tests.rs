use super::*;
use crate::wamp::payload::{EncodedPayload, PayloadCodec};
use crate::wamp::value::{Dict, Value};
use crate::{dict, list};

// Two fixed key pairs: private keys 1..=32 and 101..=132 (as bytes).
const ORIGINATOR_PRIVATE: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const ORIGINATOR_PUBLIC: &str = "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9/AsrhtHHw=";
const RESPONDER_PRIVATE: &str = "ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4Q=";
const RESPONDER_PUBLIC: &str = "VxR2nRFr92Q2rnS8eT0sMK0ZA8WaxSc4BcfiaYtBDDY=";

/// Sealed once by PyNaCl 1.6.2 with autobahn 26.10.2's `KeyRing` code path: the
/// originator's box, nonce 200..=223, plaintext
/// `{"uri":"com.example.add","args":[2,"three","\u0000AP8="],"kwargs":{"k":true}}`.
const PYNACL_SEALED: &str = "c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfd60cc944f3ab41b4e9\
f417b240f319ccbd984727879b21f050d64f0d86761c7e0290c284c656b2df4287dabfaa12910a73f0e3de905f86\
b4fb92bc11c50c2c6577c54c3469ec874a95b65e71d03382489b217eef33524857789d55b4cf";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn originator_ring() -> KeyRing {
    let key = Key::from_base64(Some(ORIGINATOR_PRIVATE), None, None, Some(RESPONDER_PUBLIC));
    let mut ring = KeyRing::new();
    ring.set_key("com.example.", Some(key.expect("key")));
    ring
}

fn responder_ring() -> KeyRing {
    let key = Key::from_base64(None, Some(ORIGINATOR_PUBLIC), Some(RESPONDER_PRIVATE), None);
    let mut ring = KeyRing::new();
    ring.set_key("com.example.", Some(key.expect("key")));
    ring
}

fn sealed(bytes: Vec<u8>) -> EncodedPayload {
    EncodedPayload::new(bytes, SCHEME).serializer(SERIALIZER)
}

#[test]
fn public_keys_match_pynacl() {
    let originator = PrivateKey::from_base64(ORIGINATOR_PRIVATE).expect("key");
    assert_eq!(originator.public_key().to_base64(), ORIGINATOR_PUBLIC);
    let responder = PrivateKey::from_base64(RESPONDER_PRIVATE).expect("key");
    assert_eq!(responder.public_key().to_base64(), RESPONDER_PUBLIC);
}

#[test]
fn opens_what_pynacl_sealed() {
    let payload = sealed(hex(PYNACL_SEALED));
    let (args, kwargs) = responder_ring()
        .open(false, "com.example.add", &payload)
        .expect("opened");
    assert_eq!(args, list![2, "three", Value::bytes([0, 255])]);
    assert_eq!(kwargs, dict! { "k" => true });
    // Through the codec: an INVOCATION (is_originating = true) opens as responder.
    let codec: &dyn PayloadCodec = &responder_ring();
    assert_eq!(
        codec.decode(true, "com.example.add", payload.clone()),
        Ok((args, kwargs))
    );
    // A third party's key does not open it.
    let stranger = PrivateKey::generate();
    let mut ring = KeyRing::new();
    ring.set_key(
        "com.",
        Some(
            Key::new(
                PublicKey::from_base64(ORIGINATOR_PUBLIC).expect("key"),
                stranger,
            )
            .expect("key"),
        ),
    );
    let err = ring.open(false, "com.example.add", &payload);
    assert!(matches!(err, Err(PayloadError::Decrypt)), "{err:?}");
}

#[test]
fn seal_and_open_both_directions() {
    let (at_originator, at_responder) = (originator_ring(), responder_ring());
    let (args, kwargs) = (
        list![1, "x", Value::bytes([1, 2, 3])],
        dict! { "nested" => dict! { "f" => 1.5 } },
    );
    let call = at_originator
        .encode(true, "com.example.add", &args, &kwargs)
        .expect("sealed")
        .expect("a key");
    assert_eq!(call.enc_algo, "cryptobox");
    assert_eq!(call.enc_serializer.as_deref(), Some("json"));
    assert_eq!(call.enc_key, None);
    // Nonce, then the plaintext's length plus the 16-byte tag: the plaintext is hidden.
    assert!(call.payload.len() > 40);
    assert!(!call.payload.windows(3).any(|w| w == b"add"));
    assert_eq!(
        at_responder.decode(true, "com.example.add", call.clone()),
        Ok((args.clone(), kwargs.clone()))
    );
    // Two seals of one payload differ (random nonces).
    let again = at_originator.seal(true, "com.example.add", &args, &kwargs);
    assert_ne!(again.expect("sealed").expect("a key").payload, call.payload);

    let result = at_responder
        .encode(false, "com.example.add", &list![42], &Dict::new())
        .expect("sealed")
        .expect("a key");
    assert_eq!(
        at_originator.decode(false, "com.example.add", result),
        Ok((list![42], Dict::new()))
    );
}

#[test]
fn unkeyed_uris_and_sides_stay_plain() {
    let ring = originator_ring();
    assert!(ring
        .encode(true, "org.other", &[], &Dict::new())
        .expect("ok")
        .is_none());
    // The originator has no responder private key: a YIELD goes in the clear.
    assert!(ring
        .encode(false, "com.example.add", &[], &Dict::new())
        .expect("ok")
        .is_none());
    // ... and cannot open what a caller sealed for a callee.
    let err = ring.open(false, "com.example.add", &sealed(hex(PYNACL_SEALED)));
    assert!(matches!(err, Err(PayloadError::NoKey(uri)) if uri == "com.example.add"));
    let key = ring.key_for("com.example.add").expect("key");
    let err = key.seal(false, b"x");
    assert!(
        matches!(err, Err(PayloadError::NoPrivateKey("responder"))),
        "{err:?}"
    );
}

#[test]
fn hostile_payloads_fail_with_typed_errors() {
    let ring = responder_ring();
    let open = |payload: EncodedPayload| ring.open(false, "com.example.add", &payload);
    let good = hex(PYNACL_SEALED);

    assert!(matches!(
        open(sealed(Vec::new())),
        Err(PayloadError::Truncated(0))
    ));
    assert!(matches!(
        open(sealed(good[..39].to_vec())),
        Err(PayloadError::Truncated(39))
    ));
    let mut flipped = good.clone();
    flipped[60] ^= 1;
    assert!(matches!(open(sealed(flipped)), Err(PayloadError::Decrypt)));
    let mut other = sealed(good.clone());
    other.enc_serializer = Some("msgpack".into());
    assert!(matches!(open(other), Err(PayloadError::Serializer(_))));
    assert!(matches!(
        open(EncodedPayload::new(good.clone(), "mqtt")),
        Err(PayloadError::Scheme(s)) if s == "mqtt"
    ));
    let err = ring.open(false, "org.unkeyed", &sealed(good.clone()));
    assert!(matches!(err, Err(PayloadError::NoKey(uri)) if uri == "org.unkeyed"));
    // Sealed for com.example.add, delivered as com.example.sub.
    let codec: &dyn PayloadCodec = &ring;
    let err = codec.decode(true, "com.example.sub", sealed(good.clone()));
    assert_eq!(
        err.map_err(|e| e.error),
        Err(TRUSTED_URI_MISMATCH.to_owned())
    );
    let err = codec.decode(true, "com.example.add", sealed(good[..20].to_vec()));
    let err = err.expect_err("truncated");
    assert_eq!(err.error, DECRYPT_ERROR);
    assert!(
        err.message().is_some_and(|m| m.contains("shorter")),
        "{err:?}"
    );
}

#[test]
fn plaintext_must_be_autobahns_object() {
    let shared = Key::shared(PrivateKey::from_base64(ORIGINATOR_PRIVATE).expect("key"));
    let ring = KeyRing::with_default(shared.clone());
    let open = |plain: &[u8]| {
        let bytes = shared.seal(true, plain).expect("sealed");
        ring.open(false, "a.b", &sealed(bytes))
    };
    for bad in [
        &b"[1,2]"[..],
        b"not json",
        b"{\"args\":[]}",
        b"{\"uri\":\"a.b\",\"args\":{}}",
    ] {
        assert!(
            matches!(open(bad), Err(PayloadError::Plaintext(_))),
            "{bad:?}"
        );
    }
    // Autobahn writes null for no payload.
    let plain = open(br#"{"uri":"a.b","args":null,"kwargs":null}"#).expect("opened");
    assert_eq!(plain, (Vec::new(), Dict::new()));
}

#[test]
fn longest_prefix_then_default() {
    let keys: Vec<Key> = (0..3)
        .map(|_| Key::shared(PrivateKey::generate()))
        .collect();
    let id = |key: Option<&Key>| key.map(|k| k.originator_public().clone());
    let mut ring = KeyRing::new();
    ring.set_key("com.a", Some(keys[0].clone()));
    ring.set_key("com.a.b", Some(keys[1].clone()));
    assert_eq!(id(ring.key_for("com.a.b.c")), id(Some(&keys[1])));
    assert_eq!(id(ring.key_for("com.a.b")), id(Some(&keys[1])));
    assert_eq!(id(ring.key_for("com.ax")), id(Some(&keys[0])));
    assert_eq!(id(ring.key_for("com.")), None);
    // Not a char boundary inside a multi-byte character: no panic, no match.
    assert_eq!(id(ring.key_for("com\u{e9}")), None);
    ring.set_key("", Some(keys[2].clone()));
    assert_eq!(id(ring.key_for("org.x")), id(Some(&keys[2])));
}

#[test]
fn key_construction_errors() {
    let err = Key::from_base64(
        Some(ORIGINATOR_PRIVATE),
        Some(RESPONDER_PUBLIC),
        None,
        Some(RESPONDER_PUBLIC),
    );
    assert!(matches!(err, Err(KeyError::Mismatch("originator"))));
    let err = Key::from_base64(None, None, Some(RESPONDER_PRIVATE), None);
    assert!(matches!(err, Err(KeyError::Missing("originator"))));
    assert!(matches!(
        PublicKey::from_base64("AAAA"),
        Err(KeyError::Length(3))
    ));
    assert!(matches!(
        PublicKey::from_base64("!!"),
        Err(KeyError::Base64(_))
    ));
    // The secret never shows in Debug.
    let private = PrivateKey::from_base64(ORIGINATOR_PRIVATE).expect("key");
    assert!(!format!("{private:?}").contains(ORIGINATOR_PRIVATE));
}
