//! A hostile WAMP router over a real WebSocket (loopback) against `ApplicationRunner`:
//! garbage instead of JSON, a binary frame for a text serializer, an answer to an
//! unknown request id, a duplicate answer, a message that is wrong for the session's
//! state, a frame announcing 1 TiB, and a connection dropped in the middle of a call.
//!
//! Each time the session fails cleanly — ABORT `wamp.error.protocol_violation` for
//! valid messages that break the protocol, WebSocket close 1002 (then the connection
//! dropped) for bytes that do not decode, close 1009 for the huge frame — the call the component had pending
//! resolves with the matching error (none hangs), and the runner reconnects; on the
//! last connection the router behaves and the call succeeds.
#![cfg(feature = "wamp")]

mod common;

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use autobahn::dict;
use autobahn::wamp::error::Error;
use autobahn::wamp::message::*;
use autobahn::wamp::runner::{ApplicationRunner, RetryPolicy};
use autobahn::wamp::serializer::for_subprotocol;
use autobahn::wamp::session::{ApplicationSession, Session};
use autobahn::wamp::types::*;
use autobahn::wamp::value::{Dict, Value};
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{
    WebSocketChannel, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use common::{bounded, EVENT_BOUND};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

const PROCEDURE: &str = "com.example.hostile";
const VIOLATION: &str = "wamp.error.protocol_violation";

#[derive(Debug)]
enum RouterEv {
    Open(u64, WebSocketChannel),
    Msg(u64, Message),
    Closed(u64, Option<u16>),
}

/// Reports every connection, decoded message and close to the test, which scripts
/// all answers itself.
struct Spy {
    number: u64,
    channel: WebSocketChannel,
    events: mpsc::UnboundedSender<RouterEv>,
}

impl WebSocketServerHandler for Spy {
    async fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        if request.protocols.iter().any(|p| p == "wamp.2.json") {
            Ok(ConnectionAccept::with_subprotocol("wamp.2.json".to_owned()))
        } else {
            Err(ConnectionDeny::new(400, Some("wamp.2.json only")))
        }
    }
}

impl WebSocketHandler for Spy {
    async fn on_open(&mut self) {
        let _ = self
            .events
            .send(RouterEv::Open(self.number, self.channel.clone()));
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let s = for_subprotocol("wamp.2.json").expect("json");
        for m in s
            .unserialize(&payload, is_binary)
            .expect("client sends JSON")
        {
            let _ = self.events.send(RouterEv::Msg(self.number, m));
        }
    }

    async fn on_close(&mut self, _was_clean: bool, code: Option<u16>, _reason: Option<String>) {
        let _ = self.events.send(RouterEv::Closed(self.number, code));
    }
}

struct Router {
    addr: SocketAddr,
    events: mpsc::UnboundedReceiver<RouterEv>,
    task: JoinHandle<()>,
}

impl Drop for Router {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Router {
    async fn start() -> Router {
        let factory = WebSocketServerFactory::new("ws://127.0.0.1");
        let listener = factory.listen("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (tx, events) = mpsc::unbounded_channel();
        let count = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(async move {
            let _ = factory
                .serve(listener, move |channel| Spy {
                    number: count.fetch_add(1, Ordering::Relaxed) + 1,
                    channel,
                    events: tx.clone(),
                })
                .await;
        });
        Router { addr, events, task }
    }

    async fn next(&mut self) -> RouterEv {
        tokio::time::timeout(EVENT_BOUND, self.events.recv())
            .await
            .expect("router waited too long")
            .expect("router gone")
    }

    /// The next connection (closes of older ones are skipped).
    async fn open(&mut self) -> (u64, WebSocketChannel) {
        loop {
            match self.next().await {
                RouterEv::Open(n, ch) => return (n, ch),
                RouterEv::Closed(..) => {}
                other => panic!("expected a new connection, got {other:?}"),
            }
        }
    }

    /// The next message on connection `n`; `None` if it closed first (with its code).
    async fn msg(&mut self, n: u64) -> Result<Message, Option<u16>> {
        loop {
            match self.next().await {
                RouterEv::Msg(m, msg) if m == n => return Ok(msg),
                RouterEv::Closed(m, code) if m == n => return Err(code),
                RouterEv::Closed(m, _) if m < n => {}
                other => panic!("expected a message on connection {n}, got {other:?}"),
            }
        }
    }
}

async fn send(channel: &WebSocketChannel, msg: impl Into<Message>) {
    let s = for_subprotocol("wamp.2.json").expect("json");
    let bytes = s.serialize(&msg.into()).expect("serialize");
    channel.send_message(bytes, false).await.expect("send");
}

/// How a pending call ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    ProtocolViolation,
    TransportLost,
    Other(String),
}

/// Calls `PROCEDURE` on every join and reports how the call ended.
struct Caller {
    outcomes: mpsc::UnboundedSender<Outcome>,
}

impl ApplicationSession for Caller {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        let (session, tx) = (session.clone(), self.outcomes.clone());
        // Not awaited in the hook: the call stays pending while the router misbehaves.
        tokio::spawn(async move {
            let r = session
                .call(PROCEDURE, vec![], Dict::new(), CallOptions::default())
                .await;
            let _ = tx.send(match r {
                Ok(_) => Outcome::Ok,
                Err(Error::ProtocolViolation(_)) => Outcome::ProtocolViolation,
                Err(Error::TransportLost) => Outcome::TransportLost,
                Err(e) => Outcome::Other(e.to_string()),
            });
        });
    }
}

