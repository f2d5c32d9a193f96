//! CBOR serializer (`wamp.2.cbor`, RFC 8949): strings are text strings,
//! binary data byte strings, dict keys must be text.
//!
//! Tags are dropped (the tagged item is kept), except bignums that fit 64
//! bits, which become integers. `undefined` decodes as null.


use super::{check_frame_type, read_length_prefixed, write_length_prefixed, Serializer};
use crate::wamp::error::SerializationError;
use crate::wamp::message::{Message, WireMessage};
use crate::wamp::value::{Value, MAX_DEPTH};

/// The CBOR serializer, unbatched or batched.
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

    fn decode_one(payload: &[u8]) -> Result<Message, SerializationError> {
        let mut rest = payload;
        // Value's Deserialize impl enforces MAX_DEPTH; ciborium's own
        // recursion limit is a second fence. Strings and byte strings are
        // read in chunks, so a lying length header allocates nothing.
        let value: Value =
            ciborium::de::from_reader_with_recursion_limit(&mut rest, MAX_DEPTH + 2).map_err(
                |e| SerializationError::Decode {
                    format: Self::SERIALIZER_ID,
                    reason: e.to_string(),
                },
            )?;
        if !rest.is_empty() {
            return Err(SerializationError::Decode {
                format: Self::SERIALIZER_ID,
                reason: "trailing bytes after message".into(),
            });
        }
        Ok(Message::from_value(value)?)
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
