//! Parking (`PerMessageDeflate::park`): context takeover survives it, in both directions,
//! for every window size, against our own codec and against plain zlib-rs streams.

use super::*;

/// JSON-like messages of a chat or ticker protocol, about 150–400 bytes each.
fn json(rng: &mut StdRng, i: usize) -> Vec<u8> {
    const TOPICS: [&str; 4] = ["com.example.ticker", "chat.room.7", "presence", "orders"];
    const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "grüße"];
    let mut v = format!(
        r#"{{"id":{i},"type":"event","topic":"{}","from":"{}","seq":{},"payload":{{"price":{}.{:02},"qty":{},"tags":["{}","{}"]}}"#,
        TOPICS[rng.gen_range(0..TOPICS.len())],
        NAMES[rng.gen_range(0..NAMES.len())],
        rng.gen_range(0..1_000_000),
        rng.gen_range(1..5000),
        rng.gen_range(0..100),
        rng.gen_range(1..100),
        NAMES[rng.gen_range(0..NAMES.len())],
        TOPICS[rng.gen_range(0..TOPICS.len())],
    );
    for _ in 0..rng.gen_range(0..4) {
        v.push_str(&format!(
            r#","note{}":"{}""#,
            rng.gen_range(0..9),
            String::from_utf8_lossy(&text(rng, 40))
        ));
    }
    v.push('}');
    v.into_bytes()
}

/// A codec with context takeover and `bits` both ways.
fn taking_over(is_server: bool, bits: u8) -> PerMessageDeflate {
    codec(is_server, false, bits)
}

#[test]
fn park_keeps_context_takeover_both_ways_for_every_window() {
    let mut rng = StdRng::seed_from_u64(14);
    for bits in 8..=15u8 {
        let (mut server, mut client) = (taking_over(true, bits), taking_over(false, bits));
        let (mut server_ref, mut client_ref) = (taking_over(true, bits), taking_over(false, bits));
        for i in 0..60 {
            let msg = if i % 7 == 6 {
                random(&mut rng, 700)
            } else {
                json(&mut rng, i)
            };
            // Park at random on either side, both states or one.
            for c in [&mut server, &mut client] {
                if rng.gen_bool(0.5) {
                    c.park();
                    assert!(!c.holds_zlib_state(), "bits {bits}: parked");
                }
            }
            let (from, to, to_ref) = if i.is_multiple_of(2) {
                (&mut server, &mut client, &mut client_ref)
            } else {
                (&mut client, &mut server, &mut server_ref)
            };
            let wire = compress(from, &msg);
            // An unparked peer and a parking one read the same.
            assert_eq!(
                inflate(to_ref, &wire).unwrap(),
                msg,
                "bits {bits} message {i}"
            );
            assert_eq!(inflate(to, &wire).unwrap(), msg, "bits {bits} message {i}");
        }
        // The parked compressor still refers back: a repeated message costs a few bytes.
        let msg = json(&mut rng, 99);
        let first = compress(&mut server, &msg);
        assert_eq!(inflate(&mut client, &first).unwrap(), msg);
        server.park();
        client.park();
        let again = compress(&mut server, &msg);
        assert!(
            again.len() < 16,
            "bits {bits}: {} bytes after a park",
            again.len()
        );
        assert_eq!(inflate(&mut client, &again).unwrap(), msg, "bits {bits}");
    }
}

/// One raw DEFLATE stream of zlib-rs with a sync flush per message, as a peer that never
/// parks sends it (tails stripped as on the wire).
fn reference_stream(bits: u8, messages: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut deflate = Deflate::new(6, false, bits.max(9));
    messages
        .iter()
        .map(|m| {
            let mut out = Vec::new();
            deflate_sync(&mut deflate, m, &mut out).unwrap();
            assert!(out.ends_with(&TAIL));
            out.truncate(out.len() - TAIL.len());
            out
        })
        .collect()
}

#[test]
fn parked_codec_matches_zlib_reference_streams() {
    let mut rng = StdRng::seed_from_u64(7);
    for bits in 8..=15u8 {
        let messages: Vec<Vec<u8>> = (0..40).map(|i| json(&mut rng, i)).collect();
        // zlib-rs → us, parking before every message.
        let mut server = taking_over(true, bits);
        for (msg, wire) in messages.iter().zip(reference_stream(bits, &messages)) {
            server.park();
            assert_eq!(&inflate(&mut server, &wire).unwrap(), msg, "bits {bits}");
        }
        // Us, parking before every message → one zlib-rs inflate stream.
        let mut inflater = Inflate::new(false, bits.max(9));
        let mut client = taking_over(false, bits);
        let mut total = 0;
        for msg in &messages {
            client.park();
            let mut wire = compress(&mut client, msg);
            total += wire.len();
            wire.extend_from_slice(&TAIL);
            let mut out = vec![0; msg.len() + 64];
            let before = inflater.total_out();
            let status = inflater.decompress(&wire, &mut out, InflateFlush::SyncFlush);
            assert!(status.is_ok(), "bits {bits}: {status:?}");
            out.truncate((inflater.total_out() - before) as usize);
            assert_eq!(&out, msg, "bits {bits}");
        }
        let plain: usize = messages.iter().map(Vec::len).sum();
        if bits >= 12 {
            assert!(total < plain / 2, "bits {bits}: {total} of {plain} bytes");
        }
    }
}

