//! Streaming mode of the receiver: bytes in, pieces out as they arrive.

use super::*;
use crate::websocket::frame::{FrameHeader, OpCode};
use crate::websocket::mask::apply_mask;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn frame(fin: bool, op: OpCode, payload: &[u8]) -> Vec<u8> {
    let h = FrameHeader {
        fin,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: op,
        mask: Some(KEY),
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    h.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], KEY);
    out
}

fn streaming_server(max_message: usize) -> Receiver {
    let mut cfg = ProtocolConfig::new(Role::Server);
    cfg.max_message_payload_size = max_message;
    cfg.max_frame_payload_size = max_message;
    let mut r = Receiver::new(cfg);
    r.set_streaming(true);
    r
}

/// Feeds `wire` to the receiver in reads of `step` bytes; the events and the largest
/// buffer held between reads.
fn feed(r: &mut Receiver, wire: &[u8], step: usize) -> (Vec<Event>, usize) {
    let (mut buf, mut events, mut held) = (BytesMut::new(), Vec::new(), 0);
    for read in wire.chunks(step) {
        buf.extend_from_slice(read);
        r.receive(&mut buf, &mut events).unwrap();
        held = held.max(buf.len());
    }
    (events, held)
}

/// The payload handed out, and the events with the data pieces left out.
fn split(events: Vec<Event>) -> (Vec<u8>, Vec<Event>) {
    let mut data = Vec::new();
    let mut rest = Vec::new();
    for ev in events {
        match ev {
            Event::FrameData(p) => data.extend_from_slice(&p),
            other => rest.push(other),
        }
    }
    (data, rest)
}

#[test]
fn a_frame_is_handed_out_as_its_bytes_arrive_and_nothing_is_buffered() {
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let wire = frame(true, OpCode::Binary, &payload);
    let mut r = streaming_server(0);
    let (events, held) = feed(&mut r, &wire, 1000);
    // Every read's payload bytes are handed out at once: at most a header stays behind.
    assert!(held <= 14, "held {held} bytes");
    let pieces = events
        .iter()
        .filter(|e| matches!(e, Event::FrameData(_)))
        .count();
    assert!(pieces >= 99, "{pieces} pieces");
    let (data, rest) = split(events);
    assert_eq!(data, payload);
    assert_eq!(
        rest,
        [
            Event::FrameBegin {
                len: 100_000,
                first: true,
                is_binary: true
            },
            Event::FrameEnd { last: true },
        ]
    );
    assert!(!r.is_mid_message());
}

#[test]
fn fragments_and_interleaved_control_frames_keep_their_order() {
    let mut wire = frame(false, OpCode::Text, b"Hel");
    wire.extend(frame(true, OpCode::Ping, b"p"));
    wire.extend(frame(false, OpCode::Continuation, b""));
    wire.extend(frame(true, OpCode::Continuation, b"lo"));
    wire.extend(frame(true, OpCode::Binary, b"x"));
    for step in [1, 2, 5, wire.len()] {
        let (events, _) = feed(&mut streaming_server(0), &wire, step);
        let merged: Vec<Event> = events.into_iter().fold(Vec::new(), |mut acc, ev| {
            // Pieces of one frame, however the reads cut them, as one.
            match (acc.last_mut(), ev) {
                (Some(Event::FrameData(a)), Event::FrameData(b)) => {
                    *a = [&a[..], &b[..]].concat().into();
                }
                (_, ev) => acc.push(ev),
            }
            acc
        });
        assert_eq!(
            merged,
            [
                Event::FrameBegin {
                    len: 3,
                    first: true,
                    is_binary: false
                },
                Event::FrameData("Hel".into()),
                Event::FrameEnd { last: false },
                Event::Ping("p".into()),
                Event::FrameBegin {
                    len: 0,
                    first: false,
                    is_binary: false
                },
                Event::FrameEnd { last: false },
                Event::FrameBegin {
                    len: 2,
                    first: false,
                    is_binary: false
                },
                Event::FrameData("lo".into()),
                Event::FrameEnd { last: true },
                Event::FrameBegin {
                    len: 1,
                    first: true,
                    is_binary: true
                },
                Event::FrameData("x".into()),
                Event::FrameEnd { last: true },
            ],
            "reads of {step}"
        );
    }
}

#[test]
fn bad_utf8_fails_at_once_before_the_frame_is_complete() {
    let mut text = vec![b'a'; 1 << 20];
    text[10] = 0xff;
    let wire = frame(true, OpCode::Text, &text);
    let mut r = streaming_server(0);
    let mut buf = BytesMut::from(&wire[..1000]);
    let mut events = Vec::new();
    let err = r.receive(&mut buf, &mut events).unwrap_err();
    assert_eq!(err.code, 1007);
    assert!(!events.iter().any(|e| matches!(e, Event::FrameData(_))));
}

