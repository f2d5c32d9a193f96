//! Prepared messages in the sans-IO sender: the bytes equal what `send_message` sends, and
//! a peer with the same parameters decodes them.

use bytes::{Bytes, BytesMut};

use super::*;

/// Everything `send` queues on a fresh sender built by `make`.
fn wire(make: impl Fn() -> Sender, send: impl FnOnce(&mut Sender, &mut Outgoing)) -> Vec<u8> {
    let mut sender = make();
    let mut out = Outgoing::new();
    send(&mut sender, &mut out);
    out.take_all()
}

fn server_config(auto_fragment_size: usize) -> ProtocolConfig {
    let mut config = ProtocolConfig::new(Role::Server);
    config.auto_fragment_size = auto_fragment_size;
    config
}

fn decode(receiver: &mut Receiver, wire: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    receiver
        .receive(&mut BytesMut::from(wire), &mut events)
        .expect("decodes");
    events
}

fn text(n: usize) -> Bytes {
    Bytes::from("fan-out to many, ".repeat(n))
}

#[test]
fn uncompressed_prepared_frames_equal_send_message_and_share_the_payload() {
    for (fragment, payload) in [
        (0, text(1)),
        (0, text(60)),
        (0, text(2_000)),
        (1000, text(2_000)),
    ] {
        let make = || Sender::new(server_config(fragment));
        let prepared = PreparedMessage::new(payload.clone(), false);
        let expected = wire(make, |s, out| {
            s.send_message(out, payload.clone(), false).expect("send")
        });
        let got = wire(make, |s, out| {
            s.send_prepared(out, &prepared).expect("send")
        });
        assert_eq!(got, expected, "fragment size {fragment}");
        assert_eq!(prepared.compressions(), 0);
    }

    // Large and unfragmented: the queue holds the prepared payload itself, not a copy.
    let payload = text(2_000);
    let prepared = PreparedMessage::new(payload.clone(), true);
    let mut sender = Sender::new(server_config(0));
    let mut out = Outgoing::new();
    sender.send_prepared(&mut out, &prepared).expect("send");
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    let n = out.as_io_slices(&mut slices);
    assert!(slices[..n].iter().any(|s| s.as_ptr() == payload.as_ptr()));
}

#[test]
fn a_small_server_frame_is_encoded_once_and_queued_by_reference() {
    // 1 KiB: every connection queues the same encoded frame (header and payload), no copy.
    let prepared = PreparedMessage::new(text(60), true);
    let queued: Vec<Outgoing> = (0..2)
        .map(|_| {
            let mut out = Outgoing::new();
            let mut sender = Sender::new(server_config(0));
            sender.send_prepared(&mut out, &prepared).expect("send");
            out
        })
        .collect();
    let frame_starts: Vec<*const u8> = queued
        .iter()
        .map(|out| {
            let mut slices = [std::io::IoSlice::new(&[]); 4];
            assert_eq!(
                out.as_io_slices(&mut slices),
                1,
                "one piece: the whole frame"
            );
            assert_eq!(slices[0].len(), 4 + text(60).len());
            slices[0].as_ptr()
        })
        .collect();
    assert_eq!(frame_starts[0], frame_starts[1], "the same bytes, shared");
    assert_eq!(
        decode(
            &mut Receiver::new(ProtocolConfig::new(Role::Client)),
            &{ queued }[0].take_all()
        ),
        [Event::Message {
            payload: text(60),
            is_binary: true
        }]
    );
}

#[test]
fn client_prepared_frames_are_masked_per_connection_and_decode() {
    let prepared = PreparedMessage::new(text(10), false);
    let mut sender = Sender::new(ProtocolConfig::new(Role::Client));
    let mut out = Outgoing::new();
    sender.send_prepared(&mut out, &prepared).expect("send");
    let wire = out.take_all();
    assert_ne!(wire[1] & 0x80, 0, "masked");
    let mut receiver = Receiver::new(ProtocolConfig::new(Role::Server));
    assert_eq!(
        decode(&mut receiver, &wire),
        [Event::Message {
            payload: text(10),
            is_binary: false
        }]
    );
}