/// What the router does once the component's CALL arrived.
#[derive(Debug, Clone, Copy)]
enum Hostility {
    /// A text message that is not JSON.
    Garbage,
    /// A binary message on a JSON session.
    Binary,
    /// RESULT for a request id never used.
    UnknownRequest,
    /// RESULT twice for the same call.
    DuplicateAnswer,
    /// WELCOME in an established session.
    WrongState,
    /// A frame announcing 1 TiB (a few bytes of it sent).
    HugeFrame,
    /// The TCP connection dropped while the call is pending.
    Drop,
}

fn router_details() -> Dict {
    dict! {"roles" => Value::Dict(dict! {"dealer" => Value::Dict(dict! {})})}
}

fn result(request: u64) -> ResultMessage {
    ResultMessage {
        request,
        details: Dict::new(),
        args: Some(vec![Value::from(1)]),
        kwargs: None,
    }
}

async fn outcome(rx: &mut mpsc::UnboundedReceiver<Outcome>) -> Outcome {
    tokio::time::timeout(EVENT_BOUND, rx.recv())
        .await
        .expect("a pending call hangs")
        .expect("component gone")
}

#[tokio::test]
async fn hostile_router_fails_sessions_cleanly_and_the_runner_reconnects() {
    common::init_tracing();
    bounded(async {
        let mut router = Router::start().await;
        let runner = ApplicationRunner::new(format!("ws://{}/ws", router.addr), "realm1")
            .serializers(["json"])
            .retry_policy(RetryPolicy {
                initial_retry_delay: Duration::from_millis(10),
                max_retry_delay: Duration::from_millis(50),
                retry_delay_jitter: 0.0,
                ..RetryPolicy::default()
            });
        let stop = runner.stop_handle();
        let (tx, mut outcomes) = mpsc::unbounded_channel();
        let run = tokio::spawn(async move { runner.run(|_| Caller { outcomes: tx }).await });
        use Hostility::*;
        for hostility in [
            Garbage,
            Binary,
            UnknownRequest,
            DuplicateAnswer,
            WrongState,
            HugeFrame,
            Drop,
        ] {
            let (n, ch) = router.open().await;
            assert!(matches!(router.msg(n).await, Ok(Message::Hello(_))));
            send(
                &ch,
                Welcome {
                    session: n,
                    details: router_details(),
                },
            )
            .await;
            let Ok(Message::Call(call)) = router.msg(n).await else {
                panic!("{hostility:?}: expected CALL")
            };
            match hostility {
                Garbage => ch.send_message("{this is not JSON", false).await.unwrap(),
                Binary => ch.send_message(vec![0x93, 0, 1, 2], true).await.unwrap(),
                UnknownRequest => send(&ch, result(call.request + 1000)).await,
                DuplicateAnswer => {
                    send(&ch, result(call.request)).await;
                    send(&ch, result(call.request)).await;
                }
                WrongState => send(&ch, Welcome::default()).await,
                HugeFrame => {
                    ch.begin_message(false, true).await.unwrap();
                    ch.begin_message_frame(1 << 40).await.unwrap();
                    ch.send_message_frame_data(b"[50,").await.unwrap();
                }
                Drop => ch.drop_connection(),
            }
            match hostility {
                Garbage | Binary => {
                    // Undecodable: the transport fails the connection at once (no
                    // WAMP message can follow bytes we cannot parse) with close 1002
                    // and drops it; the session reports the violation to everything
                    // pending.
                    assert_eq!(
                        router.msg(n).await.unwrap_err(),
                        Some(1002),
                        "{hostility:?}"
                    );
                    assert_eq!(outcome(&mut outcomes).await, Outcome::ProtocolViolation);
                }
                UnknownRequest | DuplicateAnswer | WrongState => {
                    match router.msg(n).await {
                        Ok(Message::Abort(a)) => assert_eq!(a.reason, VIOLATION, "{hostility:?}"),
                        other => panic!("{hostility:?}: expected ABORT, got {other:?}"),
                    }
                    // Then the client closes the transport.
                    assert!(
                        router.msg(n).await.is_err(),
                        "{hostility:?}: nothing after ABORT"
                    );
                    let want = if matches!(hostility, DuplicateAnswer) {
                        Outcome::Ok // the first answer resolved the call
                    } else {
                        Outcome::ProtocolViolation
                    };
                    assert_eq!(outcome(&mut outcomes).await, want, "{hostility:?}");
                }
                HugeFrame => {
                    assert_eq!(router.msg(n).await.unwrap_err(), Some(1009), "close code");
                    assert_eq!(outcome(&mut outcomes).await, Outcome::TransportLost);
                }
                Drop => assert_eq!(outcome(&mut outcomes).await, Outcome::TransportLost),
            }
        }

        // A router that behaves: the runner is still there and the call succeeds.
        let (n, ch) = router.open().await;
        assert!(matches!(router.msg(n).await, Ok(Message::Hello(_))));
        send(
            &ch,
            Welcome {
                session: n,
                details: router_details(),
            },
        )
        .await;
        let Ok(Message::Call(call)) = router.msg(n).await else {
            panic!("expected CALL")
        };
        send(&ch, result(call.request)).await;
        assert_eq!(outcome(&mut outcomes).await, Outcome::Ok);
        stop.stop();
        match router.msg(n).await {
            Ok(Message::Goodbye(_)) => {
                send(
                    &ch,
                    Goodbye {
                        details: Dict::new(),
                        reason: "wamp.close.goodbye_and_out".into(),
                    },
                )
                .await
            }
            other => panic!("expected GOODBYE, got {other:?}"),
        }
        tokio::time::timeout(EVENT_BOUND, run)
            .await
            .expect("runner did not stop")
            .expect("runner task")
            .expect("runner result");
    })
    .await;
}
