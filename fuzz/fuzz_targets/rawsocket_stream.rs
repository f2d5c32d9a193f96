//! RawSocket framing: a `FrameDecoder` fed an arbitrary byte stream, whole, in pieces
//! and byte by byte. Input: `[e, k, k piece lengths…, stream…]`; the decoder's limit
//! is `2^(9 + e % 16)` (the handshake's range), or `(e & 0x7f) · 16` when `e ≥ 0x80`.
//!
//! Invariants: all feedings give the same frames and error; frames respect the limit
//! and re-encode (`encode_frame` with that limit) to exactly the consumed bytes, PONG
//! echoes PING; an error is the one the next header calls for (reference parser) and
//! sticks (later calls return it, later bytes are dropped); `buffered` is exactly the
//! unconsumed input; memory stays within the input plus one announced frame.
#![no_main]

use autobahn::rawsocket::framing::HEADER_LEN;
use autobahn::rawsocket::{Frame, FrameDecoder, FrameKind, RawSocketError as E};
use bytes::BytesMut;
use fuzz_support::{alloc, piece_ends, split_input};
use libfuzzer_sys::fuzz_target;

/// Reference header check: `Some(error)` if this header must fail the connection.
fn reference_error(h: &[u8], max: u32) -> Option<E> {
    let first = h[0];
    if first & 0xf0 != 0 {
        return Some(E::ReservedFrameBits(first));
    }
    if first & 7 > 2 {
        return Some(E::UnknownFrameType(first & 7));
    }
    let low = u32::from_be_bytes([0, h[1], h[2], h[3]]);
    let len = if first & 8 != 0 {
        if low != 0 {
            return Some(E::InvalidFrameLength(low));
        }
        1 << 24
    } else {
        low
    };
    (len > max).then_some(E::FrameTooLarge { size: len, max })
}

fn run(max: u32, ends: &[usize], stream: &[u8]) -> (Vec<Frame>, Option<E>) {
    let mut d = FrameDecoder::new(max);
    let mut frames = Vec::new();
    let mut error = None;
    let mut start = 0;
    let mut consumed = 0usize;
    for &end in ends {
        let piece = &stream[start..end];
        start = end;
        let (_, peak) = alloc::peak_during(|| {
            d.feed(piece);
            loop {
                match d.next_frame() {
                    Ok(Some(f)) => {
                        consumed += HEADER_LEN + f.payload.len();
                        frames.push(f);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        if let Some(old) = &error {
                            assert_eq!(old, &e, "error changed");
                        }
                        error = Some(e);
                        break;
                    }
                }
            }
        });
        // The payload buffer is reserved for one announced (checked) frame; a
        // buffer shared with returned frames is reallocated, and growth doubles.
        // The harness's frame list costs up to 20 bytes per input byte (empty frames).
        let bound = 32 * end + 2 * max as usize + 4096;
        assert!(peak <= bound, "allocated {peak} > {bound}");
        if error.is_some() {
            assert_eq!(d.buffered(), 0, "bytes kept after an error");
        } else {
            assert_eq!(d.buffered(), end - consumed, "buffered");
        }
    }
    (frames, error)
}

fuzz_target!(|data: &[u8]| {
    let Some((h, lengths, stream)) = split_input(data, 1) else {
        return;
    };
    let e = h[0];
    let max = if e & 0x80 != 0 {
        u32::from(e & 0x7f) * 16
    } else {
        1 << (9 + (e & 15))
    };
    let (frames, error) = run(max, &[stream.len()], stream);
    let mut encoded = BytesMut::new();
    for f in &frames {
        assert!(f.payload.len() <= max as usize);
        f.encode(max, &mut encoded)
            .expect("a received frame re-encodes");
        match (f.kind, f.pong()) {
            (FrameKind::Ping, Some(p)) => {
                assert_eq!((p.kind, &p.payload), (FrameKind::Pong, &f.payload));
            }
            (_, None) => {}
            (k, p) => panic!("pong of {k:?}: {p:?}"),
        }
    }
    assert_eq!(
        &encoded[..],
        &stream[..encoded.len()],
        "re-encoding differs"
    );
    let rest = &stream[encoded.len()..];
    match &error {
        Some(err) => assert_eq!(reference_error(rest, max).as_ref(), Some(err)),
        None => {
            // Undecided: an incomplete frame (or nothing) is left.
            if rest.len() >= HEADER_LEN {
                assert_eq!(reference_error(rest, max), None);
                let len = if rest[0] & 8 != 0 {
                    1usize << 24
                } else {
                    usize::from(rest[1]) << 16 | usize::from(rest[2]) << 8 | usize::from(rest[3])
                };
                assert!(
                    rest.len() < HEADER_LEN + len,
                    "a complete frame was not returned"
                );
            }
        }
    }
    let mut runs = vec![piece_ends(lengths, stream.len())];
    if stream.len() <= 512 {
        runs.push((0..=stream.len()).collect());
    }
    for ends in runs {
        let (f2, e2) = run(max, &ends, stream);
        assert_eq!(f2, frames, "frames differ for pieces {ends:?}");
        assert_eq!(e2, error, "error differs for pieces {ends:?}");
    }
});
