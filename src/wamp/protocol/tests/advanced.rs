//! Advanced profile: timeout units, payload transparency, the HELLO roles.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::wamp::payload::{EncodedPayload, PayloadCodec, PptKeys};

/// A protocol joined to a router whose WELCOME says it is Crossbar.io.
fn joined_crossbar() -> P {
    let mut p = P::new("json", "peer");
    p.join(&HelloDetails::new("realm1")).unwrap();
    let mut details = dealer_broker_roles();
    details.insert(
        "authextra".into(),
        Value::Dict(dict! {"x_cb_node" => "node1", "x_cb_pid" => 7}),
    );
    p.handle_message(Message::Welcome(Welcome {
        session: 1,
        details,
    }));
    out(&mut p);
    events(&mut p);
    p
}

fn sent_call(p: &mut P) -> crate::wamp::message::Call {
    match out(p).pop() {
        Some(Message::Call(c)) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn hello_announces_client_roles() {
    let mut p = P::new("json", "peer");
    p.join(&HelloDetails::new("realm1")).unwrap();
    let msgs = out(&mut p);
    let [Message::Hello(h)] = msgs.as_slice() else {
        panic!("{msgs:?}")
    };
    assert_eq!(h.roles(), Some(&client_roles()));
}

#[test]
fn call_timeout_in_the_routers_unit() {
    let ms = |t: u64| dict! {"timeout" => t};
    // Spec router: milliseconds as given.
    let mut p = joined();
    assert_eq!(p.timeout_unit(), TimeoutUnit::Milliseconds);
    p.call("com.x", vec![], Dict::new(), ms(1500), "c").unwrap();
    assert_eq!(sent_call(&mut p).timeout(), Some(1500));

    // Crossbar.io: whole seconds, rounded up.
    let mut p = joined_crossbar();
    assert_eq!(p.timeout_unit(), TimeoutUnit::Seconds);
    p.call("com.x", vec![], Dict::new(), ms(1500), "c").unwrap();
    assert_eq!(sent_call(&mut p).timeout(), Some(2));
    p.call("com.x", vec![], Dict::new(), ms(1), "c").unwrap();
    assert_eq!(sent_call(&mut p).timeout(), Some(1));
    // The application can override the detection.
    p.set_timeout_unit(Some(TimeoutUnit::Milliseconds));
    p.call("com.x", vec![], Dict::new(), ms(1500), "c").unwrap();
    assert_eq!(sent_call(&mut p).timeout(), Some(1500));
}

#[test]
fn invocation_timeout_read_in_the_routers_unit() {
    for (mut p, sent, want) in [
        (joined(), Value::from(2500), Duration::from_millis(2500)),
        (joined_crossbar(), Value::from(2), Duration::from_secs(2)),
        (
            joined_crossbar(),
            Value::from(0.5),
            Duration::from_millis(500),
        ),
    ] {
        let reg = registered(&mut p);
        p.handle_message(Message::Invocation(Invocation {
            request: 5,
            registration: reg,
            details: dict! {"timeout" => sent},
            args: None,
            kwargs: None,
        }));
        let evs = events(&mut p);
        let [Event::Invocation { details, .. }] = evs.as_slice() else {
            panic!("{evs:?}")
        };
        assert_eq!(details.timeout, Some(want));
    }
}

#[test]
fn a_dealer_enforced_timeout_is_a_timeout() {
    let mut p = joined_crossbar();
    for error in [ApplicationError::CANCELED, ApplicationError::TIMEOUT] {
        let id = p
            .call("com.x", vec![], Dict::new(), dict! {"timeout" => 1000}, "c")
            .unwrap();
        p.handle_message(Message::Error(ErrorMessage {
            request_type: MessageType::Call,
            request: id,
            details: Dict::new(),
            error: error.into(),
            args: Some(list!["timeout reached"]),
            kwargs: None,
        }));
        let evs = events(&mut p);
        assert!(
            matches!(
                evs.as_slice(),
                [Event::RequestFailed {
                    error: Error::Timeout,
                    ..
                }]
            ),
            "{evs:?}"
        );
    }
    // Without a timeout, a router's cancel stays an application error.
    let id = p
        .call("com.x", vec![], Dict::new(), Dict::new(), "c")
        .unwrap();
    p.handle_message(Message::Error(ErrorMessage {
        request_type: MessageType::Call,
        request: id,
        details: Dict::new(),
        error: ApplicationError::CANCELED.into(),
        args: None,
        kwargs: None,
    }));
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::RequestFailed {
            error: Error::Application(_),
            ..
        }]
    ));
}