#[test]
fn parked_window_is_bounded_and_small_for_json() {
    let mut rng = StdRng::seed_from_u64(16);
    for bits in 8..=15u8 {
        let (mut server, mut client) = (taking_over(true, bits), taking_over(false, bits));
        // Twice the window each way.
        let mut sent = 0;
        let mut i = 0;
        while sent < 2 << bits.max(9) {
            let msg = json(&mut rng, i);
            sent += msg.len();
            let wire = compress(&mut server, &msg);
            assert_eq!(inflate(&mut client, &wire).unwrap(), msg);
            let wire = compress(&mut client, &msg);
            assert_eq!(inflate(&mut server, &wire).unwrap(), msg);
            i += 1;
        }
        server.park();
        let held = server.history_heap_bytes();
        assert!(held <= 2 << bits.max(9), "bits {bits}: {held} bytes parked");
        assert!(
            server.sent.is_packed() && server.received.is_packed(),
            "bits {bits}"
        );
        if bits == 15 {
            // The two 32 KiB windows of JSON, deflated: well within 16 KiB.
            assert!(held <= 14 * 1024, "{held} bytes parked");
        }
    }
}

#[test]
fn a_message_in_progress_is_not_parked() {
    let (mut server, mut client) = (taking_over(true, 15), taking_over(false, 15));
    let msg = json(&mut StdRng::seed_from_u64(1), 1).repeat(4);
    let mut wire = Vec::new();
    client
        .compress_chunk(&msg[..100], false, &mut wire)
        .unwrap();
    client.park();
    assert!(
        client.holds_zlib_state(),
        "compressor parked between fragments"
    );
    client.compress_chunk(&msg[100..], true, &mut wire).unwrap();

    let mut out = Vec::new();
    server
        .decompress_chunk(&wire[..wire.len() / 2], false, &mut out, 0)
        .unwrap();
    server.park();
    assert!(
        server.holds_zlib_state(),
        "decompressor parked inside a message"
    );
    server
        .decompress_chunk(&wire[wire.len() / 2..], true, &mut out, 0)
        .unwrap();
    assert_eq!(out, msg);
    server.park();
    assert!(!server.holds_zlib_state());
}

#[test]
fn park_if_idle_waits_for_a_whole_idle_period() {
    let (mut server, mut client) = (taking_over(true, 15), taking_over(false, 15));
    let wire = compress(&mut client, b"Hello");
    assert_eq!(inflate(&mut server, &wire).unwrap(), b"Hello");
    assert!(server.park_if_idle(), "used in this period: kept");
    assert!(!server.park_if_idle(), "idle for a period: parked");
    assert!(!server.park_if_idle());
    assert_eq!(inflate(&mut server, &hex(HELLO_AGAIN)).unwrap(), b"Hello");
    assert!(server.holds_zlib_state());
}

#[test]
fn no_context_takeover_keeps_no_history() {
    let (mut server, mut client) = (codec(true, true, 15), codec(false, true, 15));
    // Longer than the messages compressed without zlib.
    let msg = json(&mut StdRng::seed_from_u64(2), 2).repeat(8);
    let wire = compress(&mut client, &msg);
    assert_eq!(inflate(&mut server, &wire).unwrap(), msg);
    assert!(!server.holds_zlib_state() && !client.holds_zlib_state());
    assert_eq!(server.history_heap_bytes() + client.history_heap_bytes(), 0);
}

#[test]
fn no_context_takeover_compresses_as_a_fresh_codec() {
    // A prepared message is compressed once for every connection with the same settings:
    // a codec after any earlier messages (through zlib or not) must compress as a new one.
    let mut rng = StdRng::seed_from_u64(16);
    for bits in [9u8, 12, 15] {
        let (mut used, mut peer) = (codec(true, true, bits), codec(false, true, bits));
        for i in 0..40 {
            let msg = match i % 4 {
                0 => random(&mut rng, 1 + i * 50),
                1 => text(&mut rng, 5 + i * 300),
                _ => json(&mut rng, i),
            };
            let wire = compress(&mut used, &msg);
            assert_eq!(
                wire,
                compress(&mut codec(true, true, bits), &msg),
                "bits {bits} message {i}"
            );
            assert_eq!(
                inflate(&mut peer, &wire).unwrap(),
                msg,
                "bits {bits} message {i}"
            );
            if i % 9 == 8 {
                used.park();
                peer.park();
            }
        }
    }
}

#[test]
fn bfinal_forgets_history_parked_or_not() {
    // "Hello" in a final block, then a back reference to it: the stream ended, so the
    // reference is corrupt, with or without a park in between.
    let final_hello = hex("f3 48 cd c9 c9 07 00");
    for park in [false, true] {
        let mut server = taking_over(true, 15);
        assert_eq!(inflate(&mut server, &final_hello).unwrap(), b"Hello");
        if park {
            server.park();
        }
        assert!(
            inflate(&mut server, &hex(HELLO_AGAIN)).is_err(),
            "park {park}"
        );
    }
}
