//! JSON serializer (`wamp.2.json`), with the WAMP convention for binary data:
//! bytes travel as the string `"\u0000" + base64(bytes)`, and every received
//! string starting with `\0` is decoded as such.
//!
//! Not every peer follows that convention: autobahn-js 26's `JSONSerializer` is a bare
//! `JSON.stringify`, so a `Uint8Array` arrives as a dict of its indices (`{"0": 0, "1": 1,
//! ...}`) and a Node.js `Buffer` as `{"type": "Buffer", "data": [...]}`. Nothing marks those
//! as binary, so they decode as the dicts they are (guessing would corrupt real dicts); such a
//! peer needs a replacer and reviver for the convention, as `examples/wamp/js/common.js` gives.
//!
//! Integers keep full 64-bit precision (serde_json reads them as `i64`/`u64`).
//! Non-finite floats (NaN, infinities) have no JSON form and are sent as `null`.

use serde::de::DeserializeSeed;
use serde::Serialize;

use super::{charge_message, check_frame_type, decode_failure, Serializer};
use crate::wamp::error::SerializationError;
use crate::wamp::message::{Message, WireMessage};
use crate::wamp::value::budget::DecodeBudget;
use crate::wamp::value::wire::ValueSeed;

/// Separator (terminator) of messages in batched mode: ASCII record separator.
const BATCH_SEPARATOR: u8 = 0x1e;

/// The JSON serializer, unbatched or batched.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::message::{Message, Publish};
/// use autobahn::wamp::serializer::{JsonSerializer, Serializer};
/// use autobahn::wamp::value::Value;
/// use autobahn::{dict, list};
///
/// let publish = Message::Publish(Publish {
///     request: 1,
///     options: dict! { "acknowledge" => true },
///     topic: "com.example.topic".into(),
///     args: Some(list![1, "two", Value::bytes([0, 255])]),
///     kwargs: None,
/// });
/// let json = JsonSerializer::new();
/// let bytes = json.serialize(&publish)?;
/// // Binary becomes a string starting with NUL, then base64 (WAMP JSON rule).
/// assert_eq!(
///     std::str::from_utf8(&bytes)?,
///     r#"[16,1,{"acknowledge":true},"com.example.topic",[1,"two","\u0000AP8="]]"#
/// );
/// assert_eq!(json.unserialize(&bytes, false)?, [publish]);
/// assert_eq!(json.subprotocol(), "wamp.2.json");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonSerializer {
    batched: bool,
}

impl JsonSerializer {
    /// Serializer id.
    pub const SERIALIZER_ID: &'static str = "json";
    /// RawSocket serializer id.
    pub const RAWSOCKET_SERIALIZER_ID: u8 = 1;
    /// MIME type.
    pub const MIME_TYPE: &'static str = "application/json";

    /// Unbatched mode (`wamp.2.json`).
    pub fn new() -> Self {
        JsonSerializer { batched: false }
    }

    /// Batched mode (`wamp.2.json.batched`).
    pub fn batched() -> Self {
        JsonSerializer { batched: true }
    }

    fn decode_one(payload: &[u8], budget: &DecodeBudget) -> Result<Message, SerializationError> {
        let failure = |e| decode_failure(Self::SERIALIZER_ID, budget, e);
        let mut de = serde_json::Deserializer::from_slice(payload);
        let value = ValueSeed::new(true, budget)
            .deserialize(&mut de)
            .map_err(failure)?;
        de.end().map_err(failure)?;
        Ok(Message::from_value(value)?)
    }
}

impl Serializer for JsonSerializer {
    fn serializer_id(&self) -> &'static str {
        Self::SERIALIZER_ID
    }

    fn subprotocol(&self) -> &'static str {
        if self.batched {
            "wamp.2.json.batched"
        } else {
            "wamp.2.json"
        }
    }

    fn rawsocket_id(&self) -> u8 {
        Self::RAWSOCKET_SERIALIZER_ID
    }

    fn is_binary(&self) -> bool {
        false
    }

    fn is_batched(&self) -> bool {
        self.batched
    }

    fn serialize_into(&self, msg: &Message, out: &mut Vec<u8>) -> Result<(), SerializationError> {
        WireMessage::<true>(msg)
            .serialize(&mut serde_json::Serializer::new(&mut *out))
            .map_err(|e| SerializationError::Encode {
                format: Self::SERIALIZER_ID,
                reason: e.to_string(),
            })?;
        if self.batched {
            out.push(BATCH_SEPARATOR);
        }
        Ok(())
    }

    fn unserialize_limited(
        &self,
        payload: &[u8],
        is_binary: bool,
        max_decoded_size: usize,
    ) -> Result<Vec<Message>, SerializationError> {
        check_frame_type(Self::SERIALIZER_ID, false, is_binary)?;
        let budget = DecodeBudget::new(max_decoded_size);
        if !self.batched {
            return Ok(vec![Self::decode_one(payload, &budget)?]);
        }
        // 0x1E cannot occur inside JSON text (control characters in strings
        // must be escaped), so splitting on it is safe. Each message is
        // terminated by it; a missing final terminator is tolerated.
        let mut out = Vec::new();
        for chunk in payload.split(|&b| b == BATCH_SEPARATOR) {
            if !chunk.is_empty() {
                let message = Self::decode_one(chunk, &budget)?;
                charge_message(Self::SERIALIZER_ID, &budget, &mut out)?;
                out.push(message);
            }
        }
        Ok(out)
    }
}
