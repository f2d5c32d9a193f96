//! Byte-exact encodings (checked against what Python's `bjdata` 0.6.6 and
//! py-ubjson 0.16.1 write for the same values), and the decoder's edges.

use super::*;
use crate::wamp::serializer::reader::DecodeError;
use crate::wamp::value::{Dict, Value};
use crate::{dict, list};

const BJ: UbjsonDialect = UbjsonDialect::BJData;
const UB: UbjsonDialect = UbjsonDialect::Draft12;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn enc(v: &Value, dialect: UbjsonDialect) -> Vec<u8> {
    let mut out = Vec::new();
    v.serialize(&mut encode::Encoder::new(&mut out, dialect))
        .unwrap();
    out
}

fn dec(bytes: &[u8], dialect: UbjsonDialect) -> Result<Value, DecodeError> {
    decode_value_exact(bytes, &DecodeBudget::new(usize::MAX), dialect)
}

/// Value, `bjdata.dumpb` hex, `ubjson.dumpb` hex (Python, default options).
fn python_cases() -> Vec<(Value, &'static str, &'static str)> {
    vec![
        (Value::Null, "5a", "5a"),
        (true.into(), "54", "54"),
        (false.into(), "46", "46"),
        (0.into(), "5500", "5500"),
        ((-1).into(), "69ff", "69ff"),
        (255.into(), "55ff", "55ff"),
        (256.into(), "750001", "490100"),
        ((-129).into(), "497fff", "49ff7f"),
        (65535.into(), "75ffff", "6c0000ffff"),
        (65536.into(), "6d00000100", "6c00010000"),
        (i32::MAX.into(), "6dffffff7f", "6c7fffffff"),
        (2147483648i64.into(), "6d00000080", "4c0000000080000000"),
        (
            4294967296i64.into(),
            "4d0000000001000000",
            "4c0000000100000000",
        ),
        (i64::MAX.into(), "4dffffffffffffff7f", "4c7fffffffffffffff"),
        (i64::MIN.into(), "4c0000000000000080", "4c8000000000000000"),
        (
            (1u64 << 63).into(),
            "4d0000000000000080",
            "48 5513 39323233333732303336383534373735383038",
        ),
        (
            u64::MAX.into(),
            "4dffffffffffffffff",
            "48 5514 3138343436373434303733373039353531363135",
        ),
        (1.5.into(), "44000000000000f83f", "443ff8000000000000"),
        (1e300.into(), "449c7500883ce4377e", "447e37e43c8800759c"),
        ("".into(), "535500", "535500"),
        ("é".into(), "535502c3a9", "535502c3a9"),
        ("水𐅑".into(), "535507e6b0b4f0908591", "535507e6b0b4f0908591"),
        (Value::bytes(vec![]), "5b2442235500", "5b2455235500"),
        (
            Value::bytes(vec![1, 2]),
            "5b24422355020102",
            "5b24552355020102",
        ),
        (Value::List(vec![]), "5b5d", "5b5d"),
        (Value::List(list![1, 2]), "5b550155025d", "5b550155025d"),
        (Value::Dict(Dict::new()), "7b7d", "7b7d"),
        (
            Value::Dict(dict! {"a" => 1}),
            "7b55016155017d",
            "7b55016155017d",
        ),
        (
            Value::Dict(dict! {"é" => list![1, "xy", Value::bytes(vec![0])]}),
            "7b5502c3a9 5b5501 5355027879 5b2442235501005d 7d",
            "7b5502c3a9 5b5501 5355027879 5b2455235501005d 7d",
        ),
    ]
}

#[test]
fn encodes_as_the_python_peers_do() {
    for (value, bjdata, ubjson) in python_cases() {
        assert_eq!(enc(&value, BJ), hex(bjdata), "bjdata {value:?}");
        assert_eq!(enc(&value, UB), hex(ubjson), "py-ubjson {value:?}");
        assert_eq!(dec(&hex(bjdata), BJ), Ok(value.clone()), "bjdata {value:?}");
        assert_eq!(dec(&hex(ubjson), UB), Ok(value.clone()), "ubjson {value:?}");
    }
}

#[test]
fn non_finite_floats_are_kept() {
    for dialect in [BJ, UB] {
        for f in [f64::INFINITY, f64::NEG_INFINITY, -0.0] {
            let back = dec(&enc(&f.into(), dialect), dialect).unwrap();
            assert_eq!(back.as_f64().map(f64::to_bits), Some(f.to_bits()));
        }
        let nan = dec(&enc(&f64::NAN.into(), dialect), dialect).unwrap();
        assert!(nan.as_f64().unwrap().is_nan());
    }
}

