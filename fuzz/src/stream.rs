//! Harness of `ws_server_stream` / `ws_client_stream` (and their permessage-deflate
//! variants `ws_server_deflate_stream` / `ws_client_deflate_stream`): a [`Connection`]
//! fed an arbitrary byte stream, whole and in pieces, with its events, output and
//! memory checked; and in streaming mode, whose pieces must add up to the same messages.
//!
//! Input layout: `[max_msg, max_frame, flags, k, k piece lengths..., stream...]`,
//! with deflate `[max_msg, max_frame, flags, deflate, k, …]`
//! * `max_msg`: `max_message_payload_size = (max_msg + 1) * 256` (256 B … 64 KiB)
//! * `max_frame`: `max_frame_payload_size = max_frame * 64` (0 = unlimited)
//! * `flags`: bit 0 `echo_close_code_reason`; bit 1 server: do not require masked
//!   frames / client: accept masked frames; bit 2 `apply_mask = false`;
//!   bit 3 `utf8_validate_incoming = false`
//! * `deflate` (deflate targets only): the negotiated parameters, see [`deflate_params`]
//! * `k % 16` piece lengths cut the stream for the split run.

use autobahn::websocket::frame::{close_code, FrameHeader, OpCode};
use autobahn::websocket::mask::apply_mask as unmask;
use autobahn::websocket::protocol::{
    CloseState, Connection, Event, ProtocolConfig, ProtocolViolation, Role,
};

use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};

use crate::{alloc, piece_ends, split_input};

/// Memory the code under test may hold beyond the payloads it delivers, with deflate:
/// the zlib inflate state (≈ 47 KiB) and small bookkeeping.
const MEMORY_SLACK_DEFLATE: usize = 128 * 1024;
/// The same without deflate: bookkeeping only.
const MEMORY_SLACK_PLAIN: usize = 16 * 1024;
/// Per input byte buffered: the read buffer and its growth, event queue entries.
const MEMORY_PER_INPUT_BYTE: usize = 96;

/// Streams up to this length are also fed one byte at a time.
const BYTEWISE_MAX: usize = 512;

/// A frame our connection wrote, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFrame {
    /// Its opcode.
    pub opcode: OpCode,
    /// Its payload, unmasked.
    pub payload: Vec<u8>,
}

/// What one run produced.
#[derive(Debug)]
struct Outcome {
    events: Vec<Event>,
    result: Result<(), ProtocolViolation>,
    frames: Vec<OutFrame>,
    state: CloseState,
}

/// Builds the configuration from the 3 header bytes.
pub fn config(role: Role, h: &[u8]) -> ProtocolConfig {
    let mut c = ProtocolConfig::new(role);
    let b = |i: usize| h.get(i).copied().unwrap_or(0);
    c.max_message_payload_size = (usize::from(b(0)) + 1) * 256;
    c.max_frame_payload_size = usize::from(b(1)) * 64;
    let flags = b(2);
    c.echo_close_code_reason = flags & 1 != 0;
    if flags & 2 != 0 {
        match role {
            Role::Server => c.require_masked_incoming = false,
            Role::Client => c.accept_masked_incoming = true,
        }
    }
    c.apply_mask = flags & 4 == 0;
    c.utf8_validate_incoming = flags & 8 == 0;
    c
}

/// Decodes the frames in our own output; anything malformed is a bug. With
/// `apply_mask` off (Autobahn's testing option) a key is sent but not applied.
pub fn decode_output(mut out: &[u8], expect_masked: bool, apply_mask: bool) -> Vec<OutFrame> {
    let mut frames = Vec::new();
    while !out.is_empty() {
        let (h, n) = match FrameHeader::parse(out) {
            Ok(Some(x)) => x,
            other => panic!("our output does not start with a frame header: {other:?} {out:02x?}"),
        };
        assert!(
            h.fin && !h.rsv1 && !h.rsv2 && !h.rsv3,
            "control frame header {h:?}"
        );
        assert!(h.opcode.is_control(), "unexpected data frame {h:?}");
        assert_eq!(h.mask.is_some(), expect_masked, "masking of {h:?}");
        let len = usize::try_from(h.payload_len).expect("small");
        assert!(len <= 125, "control payload {len}");
        let end = n + len;
        assert!(end <= out.len(), "truncated frame in output");
        let mut payload = out[n..end].to_vec();
        if let (Some(key), true) = (h.mask, apply_mask) {
            unmask(&mut payload, key);
        }
        frames.push(OutFrame {
            opcode: h.opcode,
            payload,
        });
        out = &out[end..];
    }
    frames
}

/// The permessage-deflate parameters from the `deflate` header byte: bit 0
/// `server_no_context_takeover`, bit 1 `client_no_context_takeover`, bits 2–4 the
/// server's window bits − 8, bits 5–7 the client's window bits − 8.
pub fn deflate_params(d: u8) -> PerMessageDeflateParams {
    PerMessageDeflateParams {
        server_no_context_takeover: d & 1 != 0,
        client_no_context_takeover: d & 2 != 0,
        server_max_window_bits: 8 + ((d >> 2) & 7),
        client_max_window_bits: 8 + (d >> 5),
        ..PerMessageDeflateParams::default()
    }
}

