//! A hostile router floods EVENTs at a subscriber whose handler is blocked, over a real
//! socket, for both WAMP transports. The session must stop reading once its byte
//! budget and the transport's are spent, so the heap the whole process grows by
//! (counted by a global allocator in this test binary) stays near those bounds, far
//! below the 32 MiB the router tries to send, and the router's writes stall. Once the
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
#[path = "wamp_flood_memory/raw_router.rs"]
mod raw_router;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use autobahn::rawsocket::handshake::SerializerId;
use autobahn::rawsocket::{encode_frame, FrameKind};
use autobahn::wamp::message::{self, Message};
use autobahn::wamp::rawsocket_transport::{RawSocketOptions, RawSocketTransport};
use autobahn::wamp::session::{Lifecycle, SessionEvent};
use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use autobahn::wamp::{
    ApplicationError, CallDetails, CallOptions, CallResult, CallUpdate, ComponentConfig, Dict,
    EventDetails, HelloDetails, RegisterOptions, Session, SubscribeOptions, Value,
};
use autobahn::websocket::options::ClientOptions;
use autobahn::websocket::WebSocketClientFactory;
use common::{bounded, EVENT_BOUND};
use counting_alloc::{peak_above, reset_peak, Counting};
use fake_router::{Answers, Router};
use raw_router::{rawsocket_call_is_answered, rawsocket_session, RawRouter};
use tokio::io::AsyncWriteExt;
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
/// Events the router tries to send: 32 MiB, far more than the bounds and than what
/// the kernel buffers on loopback, so the router must stall.
const EVENTS: u64 = 512;
/// Beyond the bounds: one message overshooting each, the frame or WebSocket message
/// being read (and its buffer's spare capacity), read buffers, the deflate states of
/// both ends, tokio.
const SLACK: usize = 4 << 20;
const TOPIC: &str = "com.example.flood";
const SUBSCRIPTION: u64 = 7;
const PROCEDURE: &str = "com.example.after_the_flood";
const ENDPOINT: &str = "com.example.flooded_endpoint";
const REGISTRATION: u64 = 9;

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

/// Joins the realm (the router answers by itself or from `router`).
async fn join(session: &Session, lifecycle: &mut Lifecycle) {
    session.set_max_queued_bytes(BOUND);
    session.join(HelloDetails::new("realm1")).await.unwrap();
    while !matches!(lifecycle.next().await, Some(SessionEvent::Joined(_))) {}
}

