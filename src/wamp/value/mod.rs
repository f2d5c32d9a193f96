//! The dynamic WAMP payload value.
//!
//! WAMP payloads (positional `args`, keyword `kwargs`, `Details`/`Options`
//! dicts) are dynamically typed, as in Autobahn|Python. [`Value`] holds them in a
//! crate-owned form that every serializer (JSON, MessagePack, CBOR) can encode,
//! binary data included.
//!
//! Design choices:
//! - [`Dict`] is a `BTreeMap<String, Value>`: WAMP dicts have string keys and
//!   undefined order, so a sorted map gives deterministic output and equality
//!   that does not depend on the order a peer sent the keys in.
//! - Integers are `Integer(i64)` unless they exceed `i64::MAX`, then
//!   `UInteger(u64)`. All constructors and decoders normalise this way, and
//!   equality compares the numbers, not the variants.
//! - Typed data goes in and out through serde: [`to_value`] and [`from_value`]
//!   convert any `Serialize`/`Deserialize` type (tuples for `args`, structs for
//!   `kwargs`...).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub(crate) mod budget;
mod de;
mod ser;
pub(crate) mod wire;

pub use de::from_value;
pub use ser::to_value;

/// A WAMP dictionary (`dict` in the spec): string keys, dynamic values.
pub type Dict = BTreeMap<String, Value>;

/// Maximum nesting of lists/dicts (and CBOR tags) accepted when decoding a
/// value; deeper input is rejected instead of exhausting the stack.
///
/// A WAMP message itself uses two levels (the message list and the
/// `Arguments` list or `Details` dict), so application payloads may nest
/// about `MAX_DEPTH - 2` levels deep.
pub const MAX_DEPTH: usize = 100;

/// A dynamically typed WAMP value.
///
/// # Examples
///
/// ```
/// use autobahn::wamp::value::{Dict, Value};
/// use autobahn::{dict, list};
///
/// let v = Value::from(dict! {
///     "name" => "sensor-1",
///     "readings" => list![1.5, 2, -3],
///     "raw" => Value::bytes(vec![0xca, 0xfe]),
///     "unit" => Option::<&str>::None,
/// });
/// assert_eq!(v["name"].as_str(), Some("sensor-1"));
/// assert_eq!(v["readings"][1].as_i64(), Some(2));
/// assert_eq!(v["readings"][0].as_f64(), Some(1.5));
/// assert_eq!(v.get("raw").and_then(Value::as_bytes), Some(&[0xca, 0xfe][..]));
/// assert!(v["unit"].is_null());
/// assert_eq!(v["nothing here"], Value::Null); // missing keys index as Null
/// assert_eq!(Value::from(u64::MAX).as_u64(), Some(u64::MAX));
///
/// let d: Dict = v.into_dict().expect("a dict");
/// assert_eq!(d.len(), 4);
/// ```
#[derive(Clone, Default)]
pub enum Value {
    /// `null` / `None` / `nil`.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer in the `i64` range.
    Integer(i64),
    /// An integer above `i64::MAX` (only such values; smaller ones are
    /// [`Value::Integer`]).
    UInteger(u64),
    /// A floating point number.
    Float(f64),
    /// A Unicode string.
    String(String),
    /// Binary data (MessagePack bin, CBOR byte string, JSON `"\u0000" + base64`).
    Bytes(Vec<u8>),
    /// A list (array).
    List(Vec<Value>),
    /// A dictionary (map) with string keys.
    Dict(Dict),
}

impl Value {
    /// A [`Value::Bytes`] from anything convertible into `Vec<u8>`
    /// (`From<Vec<u8>>` builds a list of integers, like every other `Vec<T>`).
    pub fn bytes(data: impl Into<Vec<u8>>) -> Value {
        Value::Bytes(data.into())
    }

    /// An integer value from a `u64`, normalised as described on [`Value`].
    pub fn from_u64(n: u64) -> Value {
        match i64::try_from(n) {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::UInteger(n),
        }
    }

