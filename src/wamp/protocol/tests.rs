use super::*;
use crate::wamp::message::{
    Challenge as ChallengeMsg, Event as EventMsg, Interrupt, Invocation, Published, Registered,
    ResultMessage, Subscribed, Unregistered, Unsubscribed, Welcome,
};
use crate::{dict, list};

struct Labels;
impl SessionTypes for Labels {
    type Token = &'static str;
    type EventHandler = &'static str;
    type Endpoint = &'static str;
}

type P = Protocol<Labels>;

fn out(p: &mut P) -> Vec<Message> {
    std::iter::from_fn(|| p.poll_outgoing()).collect()
}

fn events(p: &mut P) -> Vec<Event<Labels>> {
    std::iter::from_fn(|| p.poll_event()).collect()
}

fn dealer_broker_roles() -> Dict {
    let features =
        Value::Dict(dict! {"call_canceling" => true, "progressive_call_results" => true});
    dict! {
        "roles" => Value::Dict(dict! {
            "dealer" => Value::Dict(dict! {"features" => features}),
            "broker" => Value::Dict(dict! {}),
        }),
        "authid" => "joe",
        "authrole" => "user",
    }
}

/// A protocol joined to `realm1` as session 42, outgoing and events drained.
fn joined() -> P {
    let mut p = P::new("json", "tcp:127.0.0.1:8080");
    p.join(&HelloDetails::new("realm1")).unwrap();
    p.handle_message(Message::Welcome(Welcome {
        session: 42,
        details: dealer_broker_roles(),
    }));
    out(&mut p);
    events(&mut p);
    assert!(p.is_attached());
    p
}

fn assert_violation(p: &mut P) {
    let msgs = out(p);
    assert!(
        matches!(msgs.last(), Some(Message::Abort(a)) if a.reason == "wamp.error.protocol_violation" && a.message().is_some()),
        "{msgs:?}"
    );
    let evs = events(p);
    assert!(matches!(evs.last(), Some(Event::CloseTransport)), "{evs:?}");
    assert!(p.is_dead());
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn join_sends_hello_with_roles_and_welcome_establishes() {
    let mut p = P::new("json", "peer");
    let hello = HelloDetails {
        realm: "realm1".into(),
        authmethods: vec!["ticket".into()],
        authid: Some("joe".into()),
        ..Default::default()
    };
    p.join(&hello).unwrap();
    assert_eq!(p.state(), State::Establishing);
    let msgs = out(&mut p);
    let [Message::Hello(h)] = msgs.as_slice() else {
        panic!("{msgs:?}")
    };
    assert_eq!(h.realm, "realm1");
    assert_eq!(h.authmethods(), vec!["ticket"]);
    assert_eq!(h.authid(), Some("joe"));
    let roles = h.roles().unwrap();
    for role in ["caller", "callee", "publisher", "subscriber"] {
        assert!(roles.contains_key(role), "{role}");
    }
    assert_eq!(
        roles["caller"]["features"]["progressive_call_results"],
        Value::Bool(true)
    );
    assert_eq!(
        roles["callee"]["features"]["call_canceling"],
        Value::Bool(true)
    );
    // A second join while joining is refused.
    assert!(p.join(&hello).is_err());

    p.handle_message(Message::Welcome(Welcome {
        session: 7,
        details: dealer_broker_roles(),
    }));
    let evs = events(&mut p);
    let [Event::Joined(d)] = evs.as_slice() else {
        panic!("{evs:?}")
    };
    assert_eq!(d.session, 7);
    assert_eq!(d.realm, "realm1");
    assert_eq!(d.authid.as_deref(), Some("joe"));
    assert_eq!(d.authrole.as_deref(), Some("user"));
    assert_eq!(d.serializer, "json");
    assert!(p.router_has_feature("dealer", "call_canceling"));
    assert!(!p.router_has_feature("broker", "call_canceling"));
}

#[test]
fn invalid_realm_is_refused() {
    let mut p = P::new("json", "peer");
    assert!(matches!(
        p.join(&HelloDetails::new("bad realm")),
        Err(Error::InvalidUri(_))
    ));
    assert!(out(&mut p).is_empty());
}

#[test]
fn challenge_authenticate_welcome() {
    let mut p = P::new("json", "peer");
    p.join(&HelloDetails::new("realm1")).unwrap();
    out(&mut p);
    // Authenticating without a challenge is refused.
    assert!(p.authenticate("sig".into(), Dict::new()).is_err());
    p.handle_message(Message::Challenge(ChallengeMsg {
        method: "wampcra".into(),
        extra: dict! {"challenge" => "abc"},
    }));
    assert_eq!(p.state(), State::Challenging);
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [Event::Challenge(c)] if c.method == "wampcra" && c.extra["challenge"] == Value::from("abc"))
    );
    p.authenticate("sig".into(), Dict::new()).unwrap();
    assert!(matches!(out(&mut p).as_slice(), [Message::Authenticate(a)] if a.signature == "sig"));
    p.handle_message(Message::Welcome(Welcome {
        session: 1,
        details: Dict::new(),
    }));
    assert!(p.is_attached());
}