/// What the Python decoders accept that our encoder never writes.
#[test]
fn decodes_the_rest_of_the_format() {
    let both: Vec<(&str, Value)> = vec![
        ("4361", "a".into()),
        ("430a", "\n".into()),
        ("4201", 1.into()),
        ("5b4e55014e5d", Value::List(list![1])),
        ("7b4e55016155017d", Value::Dict(dict! {"a" => 1})),
        ("7b2355015501615501", Value::Dict(dict! {"a" => 1})),
        ("7b245523550155016101", Value::Dict(dict! {"a" => 1})),
        ("5b23550255015502", Value::List(list![1, 2])),
        ("5b2355024e55015502", Value::List(list![1, 2])),
        ("5b2455235502ff01", Value::bytes(vec![0xff, 1])),
        ("5b2442235502ff01", Value::bytes(vec![0xff, 1])),
        ("5b245a235503", Value::List(list![(), (), ()])),
        ("5b2454235502", Value::List(list![true, true])),
        (
            "5b245b2355025d5d",
            Value::List(list![Value::List(vec![]), Value::List(vec![])]),
        ),
        ("5b2453235502550161550162", Value::List(list!["a", "b"])),
        ("48550431323334", 1234.into()),
        ("4855022d30", 0.into()),
        ("485503312e35", 1.5.into()),
    ];
    for (input, expected) in both {
        for dialect in [BJ, UB] {
            assert_eq!(dec(&hex(input), dialect), Ok(expected.clone()), "{input}");
        }
    }
    for dialect in [BJ, UB] {
        assert_eq!(dec(b"H\x55\x05-2e+3", dialect), Ok((-2000.0).into()));
        assert_eq!(
            dec(b"H\x55\x1418446744073709551615", dialect),
            Ok(u64::MAX.into())
        );
        assert_eq!(
            dec(b"H\x55\x14-9223372036854775808", dialect),
            Ok(i64::MIN.into())
        );
    }
    assert_eq!(dec(&hex("68003c"), BJ), Ok(1.0.into()));
    assert_eq!(dec(&hex("683c00"), UB), Ok(1.0.into()));
    assert_eq!(dec(&hex("640000c03f"), BJ), Ok(1.5.into()));
    assert_eq!(dec(&hex("643fc00000"), UB), Ok(1.5.into()));
}

#[test]
fn rejects_what_is_not_ubjson() {
    for bad in [
        &b""[..],
        b"N",
        b"NZ",
        b"ZZ",
        b"X",
        b"]",
        b"}",
        b"[",
        b"[Z",
        b"{",
        b"{U\x01aZ",
        b"{SU\x01aZ}",
        b"{ZZ}",
        b"C\x80",
        b"C",
        b"S",
        b"SU",
        b"SU\x02a",
        b"SU\x01\xff",
        b"Si\xff",
        b"SZ",
        b"S\x55\x01\xc3",
        b"[$U]",
        b"[$N#U\x01",
        b"[$#U\x01",
        b"[#[U\x01]U\x01",
        b"[$U#[U\x02]\x01\x02",
        b"[$U#U\x03\x01",
        b"[#U\x02U\x01]",
        b"H\x55\x0218446744073709551616",
        b"H\x55\x00",
        b"H\x55\x01-",
        b"H\x55\x0201",
        b"H\x55\x021.",
        b"H\x55\x02.5",
        b"H\x55\x021e",
        b"H\x55\x03nan",
        b"H\x55\x03inf",
        b"H\x55\x02+1",
        b"H\x55\x15184467440737095516150",
        b"L\x00",
    ] {
        for dialect in [BJ, UB] {
            assert!(dec(bad, dialect).is_err(), "{bad:?}");
        }
    }
    // An H integer past u64 is refused rather than rounded.
    assert_eq!(
        dec(b"H\x55\x1418446744073709551616", BJ),
        Err("integer out of the 64-bit range")
    );
}

#[test]
fn payload_less_typed_containers_are_bounded() {
    // Ten bytes claiming 2^60 nulls: refused without looping or allocating.
    let lie = hex("5b245a234d000000000000001000");
    assert!(dec(&lie, BJ).is_err());
    // As many as the payload has bytes are fine.
    assert_eq!(
        dec(&hex("5b245a235506"), BJ),
        Ok(Value::List(vec![Value::Null; 6]))
    );
    assert!(dec(&hex("5b245a235507"), BJ).is_err());
}

#[test]
fn dict_keys_must_be_strings() {
    let mut out = Vec::new();
    let mut map = std::collections::BTreeMap::new();
    map.insert(1, 2);
    let e = map
        .serialize(&mut encode::Encoder::new(&mut out, BJ))
        .unwrap_err();
    assert_eq!(e.to_string(), "dict keys must be strings");
}

#[test]
fn serde_types_beyond_values() {
    #[derive(serde::Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(u8, u8),
        Struct { a: u8 },
    }
    let cases: Vec<(E, Value)> = vec![
        (E::Unit, "Unit".into()),
        (E::New(1), Value::Dict(dict! {"New" => 1})),
        (E::Tuple(1, 2), Value::Dict(dict! {"Tuple" => list![1, 2]})),
        (
            E::Struct { a: 3 },
            Value::Dict(dict! {"Struct" => dict! {"a" => 3}}),
        ),
    ];
    for (e, expected) in cases {
        let mut out = Vec::new();
        e.serialize(&mut encode::Encoder::new(&mut out, UB))
            .unwrap();
        assert_eq!(dec(&out, UB), Ok(expected));
    }
    let mut out = Vec::new();
    ('é', u128::from(u64::MAX), -5i128, 'x')
        .serialize(&mut encode::Encoder::new(&mut out, BJ))
        .unwrap();
    assert_eq!(
        dec(&out, BJ),
        Ok(Value::List(list!["é", u64::MAX, -5, "x"]))
    );
}

#[test]
fn dialects_and_ids() {
    let s = UbjsonSerializer::new();
    assert_eq!(
        (s.serializer_id(), s.subprotocol(), s.rawsocket_id()),
        ("ubjson", "wamp.2.ubjson", 4)
    );
    assert_eq!(s.dialect(), BJ);
    let b = UbjsonSerializer::batched();
    assert_eq!(
        (b.subprotocol(), b.is_batched()),
        ("wamp.2.ubjson.batched", true)
    );
    assert_eq!(UbjsonSerializer::with_dialect(UB, true).dialect(), UB);
}

proptest::proptest! {
    /// Every value survives both dialects.
    #[test]
    fn values_round_trip_in_both_dialects(v in crate::wamp::serializer::strategies::arb_value()) {
        for dialect in [BJ, UB] {
            let bytes = enc(&v, dialect);
            let back = dec(&bytes, dialect);
            proptest::prop_assert_eq!(back, Ok(v.clone()));
        }
    }
}