    /// Short name of the variant's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Integer(_) | Value::UInteger(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
        }
    }

    /// `true` for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean, if this is a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if this is an integer that fits `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            Value::UInteger(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// The integer, if this is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Integer(i) => u64::try_from(*i).ok(),
            Value::UInteger(u) => Some(*u),
            _ => None,
        }
    }

    /// The number as `f64`, if this is a float or an integer (integers beyond
    /// 2^53 lose precision).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Integer(i) => Some(*i as f64),
            Value::UInteger(u) => Some(*u as f64),
            _ => None,
        }
    }

    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is a [`Value::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is a [`Value::List`].
    pub fn as_list(&self) -> Option<&Vec<Value>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The elements, mutably, if this is a [`Value::List`].
    pub fn as_list_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The map, if this is a [`Value::Dict`].
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The map, mutably, if this is a [`Value::Dict`].
    pub fn as_dict_mut(&mut self) -> Option<&mut Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The entry `key`, if this is a dict that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_dict().and_then(|d| d.get(key))
    }

    /// The entry `key`, mutably, if this is a dict that has it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_dict_mut().and_then(|d| d.get_mut(key))
    }

    /// The element at `index`, if this is a list that long.
    pub fn get_index(&self, index: usize) -> Option<&Value> {
        self.as_list().and_then(|l| l.get(index))
    }

    /// The string, by value, if this is a [`Value::String`].
    pub fn into_string(self) -> Option<String> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, by value, if this is a [`Value::Bytes`].
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, by value, if this is a [`Value::List`].
    pub fn into_list(self) -> Option<Vec<Value>> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The map, by value, if this is a [`Value::Dict`].
    pub fn into_dict(self) -> Option<Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) => true,
            (Bool(a), Bool(b)) => a == b,
            (Integer(_) | UInteger(_), Integer(_) | UInteger(_)) => {
                // Compare numerically so that a hand-built non-normalised
                // UInteger still equals the Integer a decoder produces.
                match (self.as_i64(), other.as_i64()) {
                    (Some(a), Some(b)) => a == b,
                    (None, None) => self.as_u64() == other.as_u64(),
                    _ => false,
                }
            }
            (Float(a), Float(b)) => a == b,
            (String(a), String(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Dict(a), Dict(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::UInteger(u) => write!(f, "{u}u"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => {
                f.write_str("b\"")?;
                for byte in b {
                    write!(f, "\\x{byte:02x}")?;
                }
                f.write_str("\"")
            }
            Value::List(l) => f.debug_list().entries(l).finish(),
            Value::Dict(d) => f.debug_map().entries(d).finish(),
        }
    }
}

static NULL: Value = Value::Null;

impl std::ops::Index<&str> for Value {
    type Output = Value;
    /// The entry `key` of a dict, or `Null` if absent or not a dict.
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl std::ops::Index<usize> for Value {
    type Output = Value;
    /// The element `index` of a list, or `Null` if absent or not a list.
    fn index(&self, index: usize) -> &Value {
        self.get_index(index).unwrap_or(&NULL)
    }
}

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Value {
                Value::Integer(i64::from(n))
            }
        }
    )*};
}
from_signed!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::from_u64(n)
    }
}

impl From<usize> for Value {
    fn from(n: usize) -> Value {
        // usize is at most 64 bits on every supported target.
        Value::from_u64(n as u64)
    }
}

impl From<isize> for Value {
    fn from(n: isize) -> Value {
        Value::Integer(n as i64)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Float(x)
    }
}

impl From<f32> for Value {
    fn from(x: f32) -> Value {
        Value::Float(f64::from(x))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<()> for Value {
    fn from(_: ()) -> Value {
        Value::Null
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::String(s.clone())
    }
}

impl From<Cow<'_, str>> for Value {
    fn from(s: Cow<'_, str>) -> Value {
        Value::String(s.into_owned())
    }
}

impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Value {
        Value::Bytes(b.to_vec())
    }
}

impl From<bytes::Bytes> for Value {
    fn from(b: bytes::Bytes) -> Value {
        Value::Bytes(b.to_vec())
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<K: Into<String>, T: Into<Value>> From<BTreeMap<K, T>> for Value {
    fn from(m: BTreeMap<K, T>) -> Value {
        Value::Dict(m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<K: Into<String>, T: Into<Value>, S> From<HashMap<K, T, S>> for Value {
    fn from(m: HashMap<K, T, S>) -> Value {
        Value::Dict(m.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<T: Into<Value>> FromIterator<T> for Value {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Value {
        Value::List(iter.into_iter().map(Into::into).collect())
    }
}

/// Build a [`Dict`]: `dict! { "a" => 1, "b" => "x" }`. Keys convert with
/// `String::from`, values with `Value::from`.
///
/// # Examples
///
/// ```
/// use autobahn::dict;
/// use autobahn::wamp::value::Value;
///
/// let kwargs = dict! { "verbose" => true, "limit" => 10 };
/// assert_eq!(kwargs["limit"], Value::from(10));
/// assert!(dict! {}.is_empty());
/// ```
#[macro_export]
macro_rules! dict {
    () => { $crate::wamp::value::Dict::new() };
    ($($key:expr => $val:expr),+ $(,)?) => {{
        let mut d = $crate::wamp::value::Dict::new();
        $( d.insert(::std::string::String::from($key), $crate::wamp::value::Value::from($val)); )+
        d
    }};
}

/// Build a `Vec<Value>` (e.g. WAMP `args`): `list![1, "a", true]`. Elements
/// convert with `Value::from`.
///
/// # Examples
///
/// ```
/// use autobahn::list;
/// use autobahn::wamp::value::Value;
///
/// let args = list![1, "a", true, 2.5];
/// assert_eq!(args[1], Value::from("a"));
/// assert_eq!(list![].len(), 0);
/// ```
#[macro_export]
macro_rules! list {
    () => { ::std::vec::Vec::<$crate::wamp::value::Value>::new() };
    ($($val:expr),+ $(,)?) => {
        ::std::vec![$( $crate::wamp::value::Value::from($val) ),+]
    };
}

#[cfg(test)]
mod tests;