fn new_connection(config: &ProtocolConfig, deflate: Option<PerMessageDeflateParams>) -> Connection {
    let mut conn = Connection::new(config.clone());
    if let Some(params) = deflate {
        let is_server = config.role == Role::Server;
        conn.set_deflate(
            PerMessageDeflate::new(is_server, params),
            PerMessageDeflate::new(is_server, params),
            0,
        );
    }
    conn
}

/// Payload bytes an event holds.
fn event_bytes(ev: &Event) -> usize {
    match ev {
        Event::Message { payload, .. } | Event::FrameData(payload) => payload.len(),
        Event::Ping(p) | Event::Pong(p) => p.len(),
        Event::Close { reason, .. } => reason.as_ref().map_or(0, String::capacity),
        Event::FrameBegin { .. } | Event::FrameEnd { .. } => 0,
    }
}

/// How the pieces reach the connection.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// `receive_data`: every piece is buffered, then decoded.
    Buffered,
    /// `receive_read`: each piece is a read buffer decoded in place while nothing is
    /// buffered (the tokio layer's path).
    Reads,
    /// `receive_read` in streaming mode: messages handed out as they arrive.
    Streaming,
}

/// Streaming events put back together as messages; the events must nest properly
/// (pieces inside frames, a first frame only between messages, no empty piece). A message
/// still in progress at the end is left out.
fn reassemble(events: Vec<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    let mut message: Option<(bool, Vec<u8>)> = None;
    let mut in_frame = false;
    for ev in events {
        match ev {
            Event::FrameBegin {
                first, is_binary, ..
            } => {
                assert!(!in_frame, "a frame begins inside a frame");
                assert_eq!(first, message.is_none(), "first frame out of place");
                if first {
                    message = Some((is_binary, Vec::new()));
                }
                assert_eq!(message.as_ref().map(|m| m.0), Some(is_binary));
                in_frame = true;
            }
            Event::FrameData(piece) => {
                assert!(!piece.is_empty(), "an empty piece");
                assert!(in_frame, "a piece outside a frame");
                if let Some((_, data)) = message.as_mut() {
                    data.extend_from_slice(&piece);
                }
            }
            Event::FrameEnd { last } => {
                assert!(in_frame, "a frame ends that did not begin");
                in_frame = false;
                if last {
                    let (is_binary, data) = message.take().expect("a message in progress");
                    out.push(Event::Message {
                        payload: data.into(),
                        is_binary,
                    });
                }
            }
            Event::Message { .. } => panic!("a whole message in streaming mode"),
            other => out.push(other),
        }
    }
    out
}

fn feed(
    config: &ProtocolConfig,
    deflate: Option<PerMessageDeflateParams>,
    ends: &[usize],
    stream: &[u8],
    how: Feed,
) -> Outcome {
    let mut conn = new_connection(config, deflate);
    conn.set_streaming(matches!(how, Feed::Streaming));
    let mut events = Vec::new();
    let mut result = Ok(());
    let mut output = Vec::new();
    let mut start = 0;
    for &end in ends {
        let failed_before = result.is_err();
        let before = events.len();
        // The read buffer `receive_read` decodes in place is the caller's: made before
        // measuring, and only in that mode.
        let mut read =
            matches!(how, Feed::Reads | Feed::Streaming).then(|| stream[start..end].to_vec());
        let (r, peak) = alloc::peak_during(|| match read.as_deref_mut() {
            Some(piece) => conn.receive_read(piece),
            None => conn.receive_data(&stream[start..end]),
        });
        start = end;
        if failed_before {
            // A failed connection ignores everything that follows.
            assert_eq!(r, Ok(()), "receive_data after failure");
        } else {
            result = r;
        }
        events.extend(std::iter::from_fn(|| conn.next_event()));
        // Limits are checked before allocating: what one call allocated is what it
        // delivered, at most one message in progress (capacity ≤ limit + 1), and a
        // constant per buffered input byte — never an announced length.
        let delivered: usize = events[before..].iter().map(event_bytes).sum();
        let bound = delivered
            + 2 * (config.max_message_payload_size + 1)
            + MEMORY_PER_INPUT_BYTE * end
            + if deflate.is_some() {
                MEMORY_SLACK_DEFLATE
            } else {
                MEMORY_SLACK_PLAIN
            };
        assert!(
            peak <= bound,
            "receive_data allocated {peak} bytes (bound {bound}, {end} input bytes, {delivered} delivered)"
        );
        let out = conn.take_output();
        if failed_before {
            assert_eq!(events.len(), before, "events after failure");
            assert!(out.is_empty(), "output after failure");
        }
        output.extend(out);
    }
    if matches!(how, Feed::Streaming) {
        events = reassemble(events);
    }
    Outcome {
        events,
        result,
        frames: decode_output(&output, config.mask_outgoing, config.apply_mask),
        state: conn.state().clone(),
    }
}

