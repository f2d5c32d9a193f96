//! CBOR serializer (`wamp.2.cbor`, RFC 8949): strings are text strings,
//! binary data byte strings, dict keys must be text.
//!
//! Encoding goes through ciborium (floats in their shortest lossless width);
//! decoding is a small hand-written parser straight into [`Value`], checking
//! every length and the nesting depth before allocating. Definite and
//! indefinite lengths are accepted. Tags are dropped (the tagged item is
//! kept, a tag counts as one nesting level), except bignums (tags 2 and 3)
//! that fit 64 bits, which become integers. `undefined` decodes as null;
//! other simple values, and negative integers below `i64::MIN`, are errors.

use super::reader::{descend, DecodeError, Reader, BAD_UTF8, KEY_NOT_STRING, TRAILING};
use super::{decode_binary, decode_failure, encode_binary, Serializer};
use crate::wamp::error::SerializationError;
use crate::wamp::message::{Message, WireMessage};
use crate::wamp::value::budget::DecodeBudget;
use crate::wamp::value::{Dict, Value, MAX_DEPTH};

/// The "break" stop code ending indefinite-length items.
const BREAK: u8 = 0xff;
/// Additional-info value marking an indefinite length.
const INDEFINITE: u8 = 31;

/// The CBOR serializer, unbatched or batched.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::message::{Message, Subscribe};
/// use autobahn::wamp::serializer::{CborSerializer, Serializer};
/// use autobahn::dict;
///
/// let subscribe = Message::Subscribe(Subscribe {
///     request: 2,
///     options: dict! { "match" => "prefix" },
///     topic: "com.example.".into(),
/// });
/// // Batched: several messages in one transport payload.
/// let cbor = CborSerializer::batched();
/// let mut payload = Vec::new();
/// cbor.serialize_into(&subscribe, &mut payload)?;
/// cbor.serialize_into(&subscribe, &mut payload)?;
/// assert_eq!(cbor.unserialize(&payload, true)?, [subscribe.clone(), subscribe]);
/// assert_eq!(cbor.subprotocol(), "wamp.2.cbor.batched");
/// # Ok::<(), autobahn::wamp::error::SerializationError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CborSerializer {
    batched: bool,
}

impl CborSerializer {
    /// Serializer id.
    pub const SERIALIZER_ID: &'static str = "cbor";
    /// RawSocket serializer id.
    pub const RAWSOCKET_SERIALIZER_ID: u8 = 3;
    /// MIME type.
    pub const MIME_TYPE: &'static str = "application/cbor";

    /// Unbatched mode (`wamp.2.cbor`).
    pub fn new() -> Self {
        CborSerializer { batched: false }
    }

    /// Batched mode (`wamp.2.cbor.batched`): 4-byte big-endian length prefix
    /// before each message.
    pub fn batched() -> Self {
        CborSerializer { batched: true }
    }

    fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), SerializationError> {
        ciborium::ser::into_writer(&WireMessage::<false>(msg), out).map_err(|e| {
            SerializationError::Encode {
                format: Self::SERIALIZER_ID,
                reason: e.to_string(),
            }
        })
    }

    fn decode_one(payload: &[u8], budget: &DecodeBudget) -> Result<Message, SerializationError> {
        let value = decode_value_exact(payload, budget)
            .map_err(|reason| decode_failure(Self::SERIALIZER_ID, budget, reason))?;
        Ok(Message::from_value(value)?)
    }
}

/// Decode exactly one CBOR data item filling `payload`, within `budget`.
pub(crate) fn decode_value_exact(
    payload: &[u8],
    budget: &DecodeBudget,
) -> Result<Value, DecodeError> {
    let mut r = Reader::new(payload, budget);
    let value = decode_value(&mut r, MAX_DEPTH)?;
    if r.is_empty() {
        Ok(value)
    } else {
        Err(TRAILING)
    }
}

/// The argument of a head: the value itself (< 24) or the following 1, 2, 4
/// or 8 bytes. Indefinite length (31) must be handled by the caller.
fn argument(r: &mut Reader<'_, '_>, info: u8) -> Result<u64, DecodeError> {
    Ok(match info {
        0..=23 => u64::from(info),
        24 => u64::from(r.u8()?),
        25 => u64::from(r.u16()?),
        26 => u64::from(r.u32()?),
        27 => r.u64()?,
        INDEFINITE => return Err("unexpected indefinite length"),
        _ => return Err("reserved additional information value"),
    })
}

