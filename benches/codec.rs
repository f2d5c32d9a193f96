//! Micro benchmarks of the sans-IO WebSocket codecs.
//!
//! `cargo bench --bench codec` (criterion; `-- mask` etc. to filter). Groups:
//! frame header encode/decode, masking (with a memcpy of the same size as the physical
//! limit), UTF-8 validation, handshake request parsing, and a sans-IO
//! `protocol::Connection` receiving masked frames, and permessage-deflate inflating per input
//! byte: ordinary compressed text against a run of empty final blocks (`03 00`), which once
//! cost ~45x more per byte, and compressed text failing UTF-8 at its first byte (`-- inflate`);
//! the CPU of waking a parked permessage-deflate codec against back-to-back messages
//! (`-- deflate_park`); a tiny message with and without context takeover (`-- deflate_tiny`,
//! in thread CPU time).

use std::hint::black_box;

use autobahn::websocket::frame::{FrameHeader, OpCode};
use autobahn::websocket::handshake::server::{ParsedRequest, RequestParser, ServerHandshakeConfig};
use autobahn::websocket::mask::{apply_mask, apply_mask_scalar};
use autobahn::websocket::protocol::{Connection, Event, ProtocolConfig, Role};
use autobahn::websocket::utf8::Utf8Validator;
use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::ThreadCpuTime;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const SIZES: [(usize, &str); 4] = [
    (16, "16 B"),
    (1 << 10, "1 KiB"),
    (64 << 10, "64 KiB"),
    (1 << 20, "1 MiB"),
];

fn header(len: u64, mask: Option<[u8; 4]>) -> FrameHeader {
    FrameHeader {
        fin: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: OpCode::Binary,
        mask,
        payload_len: len,
    }
}

fn frame_header(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_header");
    // One per length encoding: 7-bit, 16-bit, 64-bit.
    for (len, name) in [(16u64, "len7"), (1024, "len16"), (1 << 20, "len64")] {
        let masked = header(len, Some(KEY));
        let unmasked = header(len, None);
        g.bench_function(BenchmarkId::new("encode_unmasked", name), |b| {
            let mut out = BytesMut::with_capacity(64);
            b.iter(|| {
                out.clear();
                black_box(&unmasked).encode(&mut out);
                black_box(out.len())
            })
        });
        let mut wire = BytesMut::new();
        masked.encode(&mut wire);
        let wire = wire.freeze();
        g.bench_function(BenchmarkId::new("decode_masked", name), |b| {
            b.iter(|| FrameHeader::parse(black_box(&wire[..])))
        });
    }
    g.finish();
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

fn mask(c: &mut Criterion) {
    let mut g = c.benchmark_group("mask");
    for (len, name) in SIZES {
        g.throughput(Throughput::Bytes(len as u64));
        let mut buf = payload(len);
        let src = payload(len);
        g.bench_function(BenchmarkId::new("apply_mask", name), |b| {
            b.iter(|| apply_mask(black_box(&mut buf[..]), black_box(KEY)))
        });
        g.bench_function(BenchmarkId::new("apply_mask_scalar", name), |b| {
            b.iter(|| apply_mask_scalar(black_box(&mut buf[..]), black_box(KEY), 0))
        });
        // Reading and writing every byte once: what masking in place cannot beat.
        g.bench_function(BenchmarkId::new("memcpy", name), |b| {
            b.iter(|| buf.copy_from_slice(black_box(&src[..])))
        });
    }
    g.finish();
}

/// Mostly ASCII with two-, three- and four-byte characters mixed in.
fn text(len: usize) -> Vec<u8> {
    let pattern = "The quick brown fox jumps over the lazy dog; Grüße, naïve café, €5, 😀. ";
    let mut s = String::with_capacity(len + 4);
    'outer: loop {
        for ch in pattern.chars() {
            if s.len() + ch.len_utf8() > len {
                break 'outer;
            }
            s.push(ch);
        }
    }
    while s.len() < len {
        s.push('.');
    }
    s.into_bytes()
}

fn utf8(c: &mut Criterion) {
    let mut g = c.benchmark_group("utf8");
    for (len, name) in SIZES {
        g.throughput(Throughput::Bytes(len as u64));
        let data = text(len);
        g.bench_function(BenchmarkId::new("Utf8Validator", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                v.finish(black_box(&data[..])).is_ok()
            })
        });
        // Fed in 1400-byte pieces (one TCP segment each), cutting characters.
        g.bench_function(BenchmarkId::new("Utf8Validator_segments", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                for piece in black_box(&data[..]).chunks(1400) {
                    if v.feed(piece).is_err() {
                        return false;
                    }
                }
                v.finish(&[]).is_ok()
            })
        });
        g.bench_function(BenchmarkId::new("std_from_utf8", name), |b| {
            b.iter(|| std::str::from_utf8(black_box(&data[..])).is_ok())
        });
    }
    g.finish();
}

