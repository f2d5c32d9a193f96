//! WAMP serializers (`autobahn.wamp.serializer`): [`Message`] <-> bytes.
//!
//! | serializer | id | WebSocket subprotocol | RawSocket id | frames |
//! |---|---|---|---|---|
//! | [`JsonSerializer`] | `json` | `wamp.2.json` | 1 | text |
//! | [`MsgPackSerializer`] | `msgpack` | `wamp.2.msgpack` | 2 | binary |
//! | [`CborSerializer`] | `cbor` | `wamp.2.cbor` | 3 | binary |
//! | [`UbjsonSerializer`] | `ubjson` | `wamp.2.ubjson` | 4 | binary |
//!
//! Each also has a batched mode (subprotocol suffix `.batched`), where one
//! transport message carries several WAMP messages: JSON terminates each
//! message with the byte 0x1E; MessagePack, CBOR and UBJSON prefix each
//! message with its length as a 4-byte big-endian integer.
//!
//! UBJSON comes in two byte layouts ([`UbjsonDialect`]); the subprotocol and
//! RawSocket id select the one Crossbar.io and Autobahn|Python 26 speak.
//!
//! Messages are encoded straight from [`Message`] through serde, and decoded
//! straight into [`Value`](crate::wamp::value::Value) and validated with
//! [`Message::from_value`]. Decoding hostile input never panics: nesting is
//! capped at [`MAX_DEPTH`](crate::wamp::value::MAX_DEPTH), no memory is
//! reserved on the word of a length header, and what one payload may cost
//! decoded is bounded by `max_decoded_size` ([`DEFAULT_MAX_DECODED_SIZE`];
//! see [`Serializer::unserialize_limited`]).

mod cbor;
mod json;
mod msgpack;
mod reader;
mod ubjson;

use crate::wamp::value::budget::DecodeBudget;

pub use cbor::CborSerializer;
pub use json::JsonSerializer;
pub use msgpack::MsgPackSerializer;
pub use ubjson::{UbjsonDialect, UbjsonSerializer};

use crate::wamp::error::SerializationError;
use crate::wamp::message::Message;

/// The default `max_decoded_size`: 64 MiB of decoded values per received payload.
///
/// Strings and binary data cost about their length decoded, so any such
/// payload within the transports' default message limit (16 MiB on RawSocket)
/// fits. Shapes that amplify reach it: a MessagePack or CBOR list of one-entry
/// dicts costs 3 bytes per entry on the wire and over 600 bytes decoded, so
/// without this bound one 16 MiB message could cost 3.6 GiB.
pub const DEFAULT_MAX_DECODED_SIZE: usize = 64 << 20;

/// Converts WAMP messages to and from transport payloads (`ISerializer`).
///
/// Object safe: sessions hold a `Box<dyn Serializer>` chosen at connect time.
///
/// # Examples
///
/// Decoding is bounded: a payload whose values would take more memory than allowed
/// fails before it is allocated.
///
/// ```
/// use autobahn::wamp::message::{Message, Publish};
/// use autobahn::wamp::serializer::{for_subprotocol, Serializer};
/// use autobahn::wamp::value::Value;
///
/// let serializer = for_subprotocol("wamp.2.msgpack").expect("supported");
/// let publish = Message::Publish(Publish {
///     request: 1,
///     topic: "com.example.big".into(),
///     args: Some(vec![Value::from("x".repeat(10_000))]),
///     ..Publish::default()
/// });
/// let bytes = serializer.serialize(&publish)?;
/// assert!(serializer.unserialize_limited(&bytes, true, 1024).is_err());
/// assert!(serializer.unserialize_limited(&bytes, true, 1 << 20).is_ok());
/// # Ok::<(), autobahn::wamp::error::SerializationError>(())
/// ```
pub trait Serializer: Send + Sync + std::fmt::Debug {
    /// Short serializer id: `"json"`, `"msgpack"`, `"cbor"` or `"ubjson"`.
    fn serializer_id(&self) -> &'static str;

    /// The WebSocket subprotocol for this serializer and mode, e.g.
    /// `"wamp.2.json"` or `"wamp.2.json.batched"`.
    fn subprotocol(&self) -> &'static str;

