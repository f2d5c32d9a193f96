//! A hostile router floods EVENTs at a subscriber whose handler is blocked, over a real
//! socket, for both WAMP transports. The session must stop reading once its byte
//! budget and the transport's are spent, so the heap the whole process grows by
//! (counted by a global allocator in this test binary) stays near those bounds, far
//! below the 64 MiB the router tries to send, and the router's writes stall. Once the
//! handler is released, every event arrives, in order, and the session still works (a
//! call is answered).
//!
//! "The router's writes stall" is a non-event: it is seen as no progress over a quiet
//! window of real time. A loaded machine can only make a stall look earlier than it
//! is, which lowers what we measure, so the heap assertion cannot fail spuriously.
#![cfg(feature = "wamp")]

mod common;
mod counting_alloc;
#[path = "fake_router/mod.rs"]
mod fake_router;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use autobahn::rawsocket::handshake::{accept_reply, SerializerId};
use autobahn::rawsocket::{encode_frame, FrameKind, RawSocketOptions, RawSocketTransport};
use autobahn::wamp::message::{self, Message};
use autobahn::wamp::serializer::{for_subprotocol, Serializer};
use autobahn::wamp::session::Lifecycle;
use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use autobahn::wamp::{
    CallOptions, ComponentConfig, Dict, HelloDetails, Session, SubscribeOptions, Value,
};
use autobahn::websocket::options::ClientOptions;
use autobahn::websocket::WebSocketClientFactory;
use common::{bounded, EVENT_BOUND};
use counting_alloc::{peak_above, reset_peak, Counting};
use fake_router::{Answers, Router};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Mutex};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Held by the test measuring the process-wide heap, so measurements do not overlap.
static MEASURING: Mutex<()> = Mutex::const_new(());

/// The session's budget, the transport's and the WebSocket client's read-ahead here.
const BOUND: usize = 1 << 20;
/// Size of each event's one argument.
const EVENT_ARG: usize = 64 << 10;
/// Events the router tries to send: 64 MiB, far more than the bounds and than what
/// the kernel buffers on loopback, so the router must stall.
const EVENTS: u64 = 1024;
/// Beyond the bounds: one message overshooting each, the frame or WebSocket message
/// being read (and its buffer's spare capacity), read buffers, the deflate states of
/// both ends, tokio.
const SLACK: usize = 4 << 20;
const TOPIC: &str = "com.example.flood";
const SUBSCRIPTION: u64 = 7;
const PROCEDURE: &str = "com.example.after_the_flood";

/// Event number `n` (its publication id) on `subscription`, with a 64 KiB argument of
/// hex digits that permessage-deflate cannot shrink much (the WebSocket client offers
/// it): the flood must be larger on the wire than what loopback buffers.
fn event(subscription: u64, n: u64) -> Message {
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let arg: String = (0..EVENT_ARG)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from_digit((x & 15) as u32, 16).unwrap_or('0')
        })
        .collect();
    Message::Event(message::Event {
        subscription,
        publication: n,
        details: Dict::new(),
        args: Some(vec![Value::from(arg)]),
        kwargs: None,
    })
}

/// Waits until the router has sent everything or made no progress for a second.
async fn until_stalled(sent: &AtomicUsize, total: usize) -> usize {
    let (mut last, mut quiet) = (usize::MAX, 0);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = sent.load(Ordering::Relaxed);
        if now >= total {
            return now;
        }
        if now == last {
            quiet += 1;
            if quiet == 10 {
                return now;
            }
        } else {
            (last, quiet) = (now, 0);
        }
    }
}

/// Joins and subscribes with a handler that holds every event until `open`, then
/// reports its publication id.
async fn subscribe_gated(
    session: &Session,
    lifecycle: &mut Lifecycle,
    open: watch::Receiver<bool>,
) -> mpsc::UnboundedReceiver<u64> {
    session.set_max_queued_bytes(BOUND);
    session.join(HelloDetails::new("realm1")).await.unwrap();
    while !matches!(
        lifecycle.next().await,
        Some(autobahn::wamp::session::SessionEvent::Joined(_))
    ) {}
    let (got_tx, got) = mpsc::unbounded_channel();
    let handler = move |_args: Vec<Value>, _kwargs: Dict, details: autobahn::wamp::EventDetails| {
        let mut open = open.clone();
        let got = got_tx.clone();
        async move {
            let _ = open.wait_for(|open| *open).await;
            let _ = got.send(details.publication);
            Ok(())
        }
    };
    session
        .subscribe(TOPIC, handler, SubscribeOptions::default())
        .await
        .unwrap();
    got
}