fn handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake");
    let config = ServerHandshakeConfig::default();
    let browser = b"GET /chat?room=1 HTTP/1.1\r\n\
Host: example.com:8080\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: http://example.com:8080\r\n\
Sec-WebSocket-Protocol: wamp.2.json, wamp.2.msgpack\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Connection: keep-alive, Upgrade\r\n\
Cookie: session=0123456789abcdef0123456789abcdef\r\n\
Sec-Fetch-Dest: empty\r\n\
Sec-Fetch-Mode: websocket\r\n\
Sec-Fetch-Site: same-origin\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
Upgrade: websocket\r\n\r\n";
    let minimal = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";
    for (name, req) in [("minimal", &minimal[..]), ("browser", &browser[..])] {
        // The request must parse, or we would be timing the error path.
        let parsed = RequestParser::new("tcp:127.0.0.1:5000", &config).parse(req, &config);
        assert!(
            matches!(parsed, Ok(Some(ParsedRequest::Upgrade(_)))),
            "{name}: {parsed:?}"
        );
        g.throughput(Throughput::Bytes(req.len() as u64));
        g.bench_function(BenchmarkId::new("RequestParser", name), |b| {
            b.iter(|| {
                let mut p = RequestParser::new("tcp:127.0.0.1:5000", &config);
                p.parse(black_box(req), &config)
            })
        });
    }
    g.finish();
}

fn masked_frame(len: usize) -> Vec<u8> {
    let mut wire = BytesMut::new();
    header(len as u64, Some(KEY)).encode(&mut wire);
    let mut p = payload(len);
    apply_mask(&mut p, KEY);
    wire.extend_from_slice(&p);
    wire.to_vec()
}

fn connection_receive(c: &mut Criterion) {
    let mut g = c.benchmark_group("connection_receive");
    for (len, name) in [(16, "16 B"), (1 << 10, "1 KiB"), (64 << 10, "64 KiB")] {
        g.throughput(Throughput::Bytes(len as u64));
        let frame = masked_frame(len);
        let mut conn = Connection::new(ProtocolConfig::new(Role::Server));
        g.bench_function(BenchmarkId::new("binary_frame", name), |b| {
            b.iter(|| {
                conn.receive_data(black_box(&frame)).expect("valid frame");
                match conn.next_event() {
                    Some(Event::Message { payload, .. }) => payload.len(),
                    other => panic!("unexpected {other:?}"),
                }
            })
        });
    }
    g.finish();
}

/// Inflating one message per iteration; throughput is per *compressed* (attacker) byte.
#[cfg(feature = "deflate")]
fn inflate(c: &mut Criterion) {
    use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
    let mut g = c.benchmark_group("inflate");
    let params = PerMessageDeflateParams::default();
    let mut client = PerMessageDeflate::new(false, params);
    let mut text_deflated = Vec::new();
    client
        .compress_message(&text(1 << 20), &mut text_deflated)
        .unwrap();
    // Each `03 00` is a whole empty DEFLATE stream (a fixed-Huffman block with BFINAL set).
    let empty_final_blocks = [0x03, 0x00].repeat(256 << 10);
    // The text is a whole message (`fin`, the tail fed). The empty blocks are fed as a frame
    // that does not end the message: after a final block the tail would start a stream of its
    // own, which is corrupt.
    for (name, input, fin) in [
        ("text 1 MiB deflated", &text_deflated, true),
        ("empty final blocks 512 KiB", &empty_final_blocks, false),
    ] {
        g.throughput(Throughput::Bytes(input.len() as u64));
        let mut server = PerMessageDeflate::new(true, params);
        let mut out = Vec::new();
        g.bench_function(BenchmarkId::new("decompress_chunk", name), |b| {
            b.iter(|| {
                out.clear();
                server
                    .decompress_chunk(black_box(input), fin, &mut out, 0)
                    .unwrap();
                black_box(out.len())
            })
        });
    }
    // Compressed text whose first byte is not UTF-8, then 16 MiB of zeros: checked as it is
    // inflated, it fails within the first step instead of after inflating the whole frame.
    let mut bad_text = vec![0u8; 16 << 20];
    bad_text[0] = 0xff;
    let mut bad_deflated = Vec::new();
    client
        .compress_message(&bad_text, &mut bad_deflated)
        .unwrap();
    drop(bad_text);
    g.throughput(Throughput::Bytes(bad_deflated.len() as u64));
    let mut server = PerMessageDeflate::new(true, params);
    let mut out = Vec::new();
    g.bench_function(
        BenchmarkId::new(
            "decompress_chunk_checked",
            "bad first byte, 16 MiB inflated",
        ),
        |b| {
            b.iter(|| {
                out.clear();
                let mut utf8 = Utf8Validator::new();
                let result = server.decompress_chunk_checked(
                    black_box(&bad_deflated),
                    true,
                    &mut out,
                    0,
                    |piece| utf8.feed(piece).is_ok(),
                );
                assert!(result.is_err());
                black_box(out.len())
            })
        },
    );
    g.finish();
}

#[cfg(not(feature = "deflate"))]
fn inflate(_: &mut Criterion) {}