    /// The RawSocket serializer id (JSON 1, MessagePack 2, CBOR 3, UBJSON 4).
    fn rawsocket_id(&self) -> u8;

    /// `true` if payloads go in binary WebSocket messages, `false` for text.
    fn is_binary(&self) -> bool;

    /// `true` in batched mode.
    fn is_batched(&self) -> bool;

    /// Append the encoding of `msg` to `out` (in batched mode including the
    /// framing, so several calls build one batch).
    fn serialize_into(&self, msg: &Message, out: &mut Vec<u8>) -> Result<(), SerializationError>;

    /// Encode one message into a new buffer.
    fn serialize(&self, msg: &Message) -> Result<Vec<u8>, SerializationError> {
        let mut out = Vec::with_capacity(128);
        self.serialize_into(msg, &mut out)?;
        Ok(out)
    }

    /// Decode a transport payload into messages (one, or several in batched
    /// mode). `is_binary` is the frame type the payload arrived in; it must
    /// match [`Serializer::is_binary`] (transports without frame types, like
    /// RawSocket, pass `self.is_binary()`).
    ///
    /// Decoding may use at most [`DEFAULT_MAX_DECODED_SIZE`] bytes; see
    /// [`Serializer::unserialize_limited`].
    fn unserialize(
        &self,
        payload: &[u8],
        is_binary: bool,
    ) -> Result<Vec<Message>, SerializationError> {
        self.unserialize_limited(payload, is_binary, DEFAULT_MAX_DECODED_SIZE)
    }

    /// [`Serializer::unserialize`] with a bound on the memory the decoded
    /// values may take: `max_decoded_size` bytes for the whole payload (all
    /// messages of a batch together). It is checked while decoding, before
    /// each allocation, so a payload that would pass it fails with
    /// [`SerializationError::TooLarge`] having allocated at most that much.
    ///
    /// Autobahn|Python has no such bound; the WAMP transports here pass their
    /// `max_decoded_size` setting.
    fn unserialize_limited(
        &self,
        payload: &[u8],
        is_binary: bool,
        max_decoded_size: usize,
    ) -> Result<Vec<Message>, SerializationError>;
}

/// The serializer for a WAMP WebSocket subprotocol name (`wamp.2.json`,
/// `wamp.2.msgpack.batched`, ...), if supported.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::serializer::{for_rawsocket_id, for_subprotocol};
///
/// assert_eq!(for_subprotocol("wamp.2.cbor").map(|s| s.serializer_id()), Some("cbor"));
/// assert!(for_subprotocol("wamp.2.json.batched").is_some_and(|s| s.is_batched()));
/// assert_eq!(for_rawsocket_id(1).map(|s| s.serializer_id()), Some("json"));
/// assert_eq!(for_rawsocket_id(4).map(|s| s.subprotocol()), Some("wamp.2.ubjson"));
/// assert!(for_subprotocol("wamp.2.flatbuffers").is_none());
/// ```
pub fn for_subprotocol(subprotocol: &str) -> Option<Box<dyn Serializer>> {
    Some(match subprotocol {
        "wamp.2.json" => Box::new(JsonSerializer::new()),
        "wamp.2.json.batched" => Box::new(JsonSerializer::batched()),
        "wamp.2.msgpack" => Box::new(MsgPackSerializer::new()),
        "wamp.2.msgpack.batched" => Box::new(MsgPackSerializer::batched()),
        "wamp.2.cbor" => Box::new(CborSerializer::new()),
        "wamp.2.cbor.batched" => Box::new(CborSerializer::batched()),
        "wamp.2.ubjson" => Box::new(UbjsonSerializer::new()),
        "wamp.2.ubjson.batched" => Box::new(UbjsonSerializer::batched()),
        _ => return None,
    })
}

/// The (unbatched) serializer for a RawSocket serializer id, if supported.
pub fn for_rawsocket_id(id: u8) -> Option<Box<dyn Serializer>> {
    Some(match id {
        JsonSerializer::RAWSOCKET_SERIALIZER_ID => Box::new(JsonSerializer::new()),
        MsgPackSerializer::RAWSOCKET_SERIALIZER_ID => Box::new(MsgPackSerializer::new()),
        CborSerializer::RAWSOCKET_SERIALIZER_ID => Box::new(CborSerializer::new()),
        UbjsonSerializer::RAWSOCKET_SERIALIZER_ID => Box::new(UbjsonSerializer::new()),
        _ => return None,
    })
}