#[test]
fn abort_while_joining_and_client_abort() {
    let mut p = P::new("json", "peer");
    p.join(&HelloDetails::new("nope")).unwrap();
    out(&mut p);
    p.handle_message(Message::Abort(Abort {
        details: dict! {"message" => "no such realm"},
        reason: "wamp.error.no_such_realm".into(),
    }));
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [Event::Left(d)] if d.reason == "wamp.error.no_such_realm" && d.message.as_deref() == Some("no such realm"))
    );
    assert_eq!(p.state(), State::Closed);
    assert!(out(&mut p).is_empty(), "ABORT is not answered");

    // The client gives up on a challenge it cannot answer.
    p.join(&HelloDetails::new("realm1")).unwrap();
    p.handle_message(Message::Challenge(ChallengeMsg {
        method: "ticket".into(),
        extra: Dict::new(),
    }));
    out(&mut p);
    events(&mut p);
    p.abort("wamp.error.cannot_authenticate", Some("no ticket"))
        .unwrap();
    assert!(
        matches!(out(&mut p).as_slice(), [Message::Abort(a)] if a.reason == "wamp.error.cannot_authenticate")
    );
    assert!(matches!(events(&mut p).as_slice(), [Event::Left(_)]));
}

#[test]
fn requests_before_join_fail_not_ready() {
    let mut p = P::new("json", "peer");
    assert_eq!(p.call("com.x", vec![], Dict::new(), Dict::new(), "c"), None);
    assert_eq!(p.subscribe("com.t", Dict::new(), "h", "s"), None);
    let evs = events(&mut p);
    assert!(matches!(
        evs.as_slice(),
        [
            Event::RequestFailed {
                token: "c",
                error: Error::SessionNotReady
            },
            Event::RequestFailed {
                token: "s",
                error: Error::SessionNotReady
            },
        ]
    ));
    assert!(out(&mut p).is_empty());
}

#[test]
fn request_ids_are_sequential_from_one_and_restart_per_session() {
    let mut p = joined();
    assert_eq!(
        p.call("com.a", vec![], Dict::new(), Dict::new(), "a"),
        Some(1)
    );
    assert_eq!(
        p.publish("com.t", vec![], Dict::new(), Dict::new(), "p"),
        Some(2)
    );
    assert_eq!(p.subscribe("com.t", Dict::new(), "h", "s"), Some(3));
    assert_eq!(p.register("com.r", Dict::new(), "e", "r"), Some(4));
    let ids: Vec<u64> = out(&mut p).iter().filter_map(Message::request_id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);

    p.leave("wamp.close.normal", None).unwrap();
    p.handle_message(Message::Goodbye(Goodbye {
        details: Dict::new(),
        reason: "wamp.close.goodbye_and_out".into(),
    }));
    p.join(&HelloDetails::new("realm1")).unwrap();
    p.handle_message(Message::Welcome(Welcome {
        session: 43,
        details: Dict::new(),
    }));
    assert_eq!(
        p.call("com.a", vec![], Dict::new(), Dict::new(), "a"),
        Some(1)
    );
}

#[test]
fn request_id_wraps_after_2_pow_53() {
    let mut p = joined();
    p.next_request = MAX_ID;
    assert_eq!(
        p.publish("com.t", vec![], Dict::new(), Dict::new(), "p"),
        Some(MAX_ID)
    );
    assert_eq!(
        p.publish("com.t", vec![], Dict::new(), Dict::new(), "p"),
        Some(1)
    );
}