fn close_frame(code: Option<u16>, reason: Option<&str>) -> OutFrame {
    let mut payload = Vec::new();
    if let Some(c) = code {
        payload.extend_from_slice(&c.to_be_bytes());
        if let Some(r) = reason {
            payload.extend_from_slice(r.as_bytes());
        }
    }
    OutFrame {
        opcode: OpCode::Close,
        payload,
    }
}

fn check(config: &ProtocolConfig, compressed: bool, stream: &[u8], o: &Outcome) {
    let max_msg = config.max_message_payload_size;
    let mut total = 0usize;
    let mut expected = Vec::new();
    let mut closed = false;
    for ev in &o.events {
        assert!(!closed, "event after the peer's close: {ev:?}");
        match ev {
            Event::Message { payload, is_binary } => {
                total += payload.len();
                assert!(
                    payload.len() <= max_msg,
                    "message of {} > {max_msg}",
                    payload.len()
                );
                if !is_binary && config.utf8_validate_incoming {
                    assert!(
                        std::str::from_utf8(payload).is_ok(),
                        "invalid UTF-8 delivered"
                    );
                }
            }
            Event::Ping(p) => {
                total += p.len();
                assert!(p.len() <= 125);
                expected.push(OutFrame {
                    opcode: OpCode::Pong,
                    payload: p.to_vec(),
                });
            }
            Event::Pong(p) => {
                total += p.len();
                assert!(p.len() <= 125);
            }
            Event::Close { code, reason } => {
                closed = true;
                if let Some(c) = code {
                    assert!(close_code::is_sendable(*c), "close code {c}");
                } else {
                    assert!(reason.is_none());
                }
                total += reason.as_ref().map_or(0, String::len) + 2 * usize::from(code.is_some());
                expected.push(match (config.echo_close_code_reason, code) {
                    (true, Some(c)) => close_frame(Some(*c), reason.as_deref()),
                    (_, None) => close_frame(None, None),
                    (false, Some(_)) => close_frame(Some(close_code::NORMAL), None),
                });
            }
            other => panic!("a streaming event without streaming: {other:?}"),
        }
    }
    // Without compression payloads are views of the stream: no amplification.
    assert!(
        compressed || total <= stream.len(),
        "{total} payload bytes from {} input bytes",
        stream.len()
    );
    match &o.result {
        Err(v) => {
            assert!(!closed, "failure after the peer's close");
            assert!(
                matches!(
                    v.code,
                    close_code::PROTOCOL_ERROR
                        | close_code::INVALID_PAYLOAD
                        | close_code::MESSAGE_TOO_BIG
                ),
                "violation code {}",
                v.code
            );
            expected.push(close_frame(Some(v.code), Some(v.reason)));
            assert_eq!(o.state, CloseState::Failed(*v));
        }
        Ok(()) if closed => assert_eq!(o.state, CloseState::Closed),
        Ok(()) => assert_eq!(o.state, CloseState::Open),
    }
    assert_eq!(o.frames, expected, "output frames vs. events/result");
}

/// The whole target: never panics, invariants hold, and whole, split and byte-wise
/// feeding agree, buffered (`receive_data`) and in place (`receive_read`).
pub fn run(role: Role, data: &[u8]) {
    run_with(role, data, false);
}

/// [`run`] with permessage-deflate negotiated (parameters from the 4th header byte).
pub fn run_deflate(role: Role, data: &[u8]) {
    run_with(role, data, true);
}

fn run_with(role: Role, data: &[u8], with_deflate: bool) {
    let Some((header, lengths, stream)) = split_input(data, 3 + usize::from(with_deflate)) else {
        return;
    };
    let config = config(role, header);
    let deflate = with_deflate.then(|| deflate_params(header[3]));
    let whole = feed(&config, deflate, &[stream.len()], stream, Feed::Buffered);
    check(&config, with_deflate, stream, &whole);
    let mut runs = vec![vec![stream.len()], piece_ends(lengths, stream.len())];
    if stream.len() <= BYTEWISE_MAX {
        runs.push((0..=stream.len()).collect());
    }
    let runs = runs.into_iter().enumerate().flat_map(|(i, ends)| {
        let buffered = (i > 0).then(|| (ends.clone(), Feed::Buffered));
        buffered
            .into_iter()
            .chain([(ends.clone(), Feed::Reads), (ends, Feed::Streaming)])
    });
    for (ends, how) in runs {
        let split = feed(&config, deflate, &ends, stream, how);
        assert_eq!(
            whole.events, split.events,
            "events differ for pieces {ends:?} ({how:?})"
        );
        if matches!(how, Feed::Streaming) {
            // The same verdict; its reason may differ (a limit seen on a frame's header
            // or on its data).
            assert_eq!(
                whole.result.map_err(|v| v.code),
                split.result.map_err(|v| v.code),
                "result differs for pieces {ends:?} ({how:?}): {:?} vs {:?}",
                whole.result,
                split.result
            );
        } else {
            assert_eq!(
                whole.result, split.result,
                "result differs for pieces {ends:?} ({how:?})"
            );
            assert_eq!(
                whole.frames, split.frames,
                "output differs for pieces {ends:?} ({how:?})"
            );
        }
        assert_eq!(whole.state, split.state);
    }
}
