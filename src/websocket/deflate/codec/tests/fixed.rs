//! The fixed-Huffman encoder of short messages without context takeover (`codec/fixed.rs`):
//! what it writes inflates to the message with zlib-rs and with our own codec, never reaches
//! past the negotiated window, and is about as small as zlib's level 1.

use super::*;
use crate::websocket::deflate::codec::fixed::MAX_LEN;

/// Messages of every kind the encoder meets: edges of its length range, runs (the longest
/// matches), text, random bytes, repeats at distances around small windows.
fn messages(rng: &mut StdRng) -> Vec<Vec<u8>> {
    let mut all = vec![
        b"a".to_vec(),
        b"ab".to_vec(),
        b"abc".to_vec(),
        b"aaaa".to_vec(),
        vec![0u8; MAX_LEN],
        vec![0xff; 259],
        (0..=255u8).collect(),
    ];
    for len in [1, 2, 3, 17, 100, 257, 258, 259, 300, 511, 700, MAX_LEN] {
        all.push(text(rng, len));
        all.push(random(rng, len));
    }
    for period in [200, 255, 256, 257, 300, 600] {
        let unit = random(rng, period);
        all.push(unit.repeat(MAX_LEN / period + 1)[..MAX_LEN].to_vec());
    }
    all
}

#[test]
fn fixed_blocks_inflate_to_the_message_within_the_window() {
    let mut rng = StdRng::seed_from_u64(1951);
    let messages = messages(&mut rng);
    for bits in 8..=15u8 {
        let (mut server, mut client) = (codec(true, true, bits), codec(false, true, bits));
        for msg in &messages {
            let wire = compress(&mut server, msg);
            assert_eq!(
                inflate(&mut client, &wire).unwrap(),
                *msg,
                "bits {bits} len {}",
                msg.len()
            );
            // A fresh raw zlib-rs stream inflates it too, and the tail ends it cleanly.
            let mut zlib = Inflate::new(false, MAX_WINDOW_BITS);
            let mut out = vec![0u8; msg.len() + 64];
            let input = [wire.as_slice(), &TAIL].concat();
            zlib.decompress(&input, &mut out, InflateFlush::SyncFlush)
                .unwrap();
            assert_eq!(zlib.total_in() as usize, input.len());
            assert_eq!(&out[..zlib.total_out() as usize], &msg[..]);
            let distance = walk::max_distance(&input).expect("well-formed DEFLATE");
            assert!(distance <= 1 << bits, "bits {bits}: distance {distance}");
        }
        assert!(
            !server.holds_zlib_state(),
            "bits {bits}: no zlib compressor for short messages"
        );
    }
}

#[test]
fn fixed_blocks_are_about_as_small_as_zlib_level_1() {
    let mut rng = StdRng::seed_from_u64(1);
    let (mut ours, mut theirs) = (0, 0);
    for n in 0..50 {
        let msg = text(&mut rng, 64 + n * 19);
        ours += compress(&mut codec(true, true, 15), &msg).len();
        let mut zlib = Deflate::new(1, false, 15);
        let mut wire = Vec::new();
        deflate_sync(&mut zlib, &msg, &mut wire).unwrap();
        theirs += wire.len() - TAIL.len();
    }
    assert!(
        ours * 100 <= theirs * 115,
        "fixed blocks {ours} bytes, zlib level 1 {theirs}"
    );
}

#[test]
fn level_0_and_fragments_still_go_through_zlib() {
    let msg = b"{\"a\":1,\"a\":1,\"a\":1}";
    let mut stored = codec(true, true, 15).with_compression_level(0);
    let wire = compress(&mut stored, msg);
    assert!(wire.len() > msg.len(), "level 0 stores: {wire:02x?}");

    let (mut server, mut client) = (codec(true, true, 15), codec(false, true, 15));
    let mut wire = Vec::new();
    server.compress_chunk(&msg[..5], false, &mut wire).unwrap();
    assert!(server.holds_zlib_state(), "a fragmented message is zlib's");
    server.compress_chunk(&msg[5..], true, &mut wire).unwrap();
    assert!(!server.holds_zlib_state(), "freed after the message");
    assert_eq!(inflate(&mut client, &wire).unwrap(), msg);
}
