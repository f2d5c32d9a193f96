//! A hostile WAMP router over a real WebSocket (loopback) against `ApplicationRunner`:
//! garbage instead of JSON, a binary frame for a text serializer, an answer to an
//! unknown request id, a duplicate answer, a message that is wrong for the session's
//! state, a frame announcing 1 TiB, a connection dropped in the middle of a call, and
//! an INVOCATION reusing the request id of one still running; and a router that never
//! answers HELLO (the runner's join timeout).
//!
//! Each time the session fails cleanly — ABORT `wamp.error.protocol_violation` for
//! valid messages that break the protocol, WebSocket close 1002 (then the connection
//! dropped) for bytes that do not decode, close 1009 for the huge frame — every request
//! the component had pending (a call, a subscribe, a register, an acknowledged publish)
//! resolves with the matching error (none hangs), and the runner reconnects; on the
//! last connection the router behaves and all four succeed.
#![cfg(feature = "wamp")]

mod common;
#[path = "fake_router/mod.rs"]
mod fake_router;

use std::fmt::Debug;
use std::time::Duration;

use autobahn::wamp::error::Error;
use autobahn::wamp::message::*;
use autobahn::wamp::runner::{ApplicationRunner, RetryPolicy, StopHandle};
use autobahn::wamp::session::{ApplicationSession, Session};
use autobahn::wamp::types::*;
use autobahn::wamp::value::{Dict, Value};
use common::{bounded, EVENT_BOUND};
use fake_router::{router_details, Answers, Conn, Router};
use tokio::sync::mpsc;

const PROCEDURE: &str = "com.example.hostile";
const TOPIC: &str = "com.example.hostile.topic";
const ENDPOINT: &str = "com.example.hostile.endpoint";
const VIOLATION: &str = "wamp.error.protocol_violation";

/// How a pending call ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Ok,
    ProtocolViolation,
    TransportLost,
    Other(String),
}

/// The requests the component makes on every join.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Request {
    Call,
    Subscribe,
    Register,
    Publish,
}

const REQUESTS: [Request; 4] = [
    Request::Call,
    Request::Subscribe,
    Request::Register,
    Request::Publish,
];

fn outcome_of<T>(r: Result<T, Error>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(Error::ProtocolViolation(_)) => Outcome::ProtocolViolation,
        Err(Error::TransportLost) => Outcome::TransportLost,
        Err(e) => Outcome::Other(e.to_string()),
    }
}

/// On every join calls `PROCEDURE`, subscribes to `TOPIC`, registers `ENDPOINT` (whose
/// invocations never end) and publishes to `TOPIC` with acknowledge, each in its own
/// task, and reports how each request ended.
struct Caller {
    outcomes: mpsc::UnboundedSender<(Request, Outcome)>,
}