#[test]
fn a_text_message_ending_inside_a_character_fails() {
    let mut wire = frame(
        false,
        OpCode::Text,
        "é".as_bytes().get(..1).unwrap_or_default(),
    );
    wire.extend(frame(true, OpCode::Continuation, b""));
    let mut r = streaming_server(0);
    let mut buf = BytesMut::from(&wire[..]);
    let err = r.receive(&mut buf, &mut Vec::new()).unwrap_err();
    assert_eq!(err.code, 1007);
}

#[test]
fn limits_still_apply_when_set() {
    let wire = frame(true, OpCode::Binary, &[0; 2000]);
    let mut r = streaming_server(1000);
    let err = r
        .receive(&mut BytesMut::from(&wire[..]), &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.code, 1009);
}

#[test]
fn the_message_budget_pauses_after_a_piece() {
    let mut wire = frame(true, OpCode::Binary, &[1; 100]);
    wire.extend(frame(true, OpCode::Binary, &[2; 100]));
    let mut r = streaming_server(0);
    r.set_message_budget(10);
    let mut buf = BytesMut::from(&wire[..]);
    let mut events = Vec::new();
    r.receive(&mut buf, &mut events).unwrap();
    assert!(r.is_paused());
    // The first frame's piece and its end, not the second message.
    assert_eq!(events.len(), 3, "{events:?}");
    r.set_message_budget(usize::MAX);
    r.receive(&mut buf, &mut events).unwrap();
    assert_eq!(events.len(), 6);
    assert!(buf.is_empty());
}

