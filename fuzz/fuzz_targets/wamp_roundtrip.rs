//! Serializer round trips of arbitrary valid WAMP messages (built from `arbitrary`
//! values, any payload: NaN and infinities, -0.0, u64 above i64::MAX, bytes, strings
//! with NUL, deep nesting): every serializer, batched or not, gives back the same
//! message and stable bytes; JSON only where the format can carry the value (see
//! `fuzz_support::wamp::check_message`).
#![no_main]

use arbitrary::Arbitrary;
use autobahn::wamp::message::{Message, MessageType};
use autobahn::wamp::{Dict, Value};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum AValue {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<AValue>),
    Dict(Vec<(String, AValue)>),
}

/// A message element: shaped like WAMP fields so that valid messages are common.
#[derive(Arbitrary, Debug)]
enum Field {
    /// An id (0..=2^53).
    Id(u64),
    /// A URI from a small alphabet (`com.x_1`…).
    Uri(Vec<u8>),
    Dict(Vec<(String, AValue)>),
    List(Vec<AValue>),
    Any(AValue),
}

fn value(v: &AValue, depth: usize) -> Value {
    if depth > 24 {
        return Value::Null;
    }
    match v {
        AValue::Null => Value::Null,
        AValue::Bool(b) => Value::Bool(*b),
        AValue::Int(i) => Value::Integer(*i),
        AValue::UInt(u) => Value::from_u64(*u),
        AValue::Float(f) => Value::Float(*f),
        AValue::Str(s) => Value::String(s.clone()),
        AValue::Bytes(b) => Value::Bytes(b.clone()),
        AValue::List(l) => Value::List(l.iter().map(|x| value(x, depth + 1)).collect()),
        AValue::Dict(d) => Value::Dict(dict(d, depth + 1)),
    }
}

fn dict(d: &[(String, AValue)], depth: usize) -> Dict {
    d.iter()
        .map(|(k, v)| (k.clone(), value(v, depth)))
        .collect()
}

fn field(f: &Field) -> Value {
    match f {
        Field::Id(i) => Value::from_u64(i % ((1 << 53) + 1)),
        Field::Uri(parts) => {
            const ALPHABET: &[u8] = b"abcxyz019_.";
            let s: String = parts
                .iter()
                .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
                .collect();
            Value::String(format!("com.{s}"))
        }
        Field::Dict(d) => Value::Dict(dict(d, 2)),
        Field::List(l) => Value::List(l.iter().map(|x| value(x, 2)).collect()),
        Field::Any(v) => value(v, 1),
    }
}

fuzz_target!(|input: (u8, Vec<Field>)| {
    let (ty, fields) = input;
    let ty = MessageType::ALL[usize::from(ty) % MessageType::ALL.len()];
    let mut list = vec![Value::from_u64(ty.code())];
    list.extend(fields.iter().take(6).map(field));
    if let Ok(m) = Message::from_value(Value::List(list)) {
        fuzz_support::wamp::check_message(&m);
    }
});
