//! Encode + decode throughput of the WAMP serializers for a small CALL
//! (target: >= 1 M msg/s for MessagePack and CBOR, >= 500 k msg/s for JSON,
//! one core, release build).

use autobahn::wamp::message::{Call, Message};
use autobahn::wamp::serializer::{CborSerializer, JsonSerializer, MsgPackSerializer, Serializer};
use autobahn::{dict, list};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn small_call() -> Message {
    Message::Call(Call {
        request: 123_456,
        options: dict! {"receive_progress" => true},
        procedure: "com.example.add2".into(),
        args: Some(list![23, 7, "hello"]),
        kwargs: Some(dict! {"precision" => 2.5}),
    })
}

fn bench(c: &mut Criterion) {
    let msg = small_call();
    let serializers: [(&str, Box<dyn Serializer>); 3] = [
        ("json", Box::new(JsonSerializer::new())),
        ("msgpack", Box::new(MsgPackSerializer::new())),
        ("cbor", Box::new(CborSerializer::new())),
    ];
    let mut group = c.benchmark_group("wamp_small_call");
    group.throughput(Throughput::Elements(1));
    for (name, s) in &serializers {
        let bytes = s.serialize(&msg).expect("serialize");
        let binary = s.is_binary();
        group.bench_function(format!("{name}/encode"), |b| {
            let mut buf = Vec::with_capacity(256);
            b.iter(|| {
                buf.clear();
                s.serialize_into(black_box(&msg), &mut buf)
                    .expect("serialize");
                black_box(buf.len())
            })
        });
        group.bench_function(format!("{name}/decode"), |b| {
            b.iter(|| {
                s.unserialize(black_box(&bytes), binary)
                    .expect("unserialize")
            })
        });
        group.bench_function(format!("{name}/roundtrip"), |b| {
            let mut buf = Vec::with_capacity(256);
            b.iter(|| {
                buf.clear();
                s.serialize_into(black_box(&msg), &mut buf)
                    .expect("serialize");
                s.unserialize(&buf, binary).expect("unserialize")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