#[test]
fn a_message_keeps_the_mode_it_began_in() {
    let mut r = Receiver::new(ProtocolConfig::new(Role::Server));
    let mut buf = BytesMut::from(&frame(false, OpCode::Binary, b"ab")[..]);
    let mut events = Vec::new();
    r.receive(&mut buf, &mut events).unwrap();
    r.set_streaming(true);
    buf.extend_from_slice(&frame(true, OpCode::Continuation, b"cd"));
    buf.extend_from_slice(&frame(true, OpCode::Binary, b"e"));
    r.receive(&mut buf, &mut events).unwrap();
    assert_eq!(
        events[0],
        Event::Message {
            payload: "abcd".into(),
            is_binary: true
        }
    );
    assert!(matches!(
        events[1],
        Event::FrameBegin {
            first: true,
            is_binary: true,
            ..
        }
    ));
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use crate::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};

    fn codec(is_server: bool) -> PerMessageDeflate {
        PerMessageDeflate::new(is_server, PerMessageDeflateParams::default())
    }

    /// `payload` as one compressed message from a client, in frames of `frame_size`.
    fn compressed(payload: &[u8], is_binary: bool, frame_size: usize) -> Vec<u8> {
        let mut deflated = Vec::new();
        codec(false)
            .compress_message(payload, &mut deflated)
            .unwrap();
        let chunks: Vec<&[u8]> = deflated.chunks(frame_size).collect();
        let mut wire = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let op = match (i, is_binary) {
                (0, true) => OpCode::Binary,
                (0, false) => OpCode::Text,
                _ => OpCode::Continuation,
            };
            let mut f = frame(i + 1 == chunks.len(), op, chunk);
            if i == 0 {
                f[0] |= 0x40;
            }
            wire.extend_from_slice(&f);
        }
        wire
    }

    fn receiver(max_message: usize) -> Receiver {
        let mut r = streaming_server(max_message);
        r.set_deflate(codec(true));
        r.set_bounded_work(true);
        r
    }

    #[test]
    fn a_compressed_message_inflates_piece_by_piece_in_bounded_memory() {
        // 32 MiB of text that compresses ~90:1: inflated in pieces of about 256 KiB,
        // a bounded amount per call.
        let text = "0123456789abcdef".repeat(2 << 20);
        let wire = compressed(text.as_bytes(), false, 4096);
        assert!(wire.len() < 1 << 20, "{} bytes", wire.len());
        let mut r = receiver(0);
        let (mut buf, mut events) = (BytesMut::from(&wire[..]), Vec::new());
        let mut calls = 0;
        loop {
            r.receive(&mut buf, &mut events).unwrap();
            calls += 1;
            if !r.has_work_left() {
                break;
            }
        }
        assert!(calls >= 8, "{calls} calls: the work per call is bounded");
        let biggest = events
            .iter()
            .filter_map(|e| match e {
                Event::FrameData(p) => Some(p.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        // The inflater stops at the first of its steps (at most 64 KiB) past 256 KiB.
        assert!(biggest <= 320 * 1024, "a piece of {biggest} bytes");
        let (data, rest) = split(events);
        assert_eq!(data, text.as_bytes());
        assert_eq!(
            rest.first(),
            Some(&Event::FrameBegin {
                len: 4096,
                first: true,
                is_binary: false
            })
        );
        assert_eq!(rest.last(), Some(&Event::FrameEnd { last: true }));
        assert_eq!(r.message_in_progress_len(), 0);
    }

    #[test]
    fn output_pending_after_the_last_input_is_produced_by_later_calls() {
        // The tokio layer's path: reads through `receive_read`, then calls with nothing new
        // while work is left. Highly compressible: all input is taken in long before its
        // output is produced.
        let payload = vec![7u8; 16 << 20];
        let wire = compressed(&payload, true, usize::MAX);
        let mut r = receiver(0);
        let (mut buf, mut events) = (BytesMut::new(), Vec::new());
        for read in wire.chunks(1000) {
            r.receive_read(&mut buf, &mut read.to_vec(), &mut events)
                .unwrap();
        }
        let mut calls = 0;
        while r.has_work_left() {
            r.receive_read(&mut buf, &mut [], &mut events).unwrap();
            calls += 1;
            assert!(calls < 100, "no progress");
        }
        let (data, rest) = split(events);
        assert_eq!(data.len(), payload.len());
        assert_eq!(rest.last(), Some(&Event::FrameEnd { last: true }));
    }

    /// The tokio layer's loop: reads of `read` bytes through `receive_read`, a message
    /// budget of `budget` bytes per call (events taken at once), and calls with nothing new
    /// while the receiver has work left or paused with input buffered. Returns the data.
    fn drive(r: &mut Receiver, wire: &[u8], read: usize, budget: usize) -> Vec<Event> {
        let (mut buf, mut events) = (BytesMut::new(), Vec::new());
        for piece in wire.chunks(read) {
            r.set_message_budget(budget);
            r.receive_read(&mut buf, &mut piece.to_vec(), &mut events)
                .unwrap();
            let mut calls = 0;
            while r.has_work_left() || (r.is_paused() && !buf.is_empty()) {
                r.set_message_budget(budget);
                r.receive_read(&mut buf, &mut [], &mut events).unwrap();
                calls += 1;
                assert!(calls < 100_000, "no progress");
            }
        }
        events
    }

    #[test]
    fn compressed_streams_cut_anywhere_into_frames_arrive_whole_through_paused_reads() {
        // As the Autobahn Testsuite's 12.x.15-18 send: the compressed stream cut into
        // frames of 256 to 32768 bytes wherever the cut falls (mid-block).
        let payload: Vec<u8> = (0..131_072u32)
            .map(|i| b"abcdefghij"[(i * 7 % 13 % 10) as usize] ^ (i / 1000) as u8)
            .collect();
        for frame_size in [256, 1024, 4096, 32768] {
            let wire = compressed(&payload, true, frame_size);
            for (read, budget) in [(8192, 4096), (1000, 1), (65536, 1 << 20), (77, 300)] {
                let mut r = receiver(0);
                let mut wire3 = wire.clone();
                wire3.extend_from_slice(&wire);
                wire3.extend_from_slice(&wire);
                let events = drive(&mut r, &wire3, read, budget);
                let (data, rest) = split(events);
                assert_eq!(
                    data.len(),
                    3 * payload.len(),
                    "frames {frame_size}, reads {read}"
                );
                assert_eq!(&data[..payload.len()], &payload[..]);
                let ends = rest
                    .iter()
                    .filter(|e| **e == Event::FrameEnd { last: true })
                    .count();
                assert_eq!(
                    ends, 3,
                    "frames {frame_size}, reads {read}, budget {budget}"
                );
            }
        }
    }

    #[test]
    fn the_inflated_limit_holds_over_the_whole_message() {
        let wire = compressed(&vec![0; 3 << 20], true, 1024);
        let mut r = receiver(1 << 20);
        let (mut buf, mut events) = (BytesMut::from(&wire[..]), Vec::new());
        let err = loop {
            match r.receive(&mut buf, &mut events) {
                Err(e) => break e,
                Ok(()) if r.has_work_left() => {}
                Ok(()) => panic!("no error: {} events", events.len()),
            }
        };
        assert_eq!(err.code, 1009);
        let (data, _) = split(events);
        assert!(data.len() <= 1 << 20, "{} bytes handed out", data.len());
    }

    #[test]
    fn compressed_text_fails_fast_on_its_first_bad_byte() {
        let mut bad = vec![b'a'; 8 << 20];
        bad[0] = 0xff;
        let wire = compressed(&bad, false, usize::MAX);
        let mut r = receiver(0);
        let err = r
            .receive(&mut BytesMut::from(&wire[..]), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.code, 1007);
        assert!(r.inflated_total() <= 2 * 64 * 1024);
    }
}
