//! Harness of `wamp_json` / `wamp_msgpack` / `wamp_cbor` / `wamp_ubjson`: a WAMP
//! serializer fed an arbitrary transport payload.
//!
//! Input layout: `[flags, payload…]`; flags bit 0 batched mode, bit 1 the payload
//! arrives in the other frame type (text for a binary serializer and vice versa),
//! bits 2–7 (`n`) the decode budget: `max_decoded_size` = `n² · 256` bytes, or the
//! default (64 MiB) for `n = 0`.
//!
//! Invariants: decoding never panics; every error is typed and names this serializer
//! (`WrongFrameType` exactly when the frame type is wrong); memory stays within a
//! fixed factor of the payload and within `max_decoded_size` plus a constant;
//! a budget only ever turns a result into `TooLarge` (with that limit), never into
//! anything else, and the default budget is never reached by fuzzer-sized input;
//! every decoded message
//! * re-encodes with the same serializer, decodes back to the same message, and
//!   re-encodes to the same bytes (decode → encode → decode is stable; NaN stays NaN
//!   but its payload bits may change);
//! * converts to its list form and back unchanged (`to_value`/`from_value`);
//! * crosses to the other serializers and back unchanged, except what a format
//!   cannot carry: JSON has no non-finite floats (sent as `null`) and cannot send
//!   strings that start with NUL (its binary marker) — refused with an `Encode` error.

use autobahn::wamp::error::SerializationError;
use autobahn::wamp::message::Message;
use autobahn::wamp::serializer::{
    CborSerializer, JsonSerializer, MsgPackSerializer, Serializer, UbjsonDialect, UbjsonSerializer,
    DEFAULT_MAX_DECODED_SIZE,
};
use autobahn::wamp::Value;

use crate::alloc;

/// Most bytes of memory decoding may hold per payload byte. The worst case is a
/// one-entry dict per 3 input bytes (MessagePack `81 a0 c0`): a B-tree leaf of
/// ~630 bytes each (measured by the fuzzer; see fuzz/README.md).
pub const MAX_AMPLIFICATION: usize = 512;
/// Fixed allowance on top (parser state, small payloads).
const SLACK: usize = 64 * 1024;
/// Bytes per payload byte that decoding may allocate outside the budget: serde_json's
/// scratch buffer for escaped strings, the `Message` built from the decoded list.
const UNCHARGED_PER_BYTE: usize = 2;

/// Not a RawSocket id: UBJSON in its Draft 12 dialect (id 4 is the default, BJData).
pub const UBJSON_DRAFT12: u8 = 0x14;

/// The serializer for a RawSocket id (1 JSON, 2 MessagePack, 3 CBOR, 4 UBJSON), or
/// [`UBJSON_DRAFT12`].
pub fn serializer(id: u8, batched: bool) -> Box<dyn Serializer> {
    match (id, batched) {
        (1, false) => Box::new(JsonSerializer::new()),
        (1, true) => Box::new(JsonSerializer::batched()),
        (2, false) => Box::new(MsgPackSerializer::new()),
        (2, true) => Box::new(MsgPackSerializer::batched()),
        (3, false) => Box::new(CborSerializer::new()),
        (3, true) => Box::new(CborSerializer::batched()),
        (4, false) => Box::new(UbjsonSerializer::new()),
        (4, true) => Box::new(UbjsonSerializer::batched()),
        (_, batched) => Box::new(UbjsonSerializer::with_dialect(
            UbjsonDialect::Draft12,
            batched,
        )),
    }
}

/// Every serializer [`check_message`] crosses to.
const ALL: [u8; 5] = [1, 2, 3, 4, UBJSON_DRAFT12];