/// Fail if a payload arrived in the wrong frame type.
fn check_frame_type(
    format: &'static str,
    expected: bool,
    is_binary: bool,
) -> Result<(), SerializationError> {
    if expected == is_binary {
        Ok(())
    } else {
        Err(SerializationError::WrongFrameType { format, is_binary })
    }
}

/// `serialize_into` of a binary serializer: `encode`'s output, length-prefixed when batched.
fn encode_binary(
    format: &'static str,
    batched: bool,
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), SerializationError>,
) -> Result<(), SerializationError> {
    if batched {
        write_length_prefixed(format, out, encode)
    } else {
        encode(out)
    }
}

/// `unserialize_limited` of a binary serializer: one message, or length-prefixed ones when
/// batched, each decoded by `decode_one` within one budget.
fn decode_binary(
    format: &'static str,
    batched: bool,
    (payload, is_binary): (&[u8], bool),
    max_decoded_size: usize,
    mut decode_one: impl FnMut(&[u8], &DecodeBudget) -> Result<Message, SerializationError>,
) -> Result<Vec<Message>, SerializationError> {
    check_frame_type(format, true, is_binary)?;
    let budget = DecodeBudget::new(max_decoded_size);
    if batched {
        read_length_prefixed(format, payload, &budget, decode_one)
    } else {
        Ok(vec![decode_one(payload, &budget)?])
    }
}

/// Batched framing of the binary serializers: each message is preceded by its
/// length as a u32 big endian.
fn write_length_prefixed(
    format: &'static str,
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> Result<(), SerializationError>,
) -> Result<(), SerializationError> {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    encode(out)?;
    let len = u32::try_from(out.len() - start - 4).map_err(|_| SerializationError::Encode {
        format,
        reason: "message longer than 2^32-1 bytes in batched mode".into(),
    })?;
    if let Some(prefix) = out.get_mut(start..start + 4) {
        prefix.copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// The error for a payload the decoder refused: `TooLarge` if it was the
/// budget that ran out, `Decode` with the decoder's reason otherwise.
fn decode_failure(
    format: &'static str,
    budget: &DecodeBudget,
    reason: impl std::fmt::Display,
) -> SerializationError {
    if budget.exceeded() {
        SerializationError::TooLarge {
            format,
            limit: budget.limit(),
        }
    } else {
        SerializationError::Decode {
            format,
            reason: reason.to_string(),
        }
    }
}

/// Pays for one more decoded message in a batch (its slot in the output).
fn charge_message(
    format: &'static str,
    budget: &DecodeBudget,
    out: &mut Vec<Message>,
) -> Result<(), SerializationError> {
    if out.len() == out.capacity() {
        let more = out.capacity().max(4);
        budget
            .charge(more.saturating_mul(std::mem::size_of::<Message>()))
            .map_err(|_| decode_failure(format, budget, ""))?;
        out.reserve_exact(more);
    }
    Ok(())
}

/// Split a length-prefixed batch and decode each message.
fn read_length_prefixed(
    format: &'static str,
    mut payload: &[u8],
    budget: &DecodeBudget,
    mut decode: impl FnMut(&[u8], &DecodeBudget) -> Result<Message, SerializationError>,
) -> Result<Vec<Message>, SerializationError> {
    let mut out = Vec::new();
    while !payload.is_empty() {
        let Some((len, rest)) = payload.split_first_chunk::<4>() else {
            return Err(SerializationError::Batch {
                format,
                reason: "truncated length prefix",
            });
        };
        let len = u32::from_be_bytes(*len) as usize;
        if len > rest.len() {
            return Err(SerializationError::Batch {
                format,
                reason: "length prefix exceeds payload",
            });
        }
        let (chunk, rest) = rest.split_at(len);
        let message = decode(chunk, budget)?;
        charge_message(format, budget, &mut out)?;
        out.push(message);
        payload = rest;
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod strategies;
#[cfg(test)]
mod tests;
