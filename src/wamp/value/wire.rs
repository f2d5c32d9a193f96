//! serde glue between [`Value`] and the wire formats.
//!
//! Encoding goes straight from `&Value` into the format's serializer and
//! decoding straight from the format's deserializer into `Value`, with no
//! intermediate `serde_json::Value`/`rmpv::Value`/`ciborium::Value` tree.
//!
//! The `JSON` flag applies the WAMP convention for binary data in JSON: bytes
//! travel as the string `"\u0000" + base64(bytes)`.

use std::fmt;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde::de::{self, DeserializeSeed, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::budget::DecodeBudget;
use super::{Dict, Value, MAX_DEPTH};

/// Standard alphabet; encodes with padding, decodes with or without it
/// (peers differ in whether they pad).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The JSON string form of binary data: `\0` followed by base64.
pub(crate) fn bytes_to_json_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(1 + bytes.len().div_ceil(3) * 4);
    s.push('\0');
    BASE64.encode_string(bytes, &mut s);
    s
}

/// Inverse of [`bytes_to_json_string`] for a string known to start with `\0`.
pub(crate) fn json_string_to_bytes(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    BASE64.decode(s.get(1..).unwrap_or(""))
}

/// Serialize a string. In JSON a string starting with `\0` would be read
/// back as binary data, so it cannot be sent and is an error.
pub(crate) fn serialize_text<const JSON: bool, S: Serializer>(
    text: &str,
    s: S,
) -> Result<S::Ok, S::Error> {
    if JSON && text.starts_with('\0') {
        return Err(serde::ser::Error::custom(
            "a string starting with NUL cannot be sent over JSON (it would be read as binary)",
        ));
    }
    s.serialize_str(text)
}

/// Serializes a value; `JSON` selects the JSON binary convention.
pub(crate) struct Wire<'a, const JSON: bool>(pub &'a Value);

/// Serializes a list of values (e.g. `Arguments`).
pub(crate) struct WireList<'a, const JSON: bool>(pub &'a [Value]);

/// Serializes a dict (e.g. `Details`, `ArgumentsKw`).
pub(crate) struct WireDict<'a, const JSON: bool>(pub &'a Dict);

impl<const JSON: bool> Serialize for Wire<'_, JSON> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Integer(i) => s.serialize_i64(*i),
            Value::UInteger(u) => s.serialize_u64(*u),
            Value::Float(x) => s.serialize_f64(*x),
            Value::String(st) => serialize_text::<JSON, S>(st, s),
            Value::Bytes(b) if JSON => s.serialize_str(&bytes_to_json_string(b)),
            Value::Bytes(b) => s.serialize_bytes(b),
            Value::List(l) => WireList::<JSON>(l).serialize(s),
            Value::Dict(d) => WireDict::<JSON>(d).serialize(s),
        }
    }
}

impl<const JSON: bool> Serialize for WireList<'_, JSON> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(&Wire::<JSON>(v))?;
        }
        seq.end()
    }
}

impl<const JSON: bool> Serialize for WireDict<'_, JSON> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, &Wire::<JSON>(v))?;
        }
        map.end()
    }
}

impl Serialize for Value {
    /// Serializes with the format's native types; [`Value::Bytes`] uses
    /// `serialize_bytes` (the WAMP JSON serializer applies the `\0` + base64
    /// convention itself).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire::<false>(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Accepts any self-describing input; nesting deeper than [`MAX_DEPTH`]
    /// is an error. Strings stay strings (no JSON binary convention here).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        ValueSeed::new(false, &DecodeBudget::new(usize::MAX)).deserialize(d)
    }
}

/// Upper bound for capacity taken from a peer's length header: real data
/// grows the vector as elements arrive, a lying header costs nothing.
const MAX_PREALLOC: usize = 64;

/// Deserializes a [`Value`] with a nesting budget and a memory budget;
/// `json` selects the JSON binary convention for strings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ValueSeed<'b> {
    /// Container levels still allowed below this point.
    remaining: usize,
    json: bool,
    /// Shared by the whole payload: every allocation is paid for first.
    budget: &'b DecodeBudget,
}