#[test]
fn goodbye_from_router_is_answered_and_fails_pending() {
    let mut p = joined();
    p.call("com.x", vec![], Dict::new(), Dict::new(), "c");
    out(&mut p);
    p.handle_message(Message::Goodbye(Goodbye {
        details: dict! {"message" => "bye"},
        reason: "wamp.close.system_shutdown".into(),
    }));
    assert!(
        matches!(out(&mut p).as_slice(), [Message::Goodbye(g)] if g.reason == "wamp.close.goodbye_and_out")
    );
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [
        Event::RequestFailed { token: "c", error: Error::SessionClosed { reason } },
        Event::Left(d),
    ] if reason == "wamp.close.system_shutdown" && d.message.as_deref() == Some("bye")),
        "{evs:?}"
    );
    assert_eq!(p.state(), State::Closed);
    assert!(!p.is_dead(), "the transport may carry a new session");
}

#[test]
fn leave_waits_for_goodbye_reply() {
    let mut p = joined();
    p.leave("wamp.close.normal", Some("done")).unwrap();
    assert_eq!(p.state(), State::Closing);
    assert!(
        matches!(out(&mut p).as_slice(), [Message::Goodbye(g)] if g.reason == "wamp.close.normal" && g.message() == Some("done"))
    );
    assert!(p.leave("wamp.close.normal", None).is_err());
    // Messages in flight are dropped while closing.
    p.handle_message(Message::Event(EventMsg {
        subscription: 1234,
        ..Default::default()
    }));
    assert!(events(&mut p).is_empty());
    p.handle_message(Message::Goodbye(Goodbye {
        details: Dict::new(),
        reason: "wamp.close.goodbye_and_out".into(),
    }));
    assert!(out(&mut p).is_empty(), "the reply is not answered");
    assert!(
        matches!(events(&mut p).as_slice(), [Event::Left(d)] if d.reason == "wamp.close.goodbye_and_out")
    );
    assert_eq!(p.state(), State::Closed);
}

#[test]
fn transport_loss_fails_every_pending_request() {
    let mut p = joined();
    p.call("com.a", vec![], Dict::new(), Dict::new(), "call");
    p.subscribe("com.t", Dict::new(), "h", "sub");
    p.register("com.p", Dict::new(), "e", "reg");
    p.publish(
        "com.t",
        vec![],
        Dict::new(),
        dict! {"acknowledge" => true},
        "pub",
    );
    let abandoned = p
        .call("com.b", vec![], Dict::new(), Dict::new(), "gone")
        .unwrap();
    p.abandon(abandoned, None);
    out(&mut p);
    p.transport_lost();
    let evs = events(&mut p);
    let failed: Vec<&str> = evs
        .iter()
        .filter_map(|e| match e {
            Event::RequestFailed {
                token,
                error: Error::TransportLost,
            } => Some(*token),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec!["call", "sub", "reg", "pub"]);
    assert!(matches!(evs.last(), Some(Event::Left(d)) if d.reason == "wamp.close.transport_lost"));
    assert_eq!(p.pending_requests(), 0);
    // Nothing works afterwards.
    assert!(p.join(&HelloDetails::new("realm1")).is_err());
    p.handle_message(Message::Welcome(Welcome::default()));
    assert!(events(&mut p).is_empty());
    assert_eq!(
        p.call("com.a", vec![], Dict::new(), Dict::new(), "late"),
        None
    );
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::RequestFailed { token: "late", .. }]
    ));
}

