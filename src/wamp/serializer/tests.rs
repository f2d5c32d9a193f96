use proptest::prelude::*;

use super::strategies::{arb_key, arb_message, arb_value, normalize};
use super::*;
use crate::wamp::error::{ProtocolError, SerializationError};
use crate::wamp::message::*;
use crate::wamp::value::{Dict, Value, MAX_DEPTH};
use crate::{dict, list};

fn all() -> Vec<Box<dyn Serializer>> {
    [
        "wamp.2.json",
        "wamp.2.json.batched",
        "wamp.2.msgpack",
        "wamp.2.msgpack.batched",
        "wamp.2.cbor",
        "wamp.2.cbor.batched",
        "wamp.2.ubjson",
        "wamp.2.ubjson.batched",
    ]
    .into_iter()
    .map(|p| for_subprotocol(p).unwrap())
    .chain([false, true].map(|batched| {
        Box::new(UbjsonSerializer::with_dialect(
            UbjsonDialect::Draft12,
            batched,
        )) as Box<dyn Serializer>
    }))
    .collect()
}

fn round_trip(s: &dyn Serializer, m: &Message) -> Result<Vec<Message>, SerializationError> {
    let bytes = s.serialize(m)?;
    s.unserialize(&bytes, s.is_binary())
}

/// A CALL in the form it has after the wire (see [`normalize`]).
fn call_with(args: Vec<Value>, kwargs: Dict) -> Message {
    normalize(Message::Call(Call {
        request: 1,
        options: Dict::new(),
        procedure: "a.b".into(),
        args: Some(args),
        kwargs: Some(kwargs),
    }))
}

/// Decode one unbatched payload.
fn decode(s: &dyn Serializer, payload: &[u8]) -> Result<Vec<Message>, SerializationError> {
    s.unserialize(payload, s.is_binary())
}

#[test]
fn ids_and_lookup() {
    let json = for_subprotocol("wamp.2.json").unwrap();
    assert_eq!(
        (json.serializer_id(), json.rawsocket_id(), json.is_binary()),
        ("json", 1, false)
    );
    let mp = for_rawsocket_id(2).unwrap();
    assert_eq!(
        (mp.serializer_id(), mp.subprotocol(), mp.is_binary()),
        ("msgpack", "wamp.2.msgpack", true)
    );
    let cbor = for_rawsocket_id(3).unwrap();
    assert_eq!(
        (cbor.serializer_id(), cbor.subprotocol()),
        ("cbor", "wamp.2.cbor")
    );
    let ubjson = for_rawsocket_id(4).unwrap();
    assert_eq!(
        (
            ubjson.serializer_id(),
            ubjson.subprotocol(),
            ubjson.is_binary()
        ),
        ("ubjson", "wamp.2.ubjson", true)
    );
    assert!(for_rawsocket_id(0).is_none());
    assert!(for_rawsocket_id(5).is_none());
    assert!(for_subprotocol("wamp.2.flatbuffers").is_none());
    for s in all() {
        assert_eq!(
            for_subprotocol(s.subprotocol()).unwrap().is_batched(),
            s.is_batched()
        );
        assert_eq!(s.subprotocol().ends_with(".batched"), s.is_batched());
    }
}

#[test]
fn json_binary_convention_spec_example() {
    let data = [
        0x10, 0xe3, 0xff, 0x90, 0x53, 0x07, 0x5c, 0x52, 0x6f, 0x5f, 0xc0, 0x6d, 0x4f, 0xe3, 0x7c,
        0xdb,
    ];
    let m = call_with(list![Value::bytes(data)], Dict::new());
    let text = JsonSerializer::new().serialize(&m).unwrap();
    assert_eq!(
        std::str::from_utf8(&text).unwrap(),
        r#"[48,1,{},"a.b",["\u0000EOP/kFMHXFJvX8BtT+N82w=="]]"#
    );
    assert_eq!(decode(&JsonSerializer::new(), &text).unwrap(), [m]);
    // Unpadded base64 is accepted too; bytes in dicts work the same way.
    let msgs = decode(
        &JsonSerializer::new(),
        br#"[48,1,{},"a.b",[],{"k":"\u0000AAE"}]"#,
    )
    .unwrap();
    assert_eq!(
        msgs,
        [call_with(vec![], dict! {"k" => Value::bytes(vec![0, 1])})]
    );
}

