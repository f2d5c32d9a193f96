//! UBJSON serializer (`wamp.2.ubjson`), in the two dialects WAMP peers speak;
//! [`UbjsonSerializer`] documents them and the value fidelity.

mod decode;
mod encode;

use serde::Serialize;

use super::{decode_binary, decode_failure, encode_binary, Serializer};
use crate::wamp::error::SerializationError;
use crate::wamp::message::{Message, WireMessage};
use crate::wamp::value::budget::DecodeBudget;

pub(crate) use decode::decode_value_exact;

/// Which byte layout of UBJSON a [`UbjsonSerializer`] speaks (see there for
/// the differences).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum UbjsonDialect {
    /// BJData as the Python `bjdata` package writes it by default: little-endian,
    /// unsigned markers `u m M`, binary as `[$B#`. Spoken by Autobahn|Python
    /// and Crossbar.io 26.10, which moved from py-ubjson to `bjdata`.
    #[default]
    BJData,
    /// UBJSON Draft 12 as the spec and py-ubjson have it: big-endian, binary
    /// as `[$U#`, integers above `i64::MAX` as high-precision numbers.
    Draft12,
}

impl UbjsonDialect {
    /// Multi-byte numbers are little-endian.
    fn little_endian(self) -> bool {
        self == UbjsonDialect::BJData
    }
}

/// The UBJSON serializer, unbatched or batched, in one [`UbjsonDialect`].
///
/// The WAMP spec names UBJSON (Draft 12, big-endian). Recent Autobahn|Python
/// and Crossbar.io (26.10 here) use the `bjdata` package instead of py-ubjson;
/// its default output is BJData: the same markers, but little-endian, with
/// unsigned integer markers and binary as `[$B#`. The two agree on one-byte numbers
/// and on the framing of strings, lists and dicts, but not on wider numbers
/// (nor on lengths past 255), so a connection must pick one:
/// [`UbjsonDialect::BJData`] (the default, what Crossbar.io 26.10 and
/// Autobahn|Python 26.10 speak) or [`UbjsonDialect::Draft12`] (the spec,
/// py-ubjson, and the Autobahn|Python and Crossbar.io releases using it).
///
/// Value fidelity, encoding:
///
/// | [`Value`](crate::wamp::value::Value) | BJData (default) | Draft 12 |
/// |---|---|---|
/// | `Null`, `Bool` | `Z`, `T` / `F` | same |
/// | `Integer` (i64) | smallest of `U i u I m l M L`, little-endian | smallest of `U i I l L`, big-endian |
/// | `UInteger` (> `i64::MAX`) | `M` (uint64) | `H`, the decimal digits (as py-ubjson) |
/// | `Float` | `D` (float64); NaN and ±∞ kept | `D`; NaN and ±∞ kept (the spec suggests `Z`; both Python decoders read them) |
/// | `String` | `S`, UTF-8 | same |
/// | `Bytes` | `[$B#` + count + bytes | `[$U#` + count + bytes (as py-ubjson) |
/// | `List`, `Dict` | `[`…`]`, `{`…`}` | same |
///
/// Decoding accepts what either Python encoder emits and the rest of the
/// format: `C` (one ASCII character) as a string; `d` and `h` floats; `H`
/// numbers as an integer when integral and within 64 bits (larger integers are
/// an error, as in CBOR) and as a float otherwise; optimized containers
/// (`$type` and `#count`) of any element type, where `[$U#` and `[$B#` become
/// [`Value::Bytes`](crate::wamp::value::Value::Bytes) in both dialects; no-ops
/// (`N`) inside containers are skipped. A typed container of `Z`, `T` or
/// `F` (elements without bytes) may not claim more elements than the
/// payload has bytes. BJData's N-dimensional arrays
/// (`#[dims]`), markers outside the format, invalid UTF-8 and trailing bytes
/// are errors. As for the other binary serializers, nesting, lengths and the
/// decoded size are checked before anything is allocated.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::message::{Message, Publish};
/// use autobahn::wamp::serializer::{Serializer, UbjsonDialect, UbjsonSerializer};
/// use autobahn::wamp::value::Value;
///
/// let publish = Message::Publish(Publish {
///     request: 300,
///     topic: "com.example.raw".into(),
///     args: Some(vec![Value::bytes(vec![0xca, 0xfe])]),
///     ..Publish::default()
/// });
/// // Crossbar.io 26 and Autobahn|Python 26: little-endian, binary as `[$B#`.
/// let bjdata = UbjsonSerializer::new();
/// let bytes = bjdata.serialize(&publish)?;
/// assert!(bytes.windows(3).any(|w| w == b"u\x2c\x01")); // 300 as uint16 LE
/// assert!(bytes.windows(7).any(|w| w == b"[$B#U\x02\xca"));
/// assert_eq!(bjdata.unserialize(&bytes, true)?, [publish.clone()]);
///
/// // py-ubjson peers: big-endian, binary as `[$U#`.
/// let draft12 = UbjsonSerializer::with_dialect(UbjsonDialect::Draft12, false);
/// let bytes = draft12.serialize(&publish)?;
/// assert!(bytes.windows(3).any(|w| w == b"I\x01\x2c")); // 300 as int16 BE
/// assert_eq!(draft12.unserialize(&bytes, true)?, [publish]);
/// assert_eq!(draft12.subprotocol(), "wamp.2.ubjson");
/// # Ok::<(), autobahn::wamp::error::SerializationError>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UbjsonSerializer {
    batched: bool,
    dialect: UbjsonDialect,
}

