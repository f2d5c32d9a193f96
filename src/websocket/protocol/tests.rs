//! Bytes in, events out: the sans-IO core against hand-built frames.

use super::*;
use crate::websocket::frame::{FrameHeader, OpCode};
use crate::websocket::mask::apply_mask;

fn frame(fin: bool, op: OpCode, payload: &[u8], mask: bool) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let h = FrameHeader {
        fin,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: op,
        mask: mask.then_some(key),
        payload_len: payload.len() as u64,
    };
    let mut out = Vec::new();
    h.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if mask {
        apply_mask(&mut out[start..], key);
    }
    out
}

fn server() -> Connection {
    Connection::new(ProtocolConfig::new(Role::Server))
}

fn client() -> Connection {
    Connection::new(ProtocolConfig::new(Role::Client))
}

fn events(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.next_event()).collect()
}

fn msg(p: &[u8], is_binary: bool) -> Event {
    Event::Message {
        payload: Bytes::copy_from_slice(p),
        is_binary,
    }
}

#[test]
fn single_frame_text_server_and_client() {
    let mut s = server();
    s.receive_data(&frame(true, OpCode::Text, b"Hello", true))
        .unwrap();
    assert_eq!(events(&mut s), vec![msg(b"Hello", false)]);
    let mut c = client();
    // RFC 6455 §5.7 unmasked "Hello".
    c.receive_data(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
        .unwrap();
    assert_eq!(events(&mut c), vec![msg(b"Hello", false)]);
}

#[test]
fn byte_by_byte_fragmented_with_interleaved_ping() {
    let mut wire = frame(false, OpCode::Text, "Hel".as_bytes(), true);
    wire.extend(frame(true, OpCode::Ping, b"p", true));
    wire.extend(frame(false, OpCode::Continuation, "lo κό".as_bytes(), true));
    wire.extend(frame(true, OpCode::Continuation, "σμε".as_bytes(), true));
    let mut s = server();
    for b in &wire {
        s.receive_data(std::slice::from_ref(b)).unwrap();
    }
    assert_eq!(
        events(&mut s),
        vec![
            Event::Ping(Bytes::from_static(b"p")),
            msg("Hello κόσμε".as_bytes(), false)
        ]
    );
    // The ping was answered with an unmasked pong carrying the same payload.
    assert_eq!(s.take_output(), vec![0x8a, 0x01, b'p']);
}

#[test]
fn large_lengths_16_and_64_bit() {
    for len in [126usize, 65535, 65536, 200_000] {
        let payload = vec![0xabu8; len];
        let mut s = server();
        s.receive_data(&frame(true, OpCode::Binary, &payload, true))
            .unwrap();
        assert_eq!(events(&mut s), vec![msg(&payload, true)]);
    }
}

fn fails_with(conn: &mut Connection, wire: &[u8], code: u16) {
    let err = conn.receive_data(wire).unwrap_err();
    assert_eq!(err.code, code, "{err}");
    assert!(matches!(conn.state(), CloseState::Failed(_)));
    let mut out = conn.take_output();
    // A close frame carrying the code was queued.
    let (h, n) = FrameHeader::parse(&out).unwrap().unwrap();
    assert_eq!(h.opcode, OpCode::Close);
    if let Some(key) = h.mask {
        apply_mask(&mut out[n..], key);
    }
    assert_eq!(u16::from_be_bytes([out[n], out[n + 1]]), code);
}

#[test]
fn protocol_errors_close_with_1002() {
    let mut rsv = frame(true, OpCode::Text, b"x", true);
    rsv[0] |= 0x20;
    fails_with(&mut server(), &rsv, 1002);
    let mut rsv1 = frame(true, OpCode::Text, b"x", true);
    rsv1[0] |= 0x40; // no extension negotiated
    fails_with(&mut server(), &rsv1, 1002);
    fails_with(&mut server(), &[0x83, 0x80, 0, 0, 0, 0], 1002); // reserved opcode
    fails_with(&mut server(), &frame(true, OpCode::Text, b"x", false), 1002); // unmasked
    fails_with(&mut client(), &frame(true, OpCode::Text, b"x", true), 1002); // masked to client
    fails_with(&mut server(), &frame(false, OpCode::Ping, b"x", true), 1002); // fragmented control
    fails_with(
        &mut server(),
        &frame(true, OpCode::Ping, &[0; 126], true),
        1002,
    ); // big control
    fails_with(
        &mut server(),
        &frame(true, OpCode::Continuation, b"x", true),
        1002,
    );
    let mut two_starts = frame(false, OpCode::Text, b"a", true);
    two_starts.extend(frame(true, OpCode::Text, b"b", true));
    fails_with(&mut server(), &two_starts, 1002);
    fails_with(&mut server(), &frame(true, OpCode::Close, &[3], true), 1002);
}

#[test]
fn every_close_code() {
    for code in 0..=u16::MAX {
        let mut s = server();
        let r = s.receive_data(&frame(true, OpCode::Close, &code.to_be_bytes(), true));
        if crate::websocket::frame::close_code::is_sendable(code) {
            r.unwrap();
            assert_eq!(
                events(&mut s),
                vec![Event::Close {
                    code: Some(code),
                    reason: None
                }]
            );
            assert_eq!(s.state(), &CloseState::Closed);
        } else {
            assert_eq!(r.unwrap_err().code, 1002, "{code}");
        }
    }
}

#[test]
fn close_reply_and_echo() {
    let mut payload = 4000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    let mut s = server();
    s.receive_data(&frame(true, OpCode::Close, &payload, true))
        .unwrap();
    assert_eq!(s.take_output(), vec![0x88, 0x02, 0x03, 0xe8]); // 1000, not echoed
    let mut cfg = ProtocolConfig::new(Role::Server);
    cfg.echo_close_code_reason = true;
    let mut s = Connection::new(cfg);
    s.receive_data(&frame(true, OpCode::Close, &payload, true))
        .unwrap();
    assert_eq!(s.take_output(), [&[0x88, 0x05][..], &payload].concat());
    // Empty close is answered with an empty close.
    let mut s = server();
    s.receive_data(&frame(true, OpCode::Close, &[], true))
        .unwrap();
    assert_eq!(s.take_output(), vec![0x88, 0x00]);
    // Bytes after a close frame are ignored.
    let mut s = server();
    let mut wire = frame(true, OpCode::Close, &[], true);
    wire.extend(frame(true, OpCode::Text, b"late", true));
    s.receive_data(&wire).unwrap();
    assert_eq!(
        events(&mut s),
        vec![Event::Close {
            code: None,
            reason: None
        }]
    );
}

#[test]
fn close_reason_must_be_utf8() {
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80");
    fails_with(
        &mut server(),
        &frame(true, OpCode::Close, &payload, true),
        1007,
    );
}

#[test]
fn we_initiate_close() {
    let mut s = server();
    s.send_close(Some(1000), Some("done")).unwrap();
    assert_eq!(s.state(), &CloseState::CloseSent);
    assert_eq!(s.send_message(&b"x"[..], true), Err(SendError::Closing));
    s.receive_data(&frame(true, OpCode::Close, &1000u16.to_be_bytes(), true))
        .unwrap();
    assert_eq!(s.state(), &CloseState::Closed);
    let out = s.take_output();
    assert_eq!(out, [&[0x88, 0x06, 0x03, 0xe8][..], b"done"].concat()); // no second close
}

#[test]
fn invalid_utf8_fails_fast_inside_a_partial_frame() {
    // Autobahn 6.4.x: the bad byte arrives while the frame is incomplete.
    let payload = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited";
    let wire = frame(true, OpCode::Text, payload, true);
    let header_len = 6;
    let mut s = server();
    s.receive_data(&wire[..header_len + 11]).unwrap();
    let err = s
        .receive_data(&wire[header_len + 11..header_len + 13])
        .unwrap_err();
    assert_eq!(err.code, 1007);
}

#[test]
fn invalid_utf8_at_every_position_and_split() {
    let good = "Hello-µ@ßöäüàá-UTF-8!!".as_bytes();
    for pos in 0..good.len() {
        let mut bad = good.to_vec();
        bad[pos] = 0xff;
        for split in 1..bad.len() {
            let mut wire = frame(false, OpCode::Text, &bad[..split], true);
            wire.extend(frame(true, OpCode::Continuation, &bad[split..], true));
            let mut s = server();
            let err = s.receive_data(&wire).unwrap_err();
            assert_eq!(err.code, 1007);
            assert!(events(&mut s).is_empty());
        }
    }
    // A message ending inside a character.
    fails_with(
        &mut server(),
        &frame(true, OpCode::Text, b"ab\xce", true),
        1007,
    );
    // Binary is not validated.
    let mut s = server();
    s.receive_data(&frame(true, OpCode::Binary, b"\xff", true))
        .unwrap();
}

#[test]
fn limits_close_with_1009_before_the_payload_arrives() {
    let mut cfg = ProtocolConfig::new(Role::Server);
    cfg.max_frame_payload_size = 1000;
    let mut s = Connection::new(cfg.clone());
    let wire = frame(true, OpCode::Binary, &[0; 1001], true);
    // Only the header has arrived.
    assert_eq!(s.receive_data(&wire[..8]).unwrap_err().code, 1009);

    cfg.max_frame_payload_size = 0;
    cfg.max_message_payload_size = 1500;
    let mut s = Connection::new(cfg.clone());
    let mut wire = frame(false, OpCode::Binary, &[0; 1000], true);
    wire.extend(frame(true, OpCode::Continuation, &[0; 501], true));
    assert_eq!(
        s.receive_data(&wire[..wire.len() - 501]).unwrap_err().code,
        1009
    );

    // A 64-bit length claiming 2^62 bytes with default limits.
    let mut s = server();
    let h = [0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    assert_eq!(s.receive_data(&h).unwrap_err().code, 1009);

    // Exactly at the limits is fine.
    cfg.max_frame_payload_size = 1000;
    cfg.max_message_payload_size = 1500;
    let mut s = Connection::new(cfg);
    let mut wire = frame(false, OpCode::Binary, &[1; 1000], true);
    wire.extend(frame(true, OpCode::Continuation, &[2; 500], true));
    s.receive_data(&wire).unwrap();
    assert_eq!(events(&mut s).len(), 1);
}

#[test]
fn sending_frames_and_auto_fragment() {
    let mut cfg = ProtocolConfig::new(Role::Server);
    cfg.auto_fragment_size = 4;
    let mut s = Connection::new(cfg);
    s.send_message(&b"abcdefghij"[..], false).unwrap();
    let out = s.take_output();
    assert_eq!(
        out,
        [
            &[0x01, 4][..],
            b"abcd",
            &[0x00, 4],
            b"efgh",
            &[0x80, 2],
            b"ij"
        ]
        .concat()
    );
    // Client frames are masked and decode back to the payload on a server.
    let mut c = client();
    c.send_message(&b"masked!"[..], true).unwrap();
    c.send_ping(b"pp").unwrap();
    let wire = c.take_output();
    assert_eq!(wire[1] & 0x80, 0x80);
    let mut s = server();
    s.receive_data(&wire).unwrap();
    assert_eq!(
        events(&mut s),
        vec![
            msg(b"masked!", true),
            Event::Ping(Bytes::from_static(b"pp"))
        ]
    );
}

#[test]
fn send_rules() {
    let mut s = server();
    assert_eq!(
        s.send_ping(&[0; 126]),
        Err(SendError::ControlPayloadTooLarge(126))
    );
    assert_eq!(
        s.send_close(Some(1005), None),
        Err(SendError::InvalidCloseCode(1005))
    );
    assert_eq!(
        s.send_close(None, Some("x")),
        Err(SendError::ReasonWithoutCode)
    );
    // A long reason is truncated to 123 bytes at a character boundary.
    let reason = "é".repeat(100);
    s.send_close(Some(1000), Some(&reason)).unwrap();
    let out = s.take_output();
    assert_eq!(out[1] as usize, 2 + 122);
}

#[test]
fn streaming_api_round_trips() {
    let mut c = client();
    {
        let (snd, out) = c.sender();
        snd.begin_message(false, false).unwrap();
        snd.send_message_frame(out, b"Hel").unwrap();
        snd.begin_message_frame(out, 5).unwrap();
        assert_eq!(snd.send_message_frame_data(out, b"lo ").unwrap(), 2);
        // A ping while the frame is open waits until the frame is complete.
        snd.send_ping(out, b"x").unwrap();
        assert_eq!(snd.send_message_frame_data(out, b"wo").unwrap(), 0);
        snd.end_message(out).unwrap();
    }
    let wire = c.take_output();
    let mut s = server();
    s.receive_data(&wire).unwrap();
    assert_eq!(
        events(&mut s),
        vec![
            Event::Ping(Bytes::from_static(b"x")),
            msg(b"Hello wo", false)
        ]
    );
}

/// Pongs owed while a frame of ours is open wait for it; only the latest is kept
/// (RFC 6455 §5.5.3), so a ping flood during a long frame holds one pong, not all.
#[test]
fn pongs_deferred_by_an_open_frame_keep_only_the_latest() {
    let mut c = client();
    {
        let (snd, out) = c.sender();
        snd.begin_message(true, false).unwrap();
        snd.begin_message_frame(out, 2).unwrap();
        for i in 0..10_000u32 {
            snd.send_pong(out, &i.to_be_bytes()).unwrap();
        }
        snd.send_ping(out, b"p").unwrap();
        snd.send_pong(out, b"last").unwrap();
        assert_eq!(snd.send_message_frame_data(out, b"ab").unwrap(), 0);
        snd.end_message(out).unwrap();
    }
    let wire = c.take_output();
    let mut s = server();
    s.receive_data(&wire).unwrap();
    assert_eq!(
        events(&mut s),
        vec![
            Event::Ping(Bytes::from_static(b"p")),
            Event::Pong(Bytes::from_static(b"last")),
            msg(b"ab", true)
        ]
    );
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use crate::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};

    fn codec(is_server: bool) -> PerMessageDeflate {
        PerMessageDeflate::new(is_server, PerMessageDeflateParams::default())
    }

    fn pair(max_message: usize) -> (Connection, Connection) {
        let mut c = client();
        c.set_deflate(codec(false), codec(false), 0);
        let mut cfg = ProtocolConfig::new(Role::Server);
        cfg.max_message_payload_size = max_message;
        let mut s = Connection::new(cfg);
        s.set_deflate(codec(true), codec(true), 0);
        (c, s)
    }

    #[test]
    fn compressed_messages_round_trip_with_rsv1_on_the_first_frame_only() {
        let (mut c, mut s) = pair(0);
        let text = "κόσμε ".repeat(2000);
        c.send_message(text.clone(), false).unwrap();
        c.send_ping(b"p").unwrap();
        let wire = c.take_output();
        assert_eq!(wire[0] & 0x40, 0x40, "RSV1 on the compressed message");
        s.receive_data(&wire).unwrap();
        assert_eq!(
            events(&mut s),
            vec![
                msg(text.as_bytes(), false),
                Event::Ping(Bytes::from_static(b"p"))
            ]
        );
        // Control frames are never compressed.
        let pong = s.take_output();
        assert_eq!(pong[0], 0x8a);
    }

    #[test]
    fn a_small_frame_that_inflates_past_the_limit_closes_with_1009() {
        // About 1 KiB of deflate data (level 9, near DEFLATE's 1032:1 limit) that
        // inflates to 1 MiB of zeros.
        let mut c = client();
        c.set_deflate(codec(false), codec(false).with_compression_level(9), 0);
        c.send_message(vec![0u8; 1 << 20], true).unwrap();
        let wire = c.take_output();
        assert!(wire.len() < 2 * 1024, "bomb is {} bytes", wire.len());
        let (_, mut s) = pair(64 * 1024);
        let err = s.receive_data(&wire).unwrap_err();
        assert_eq!(err.code, 1009);
        assert!(events(&mut s).is_empty());
    }

    #[test]
    fn inflated_invalid_utf8_closes_with_1007() {
        let (mut c, mut s) = pair(0);
        c.send_message(&b"valid then \xff invalid"[..], false)
            .unwrap();
        let err = s.receive_data(&c.take_output()).unwrap_err();
        assert_eq!(err.code, 1007);
    }

    /// Masked client frames carrying `deflated` as one compressed text message, in
    /// frames of at most `frame_size` bytes.
    fn compressed_text_frames(deflated: &[u8], frame_size: usize) -> Vec<u8> {
        let chunks: Vec<&[u8]> = deflated.chunks(frame_size).collect();
        let mut wire = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let op = if i == 0 {
                OpCode::Text
            } else {
                OpCode::Continuation
            };
            let mut f = frame(i + 1 == chunks.len(), op, chunk, true);
            if i == 0 {
                f[0] |= 0x40; // RSV1: compressed
            }
            wire.extend_from_slice(&f);
        }
        wire
    }

    #[test]
    fn compressed_text_with_a_bad_first_byte_fails_before_inflating_the_rest() {
        // 0xFF and 8 MiB of zeros: ~8 KiB deflated. Validating only after inflating a
        // frame inflated all 8 MiB first; now it stops within the first inflate step.
        let mut bad = vec![0u8; (8 << 20) + 1];
        bad[0] = 0xff;
        let mut deflated = Vec::new();
        codec(false)
            .with_compression_level(9)
            .compress_message(&bad, &mut deflated)
            .unwrap();
        assert!(deflated.len() < 16 * 1024, "{} bytes", deflated.len());
        for frame_size in [usize::MAX, 1024] {
            let (_, mut s) = pair(0);
            let err = s
                .receive_data(&compressed_text_frames(&deflated, frame_size))
                .unwrap_err();
            assert_eq!(err.code, 1007, "frames of {frame_size}");
            let inflated = s.receiver.inflated_total();
            assert!(
                inflated <= 2 * 64 * 1024,
                "inflated {inflated} bytes before failing (frames of {frame_size})"
            );
        }
    }

    #[test]
    fn compressed_text_valid_until_a_late_bad_byte_fails_there() {
        // The bad byte 1 MiB in: inflation stops within a step after it, not at 8 MiB.
        let mut text = vec![b'a'; (8 << 20) + 1];
        text[1 << 20] = 0xff;
        let mut deflated = Vec::new();
        codec(false).compress_message(&text, &mut deflated).unwrap();
        let (_, mut s) = pair(0);
        let err = s
            .receive_data(&compressed_text_frames(&deflated, 4096))
            .unwrap_err();
        assert_eq!(err.code, 1007);
        let inflated = s.receiver.inflated_total();
        assert!(
            inflated <= (1 << 20) + 2 * 64 * 1024,
            "inflated {inflated} bytes"
        );
    }

    /// Feeds `wire` to a server receiver with bounded work; returns the events and how
    /// many calls it took.
    fn receive_bounded(wire: &[u8]) -> (Vec<Event>, usize) {
        let mut r = Receiver::new(ProtocolConfig::new(Role::Server));
        r.set_deflate(codec(true));
        r.set_bounded_work(true);
        let (mut buf, mut events, mut calls) = (BytesMut::from(wire), Vec::new(), 0);
        loop {
            calls += 1;
            r.receive(&mut buf, &mut events).unwrap();
            if !r.has_work_left() {
                break;
            }
            assert!(events.is_empty(), "the message before its work is done");
        }
        assert!(buf.is_empty());
        (events, calls)
    }

    #[test]
    fn a_large_compressed_frame_is_inflated_over_several_bounded_calls() {
        let text = "κόσμε ".repeat(2 << 20); // 22 MiB of text
        let mut deflated = Vec::new();
        codec(false)
            .compress_message(text.as_bytes(), &mut deflated)
            .unwrap();
        let (received, calls) = receive_bounded(&compressed_text_frames(&deflated, usize::MAX));
        assert_eq!(received, vec![msg(text.as_bytes(), false)]);
        assert!(calls >= 5, "{calls} calls for 22 MiB at 4 MiB a call");
        // Unbounded (the sans-IO default): one call.
        let (_, mut s) = pair(0);
        s.receive_data(&compressed_text_frames(&deflated, usize::MAX))
            .unwrap();
        assert_eq!(events(&mut s), vec![msg(text.as_bytes(), false)]);
    }

    #[test]
    fn empty_final_blocks_are_inflated_over_several_bounded_calls() {
        // 1 MiB of `03 00` (empty DEFLATE streams), then a stream of its own with "ok".
        let mut ok = Vec::new();
        codec(false).compress_message(b"ok", &mut ok).unwrap();
        let mut wire = compressed_text_frames(&[0x03, 0x00].repeat(512 << 10), usize::MAX);
        wire[0] &= 0x7f; // not final: "ok" follows in a continuation
        wire.extend(frame(true, OpCode::Continuation, &ok, true));
        let (received, calls) = receive_bounded(&wire);
        assert_eq!(received, vec![msg(b"ok", false)]);
        assert!(calls >= 4, "{calls} calls for 1 MiB at 256 KiB a call");
    }

    #[test]
    fn compressed_frames_arriving_in_pieces_are_inflated_as_they_arrive() {
        let text = "κόσμε ".repeat(20_000);
        let mut deflated = Vec::new();
        codec(false)
            .compress_message(text.as_bytes(), &mut deflated)
            .unwrap();
        for frame_size in [usize::MAX, 1000] {
            let wire = compressed_text_frames(&deflated, frame_size);
            for piece in [1, 7, 4096] {
                let (_, mut s) = pair(0);
                for chunk in wire.chunks(piece) {
                    s.receive_data(chunk).unwrap();
                }
                assert_eq!(
                    events(&mut s),
                    vec![msg(text.as_bytes(), false)],
                    "frames of {frame_size}, pieces of {piece}"
                );
            }
        }
    }

    #[test]
    fn uncompressed_messages_on_a_deflate_connection_stay_uncompressed() {
        let (_, mut s) = pair(0);
        s.receive_data(&frame(true, OpCode::Text, b"plain", true))
            .unwrap();
        assert_eq!(events(&mut s), vec![msg(b"plain", false)]);
    }
}

#[test]
fn receiver_pauses_when_its_message_budget_runs_out() {
    // Three 10-byte messages (the middle one fragmented) in one read, with a budget
    // of 15: two are decoded, the third waits in the buffer for a fresh budget.
    let mut input = frame(true, OpCode::Text, b"0123456789", false);
    input.extend(frame(false, OpCode::Binary, b"abcde", false));
    input.extend(frame(true, OpCode::Continuation, b"fghij", false));
    input.extend(frame(true, OpCode::Text, b"9876543210", false));
    let mut receiver = Receiver::new(ProtocolConfig::new(Role::Client));
    let (mut buf, mut got) = (BytesMut::new(), Vec::new());
    receiver.set_message_budget(15);
    receiver
        .receive_read(&mut buf, &mut input, &mut got)
        .unwrap();
    assert_eq!(got, [msg(b"0123456789", false), msg(b"abcdefghij", true)]);
    assert!(receiver.is_paused());
    assert!(!buf.is_empty());

    // A budget of 0 still lets one message through.
    receiver.set_message_budget(0);
    receiver.receive_read(&mut buf, &mut [], &mut got).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[2], msg(b"9876543210", false));
    assert!(buf.is_empty());
}
