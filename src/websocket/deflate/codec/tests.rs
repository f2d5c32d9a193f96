use super::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn codec(is_server: bool, no_context_takeover: bool, bits: u8) -> PerMessageDeflate {
    PerMessageDeflate::new(
        is_server,
        PerMessageDeflateParams {
            server_no_context_takeover: no_context_takeover,
            client_no_context_takeover: no_context_takeover,
            server_max_window_bits: bits,
            client_max_window_bits: bits,
            ..Default::default()
        },
    )
}

fn compress(c: &mut PerMessageDeflate, msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    c.compress_message(msg, &mut out).unwrap();
    out
}

fn inflate(c: &mut PerMessageDeflate, wire: &[u8]) -> Result<Vec<u8>, DeflateError> {
    let mut out = Vec::new();
    c.decompress_message(wire, &mut out, 0).map(|()| out)
}

// RFC 7692 §7.2.3.1: "Hello" in one compressed block (fixed Huffman, BFINAL unset).
const HELLO: &str = "f2 48 cd c9 c9 07 00";
// RFC 7692 §7.2.3.2: the second "Hello" with the LZ77 window shared.
const HELLO_AGAIN: &str = "f2 00 11 00 00";

#[test]
fn rfc7692_hello_one_block() {
    let mut client = codec(false, false, 15);
    assert_eq!(compress(&mut client, b"Hello"), hex(HELLO));
    let mut server = codec(true, false, 15);
    assert_eq!(inflate(&mut server, &hex(HELLO)).unwrap(), b"Hello");
    // The same message fragmented into frames of 3 and 4 octets.
    let mut out = Vec::new();
    server
        .decompress_chunk(&hex("f2 48 cd"), false, &mut out, 0)
        .unwrap();
    server
        .decompress_chunk(&hex("c9 c9 07 00"), true, &mut out, 0)
        .unwrap();
    assert_eq!(out, b"Hello");
}

#[test]
fn rfc7692_sharing_the_window() {
    // With context takeover the second message refers back to the first. zlib's level 6
    // reproduces the RFC's bytes exactly.
    let (mut client, mut server) = (codec(false, false, 15), codec(true, false, 15));
    let mut client6 = codec(false, false, 15).with_compression_level(6);
    assert_eq!(compress(&mut client6, b"Hello"), hex(HELLO));
    assert_eq!(compress(&mut client6, b"Hello"), hex(HELLO_AGAIN));
    assert_eq!(inflate(&mut server, &hex(HELLO)).unwrap(), b"Hello");
    assert_eq!(inflate(&mut server, &hex(HELLO_AGAIN)).unwrap(), b"Hello");
    // Level 1 (zlib-rs' quick strategy) encodes the match differently, even shorter.
    let first = compress(&mut client, b"Hello");
    let second = compress(&mut client, b"Hello");
    assert_eq!(first, hex(HELLO));
    assert!(second.len() < first.len(), "{second:02x?}");
    assert_eq!(inflate(&mut server, &first).unwrap(), b"Hello");
    assert_eq!(inflate(&mut server, &second).unwrap(), b"Hello");
    // With client_no_context_takeover both messages are the same bytes...
    let (mut client, mut server) = (codec(false, true, 15), codec(true, true, 15));
    assert_eq!(compress(&mut client, b"Hello"), hex(HELLO));
    assert_eq!(compress(&mut client, b"Hello"), hex(HELLO));
    // ...and the receiver forgets the window, so a back reference is corrupt.
    assert_eq!(inflate(&mut server, &hex(HELLO)).unwrap(), b"Hello");
    assert!(matches!(
        inflate(&mut server, &hex(HELLO_AGAIN)),
        Err(DeflateError::Corrupt(_))
    ));
    // The decompressor is usable again after the error.
    assert_eq!(inflate(&mut server, &hex(HELLO)).unwrap(), b"Hello");
}

