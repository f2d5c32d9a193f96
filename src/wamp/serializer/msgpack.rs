//! MessagePack serializer (`wamp.2.msgpack`), MessagePack spec v5: strings
//! are `str`, binary data is `bin`, dict keys must be strings.
//!
//! Extension types are rejected. A `str` whose bytes are not valid UTF-8 is
//! decoded as bytes (rmp-serde falls back to binary for such strings).

use serde::de::{DeserializeSeed, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::{check_frame_type, read_length_prefixed, write_length_prefixed, Serializer};
use crate::wamp::error::SerializationError;
use crate::wamp::message::{Message, WireMessage};
use crate::wamp::value::wire::ValueSeed;
use crate::wamp::value::MAX_DEPTH;

/// The MessagePack serializer, unbatched or batched.
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

    fn decode_error(e: impl std::fmt::Display) -> SerializationError {
        SerializationError::Decode {
            format: Self::SERIALIZER_ID,
            reason: e.to_string(),
        }
    }

    fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), SerializationError> {
        WireMessage::<false>(msg)
            .serialize(&mut rmp_serde::Serializer::new(out))
            .map_err(|e| SerializationError::Encode {
                format: Self::SERIALIZER_ID,
                reason: e.to_string(),
            })
    }

    fn decode_one(payload: &[u8]) -> Result<Message, SerializationError> {
        // from_read_ref borrows from the slice: a length header larger than
        // the remaining input fails instead of allocating.
        let mut de = rmp_serde::Deserializer::from_read_ref(payload);
        // Our seed enforces MAX_DEPTH; this is a second fence.
        de.set_max_depth(MAX_DEPTH + 2);
        let value = ValueSeed::new(false)
            .deserialize(&mut de)
            .map_err(Self::decode_error)?;
        // Trailing bytes: reading one more item must hit end of input.
        match IgnoredAny::deserialize(&mut de) {
            Err(rmp_serde::decode::Error::InvalidMarkerRead(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            _ => return Err(Self::decode_error("trailing bytes after message")),
        }
        Ok(Message::from_value(value)?)
    }
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
        if self.batched {
            write_length_prefixed(Self::SERIALIZER_ID, out, |out| Self::encode(msg, out))
        } else {
            Self::encode(msg, out)
        }
    }

    fn unserialize(
        &self,
        payload: &[u8],
        is_binary: bool,
    ) -> Result<Vec<Message>, SerializationError> {
        check_frame_type(Self::SERIALIZER_ID, true, is_binary)?;
        if self.batched {
            read_length_prefixed(Self::SERIALIZER_ID, payload, Self::decode_one)
        } else {
            Ok(vec![Self::decode_one(payload)?])
        }
    }
}
