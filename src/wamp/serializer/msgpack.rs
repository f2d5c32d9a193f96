//! MessagePack serializer (`wamp.2.msgpack`), MessagePack spec v5: strings
//! are `str`, binary data is `bin`, dict keys must be strings.
//!
//! Encoding goes through rmp-serde; decoding is a small hand-written parser
//! straight into [`Value`] (faster than a serde visitor, and every length and
//! the nesting depth are checked before anything is allocated). Extension
//! types, the reserved byte 0xc1, invalid UTF-8 in `str` and non-string dict
//! keys are errors.

use serde::Serialize;

use super::reader::{descend, DecodeError, Reader, KEY_NOT_STRING, TRAILING};
use super::{decode_binary, decode_failure, encode_binary, Serializer};
use crate::wamp::error::SerializationError;
use crate::wamp::message::{Message, WireMessage};
use crate::wamp::value::budget::DecodeBudget;
use crate::wamp::value::{Dict, Value, MAX_DEPTH};

/// The MessagePack serializer, unbatched or batched.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::message::{Call, Message};
/// use autobahn::wamp::serializer::{MsgPackSerializer, Serializer};
/// use autobahn::{dict, list};
///
/// let call = Message::Call(Call {
///     request: 7,
///     options: dict! {},
///     procedure: "com.example.add2".into(),
///     args: Some(list![2, 3]),
///     kwargs: None,
/// });
/// let msgpack = MsgPackSerializer::new();
/// let bytes = msgpack.serialize(&call)?;
/// assert_eq!(bytes[0], 0x95); // a MessagePack array of 5
/// assert_eq!(msgpack.unserialize(&bytes, true)?, [call]);
/// assert_eq!(msgpack.rawsocket_id(), 2);
/// # Ok::<(), autobahn::wamp::error::SerializationError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgPackSerializer {
    batched: bool,
}

impl MsgPackSerializer {
    /// Serializer id.
    pub const SERIALIZER_ID: &'static str = "msgpack";
    /// RawSocket serializer id.
    pub const RAWSOCKET_SERIALIZER_ID: u8 = 2;
    /// MIME type.
    pub const MIME_TYPE: &'static str = "application/x-msgpack";

    /// Unbatched mode (`wamp.2.msgpack`).
    pub fn new() -> Self {
        MsgPackSerializer { batched: false }
    }

    /// Batched mode (`wamp.2.msgpack.batched`): 4-byte big-endian length
    /// prefix before each message.
    pub fn batched() -> Self {
        MsgPackSerializer { batched: true }
    }

    fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), SerializationError> {
        WireMessage::<false>(msg)
            .serialize(&mut rmp_serde::Serializer::new(out))
            .map_err(|e| SerializationError::Encode {
                format: Self::SERIALIZER_ID,
                reason: e.to_string(),
            })
    }

    fn decode_one(payload: &[u8], budget: &DecodeBudget) -> Result<Message, SerializationError> {
        let value = decode_value_exact(payload, budget)
            .map_err(|reason| decode_failure(Self::SERIALIZER_ID, budget, reason))?;
        Ok(Message::from_value(value)?)
    }
}

/// Decode exactly one MessagePack item filling `payload`, within `budget`.
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

/// Decode one item; `depth` is the number of container levels still allowed.
fn decode_value(r: &mut Reader<'_, '_>, depth: usize) -> Result<Value, DecodeError> {
    let marker = r.u8()?;
    Ok(match marker {
        0x00..=0x7f => Value::Integer(i64::from(marker)),
        0x80..=0x8f => decode_map(r, usize::from(marker & 0x0f), depth)?,
        0x90..=0x9f => decode_array(r, usize::from(marker & 0x0f), depth)?,
        0xa0..=0xbf => Value::String(r.string(usize::from(marker & 0x1f))?),
        0xc0 => Value::Null,
        0xc2 => Value::Bool(false),
        0xc3 => Value::Bool(true),
        0xc4..=0xc6 => {
            let n = len(r, marker - 0xc4)?;
            Value::Bytes(r.byte_vec(n)?)
        }
        0xc7..=0xc9 | 0xd4..=0xd8 => return Err("extension types are not supported"),
        0xca => Value::Float(f64::from(f32::from_bits(r.u32()?))),
        0xcb => Value::Float(f64::from_bits(r.u64()?)),
        0xcc => Value::Integer(i64::from(r.u8()?)),
        0xcd => Value::Integer(i64::from(r.u16()?)),
        0xce => Value::Integer(i64::from(r.u32()?)),
        0xcf => Value::from_u64(r.u64()?),
        0xd0 => Value::Integer(i64::from(r.u8()? as i8)),
        0xd1 => Value::Integer(i64::from(r.u16()? as i16)),
        0xd2 => Value::Integer(i64::from(r.u32()? as i32)),
        0xd3 => Value::Integer(r.u64()? as i64),
        0xd9..=0xdb => {
            let n = len(r, marker - 0xd9)?;
            Value::String(r.string(n)?)
        }
        0xdc | 0xdd => {
            let n = len(r, marker - 0xdc + 1)?;
            decode_array(r, n, depth)?
        }
        0xde | 0xdf => {
            let n = len(r, marker - 0xde + 1)?;
            decode_map(r, n, depth)?
        }
        0xe0..=0xff => Value::Integer(i64::from(marker as i8)),
        0xc1 => return Err("reserved marker 0xc1"),
    })
}