#[test]
fn rfc7692_other_block_kinds() {
    let mut c = codec(true, false, 15);
    // §7.2.3.3: a DEFLATE block with no compression.
    assert_eq!(
        inflate(&mut c, &hex("00 05 00 fa ff 48 65 6c 6c 6f 00")).unwrap(),
        b"Hello"
    );
    // §7.2.3.5: two DEFLATE blocks in one message.
    assert_eq!(
        inflate(&mut c, &hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00")).unwrap(),
        b"Hello"
    );
    // §7.2.3.4: a block with BFINAL set, then the 0x00 the RFC appends.
    let mut c = codec(true, false, 15);
    assert_eq!(
        inflate(&mut c, &hex("f3 48 cd c9 c9 07 00 00")).unwrap(),
        b"Hello"
    );
    // The stream ended; the next message starts a new one.
    assert_eq!(inflate(&mut c, &hex(HELLO)).unwrap(), b"Hello");
    // BFINAL in the middle of a message: the rest is inflated as a new stream.
    assert_eq!(
        inflate(&mut c, &hex("f3 48 cd c9 c9 07 00 f2 48 cd c9 c9 07 00")).unwrap(),
        b"HelloHello"
    );
}

#[test]
fn empty_messages() {
    let mut client = codec(false, false, 15);
    assert_eq!(compress(&mut client, b""), [0x00]);
    assert_eq!(compress(&mut client, b""), [0x00]);
    let mut server = codec(true, false, 15);
    assert_eq!(inflate(&mut server, &[0x00]).unwrap(), b"");
    assert_eq!(inflate(&mut server, &[0x00]).unwrap(), b"");
    // Context is still intact after empty messages.
    let wire = compress(&mut client, b"Hello");
    assert_eq!(inflate(&mut server, &wire).unwrap(), b"Hello");
    // An empty last frame after a flushed non-empty one.
    let mut frames = Vec::new();
    client.compress_chunk(b"Hello", false, &mut frames).unwrap();
    assert!(frames.ends_with(&TAIL));
    let mut last = Vec::new();
    client.compress_chunk(b"", true, &mut last).unwrap();
    assert_eq!(last, [0x00]);
    let mut out = Vec::new();
    server
        .decompress_chunk(&frames, false, &mut out, 0)
        .unwrap();
    server.decompress_chunk(&last, true, &mut out, 0).unwrap();
    assert_eq!(out, b"Hello");
}

#[test]
fn python_zlib_vectors() {
    // Made with Python's zlib: compressobj(6, DEFLATED, -15), two messages each followed by
    // flush(Z_SYNC_FLUSH), with the 00 00 ff ff tail stripped.
    let m1 = [
        "The quick brown fox jumps over the lazy dog. "
            .repeat(6)
            .as_str(),
        "Grüße, WebSocket! \u{2603}",
    ]
    .concat();
    let x1 = "0ac94855282ccd4cce56482aca2fcf5348cbaf50c82acd2d2856c82f4b2d5228014ae72456552aa4e4\
              a7eb29840c77c5ee4587f71c9e9faaa3109e9a149c9f9c9d5aa2a8f068463300";
    let m2 = "The quick brown fox jumps over the lazy dog again.";
    let x2 = "22c10c85c4f4c4cc3c3d0000";
    let mut c = codec(true, false, 15);
    assert_eq!(inflate(&mut c, &hex(x1)).unwrap(), m1.as_bytes());
    assert_eq!(inflate(&mut c, &hex(x2)).unwrap(), m2.as_bytes());
}

fn text(rng: &mut StdRng, n: usize) -> Vec<u8> {
    const WORDS: [&str; 8] = [
        "websocket ",
        "autobahn ",
        "deflate ",
        "grüße ",
        "{\"a\":1} ",
        "\n",
        "☃ ",
        "x ",
    ];
    let mut v = Vec::with_capacity(n + 16);
    while v.len() < n {
        v.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())].as_bytes());
    }
    v.truncate(n);
    v
}

fn random(rng: &mut StdRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill(&mut v[..]);
    v
}

/// Splits `data` at random points into up to `max_parts` pieces (possibly empty ones).
fn split<'a>(rng: &mut StdRng, data: &'a [u8], max_parts: usize) -> Vec<&'a [u8]> {
    let parts = rng.gen_range(1..=max_parts);
    let mut cuts: Vec<usize> = (1..parts).map(|_| rng.gen_range(0..=data.len())).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut prev = 0;
    for cut in cuts.into_iter().chain([data.len()]) {
        pieces.push(&data[prev..cut]);
        prev = cut;
    }
    pieces
}