/// Subscribes with a handler that holds every event until `open`, then reports its
/// publication id.
async fn subscribe_gated(
    session: &Session,
    open: watch::Receiver<bool>,
) -> mpsc::UnboundedReceiver<u64> {
    let (got_tx, got) = mpsc::unbounded_channel();
    let handler = move |_args: Vec<Value>, _kwargs: Dict, details: EventDetails| {
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
/// must stall with the heap under `buffers` times [`BOUND`] plus [`SLACK`]; then the
/// gate opens and every event must arrive (`ordered`: in order), and the session's
/// budget empty again.
async fn check_flood(
    buffers: usize,
    ordered: bool,
    session: &Session,
    sent: &AtomicUsize,
    before: usize,
    open: watch::Sender<bool>,
    mut got: mpsc::UnboundedReceiver<u64>,
) {
    let total = EVENTS as usize * EVENT_ARG;
    let sent_then = common::until_stalled(sent, total).await;
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
    let mut arrived = Vec::new();
    for n in 1..=EVENTS {
        let p = tokio::time::timeout(EVENT_BOUND, got.recv())
            .await
            .unwrap_or_else(|_| panic!("{n} of {EVENTS} arrived"));
        arrived.extend(p);
    }
    if !ordered {
        arrived.sort_unstable();
    }
    assert!(arrived.iter().copied().eq(1..=EVENTS), "all in order");
    // Handlers release their charge once they return, just after reporting.
    tokio::time::timeout(EVENT_BOUND, async {
        while session.queued_bytes() != 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every charge released");
}

#[tokio::test]
async fn rawsocket_flood_to_a_blocked_subscriber_is_bounded() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let (session, _lifecycle, mut router) = rawsocket_session().await;
        let (open, open_rx) = watch::channel(false);
        let subscribed = async {
            let Message::Subscribe(sub) = router.recv().await else {
                panic!("expected SUBSCRIBE");
            };
            router
                .send(Message::Subscribed(message::Subscribed {
                    request: sub.request,
                    subscription: SUBSCRIPTION,
                }))
                .await;
        };
        let (got, ()) = tokio::join!(subscribe_gated(&session, open_rx), subscribed);

        let before = reset_peak();
        let (sent, flood) = router.flood(EVENTS, |n| event(SUBSCRIPTION, n));
        // The session's budget, the transport's.
        check_flood(2, true, &session, &sent, before, open, got).await;
        router.flooded(flood).await;
        rawsocket_call_is_answered(&session, &mut router).await;
    })
    .await;
}

/// INVOCATIONs flooding an endpoint that does not finish: each running invocation
/// holds its arguments (and a task), so the session stops reading once they hold its
/// budget, instead of starting a task for every INVOCATION the router sends.
#[tokio::test]
async fn rawsocket_invocation_flood_to_a_blocked_endpoint_is_bounded() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let (session, _lifecycle, mut router) = rawsocket_session().await;
        let (open, open_rx) = watch::channel(false);
        let (got_tx, got) = mpsc::unbounded_channel();
        let endpoint = move |args: Vec<Value>, _kwargs: Dict, _details: CallDetails| {
            let mut open = open_rx.clone();
            let got = got_tx.clone();
            async move {
                let _ = open.wait_for(|open| *open).await;
                let n = args.get(1).and_then(Value::as_u64).unwrap_or(0);
                let _ = got.send(n);
                Ok(CallResult::new())
            }
        };
        let registered = async {
            let Message::Register(r) = router.recv().await else {
                panic!("expected REGISTER");
            };
            router
                .send(Message::Registered(message::Registered {
                    request: r.request,
                    registration: REGISTRATION,
                }))
                .await;
        };
        let (registration, ()) = tokio::join!(
            session.register(ENDPOINT, endpoint, RegisterOptions::default()),
            registered
        );
        registration.unwrap();

        let before = reset_peak();
        let (sent, flood) = router.flood(EVENTS, |n| {
            let Message::Event(e) = event(SUBSCRIPTION, n) else {
                unreachable!()
            };
            let mut args = e.args.unwrap_or_default();
            args.push(Value::from(n));
            Message::Invocation(message::Invocation {
                request: n,
                registration: REGISTRATION,
                details: Dict::new(),
                args: Some(args),
                kwargs: None,
            })
        });
        // The session's budget, the transport's.
        check_flood(2, false, &session, &sent, before, open, got).await;
        router.flooded(flood).await;
        // Every invocation was answered.
        let mut yields = 0;
        while yields < EVENTS {
            match router.recv().await {
                Message::Yield(_) => yields += 1,
                other => panic!("expected YIELD, got {other:?}"),
            }
        }
        rawsocket_call_is_answered(&session, &mut router).await;
    })
    .await;
}

/// Progressive results flooding a [`ProgressiveCall`](autobahn::wamp::ProgressiveCall)
/// the application does not poll: the results wait in the stream, counted against the
/// session's budget, and the session stops reading once they fill it.
#[tokio::test]
async fn rawsocket_progressive_results_not_taken_are_bounded() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let (session, _lifecycle, mut router) = rawsocket_session().await;
        let mut call = session
            .call_progressive(PROCEDURE, vec![], Dict::new(), CallOptions::default())
            .await;
        let Message::Call(c) = router.recv().await else {
            panic!("expected CALL");
        };
        let request = c.request;

        let before = reset_peak();
        let (sent, flood) = router.flood(EVENTS, move |n| {
            let Message::Event(e) = event(SUBSCRIPTION, n) else {
                unreachable!()
            };
            let mut args = e.args.unwrap_or_default();
            args.push(Value::from(n));
            Message::Result(message::ResultMessage {
                request,
                details: autobahn::dict! { "progress" => true },
                args: Some(args),
                kwargs: None,
            })
        });
        // The stream is the handler here: `check_flood` opens it by taking updates.
        let (open, mut open_rx) = watch::channel(false);
        let (got_tx, got) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let _ = open_rx.wait_for(|open| *open).await;
            while let Some(update) = call.next().await {
                match update.unwrap() {
                    CallUpdate::Progress(r) => {
                        let _ = got_tx.send(r.args.get(1).and_then(Value::as_u64).unwrap_or(0));
                    }
                    CallUpdate::Final(r) => return r,
                }
            }
            panic!("no final result");
        });
        // The session's budget, the transport's.
        check_flood(2, true, &session, &sent, before, open, got).await;
        router.flooded(flood).await;
        router
            .send(Message::Result(message::ResultMessage {
                request,
                details: Dict::new(),
                args: Some(vec![Value::from("done")]),
                kwargs: None,
            }))
            .await;
        let last = reader.await.unwrap();
        assert_eq!(last.value().as_str(), Some("done"));
        rawsocket_call_is_answered(&session, &mut router).await;
    })
    .await;
}