/// A length field of 1, 2 or 4 bytes (`width_log2` = 0, 1, 2).
fn len(r: &mut Reader<'_, '_>, width_log2: u8) -> Result<usize, DecodeError> {
    Ok(match width_log2 {
        0 => usize::from(r.u8()?),
        1 => usize::from(r.u16()?),
        // u32 always fits usize on the 32/64-bit targets we support.
        _ => r.u32()? as usize,
    })
}

fn decode_array(r: &mut Reader<'_, '_>, n: usize, depth: usize) -> Result<Value, DecodeError> {
    let child = descend(depth)?;
    let mut list = r.list(n)?;
    for _ in 0..n {
        let value = decode_value(r, child)?;
        r.push(&mut list, value)?;
    }
    Ok(Value::List(list))
}

fn decode_map(r: &mut Reader<'_, '_>, n: usize, depth: usize) -> Result<Value, DecodeError> {
    let child = descend(depth)?;
    let mut dict = Dict::new();
    for _ in 0..n {
        let key = match r.u8()? {
            m @ 0xa0..=0xbf => r.string(usize::from(m & 0x1f))?,
            m @ 0xd9..=0xdb => {
                let n = len(r, m - 0xd9)?;
                r.string(n)?
            }
            _ => return Err(KEY_NOT_STRING),
        };
        let value = decode_value(r, child)?;
        r.insert(&mut dict, key, value)?;
    }
    Ok(Value::Dict(dict))
}

impl Serializer for MsgPackSerializer {
    fn serializer_id(&self) -> &'static str {
        Self::SERIALIZER_ID
    }

    fn subprotocol(&self) -> &'static str {
        if self.batched {
            "wamp.2.msgpack.batched"
        } else {
            "wamp.2.msgpack"
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

    fn dec(bytes: &[u8]) -> Result<Value, DecodeError> {
        decode_value_exact(bytes, &DecodeBudget::new(usize::MAX))
    }

    /// One example per MessagePack format family.
    #[test]
    fn every_marker() {
        let cases: Vec<(&[u8], Value)> = vec![
            (&[0x00], 0.into()),
            (&[0x7f], 127.into()),
            (&[0xe0], (-32).into()),
            (&[0xff], (-1).into()),
            (&[0xc0], Value::Null),
            (&[0xc2], false.into()),
            (&[0xc3], true.into()),
            (&[0xcc, 0xff], 255.into()),
            (&[0xcd, 0x01, 0x00], 256.into()),
            (&[0xce, 0xff, 0xff, 0xff, 0xff], u32::MAX.into()),
            (
                &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                u64::MAX.into(),
            ),
            (&[0xd0, 0x80], (-128).into()),
            (&[0xd1, 0x80, 0x00], (-32768).into()),
            (&[0xd2, 0x80, 0x00, 0x00, 0x00], i32::MIN.into()),
            (&[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], i64::MIN.into()),
            (&[0xca, 0x3f, 0xc0, 0x00, 0x00], 1.5.into()),
            (
                &[0xcb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a],
                1.1.into(),
            ),
            (&[0xa1, b'a'], "a".into()),
            (&[0xd9, 0x01, b'b'], "b".into()),
            (&[0xda, 0x00, 0x01, b'c'], "c".into()),
            (&[0xdb, 0x00, 0x00, 0x00, 0x01, b'd'], "d".into()),
            (&[0xc4, 0x01, 0x07], Value::bytes(vec![7])),
            (&[0xc5, 0x00, 0x01, 0x08], Value::bytes(vec![8])),
            (&[0xc6, 0x00, 0x00, 0x00, 0x00], Value::bytes(vec![])),
            (&[0x92, 0x01, 0xa0], Value::List(list![1, ""])),
            (&[0xdc, 0x00, 0x01, 0xc0], Value::List(list![Value::Null])),
            (&[0xdd, 0x00, 0x00, 0x00, 0x00], Value::List(vec![])),
            (&[0x81, 0xa1, b'k', 0x02], Value::Dict(dict! {"k" => 2})),
            (
                &[0xde, 0x00, 0x01, 0xd9, 0x01, b'k', 0x03],
                Value::Dict(dict! {"k" => 3}),
            ),
            (&[0xdf, 0x00, 0x00, 0x00, 0x00], Value::Dict(Dict::new())),
        ];
        for (input, expected) in cases {
            assert_eq!(dec(input), Ok(expected), "{input:02x?}");
        }
        for bad in [
            &[0xc1][..],
            &[0xd4, 0x01, 0x00],
            &[0xc7, 0x01, 0x01, 0x00],
            &[0xa2, 0xc3, 0x28],
            &[0x81, 0x01, 0x02],
            &[0x81, 0xc4, 0x01, b'k', 0x02],
            &[0x91],
            &[0xcb, 0x00],
            &[0x00, 0x00],
        ] {
            assert!(dec(bad).is_err(), "{bad:02x?}");
        }
    }

    proptest::proptest! {
        /// Our decoder agrees with rmp-serde (an independent implementation)
        /// on rmp-serde's encoding of arbitrary values, and vice versa.
        #[test]
        fn interop_with_rmp_serde(v in crate::wamp::serializer::strategies::arb_value()) {
            let bytes = rmp_serde::to_vec(&v).unwrap();
            let budget = DecodeBudget::new(usize::MAX);
            proptest::prop_assert_eq!(decode_value_exact(&bytes, &budget), Ok(v.clone()));
            let theirs: Value = rmp_serde::from_slice(&bytes).unwrap();
            proptest::prop_assert_eq!(theirs, v);
        }
    }
}
