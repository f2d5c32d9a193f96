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
#[path = "fake_router/mod.rs"]
mod fake_router;

use std::fmt::Debug;
use std::time::Duration;

use autobahn::wamp::error::Error;
use autobahn::wamp::message::*;
use autobahn::wamp::runner::{ApplicationRunner, RetryPolicy};
use autobahn::wamp::session::{ApplicationSession, Session};
use autobahn::wamp::types::*;
use autobahn::wamp::value::{Dict, Value};
use common::{bounded, EVENT_BOUND};
use fake_router::{router_details, Answers, Conn, Router};
use tokio::sync::mpsc;

const PROCEDURE: &str = "com.example.hostile";
const VIOLATION: &str = "wamp.error.protocol_violation";

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

/// The runner's next connection, after its HELLO was answered with WELCOME.
async fn joined(router: &mut Router) -> Conn {
    let c = router.open().await;
    assert!(matches!(
        router.msg_or_close(&c).await,
        Ok(Message::Hello(_))
    ));
    c.send(Welcome {
        session: c.number,
        details: router_details(),
    })
    .await;
    c
}

#[tokio::test]
async fn hostile_router_fails_sessions_cleanly_and_the_runner_reconnects() {
    common::init_tracing();
    bounded(async {
        let mut router = Router::start("127.0.0.1:0", Answers::Nothing).await;
        let runner = ApplicationRunner::new(router.url(), "realm1")
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
            let c = joined(&mut router).await;
            let Ok(Message::Call(call)) = router.msg_or_close(&c).await else {
                panic!("{hostility:?}: expected CALL")
            };
            match hostility {
                Garbage => c
                    .channel
                    .send_message("{this is not JSON", false)
                    .await
                    .unwrap(),
                Binary => c
                    .channel
                    .send_message(vec![0x93, 0, 1, 2], true)
                    .await
                    .unwrap(),
                UnknownRequest => c.send(result(call.request + 1000)).await,
                DuplicateAnswer => {
                    c.send(result(call.request)).await;
                    c.send(result(call.request)).await;
                }
                WrongState => c.send(Welcome::default()).await,
                HugeFrame => {
                    c.channel.begin_message(false, true).await.unwrap();
                    c.channel.begin_message_frame(1 << 40).await.unwrap();
                    c.channel.send_message_frame_data(b"[50,").await.unwrap();
                }
                Drop => c.channel.drop_connection(),
            }
            match hostility {
                Garbage | Binary => {
                    // Undecodable: the transport fails the connection at once (no
                    // WAMP message can follow bytes we cannot parse) with close 1002
                    // and drops it; the session reports the violation to everything
                    // pending.
                    assert_eq!(
                        router.msg_or_close(&c).await.unwrap_err(),
                        Some(1002),
                        "{hostility:?}"
                    );
                    assert_eq!(outcome(&mut outcomes).await, Outcome::ProtocolViolation);
                }
                UnknownRequest | DuplicateAnswer | WrongState => {
                    match router.msg_or_close(&c).await {
                        Ok(Message::Abort(a)) => assert_eq!(a.reason, VIOLATION, "{hostility:?}"),
                        other => panic!("{hostility:?}: expected ABORT, got {other:?}"),
                    }
                    // Then the client closes the transport.
                    assert!(
                        router.msg_or_close(&c).await.is_err(),
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
                    assert_eq!(
                        router.msg_or_close(&c).await.unwrap_err(),
                        Some(1009),
                        "close code"
                    );
                    assert_eq!(outcome(&mut outcomes).await, Outcome::TransportLost);
                }
                Drop => assert_eq!(outcome(&mut outcomes).await, Outcome::TransportLost),
            }
        }

        // A router that behaves: the runner is still there and the call succeeds.
        let c = joined(&mut router).await;
        let Ok(Message::Call(call)) = router.msg_or_close(&c).await else {
            panic!("expected CALL")
        };
        c.send(result(call.request)).await;
        assert_eq!(outcome(&mut outcomes).await, Outcome::Ok);
        stop.stop();
        match router.msg_or_close(&c).await {
            Ok(Message::Goodbye(_)) => {
                c.send(Goodbye {
                    details: Dict::new(),
                    reason: "wamp.close.goodbye_and_out".into(),
                })
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