impl<'b> ValueSeed<'b> {
    /// A seed for a top-level value with the full [`MAX_DEPTH`] budget,
    /// allocating within `budget`.
    pub(crate) fn new(json: bool, budget: &'b DecodeBudget) -> ValueSeed<'b> {
        ValueSeed {
            remaining: MAX_DEPTH,
            json,
            budget,
        }
    }

    /// Pays `bytes` from the memory budget.
    fn charge<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        self.budget.charge(bytes).map_err(|_| self.over())
    }

    fn over<E: de::Error>(&self) -> E {
        over_budget(self.budget)
    }

    /// The seed for the children of a container, or an error if the budget
    /// is spent.
    fn child<E: de::Error>(self) -> Result<ValueSeed<'b>, E> {
        match self.remaining.checked_sub(1) {
            Some(remaining) => Ok(ValueSeed { remaining, ..self }),
            None => Err(E::custom(format_args!(
                "nesting deeper than {MAX_DEPTH} levels"
            ))),
        }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a WAMP value (null, bool, integer, float, string, bytes, list or dict)")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Integer(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from_u64(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        if let Ok(i) = i64::try_from(v) {
            Ok(Value::Integer(i))
        } else if let Ok(u) = u64::try_from(v) {
            Ok(Value::UInteger(u))
        } else {
            Err(E::custom("integer out of the 64-bit range"))
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(Value::from_u64)
            .map_err(|_| E::custom("integer out of the 64-bit range"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        if self.json && v.starts_with('\0') {
            // Base64 decodes to 3/4 of its length.
            self.charge(v.len().div_ceil(4) * 3)?;
            json_string_to_bytes(v)
                .map(Value::Bytes)
                .map_err(|e| E::custom(format_args!("invalid base64 in binary string: {e}")))
        } else {
            self.charge(v.len())?;
            Ok(Value::String(v.to_owned()))
        }
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        if self.json && v.starts_with('\0') {
            self.visit_str(&v)
        } else {
            self.charge(v.capacity())?;
            Ok(Value::String(v))
        }
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        self.charge(v.len())?;
        Ok(Value::Bytes(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        self.charge(v.capacity())?;
        Ok(Value::Bytes(v))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let hint = seq.size_hint().unwrap_or(0).min(MAX_PREALLOC);
        let mut list = self
            .budget
            .list_with_capacity(hint)
            .map_err(|_| self.over())?;
        while let Some(v) = seq.next_element_seed(child)? {
            self.budget.push(&mut list, v).map_err(|_| self.over())?;
        }
        Ok(Value::List(list))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let mut dict = Dict::new();
        while let Some(key) = map.next_key_seed(KeySeed(self.budget))? {
            let v = map.next_value_seed(child)?;
            self.budget
                .insert(&mut dict, key, v)
                .map_err(|_| self.over())?;
        }
        Ok(Value::Dict(dict))
    }

    /// CBOR tags arrive as enums (tag number, tagged item): the tag is
    /// dropped and the item kept, counting as one nesting level.
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let child = self.child()?;
        let (_tag, variant) = data.variant::<de::IgnoredAny>()?;
        de::VariantAccess::newtype_variant_seed(variant, child)
    }
}

/// The error for a spent memory budget (the serializer reports
/// `SerializationError::TooLarge`, seeing `DecodeBudget::exceeded`).
fn over_budget<E: de::Error>(budget: &DecodeBudget) -> E {
    E::custom(format_args!(
        "decoded message exceeds max_decoded_size ({} bytes)",
        budget.limit()
    ))
}

/// Deserializes a dict key (a string, no binary convention), paying for it.
struct KeySeed<'b>(&'b DecodeBudget);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string dict key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        self.0.charge(v.len()).map_err(|_| over_budget(self.0))?;
        Ok(v.to_owned())
    }
}
