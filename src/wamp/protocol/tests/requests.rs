//! Calls, publications, subscriptions, registrations and invocations.

use super::*;

#[test]
fn call_result_error_and_progress() {
    let mut p = joined();
    let opts = dict! {"receive_progress" => true};
    let id = p
        .call("com.add", list![1, 2], Dict::new(), opts, "c1")
        .unwrap();
    let msgs = out(&mut p);
    assert!(
        matches!(msgs.as_slice(), [Message::Call(c)] if c.procedure == "com.add" && c.receive_progress() && c.args == Some(list![1, 2]))
    );
    assert_eq!(p.token(id), Some(&"c1"));
    p.handle_message(Message::Result(ResultMessage {
        request: id,
        details: dict! {"progress" => true},
        args: Some(list![1]),
        kwargs: None,
    }));
    p.handle_message(Message::Result(ResultMessage {
        request: id,
        details: Dict::new(),
        args: Some(list![3]),
        kwargs: Some(dict! {"k" => "v"}),
    }));
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [Event::CallProgress { request, result }, Event::CallResult { token: "c1", result: r }]
            if *request == id && result.args == list![1] && r.args == list![3] && r.kwargs == dict! {"k" => "v"}),
        "{evs:?}"
    );
    assert_eq!(p.pending_requests(), 0);

    let id = p
        .call("com.fail", vec![], Dict::new(), Dict::new(), "c2")
        .unwrap();
    p.handle_message(Message::Error(ErrorMessage {
        request_type: MessageType::Call,
        request: id,
        details: Dict::new(),
        error: "com.myapp.error".into(),
        args: Some(list!["boom"]),
        kwargs: None,
    }));
    let evs = events(&mut p);
    let [Event::RequestFailed {
        token: "c2",
        error: Error::Application(e),
    }] = evs.as_slice()
    else {
        panic!("{evs:?}")
    };
    assert_eq!(e.error, "com.myapp.error");
    assert_eq!(e.message(), Some("boom"));
}

#[test]
fn progress_not_asked_for_is_dropped() {
    let mut p = joined();
    let id = p
        .call("com.x", vec![], Dict::new(), Dict::new(), "c")
        .unwrap();
    p.handle_message(Message::Result(ResultMessage {
        request: id,
        details: dict! {"progress" => true},
        args: None,
        kwargs: None,
    }));
    assert!(events(&mut p).is_empty());
    assert!(p.is_attached());
}

#[test]
fn invalid_uri_fails_locally() {
    let mut p = joined();
    assert_eq!(
        p.call("bad uri", vec![], Dict::new(), Dict::new(), "c"),
        None
    );
    // A prefix pattern is fine with match=prefix, not without.
    assert_eq!(p.subscribe("com.app.", Dict::new(), "h", "s1"), None);
    assert!(p
        .subscribe("com.app.", dict! {"match" => "prefix"}, "h", "s2")
        .is_some());
    let evs = events(&mut p);
    assert!(matches!(
        evs.as_slice(),
        [
            Event::RequestFailed {
                token: "c",
                error: Error::InvalidUri(_)
            },
            Event::RequestFailed {
                token: "s1",
                error: Error::InvalidUri(_)
            },
        ]
    ));
}

#[test]
fn cancel_and_abandon() {
    let mut p = joined();
    let id = p
        .call("com.slow", vec![], Dict::new(), Dict::new(), "c")
        .unwrap();
    out(&mut p);
    p.cancel(id, Some(CancelMode::Kill)).unwrap();
    // Canceling twice sends one CANCEL.
    p.cancel(id, Some(CancelMode::Kill)).unwrap();
    let msgs = out(&mut p);
    assert!(
        matches!(msgs.as_slice(), [Message::Cancel(c)] if c.request == id && c.mode() == Some("kill")),
        "{msgs:?}"
    );
    p.handle_message(Message::Error(ErrorMessage {
        request_type: MessageType::Call,
        request: id,
        details: Dict::new(),
        error: "wamp.error.canceled".into(),
        args: None,
        kwargs: None,
    }));
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::RequestFailed {
            token: "c",
            error: Error::Canceled
        }]
    ));
    assert!(p.cancel(id, None).is_err(), "no such call any more");

    // Abandoned call: CANCEL without mode, and the late RESULT is dropped quietly.
    let id = p
        .call("com.slow", vec![], Dict::new(), Dict::new(), "d")
        .unwrap();
    out(&mut p);
    assert_eq!(p.abandon(id, None), Some("d"));
    assert!(
        matches!(out(&mut p).as_slice(), [Message::Cancel(c)] if c.request == id && c.mode().is_none())
    );
    p.handle_message(Message::Result(ResultMessage {
        request: id,
        ..Default::default()
    }));
    assert!(events(&mut p).is_empty());
    assert!(p.is_attached());
    assert_eq!(p.pending_requests(), 0);
}