/// While the handler is blocked, the router's flood (`sent` counts its event bytes)
/// must stall with the heap under `buffers` times [`BOUND`] plus [`SLACK`]; then the gate opens and every event must
/// arrive in order, with the session's budget empty again.
async fn check_flood(
    buffers: usize,
    session: &Session,
    sent: &AtomicUsize,
    before: usize,
    open: watch::Sender<bool>,
    mut got: mpsc::UnboundedReceiver<u64>,
) {
    let total = EVENTS as usize * EVENT_ARG;
    let sent_then = until_stalled(sent, total).await;
    let grown = peak_above(before);
    eprintln!(
        "router sent {sent_then} of {total} event bytes before stalling; heap grew by {grown}; \
         the session holds {}",
        session.queued_bytes()
    );
    assert!(
        sent_then < total,
        "the router sent all {total} bytes: nothing pushed back"
    );
    let bound = buffers * BOUND + SLACK;
    assert!(grown <= bound, "heap grew by {grown}, bound {bound}");
    assert!(session.queued_bytes() <= BOUND + 2 * EVENT_ARG);

    open.send_replace(true);
    for n in 1..=EVENTS {
        let p = tokio::time::timeout(EVENT_BOUND, got.recv())
            .await
            .unwrap_or_else(|_| panic!("event {n} did not arrive"));
        assert_eq!(p, Some(n), "events in order");
    }
    assert_eq!(session.queued_bytes(), 0, "every charge released");
}

/// Accepts one RawSocket client with MessagePack; returns the connected stream.
async fn rawsocket_accept(listener: TcpListener) -> tokio::net::TcpStream {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut hello = [0u8; 4];
    s.read_exact(&mut hello).await.unwrap();
    s.write_all(&accept_reply(24, SerializerId::MSGPACK))
        .await
        .unwrap();
    s
}

/// Reads one RawSocket frame's message.
async fn read_msg(rd: &mut (impl AsyncRead + Unpin), s: &dyn Serializer) -> Option<Message> {
    let mut header = [0u8; 4];
    rd.read_exact(&mut header).await.ok()?;
    let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
    let mut payload = vec![0u8; len];
    rd.read_exact(&mut payload).await.ok()?;
    s.unserialize(&payload, true).ok()?.pop()
}

fn rawsocket_frame(s: &dyn Serializer, m: &Message) -> bytes::BytesMut {
    let mut frame = bytes::BytesMut::new();
    encode_frame(
        FrameKind::Message,
        &s.serialize(m).unwrap(),
        1 << 24,
        &mut frame,
    )
    .unwrap();
    frame
}

