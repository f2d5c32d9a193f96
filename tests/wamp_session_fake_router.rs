//! The async session API end to end against a scripted fake router, over an in-memory
//! transport (tokio channels carrying `Message`s).
#![cfg(feature = "wamp")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autobahn::wamp::error::{ApplicationError, Error};
use autobahn::wamp::message::*;
use autobahn::wamp::session::{run_session, ApplicationSession, Session, SessionEvent};
use autobahn::wamp::transport::{Transport, TransportError};
use autobahn::wamp::types::*;
use autobahn::wamp::value::{Dict, Value};
use autobahn::{dict, list};
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

/// The client end: messages to and from the router over unbounded channels.
struct FakeTransport {
    tx: Option<mpsc::UnboundedSender<Message>>,
    rx: mpsc::UnboundedReceiver<Message>,
    open: bool,
}

impl Transport for FakeTransport {
    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        match &self.tx {
            Some(tx) if self.open => tx
                .send(msg)
                .map_err(|_| TransportError::Lost("router gone".into())),
            _ => Err(TransportError::Closed),
        }
    }

    async fn recv(&mut self) -> Option<Result<Message, TransportError>> {
        if !self.open {
            return None;
        }
        let m = self.rx.recv().await;
        if m.is_none() {
            self.open = false;
        }
        m.map(Ok)
    }

    fn is_open(&self) -> bool {
        self.open
    }

    async fn close(&mut self) {
        self.abort();
    }

    fn abort(&mut self) {
        self.open = false;
        self.tx = None;
    }

    fn serializer_id(&self) -> &'static str {
        "json"
    }

    fn peer(&self) -> String {
        "fake:router".into()
    }
}

/// The router end, driven by each test's script.
struct Router {
    tx: Option<mpsc::UnboundedSender<Message>>,
    rx: mpsc::UnboundedReceiver<Message>,
}

impl Router {
    /// The next message from the client; `None` once the client closed the transport.
    async fn recv(&mut self) -> Option<Message> {
        timeout(WAIT, self.rx.recv())
            .await
            .expect("router waited too long for a message")
    }

    async fn expect(&mut self) -> Message {
        self.recv().await.expect("client closed the transport")
    }

    fn send(&self, m: impl Into<Message>) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(m.into());
        }
    }

    /// The router goes away (TCP reset): the client's recv ends.
    fn drop_connection(&mut self) {
        self.tx = None;
    }

    /// Answers HELLO with WELCOME (session 42, a dealer that can cancel calls).
    async fn accept(&mut self) -> Hello {
        let Message::Hello(h) = self.expect().await else {
            panic!("expected HELLO")
        };
        self.send(Welcome {
            session: 42,
            details: router_details(),
        });
        h
    }
}

fn router_details() -> Dict {
    let dealer = dict! {"call_canceling" => true, "progressive_call_results" => true};
    dict! {
        "roles" => Value::Dict(dict! {
            "dealer" => Value::Dict(dict! {"features" => Value::Dict(dealer)}),
            "broker" => Value::Dict(dict! {"features" => Value::Dict(dict! {})}),
        }),
        "authid" => "anon",
        "authrole" => "anonymous",
    }
}

fn pair() -> (FakeTransport, Router) {
    let (to_router, from_client) = mpsc::unbounded_channel();
    let (to_client, from_router) = mpsc::unbounded_channel();
    (
        FakeTransport {
            tx: Some(to_router),
            rx: from_router,
            open: true,
        },
        Router {
            tx: Some(to_client),
            rx: from_client,
        },
    )
}

async fn next_event(life: &mut autobahn::wamp::session::Lifecycle) -> SessionEvent {
    timeout(WAIT, life.next())
        .await
        .expect("no lifecycle event")
        .expect("lifecycle ended")
}

