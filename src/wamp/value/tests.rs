use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::*;

#[test]
fn integers_are_normalised() {
    assert!(matches!(Value::from(5u64), Value::Integer(5)));
    assert!(matches!(
        Value::from(i64::MAX as u64),
        Value::Integer(i64::MAX)
    ));
    assert!(matches!(Value::from(u64::MAX), Value::UInteger(u64::MAX)));
    assert!(matches!(Value::from(7usize), Value::Integer(7)));
    // Equality is numeric, even for a hand-built non-normalised UInteger.
    assert_eq!(Value::UInteger(5), Value::Integer(5));
    assert_ne!(Value::UInteger(u64::MAX), Value::Integer(-1));
    assert_ne!(Value::Integer(1), Value::Float(1.0));
}

#[test]
fn accessors() {
    let v = Value::from(dict! {
        "s" => "str",
        "n" => -3,
        "u" => u64::MAX,
        "f" => 1.5,
        "b" => true,
        "bytes" => Value::bytes(vec![1u8, 2]),
        "l" => list![1, "x"],
    });
    assert_eq!(v["s"].as_str(), Some("str"));
    assert_eq!(v["n"].as_i64(), Some(-3));
    assert_eq!(v["n"].as_u64(), None);
    assert_eq!(v["u"].as_u64(), Some(u64::MAX));
    assert_eq!(v["u"].as_i64(), None);
    assert_eq!(v["f"].as_f64(), Some(1.5));
    assert_eq!(v["n"].as_f64(), Some(-3.0));
    assert_eq!(v["b"].as_bool(), Some(true));
    assert_eq!(v["bytes"].as_bytes(), Some(&[1u8, 2][..]));
    assert_eq!(v["l"][1].as_str(), Some("x"));
    assert!(v["missing"].is_null());
    assert!(v["l"][9].is_null());
    assert!(v.get("s").is_some());
    assert_eq!(v.as_dict().map(|d| d.len()), Some(7));
    assert_eq!(v["l"].type_name(), "list");
    assert_eq!(Value::from("x").into_string().as_deref(), Some("x"));
    assert_eq!(Value::from(1).into_string(), None);
}