#[tokio::test]
async fn rawsocket_flood_to_a_blocked_subscriber_is_bounded() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let s: Arc<dyn Serializer> = Arc::from(for_subprotocol("wamp.2.msgpack").unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(rawsocket_accept(listener));
        let options = RawSocketOptions {
            serializer: SerializerId::MSGPACK,
            max_queued_bytes: BOUND,
            ..RawSocketOptions::default()
        };
        let transport = RawSocketTransport::connect(&format!("rs://{addr}"), &options)
            .await
            .unwrap();
        let (mut rd, mut wr) = accept.await.unwrap().into_split();
        let (session, mut lifecycle) = Session::start(transport, ComponentConfig::new("realm1"));

        // The router's side of the opening: WELCOME, SUBSCRIBED; then it reports the
        // messages it reads.
        let (open, open_rx) = watch::channel(false);
        let router = {
            let s = s.clone();
            async move {
                let hello = read_msg(&mut rd, &*s).await;
                assert!(matches!(hello, Some(Message::Hello(_))), "{hello:?}");
                let welcome = Message::Welcome(message::Welcome {
                    session: 1,
                    details: fake_router::router_details(),
                });
                wr.write_all(&rawsocket_frame(&*s, &welcome)).await.unwrap();
                let Some(Message::Subscribe(sub)) = read_msg(&mut rd, &*s).await else {
                    panic!("expected SUBSCRIBE");
                };
                let subscribed = Message::Subscribed(message::Subscribed {
                    request: sub.request,
                    subscription: SUBSCRIPTION,
                });
                wr.write_all(&rawsocket_frame(&*s, &subscribed))
                    .await
                    .unwrap();
                (rd, wr)
            }
        };
        let (got, (mut rd, mut wr)) =
            tokio::join!(subscribe_gated(&session, &mut lifecycle, open_rx), router);

        let sent = Arc::new(AtomicUsize::new(0));
        let before = reset_peak();
        let flood = {
            let (s, sent) = (s.clone(), sent.clone());
            tokio::spawn(async move {
                for n in 1..=EVENTS {
                    wr.write_all(&rawsocket_frame(&*s, &event(SUBSCRIPTION, n)))
                        .await
                        .unwrap();
                    sent.fetch_add(EVENT_ARG, Ordering::Relaxed);
                }
                wr
            })
        };
        // The session's budget, the transport's.
        check_flood(2, &session, &sent, before, open, got).await;
        let mut wr = flood.await.unwrap();

        // The session still works.
        let call = tokio::spawn({
            let session = session.clone();
            async move {
                session
                    .call(PROCEDURE, vec![], Dict::new(), CallOptions::default())
                    .await
            }
        });
        let Some(Message::Call(c)) = read_msg(&mut rd, &*s).await else {
            panic!("expected CALL");
        };
        assert_eq!(c.procedure, PROCEDURE);
        let result = Message::Result(message::ResultMessage {
            request: c.request,
            details: Dict::new(),
            args: Some(vec![Value::from("still here")]),
            kwargs: None,
        });
        wr.write_all(&rawsocket_frame(&*s, &result)).await.unwrap();
        let r = call.await.unwrap().unwrap();
        assert_eq!(r.value().as_str(), Some("still here"));
    })
    .await;
}

#[tokio::test]
async fn websocket_flood_to_a_blocked_subscriber_is_bounded() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let mut router = Router::start("127.0.0.1:0", Answers::Basics { abort: None }).await;
        let factory = WebSocketClientFactory::new(&router.url())
            .unwrap()
            .with_protocol_options(ClientOptions {
                max_queued_bytes: BOUND,
                ..ClientOptions::default()
            });
        let config = WebSocketTransportConfig {
            max_queued_bytes: BOUND,
            ..WebSocketTransportConfig::with_subprotocols(["wamp.2.json"])
        };
        let transport = WebSocketTransport::connect_with_factory(factory, &config)
            .await
            .unwrap();
        let (session, mut lifecycle) = Session::start(transport, ComponentConfig::new("realm1"));
        let conn = router.open().await;
        let (open, open_rx) = watch::channel(false);
        let got = subscribe_gated(&session, &mut lifecycle, open_rx).await;
        assert!(matches!(router.msg(&conn).await, Message::Hello(_)));
        assert!(matches!(router.msg(&conn).await, Message::Subscribe(_)));

        let sent = Arc::new(AtomicUsize::new(0));
        let before = reset_peak();
        let flood = {
            let (conn, sent) = (conn.clone(), sent.clone());
            tokio::spawn(async move {
                for n in 1..=EVENTS {
                    // Waits while the router's output is backlogged.
                    conn.send(event(conn.subscription(), n)).await;
                    sent.fetch_add(EVENT_ARG, Ordering::Relaxed);
                }
            })
        };
        // The session's budget, the transport's, the WebSocket client's read-ahead and
        // the router's output queue (1 MiB, in this process too).
        check_flood(4, &session, &sent, before, open, got).await;
        flood.await.unwrap();

        let call = tokio::spawn({
            let session = session.clone();
            async move {
                session
                    .call(PROCEDURE, vec![], Dict::new(), CallOptions::default())
                    .await
            }
        });
        let Message::Call(c) = router.msg(&conn).await else {
            panic!("expected CALL");
        };
        conn.send(message::ResultMessage {
            request: c.request,
            details: Dict::new(),
            args: Some(vec![Value::from("still here")]),
            kwargs: None,
        })
        .await;
        let r = call.await.unwrap().unwrap();
        assert_eq!(r.value().as_str(), Some("still here"));
    })
    .await;
}