#[test]
fn prepared_messages_follow_the_send_rules() {
    let prepared = PreparedMessage::new("x", false);
    let mut sender = Sender::new(server_config(0));
    let mut out = Outgoing::new();
    sender.begin_message(false, false).expect("begin");
    assert!(matches!(
        sender.send_prepared(&mut out, &prepared),
        Err(SendError::MessageInProgress)
    ));
    sender.end_message(&mut out).expect("end");
    sender
        .send_close(&mut out, Some(1000), None)
        .expect("close");
    assert!(matches!(
        sender.send_prepared(&mut out, &prepared),
        Err(SendError::Closing)
    ));
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use crate::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};

    fn params(no_context_takeover: bool, window_bits: u8) -> PerMessageDeflateParams {
        PerMessageDeflateParams {
            server_no_context_takeover: no_context_takeover,
            server_max_window_bits: window_bits,
            ..PerMessageDeflateParams::default()
        }
    }

    fn deflate_sender(params: PerMessageDeflateParams, fragment: usize) -> Sender {
        let mut sender = Sender::new(server_config(fragment));
        sender.set_deflate(PerMessageDeflate::new(true, params), 0);
        sender
    }

    fn deflate_receiver(params: PerMessageDeflateParams) -> Receiver {
        let mut receiver = Receiver::new(ProtocolConfig::new(Role::Client));
        receiver.set_deflate(PerMessageDeflate::new(false, params));
        receiver
    }

    #[test]
    fn no_context_takeover_compresses_once_per_setting_with_send_message_bytes() {
        let payload = text(1_000);
        let prepared = PreparedMessage::new(payload.clone(), false);
        for (fragment, bits) in [(0, 15), (0, 15), (500, 15), (0, 10), (0, 10), (0, 15)] {
            let p = params(true, bits);
            let expected = wire(
                || deflate_sender(p, fragment),
                |s, out| s.send_message(out, payload.clone(), false).expect("send"),
            );
            let got = wire(
                || deflate_sender(p, fragment),
                |s, out| s.send_prepared(out, &prepared).expect("send"),
            );
            assert_eq!(
                got, expected,
                "window bits {bits}, fragment size {fragment}"
            );
            assert_eq!(got[0] & 0x40, 0x40, "compressed (RSV1)");
            assert!(got.len() < payload.len() / 4);
            assert_eq!(
                decode(&mut deflate_receiver(p), &got),
                [Event::Message {
                    payload: payload.clone(),
                    is_binary: false
                }]
            );
        }
        // Six connections, two settings (window bits 15 and 10).
        assert_eq!(prepared.compressions(), 2);
    }

    #[test]
    fn context_takeover_compresses_per_connection_in_its_own_history() {
        let p = params(false, 15);
        let first = text(50);
        let prepared = PreparedMessage::new(first.clone(), false);
        let mut sender = deflate_sender(p, 0);
        let mut receiver = deflate_receiver(p);
        let mut out = Outgoing::new();
        // Twice on one connection: the second refers back to the first.
        sender.send_prepared(&mut out, &prepared).expect("send");
        let once = out.len();
        sender.send_prepared(&mut out, &prepared).expect("send");
        assert!(out.len() - once < once, "the second copy uses the history");
        let events = decode(&mut receiver, &out.take_all());
        let message = Event::Message {
            payload: first,
            is_binary: false,
        };
        assert_eq!(events, [message.clone(), message]);
        assert_eq!(prepared.compressions(), 2);
    }

    #[test]
    fn below_the_threshold_a_prepared_message_goes_uncompressed() {
        let p = params(true, 15);
        let prepared = PreparedMessage::new(text(1), false);
        let mut sender = Sender::new(server_config(0));
        sender.set_deflate(PerMessageDeflate::new(true, p), 1024);
        let mut out = Outgoing::new();
        sender.send_prepared(&mut out, &prepared).expect("send");
        let wire = out.take_all();
        assert_eq!(wire[0] & 0x40, 0, "not compressed");
        assert_eq!(prepared.compressions(), 0);
        assert_eq!(
            decode(&mut deflate_receiver(p), &wire),
            [Event::Message {
                payload: text(1),
                is_binary: false
            }]
        );
    }
}