impl UbjsonSerializer {
    /// Serializer id.
    pub const SERIALIZER_ID: &'static str = "ubjson";
    /// RawSocket serializer id.
    pub const RAWSOCKET_SERIALIZER_ID: u8 = 4;
    /// MIME type.
    pub const MIME_TYPE: &'static str = "application/ubjson";

    /// Unbatched mode (`wamp.2.ubjson`), [`UbjsonDialect::BJData`].
    pub fn new() -> Self {
        Self::with_dialect(UbjsonDialect::BJData, false)
    }

    /// Batched mode (`wamp.2.ubjson.batched`), [`UbjsonDialect::BJData`]:
    /// 4-byte big-endian length prefix before each message.
    pub fn batched() -> Self {
        Self::with_dialect(UbjsonDialect::BJData, true)
    }

    /// The given dialect, batched or not.
    pub fn with_dialect(dialect: UbjsonDialect, batched: bool) -> Self {
        UbjsonSerializer { batched, dialect }
    }

    /// The dialect this serializer speaks.
    pub fn dialect(&self) -> UbjsonDialect {
        self.dialect
    }

    fn encode(&self, msg: &Message, out: &mut Vec<u8>) -> Result<(), SerializationError> {
        WireMessage::<false>(msg)
            .serialize(&mut encode::Encoder::new(out, self.dialect))
            .map_err(|e| SerializationError::Encode {
                format: Self::SERIALIZER_ID,
                reason: e.to_string(),
            })
    }

    fn decode_one(
        &self,
        payload: &[u8],
        budget: &DecodeBudget,
    ) -> Result<Message, SerializationError> {
        let value = decode_value_exact(payload, budget, self.dialect)
            .map_err(|reason| decode_failure(Self::SERIALIZER_ID, budget, reason))?;
        Ok(Message::from_value(value)?)
    }
}

impl Serializer for UbjsonSerializer {
    fn serializer_id(&self) -> &'static str {
        Self::SERIALIZER_ID
    }

    fn subprotocol(&self) -> &'static str {
        if self.batched {
            "wamp.2.ubjson.batched"
        } else {
            "wamp.2.ubjson"
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
            self.encode(msg, out)
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
            |p, b| self.decode_one(p, b),
        )
    }
}

#[cfg(test)]
mod tests;
