//! UBJSON value fidelity against the Python codecs themselves, in both dialects: what
//! our `UbjsonSerializer` writes, `bjdata` (Autobahn|Python 26, Crossbar.io 26) and
//! py-ubjson (the Draft 12 dialect) read as the same values, and what they write back
//! we read as the same message (`tests/crossbar/ubjson_codec.py`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use autobahn::wamp::message::{Message, Publish};
use autobahn::wamp::serializer::{Serializer, UbjsonDialect, UbjsonSerializer};
use autobahn::wamp::{Dict, Value};
use autobahn::{dict, list};

use super::crossbar::{installation, tail};
use super::support::{args_json, kwargs_json};

/// Values at every boundary the two dialects treat differently: integer widths,
/// lengths past one byte, binary data, unicode, nesting.
fn values() -> Vec<Value> {
    let mut v: Vec<Value> = [
        0i64,
        255,
        256,
        -128,
        -129,
        32767,
        32768,
        65535,
        65536,
        -32769,
        i32::MAX.into(),
        i32::MIN.into(),
        u32::MAX.into(),
        1 << 32,
        i64::MAX,
        i64::MIN,
    ]
    .into_iter()
    .map(Value::from)
    .collect();
    let mut deep = Value::from("bottom");
    for i in 0..90 {
        deep = if i % 2 == 0 {
            Value::List(vec![deep])
        } else {
            Value::Dict(dict! {"d" => deep})
        };
    }
    v.extend([
        Value::from_u64(1 << 63),
        Value::from_u64(u64::MAX),
        1.5.into(),
        1e300.into(),
        5e-324.into(),
        (-0.25).into(),
        true.into(),
        Value::Null,
        "".into(),
        "a".into(),
        "\u{fc}\u{2192}\u{1F600}".into(),
        "\u{6c34}".repeat(100).into(),
        Value::bytes(vec![]),
        Value::bytes(vec![0]),
        Value::bytes((0..=255u8).collect::<Vec<_>>()),
        Value::bytes(vec![0xa5; 70_000]),
        Value::List(list![1, 300, 70_000, -5, "x", Value::bytes(vec![1, 2])]),
        Value::Dict(dict! {"\u{e9}" => 1, "k".repeat(300) => list![]}),
        deep,
    ]);
    v
}

fn publish(v: &Value) -> Message {
    Message::Publish(Publish {
        request: 70_000,
        options: Dict::new(),
        topic: "com.example.ubjson".into(),
        args: Some(vec![v.clone()]),
        kwargs: Some(dict! {"k" => v.clone()}),
    })
}

/// Runs every value through our encoder, the Python codec and back, in `dialect`.
fn python_round_trip(dialect: UbjsonDialect, name: &str) {
    let ours = UbjsonSerializer::with_dialect(dialect, false);
    let messages: Vec<Message> = values().iter().map(publish).collect();
    let mut child = Command::new(&installation().python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/crossbar/ubjson_codec.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut input = String::new();
    for m in &messages {
        let hex: String = ours
            .serialize(m)
            .expect("encode")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        input.push_str(&format!("{name} {hex}\n"));
    }
    // Written from a thread: the script answers line by line while we read.
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).expect("write");
    });
    let lines: Vec<String> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map(|l| l.expect("read"))
        .collect();
    writer.join().expect("writer");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success() && lines.len() == messages.len(),
        "{name}: ubjson_codec.py: {}",
        tail(&String::from_utf8_lossy(&out.stderr), 20)
    );
    for (m, line) in messages.iter().zip(&lines) {
        let Message::Publish(p) = m else {
            unreachable!()
        };
        let reply: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        // What Python decoded is what we sent: [16, request, {}, topic, args, kwargs].
        let view = &reply["view"];
        assert_eq!(view[0], 16, "{name}");
        assert_eq!(view[1], 70_000, "{name}");
        assert_eq!(
            view[4],
            args_json(p.args.as_deref().unwrap_or_default()),
            "{name}"
        );
        assert_eq!(view[5], kwargs_json(p.kwargs.as_ref().unwrap()), "{name}");
        // What Python wrote back we decode to the same message.
        let hex = reply["hex"].as_str().expect("hex");
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let back = ours
            .unserialize(&bytes, true)
            .expect("decode Python's bytes");
        assert_eq!(back, std::slice::from_ref(m), "{name}");
    }
    eprintln!(
        "ubjson {name}: {} values round-tripped through Python",
        lines.len()
    );
}

#[test]
fn bjdata_reads_and_writes_what_we_do() {
    python_round_trip(UbjsonDialect::BJData, "bjdata");
}

#[test]
fn py_ubjson_reads_and_writes_what_we_do_in_draft12() {
    python_round_trip(UbjsonDialect::Draft12, "draft12");
}