#[test]
fn conversions_from_common_types() {
    assert_eq!(Value::from(()), Value::Null);
    assert_eq!(Value::from(None::<i32>), Value::Null);
    assert_eq!(Value::from(Some(3)), Value::Integer(3));
    assert_eq!(Value::from(vec![1, 2]), Value::List(list![1, 2]));
    assert_eq!(Value::from(&b"ab"[..]), Value::Bytes(b"ab".to_vec()));
    assert_eq!(
        Value::from(bytes::Bytes::from_static(b"ab")),
        Value::Bytes(b"ab".to_vec())
    );
    let hm: HashMap<&str, i32> = [("a", 1)].into_iter().collect();
    assert_eq!(Value::from(hm), Value::Dict(dict! {"a" => 1}));
    let bm: BTreeMap<String, bool> = [("t".to_string(), true)].into_iter().collect();
    assert_eq!(Value::from(bm), Value::Dict(dict! {"t" => true}));
    let collected: Value = (1..=3).collect();
    assert_eq!(collected, Value::List(list![1, 2, 3]));
    assert_eq!(dict! {}, Dict::new());
    assert!(list![].is_empty());
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Person {
    name: String,
    age: u32,
    tags: Vec<String>,
    nick: Option<String>,
    #[serde(with = "serde_bytes_like")]
    key: Vec<u8>,
    kind: Kind,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Kind {
    Plain,
    Tuple(i32, i32),
    Struct { x: f64 },
    Newtype(String),
}

/// serialize_bytes / byte_buf for a Vec<u8> field without an extra crate.
mod serde_bytes_like {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[test]
fn struct_round_trip_through_value() {
    for kind in [
        Kind::Plain,
        Kind::Tuple(1, -2),
        Kind::Struct { x: 0.5 },
        Kind::Newtype("n".into()),
    ] {
        let p = Person {
            name: "Ann".into(),
            age: 42,
            tags: vec!["a".into(), "b".into()],
            nick: None,
            key: vec![0, 255],
            kind,
        };
        let v = to_value(&p).unwrap();
        assert_eq!(v["name"], Value::from("Ann"));
        assert_eq!(v["age"], Value::Integer(42));
        assert_eq!(v["nick"], Value::Null);
        assert_eq!(v["key"], Value::Bytes(vec![0, 255]));
        let back: Person = from_value(v).unwrap();
        assert_eq!(back, p);
    }
    assert_eq!(to_value(&Kind::Plain).unwrap(), Value::from("Plain"));
    assert_eq!(
        to_value(&Kind::Tuple(1, 2)).unwrap(),
        Value::Dict(dict! {"Tuple" => list![1, 2]})
    );
}

#[test]
fn tuples_as_args() {
    let args = to_value(&(1u8, "two", 3.5f64, true)).unwrap();
    assert_eq!(args, Value::List(list![1, "two", 3.5, true]));
    let (a, b, c, d): (u8, String, f64, bool) = from_value(args).unwrap();
    assert_eq!((a, b.as_str(), c, d), (1, "two", 3.5, true));
}

#[test]
fn from_value_type_errors() {
    assert!(from_value::<u8>(Value::Integer(300)).is_err());
    assert!(from_value::<u32>(Value::Integer(-1)).is_err());
    assert!(from_value::<String>(Value::Integer(1)).is_err());
    // Too many elements for the tuple.
    assert!(from_value::<(i32,)>(Value::List(list![1, 2])).is_err());
    // Too few.
    assert!(from_value::<(i32, i32)>(Value::List(list![1])).is_err());
    assert!(from_value::<Kind>(Value::from("Nope")).is_err());
    assert!(from_value::<Kind>(Value::Integer(1)).is_err());
    assert_eq!(from_value::<u64>(Value::from(u64::MAX)).unwrap(), u64::MAX);
    assert_eq!(from_value::<Option<i32>>(Value::Null).unwrap(), None);
    assert_eq!(
        from_value::<Option<i32>>(Value::Integer(2)).unwrap(),
        Some(2)
    );
    assert_eq!(
        from_value::<Value>(Value::bytes(*b"x")).unwrap(),
        Value::bytes(*b"x")
    );
}

#[test]
fn map_keys_must_be_stringish() {
    let mut m = BTreeMap::new();
    m.insert(3, "three");
    assert_eq!(to_value(&m).unwrap(), Value::Dict(dict! {"3" => "three"}));
    let mut bad = BTreeMap::new();
    bad.insert(vec![1], 1);
    assert!(to_value(&bad).is_err());
    assert!(to_value(&u128::MAX).is_err());
    assert_eq!(
        to_value(&(u64::MAX as u128)).unwrap(),
        Value::UInteger(u64::MAX)
    );
    assert_eq!(to_value(&-5i128).unwrap(), Value::Integer(-5));
}

#[test]
fn value_serde_through_json_text() {
    let v = Value::from(dict! {"a" => list![1, u64::MAX, -1, 0.25, Value::Null]});
    let text = serde_json::to_string(&v).unwrap();
    assert_eq!(text, r#"{"a":[1,18446744073709551615,-1,0.25,null]}"#);
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, v);
}

#[test]
fn deep_nesting_is_rejected_by_plain_deserialize() {
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    let err = serde_json::from_str::<Value>(&deep).unwrap_err();
    assert!(err.to_string().contains("nesting"), "{err}");
    let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(serde_json::from_str::<Value>(&ok).is_ok());
}

#[test]
fn debug_format() {
    let v = Value::from(list![1, "a", Value::bytes(vec![0xab]), u64::MAX]);
    assert_eq!(
        format!("{v:?}"),
        r#"[1, "a", b"\xab", 18446744073709551615u]"#
    );
}