#[test]
fn no_cancel_without_router_feature() {
    let mut p = P::new("json", "peer");
    p.join(&HelloDetails::new("realm1")).unwrap();
    p.handle_message(Message::Welcome(Welcome {
        session: 1,
        details: Dict::new(),
    }));
    out(&mut p);
    let id = p
        .call("com.slow", vec![], Dict::new(), Dict::new(), "c")
        .unwrap();
    out(&mut p);
    assert!(p.cancel(id, None).is_err());
    assert_eq!(p.abandon(id, None), Some("c"));
    assert!(out(&mut p).is_empty());
}

#[test]
fn publish_with_and_without_acknowledge() {
    let mut p = joined();
    let id = p
        .publish("com.t", list![1], Dict::new(), Dict::new(), "p1")
        .unwrap();
    assert_eq!(
        p.pending_requests(),
        0,
        "unacknowledged publish is not tracked"
    );
    let ack = p
        .publish(
            "com.t",
            vec![],
            Dict::new(),
            dict! {"acknowledge" => true},
            "p2",
        )
        .unwrap();
    let msgs = out(&mut p);
    assert!(
        matches!(msgs.as_slice(), [Message::Publish(a), Message::Publish(b)]
        if a.request == id && !a.acknowledge() && b.acknowledge())
    );
    p.handle_message(Message::Published(Published {
        request: ack,
        publication: 99,
    }));
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::Published {
            token: "p2",
            publication: 99
        }]
    ));
    // A PUBLISHED for the unacknowledged publish is a violation.
    p.handle_message(Message::Published(Published {
        request: id,
        publication: 1,
    }));
    assert_violation(&mut p);
}

#[test]
fn subscribe_event_and_unsubscribe_with_shared_subscription() {
    let mut p = joined();
    let r1 = p.subscribe("com.t", Dict::new(), "h1", "s1").unwrap();
    let r2 = p.subscribe("com.t", Dict::new(), "h2", "s2").unwrap();
    out(&mut p);
    // The router answers both with the same subscription id.
    for r in [r1, r2] {
        p.handle_message(Message::Subscribed(Subscribed {
            request: r,
            subscription: 5,
        }));
    }
    let evs = events(&mut p);
    let locals: Vec<u64> = evs
        .iter()
        .map(|e| match e {
            Event::Subscribed {
                subscription: 5,
                handler,
                ..
            } => *handler,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(locals.len(), 2);
    assert_ne!(locals[0], locals[1]);

    p.handle_message(Message::Event(EventMsg {
        subscription: 5,
        publication: 77,
        details: dict! {"publisher" => 3},
        args: Some(list!["hi"]),
        kwargs: None,
    }));
    let evs = events(&mut p);
    let [Event::Event {
        handlers,
        details,
        args,
        ..
    }] = evs.as_slice()
    else {
        panic!("{evs:?}")
    };
    assert_eq!(handlers, &vec!["h1", "h2"]);
    assert_eq!(details.publication, 77);
    assert_eq!(details.publisher, Some(3));
    assert_eq!(details.topic.as_deref(), Some("com.t"));
    assert_eq!(args, &list!["hi"]);

    // Removing the first handler is local only.
    assert_eq!(p.unsubscribe(5, locals[0], "u1"), None);
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::Unsubscribed { token: "u1" }]
    ));
    assert!(out(&mut p).is_empty());
    // The last one sends UNSUBSCRIBE; events in flight are dropped meanwhile.
    let u = p.unsubscribe(5, locals[1], "u2").unwrap();
    assert!(matches!(out(&mut p).as_slice(), [Message::Unsubscribe(m)] if m.subscription == 5));
    p.handle_message(Message::Event(EventMsg {
        subscription: 5,
        publication: 78,
        ..Default::default()
    }));
    assert!(events(&mut p).is_empty());
    p.handle_message(Message::Unsubscribed(Unsubscribed {
        request: u,
        details: Dict::new(),
    }));
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::Unsubscribed { token: "u2" }]
    ));
    // Unknown handler now.
    assert_eq!(p.unsubscribe(5, locals[1], "u3"), None);
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::RequestFailed { token: "u3", .. }]
    ));
    // After UNSUBSCRIBED, an EVENT for it is a violation.
    p.handle_message(Message::Event(EventMsg {
        subscription: 5,
        publication: 79,
        ..Default::default()
    }));
    assert_violation(&mut p);
}

#[test]
fn subscription_and_registration_revocation_with_request_id_zero() {
    let mut p = joined();
    let s = p.subscribe("com.t", Dict::new(), "h", "s").unwrap();
    let r = p.register("com.p", Dict::new(), "e", "r").unwrap();
    p.handle_message(Message::Subscribed(Subscribed {
        request: s,
        subscription: 10,
    }));
    p.handle_message(Message::Registered(Registered {
        request: r,
        registration: 20,
    }));
    events(&mut p);
    p.handle_message(Message::Unsubscribed(Unsubscribed {
        request: 0,
        details: dict! {"subscription" => 10, "reason" => "wamp.error.gone"},
    }));
    p.handle_message(Message::Unregistered(Unregistered {
        request: 0,
        details: dict! {"registration" => 20},
    }));
    let evs = events(&mut p);
    assert!(matches!(
        evs.as_slice(),
        [
            Event::SubscriptionRevoked {
                subscription: 10,
                reason: Some(_)
            },
            Event::RegistrationRevoked {
                registration: 20,
                reason: None
            },
        ]
    ));
    assert!(p.is_attached());
    // Revocation without an id is malformed.
    p.handle_message(Message::Unregistered(Unregistered {
        request: 0,
        details: Dict::new(),
    }));
    assert_violation(&mut p);
}