/// Encodes `[args, kwargs]` as JSON bytes under scheme `x_test`, with the given keys;
/// leaves URIs under `plain.` unencoded; refuses to decode `x_bad`.
struct TestCodec(PptKeys);

impl PayloadCodec for TestCodec {
    fn encode(
        &self,
        _originating: bool,
        uri: &str,
        args: &[Value],
        kwargs: &Dict,
    ) -> Result<Option<EncodedPayload>, ApplicationError> {
        if uri.starts_with("plain.") {
            return Ok(None);
        }
        let v = Value::List(vec![
            Value::List(args.to_vec()),
            Value::Dict(kwargs.clone()),
        ]);
        let bytes = serde_json::to_vec(&v).map_err(|e| {
            ApplicationError::with_message(ApplicationError::INVALID_PAYLOAD, e.to_string())
        })?;
        Ok(Some(
            EncodedPayload::new(bytes, "x_test")
                .serializer("json")
                .keys(self.0),
        ))
    }

    fn decode(
        &self,
        _originating: bool,
        _uri: &str,
        payload: EncodedPayload,
    ) -> Result<(Vec<Value>, Dict), ApplicationError> {
        let bad = || ApplicationError::new(ApplicationError::INVALID_PAYLOAD);
        if payload.enc_algo != "x_test" {
            return Err(bad());
        }
        let v: Value = serde_json::from_slice(&payload.payload).map_err(|_| bad())?;
        match v {
            Value::List(mut l) if l.len() == 2 => match (l.remove(0), l.remove(0)) {
                (Value::List(a), Value::Dict(k)) => Ok((a, k)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

fn encoded(args: Vec<Value>, kwargs: Dict) -> Vec<Value> {
    TestCodec(PptKeys::Autobahn)
        .encode(true, "t", &args, &kwargs)
        .unwrap()
        .unwrap()
        .into_args()
}

#[test]
fn codec_encodes_calls_and_publications_with_either_key_set() {
    for keys in [PptKeys::Autobahn, PptKeys::Spec] {
        let mut p = joined();
        p.set_payload_codec(Some(Arc::new(TestCodec(keys))));
        p.call("com.x", list![1], dict! {"k" => 2}, Dict::new(), "c")
            .unwrap();
        let c = sent_call(&mut p);
        let scheme = if keys == PptKeys::Autobahn {
            "enc_algo"
        } else {
            "ppt_scheme"
        };
        assert_eq!(c.options.get(scheme), Some(&Value::from("x_test")));
        assert_eq!(c.args, Some(encoded(list![1], dict! {"k" => 2})));
        assert_eq!(c.kwargs, None);
        // The wire form: bare with Autobahn's keys, a one-element list with the spec's.
        let wire = Message::Call(c).to_value();
        let fifth = &wire.as_list().unwrap()[4];
        assert_eq!(
            matches!(fifth, Value::Bytes(_)),
            keys == PptKeys::Autobahn,
            "{wire:?}"
        );

        p.publish("com.t", list![1], Dict::new(), Dict::new(), "p");
        let msgs = out(&mut p);
        let [Message::Publish(m)] = msgs.as_slice() else {
            panic!("{msgs:?}")
        };
        assert_eq!(m.options.get(scheme), Some(&Value::from("x_test")));
        // A codec may leave a payload alone.
        p.publish("plain.t", list![1], Dict::new(), Dict::new(), "p");
        let msgs = out(&mut p);
        let [Message::Publish(m)] = msgs.as_slice() else {
            panic!("{msgs:?}")
        };
        assert!(m.options.is_empty());
        assert_eq!(m.args, Some(list![1]));
    }
}

#[test]
fn codec_decodes_events_results_and_invocations() {
    let mut p = joined();
    p.set_payload_codec(Some(Arc::new(TestCodec(PptKeys::Autobahn))));
    let payload = encoded(list!["a"], dict! {"n" => 1});

    // EVENT with the spec's keys
    let s = p.subscribe("com.t", Dict::new(), "h", "s").unwrap();
    p.handle_message(Message::Subscribed(Subscribed {
        request: s,
        subscription: 9,
    }));
    events(&mut p);
    p.handle_message(Message::Event(EventMsg {
        subscription: 9,
        publication: 1,
        details: dict! {"ppt_scheme" => "x_test", "ppt_serializer" => "json"},
        args: Some(payload.clone()),
        kwargs: None,
    }));
    let evs = events(&mut p);
    let [Event::Event {
        args,
        kwargs,
        details,
        ..
    }] = evs.as_slice()
    else {
        panic!("{evs:?}")
    };
    assert_eq!((args, kwargs), (&list!["a"], &dict! {"n" => 1}));
    assert_eq!(details.enc_algo.as_deref(), Some("x_test"));

    // An undecodable EVENT is dropped and reported.
    p.handle_message(Message::Event(EventMsg {
        subscription: 9,
        publication: 2,
        details: dict! {"enc_algo" => "x_bad"},
        args: Some(payload.clone()),
        kwargs: None,
    }));
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [Event::PayloadError { error, .. }] if error.error == ApplicationError::INVALID_PAYLOAD),
        "{evs:?}"
    );

    // RESULT with Autobahn's keys
    let id = p
        .call("plain.x", vec![], Dict::new(), Dict::new(), "c")
        .unwrap();
    out(&mut p);
    p.handle_message(Message::Result(ResultMessage {
        request: id,
        details: dict! {"enc_algo" => "x_test"},
        args: Some(payload.clone()),
        kwargs: None,
    }));
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [Event::CallResult { result, .. }] if result.args == list!["a"]),
        "{evs:?}"
    );

    // INVOCATION: decoded for the endpoint, and the YIELD encoded.
    let reg = registered(&mut p);
    p.handle_message(Message::Invocation(Invocation {
        request: 77,
        registration: reg,
        details: dict! {"enc_algo" => "x_test"},
        args: Some(payload.clone()),
        kwargs: None,
    }));
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [Event::Invocation { args, .. }] if *args == list!["a"]),
        "{evs:?}"
    );
    p.yield_result(77, CallResult::with_args(list![5]), false)
        .unwrap();
    let msgs = out(&mut p);
    let [Message::Yield(y)] = msgs.as_slice() else {
        panic!("{msgs:?}")
    };
    assert_eq!(y.options.get("enc_algo"), Some(&Value::from("x_test")));
    // A plain INVOCATION gets a plain YIELD (as Autobahn: its caller may have no codec).
    p.handle_message(Message::Invocation(Invocation {
        request: 79,
        registration: reg,
        details: Dict::new(),
        args: Some(list!["clear"]),
        kwargs: None,
    }));
    events(&mut p);
    p.yield_result(79, CallResult::with_args(list![6]), false)
        .unwrap();
    let msgs = out(&mut p);
    assert!(
        matches!(msgs.as_slice(), [Message::Yield(y)] if y.options.is_empty() && y.args == Some(list![6])),
        "{msgs:?}"
    );
    // An undecodable INVOCATION is answered with the codec's error, not run.
    p.handle_message(Message::Invocation(Invocation {
        request: 78,
        registration: reg,
        details: dict! {"enc_algo" => "x_bad"},
        args: Some(payload),
        kwargs: None,
    }));
    assert!(events(&mut p).is_empty());
    let msgs = out(&mut p);
    assert!(
        matches!(msgs.as_slice(), [Message::Error(e)] if e.request == 78 && e.error == ApplicationError::INVALID_PAYLOAD),
        "{msgs:?}"
    );
}

