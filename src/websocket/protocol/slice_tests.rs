//! `Receiver::receive_read` (decoding straight from a read with `receive_slice` while
//! nothing is buffered, as the driver does) against `Receiver::receive` on the whole
//! input.

use bytes::BytesMut;

use super::*;
use crate::websocket::frame::{FrameHeader, OpCode};
use crate::websocket::mask::apply_mask;

fn frame(fin: bool, op: OpCode, payload: &[u8]) -> Vec<u8> {
    let key = [0x11, 0x5a, 0xc3, 0x7e];
    let h = FrameHeader {
        fin,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: op,
        mask: Some(key),
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    h.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], key);
    out
}

type Outcome = (Vec<Event>, Result<(), ProtocolViolation>);

/// The reference: everything in one buffer, decoded by `receive`.
fn all_at_once(wire: &[u8]) -> Outcome {
    let mut r = Receiver::new(ProtocolConfig::new(Role::Server));
    let mut buf = BytesMut::from(wire);
    let mut events = Vec::new();
    let res = r.receive(&mut buf, &mut events);
    (events, res)
}

/// The driver's way: reads of `chunk` bytes through `receive_read` (a read made with
/// nothing buffered goes through `receive_slice`; only a partial frame is buffered).
fn like_the_driver(wire: &[u8], chunk: usize) -> Outcome {
    let mut r = Receiver::new(ProtocolConfig::new(Role::Server));
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for piece in wire.chunks(chunk) {
        let mut read = piece.to_vec();
        let res = r.receive_read(&mut buf, &mut read, &mut events);
        if res.is_err() {
            return (events, res);
        }
    }
    (events, Ok(()))
}

fn check(wire: &[u8]) {
    let expected = all_at_once(wire);
    for chunk in (1..=wire.len().min(64)).chain([wire.len() / 3 + 1, wire.len()]) {
        let got = like_the_driver(wire, chunk);
        assert_eq!(got.1, expected.1, "result with reads of {chunk}");
        if expected.1.is_ok() {
            assert_eq!(got.0, expected.0, "events with reads of {chunk}");
        } else {
            // Failing fast may stop earlier, never later, and never yields other events.
            assert!(got.0.len() <= expected.0.len());
            assert_eq!(&expected.0[..got.0.len()], &got.0[..]);
        }
    }
}

#[test]
fn same_events_as_receive_at_every_read_size() {
    let text = "naïve café €5 😀".repeat(20);
    let mut wire = Vec::new();
    wire.extend(frame(true, OpCode::Binary, &[7u8; 16]));
    wire.extend(frame(true, OpCode::Text, text.as_bytes()));
    wire.extend(frame(true, OpCode::Binary, &[]));
    wire.extend(frame(false, OpCode::Text, &text.as_bytes()[..5])); // splits a character
    wire.extend(frame(true, OpCode::Ping, b"ping"));
    wire.extend(frame(true, OpCode::Continuation, &text.as_bytes()[5..]));
    wire.extend(frame(true, OpCode::Binary, &vec![3u8; 300]));
    wire.extend(frame(true, OpCode::Pong, b""));
    wire.extend(frame(true, OpCode::Close, &[0x03, 0xe8, b'o', b'k']));
    wire.extend(frame(true, OpCode::Binary, b"ignored after close"));
    check(&wire);
}

#[test]
fn same_violations_as_receive_at_every_read_size() {
    let good = frame(true, OpCode::Binary, b"fine");
    let mut bad_utf8 = good.clone();
    bad_utf8.extend(frame(true, OpCode::Text, &[b'a', 0xc3, 0x28, b'b']));
    check(&bad_utf8);
    let mut reserved = good.clone();
    reserved.extend([0x83, 0x80, 0, 0, 0, 0]);
    check(&reserved);
    let mut unmasked = good.clone();
    unmasked.extend([0x82, 0x01, b'x']);
    check(&unmasked);
    let mut orphan = good.clone();
    orphan.extend(frame(true, OpCode::Continuation, b"x"));
    check(&orphan);
    let mut long_ping = good;
    long_ping.extend(frame(true, OpCode::Ping, &[0u8; 126]));
    check(&long_ping);
}