#[test]
fn round_trips_all_window_bits_and_context_modes() {
    let mut rng = StdRng::seed_from_u64(7692);
    let sizes = [0usize, 1, 137, 4096, 70_001, 1 << 20];
    for bits in 8..=15u8 {
        for no_context_takeover in [false, true] {
            let (mut server, mut client) = (
                codec(true, no_context_takeover, bits),
                codec(false, no_context_takeover, bits),
            );
            for (i, &size) in sizes.iter().enumerate() {
                // The largest size only with random data for a few window sizes: it is slow
                // in debug builds and adds nothing the others do not cover.
                if size == 1 << 20 && !(bits == 8 || bits == 15) {
                    continue;
                }
                for kind in 0..2 {
                    let msg = if kind == 0 {
                        text(&mut rng, size)
                    } else {
                        random(&mut rng, size)
                    };
                    let (from, to) = if i % 2 == 0 {
                        (&mut server, &mut client)
                    } else {
                        (&mut client, &mut server)
                    };
                    // Compress in fragments (one per frame)...
                    let mut frames = Vec::new();
                    let pieces = split(&mut rng, &msg, 5);
                    for (n, piece) in pieces.iter().enumerate() {
                        let mut frame = Vec::new();
                        from.compress_chunk(piece, n + 1 == pieces.len(), &mut frame)
                            .unwrap();
                        frames.push(frame);
                    }
                    let wire = frames.concat();
                    if kind == 0 && size >= 4096 {
                        assert!(wire.len() < size / 2, "text should compress: {bits} {size}");
                    }
                    // ...and inflate it split differently.
                    let mut out = Vec::new();
                    let pieces = split(&mut rng, &wire, 6);
                    for (n, piece) in pieces.iter().enumerate() {
                        let before = out.len();
                        to.decompress_chunk(piece, n + 1 == pieces.len(), &mut out, size.max(1))
                            .unwrap();
                        assert_eq!(&out[..before], &msg[..before], "output is only appended");
                    }
                    assert!(
                        out == msg,
                        "bits {bits} nct {no_context_takeover} size {size}"
                    );
                }
            }
        }
    }
}

#[test]
fn whole_message_matches_frame_api() {
    let mut rng = StdRng::seed_from_u64(1);
    let msg = text(&mut rng, 10_000);
    let (mut a, mut b) = (codec(false, false, 15), codec(false, false, 15));
    let mut whole = Vec::new();
    a.compress_message(&msg, &mut whole).unwrap();
    let mut chunked = Vec::new();
    b.compress_chunk(&msg, true, &mut chunked).unwrap();
    assert_eq!(whole, chunked);
    assert!(!whole.ends_with(&TAIL));
}

/// ~1 MiB of DEFLATE data that inflates to 1 GiB + 64 KiB of zeros: one block with the
/// literal and matches, then 16 Ki copies of a byte-aligned run of distance-1 matches.
fn bomb() -> Vec<u8> {
    let mut config = DeflateConfig::new(9);
    config.window_bits = -15;
    let mut c = Deflate::new_with_config(config);
    let zeros = vec![0u8; 64 * 1024];
    let mut first = Vec::new();
    deflate_sync(&mut c, &zeros, &mut first).unwrap();
    let mut unit = Vec::new();
    deflate_sync(&mut c, &zeros, &mut unit).unwrap();
    assert!(
        unit.len() < 128,
        "a run of zeros compresses to {} bytes",
        unit.len()
    );
    let mut data = first;
    for _ in 0..(1 << 14) {
        data.extend_from_slice(&unit);
    }
    data
}

#[test]
fn decompression_bomb_stops_at_the_limit() {
    let data = bomb();
    assert!(data.len() < 2 << 20);
    const LIMIT: usize = 1 << 20;
    let mut c = codec(true, false, 15);
    let mut out = Vec::new();
    assert_eq!(
        c.decompress_chunk(&data, true, &mut out, LIMIT),
        Err(DeflateError::TooBig { limit: LIMIT })
    );
    assert!(out.len() <= LIMIT + 1);
    assert!(out.capacity() <= LIMIT + 1, "capacity {}", out.capacity());
    // Fed frame by frame the limit also holds across calls.
    let mut c = codec(true, false, 15);
    let mut out = Vec::new();
    let mut result = Ok(());
    for chunk in data.chunks(4096) {
        result = c.decompress_chunk(chunk, false, &mut out, LIMIT);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(DeflateError::TooBig { limit: LIMIT }));
    assert!(out.capacity() <= 2 * LIMIT);
}

#[test]
fn limit_is_inclusive() {
    let msg = vec![b'a'; 5000];
    let wire = compress(&mut codec(false, true, 15), &msg);
    let mut c = codec(true, true, 15);
    let mut out = Vec::new();
    c.decompress_message(&wire, &mut out, 5000).unwrap();
    assert_eq!(out, msg);
    let mut out = Vec::new();
    assert_eq!(
        c.decompress_message(&wire, &mut out, 4999),
        Err(DeflateError::TooBig { limit: 4999 })
    );
    // The limit counts what `out` already holds (earlier frames of the message).
    let mut out = vec![0; 10];
    assert!(c.decompress_message(&wire, &mut out, 5009).is_err());
}

