//! Encode + decode throughput of the WAMP serializers for representative
//! messages: a CALL with small args, an EVENT with a 1 KiB text payload, a RESULT
//! with nested kwargs, and an EVENT with 4 KiB of binary data (target for the
//! small CALL: >= 1 M msg/s for MessagePack and CBOR, >= 500 k msg/s for JSON,
//! one core, release build). `roundtrip` is encode + decode.

use autobahn::wamp::message::{Call, Event, Message, ResultMessage};
use autobahn::wamp::serializer::{
    CborSerializer, JsonSerializer, MsgPackSerializer, Serializer, UbjsonSerializer,
};
use autobahn::wamp::Value;
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

fn event_1k_text() -> Message {
    Message::Event(Event {
        subscription: 5_512_315_355,
        publication: 4_429_313_566,
        details: dict! {"topic" => "com.example.news"},
        args: Some(list!["wamp ".repeat(205)]),
        kwargs: None,
    })
}

fn result_nested_kwargs() -> Message {
    Message::Result(ResultMessage {
        request: 7_814_135,
        details: dict! {},
        args: None,
        kwargs: Some(dict! {
            "user" => dict! {
                "id" => 1234,
                "name" => "Alice",
                "roles" => list!["admin", "dev"],
                "address" => dict! {"city" => "Berlin", "zip" => "10115", "geo" => list![52.52, 13.405]},
            },
            "items" => list![dict! {"sku" => "A-1", "qty" => 2}, dict! {"sku" => "B-7", "qty" => 1}],
            "total" => 99.5,
            "paid" => true,
        }),
    })
}

fn event_4k_binary() -> Message {
    Message::Event(Event {
        subscription: 1,
        publication: 2,
        details: dict! {},
        args: Some(vec![Value::bytes(
            (0..4096).map(|i| i as u8).collect::<Vec<u8>>(),
        )]),
        kwargs: None,
    })
}

fn bench(c: &mut Criterion) {
    let serializers: [(&str, Box<dyn Serializer>); 4] = [
        ("json", Box::new(JsonSerializer::new())),
        ("msgpack", Box::new(MsgPackSerializer::new())),
        ("cbor", Box::new(CborSerializer::new())),
        ("ubjson", Box::new(UbjsonSerializer::new())),
    ];
    for (group_name, msg) in [
        ("wamp_small_call", small_call()),
        ("wamp_event_1k_text", event_1k_text()),
        ("wamp_result_nested_kwargs", result_nested_kwargs()),
        ("wamp_event_4k_binary", event_4k_binary()),
    ] {
        bench_message(c, group_name, &msg, &serializers);
    }
}

fn bench_message(
    c: &mut Criterion,
    group_name: &str,
    msg: &Message,
    serializers: &[(&str, Box<dyn Serializer>)],
) {
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Elements(1));
    for (name, s) in serializers {
        let bytes = s.serialize(msg).expect("serialize");
        let binary = s.is_binary();
        group.bench_function(format!("{name}/encode"), |b| {
            let mut buf = Vec::with_capacity(256);
            b.iter(|| {
                buf.clear();
                s.serialize_into(black_box(msg), &mut buf)
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
                s.serialize_into(black_box(msg), &mut buf)
                    .expect("serialize");
                s.unserialize(&buf, binary).expect("unserialize")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
