//! What one received WAMP message may cost in memory once decoded
//! (`max_decoded_size`), measured with a counting global allocator (this binary holds
//! only these tests; they take turns on `counting_alloc::MEASURING`).
//!
//! The shape that amplifies most is a list of one-entry dicts: 3 bytes each in
//! MessagePack (`81 a0 c0`) and CBOR (`a1 60 f6`), 8 in JSON (`{"":0},`), and a
//! `BTreeMap` leaf node of over 600 bytes each once decoded. Every serializer, plain
//! and batched, and both transports (a scripted router on loopback) stop such a
//! message at the budget, having allocated no more than the budget plus a constant;
//! payloads that do not amplify (strings, binary data) of 16 MiB still decode with
//! the default budget.
#![cfg(feature = "wamp")]

mod common;
mod counting_alloc;

use autobahn::rawsocket::handshake::{accept_reply, SerializerId};
use autobahn::rawsocket::{encode_frame, FrameKind};
use autobahn::wamp::error::SerializationError;
use autobahn::wamp::message::Message;
use autobahn::wamp::rawsocket_transport::{RawSocketOptions, RawSocketTransport};
use autobahn::wamp::serializer::{for_subprotocol, Serializer, DEFAULT_MAX_DECODED_SIZE};
use autobahn::wamp::transport::{Transport, TransportError};
use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use autobahn::wamp::Value;
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{
    WebSocketChannel, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use common::{bounded, start_server};
use counting_alloc::{peak_during, Counting, MEASURING};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[global_allocator]
static GLOBAL: Counting = Counting;

const BUDGET: usize = 1 << 20;
/// Entries of the amplifying list: 50,000 one-entry dicts decode to over 30 MB.
const ENTRIES: usize = 50_000;
/// What decoding may allocate besides the budget: the `Message` built from the
/// decoded list, serde_json's scratch buffer, the error.
const SLACK: usize = 64 << 10;

/// EVENT `[36, 1, 2, {}, [{"": null} × n]]` in `format` (`json`, `msgpack`, `cbor`,
/// `ubjson`).
fn amplifying_event(format: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        "json" => {
            out.extend_from_slice(b"[36,1,2,{},[");
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"\":0}");
            }
            out.extend_from_slice(b"]]");
        }
        "msgpack" => {
            out.extend_from_slice(&[0x95, 36, 1, 2, 0x80, 0xdd]);
            out.extend_from_slice(&(n as u32).to_be_bytes());
            for _ in 0..n {
                out.extend_from_slice(&[0x81, 0xa0, 0xc0]);
            }
        }
        "cbor" => {
            out.extend_from_slice(&[0x85, 0x18, 36, 1, 2, 0xa0, 0x9a]);
            out.extend_from_slice(&(n as u32).to_be_bytes());
            for _ in 0..n {
                out.extend_from_slice(&[0xa1, 0x60, 0xf6]);
            }
        }
        "ubjson" => {
            // `{` key "" (`U 0`) `Z` `}`: 5 bytes each, the same in both dialects.
            out.extend_from_slice(b"[U\x24U\x01U\x02{}[");
            for _ in 0..n {
                out.extend_from_slice(b"{U\x00Z}");
            }
            out.extend_from_slice(b"]]");
        }
        other => panic!("no serializer {other}"),
    }
    out
}

/// `payload` as the one message of a batch of `s`'s kind.
fn batch_of(s: &dyn Serializer, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if s.serializer_id() == "json" {
        out.extend_from_slice(payload);
        out.push(0x1e);
    } else {
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out
}

/// The smallest budget (to 256 KiB) with which `payload` decodes.
fn smallest_budget(s: &dyn Serializer, payload: &[u8]) -> usize {
    let (mut low, mut high) = (0usize, DEFAULT_MAX_DECODED_SIZE);
    assert!(s.unserialize_limited(payload, s.is_binary(), high).is_ok());
    while high - low > 256 << 10 {
        let mid = low + (high - low) / 2;
        if s.unserialize_limited(payload, s.is_binary(), mid).is_ok() {
            high = mid;
        } else {
            low = mid;
        }
    }
    high
}

#[test]
fn amplifying_messages_stop_at_the_budget_in_every_serializer() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    for format in ["json", "msgpack", "cbor", "ubjson"] {
        let event = amplifying_event(format, ENTRIES);
        for batched in [false, true] {
            let name = format!("wamp.2.{format}{}", if batched { ".batched" } else { "" });
            let s = for_subprotocol(&name).unwrap();
            let payload = if batched {
                batch_of(&*s, &event)
            } else {
                event.clone()
            };

            // Unbounded, the payload really amplifies: what the budget prevents.
            let (full, full_peak) =
                peak_during(|| s.unserialize_limited(&payload, s.is_binary(), usize::MAX));
            let full = full.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(full.len(), 1);
            assert!(
                full_peak > 10 * BUDGET,
                "{name}: unbounded decoding took only {full_peak} bytes"
            );
            drop(full);

            let (limited, peak) =
                peak_during(|| s.unserialize_limited(&payload, s.is_binary(), BUDGET));
            match limited {
                Err(SerializationError::TooLarge { format: f, limit }) => {
                    assert_eq!((f, limit), (s.serializer_id(), BUDGET), "{name}")
                }
                other => panic!("{name}: {other:?}"),
            }
            assert!(
                peak <= BUDGET + SLACK,
                "{name}: {peak} bytes allocated with a budget of {BUDGET}"
            );
            // What decoding charges (the smallest budget that decodes it, to 256 KiB)
            // is an upper bound of what it allocates (a batch adds only its slot).
            let charged = if batched {
                0
            } else {
                smallest_budget(&*s, &payload)
            };
            assert!(
                batched || full_peak <= charged + SLACK,
                "{name}: allocated {full_peak} bytes, charged {charged}"
            );
            eprintln!(
                "{name}: {} bytes; unbounded {full_peak} bytes decoded ({}x), {charged} charged; \
                 budget {BUDGET}: TooLarge after {peak} bytes",
                payload.len(),
                full_peak / payload.len()
            );
        }
    }
}

