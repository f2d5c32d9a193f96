//! Seeds of the permessage-deflate, RawSocket and WAMP targets.

use autobahn::rawsocket::{encode_frame, FrameKind};
use autobahn::wamp::message::{Call, Event, Hello, Message, ResultMessage, Welcome};
use autobahn::wamp::{Dict, Value};
use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
use autobahn::websocket::frame::{FrameHeader, OpCode};
use autobahn::websocket::mask::apply_mask;
use bytes::BytesMut;
use fuzz_support::wamp::serializer;

use super::Seeds;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn frame(fin: bool, rsv1: bool, op: OpCode, payload: &[u8], mask: bool) -> Vec<u8> {
    let h = FrameHeader {
        fin,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode: op,
        mask: mask.then_some(KEY),
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    h.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if mask {
        apply_mask(&mut out[start..], KEY);
    }
    out
}

/// `[max_msg, max_frame, flags, deflate, k, stream]` seeds: RFC 7692 §7.2.3 examples
/// and messages compressed by our own codec (as the peer's role).
pub fn deflate_stream_seeds(target: &str, mask: bool) {
    let s = Seeds::new(target);
    let cfg = |deflate: u8, stream: &[u8]| [&[0xff, 0, 0, deflate, 0][..], stream].concat();
    // §7.2.3.1: "Hello" compressed, one frame.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    s.put(
        "rfc7692-7.2.3.1-hello",
        &cfg(0xff, &frame(true, true, OpCode::Text, &hello, mask)),
    );
    // §7.2.3.1: the same compressed data in two fragments.
    let frag = [
        frame(false, true, OpCode::Text, &hello[..3], mask),
        frame(true, false, OpCode::Continuation, &hello[3..], mask),
    ]
    .concat();
    s.put("rfc7692-7.2.3.1-fragmented", &cfg(0xff, &frag));
    // §7.2.3.2: "Hello" twice with context takeover (the second refers to the first).
    let takeover = [
        frame(true, true, OpCode::Text, &hello, mask),
        frame(
            true,
            true,
            OpCode::Text,
            &[0xf2, 0x00, 0x11, 0x00, 0x00],
            mask,
        ),
    ]
    .concat();
    s.put("rfc7692-7.2.3.2-takeover", &cfg(0x00, &takeover));
    // §7.2.3.3: a stored (uncompressed) DEFLATE block.
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    s.put(
        "rfc7692-7.2.3.3-stored",
        &cfg(0x00, &frame(true, true, OpCode::Text, &stored, mask)),
    );
    // §7.2.3.4: a block with BFINAL set.
    let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    s.put(
        "rfc7692-7.2.3.4-bfinal",
        &cfg(0x00, &frame(true, true, OpCode::Text, &bfinal, mask)),
    );
    // Our peer codec: a 64 KiB bomb (1009 at the 64 KiB limit + 1), text with a
    // ping in between fragments, invalid UTF-8 after inflation, a close.
    let mut peer = PerMessageDeflate::new(mask, PerMessageDeflateParams::default());
    let mut z = Vec::new();
    peer.compress_message(&vec![b'a'; 70_000], &mut z).unwrap();
    s.put(
        "bomb-70k",
        &cfg(0x00, &frame(true, true, OpCode::Binary, &z, mask)),
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    peer.compress_chunk("κόσμε ".as_bytes(), false, &mut a)
        .unwrap();
    peer.compress_chunk("κόσμε".as_bytes(), true, &mut b)
        .unwrap();
    let interleaved = [
        frame(false, true, OpCode::Text, &a, mask),
        frame(true, false, OpCode::Ping, b"p", mask),
        frame(true, false, OpCode::Continuation, &b, mask),
        frame(true, false, OpCode::Close, &[0x03, 0xe8, b'o', b'k'], mask),
    ]
    .concat();
    s.put("fragmented-ping-close", &cfg(0x00, &interleaved));
    z.clear();
    peer.compress_message(b"\xce\xba\xed\xa0\x80", &mut z)
        .unwrap();
    s.put(
        "invalid-utf8-inflated",
        &cfg(0x00, &frame(true, true, OpCode::Text, &z, mask)),
    );
    s.put(
        "rsv1-on-control",
        &cfg(0x00, &frame(true, true, OpCode::Ping, b"x", mask)),
    );
}

/// `[a0..a4, n, header]` seeds of `ws_deflate_negotiation`.
pub fn deflate_negotiation_seeds() {
    let s = Seeds::new("ws_deflate_negotiation");
    let cases: [(&str, [u8; 6], &str); 8] = [
        ("plain", [0, 0, 0, 0, 0, 4], "permessage-deflate"),
        (
            "client-bits",
            [0x15, 0x09, 0x01, 0x09, 0x02, 16],
            "permessage-deflate; client_max_window_bits",
        ),
        (
            "all-params",
            [0x03, 0x0e, 0x09, 0x00, 0x00, 64],
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover; client_max_window_bits=9",
        ),
        (
            "quoted-8",
            [0x01, 0x00, 0x00, 0x00, 0x00, 32],
            "permessage-deflate; client_max_window_bits=\"8\"; server_max_window_bits=8",
        ),
        (
            "two-offers-two-lines",
            [0, 0x05, 0x01, 0, 0, 8],
            "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=12\npermessage-deflate",
        ),
        (
            "duplicate",
            [0; 6],
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        ),
        (
            "bad-value",
            [0; 6],
            "permessage-deflate; server_max_window_bits=08; client_no_context_takeover=1",
        ),
        ("unknown", [0; 6], "permessage-deflate; mem_level=4"),
    ];
    for (name, a, header) in cases {
        s.put(name, &[&a[..], header.as_bytes()].concat());
    }
}

/// Seeds of `rawsocket_handshake` and `rawsocket_stream`.
pub fn rawsocket_seeds() {
    let s = Seeds::new("rawsocket_handshake");
    s.put("json-16m", &[0x7f, 0xf1, 0, 0, 0x7f, 0xf1, 0, 0, 24, 1]);
    s.put("msgpack-512", &[0x7f, 0x02, 0, 0, 0x7f, 0x52, 0, 0, 9, 2]);
    s.put(
        "refused-serializer",
        &[0x7f, 0x03, 0, 0, 0x7f, 0x10, 0, 0, 30, 0x11],
    );
    s.put("mismatch", &[0x7f, 0x01, 0, 0, 0x7f, 0x02, 0, 0, 0, 15]);
    s.put("http-get", b"GET / HTTP");
    s.put("reserved", &[0x7f, 0x01, 0, 1, 0x7f, 0x01, 1, 0, 0, 0]);

    let s = Seeds::new("rawsocket_stream");
    let mut wire = BytesMut::new();
    encode_frame(
        FrameKind::Message,
        br#"[1,"realm1",{}]"#,
        1 << 24,
        &mut wire,
    )
    .unwrap();
    encode_frame(FrameKind::Ping, b"abc", 1 << 24, &mut wire).unwrap();
    encode_frame(FrameKind::Pong, b"abc", 1 << 24, &mut wire).unwrap();
    encode_frame(FrameKind::Message, b"", 1 << 24, &mut wire).unwrap();
    s.put("frames-16m", &[&[0x0f, 3, 5, 0, 9][..], &wire].concat());
    s.put("frames-512", &[&[0x00, 0][..], &wire].concat());
    s.put("x-bit-2^24", &[0x0f, 0, 0x08, 0, 0, 0, 1, 2, 3]);
    s.put("x-bit-invalid", &[0x0f, 0, 0x08, 0, 0, 1]);
    s.put("too-large-for-64", &[0x84, 0, 0, 0, 0, 65, 0]);
    s.put(
        "reserved-bits-type",
        &[0x00, 0, 0x10, 0, 0, 0, 0x03, 0, 0, 0],
    );
}

fn messages() -> Vec<(&'static str, Message)> {
    let mut details = Dict::new();
    details.insert("roles".into(), Value::Dict(Dict::new()));
    let mut kwargs = Dict::new();
    kwargs.insert("k".into(), Value::bytes(vec![0, 1, 2, 0xff]));
    kwargs.insert("f".into(), Value::Float(-0.5));
    vec![
        (
            "hello",
            Message::Hello(Hello {
                realm: "realm1".into(),
                details: details.clone(),
            }),
        ),
        (
            "welcome",
            Message::Welcome(Welcome {
                session: 9_007_199_254_740_992,
                details,
            }),
        ),
        (
            "call",
            Message::Call(Call {
                request: 7,
                options: Dict::new(),
                procedure: "com.myapp.add2".into(),
                args: Some(vec![Value::Integer(23), Value::UInteger(u64::MAX)]),
                kwargs: Some(kwargs.clone()),
            }),
        ),
        (
            "result",
            Message::Result(ResultMessage {
                request: 7,
                details: Dict::new(),
                args: Some(vec![Value::String("κόσμε".into()), Value::Null]),
                kwargs: None,
            }),
        ),
        (
            "event",
            Message::Event(Event {
                subscription: 5,
                publication: 6,
                details: Dict::new(),
                args: Some(vec![Value::List(vec![Value::Bool(true)])]),
                kwargs: Some(kwargs),
            }),
        ),
    ]
}

/// `[flags, payload]` seeds of `wamp_json`, `wamp_msgpack`, `wamp_cbor`: spec
/// messages, single and batched (flags bit 0).
pub fn wamp_seeds() {
    for (target, id) in [("wamp_json", 1), ("wamp_msgpack", 2), ("wamp_cbor", 3)] {
        let (single, batched) = (serializer(id, false), serializer(id, true));
        let s = Seeds::new(target);
        let mut batch = vec![1u8];
        for (name, m) in messages() {
            let mut seed = vec![0u8];
            single.serialize_into(&m, &mut seed).unwrap();
            s.put(name, &seed);
            batched.serialize_into(&m, &mut batch).unwrap();
        }
        s.put("batch", &batch);
    }
    let s = Seeds::new("wamp_json");
    s.put(
        "binary-spec-example",
        br#" [48,1,{},"a.b",["\u0000EOP/kFMHXFJvX8BtT+N82w=="]]"#,
    );
    s.put(
        "deep",
        &[b"\x00".as_slice(), &[b'['; 120], &[b']'; 120]].concat(),
    );
}