pub(super) fn registered(p: &mut P) -> u64 {
    let r = p.register("com.add", Dict::new(), "add", "r").unwrap();
    p.handle_message(Message::Registered(Registered {
        request: r,
        registration: 30,
    }));
    out(p);
    assert!(matches!(
        events(p).as_slice(),
        [Event::Registered {
            token: "r",
            registration: 30
        }]
    ));
    30
}

#[test]
fn register_invocation_yield() {
    let mut p = joined();
    let reg = registered(&mut p);
    p.handle_message(Message::Invocation(Invocation {
        request: 500,
        registration: reg,
        details: dict! {"receive_progress" => true, "caller" => 9},
        args: Some(list![2, 3]),
        kwargs: None,
    }));
    let evs = events(&mut p);
    let [Event::Invocation {
        request: 500,
        endpoint: "add",
        details,
        receive_progress: true,
        args,
        ..
    }] = evs.as_slice()
    else {
        panic!("{evs:?}")
    };
    assert_eq!(details.caller, Some(9));
    assert_eq!(details.procedure.as_deref(), Some("com.add"));
    assert_eq!(args, &list![2, 3]);

    p.yield_result(500, CallResult::with_args(list![1]), true)
        .unwrap();
    p.yield_result(500, CallResult::with_args(list![5]), false)
        .unwrap();
    let msgs = out(&mut p);
    assert!(
        matches!(msgs.as_slice(), [Message::Yield(a), Message::Yield(b)]
        if a.progress() && !b.progress() && b.args == Some(list![5]))
    );
    // The invocation is finished.
    assert!(p.yield_result(500, CallResult::new(), false).is_err());

    // Endpoint error.
    p.handle_message(Message::Invocation(Invocation {
        request: 501,
        registration: reg,
        ..Default::default()
    }));
    events(&mut p);
    assert!(
        p.yield_result(501, CallResult::new(), true).is_err(),
        "no progress without receive_progress"
    );
    p.invocation_error(501, ApplicationError::new("com.err"))
        .unwrap();
    assert!(matches!(out(&mut p).as_slice(), [Message::Error(e)]
        if e.request_type == MessageType::Invocation && e.request == 501 && e.error == "com.err"));

    // An invalid error URI becomes a runtime error.
    p.handle_message(Message::Invocation(Invocation {
        request: 502,
        registration: reg,
        ..Default::default()
    }));
    p.invocation_error(502, ApplicationError::new("not a uri"))
        .unwrap();
    assert!(
        matches!(out(&mut p).as_slice(), [Message::Error(e)] if e.error == "wamp.error.runtime_error")
    );
}

#[test]
fn interrupt() {
    let mut p = joined();
    let reg = registered(&mut p);
    for request in [1, 2] {
        p.handle_message(Message::Invocation(Invocation {
            request,
            registration: reg,
            ..Default::default()
        }));
    }
    events(&mut p);
    p.handle_message(Message::Interrupt(Interrupt {
        request: 1,
        options: dict! {"mode" => "kill"},
    }));
    p.handle_message(Message::Interrupt(Interrupt {
        request: 2,
        options: dict! {"mode" => "killnowait", "reason" => "wamp.error.timeout"},
    }));
    // INTERRUPT for an unknown invocation (already answered) is ignored.
    p.handle_message(Message::Interrupt(Interrupt {
        request: 3,
        options: Dict::new(),
    }));
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [
        Event::Interrupt { request: 1, mode: Some(m1), reason: None },
        Event::Interrupt { request: 2, mode: Some(m2), reason: Some(_) },
    ] if m1 == "kill" && m2 == "killnowait"),
        "{evs:?}"
    );
    // kill: the callee answers with ERROR canceled; killnowait: already forgotten.
    p.invocation_error(1, ApplicationError::new(ApplicationError::CANCELED))
        .unwrap();
    assert!(p
        .invocation_error(2, ApplicationError::new(ApplicationError::CANCELED))
        .is_err());
    assert!(p.is_attached());
}

#[test]
fn unregister() {
    let mut p = joined();
    let reg = registered(&mut p);
    let u = p.unregister(reg, "u").unwrap();
    assert!(matches!(out(&mut p).as_slice(), [Message::Unregister(m)] if m.registration == reg));
    // Still served until UNREGISTERED.
    p.handle_message(Message::Invocation(Invocation {
        request: 1,
        registration: reg,
        ..Default::default()
    }));
    p.handle_message(Message::Unregistered(Unregistered {
        request: u,
        details: Dict::new(),
    }));
    let evs = events(&mut p);
    assert!(matches!(
        evs.as_slice(),
        [Event::Invocation { .. }, Event::Unregistered { token: "u" }]
    ));
    assert_eq!(p.unregister(reg, "u2"), None);
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::RequestFailed { token: "u2", .. }]
    ));
}