#[test]
fn without_a_codec_encoded_payloads_pass_through() {
    let mut p = joined();
    let s = p.subscribe("com.t", Dict::new(), "h", "s").unwrap();
    p.handle_message(Message::Subscribed(Subscribed {
        request: s,
        subscription: 9,
    }));
    events(&mut p);
    let raw = Value::bytes(b"mqtt bytes".to_vec());
    p.handle_message(Message::Event(EventMsg {
        subscription: 9,
        publication: 1,
        details: dict! {"enc_algo" => "mqtt"},
        args: Some(vec![raw.clone()]),
        kwargs: None,
    }));
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [Event::Event { args, details, .. }] if *args == vec![raw.clone()] && details.enc_algo.as_deref() == Some("mqtt")),
        "{evs:?}"
    );
}

#[test]
fn cancel_skip_completes_the_call_at_once() {
    let mut p = joined();
    let id = p
        .call("com.x", vec![], Dict::new(), Dict::new(), "c")
        .unwrap();
    out(&mut p);
    p.cancel(id, Some(CancelMode::Skip)).unwrap();
    let msgs = out(&mut p);
    assert!(
        matches!(msgs.as_slice(), [Message::Cancel(c)] if c.mode() == Some("skip")),
        "{msgs:?}"
    );
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::RequestFailed {
            token: "c",
            error: Error::Canceled
        }]
    ));
    // A late answer is dropped quietly.
    p.handle_message(Message::Result(ResultMessage {
        request: id,
        details: Dict::new(),
        args: None,
        kwargs: None,
    }));
    assert!(events(&mut p).is_empty());
    assert!(p.is_attached());
}