/// Small events whose handler fails, while the application does not read its
/// lifecycle: each failure is a `UserError` report, ~10 times the event's wire size.
/// Past 1 MiB of unread reports further ones are logged and dropped, so the heap stays
/// bounded and the session keeps reading.
#[tokio::test]
async fn rawsocket_user_errors_left_unread_are_bounded() {
    /// 200,000 EVENTs of ~20 bytes each on the wire.
    const SMALL_EVENTS: u64 = 200_000;
    /// What unread reports may hold.
    const REPORTS: usize = 1 << 20;
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let (session, mut lifecycle, mut router) = rawsocket_session().await;
        let failing = |_args: Vec<Value>, _kwargs: Dict, _details: EventDetails| async {
            Err(ApplicationError::new("com.example.oops"))
        };
        let subscribed = async {
            let Message::Subscribe(sub) = router.recv().await else {
                panic!("expected SUBSCRIBE");
            };
            router
                .send(Message::Subscribed(message::Subscribed {
                    request: sub.request,
                    subscription: SUBSCRIPTION,
                }))
                .await;
        };
        let (subscription, ()) = tokio::join!(
            session.subscribe(TOPIC, failing, SubscribeOptions::default()),
            subscribed
        );
        subscription.unwrap();

        let before = reset_peak();
        let (_sent, flood) = router.flood(SMALL_EVENTS, |n| {
            Message::Event(message::Event {
                subscription: SUBSCRIPTION,
                publication: n,
                details: Dict::new(),
                args: Some(vec![Value::from(1)]),
                kwargs: None,
            })
        });
        router.flooded(flood).await;
        // Answered after every event was read; then the handlers finish.
        rawsocket_call_is_answered(&session, &mut router).await;
        tokio::time::timeout(EVENT_BOUND, async {
            while session.queued_bytes() != 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("every event handled");
        let grown = peak_above(before);
        eprintln!("{SMALL_EVENTS} failing events: heap grew by {grown}");
        let bound = REPORTS + SLACK;
        assert!(grown <= bound, "heap grew by {grown}, bound {bound}");
        // The reports kept are there to read.
        assert!(matches!(
            lifecycle.next().await,
            Some(SessionEvent::UserError { .. })
        ));
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
        join(&session, &mut lifecycle).await;
        let got = subscribe_gated(&session, open_rx).await;
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
        // The session's budget, the WebSocket client's read-ahead (the transport has no
        // queue of its own) and the router's output queue (1 MiB, in this process too).
        check_flood(3, true, &session, &sent, before, open, got).await;
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

/// A router that sends PINGs and never reads the PONGs: the PONGs wait for the writer
/// within its 1 MiB budget (`SEND_HIGH_WATER`), then the reader waits for room and
/// stops reading, so the router stalls and the heap stays near that budget.
#[tokio::test]
async fn rawsocket_ping_flood_from_a_router_that_never_reads_is_bounded() {
    let _measuring = MEASURING.lock().await;
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(RawRouter::accept(listener));
        let options = RawSocketOptions {
            serializer: SerializerId::MSGPACK,
            ..RawSocketOptions::default()
        };
        let transport = RawSocketTransport::connect(&format!("rs://{addr}"), &options)
            .await
            .unwrap();
        let mut wr = accept.await.unwrap().wr.take().unwrap();
        let mut ping = bytes::BytesMut::new();
        encode_frame(FrameKind::Ping, &vec![0x5a; EVENT_ARG], 1 << 24, &mut ping).unwrap();

        let sent = Arc::new(AtomicUsize::new(0));
        let total = EVENTS as usize * EVENT_ARG;
        let before = reset_peak();
        let flood = {
            let sent = sent.clone();
            tokio::spawn(async move {
                for _ in 0..EVENTS {
                    if wr.write_all(&ping).await.is_err() {
                        break;
                    }
                    sent.fetch_add(EVENT_ARG, Ordering::Relaxed);
                }
            })
        };
        let sent_then = common::until_stalled(&sent, total).await;
        let grown = peak_above(before);
        eprintln!(
            "router sent {sent_then} of {total} PING bytes before stalling; heap grew by {grown}"
        );
        assert!(sent_then < total, "the router sent all {total} bytes");
        // The writer's budget (`SEND_HIGH_WATER`, 1 MiB).
        let bound = (1 << 20) + SLACK;
        assert!(grown <= bound, "heap grew by {grown}, bound {bound}");
        drop(transport);
        flood.await.unwrap();
    })
    .await;
}