/// A length argument; anything beyond `usize` could never be satisfied by
/// the input anyway.
fn length(r: &mut Reader<'_, '_>, info: u8) -> Result<usize, DecodeError> {
    usize::try_from(argument(r, info)?).map_err(|_| super::reader::EOF)
}

/// Decode one item; `depth` is the number of container levels still allowed.
fn decode_value(r: &mut Reader<'_, '_>, depth: usize) -> Result<Value, DecodeError> {
    let head = r.u8()?;
    let info = head & 0x1f;
    Ok(match head >> 5 {
        0 => Value::from_u64(argument(r, info)?),
        1 => negative(argument(r, info)?)?,
        2 => Value::Bytes(bytes(r, info)?),
        3 => Value::String(text(r, info)?),
        4 => {
            let child = descend(depth)?;
            let mut list;
            if info == INDEFINITE {
                list = Vec::new();
                while r.peek() != Some(BREAK) {
                    let value = decode_value(r, child)?;
                    r.push(&mut list, value)?;
                }
                r.u8()?;
            } else {
                let n = length(r, info)?;
                list = r.list(n)?;
                for _ in 0..n {
                    let value = decode_value(r, child)?;
                    r.push(&mut list, value)?;
                }
            }
            Value::List(list)
        }
        5 => {
            let child = descend(depth)?;
            let mut dict = Dict::new();
            if info == INDEFINITE {
                while r.peek() != Some(BREAK) {
                    let (k, v) = entry(r, child)?;
                    r.insert(&mut dict, k, v)?;
                }
                r.u8()?;
            } else {
                for _ in 0..length(r, info)? {
                    let (k, v) = entry(r, child)?;
                    r.insert(&mut dict, k, v)?;
                }
            }
            Value::Dict(dict)
        }
        6 => {
            let tag = argument(r, info)?;
            let item = decode_value(r, descend(depth)?)?;
            untag(tag, item)?
        }
        _ => simple(r, info)?,
    })
}

/// -1 - n, if it fits i64.
fn negative(n: u64) -> Result<Value, DecodeError> {
    i64::try_from(n)
        .map(|n| Value::Integer(-1 - n))
        .map_err(|_| "negative integer below i64::MIN")
}

fn entry(r: &mut Reader<'_, '_>, depth: usize) -> Result<(String, Value), DecodeError> {
    let key = match decode_value(r, depth)? {
        Value::String(k) => k,
        _ => return Err(KEY_NOT_STRING),
    };
    Ok((key, decode_value(r, depth)?))
}

/// A byte string, definite or as indefinite sequence of definite chunks.
fn bytes(r: &mut Reader<'_, '_>, info: u8) -> Result<Vec<u8>, DecodeError> {
    if info != INDEFINITE {
        let n = length(r, info)?;
        return r.byte_vec(n);
    }
    let mut out = Vec::new();
    loop {
        let head = r.u8()?;
        if head == BREAK {
            return Ok(out);
        }
        if head >> 5 != 2 || head & 0x1f == INDEFINITE {
            return Err("invalid chunk in indefinite-length byte string");
        }
        let n = length(r, head & 0x1f)?;
        let chunk = r.take(n)?;
        r.grow(&mut out, n)?;
        out.extend_from_slice(chunk);
    }
}

/// A text string; each chunk of an indefinite one must be valid UTF-8 itself.
fn text(r: &mut Reader<'_, '_>, info: u8) -> Result<String, DecodeError> {
    if info != INDEFINITE {
        let n = length(r, info)?;
        return r.string(n);
    }
    let mut out = Vec::new();
    loop {
        let head = r.u8()?;
        if head == BREAK {
            // Valid: every chunk was (a chunk boundary splitting a character fails).
            return String::from_utf8(out).map_err(|_| BAD_UTF8);
        }
        if head >> 5 != 3 || head & 0x1f == INDEFINITE {
            return Err("invalid chunk in indefinite-length text string");
        }
        let n = length(r, head & 0x1f)?;
        let chunk = std::str::from_utf8(r.take(n)?).map_err(|_| BAD_UTF8)?;
        r.grow(&mut out, n)?;
        out.extend_from_slice(chunk.as_bytes());
    }
}