/// A started session joined to realm1 as session 42.
async fn joined() -> (Session, autobahn::wamp::session::Lifecycle, Router) {
    let (transport, mut router) = pair();
    let (session, mut life) = Session::start(transport, ComponentConfig::new("realm1"));
    session.join(HelloDetails::new("realm1")).await.unwrap();
    let hello = router.accept().await;
    assert_eq!(hello.realm, "realm1");
    match next_event(&mut life).await {
        SessionEvent::Joined(d) => {
            assert_eq!(d.session, 42);
            assert_eq!(d.authrole.as_deref(), Some("anonymous"));
            assert_eq!(d.serializer, "json");
        }
        other => panic!("{other:?}"),
    }
    assert!(session.is_attached());
    (session, life, router)
}

#[tokio::test]
async fn join_call_with_progress_and_leave() {
    let (session, mut life, mut router) = joined().await;

    let progress = Arc::new(Mutex::new(Vec::new()));
    let p = progress.clone();
    let options = CallOptions {
        on_progress: Some(Arc::new(move |r: CallResult| {
            p.lock().unwrap().push(r.value())
        })),
        ..Default::default()
    };
    let s = session.clone();
    let call = tokio::spawn(async move {
        s.call("com.example.count", list![3], Dict::new(), options)
            .await
    });
    let Message::Call(c) = router.expect().await else {
        panic!("expected CALL")
    };
    assert_eq!(c.request, 1, "first request id of the session");
    assert!(c.receive_progress());
    assert_eq!(c.args, Some(list![3]));
    for i in 1..=2 {
        router.send(ResultMessage {
            request: c.request,
            details: dict! {"progress" => true},
            args: Some(list![i]),
            kwargs: None,
        });
    }
    router.send(ResultMessage {
        request: c.request,
        details: Dict::new(),
        args: Some(list!["done"]),
        kwargs: Some(dict! {"n" => 3}),
    });
    let result = call.await.unwrap().unwrap();
    assert_eq!(result.args, list!["done"]);
    assert_eq!(result.kwargs, dict! {"n" => 3});
    assert_eq!(
        *progress.lock().unwrap(),
        vec![Value::from(1), Value::from(2)]
    );

    // Typed call, answered with an application error.
    let s = session.clone();
    let typed = tokio::spawn(async move { s.call_with::<_, i64>("com.example.add", (1, 2)).await });
    let Message::Call(c) = router.expect().await else {
        panic!()
    };
    assert_eq!(c.request, 2);
    assert_eq!(c.args, Some(list![1, 2]));
    router.send(ErrorMessage {
        request_type: MessageType::Call,
        request: 2,
        details: Dict::new(),
        error: "com.example.overflow".into(),
        args: Some(list!["too big"]),
        kwargs: None,
    });
    match typed.await.unwrap() {
        Err(Error::Application(e)) => {
            assert_eq!(e.error, "com.example.overflow");
            assert_eq!(e.message(), Some("too big"));
        }
        other => panic!("{other:?}"),
    }

    // Leave: GOODBYE, the router's reply, then Left.
    let s = session.clone();
    let leave = tokio::spawn(async move { s.leave(None, Some("bye")).await });
    let Message::Goodbye(g) = router.expect().await else {
        panic!("expected GOODBYE")
    };
    assert_eq!(g.reason, "wamp.close.normal");
    assert_eq!(g.message(), Some("bye"));
    router.send(Goodbye {
        details: Dict::new(),
        reason: "wamp.close.goodbye_and_out".into(),
    });
    let details = leave.await.unwrap().unwrap();
    assert_eq!(details.reason, "wamp.close.goodbye_and_out");
    assert!(matches!(next_event(&mut life).await, SessionEvent::Left(_)));
    assert!(!session.is_attached());

    session.disconnect().await;
    assert!(router.recv().await.is_none(), "transport closed");
    assert!(matches!(
        next_event(&mut life).await,
        SessionEvent::Disconnected
    ));
    assert!(!session.is_connected());
    assert!(matches!(
        session
            .call("com.x", vec![], Dict::new(), CallOptions::default())
            .await,
        Err(Error::TransportLost)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_invocations() {
    let (session, mut life, mut router) = joined().await;
    // The "hang" endpoint reports when it started and when its task was dropped.
    let (started, mut hang_started) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (dropped, mut hang_dropped) = tokio::sync::mpsc::unbounded_channel::<()>();
    struct OnDrop(tokio::sync::mpsc::UnboundedSender<()>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let reg = {
        let s = session.clone();
        let pending = tokio::spawn(async move {
            s.register(
                "com.example.work",
                move |args: Vec<Value>, _kw: Dict, details: CallDetails| {
                    let (started, dropped) = (started.clone(), dropped.clone());
                    async move {
                        match args.first().and_then(Value::as_str) {
                            Some("progress") => {
                                let p = details.progress.expect("caller asked for progress");
                                p.send(list![50], Dict::new()).await.unwrap();
                                Ok(CallResult::with_args(list![100]))
                            }
                            Some("fail") => {
                                Err(ApplicationError::with_message("com.example.bad", "nope"))
                            }
                            Some("panic") => panic!("endpoint exploded"),
                            Some("hang") => {
                                let _guard = OnDrop(dropped);
                                let _ = started.send(());
                                std::future::pending::<()>().await;
                                unreachable!()
                            }
                            _ => Ok(CallResult::with_args(list![details.procedure.unwrap()])),
                        }
                    }
                },
                RegisterOptions {
                    invoke: Some("roundrobin".into()),
                    ..Default::default()
                },
            )
            .await
        });
        let Message::Register(r) = router.expect().await else {
            panic!("expected REGISTER")
        };
        assert_eq!(r.procedure, "com.example.work");
        assert_eq!(r.invoke(), Some("roundrobin"));
        router.send(Registered {
            request: r.request,
            registration: 700,
        });
        pending.await.unwrap().unwrap()
    };
    assert_eq!(reg.id, 700);

    let invoke = |request: u64, what: &str, details: Dict| Invocation {
        request,
        registration: 700,
        details,
        args: Some(list![what]),
        kwargs: None,
    };

    router.send(invoke(1, "plain", Dict::new()));
    let Message::Yield(y) = router.expect().await else {
        panic!()
    };
    assert_eq!(
        (y.request, y.args.clone()),
        (1, Some(list!["com.example.work"]))
    );

    router.send(invoke(2, "progress", dict! {"receive_progress" => true}));
    let Message::Yield(p) = router.expect().await else {
        panic!()
    };
    assert!(p.progress());
    assert_eq!(p.args, Some(list![50]));
    let Message::Yield(y) = router.expect().await else {
        panic!()
    };
    assert!(!y.progress());
    assert_eq!(y.args, Some(list![100]));

    router.send(invoke(3, "fail", Dict::new()));
    let Message::Error(e) = router.expect().await else {
        panic!()
    };
    assert_eq!(e.request_type, MessageType::Invocation);
    assert_eq!((e.request, e.error.as_str()), (3, "com.example.bad"));

    router.send(invoke(4, "panic", Dict::new()));
    let Message::Error(e) = router.expect().await else {
        panic!()
    };
    assert_eq!(
        (e.request, e.error.as_str()),
        (4, "wamp.error.runtime_error")
    );
    match next_event(&mut life).await {
        SessionEvent::UserError { error, .. } => {
            assert_eq!(error.message(), Some("endpoint exploded"))
        }
        other => panic!("{other:?}"),
    }

    // A hanging invocation is interrupted: the task is dropped, ERROR canceled sent.
    router.send(invoke(5, "hang", Dict::new()));
    tokio::time::timeout(Duration::from_secs(10), hang_started.recv())
        .await
        .ok()
        .flatten()
        .expect("the endpoint started");
    router.send(Interrupt {
        request: 5,
        options: dict! {"mode" => "kill"},
    });
    let Message::Error(e) = router.expect().await else {
        panic!()
    };
    assert_eq!((e.request, e.error.as_str()), (5, "wamp.error.canceled"));
    tokio::time::timeout(Duration::from_secs(10), hang_dropped.recv())
        .await
        .ok()
        .flatten()
        .expect("the interrupted endpoint's task was dropped");

    let s = reg.clone();
    let un = tokio::spawn(async move { s.unregister().await });
    let Message::Unregister(u) = router.expect().await else {
        panic!()
    };
    assert_eq!(u.registration, 700);
    router.send(Unregistered {
        request: u.request,
        details: Dict::new(),
    });
    un.await.unwrap().unwrap();
    drop(session);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_subscribe_with_acknowledge_and_unsubscribe() {
    let (session, mut life, mut router) = joined().await;
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let s = session.clone();
    let sub = tokio::spawn(async move {
        s.subscribe(
            "com.example.",
            move |args: Vec<Value>, _kw: Dict, d: EventDetails| {
                let tx = events_tx.clone();
                async move {
                    if args.first() == Some(&Value::from("bad")) {
                        return Err(ApplicationError::new("com.example.handler_failed"));
                    }
                    if args.first() == Some(&Value::from("panic")) {
                        panic!("handler exploded");
                    }
                    let _ = tx.send((args, d));
                    Ok(())
                }
            },
            SubscribeOptions {
                match_: Some("prefix".into()),
                ..Default::default()
            },
        )
        .await
    });
    let Message::Subscribe(m) = router.expect().await else {
        panic!("expected SUBSCRIBE")
    };
    assert_eq!(m.match_policy(), Some("prefix"));
    router.send(Subscribed {
        request: m.request,
        subscription: 55,
    });
    let sub = sub.await.unwrap().unwrap();
    assert_eq!(sub.id, 55);

    for i in 0..5 {
        router.send(Event {
            subscription: 55,
            publication: 1000 + i,
            details: dict! {"topic" => "com.example.tick", "publisher" => 7},
            args: Some(list![i]),
            kwargs: None,
        });
    }
    router.send(Event {
        subscription: 55,
        publication: 2000,
        details: Dict::new(),
        args: Some(list!["bad"]),
        kwargs: None,
    });
    for i in 0..5u64 {
        let (args, d) = timeout(WAIT, events_rx.recv()).await.unwrap().unwrap();
        assert_eq!(args, list![i], "events arrive in order");
        assert_eq!(d.publication, 1000 + i);
        assert_eq!(d.topic.as_deref(), Some("com.example.tick"));
        assert_eq!(d.publisher, Some(7));
    }
    match next_event(&mut life).await {
        SessionEvent::UserError { error, .. } => {
            assert_eq!(error.error, "com.example.handler_failed")
        }
        other => panic!("{other:?}"),
    }

    // A panicking handler is reported, and the next event still reaches the handler.
    for a in [Value::from("panic"), Value::from(99)] {
        router.send(Event {
            subscription: 55,
            publication: 3000,
            details: Dict::new(),
            args: Some(vec![a]),
            kwargs: None,
        });
    }
    match next_event(&mut life).await {
        SessionEvent::UserError { error, .. } => {
            assert_eq!(error.error, "wamp.error.runtime_error");
            assert_eq!(error.message(), Some("handler exploded"));
        }
        other => panic!("{other:?}"),
    }
    let (args, _) = timeout(WAIT, events_rx.recv()).await.unwrap().unwrap();
    assert_eq!(args, list![99]);

    // Acknowledged publish.
    let s = session.clone();
    let publish = tokio::spawn(async move {
        let opts = PublishOptions {
            acknowledge: true,
            exclude_me: Some(false),
            ..Default::default()
        };
        s.publish("com.example.tick", list![1], Dict::new(), opts)
            .await
    });
    let Message::Publish(p) = router.expect().await else {
        panic!()
    };
    assert!(p.acknowledge());
    assert_eq!(p.exclude_me(), Some(false));
    router.send(Published {
        request: p.request,
        publication: 31337,
    });
    assert_eq!(
        publish.await.unwrap().unwrap(),
        Some(Publication { id: 31337 })
    );
    // Unacknowledged publish returns at once with None.
    assert_eq!(
        session
            .publish(
                "com.example.x",
                vec![],
                Dict::new(),
                PublishOptions::default()
            )
            .await
            .unwrap(),
        None
    );
    assert!(matches!(router.expect().await, Message::Publish(p) if !p.acknowledge()));
    // An acknowledged publish the broker refuses.
    let s = session.clone();
    let refused = tokio::spawn(async move {
        let opts = PublishOptions {
            acknowledge: true,
            ..Default::default()
        };
        s.publish("com.example.secret", vec![], Dict::new(), opts)
            .await
    });
    let Message::Publish(p) = router.expect().await else {
        panic!()
    };
    router.send(ErrorMessage {
        request_type: MessageType::Publish,
        request: p.request,
        details: Dict::new(),
        error: ApplicationError::NOT_AUTHORIZED.into(),
        args: None,
        kwargs: None,
    });
    assert!(matches!(
        refused.await.unwrap(),
        Err(Error::Application(e)) if e.is(ApplicationError::NOT_AUTHORIZED)
    ));

    let s = sub.clone();
    let un = tokio::spawn(async move { s.unsubscribe().await });
    let Message::Unsubscribe(u) = router.expect().await else {
        panic!()
    };
    assert_eq!(u.subscription, 55);
    router.send(Unsubscribed {
        request: u.request,
        details: Dict::new(),
    });
    un.await.unwrap().unwrap();
    // The handler's queue is closed: its task ended.
    assert!(timeout(WAIT, events_rx.recv()).await.unwrap().is_none());
}

#[tokio::test]
async fn router_dropping_mid_call_resolves_everything_with_transport_lost() {
    let (session, mut life, mut router) = joined().await;
    let s = session.clone();
    let call = tokio::spawn(async move {
        s.call("com.slow", vec![], Dict::new(), CallOptions::default())
            .await
    });
    let s = session.clone();
    let sub = tokio::spawn(async move {
        s.subscribe(
            "com.t",
            |_, _, _| async { Ok(()) },
            SubscribeOptions::default(),
        )
        .await
    });
    assert!(matches!(router.expect().await, Message::Call(_)));
    assert!(matches!(router.expect().await, Message::Subscribe(_)));
    router.drop_connection();
    let r = timeout(WAIT, call).await.expect("call hangs").unwrap();
    assert!(matches!(r, Err(Error::TransportLost)), "{r:?}");
    let r = timeout(WAIT, sub).await.expect("subscribe hangs").unwrap();
    assert!(matches!(r, Err(Error::TransportLost)), "{r:?}");
    match next_event(&mut life).await {
        SessionEvent::Left(d) => assert_eq!(d.reason, "wamp.close.transport_lost"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        next_event(&mut life).await,
        SessionEvent::Disconnected
    ));
    assert!(!session.is_connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_cancel_drop_and_timeout() {
    let (session, _life, mut router) = joined().await;

    // Explicit cancel.
    let pending = session
        .start_call("com.slow", vec![], Dict::new(), CallOptions::default())
        .await;
    let Message::Call(c) = router.expect().await else {
        panic!()
    };
    assert_eq!(pending.request_id(), c.request);
    pending.cancel(CancelMode::Kill).await.unwrap();
    let Message::Cancel(k) = router.expect().await else {
        panic!("expected CANCEL")
    };
    assert_eq!((k.request, k.mode()), (c.request, Some("kill")));
    router.send(ErrorMessage {
        request_type: MessageType::Call,
        request: c.request,
        details: Dict::new(),
        error: "wamp.error.canceled".into(),
        args: None,
        kwargs: None,
    });
    assert!(matches!(
        timeout(WAIT, pending).await.unwrap(),
        Err(Error::Canceled)
    ));

    // Dropping the call future sends CANCEL; the late answer is ignored.
    let pending = session
        .start_call(
            "com.slow",
            vec![],
            Dict::new(),
            CallOptions {
                cancel_mode: Some(CancelMode::Skip),
                ..Default::default()
            },
        )
        .await;
    let Message::Call(c) = router.expect().await else {
        panic!()
    };
    drop(pending);
    let Message::Cancel(k) = router.expect().await else {
        panic!("expected CANCEL")
    };
    assert_eq!((k.request, k.mode()), (c.request, Some("skip")));
    router.send(ResultMessage {
        request: c.request,
        ..Default::default()
    });

    // Timeout: sent to the dealer in ms, enforced locally, CANCEL killnowait.
    let r = session
        .call(
            "com.slow",
            vec![],
            Dict::new(),
            CallOptions {
                timeout: Some(Duration::from_millis(50)),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
    let Message::Call(c) = router.expect().await else {
        panic!()
    };
    assert_eq!(c.timeout(), Some(50));
    let Message::Cancel(k) = router.expect().await else {
        panic!("expected CANCEL")
    };
    assert_eq!((k.request, k.mode()), (c.request, Some("killnowait")));

    // The session is still fine.
    let s = session.clone();
    let call = tokio::spawn(async move {
        s.call("com.fast", vec![], Dict::new(), CallOptions::default())
            .await
    });
    let Message::Call(c) = router.expect().await else {
        panic!()
    };
    router.send(ResultMessage {
        request: c.request,
        ..Default::default()
    });
    assert_eq!(call.await.unwrap().unwrap(), CallResult::new());
}

#[tokio::test]
async fn protocol_violation_aborts_and_closes() {
    let (session, mut life, mut router) = joined().await;
    let s = session.clone();
    let call = tokio::spawn(async move {
        s.call("com.x", vec![], Dict::new(), CallOptions::default())
            .await
    });
    assert!(matches!(router.expect().await, Message::Call(_)));
    router.send(Welcome::default());
    let Message::Abort(a) = router.expect().await else {
        panic!("expected ABORT")
    };
    assert_eq!(a.reason, "wamp.error.protocol_violation");
    assert!(
        router.recv().await.is_none(),
        "transport closed after ABORT"
    );
    assert!(matches!(
        call.await.unwrap(),
        Err(Error::ProtocolViolation(_))
    ));
    assert!(
        matches!(next_event(&mut life).await, SessionEvent::Left(d) if d.reason == "wamp.error.protocol_violation")
    );
    assert!(matches!(
        next_event(&mut life).await,
        SessionEvent::Disconnected
    ));
}

/// An application component recording its hooks.
struct App {
    log: Arc<Mutex<Vec<String>>>,
}

impl ApplicationSession for App {
    async fn on_connect(&mut self, session: &Session) {
        self.log.lock().unwrap().push("connect".into());
        let hello = HelloDetails {
            realm: session.config().realm.clone(),
            authmethods: vec!["ticket".into()],
            authid: Some("joe".into()),
            ..Default::default()
        };
        session.join(hello).await.unwrap();
    }

    async fn on_challenge(
        &mut self,
        _session: &Session,
        c: autobahn::wamp::types::Challenge,
    ) -> Result<String, Error> {
        self.log
            .lock()
            .unwrap()
            .push(format!("challenge {}", c.method));
        Ok("secret-ticket".into())
    }

    async fn on_join(&mut self, session: &Session, details: SessionDetails) {
        self.log
            .lock()
            .unwrap()
            .push(format!("join {}", details.session));
        let r = session
            .call(
                "com.example.hello",
                list!["joe"],
                Dict::new(),
                CallOptions::default(),
            )
            .await
            .unwrap();
        self.log
            .lock()
            .unwrap()
            .push(format!("result {:?}", r.value()));
        session.leave(None, None).await.unwrap();
    }

    async fn on_leave(&mut self, session: &Session, details: CloseDetails) {
        self.log
            .lock()
            .unwrap()
            .push(format!("leave {}", details.reason));
        session.disconnect().await;
    }

    async fn on_disconnect(&mut self) {
        self.log.lock().unwrap().push("disconnect".into());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_session_hooks_in_order() {
    let (transport, mut router) = pair();
    let log = Arc::new(Mutex::new(Vec::new()));
    let app = App { log: log.clone() };
    let run = tokio::spawn(run_session(transport, app, ComponentConfig::new("realm1")));

    let Message::Hello(h) = router.expect().await else {
        panic!()
    };
    assert_eq!(h.authmethods(), vec!["ticket"]);
    router.send(autobahn::wamp::message::Challenge {
        method: "ticket".into(),
        extra: Dict::new(),
    });
    let Message::Authenticate(a) = router.expect().await else {
        panic!("expected AUTHENTICATE")
    };
    assert_eq!(a.signature, "secret-ticket");
    router.send(Welcome {
        session: 9,
        details: router_details(),
    });
    let Message::Call(c) = router.expect().await else {
        panic!()
    };
    router.send(ResultMessage {
        request: c.request,
        details: Dict::new(),
        args: Some(list!["hello joe"]),
        kwargs: None,
    });
    assert!(matches!(router.expect().await, Message::Goodbye(_)));
    router.send(Goodbye {
        details: Dict::new(),
        reason: "wamp.close.goodbye_and_out".into(),
    });
    assert!(router.recv().await.is_none());
    let outcome = timeout(WAIT, run).await.unwrap().unwrap();
    assert!(outcome.joined);
    assert_eq!(
        outcome.close.map(|c| c.reason).as_deref(),
        Some("wamp.close.goodbye_and_out")
    );
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "connect",
            "challenge ticket",
            "join 9",
            "result \"hello joe\"",
            "leave wamp.close.goodbye_and_out",
            "disconnect",
        ]
    );
}

/// The default hooks: join config.realm, fail challenges, disconnect on leave.
struct Defaults;
impl ApplicationSession for Defaults {}

#[tokio::test]
async fn default_hooks_abort_unanswerable_challenge_and_disconnect() {
    let (transport, mut router) = pair();
    let run = tokio::spawn(run_session(
        transport,
        Defaults,
        ComponentConfig::new("realm9"),
    ));
    let Message::Hello(h) = router.expect().await else {
        panic!()
    };
    assert_eq!(h.realm, "realm9");
    router.send(autobahn::wamp::message::Challenge {
        method: "wampcra".into(),
        extra: Dict::new(),
    });
    let Message::Abort(a) = router.expect().await else {
        panic!("expected ABORT")
    };
    assert_eq!(a.reason, "wamp.error.cannot_authenticate");
    // on_leave's default disconnects.
    assert!(router.recv().await.is_none());
    let outcome = timeout(WAIT, run).await.unwrap().unwrap();
    assert!(!outcome.joined);
    assert_eq!(
        outcome.close.map(|c| c.reason).as_deref(),
        Some("wamp.error.cannot_authenticate")
    );
}

#[tokio::test]
async fn not_ready_before_join_and_rejoin_after_abort() {
    let (transport, mut router) = pair();
    let (session, mut life) = Session::start(transport, ComponentConfig::new("realm1"));
    let r = session
        .call("com.x", vec![], Dict::new(), CallOptions::default())
        .await;
    assert!(matches!(r, Err(Error::SessionNotReady)), "{r:?}");
    assert!(matches!(
        session.leave(None, None).await,
        Err(Error::SessionNotReady)
    ));

    session.join(HelloDetails::new("nope")).await.unwrap();
    assert!(matches!(router.expect().await, Message::Hello(h) if h.realm == "nope"));
    router.send(Abort {
        details: dict! {"message" => "no such realm"},
        reason: ApplicationError::NO_SUCH_REALM.into(),
    });
    match next_event(&mut life).await {
        SessionEvent::Left(d) => {
            assert_eq!(d.reason, "wamp.error.no_such_realm");
            assert_eq!(d.message.as_deref(), Some("no such realm"));
        }
        other => panic!("{other:?}"),
    }
    // The transport stays open: join again.
    assert!(session.is_connected());
    session.join(HelloDetails::new("realm1")).await.unwrap();
    router.accept().await;
    assert!(matches!(
        next_event(&mut life).await,
        SessionEvent::Joined(_)
    ));
    assert!(session.is_attached());
}

/// Progressive call invocations end to end through the session: as caller (the first
/// CALL with `progress`, more input with `PendingCall::send_input`) and as callee (the
/// endpoint reads the further INVOCATIONs from `CallDetails::input`).
#[tokio::test]
async fn progressive_call_invocations() {
    let (transport, mut router) = pair();
    let (session, mut life) = Session::start(transport, ComponentConfig::new("realm1"));
    session.join(HelloDetails::new("realm1")).await.unwrap();
    let Message::Hello(h) = router.expect().await else {
        panic!("expected HELLO")
    };
    assert_eq!(
        h.roles().unwrap()["caller"]["features"]["progressive_call_invocations"],
        Value::Bool(true)
    );
    let mut details = router_details();
    let dealer = dict! {"progressive_call_invocations" => true};
    details.insert(
        "roles".into(),
        Value::Dict(dict! {"dealer" => Value::Dict(dict! {"features" => Value::Dict(dealer)})}),
    );
    router.send(Welcome {
        session: 43,
        details,
    });
    assert!(matches!(
        next_event(&mut life).await,
        SessionEvent::Joined(_)
    ));

    // Caller side.
    let options = CallOptions {
        progress: true,
        ..Default::default()
    };
    let call = session
        .start_call("com.example.sum", list![1], Dict::new(), options)
        .await;
    let Message::Call(c) = router.expect().await else {
        panic!("expected CALL")
    };
    assert!(c.progress());
    call.send_input(list![2], Dict::new(), false).await.unwrap();
    call.send_input(list![3], Dict::new(), true).await.unwrap();
    for (want, more) in [(2, true), (3, false)] {
        let Message::Call(next) = router.expect().await else {
            panic!("expected CALL")
        };
        assert_eq!(next.request, c.request);
        assert_eq!((next.progress(), next.args), (more, Some(list![want])));
    }
    router.send(ResultMessage {
        request: c.request,
        details: Dict::new(),
        args: Some(list![6]),
        kwargs: None,
    });
    assert_eq!(timeout(WAIT, call).await.unwrap().unwrap().args, list![6]);

    // Callee side: the endpoint sums its first argument and every further input.
    let s = session.clone();
    let registering = tokio::spawn(async move {
        s.register(
            "com.example.sum",
            |args: Vec<Value>, _kw: Dict, details: CallDetails| async move {
                let mut sum = args.first().and_then(Value::as_i64).unwrap_or(0);
                let input = details.input.expect("a progressive invocation");
                while let Some(chunk) = input.next().await {
                    sum += chunk.args.first().and_then(Value::as_i64).unwrap_or(0);
                }
                Ok(CallResult::with_args(list![sum]))
            },
            RegisterOptions::default(),
        )
        .await
    });
    let Message::Register(r) = router.expect().await else {
        panic!("expected REGISTER")
    };
    router.send(Registered {
        request: r.request,
        registration: 800,
    });
    registering.await.unwrap().unwrap();
    for (arg, more) in [(10, true), (20, true), (30, false)] {
        let details = if more {
            dict! {"progress" => true}
        } else {
            Dict::new()
        };
        router.send(Invocation {
            request: 5,
            registration: 800,
            details,
            args: Some(list![arg]),
            kwargs: None,
        });
    }
    let Message::Yield(y) = router.expect().await else {
        panic!("expected YIELD")
    };
    assert_eq!((y.request, y.args), (5, Some(list![60])));
}