fn joined_with_invocations() -> P {
    let mut p = P::new("json", "peer");
    p.join(&HelloDetails::new("realm1")).unwrap();
    let features = Value::Dict(dict! {"progressive_call_invocations" => true});
    p.handle_message(Message::Welcome(Welcome {
        session: 1,
        details: dict! {"roles" => Value::Dict(dict! {
            "dealer" => Value::Dict(dict! {"features" => features}),
        })},
    }));
    out(&mut p);
    events(&mut p);
    p
}

#[test]
fn progressive_call_invocation_caller_side() {
    // Refused without the dealer's feature.
    let mut p = joined();
    assert_eq!(
        p.call(
            "com.x",
            list![1],
            Dict::new(),
            dict! {"progress" => true},
            "c"
        ),
        None
    );
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::RequestFailed {
            error: Error::InvalidRequest(_),
            ..
        }]
    ));
    assert!(out(&mut p).is_empty());

    let mut p = joined_with_invocations();
    let id = p
        .call(
            "com.x",
            list![1],
            Dict::new(),
            dict! {"progress" => true},
            "c",
        )
        .unwrap();
    assert!(sent_call(&mut p).progress());
    p.call_input(id, list![2], Dict::new(), false).unwrap();
    let c = sent_call(&mut p);
    assert_eq!(
        (c.request, c.progress(), c.args),
        (id, true, Some(list![2]))
    );
    assert_eq!(c.procedure, "com.x");
    p.call_input(id, list![3], Dict::new(), true).unwrap();
    let c = sent_call(&mut p);
    assert_eq!((c.request, c.progress()), (id, false));
    // The input is closed now.
    assert!(p.call_input(id, list![4], Dict::new(), true).is_err());
    assert!(p.call_input(id + 1, list![4], Dict::new(), true).is_err());
    p.handle_message(Message::Result(ResultMessage {
        request: id,
        details: Dict::new(),
        args: Some(list![6]),
        kwargs: None,
    }));
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::CallResult { result, .. }] if result.args == list![6]
    ));
}

#[test]
fn progressive_call_invocation_callee_side() {
    let mut p = joined_with_invocations();
    let reg = registered(&mut p);
    let inv = |details: Dict, arg: i64| {
        Message::Invocation(Invocation {
            request: 9,
            registration: reg,
            details,
            args: Some(list![arg]),
            kwargs: None,
        })
    };
    p.handle_message(inv(dict! {"progress" => true}, 1));
    p.handle_message(inv(dict! {"progress" => true}, 2));
    p.handle_message(inv(Dict::new(), 3));
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [
            Event::Invocation { request: 9, args: a1, .. },
            Event::InvocationInput { request: 9, input: i2, last: false },
            Event::InvocationInput { request: 9, input: i3, last: true },
        ] if *a1 == list![1] && i2.args == list![2] && i3.args == list![3]),
        "{evs:?}"
    );
    // Once the input is complete, a further INVOCATION with that id is a violation.
    p.handle_message(inv(Dict::new(), 4));
    assert_violation(&mut p);
}