#[test]
fn charges_cover_what_big_dicts_and_lists_allocate() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let s = for_subprotocol("wamp.2.msgpack").unwrap();
    let kwargs: autobahn::wamp::Dict = (0..20_000)
        .map(|i| (format!("k{i}"), Value::from(i)))
        .collect();
    let args: Vec<Value> = (0..100_000).map(|i| Value::from(i % 100)).collect();
    let event = Message::Event(autobahn::wamp::message::Event {
        subscription: 1,
        publication: 2,
        details: Default::default(),
        args: Some(args),
        kwargs: Some(kwargs),
    });
    let payload = s.serialize(&event).unwrap();
    drop(event);
    let (r, peak) = peak_during(|| s.unserialize(&payload, true));
    assert!(r.is_ok());
    drop(r);
    let charged = smallest_budget(&*s, &payload);
    assert!(
        peak <= charged + SLACK,
        "allocated {peak} bytes, charged {charged}"
    );
    eprintln!(
        "{} bytes: {peak} allocated, {charged} charged",
        payload.len()
    );
}

/// Found by the `wamp_cbor` fuzz target: lists nested as deep as allowed, each
/// header claiming 152 elements (`98 98` in CBOR, `dc 00 98` in MessagePack) and
/// none delivered. Each level used to reserve its `MAX_PREALLOC` slots, 2 KiB per
/// 2 input bytes; reservations ahead of the elements are now held to one slot
/// per input byte over the whole payload.
#[test]
fn nested_lying_list_headers_reserve_at_most_one_slot_per_byte() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    for (name, level) in [
        ("wamp.2.cbor", &[0x98, 0x98][..]),
        ("wamp.2.msgpack", &[0xdc, 0x00, 0x98][..]),
        ("wamp.2.ubjson", &b"[#U\x98"[..]),
    ] {
        let s = for_subprotocol(name).unwrap();
        let payload = level.repeat(100);
        // Counted on this thread only: exact, whatever the harness does elsewhere.
        let (result, peak) = peak_during(|| {
            s.unserialize_limited(&payload, s.is_binary(), DEFAULT_MAX_DECODED_SIZE)
        });
        assert!(result.is_err(), "{name}: {result:?}");
        eprintln!("{name}: {} bytes allocated {peak}", payload.len());
        let bound = 32 * payload.len() + 4096;
        assert!(
            peak <= bound,
            "{name}: {} bytes allocated {peak} (bound {bound})",
            payload.len()
        );
    }
}

#[test]
fn a_batch_shares_one_budget() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let s = for_subprotocol("wamp.2.msgpack.batched").unwrap();
    // Each message alone fits 1 MiB; the two together do not.
    let one = amplifying_event("msgpack", 1000);
    let single = s.unserialize_limited(&batch_of(&*s, &one), true, BUDGET);
    assert_eq!(single.map(|m| m.len()).ok(), Some(1));
    let mut two = batch_of(&*s, &one);
    for _ in 0..2 {
        two.extend_from_slice(&batch_of(&*s, &one));
    }
    let mut budget = 0;
    // The smallest budget that still decodes one message decodes no three.
    for limit in (0..=BUDGET).step_by(4096) {
        if s.unserialize_limited(&batch_of(&*s, &one), true, limit)
            .is_ok()
        {
            budget = limit;
            break;
        }
    }
    assert!(budget > 0, "1000 dicts did not fit 1 MiB");
    assert!(matches!(
        s.unserialize_limited(&two, true, budget),
        Err(SerializationError::TooLarge { .. })
    ));
}

