//! permessage-deflate end to end through the sans-IO `Connection`, both directions,
//! with arbitrary negotiated parameters, levels, fragmentation and feeding pieces:
//!
//! * peer → us: a reference peer compresses arbitrary messages frame by frame (or sends
//!   them uncompressed); our connection must deliver exactly those messages, until the
//!   first one above `max_message_payload_size`, which fails the connection with 1009
//!   (and nothing after it is delivered). Memory stays within the limit (counted).
//! * us → peer: every message we send (auto-fragmented, RSV1 on the first frame only)
//!   inflates, with exactly the window we declared, back to what we sent.
#![no_main]

use arbitrary::Arbitrary;
use autobahn::websocket::deflate::PerMessageDeflate;
use autobahn::websocket::frame::{close_code, OpCode};
use autobahn::websocket::protocol::{CloseState, Connection, Event, ProtocolConfig, Role};
use fuzz_support::frames::{frame, read_all};
use fuzz_support::inflate::PeerInflater;
use fuzz_support::stream::deflate_params;
use fuzz_support::{alloc, piece_ends};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    we_are_server: bool,
    /// See `deflate_params`.
    params: u8,
    /// Low nibble: compression level (0..=9); high nibble: mem level (1..=9).
    levels: u8,
    /// `max_message_payload_size = (max_msg + 1) · 64`.
    max_msg: u8,
    /// Our `auto_fragment_size = x · 8` (0: none).
    auto_fragment: u8,
    /// Feed pieces for our receiving connection.
    pieces: Vec<u8>,
    messages: Vec<Msg>,
}

#[derive(Arbitrary, Debug)]
struct Msg {
    binary: bool,
    peer_compresses: bool,
    /// One peer frame per chunk; a chunk is its bytes repeated `repeat + 1` times.
    chunks: Vec<(Vec<u8>, u8)>,
}

impl Msg {
    /// The message payload and the peer's frame boundaries (end offsets).
    fn payload(&self) -> (Vec<u8>, Vec<usize>) {
        let mut data = Vec::new();
        let mut ends = Vec::new();
        for (bytes, repeat) in &self.chunks {
            for _ in 0..=*repeat {
                data.extend_from_slice(bytes);
            }
            ends.push(data.len());
        }
        if !self.binary {
            // Text must be UTF-8; boundaries may then fall inside characters, fine.
            data = String::from_utf8_lossy(&data).into_owned().into_bytes();
        }
        let len = data.len();
        let mut ends: Vec<usize> = ends.into_iter().map(|e| e.min(len)).collect();
        ends.dedup();
        if ends.last() != Some(&len) {
            ends.push(len);
        }
        (data, ends)
    }
}

fuzz_target!(|input: Input| {
    let limit = (usize::from(input.max_msg) + 1) * 64;
    let mut params = deflate_params(input.params);
    params.compression_level = (input.levels & 0x0f).min(9);
    params.mem_level = (input.levels >> 4).clamp(1, 9);
    let (ours, peers) = if input.we_are_server {
        (Role::Server, Role::Client)
    } else {
        (Role::Client, Role::Server)
    };
    let mut config = ProtocolConfig::new(ours);
    config.max_message_payload_size = limit;
    config.auto_fragment_size = usize::from(input.auto_fragment) * 8;
    let codec = |role: Role| PerMessageDeflate::new(role == Role::Server, params);

    // Peer → us.
    let peer_masks = peers == Role::Client;
    let mut peer_codec = codec(peers);
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut too_big = false;
    let mut total = 0usize;
    for m in input.messages.iter().take(16) {
        let (data, ends) = m.payload();
        total += data.len();
        // The largest limit is 16 KiB: 64 KiB still slides a 32 KiB window
        // twice; more only makes each run slower.
        if total > 1 << 16 {
            break;
        }
        let opcode = if m.binary {
            OpCode::Binary
        } else {
            OpCode::Text
        };
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            let fin = i + 1 == ends.len();
            let op = if i == 0 { opcode } else { OpCode::Continuation };
            let chunk = &data[start..end];
            start = end;
            if m.peer_compresses {
                let mut z = Vec::new();
                peer_codec
                    .compress_chunk(chunk, fin, &mut z)
                    .expect("compression with valid parameters");
                wire.extend(frame(fin, i == 0, op, &z, peer_masks));
            } else {
                wire.extend(frame(fin, false, op, chunk, peer_masks));
            }
        }
        if data.len() > limit {
            too_big = true;
            break;
        }
        expected.push((data, m.binary));
    }
    let mut conn = Connection::new(config.clone());
    conn.set_deflate(codec(ours), codec(ours), 0);
    let mut got = Vec::new();
    let mut result = Ok(());
    let mut start = 0;
    let lengths: Vec<u8> = input.pieces.iter().copied().take(32).collect();
    for end in piece_ends(&lengths, wire.len()) {
        let before = got.len();
        let (r, peak) = alloc::peak_during(|| conn.receive_data(&wire[start..end]));
        start = end;
        if result.is_ok() {
            result = r;
        }
        got.extend(std::iter::from_fn(|| conn.next_event()));
        let delivered: usize = got[before..]
            .iter()
            .map(|e| match e {
                Event::Message { payload, .. } => payload.len(),
                _ => 0,
            })
            .sum();
        let bound = delivered + 2 * (limit + 1) + 96 * end + 128 * 1024;
        assert!(peak <= bound, "allocated {peak} > {bound}");
    }
    let got: Vec<(Vec<u8>, bool)> = got
        .into_iter()
        .map(|e| match e {
            Event::Message { payload, is_binary } => (payload.to_vec(), is_binary),
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert!(
        got == expected,
        "delivered messages differ ({} vs {} expected, {result:?}, {} wire bytes)",
        got.len(),
        expected.len(),
        wire.len()
    );
    if too_big {
        let v = result.expect_err("message over the limit accepted");
        assert_eq!(v.code, close_code::MESSAGE_TOO_BIG, "{v:?}");
        assert_eq!(conn.state(), &CloseState::Failed(v));
    } else {
        assert_eq!(result, Ok(()));
        assert_eq!(conn.state(), &CloseState::Open);
    }

    // Us → peer.
    let mut sender = Connection::new(config.clone());
    sender.set_deflate(codec(ours), codec(ours), 0);
    let declared = if ours == Role::Server {
        params.server_max_window_bits
    } else {
        params.client_max_window_bits
    };
    let mut peer = PeerInflater::new(declared);
    let mut sent = 0usize;
    for m in input.messages.iter().take(16) {
        let (data, _) = m.payload();
        sent += data.len();
        if sent > 1 << 17 {
            break;
        }
        sender
            .send_message(data.clone(), m.binary)
            .expect("send on an open connection");
        let frames = read_all(&sender.take_output(), ours == Role::Client);
        let mut payload = Vec::new();
        for (i, (h, p)) in frames.iter().enumerate() {
            let want = match (i, m.binary) {
                (0, true) => OpCode::Binary,
                (0, false) => OpCode::Text,
                _ => OpCode::Continuation,
            };
            assert_eq!(h.opcode, want);
            assert_eq!(h.rsv1, i == 0, "RSV1 on the first frame only");
            assert_eq!(h.fin, i + 1 == frames.len());
            if config.auto_fragment_size != 0 {
                assert!(p.len() <= config.auto_fragment_size);
            }
            payload.extend_from_slice(p);
        }
        let inflated = peer
            .message(&payload, data.len())
            .expect("our compressed message does not inflate with the declared window");
        assert!(inflated == data, "round trip changed the message");
    }
});
