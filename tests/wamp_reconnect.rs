//! `ApplicationRunner::run` end to end against a fake WAMP-over-WebSocket router built
//! on our `WebSocketServerFactory`: reconnecting after a dropped connection and
//! restoring registrations and subscriptions, `stop()`, a first connect that fails
//! until the router appears, and an authentication failure that is not retried.
#![cfg(feature = "wamp")]

mod common;
#[path = "fake_router/mod.rs"]
mod fake_router;

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use autobahn::wamp::error::Error;
use autobahn::wamp::message::*;
use autobahn::wamp::runner::{ApplicationRunner, RetryPolicy};
use autobahn::wamp::session::{ApplicationSession, Registration, Session, Subscription};
use autobahn::wamp::types::*;
use autobahn::wamp::value::{Dict, Value};
use common::{bounded, EVENT_BOUND};
use fake_router::{Answers, Conn, Router, RouterEvent};
use tokio::sync::{mpsc, watch};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const PROCEDURE: &str = "com.example.add2";
const TOPIC: &str = "com.example.topic";
const READY: &str = "com.example.ready";
/// The router answers the session bookkeeping itself; the tests script the calls.
const BASICS: Answers = Answers::Basics { abort: None };

// ---------------------------------------------------------------------------------
// Observing failed connects: the runner logs each one (with its URL) as a warning.
// ---------------------------------------------------------------------------------

/// Failed connects per URL, as the runner logged them.
fn connect_failures() -> &'static watch::Sender<HashMap<String, usize>> {
    static FAILURES: OnceLock<watch::Sender<HashMap<String, usize>>> = OnceLock::new();
    FAILURES.get_or_init(|| watch::Sender::new(HashMap::new()))
}

/// A tracing layer counting the runner's "connect failed" warnings by URL.
struct CountConnectFailures;

#[derive(Default)]
struct Fields {
    url: Option<String>,
    message: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        match field.name() {
            "url" => self.url = Some(format!("{value:?}")),
            "message" => self.message = format!("{value:?}"),
            _ => {}
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for CountConnectFailures {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "autobahn::wamp::runner" {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let (Some(url), true) = (fields.url, fields.message.starts_with("connect failed")) {
            connect_failures().send_modify(|m| *m.entry(url).or_default() += 1);
        }
    }
}

fn init_tracing() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let fmt = tracing_subscriber::fmt::layer()
            .with_test_writer()
            .with_filter(EnvFilter::from_default_env());
        let _ = tracing_subscriber::registry()
            .with(CountConnectFailures)
            .with(fmt)
            .try_init();
    });
}

/// Waits until the runner logged at least one failed connect to `url`.
async fn failed_connect_to(url: &str) {
    let mut rx = connect_failures().subscribe();
    let seen = rx.wait_for(|m| m.get(url).copied().unwrap_or(0) > 0);
    tokio::time::timeout(EVENT_BOUND, seen)
        .await
        .expect("no failed connect logged")
        .expect("sender lives in a static");
}

// ---------------------------------------------------------------------------------
// The component
// ---------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum AppEv {
    Joined(u64),
    /// `on_join` number n finished its registrations (if any) and published its marker.
    Ready(i64),
    Event(Value),
}

type Handles = Arc<Mutex<Option<(Registration, Subscription)>>>;

/// Registers `PROCEDURE` and subscribes `TOPIC` in its first `on_join` (or in every
/// one, Autobahn-style), then publishes a marker to `READY`. The endpoint adds its
/// arguments plus 1000 × the number of the join that registered it.
struct Component {
    events: mpsc::UnboundedSender<AppEv>,
    joins: i64,
    register_every_join: bool,
    handles: Handles,
}

impl Component {
    fn new(register_every_join: bool) -> (Self, mpsc::UnboundedReceiver<AppEv>, Handles) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handles = Handles::default();
        let c = Component {
            events: tx,
            joins: 0,
            register_every_join,
            handles: handles.clone(),
        };
        (c, rx, handles)
    }
}