#[test]
fn input_after_an_early_answer_is_dropped_not_invoked_again() {
    let mut p = joined_with_invocations();
    let reg = registered(&mut p);
    let inv = |details: Dict, arg: i64| {
        Message::Invocation(Invocation {
            request: 9,
            registration: reg,
            details,
            args: Some(list![arg]),
            kwargs: None,
        })
    };
    p.handle_message(inv(dict! {"progress" => true}, 1));
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::Invocation { request: 9, .. }]
    ));
    // The endpoint fails before the caller finished streaming its input.
    p.invocation_error(9, ApplicationError::new("com.x.error"))
        .unwrap();
    assert_eq!(out(&mut p).len(), 1, "one ERROR for the invocation");
    // The rest of the input neither runs the endpoint again nor is answered.
    p.handle_message(inv(dict! {"progress" => true}, 2));
    p.handle_message(inv(Dict::new(), 3));
    assert!(events(&mut p).is_empty());
    assert!(out(&mut p).is_empty());
    // After the last chunk the id is free: a new INVOCATION with it runs again.
    p.handle_message(inv(Dict::new(), 4));
    assert!(matches!(
        events(&mut p).as_slice(),
        [Event::Invocation { request: 9, args, .. }] if *args == list![4]
    ));
}

#[test]
fn codec_decodes_encoded_error_payloads() {
    let mut p = joined();
    p.set_payload_codec(Some(Arc::new(TestCodec(PptKeys::Autobahn))));
    let id = p
        .call("plain.x", vec![], Dict::new(), Dict::new(), "c")
        .unwrap();
    p.handle_message(Message::Error(ErrorMessage {
        request_type: MessageType::Call,
        request: id,
        details: dict! {"enc_algo" => "x_test"},
        error: "com.example.oops".into(),
        args: Some(encoded(list!["why"], Dict::new())),
        kwargs: None,
    }));
    let evs = events(&mut p);
    assert!(
        matches!(evs.as_slice(), [Event::RequestFailed { error: Error::Application(e), .. }] if e.args == list!["why"]),
        "{evs:?}"
    );
}

#[test]
fn codec_encodes_the_errors_of_encoded_invocations_by_error_uri() {
    let mut p = joined();
    p.set_payload_codec(Some(Arc::new(TestCodec(PptKeys::Autobahn))));
    let reg = registered(&mut p);
    let invoke = |p: &mut P, request: u64, details: Dict, args: Vec<Value>| {
        p.handle_message(Message::Invocation(Invocation {
            request,
            registration: reg,
            details,
            args: Some(args),
            kwargs: None,
        }));
        events(p);
    };
    let error = || {
        ApplicationError::new("com.example.oops")
            .args(list!["why"])
            .kwargs(dict! {"n" => 1})
    };

    // An encoded INVOCATION's ERROR is encoded, as its YIELD would be.
    invoke(
        &mut p,
        81,
        dict! {"enc_algo" => "x_test"},
        encoded(list![], Dict::new()),
    );
    p.invocation_error(81, error()).unwrap();
    let msgs = out(&mut p);
    let [Message::Error(e)] = msgs.as_slice() else {
        panic!("{msgs:?}")
    };
    assert_eq!(e.error, "com.example.oops");
    assert_eq!(e.details.get("enc_algo"), Some(&Value::from("x_test")));
    assert_eq!(e.args, Some(encoded(list!["why"], dict! {"n" => 1})));
    assert_eq!(e.kwargs, None);

    // An error URI the codec has no key for goes plain.
    invoke(
        &mut p,
        82,
        dict! {"enc_algo" => "x_test"},
        encoded(list![], Dict::new()),
    );
    p.invocation_error(82, ApplicationError::new("plain.oops").args(list!["why"]))
        .unwrap();
    let msgs = out(&mut p);
    assert!(
        matches!(msgs.as_slice(), [Message::Error(e)] if e.details.is_empty() && e.args == Some(list!["why"])),
        "{msgs:?}"
    );

    // A plain INVOCATION's ERROR stays plain (its caller may have no codec).
    invoke(&mut p, 83, Dict::new(), list!["clear"]);
    p.invocation_error(83, error()).unwrap();
    let msgs = out(&mut p);
    assert!(
        matches!(msgs.as_slice(), [Message::Error(e)] if e.details.is_empty() && e.args == Some(list!["why"])),
        "{msgs:?}"
    );
}