#[test]
fn plain_sixteen_mib_payloads_fit_the_default_budget() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let blob = vec![0x5au8; 16 << 20];
    let text = "x".repeat(16 << 20);
    let event = |arg: Value| {
        Message::Event(autobahn::wamp::message::Event {
            subscription: 1,
            publication: 2,
            details: Default::default(),
            args: Some(vec![arg]),
            kwargs: None,
        })
    };
    for name in ["wamp.2.json", "wamp.2.msgpack", "wamp.2.cbor"] {
        let s = for_subprotocol(name).unwrap();
        for arg in [Value::bytes(blob.clone()), Value::String(text.clone())] {
            let payload = s.serialize(&event(arg)).unwrap();
            let (r, peak) = peak_during(|| s.unserialize(&payload, s.is_binary()));
            assert_eq!(r.map(|m| m.len()).ok(), Some(1), "{name}");
            // The decoded copy, plus (JSON) serde_json's scratch copy of an escaped
            // string: the binary form starts with `\u0000`.
            assert!(
                peak <= 3 * payload.len() && peak < DEFAULT_MAX_DECODED_SIZE,
                "{name}: {peak} bytes for {}",
                payload.len()
            );
        }
    }
}

/// `recv` reports the over-budget message as a protocol error, then the end.
async fn expect_over_budget(t: &mut impl Transport) {
    match t.recv().await {
        Some(Err(TransportError::Protocol(why))) => {
            assert!(why.contains("max_decoded_size (1048576 bytes)"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert!(t.recv().await.is_none(), "the transport is done");
}

/// Accepts one RawSocket client with MessagePack, then sends it `payload` as one message.
async fn rawsocket_router(payload: Vec<u8>) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 4];
        s.read_exact(&mut hello).await.unwrap();
        s.write_all(&accept_reply(24, SerializerId::MSGPACK))
            .await
            .unwrap();
        let mut frame = bytes::BytesMut::new();
        encode_frame(FrameKind::Message, &payload, 1 << 24, &mut frame).unwrap();
        s.write_all(&frame).await.unwrap();
        // Hold the socket until the client gives up on it.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest).await;
    });
    (addr, task)
}

#[tokio::test]
// Holding the measurement turn for the whole test is the point: each test has its own
// runtime thread, so the others just wait.
#[allow(clippy::await_holding_lock)]
async fn rawsocket_transport_fails_an_over_budget_message() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    bounded(async {
        let (addr, router) = rawsocket_router(amplifying_event("msgpack", ENTRIES)).await;
        let options = RawSocketOptions {
            serializer: SerializerId::MSGPACK,
            max_decoded_size: BUDGET,
            ..RawSocketOptions::default()
        };
        let mut t = RawSocketTransport::connect(&format!("rs://{addr}"), &options)
            .await
            .unwrap();
        expect_over_budget(&mut t).await;
        drop(t);
        router.await.unwrap();
    })
    .await;
}

/// A WebSocket router speaking `wamp.2.msgpack` that sends `payload` on open and
/// reports the close code it gets.
struct Sender {
    channel: WebSocketChannel,
    payload: Vec<u8>,
    closed: tokio::sync::mpsc::UnboundedSender<Option<u16>>,
}

impl WebSocketServerHandler for Sender {
    async fn on_connect(
        &mut self,
        _request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        Ok(ConnectionAccept::with_subprotocol(
            "wamp.2.msgpack".to_owned(),
        ))
    }
}

impl WebSocketHandler for Sender {
    async fn on_open(&mut self) {
        let payload = std::mem::take(&mut self.payload);
        let _ = self.channel.send_message(payload, true).await;
    }

    async fn on_close(&mut self, _was_clean: bool, code: Option<u16>, _reason: Option<String>) {
        let _ = self.closed.send(code);
    }
}

#[tokio::test]
// Holding the measurement turn for the whole test is the point: each test has its own
// runtime thread, so the others just wait.
#[allow(clippy::await_holding_lock)]
async fn websocket_transport_fails_an_over_budget_message() {
    let _turn = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    bounded(async {
        let payload = amplifying_event("msgpack", ENTRIES);
        let (closed, mut close_code) = tokio::sync::mpsc::unbounded_channel();
        let server = start_server(
            WebSocketServerFactory::new("ws://127.0.0.1"),
            move |channel| Sender {
                channel,
                payload: payload.clone(),
                closed: closed.clone(),
            },
        )
        .await;
        let config = WebSocketTransportConfig {
            max_decoded_size: BUDGET,
            ..WebSocketTransportConfig::with_subprotocols(["wamp.2.msgpack"])
        };
        let mut t = WebSocketTransport::connect(&server.url("/"), &config)
            .await
            .unwrap();
        expect_over_budget(&mut t).await;
        // The router is told why: close 1009 (message too big).
        assert_eq!(close_code.recv().await, Some(Some(1009)));
    })
    .await;
}