impl ApplicationSession for Caller {
    async fn on_join(&mut self, session: &Session, _details: SessionDetails) {
        // Not awaited in the hook: the requests stay pending while the router misbehaves.
        for request in REQUESTS {
            let (session, tx) = (session.clone(), self.outcomes.clone());
            tokio::spawn(async move {
                let outcome = match request {
                    Request::Call => outcome_of(
                        session
                            .call(PROCEDURE, vec![], Dict::new(), CallOptions::default())
                            .await,
                    ),
                    Request::Subscribe => outcome_of(
                        session
                            .subscribe(TOPIC, |_, _, _| async { Ok(()) }, Default::default())
                            .await,
                    ),
                    Request::Register => outcome_of(
                        session
                            .register(
                                ENDPOINT,
                                |_, _, _| std::future::pending(),
                                Default::default(),
                            )
                            .await,
                    ),
                    Request::Publish => outcome_of(
                        session
                            .publish(
                                TOPIC,
                                vec![],
                                Dict::new(),
                                PublishOptions {
                                    acknowledge: true,
                                    ..Default::default()
                                },
                            )
                            .await,
                    ),
                };
                let _ = tx.send((request, outcome));
            });
        }
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
    /// REGISTERED, then the same INVOCATION twice (its request id still running).
    DuplicateInvocation,
}

fn result(request: u64) -> ResultMessage {
    ResultMessage {
        request,
        details: Dict::new(),
        args: Some(vec![Value::from(1)]),
        kwargs: None,
    }
}

/// How the four requests of one join ended, in [`REQUESTS`] order.
async fn outcomes(rx: &mut mpsc::UnboundedReceiver<(Request, Outcome)>) -> Vec<Outcome> {
    let mut got = Vec::new();
    for _ in REQUESTS {
        let o = tokio::time::timeout(EVENT_BOUND, rx.recv())
            .await
            .expect("a pending request hangs")
            .expect("component gone");
        got.push(o);
    }
    got.sort_by_key(|(r, _)| *r);
    got.into_iter().map(|(_, o)| o).collect()
}

/// The four requests of one join, as the router received them.
struct Requests {
    call: Call,
    subscribe: Subscribe,
    register: Register,
    publish: Publish,
}

async fn requests(router: &mut Router, c: &Conn) -> Requests {
    let (mut call, mut subscribe, mut register, mut publish) = (None, None, None, None);
    for _ in REQUESTS {
        match router.msg_or_close(c).await {
            Ok(Message::Call(m)) => call = Some(m),
            Ok(Message::Subscribe(m)) => subscribe = Some(m),
            Ok(Message::Register(m)) => register = Some(m),
            Ok(Message::Publish(m)) => publish = Some(m),
            other => panic!("expected the four requests, got {other:?}"),
        }
    }
    Requests {
        call: call.expect("CALL"),
        subscribe: subscribe.expect("SUBSCRIBE"),
        register: register.expect("REGISTER"),
        publish: publish.expect("PUBLISH"),
    }
}

/// A router that behaves: every request of the join gets its answer.
async fn answer_all(c: &Conn, r: &Requests) {
    c.send(result(r.call.request)).await;
    c.send(Subscribed {
        request: r.subscribe.request,
        subscription: 78,
    })
    .await;
    c.send(registered(r)).await;
    c.send(Published {
        request: r.publish.request,
        publication: 79,
    })
    .await;
}

fn registered(r: &Requests) -> Registered {
    Registered {
        request: r.register.request,
        registration: 77,
    }
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

/// The runner under test, running a [`Caller`] in its own task.
struct App {
    stop: StopHandle,
    outcomes: mpsc::UnboundedReceiver<(Request, Outcome)>,
    run: tokio::task::JoinHandle<Result<Caller, Error>>,
}

/// Starts a runner for `router` (JSON, retrying after 10–50 ms, no jitter), as
/// `configure` adjusts it.
fn start(router: &Router, configure: impl FnOnce(ApplicationRunner) -> ApplicationRunner) -> App {
    let runner = configure(
        ApplicationRunner::new(router.url(), "realm1")
            .serializers(["json"])
            .retry_policy(RetryPolicy {
                initial_retry_delay: Duration::from_millis(10),
                max_retry_delay: Duration::from_millis(50),
                retry_delay_jitter: 0.0,
                ..RetryPolicy::default()
            }),
    );
    let stop = runner.stop_handle();
    let (tx, outcomes) = mpsc::unbounded_channel();
    let run = tokio::spawn(async move { runner.run(|_| Caller { outcomes: tx }).await });
    App {
        stop,
        outcomes,
        run,
    }
}

impl App {
    /// The next connection behaves: every request of the join succeeds. Then the
    /// runner is stopped, its GOODBYE answered, and it must end cleanly.
    async fn behaving_router_then_stop(mut self, router: &mut Router) {
        let c = joined(router).await;
        answer_all(&c, &requests(router, &c).await).await;
        assert_eq!(outcomes(&mut self.outcomes).await, vec![Outcome::Ok; 4]);
        self.stop.stop();
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
        tokio::time::timeout(EVENT_BOUND, self.run)
            .await
            .expect("runner did not stop")
            .expect("runner task")
            .expect("runner result");
    }
}

#[tokio::test]
async fn hostile_router_fails_sessions_cleanly_and_the_runner_reconnects() {
    common::init_tracing();
    bounded(async {
        let mut router = Router::start("127.0.0.1:0", Answers::Nothing).await;
        let mut app = start(&router, |runner| runner);
        use Hostility::*;
        let violation = vec![Outcome::ProtocolViolation; 4];
        let lost = vec![Outcome::TransportLost; 4];
        for hostility in [
            Garbage,
            Binary,
            UnknownRequest,
            DuplicateAnswer,
            WrongState,
            HugeFrame,
            Drop,
            DuplicateInvocation,
        ] {
            let c = joined(&mut router).await;
            let r = requests(&mut router, &c).await;
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
                UnknownRequest => c.send(result(r.call.request + 1000)).await,
                DuplicateAnswer => {
                    c.send(result(r.call.request)).await;
                    c.send(result(r.call.request)).await;
                }
                WrongState => c.send(Welcome::default()).await,
                HugeFrame => {
                    c.channel.begin_message(false, true).await.unwrap();
                    c.channel.begin_message_frame(1 << 40).await.unwrap();
                    c.channel.send_message_frame_data(b"[50,").await.unwrap();
                }
                Drop => c.channel.drop_connection(),
                DuplicateInvocation => {
                    c.send(registered(&r)).await;
                    let invocation = Invocation {
                        request: 5,
                        registration: 77,
                        details: Dict::new(),
                        args: None,
                        kwargs: None,
                    };
                    c.send(invocation.clone()).await;
                    c.send(invocation).await;
                }
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
                    assert_eq!(
                        outcomes(&mut app.outcomes).await,
                        violation,
                        "{hostility:?}"
                    );
                }
                UnknownRequest | DuplicateAnswer | WrongState | DuplicateInvocation => {
                    match router.msg_or_close(&c).await {
                        Ok(Message::Abort(a)) => assert_eq!(a.reason, VIOLATION, "{hostility:?}"),
                        other => panic!("{hostility:?}: expected ABORT, got {other:?}"),
                    }
                    // Then the client closes the transport.
                    assert!(
                        router.msg_or_close(&c).await.is_err(),
                        "{hostility:?}: nothing after ABORT"
                    );
                    let mut want = violation.clone();
                    match hostility {
                        // The first answer resolved the call.
                        DuplicateAnswer => want[0] = Outcome::Ok,
                        // REGISTERED came before the violation.
                        DuplicateInvocation => want[2] = Outcome::Ok,
                        _ => {}
                    }
                    assert_eq!(outcomes(&mut app.outcomes).await, want, "{hostility:?}");
                }
                HugeFrame => {
                    assert_eq!(
                        router.msg_or_close(&c).await.unwrap_err(),
                        Some(1009),
                        "close code"
                    );
                    assert_eq!(outcomes(&mut app.outcomes).await, lost, "{hostility:?}");
                }
                Drop => assert_eq!(outcomes(&mut app.outcomes).await, lost, "{hostility:?}"),
            }
        }

        // A router that behaves: the runner is still there and every request succeeds.
        app.behaving_router_then_stop(&mut router).await;
    })
    .await;
}

/// A router that accepts the transport and never answers HELLO: the runner closes the
/// connection at its join timeout (300 ms here) and reconnects; the next connection,
/// answered, joins.
#[tokio::test]
async fn router_silent_after_hello_is_left_at_the_join_timeout() {
    bounded(async {
        const JOIN_TIMEOUT: Duration = Duration::from_millis(300);
        let mut router = Router::start("127.0.0.1:0", Answers::Nothing).await;
        let app = start(&router, |runner| runner.join_timeout(Some(JOIN_TIMEOUT)));

        let c = router.open().await;
        assert!(matches!(
            router.msg_or_close(&c).await,
            Ok(Message::Hello(_))
        ));
        let t0 = std::time::Instant::now();
        assert!(
            router.msg_or_close(&c).await.is_err(),
            "the runner closes the silent connection"
        );
        let waited = t0.elapsed();
        assert!(
            waited >= JOIN_TIMEOUT - Duration::from_millis(50) && waited < EVENT_BOUND,
            "closed after {waited:?}"
        );

        app.behaving_router_then_stop(&mut router).await;
    })
    .await;
}