/// A JSON-like message of about `len` bytes (message `i` of a stream: fields vary).
#[cfg(feature = "deflate")]
fn json(i: usize, len: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(len + 128);
    let mut k = i;
    while m.len() < len {
        k = k.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        m.extend_from_slice(
            format!(
                r#"{{"id":{i},"topic":"com.example.ticker.{}","price":{}.{:02},"qty":{},"side":"{}"}},"#,
                k % 7,
                k % 5000,
                k % 100,
                k % 1000,
                if k.is_multiple_of(2) { "buy" } else { "sell" }
            )
            .as_bytes(),
        );
    }
    m.truncate(len);
    m
}

/// The CPU a parked codec costs on wake-up: a 1 KiB JSON-like message compressed (or
/// compressed and inflated) back to back, against the same with the codec parked before
/// every message (`park` packs both 32 KiB windows; the message then restores the state
/// from them). Both codecs first carry 64 KiB each way, so the windows are full.
#[cfg(feature = "deflate")]
fn park(c: &mut Criterion) {
    use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
    let params = PerMessageDeflateParams::default();
    let mut g = c.benchmark_group("deflate_park");
    let warm = || {
        let (mut server, mut client) = (
            PerMessageDeflate::new(true, params),
            PerMessageDeflate::new(false, params),
        );
        let (mut wire, mut out) = (Vec::new(), Vec::new());
        for i in 0..128usize {
            let (from, to) = if i.is_multiple_of(2) {
                (&mut server, &mut client)
            } else {
                (&mut client, &mut server)
            };
            wire.clear();
            out.clear();
            from.compress_message(&json(i, 1024), &mut wire).unwrap();
            to.decompress_message(&wire, &mut out, 0).unwrap();
        }
        (server, client)
    };
    let messages: Vec<Vec<u8>> = (0..64).map(|i| json(1000 + i, 1024)).collect();
    for parked in [false, true] {
        let name = if parked { "parked" } else { "unparked" };
        let (mut server, _) = warm();
        let (mut wire, mut i) = (Vec::new(), 0);
        g.bench_function(BenchmarkId::new("compress 1 KiB JSON", name), |b| {
            b.iter(|| {
                if parked {
                    server.park();
                }
                wire.clear();
                i += 1;
                let msg = &messages[i % messages.len()];
                server.compress_message(black_box(msg), &mut wire).unwrap();
                black_box(wire.len())
            })
        });
        let (mut server, mut client) = warm();
        let (mut wire, mut out, mut i) = (Vec::new(), Vec::new(), 0);
        g.bench_function(
            BenchmarkId::new("compress + decompress 1 KiB JSON", name),
            |b| {
                b.iter(|| {
                    if parked {
                        client.park();
                        server.park();
                    }
                    wire.clear();
                    out.clear();
                    i += 1;
                    let msg = &messages[i % messages.len()];
                    client.compress_message(black_box(msg), &mut wire).unwrap();
                    server.decompress_message(&wire, &mut out, 0).unwrap();
                    black_box(out.len())
                })
            },
        );
    }
    g.finish();
}

#[cfg(not(feature = "deflate"))]
fn park(_: &mut Criterion) {}

/// A tiny JSON-like message compressed by one side and inflated by the other, per message:
/// with context takeover both ways against no context takeover both ways (the compressor
/// and decompressor then start every message afresh). Measured in CPU time of the thread
/// (`support/cpu_time.rs`), not wall time.
#[cfg(feature = "deflate")]
fn tiny(c: &mut Criterion<ThreadCpuTime>) {
    use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
    let mut g = c.benchmark_group("deflate_tiny");
    let messages: Vec<Vec<u8>> = (0..64).map(|i| json(i, 48)).collect();
    for (name, no_takeover) in [("takeover", false), ("no context takeover", true)] {
        let params = PerMessageDeflateParams {
            server_no_context_takeover: no_takeover,
            client_no_context_takeover: no_takeover,
            ..PerMessageDeflateParams::default()
        };
        let (mut server, mut client) = (
            PerMessageDeflate::new(true, params),
            PerMessageDeflate::new(false, params),
        );
        let (mut wire, mut i) = (Vec::new(), 0);
        g.bench_function(BenchmarkId::new("compress 48 B JSON", name), |b| {
            b.iter(|| {
                wire.clear();
                i += 1;
                let msg = &messages[i % messages.len()];
                server.compress_message(black_box(msg), &mut wire).unwrap();
                black_box(wire.len())
            })
        });
        let (mut wire, mut out) = (Vec::new(), Vec::new());
        g.bench_function(
            BenchmarkId::new("compress + decompress 48 B JSON", name),
            |b| {
                b.iter(|| {
                    wire.clear();
                    out.clear();
                    i += 1;
                    let msg = &messages[i % messages.len()];
                    client.compress_message(black_box(msg), &mut wire).unwrap();
                    server.decompress_message(&wire, &mut out, 0).unwrap();
                    black_box(out.len())
                })
            },
        );
    }
    g.finish();
}

#[cfg(not(feature = "deflate"))]
fn tiny(_: &mut Criterion<ThreadCpuTime>) {}

criterion_group!(
    benches,
    frame_header,
    mask,
    utf8,
    handshake,
    connection_receive,
    inflate,
    park
);
criterion_group!(
    name = cpu_time_benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = tiny
);
criterion_main!(benches, cpu_time_benches);