/// Structural comparison that also holds for NaN (`Value`'s `PartialEq` follows
/// IEEE 754, where NaN ≠ NaN) and tells -0.0 from 0.0.
pub fn same(a: &Value, b: &Value) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// What a value becomes through JSON: non-finite floats are sent as `null`.
pub fn through_json(v: &Value) -> Value {
    match v {
        Value::Float(f) if !f.is_finite() => Value::Null,
        Value::List(l) => Value::List(l.iter().map(through_json).collect()),
        Value::Dict(d) => Value::Dict(
            d.iter()
                .map(|(k, v)| (k.clone(), through_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Does the value hold a string JSON cannot send (a leading NUL marks binary)?
fn has_nul_string(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with('\0'),
        Value::List(l) => l.iter().any(has_nul_string),
        Value::Dict(d) => d.values().any(has_nul_string),
        _ => false,
    }
}

/// Does the value hold a NaN? (CBOR shrinks NaNs to half precision and does not keep
/// their payload bits, so their bytes may change on a second round trip.)
fn has_nan(v: &Value) -> bool {
    match v {
        Value::Float(f) => f.is_nan(),
        Value::List(l) => l.iter().any(has_nan),
        Value::Dict(d) => d.values().any(has_nan),
        _ => false,
    }
}

/// Round trips of one valid message through every serializer (both modes).
pub fn check_message(m: &Message) {
    let list = m.to_value();
    let back = Message::from_value(list.clone()).expect("a message's list form parses");
    assert!(
        same(&back.to_value(), &list),
        "to_value/from_value changed {m:?}"
    );
    for id in ALL {
        for batched in [false, true] {
            let s = serializer(id, batched);
            let bytes = match s.serialize(m) {
                Ok(b) => b,
                Err(SerializationError::Encode { format: "json", .. }) if id == 1 => {
                    assert!(has_nul_string(&list), "JSON refused {m:?}");
                    continue;
                }
                Err(e) => panic!("{} cannot encode {m:?}: {e}", s.subprotocol()),
            };
            let decoded = s
                .unserialize(&bytes, s.is_binary())
                .unwrap_or_else(|e| panic!("{} cannot decode its own {m:?}: {e}", s.subprotocol()));
            assert_eq!(decoded.len(), 1);
            let want = if id == 1 {
                through_json(&list)
            } else {
                list.clone()
            };
            assert!(
                same(&decoded[0].to_value(), &want),
                "{}: {m:?} came back as {:?}",
                s.subprotocol(),
                decoded[0]
            );
            let again = s.serialize(&decoded[0]).expect("re-encode");
            if !has_nan(&list) {
                assert_eq!(again, bytes, "{}: encoding not stable", s.subprotocol());
            }
        }
    }
}

/// The whole target for serializer `id`.
pub fn run(id: u8, data: &[u8]) {
    let Some((&flags, payload)) = data.split_first() else {
        return;
    };
    let s = serializer(id, flags & 1 != 0);
    let wrong_type = flags & 2 != 0;
    let is_binary = s.is_binary() != wrong_type;
    let limit = match usize::from(flags >> 2) {
        0 => DEFAULT_MAX_DECODED_SIZE,
        n => n * n * 256,
    };
    let (result, peak) = alloc::peak_during(|| s.unserialize_limited(payload, is_binary, limit));
    let bound =
        (MAX_AMPLIFICATION * payload.len()).min(limit + UNCHARGED_PER_BYTE * payload.len()) + SLACK;
    assert!(
        peak <= bound,
        "decoding {} bytes with max_decoded_size {limit} allocated {peak} (bound {bound})",
        payload.len()
    );
    if limit != DEFAULT_MAX_DECODED_SIZE
        && !matches!(result, Err(SerializationError::TooLarge { .. }))
    {
        let unlimited = s.unserialize_limited(payload, is_binary, usize::MAX);
        assert_eq!(
            format!("{result:?}"),
            format!("{unlimited:?}"),
            "a budget changed the result into something other than TooLarge"
        );
    }
    let msgs = match result {
        Ok(msgs) => msgs,
        Err(SerializationError::WrongFrameType {
            format,
            is_binary: b,
        }) => {
            assert!(wrong_type);
            assert_eq!((format, b), (s.serializer_id(), is_binary));
            return;
        }
        Err(
            SerializationError::Decode { format, .. } | SerializationError::Batch { format, .. },
        ) => {
            assert_eq!(format, s.serializer_id());
            assert!(!wrong_type);
            return;
        }
        Err(SerializationError::Protocol(_)) => {
            assert!(!wrong_type);
            return;
        }
        Err(SerializationError::TooLarge { format, limit: l }) => {
            assert_eq!((format, l), (s.serializer_id(), limit));
            assert!(!wrong_type);
            assert!(
                limit != DEFAULT_MAX_DECODED_SIZE || payload.len() > 64 * 1024,
                "{} bytes exceeded the default budget",
                payload.len()
            );
            return;
        }
        Err(e) => panic!("decoding failed with {e:?}"),
    };
    assert!(!wrong_type, "payload accepted in the wrong frame type");
    if !s.is_batched() {
        assert_eq!(msgs.len(), 1);
    }
    for m in &msgs {
        check_message(m);
    }
}