#[test]
fn corrupt_input() {
    for bad in [
        "ff ff ff ff",       // BTYPE 11 (reserved)
        "00 05 00 00 00 48", // stored block with NLEN != !LEN
        "f2 00 11 00 00",    // distance beyond the start of the stream
        "fc",                // dynamic block with bad code lengths
    ] {
        let mut c = codec(true, false, 15);
        assert!(
            matches!(inflate(&mut c, &hex(bad)), Err(DeflateError::Corrupt(_))),
            "{bad}"
        );
        // The codec is reset and usable afterwards.
        assert_eq!(inflate(&mut c, &hex(HELLO)).unwrap(), b"Hello");
    }
}

#[test]
fn byte_at_a_time_input_appends_incrementally() {
    let msg = "Grüße aus Köln — ünïcödé ☃ ".repeat(50).into_bytes();
    let wire = compress(&mut codec(false, false, 15), &msg);
    let mut c = codec(true, false, 15);
    let mut out = Vec::new();
    let mut grew = 0;
    for (i, b) in wire.iter().enumerate() {
        let before = out.len();
        c.decompress_chunk(std::slice::from_ref(b), i + 1 == wire.len(), &mut out, 0)
            .unwrap();
        grew += usize::from(out.len() > before);
    }
    assert_eq!(out, msg);
    assert!(
        grew > 10,
        "output should arrive incrementally, grew {grew} times"
    );
}

// Checks distances independently of zlib-rs, whose inflater keeps a 32 KiB history whatever
// window it is given (so it cannot tell a 256-byte-window violation).
mod fixed;
mod park;
mod walk;

#[test]
fn window_bits_8_output_fits_a_256_byte_window() {
    // The walker reads the RFC's back reference (length 5, distance 5).
    assert_eq!(
        walk::max_distance(&[hex(HELLO_AGAIN), TAIL.to_vec()].concat()),
        Some(5)
    );
    assert_eq!(
        walk::max_distance(&[hex(HELLO), TAIL.to_vec()].concat()),
        Some(0)
    );
    let mut rng = StdRng::seed_from_u64(8);
    let msgs: Vec<Vec<u8>> = (0..30).map(|n| text(&mut rng, 100 + n * 150)).collect();
    for level in [1, 6, 9] {
        // 15 bits is the control: there the encoder does reach further back.
        for bits in [8u8, 15] {
            let mut c = codec(true, false, bits).with_compression_level(level);
            let max = msgs
                .iter()
                .map(|m| {
                    let mut wire = compress(&mut c, m);
                    wire.extend_from_slice(&TAIL);
                    walk::max_distance(&wire).expect("well-formed DEFLATE")
                })
                .max()
                .unwrap();
            assert_eq!(
                max <= 256,
                bits == 8,
                "level {level} bits {bits}: distance {max}"
            );
        }
    }
}

#[test]
fn compressors_are_created_lazily() {
    let mut c = codec(true, false, 15);
    assert!(format!("{c:?}").contains("compressor_allocated: false"));
    compress(&mut c, b"x");
    let dbg = format!("{c:?}");
    assert!(dbg.contains("compressor_allocated: true"));
    assert!(dbg.contains("decompressor_allocated: false"));
}

#[test]
fn params_are_normalised_and_levels_work() {
    let c = PerMessageDeflate::new(
        false,
        PerMessageDeflateParams {
            server_max_window_bits: 0,
            client_max_window_bits: 99,
            mem_level: 0,
            compression_level: 42,
            ..Default::default()
        },
    );
    assert_eq!(c.params().server_max_window_bits, 15);
    assert_eq!(c.params().client_max_window_bits, 15);
    assert_eq!(c.params().mem_level, DEFAULT_MEM_LEVEL);
    assert_eq!(c.params().compression_level, 9);
    let msg = b"level test level test level test".repeat(20);
    for level in 0..=9 {
        for mem_level in [1, 8, 9] {
            let mut c = PerMessageDeflate::new(
                true,
                PerMessageDeflateParams {
                    mem_level,
                    compression_level: level,
                    ..Default::default()
                },
            );
            let wire = compress(&mut c, &msg);
            let mut peer = codec(false, false, 15);
            assert_eq!(inflate(&mut peer, &wire).unwrap(), msg);
        }
    }
}

#[test]
fn codec_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PerMessageDeflate>();
}