#[test]
fn protocol_violations_abort() {
    // Each case: a fresh established session, then the offending message.
    let cases: Vec<(&str, Message)> = vec![
        (
            "WELCOME while established",
            Message::Welcome(Welcome::default()),
        ),
        (
            "CHALLENGE while established",
            Message::Challenge(ChallengeMsg::default()),
        ),
        (
            "RESULT for unknown request",
            Message::Result(ResultMessage {
                request: 77,
                ..Default::default()
            }),
        ),
        (
            "progressive RESULT for unknown request",
            Message::Result(ResultMessage {
                request: 77,
                details: dict! {"progress" => true},
                ..Default::default()
            }),
        ),
        (
            "SUBSCRIBED for unknown request",
            Message::Subscribed(Subscribed {
                request: 3,
                subscription: 1,
            }),
        ),
        (
            "UNSUBSCRIBED for unknown request",
            Message::Unsubscribed(Unsubscribed {
                request: 3,
                details: Dict::new(),
            }),
        ),
        (
            "ERROR for an INVOCATION",
            Message::Error(ErrorMessage {
                request_type: MessageType::Invocation,
                request: 1,
                details: Dict::new(),
                error: "x.y".into(),
                args: None,
                kwargs: None,
            }),
        ),
        (
            "INVOCATION for unknown registration",
            Message::Invocation(Invocation {
                request: 1,
                registration: 9,
                ..Default::default()
            }),
        ),
        ("HELLO sent to a client", Message::Hello(Hello::default())),
        ("CALL sent to a client", Message::Call(Call::default())),
        ("YIELD sent to a client", Message::Yield(Yield::default())),
    ];
    for (name, msg) in cases {
        let mut p = joined();
        p.call("com.pending", vec![], Dict::new(), Dict::new(), "c");
        out(&mut p);
        p.handle_message(msg);
        let msgs = out(&mut p);
        assert!(
            matches!(msgs.as_slice(), [Message::Abort(a)] if a.reason == "wamp.error.protocol_violation"),
            "{name}: {msgs:?}"
        );
        let evs = events(&mut p);
        assert!(
            matches!(evs.as_slice(), [
                Event::RequestFailed { token: "c", error: Error::ProtocolViolation(_) },
                Event::Left(d),
                Event::CloseTransport,
            ] if d.reason == "wamp.error.protocol_violation"),
            "{name}: {evs:?}"
        );
        assert!(p.is_dead(), "{name}");
    }
}

#[test]
fn answer_of_the_wrong_kind_is_a_violation() {
    let mut p = joined();
    let id = p
        .call("com.a", vec![], Dict::new(), Dict::new(), "c")
        .unwrap();
    p.handle_message(Message::Subscribed(Subscribed {
        request: id,
        subscription: 1,
    }));
    assert_violation(&mut p);

    let mut p = joined();
    let id = p.subscribe("com.t", Dict::new(), "h", "s").unwrap();
    p.handle_message(Message::Error(ErrorMessage {
        request_type: MessageType::Call,
        request: id,
        details: Dict::new(),
        error: "x.y".into(),
        args: None,
        kwargs: None,
    }));
    assert_violation(&mut p);
}

#[test]
fn violations_while_joining() {
    let mut p = P::new("json", "peer");
    p.handle_message(Message::Welcome(Welcome::default()));
    assert!(p.is_dead(), "WELCOME without HELLO");

    let mut p = P::new("json", "peer");
    p.join(&HelloDetails::new("realm1")).unwrap();
    out(&mut p);
    p.handle_message(Message::Goodbye(Goodbye::default()));
    let msgs = out(&mut p);
    assert!(matches!(msgs.as_slice(), [Message::Abort(_)]));
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::Left(_), Event::CloseTransport]
    ));

    // WELCOME while waiting for the application's AUTHENTICATE.
    let mut p = P::new("json", "peer");
    p.join(&HelloDetails::new("realm1")).unwrap();
    p.handle_message(Message::Challenge(ChallengeMsg::default()));
    p.handle_message(Message::Welcome(Welcome::default()));
    assert!(p.is_dead());
}

#[test]
fn duplicate_invocation_id_and_registration_id() {
    let mut p = joined();
    let reg = registered(&mut p);
    let inv = Invocation {
        request: 1,
        registration: reg,
        ..Default::default()
    };
    p.handle_message(Message::Invocation(inv.clone()));
    p.handle_message(Message::Invocation(inv));
    assert!(p.is_dead());

    let mut p = joined();
    let reg = registered(&mut p);
    let r = p.register("com.other", Dict::new(), "e", "r2").unwrap();
    p.handle_message(Message::Registered(Registered {
        request: r,
        registration: reg,
    }));
    assert!(p.is_dead());
}

#[test]
fn abort_while_established_closes() {
    let mut p = joined();
    p.handle_message(Message::Abort(Abort {
        details: Dict::new(),
        reason: "wamp.error.system_shutdown".into(),
    }));
    assert!(out(&mut p).is_empty());
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::Left(_), Event::CloseTransport]
    ));
}

mod requests;
use requests::registered;

mod advanced;