/// Apply a tag: bignums become integers, every other tag is dropped.
fn untag(tag: u64, item: Value) -> Result<Value, DecodeError> {
    const BIGNUM_RANGE: DecodeError = "bignum out of the 64-bit range";
    match (tag, item) {
        (2 | 3, Value::Bytes(b)) => {
            let digits = b.iter().position(|&x| x != 0).map_or(&b[..0], |i| &b[i..]);
            if digits.len() > 8 {
                return Err(BIGNUM_RANGE);
            }
            let n = digits
                .iter()
                .fold(0u64, |acc, &d| (acc << 8) | u64::from(d));
            if tag == 2 {
                Ok(Value::from_u64(n))
            } else {
                negative(n).map_err(|_| BIGNUM_RANGE)
            }
        }
        (_, item) => Ok(item),
    }
}

/// Major type 7: false, true, null, undefined and floats.
fn simple(r: &mut Reader<'_, '_>, info: u8) -> Result<Value, DecodeError> {
    Ok(match info {
        20 => Value::Bool(false),
        21 => Value::Bool(true),
        22 | 23 => Value::Null,
        25 => Value::Float(f16_to_f64(r.u16()?)),
        26 => Value::Float(f64::from(f32::from_bits(r.u32()?))),
        27 => Value::Float(f64::from_bits(r.u64()?)),
        INDEFINITE => return Err("unexpected break"),
        _ => return Err("unsupported simple value"),
    })
}

/// IEEE 754 half precision to f64 (RFC 8949 Appendix D).
pub(super) fn f16_to_f64(h: u16) -> f64 {
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    let magnitude = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mant + 1024.0) * 2f64.powi(exp - 25),
    };
    if h & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