#[test]
fn json_errors() {
    let s = JsonSerializer::new();
    // Invalid base64 after the NUL marker.
    let e = decode(&s, br#"[48,1,{},"a.b",["\u0000!!"]]"#).unwrap_err();
    assert!(
        matches!(e, SerializationError::Decode { format: "json", .. }),
        "{e}"
    );
    // Strings that start with NUL cannot be sent.
    let m = call_with(list!["\0not binary"], Dict::new());
    assert!(matches!(
        s.serialize(&m),
        Err(SerializationError::Encode { .. })
    ));
    // Trailing garbage, syntax errors, invalid UTF-8, binary frames.
    assert!(decode(&s, br#"[6,{},"a.b"] x"#).is_err());
    assert!(decode(&s, br#"[6,{},"a.b""#).is_err());
    assert!(decode(&s, b"[6,{},\"a.\xff\"]").is_err());
    assert!(decode(&s, b"").is_err());
    assert!(matches!(
        s.unserialize(br#"[6,{},"a.b"]"#, true),
        Err(SerializationError::WrongFrameType {
            is_binary: true,
            ..
        })
    ));
    // A structurally invalid message is a protocol error.
    assert!(matches!(
        decode(&s, b"[7,1]"),
        Err(SerializationError::Protocol(
            ProtocolError::UnknownMessageType(7)
        ))
    ));
}

#[test]
fn json_numbers_keep_precision() {
    let m = call_with(
        list![u64::MAX, i64::MIN, i64::MAX, 0.1, 1e300, -0.0, 5e-324, 3.0],
        Dict::new(),
    );
    let bytes = JsonSerializer::new().serialize(&m).unwrap();
    assert_eq!(decode(&JsonSerializer::new(), &bytes).unwrap(), [m]);
    // Non-finite floats have no JSON form: sent as null.
    let m = call_with(list![f64::NAN, f64::INFINITY], Dict::new());
    let bytes = JsonSerializer::new().serialize(&m).unwrap();
    assert_eq!(
        std::str::from_utf8(&bytes).unwrap(),
        r#"[48,1,{},"a.b",[null,null]]"#
    );
}

#[test]
fn msgpack_uses_str_and_bin() {
    let m = call_with(list![Value::bytes([1u8]), "x"], Dict::new());
    let bytes = MsgPackSerializer::new().serialize(&m).unwrap();
    assert_eq!(
        bytes,
        [0x95, 0x30, 0x01, 0x80, 0xa3, b'a', b'.', b'b', 0x92, 0xc4, 0x01, 0x01, 0xa1, b'x']
    );
    assert_eq!(decode(&MsgPackSerializer::new(), &bytes).unwrap(), [m]);
}

#[test]
fn cbor_uses_text_and_byte_strings() {
    let m = call_with(list![Value::bytes([1u8]), "x"], Dict::new());
    let bytes = CborSerializer::new().serialize(&m).unwrap();
    assert_eq!(
        bytes,
        [0x85, 0x18, 0x30, 0x01, 0xa0, 0x63, b'a', b'.', b'b', 0x82, 0x41, 0x01, 0x61, b'x']
    );
    assert_eq!(decode(&CborSerializer::new(), &bytes).unwrap(), [m]);
}

#[test]
fn cbor_decoding_details() {
    let s = CborSerializer::new();
    // [48, 1, {}, "a.b", [1(1500000000), 2(h'0100'), half 1.5, undefined, indefinite "ab"]]
    let payload = [
        0x85, 0x18, 0x30, 0x01, 0xa0, 0x63, b'a', b'.', b'b', 0x85, 0xc1, 0x1a, 0x59, 0x68, 0x2f,
        0x00, 0xc2, 0x42, 0x01, 0x00, 0xf9, 0x3e, 0x00, 0xf7, 0x7f, 0x61, b'a', 0x61, b'b', 0xff,
    ];
    let msgs = decode(&s, &payload).unwrap();
    assert_eq!(
        msgs,
        [call_with(
            list![1_500_000_000, 256, 1.5, Value::Null, "ab"],
            Dict::new()
        )]
    );
    // Integer map keys are rejected.
    let bad_key = [
        0x85, 0x18, 0x30, 0x01, 0xa1, 0x01, 0x01, 0x63, b'a', b'.', b'b',
    ];
    assert!(decode(&s, &bad_key).is_err());
    // Trailing bytes.
    let mut trailing = s.serialize(&call_with(vec![], Dict::new())).unwrap();
    trailing.push(0x00);
    assert!(decode(&s, &trailing).is_err());
}

#[test]
fn msgpack_rejects_ext_non_string_keys_and_trailing_bytes() {
    let s = MsgPackSerializer::new();
    // [48, 1, {}, "a.b", [fixext1(type 1, 0x00)]]
    let ext = [
        0x95, 0x30, 0x01, 0x80, 0xa3, b'a', b'.', b'b', 0x91, 0xd4, 0x01, 0x00,
    ];
    assert!(decode(&s, &ext).is_err());
    let int_key = [
        0x95, 0x30, 0x01, 0x81, 0x01, 0x01, 0xa3, b'a', b'.', b'b', 0x90,
    ];
    assert!(decode(&s, &int_key).is_err());
    let mut trailing = s.serialize(&call_with(vec![], Dict::new())).unwrap();
    trailing.push(0xc0);
    assert!(decode(&s, &trailing).is_err());
    assert!(matches!(
        s.unserialize(&[0x90], false),
        Err(SerializationError::WrongFrameType {
            is_binary: false,
            ..
        })
    ));
}

#[test]
fn nesting_depth_is_capped() {
    let n = 100_000;
    // msgpack: fixarray(1) repeated; CBOR: array(1) and tag(1) chains.
    let bombs: [(Box<dyn Serializer>, Vec<u8>); 6] = [
        (Box::new(MsgPackSerializer::new()), vec![0x91; n]),
        (Box::new(CborSerializer::new()), vec![0x81; n]),
        (
            Box::new(CborSerializer::new()),
            [vec![0xc1; n], vec![0x00]].concat(),
        ),
        (
            Box::new(JsonSerializer::new()),
            format!("[48,1,{{}},\"a.b\",{}", "[".repeat(n)).into_bytes(),
        ),
        (Box::new(UbjsonSerializer::new()), vec![b'['; n]),
        // Typed arrays of arrays: `[$[#U\x01` repeated.
        (Box::new(UbjsonSerializer::new()), b"[$[#U\x01".repeat(n)),
    ];
    for (s, payload) in bombs {
        let e = decode(s.as_ref(), &payload).unwrap_err();
        assert!(matches!(e, SerializationError::Decode { .. }), "{e}");
    }
    // Just inside the limit works on every serializer.
    let mut deep = Value::Integer(1);
    for _ in 0..MAX_DEPTH - 2 {
        deep = Value::List(vec![deep]);
    }
    let m = call_with(vec![deep.clone()], Dict::new());
    for s in all() {
        assert_eq!(
            round_trip(s.as_ref(), &m).unwrap(),
            std::slice::from_ref(&m),
            "{s:?}"
        );
    }
    // Bytes are a scalar on every serializer (UBJSON writes them as a typed
    // array, which must not cost a level): found by fuzzing wamp_cbor.
    let mut deep_bytes = Value::Bytes(vec![0, 1, 0xff]);
    for _ in 0..MAX_DEPTH - 2 {
        deep_bytes = Value::List(vec![deep_bytes]);
    }
    let m = call_with(vec![deep_bytes], Dict::new());
    for s in all() {
        assert_eq!(
            round_trip(s.as_ref(), &m).unwrap(),
            std::slice::from_ref(&m),
            "{s:?}"
        );
    }
    // One more level is rejected.
    let m = call_with(vec![Value::List(vec![deep])], Dict::new());
    for s in all() {
        assert!(round_trip(s.as_ref(), &m).is_err(), "{s:?}");
    }
}

#[test]
fn lying_length_headers_do_not_allocate() {
    let mp = MsgPackSerializer::new();
    let cbor = CborSerializer::new();
    for payload in [
        &[0xdd, 0xff, 0xff, 0xff, 0xff][..], // array32
        &[0xdf, 0xff, 0xff, 0xff, 0xff],     // map32
        &[0xc6, 0xff, 0xff, 0xff, 0xff],     // bin32
        &[0xdb, 0xff, 0xff, 0xff, 0xff],     // str32
        &[
            0x95, 0x30, 0x01, 0x80, 0xa3, b'a', b'.', b'b', 0xdd, 0xff, 0xff, 0xff, 0xff,
        ],
    ] {
        assert!(decode(&mp, payload).is_err());
    }
    let huge = [0xff; 8];
    for head in [0x9b, 0xbb, 0x5b, 0x7b] {
        let payload = [&[head][..], &huge].concat();
        assert!(decode(&cbor, &payload).is_err());
    }
    // Indefinite-length array that never ends.
    assert!(decode(&cbor, &[0x9f, 0x01, 0x01]).is_err());
    let ubjson = UbjsonSerializer::new();
    for head in [&b"[#"[..], b"{#", b"[$U#", b"[$Z#", b"[$[#", b"S", b"H"] {
        let payload = [head, b"M", &huge].concat();
        assert!(decode(&ubjson, &payload).is_err());
    }
}

#[test]
fn decode_budget_covers_every_allocation_kind() {
    // EVENT [36, 1, 2, {}, [x]] with x in CBOR: definite and indefinite-length
    // strings and byte strings, a long list, a dict with many entries.
    let event = |x: &[u8]| [&[0x85, 0x18, 36, 1, 2, 0xa0, 0x81][..], x].concat();
    let chunked = |major: u8, chunks: usize| {
        let mut v = vec![major | 31];
        for _ in 0..chunks {
            v.extend_from_slice(&[major | 24, 100]);
            v.extend_from_slice(&[b'a'; 100]);
        }
        v.push(0xff);
        v
    };
    let definite = |major: u8, n: u16| {
        [
            &[major | 25][..],
            &n.to_be_bytes(),
            &vec![b'a'; usize::from(n)],
        ]
        .concat()
    };
    let mut list = vec![0x99, 0x27, 0x10];
    list.extend(std::iter::repeat_n(0xf6, 10_000));
    let mut dict = vec![0xb9, 0x03, 0xe8];
    for i in 0..1000u16 {
        dict.extend_from_slice(&[0x62, b'a' + (i / 26 % 26) as u8, b'a' + (i % 26) as u8]);
        dict.push(0xf6);
    }
    let cbor = CborSerializer::new();
    for (what, x) in [
        ("indefinite text", chunked(0x60, 100)),
        ("indefinite bytes", chunked(0x40, 100)),
        ("text", definite(0x60, 10_000)),
        ("bytes", definite(0x40, 10_000)),
        ("list", list),
        ("dict", dict),
    ] {
        let payload = event(&x);
        assert!(cbor.unserialize(&payload, true).is_ok(), "{what}");
        let err = cbor.unserialize_limited(&payload, true, 8_000).unwrap_err();
        assert!(
            matches!(
                err,
                SerializationError::TooLarge {
                    format: "cbor",
                    limit: 8_000
                }
            ),
            "{what}: {err:?}"
        );
        assert!(err.to_string().contains("max_decoded_size"), "{err}");
    }
}

#[test]
fn truncated_payloads_are_errors() {
    let m = Message::Error(ErrorMessage {
        request_type: MessageType::Call,
        request: 1 << 40,
        details: dict! {"x" => list![1.5, u64::MAX]},
        error: "com.myapp.error".into(),
        args: Some(list!["a", Value::bytes(vec![7; 40])]),
        kwargs: Some(dict! {"k" => dict! {"n" => Value::Null}}),
    });
    for s in all() {
        let bytes = s.serialize(&m).unwrap();
        assert_eq!(
            decode(s.as_ref(), &bytes).unwrap(),
            std::slice::from_ref(&m)
        );
        for cut in 0..bytes.len() {
            let r = decode(s.as_ref(), &bytes[..cut]);
            // Batched JSON tolerates a missing final separator, so only the
            // cut of exactly that byte decodes.
            if s.subprotocol() == "wamp.2.json.batched" && cut == bytes.len() - 1 {
                assert_eq!(r.unwrap(), std::slice::from_ref(&m));
            } else if cut == 0 && s.is_batched() {
                assert_eq!(r.unwrap(), []);
            } else {
                assert!(r.is_err(), "{s:?} cut at {cut}");
            }
        }
    }
}

#[test]
fn batched_modes() {
    let msgs = [
        Message::Hello(Hello {
            realm: "realm1".into(),
            details: dict! {"roles" => dict!{"caller" => dict!{}}},
        }),
        call_with(list![1, 2], dict! {"a" => true}),
        Message::Goodbye(Goodbye {
            details: Dict::new(),
            reason: "wamp.close.normal".into(),
        }),
    ];
    for s in all().into_iter().filter(|s| s.is_batched()) {
        let mut buf = Vec::new();
        for m in &msgs {
            s.serialize_into(m, &mut buf).unwrap();
        }
        assert_eq!(decode(s.as_ref(), &buf).unwrap(), msgs, "{s:?}");
    }
    // JSON: each message terminated by 0x1E.
    let one = JsonSerializer::batched().serialize(&msgs[2]).unwrap();
    assert_eq!(one, b"[6,{},\"wamp.close.normal\"]\x1e");
    // msgpack: 4-byte big-endian length prefix.
    let one = MsgPackSerializer::batched().serialize(&msgs[2]).unwrap();
    let plain = MsgPackSerializer::new().serialize(&msgs[2]).unwrap();
    assert_eq!(one[..4], (plain.len() as u32).to_be_bytes());
    assert_eq!(one[4..], plain[..]);
    // Broken framing.
    let e = decode(&MsgPackSerializer::batched(), &[0, 0, 0]).unwrap_err();
    assert!(matches!(e, SerializationError::Batch { .. }));
    let e = decode(&CborSerializer::batched(), &[0, 0, 1, 0, 0x80]).unwrap_err();
    assert!(matches!(e, SerializationError::Batch { .. }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn prop_message_value_round_trip(m in arb_message()) {
        prop_assert_eq!(Message::from_value(m.to_value()), Ok(normalize(m)));
    }

    #[test]
    fn prop_message_serializer_round_trip(m in arb_message()) {
        let expected = normalize(m.clone());
        for s in all() {
            prop_assert_eq!(round_trip(s.as_ref(), &m), Ok(vec![expected.clone()]), "{:?}", s);
        }
    }

    #[test]
    fn prop_value_round_trip(v in arb_value(), key in arb_key()) {
        let m = call_with(vec![v.clone()], dict! {key => v});
        for s in all() {
            prop_assert_eq!(round_trip(s.as_ref(), &m), Ok(vec![m.clone()]), "{:?}", s);
        }
    }

    #[test]
    fn prop_garbage_never_panics(payload in prop::collection::vec(any::<u8>(), 0..64)) {
        for s in all() {
            let _ = s.unserialize(&payload, s.is_binary());
        }
    }

    #[test]
    fn prop_mutated_messages_never_panic(
        m in arb_message(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        for s in all() {
            let mut bytes = s.serialize(&m).unwrap();
            for (i, b) in &flips {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            let _ = s.unserialize(&bytes, s.is_binary());
        }
    }
}