impl ApplicationSession for Component {
    fn on_join(
        &mut self,
        session: &Session,
        details: SessionDetails,
    ) -> impl Future<Output = ()> + Send {
        self.joins += 1;
        let n = self.joins;
        let register = n == 1 || self.register_every_join;
        let (session, events, handles) =
            (session.clone(), self.events.clone(), self.handles.clone());
        async move {
            let _ = events.send(AppEv::Joined(details.session));
            if register {
                let endpoint = move |args: Vec<Value>, _: Dict, _: CallDetails| async move {
                    let sum: i64 = args.iter().filter_map(Value::as_i64).sum();
                    Ok(CallResult::with_args(vec![Value::from(sum + 1000 * n)]))
                };
                let reg = session
                    .register(PROCEDURE, endpoint, RegisterOptions::default())
                    .await
                    .expect("register");
                let tx = events.clone();
                let handler = move |args: Vec<Value>, _: Dict, _: EventDetails| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(AppEv::Event(args.first().cloned().unwrap_or_default()));
                        Ok(())
                    }
                };
                let sub = session
                    .subscribe(TOPIC, handler, SubscribeOptions::default())
                    .await
                    .expect("subscribe");
                *handles.lock().expect("handles") = Some((reg, sub));
            }
            session
                .publish(READY, vec![Value::from(n)], Dict::new(), Default::default())
                .await
                .expect("publish");
            let _ = events.send(AppEv::Ready(n));
        }
    }
}

async fn app_event(rx: &mut mpsc::UnboundedReceiver<AppEv>) -> AppEv {
    tokio::time::timeout(EVENT_BOUND, rx.recv())
        .await
        .expect("component waited too long")
        .expect("component gone")
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        initial_retry_delay: Duration::from_millis(10),
        max_retry_delay: Duration::from_millis(100),
        retry_delay_jitter: 0.0,
        ..RetryPolicy::default()
    }
}

fn runner(url: &str) -> ApplicationRunner {
    ApplicationRunner::new(url, "realm1")
        .serializers(["json"])
        .retry_policy(fast_retry())
}

/// HELLO for realm1 on `conn`.
async fn expect_hello(router: &mut Router, conn: &Conn) {
    match router.msg(conn).await {
        Message::Hello(h) => assert_eq!(h.realm, "realm1"),
        other => panic!("expected HELLO, got {other:?}"),
    }
}