impl Serializer for CborSerializer {
    fn serializer_id(&self) -> &'static str {
        Self::SERIALIZER_ID
    }

    fn subprotocol(&self) -> &'static str {
        if self.batched {
            "wamp.2.cbor.batched"
        } else {
            "wamp.2.cbor"
        }
    }

    fn rawsocket_id(&self) -> u8 {
        Self::RAWSOCKET_SERIALIZER_ID
    }

    fn is_binary(&self) -> bool {
        true
    }

    fn is_batched(&self) -> bool {
        self.batched
    }

    fn serialize_into(&self, msg: &Message, out: &mut Vec<u8>) -> Result<(), SerializationError> {
        encode_binary(Self::SERIALIZER_ID, self.batched, out, |out| {
            Self::encode(msg, out)
        })
    }

    fn unserialize_limited(
        &self,
        payload: &[u8],
        is_binary: bool,
        max_decoded_size: usize,
    ) -> Result<Vec<Message>, SerializationError> {
        let payload = (payload, is_binary);
        decode_binary(
            Self::SERIALIZER_ID,
            self.batched,
            payload,
            max_decoded_size,
            Self::decode_one,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{dict, list};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn dec(s: &str) -> Result<Value, DecodeError> {
        decode_value_exact(&hex(s), &DecodeBudget::new(usize::MAX))
    }

    /// RFC 8949 Appendix A examples.
    #[test]
    fn rfc8949_appendix_a() {
        let cases: Vec<(&str, Value)> = vec![
            ("00", 0.into()),
            ("17", 23.into()),
            ("1818", 24.into()),
            ("190100", 256.into()),
            ("1b000000e8d4a51000", 1_000_000_000_000i64.into()),
            ("1bffffffffffffffff", u64::MAX.into()),
            ("20", (-1).into()),
            ("3863", (-100).into()),
            ("3903e7", (-1000).into()),
            ("f90000", 0.0.into()),
            ("f98000", (-0.0).into()),
            ("f93c00", 1.0.into()),
            ("fb3ff199999999999a", 1.1.into()),
            ("f93e00", 1.5.into()),
            ("f97bff", 65504.0.into()),
            ("fa47c35000", 100000.0.into()),
            ("fa7f7fffff", f64::from(f32::MAX).into()),
            ("fb7e37e43c8800759c", 1.0e300.into()),
            ("f90001", 5.960464477539063e-8.into()),
            ("f90400", 0.00006103515625.into()),
            ("f9c400", (-4.0).into()),
            ("fbc010666666666666", (-4.1).into()),
            ("f97c00", f64::INFINITY.into()),
            ("f9fc00", f64::NEG_INFINITY.into()),
            ("fa7f800000", f64::INFINITY.into()),
            ("f4", false.into()),
            ("f5", true.into()),
            ("f6", Value::Null),
            ("f7", Value::Null),
            (
                "c074323031332d30332d32315432303a30343a30305a",
                "2013-03-21T20:04:00Z".into(),
            ),
            ("c11a514b67b0", 1363896240.into()),
            ("d74401020304", Value::bytes(vec![1, 2, 3, 4])),
            ("40", Value::bytes(vec![])),
            ("4401020304", Value::bytes(vec![1, 2, 3, 4])),
            ("60", "".into()),
            ("6161", "a".into()),
            ("6449455446", "IETF".into()),
            ("62225c", "\"\\".into()),
            ("62c3bc", "ü".into()),
            ("63e6b0b4", "水".into()),
            ("64f0908591", "𐅑".into()),
            ("80", Value::List(vec![])),
            ("83010203", Value::List(list![1, 2, 3])),
            (
                "8301820203820405",
                Value::List(list![1, list![2, 3], list![4, 5]]),
            ),
            ("a0", Value::Dict(Dict::new())),
            (
                "a26161016162820203",
                Value::Dict(dict! {"a" => 1, "b" => list![2, 3]}),
            ),
            (
                "826161a161626163",
                Value::List(list!["a", dict! {"b" => "c"}]),
            ),
            ("5f42010243030405ff", Value::bytes(vec![1, 2, 3, 4, 5])),
            ("7f657374726561646d696e67ff", "streaming".into()),
            ("9fff", Value::List(vec![])),
            (
                "9f018202039f0405ffff",
                Value::List(list![1, list![2, 3], list![4, 5]]),
            ),
            (
                "83018202039f0405ff",
                Value::List(list![1, list![2, 3], list![4, 5]]),
            ),
            (
                "bf61610161629f0203ffff",
                Value::Dict(dict! {"a" => 1, "b" => list![2, 3]}),
            ),
            (
                "bf6346756ef563416d7421ff",
                Value::Dict(dict! {"Fun" => true, "Amt" => -2}),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(dec(input), Ok(expected), "{input}");
        }
        assert!(dec("f97e00").unwrap().as_f64().unwrap().is_nan());
        // Bignum 2^64 does not fit 64 bits; -2^64 and the bignum
        // -18446744073709551617 are below i64::MIN.
        assert!(dec("c249010000000000000000").is_err());
        assert!(dec("3bffffffffffffffff").is_err());
        assert!(dec("c349010000000000000000").is_err());
        // Small bignums become integers.
        assert_eq!(dec("c2420100"), Ok(256.into()));
        assert_eq!(dec("c34100"), Ok((-1).into()));
        // Simple values other than false/true/null/undefined.
        for s in ["f0", "f818", "f8ff"] {
            assert!(dec(s).is_err(), "{s}");
        }
        // Non-text keys, stray break, reserved additional info, bad chunks.
        for s in [
            "a201020304",
            "ff",
            "1c",
            "5f6161ff",
            "7f4161ff",
            "5f5f4101ffff",
            "62c328",
            "7f61ff",
        ] {
            assert!(dec(s).is_err(), "{s}");
        }
    }

    #[test]
    fn f16_subnormals_and_signs() {
        assert_eq!(f16_to_f64(0x0001), 5.960464477539063e-8);
        assert_eq!(f16_to_f64(0x8001), -5.960464477539063e-8);
        assert_eq!(f16_to_f64(0x3555), 0.333251953125);
    }

    proptest::proptest! {
        /// Our decoder agrees with ciborium (an independent implementation)
        /// on ciborium's encoding of arbitrary values, and ciborium reads
        /// what we decode back identically.
        #[test]
        fn interop_with_ciborium(v in crate::wamp::serializer::strategies::arb_value()) {
            let mut bytes = Vec::new();
            ciborium::ser::into_writer(&v, &mut bytes).unwrap();
            let budget = DecodeBudget::new(usize::MAX);
            proptest::prop_assert_eq!(decode_value_exact(&bytes, &budget), Ok(v.clone()));
            let theirs: Value = ciborium::de::from_reader(&bytes[..]).unwrap();
            proptest::prop_assert_eq!(theirs, v);
        }
    }
}