/// Exactly one REGISTER of `PROCEDURE` and one SUBSCRIBE of `TOPIC` (either order),
/// then the component's READY marker number `n`: nothing registered twice.
async fn expect_registered_once(router: &mut Router, conn: &Conn, n: i64) {
    let (mut registers, mut subscribes) = (0, 0);
    loop {
        match router.msg(conn).await {
            Message::Register(r) => {
                assert_eq!(r.procedure, PROCEDURE);
                registers += 1;
            }
            Message::Subscribe(s) => {
                assert_eq!(s.topic, TOPIC);
                subscribes += 1;
            }
            Message::Publish(p) => {
                assert_eq!(p.topic, READY);
                assert_eq!(p.args, Some(vec![Value::from(n)]));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((registers, subscribes), (1, 1), "on {conn:?}");
}

/// Invokes the procedure on `conn` with 2 + 3 and returns the YIELD's result.
async fn invoke(router: &mut Router, conn: &Conn, request: u64) -> Value {
    conn.send(Invocation {
        request,
        registration: conn.registration(),
        details: Dict::new(),
        args: Some(vec![Value::from(2), Value::from(3)]),
        kwargs: None,
    })
    .await;
    match router.msg(conn).await {
        Message::Yield(y) => {
            assert_eq!(y.request, request);
            y.args
                .and_then(|a| a.into_iter().next())
                .expect("one result")
        }
        other => panic!("expected YIELD, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

/// The component registers once (first join only); after the router drops the
/// connection, the runner reconnects, joins again and restores the registration and
/// subscription, whose original handlers answer on the new connection; the handles
/// follow the restore; `stop` says GOODBYE and `run` returns the component.
#[tokio::test]
async fn reconnect_restores_registrations_and_subscriptions() {
    init_tracing();
    bounded(async {
        let mut router = Router::start("127.0.0.1:0", BASICS).await;
        let runner = runner(&router.url());
        let stop = runner.stop_handle();
        let (component, mut app, handles) = Component::new(false);
        let run = tokio::spawn(async move { runner.run(|_| component).await });

        let c1 = router.open().await;
        expect_hello(&mut router, &c1).await;
        expect_registered_once(&mut router, &c1, 1).await;
        assert_eq!(app_event(&mut app).await, AppEv::Joined(1001));
        assert_eq!(app_event(&mut app).await, AppEv::Ready(1));
        assert_eq!(invoke(&mut router, &c1, 1).await, Value::from(1005));

        // The router goes away without a word.
        c1.channel.drop_connection();
        let c2 = router.open().await;
        assert_eq!(c2.number, 2);
        expect_hello(&mut router, &c2).await;
        // Restored by the session although this on_join registers nothing.
        expect_registered_once(&mut router, &c2, 2).await;
        assert_eq!(app_event(&mut app).await, AppEv::Joined(1002));
        assert_eq!(app_event(&mut app).await, AppEv::Ready(2));

        // The handler registered on the first join answers (1000 × 1 + 5).
        assert_eq!(invoke(&mut router, &c2, 7).await, Value::from(1005));
        c2.send(Event {
            subscription: c2.subscription(),
            publication: 9,
            details: Dict::new(),
            args: Some(vec![Value::from("again")]),
            kwargs: None,
        })
        .await;
        assert_eq!(
            app_event(&mut app).await,
            AppEv::Event(Value::from("again"))
        );

        // The handles from the first connection act on the restored ones.
        let (reg, sub) = handles
            .lock()
            .expect("handles")
            .clone()
            .expect("registered");
        assert_eq!((reg.id, reg.current_id()), (101, Some(201)));
        assert_eq!((sub.id, sub.current_id()), (102, Some(202)));
        reg.unregister().await.expect("unregister");
        match router.msg(&c2).await {
            Message::Unregister(u) => assert_eq!(u.registration, 201),
            other => panic!("expected UNREGISTER, got {other:?}"),
        }
        sub.unsubscribe().await.expect("unsubscribe");
        match router.msg(&c2).await {
            Message::Unsubscribe(u) => assert_eq!(u.subscription, 202),
            other => panic!("expected UNSUBSCRIBE, got {other:?}"),
        }
        assert_eq!(reg.current_id(), None);
        assert!(reg.unregister().await.is_err(), "already unregistered");

        stop.stop();
        match router.msg(&c2).await {
            Message::Goodbye(g) => assert_eq!(g.reason, "wamp.close.normal"),
            other => panic!("expected GOODBYE, got {other:?}"),
        }
        router.closed(&c2).await;
        let component = run.await.expect("run task").expect("run ends Ok on stop");
        assert_eq!(component.joins, 2);
        assert!(stop.is_stopped());
    })
    .await;
}

/// A component that registers in every `on_join` (Autobahn style) adopts the restored
/// registration and subscription instead of registering twice, and its new handler
/// replaces the old one.
#[tokio::test]
async fn registering_again_in_on_join_adopts_the_restored_registration() {
    init_tracing();
    bounded(async {
        let mut router = Router::start("127.0.0.1:0", BASICS).await;
        let runner = runner(&router.url());
        let (component, mut app, handles) = Component::new(true);
        let stop = runner.stop_handle();
        let run = tokio::spawn(async move { runner.run(|_| component).await });

        let c1 = router.open().await;
        expect_hello(&mut router, &c1).await;
        expect_registered_once(&mut router, &c1, 1).await;
        assert_eq!(app_event(&mut app).await, AppEv::Joined(1001));
        assert_eq!(app_event(&mut app).await, AppEv::Ready(1));

        c1.channel.drop_connection();
        let c2 = router.open().await;
        expect_hello(&mut router, &c2).await;
        expect_registered_once(&mut router, &c2, 2).await;
        assert_eq!(app_event(&mut app).await, AppEv::Joined(1002));
        assert_eq!(app_event(&mut app).await, AppEv::Ready(2));
        // The endpoint of the second join answers (1000 × 2 + 5).
        assert_eq!(invoke(&mut router, &c2, 3).await, Value::from(2005));
        let (reg, _) = handles
            .lock()
            .expect("handles")
            .clone()
            .expect("registered");
        assert_eq!((reg.id, reg.current_id()), (201, Some(201)));

        stop.stop();
        assert!(matches!(router.msg(&c2).await, Message::Goodbye(_)));
        let component = run.await.expect("run task").expect("run ends Ok");
        assert_eq!(component.joins, 2);
    })
    .await;
}

/// Nothing listens at first: the runner keeps retrying until the router appears.
#[tokio::test]
async fn first_connect_is_retried_until_the_router_appears() {
    init_tracing();
    bounded(async {
        // A port that is free now (nothing listens on it).
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        let url = format!("ws://{addr}/ws");
        let runner = runner(&url);
        let stop = runner.stop_handle();
        let (component, mut app, _) = Component::new(false);
        let run = tokio::spawn(async move { runner.run(|_| component).await });

        failed_connect_to(&url).await;
        let mut router = Router::start(&addr.to_string(), BASICS).await;
        let c1 = router.open().await;
        expect_hello(&mut router, &c1).await;
        expect_registered_once(&mut router, &c1, 1).await;
        assert_eq!(app_event(&mut app).await, AppEv::Joined(1001));

        stop.stop();
        assert!(matches!(router.msg(&c1).await, Message::Goodbye(_)));
        run.await.expect("run task").expect("run ends Ok");
    })
    .await;
}

/// `stop` while waiting to retry ends `run` at once.
#[tokio::test]
async fn stop_while_waiting_to_retry() {
    init_tracing();
    bounded(async {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        let url = format!("ws://{addr}/ws");
        let runner = runner(&url).retry_policy(RetryPolicy {
            initial_retry_delay: Duration::from_secs(3600),
            ..RetryPolicy::default()
        });
        let stop = runner.stop_handle();
        let (component, _app, _) = Component::new(false);
        let run = tokio::spawn(async move { runner.run(|_| component).await });
        failed_connect_to(&url).await;
        stop.stop();
        let component = run.await.expect("run task").expect("run ends Ok");
        assert_eq!(component.joins, 0);
    })
    .await;
}

/// The router refuses the session with `wamp.error.not_authorized`: `run` fails with
/// that error after one attempt instead of retrying.
#[tokio::test]
async fn authentication_failure_is_not_retried() {
    init_tracing();
    bounded(async {
        let mut router = Router::start(
            "127.0.0.1:0",
            Answers::Basics {
                abort: Some("wamp.error.not_authorized"),
            },
        )
        .await;
        let runner = runner(&router.url());
        let (component, _app, _) = Component::new(false);
        let result = tokio::spawn(async move { runner.run(|_| component).await });

        let c1 = router.open().await;
        expect_hello(&mut router, &c1).await;
        match result.await.expect("run task") {
            Err(Error::Application(e)) => assert_eq!(e.error, "wamp.error.not_authorized"),
            other => panic!("expected not_authorized, got {:?}", other.map(|c| c.joins)),
        }
        // No second attempt: after `run` returned, at most the close of the first.
        while let Some(ev) = router.try_next() {
            assert!(matches!(ev, RouterEvent::Closed(1, _)), "unexpected {ev:?}");
        }
    })
    .await;
}

/// `run_once` does not reconnect: the dropped connection ends it.
#[tokio::test]
async fn run_once_does_not_reconnect() {
    init_tracing();
    bounded(async {
        let mut router = Router::start("127.0.0.1:0", BASICS).await;
        let runner = runner(&router.url());
        let (component, mut app, _) = Component::new(false);
        let run = tokio::spawn(async move { runner.run_once(|_| component).await });
        let c1 = router.open().await;
        expect_hello(&mut router, &c1).await;
        expect_registered_once(&mut router, &c1, 1).await;
        assert_eq!(app_event(&mut app).await, AppEv::Joined(1001));
        c1.channel.drop_connection();
        let outcome = run.await.expect("run task").expect("run_once");
        assert!(outcome.joined);
        assert_eq!(
            outcome.close.map(|c| c.reason),
            Some("wamp.close.transport_lost".to_owned())
        );
        while let Some(ev) = router.try_next() {
            assert!(
                matches!(ev, RouterEvent::Closed(1, _) | RouterEvent::Msg(1, _)),
                "unexpected {ev:?}"
            );
        }
    })
    .await;
}

/// A session takes a new transport only once the old one is closed.
#[tokio::test]
async fn attach_requires_a_closed_transport() {
    init_tracing();
    bounded(async {
        let mut router = Router::start("127.0.0.1:0", BASICS).await;
        let runner = runner(&router.url());
        let session = Session::new(runner.config());
        assert!(!session.is_connected());
        let mut life = session
            .attach(runner.connect().await.expect("connect"))
            .expect("attach");
        let c1 = router.open().await;
        let second = runner.connect().await.expect("connect");
        assert!(matches!(
            session.attach(second),
            Err(Error::InvalidRequest(_))
        ));
        assert_eq!(router.open().await.number, 2);
        session.disconnect().await;
        while life.next().await.is_some() {}
        router.closed(&c1).await;
        let _life = session
            .attach(runner.connect().await.expect("connect"))
            .expect("attach after close");
        assert!(session.is_connected());
        let c = router.open().await;
        assert_eq!(
            c.number, 3,
            "the refused transport was the second connection"
        );
    })
    .await;
}
