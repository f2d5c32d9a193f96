use super::*;
use crate::wamp::error::ProtocolError;
use crate::{dict, list};

fn parse(json: &str) -> Result<Message, ProtocolError> {
    let v: Value = serde_json::from_str(json).expect("test JSON");
    Message::from_value(v)
}

fn ok(json: &str) -> Message {
    parse(json).unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// The message re-encoded in list form equals the original JSON.
fn assert_round_trip(json: &str) {
    let expected: Value = serde_json::from_str(json).unwrap();
    assert_eq!(ok(json).to_value(), expected, "{json}");
}

#[test]
fn message_type_codes() {
    let codes: Vec<u64> = MessageType::ALL.iter().map(|t| t.code()).collect();
    assert_eq!(
        codes,
        [1, 2, 3, 4, 5, 6, 8, 16, 17, 32, 33, 34, 35, 36, 48, 49, 50, 64, 65, 66, 67, 68, 69, 70]
    );
    for t in MessageType::ALL {
        assert_eq!(MessageType::from_code(t.code()), Some(t));
    }
    assert_eq!(MessageType::from_code(7), None);
    assert_eq!(MessageType::Call.name(), "CALL");
    assert_eq!(MessageType::Result.to_string(), "RESULT");
}

#[test]
fn hello_without_a_realm_is_null_on_the_wire() {
    // Autobahn's `realm=None`: the router assigns the realm.
    assert_round_trip(r#"[1,null,{"roles":{"caller":{}}}]"#);
    let Message::Hello(h) = ok(r#"[1, null, {"roles": {}}]"#) else {
        panic!()
    };
    assert_eq!(h.realm, "");
    assert!(parse(r#"[1, 5, {"roles": {}}]"#).is_err());
}

#[test]
fn session_messages_from_spec() {
    let m = ok(
        r#"[1, "somerealm", {"roles": {"publisher": {}, "subscriber": {}}, "authmethods": ["wampcra", 3, "ticket"], "authid": "joe"}]"#,
    );
    let Message::Hello(h) = m else { panic!() };
    assert_eq!(h.realm, "somerealm");
    assert!(h.roles().unwrap().contains_key("publisher"));
    assert_eq!(h.authmethods(), ["wampcra", "ticket"]);
    assert_eq!(h.authid(), Some("joe"));

    let m = ok(
        r#"[2, 9129137332, {"roles": {"broker": {"features": {"publisher_exclusion": true}}}, "authid": "joe", "authrole": "user", "authmethod": "wampcra", "authprovider": "static", "authextra": {"x": 1}}]"#,
    );
    let Message::Welcome(w) = m else { panic!() };
    assert_eq!(w.session, 9129137332);
    assert_eq!(w.authid(), Some("joe"));
    assert_eq!(w.authrole(), Some("user"));
    assert_eq!(w.authmethod(), Some("wampcra"));
    assert_eq!(w.authprovider(), Some("static"));
    assert_eq!(w.authextra(), Some(&dict! {"x" => 1}));
    assert!(w.has_feature("broker", "publisher_exclusion"));
    assert!(!w.has_feature("broker", "event_history"));
    assert!(!w.has_feature("dealer", "publisher_exclusion"));

    let m = ok(r#"[3, {"message": "The realm does not exist."}, "wamp.error.no_such_realm"]"#);
    let Message::Abort(a) = m else { panic!() };
    assert_eq!(a.reason, "wamp.error.no_such_realm");
    assert_eq!(a.message(), Some("The realm does not exist."));

    let m =
        ok(r#"[6, {"message": "The host is shutting down now."}, "wamp.close.system_shutdown"]"#);
    let Message::Goodbye(g) = m else { panic!() };
    assert_eq!(g.reason, "wamp.close.system_shutdown");
    assert_eq!(g.message(), Some("The host is shutting down now."));

    let m = ok(r#"[4, "wampcra", {"challenge": "{\"nonce\": \"LHRTC9zeOIrt_9U3\"}"}]"#);
    assert_eq!(
        m,
        Message::Challenge(Challenge {
            method: "wampcra".into(),
            extra: dict! {"challenge" => "{\"nonce\": \"LHRTC9zeOIrt_9U3\"}"},
        })
    );
    let m = ok(r#"[5, "gir1mSx+deCDUV7wRM5SGIn/+R/ClqLZuH4m7FJeBVI=", {}]"#);
    assert_eq!(
        m,
        Message::Authenticate(Authenticate {
            signature: "gir1mSx+deCDUV7wRM5SGIn/+R/ClqLZuH4m7FJeBVI=".into(),
            extra: Dict::new(),
        })
    );
}

#[test]
fn pubsub_messages_from_spec() {
    assert_eq!(
        ok(r#"[32, 713845233, {}, "com.myapp.mytopic1"]"#),
        Message::Subscribe(Subscribe {
            request: 713845233,
            options: Dict::new(),
            topic: "com.myapp.mytopic1".into(),
        })
    );
    assert_eq!(
        ok("[33, 713845233, 5512315355]"),
        Message::Subscribed(Subscribed {
            request: 713845233,
            subscription: 5512315355
        })
    );
    assert_eq!(
        ok("[34, 85346237, 5512315355]"),
        Message::Unsubscribe(Unsubscribe {
            request: 85346237,
            subscription: 5512315355
        })
    );
    assert_eq!(
        ok("[35, 85346237]"),
        Message::Unsubscribed(Unsubscribed {
            request: 85346237,
            details: Dict::new()
        })
    );
    let Message::Publish(p) = ok(
        r#"[16, 239714735, {"acknowledge": true}, "com.myapp.mytopic1", [], {"color": "orange", "sizes": [23, 42, 7]}]"#,
    ) else {
        panic!()
    };
    assert!(p.acknowledge());
    assert_eq!(p.exclude_me(), None);
    assert_eq!(p.args, Some(vec![]));
    assert_eq!(
        p.kwargs,
        Some(dict! {"color" => "orange", "sizes" => list![23, 42, 7]})
    );
    assert_eq!(
        ok("[17, 239714735, 4429313566]"),
        Message::Published(Published {
            request: 239714735,
            publication: 4429313566
        })
    );
    let Message::Event(e) = ok(
        r#"[36, 5512315355, 4429313566, {"publisher": 3335656, "topic": "com.myapp.a.b", "retained": true}, ["Hello, world!"]]"#,
    ) else {
        panic!()
    };
    assert_eq!((e.subscription, e.publication), (5512315355, 4429313566));
    assert_eq!(e.publisher(), Some(3335656));
    assert_eq!(e.topic(), Some("com.myapp.a.b"));
    assert!(e.retained());
    assert_eq!(e.args, Some(list!["Hello, world!"]));
    assert_eq!(e.kwargs, None);

    let Message::Error(err) = ok(r#"[8, 32, 713845233, {}, "wamp.error.not_authorized"]"#) else {
        panic!()
    };
    assert_eq!(err.request_type, MessageType::Subscribe);
    assert_eq!(err.request, 713845233);
    assert_eq!(err.error, "wamp.error.not_authorized");
    assert_eq!((err.args, err.kwargs), (None, None));
}

#[test]
fn rpc_messages_from_spec() {
    let Message::Call(c) = ok(
        r#"[48, 7814135, {"receive_progress": true, "timeout": 1500}, "com.myapp.user.new", ["johnny"], {"firstname": "John", "surname": "Doe"}]"#,
    ) else {
        panic!()
    };
    assert_eq!(c.request, 7814135);
    assert_eq!(c.procedure, "com.myapp.user.new");
    assert!(c.receive_progress());
    assert_eq!(c.timeout(), Some(1500));
    assert_eq!(c.args, Some(list!["johnny"]));
    assert_eq!(
        c.kwargs,
        Some(dict! {"firstname" => "John", "surname" => "Doe"})
    );

    assert_eq!(
        ok(r#"[64, 25349185, {}, "com.myapp.myprocedure1"]"#).message_type(),
        MessageType::Register
    );
    assert_eq!(
        ok("[65, 25349185, 2103333224]"),
        Message::Registered(Registered {
            request: 25349185,
            registration: 2103333224
        })
    );
    assert_eq!(
        ok("[66, 788923562, 2103333224]"),
        Message::Unregister(Unregister {
            request: 788923562,
            registration: 2103333224
        })
    );
    assert_eq!(
        ok("[67, 788923562]"),
        Message::Unregistered(Unregistered {
            request: 788923562,
            details: Dict::new()
        })
    );
    let Message::Invocation(inv) = ok(
        r#"[68, 6131533, 9823527, {"receive_progress": true, "caller": 3335656, "caller_authid": "joe", "procedure": "com.myapp.x"}, ["Hello, world!"]]"#,
    ) else {
        panic!()
    };
    assert_eq!((inv.request, inv.registration), (6131533, 9823527));
    assert!(inv.receive_progress());
    assert_eq!(inv.caller(), Some(3335656));
    assert_eq!(inv.caller_authid(), Some("joe"));
    assert_eq!(inv.procedure(), Some("com.myapp.x"));
    let Message::Yield(y) = ok(r#"[70, 6131533, {"progress": true}, ["Hello, world!"]]"#) else {
        panic!()
    };
    assert!(y.progress());
    let Message::Result(r) = ok(r#"[50, 7814135, {"progress": true}, [30]]"#) else {
        panic!()
    };
    assert!(r.progress());
    assert_eq!(r.args, Some(list![30]));
    let Message::Error(e) = ok(
        r#"[8, 68, 6131533, {}, "com.myapp.error.object_write_protected", ["Object is write protected."], {"severity": 3}]"#,
    ) else {
        panic!()
    };
    assert_eq!(e.request_type, MessageType::Invocation);
    assert_eq!(e.kwargs, Some(dict! {"severity" => 3}));
    let Message::Cancel(c) = ok(r#"[49, 7814135, {"mode": "kill"}]"#) else {
        panic!()
    };
    assert_eq!(c.mode(), Some("kill"));
    let Message::Interrupt(i) =
        ok(r#"[69, 6131533, {"mode": "killnowait", "reason": "wamp.error.timeout"}]"#)
    else {
        panic!()
    };
    assert_eq!(i.mode(), Some("killnowait"));
    assert_eq!(i.reason(), Some("wamp.error.timeout"));
}

#[test]
fn revocation_with_request_id_zero() {
    let Message::Unsubscribed(u) =
        ok(r#"[35, 0, {"subscription": 5512315355, "reason": "wamp.authentication.lost"}]"#)
    else {
        panic!()
    };
    assert_eq!(u.request, 0);
    assert_eq!(u.subscription(), Some(5512315355));
    assert_eq!(u.reason(), Some("wamp.authentication.lost"));
    let Message::Unregistered(u) =
        ok(r#"[67, 0, {"registration": 2103333224, "reason": "wamp.authentication.lost"}]"#)
    else {
        panic!()
    };
    assert_eq!(u.request, 0);
    assert_eq!(u.registration(), Some(2103333224));
    assert_eq!(u.reason(), Some("wamp.authentication.lost"));
}

#[test]
fn spec_examples_round_trip_exactly() {
    for json in [
        r#"[1,"somerealm",{"roles":{"publisher":{},"subscriber":{}}}]"#,
        r#"[2,9129137332,{"roles":{"broker":{}}}]"#,
        r#"[3,{"message":"The realm does not exist."},"wamp.error.no_such_realm"]"#,
        r#"[6,{},"wamp.close.goodbye_and_out"]"#,
        r#"[8,34,85346237,{},"wamp.error.no_such_subscription"]"#,
        r#"[8,48,7814135,{},"com.myapp.error",[],{"a":1}]"#,
        r#"[16,239714735,{},"com.myapp.mytopic1",["Hello, world!"]]"#,
        r#"[16,239714735,{},"com.myapp.mytopic1",[],{"color":"orange","sizes":[23,42,7]}]"#,
        r#"[36,5512315355,4429313566,{}]"#,
        r#"[48,7814135,{},"com.myapp.add2",[23,7]]"#,
        r#"[35,0,{"reason":"wamp.authentication.lost","subscription":1}]"#,
        r#"[67,788923562]"#,
        r#"[68,6131533,9823526,{}]"#,
        r#"[70,6131533,{}]"#,
        r#"[50,7814135,{},[30]]"#,
        r#"[49,7814135,{"mode":"kill"}]"#,
        r#"[4,"ticket",{}]"#,
    ] {
        assert_round_trip(json);
    }
}

#[test]
fn empty_args_and_kwargs_are_left_out() {
    let mut call = Call {
        request: 1,
        procedure: "com.x".into(),
        ..Default::default()
    };
    let len = |c: &Call| Message::Call(c.clone()).to_value().as_list().unwrap().len();
    assert_eq!(len(&call), 4);
    call.args = Some(vec![]);
    assert_eq!(len(&call), 4);
    call.kwargs = Some(Dict::new());
    assert_eq!(len(&call), 4);
    call.args = Some(list![1]);
    assert_eq!(len(&call), 5);
    call.args = None;
    call.kwargs = Some(dict! {"a" => 1});
    let v = Message::Call(call).to_value();
    assert_eq!(v[4], Value::List(vec![]));
    assert_eq!(v[5], Value::Dict(dict! {"a" => 1}));
}

#[test]
fn ids_at_the_limits() {
    assert!(parse("[33, 0, 9007199254740992]").is_ok());
    assert!(matches!(
        parse("[33, 1, 9007199254740993]"),
        Err(ProtocolError::InvalidField {
            field: "Subscription",
            ..
        })
    ));
    assert!(matches!(
        parse("[33, -1, 1]"),
        Err(ProtocolError::InvalidField {
            field: "SUBSCRIBE.Request",
            ..
        })
    ));
    assert!(matches!(
        parse("[33, 18446744073709551615, 1]"),
        Err(ProtocolError::InvalidField { .. })
    ));
    // Integral doubles (as some JavaScript encoders send) are accepted.
    assert_eq!(
        parse("[33, 5.0, 9007199254740992.0]").unwrap(),
        Message::Subscribed(Subscribed {
            request: 5,
            subscription: 1 << 53
        })
    );
    assert!(parse("[33, 5.5, 1]").is_err());
    assert!(parse("[33, 1e300, 1]").is_err());
    assert!(parse(r#"[33, "1", 1]"#).is_err());
    assert!(parse("[33, true, 1]").is_err());
}

#[test]
fn malformed_messages_are_errors() {
    use ProtocolError::*;
    type Check = fn(&ProtocolError) -> bool;
    let cases: &[(&str, Check)] = &[
        (r#"{"a": 1}"#, |e| matches!(e, NotAList("dict"))),
        ("42", |e| matches!(e, NotAList("integer"))),
        ("[]", |e| matches!(e, Empty)),
        (r#"["HELLO", "realm", {}]"#, |e| {
            matches!(e, InvalidMessageType("string"))
        }),
        ("[-1, 2]", |e| matches!(e, InvalidMessageType(_))),
        ("[1.0, \"realm\", {}]", |e| {
            matches!(e, InvalidMessageType(_))
        }),
        ("[7, 1]", |e| matches!(e, UnknownMessageType(7))),
        ("[1000, 1]", |e| matches!(e, UnknownMessageType(1000))),
        (r#"[1, "realm"]"#, |e| {
            matches!(
                e,
                InvalidLength {
                    message: "HELLO",
                    len: 2
                }
            )
        }),
        (r#"[1, "realm", {}, {}]"#, |e| {
            matches!(e, InvalidLength { .. })
        }),
        (r#"[48, 1, {}, "a.b", [], {}, 1]"#, |e| {
            matches!(
                e,
                InvalidLength {
                    message: "CALL",
                    len: 7
                }
            )
        }),
        ("[35]", |e| matches!(e, InvalidLength { .. })),
        (r#"[35, 1, {}, 1]"#, |e| matches!(e, InvalidLength { .. })),
        (r#"[1, 1, {}]"#, |e| {
            matches!(e, InvalidField { field: "Realm", .. })
        }),
        (r#"[1, "realm", []]"#, |e| {
            matches!(
                e,
                InvalidField {
                    field: "Details",
                    ..
                }
            )
        }),
        (r#"[48, 1, {}, "a.b", {}]"#, |e| {
            matches!(
                e,
                InvalidField {
                    field: "Arguments",
                    ..
                }
            )
        }),
        (r#"[48, 1, {}, "a.b", [], []]"#, |e| {
            matches!(
                e,
                InvalidField {
                    field: "ArgumentsKw",
                    ..
                }
            )
        }),
        (r#"[48, 1, {}, "a..b"]"#, |e| {
            matches!(
                e,
                InvalidUri {
                    field: "Procedure",
                    ..
                }
            )
        }),
        (r#"[48, 1, {}, "a b"]"#, |e| matches!(e, InvalidUri { .. })),
        (r#"[3, {}, ""]"#, |e| {
            matches!(
                e,
                InvalidUri {
                    field: "Reason",
                    ..
                }
            )
        }),
        (r#"[8, 1, 1, {}, "wamp.error.x"]"#, |e| {
            matches!(e, InvalidErrorRequestType(1))
        }),
        (r#"[8, 50, 1, {}, "wamp.error.x"]"#, |e| {
            matches!(e, InvalidErrorRequestType(50))
        }),
        (r#"[8, "x", 1, {}, "wamp.error.x"]"#, |e| {
            matches!(
                e,
                InvalidField {
                    field: "REQUEST.Type",
                    ..
                }
            )
        }),
        (r#"[35, 1, []]"#, |e| {
            matches!(
                e,
                InvalidField {
                    field: "Details",
                    ..
                }
            )
        }),
        (r#"[4, 1, {}]"#, |e| {
            matches!(
                e,
                InvalidField {
                    field: "AuthMethod",
                    ..
                }
            )
        }),
    ];
    for (json, check) in cases {
        match parse(json) {
            Err(e) => assert!(check(&e), "{json}: unexpected error {e:?}"),
            Ok(m) => panic!("{json}: parsed as {m:?}"),
        }
    }
}

#[test]
fn pattern_uris_follow_match_policy() {
    assert!(parse(r#"[32, 1, {}, "com..topic"]"#).is_err());
    let Message::Subscribe(s) = ok(r#"[32, 1, {"match": "wildcard"}, "com..topic"]"#) else {
        panic!()
    };
    assert_eq!(s.match_policy(), Some("wildcard"));
    assert!(parse(r#"[32, 1, {"match": "prefix"}, "com.myapp."]"#).is_ok());
    assert!(parse(r#"[32, 1, {"match": "prefix"}, "com..x"]"#).is_err());
    let Message::Register(r) =
        ok(r#"[64, 1, {"match": "wildcard", "invoke": "roundrobin"}, "com..add"]"#)
    else {
        panic!()
    };
    assert_eq!(r.invoke(), Some("roundrobin"));
    assert!(parse(r#"[64, 1, {}, "com..add"]"#).is_err());
}

#[test]
fn unknown_option_keys_are_kept() {
    let json = r#"[48,1,{"_custom_x":[1,2],"timeout":2.5e3},"a.b"]"#;
    let Message::Call(c) = ok(json) else { panic!() };
    assert_eq!(c.options["_custom_x"], Value::List(list![1, 2]));
    assert_eq!(c.timeout(), Some(2500));
    assert_round_trip(json);
}

#[test]
fn request_id_and_type() {
    let m = Message::from(Yield {
        request: 9,
        ..Default::default()
    });
    assert_eq!(m.request_id(), Some(9));
    assert_eq!(m.message_type(), MessageType::Yield);
    assert_eq!(Message::from(Hello::default()).request_id(), None);
}

#[test]
fn serde_impls_use_list_form() {
    let m = ok(r#"[48,1,{},"a.b",[1,"x"]]"#);
    let text = serde_json::to_string(&m).unwrap();
    assert_eq!(text, r#"[48,1,{},"a.b",[1,"x"]]"#);
    let back: Message = serde_json::from_str(&text).unwrap();
    assert_eq!(back, m);
    assert!(serde_json::from_str::<Message>("[7,1]").is_err());
}

#[test]
fn autobahn_payload_transparency_is_bare_on_the_wire() {
    // Autobahn/Crossbar: `enc_algo` and the payload in place of Arguments|list.
    let json = r#"[16, 1, {"enc_algo": "x_custom", "enc_serializer": "json"}, "com.t", "payload"]"#;
    let m = ok(json);
    let Message::Publish(p) = &m else {
        panic!("{m:?}")
    };
    assert_eq!(p.args, Some(list!["payload"]));
    assert_round_trip(json);
    assert_round_trip(r#"[36, 5, 6, {"enc_algo": "mqtt"}, "x"]"#);
    assert_round_trip(r#"[50, 5, {"enc_algo": "mqtt"}, "x"]"#);
    assert_round_trip(r#"[68, 5, 6, {"enc_algo": "mqtt"}, "x"]"#);
    assert_round_trip(r#"[70, 5, {"enc_algo": "mqtt"}, "x"]"#);
    assert_round_trip(r#"[48, 5, {"enc_algo": "mqtt"}, "com.p", "x"]"#);
    assert_round_trip(r#"[8, 48, 5, {"enc_algo": "mqtt"}, "com.e", "x"]"#);
    // The spec's keys keep the list form; a bare payload without `enc_algo` is invalid.
    assert_round_trip(r#"[16, 1, {"ppt_scheme": "mqtt"}, "com.t", ["x"]]"#);
    assert!(parse(r#"[16, 1, {"ppt_scheme": "mqtt"}, "com.t", "x"]"#).is_err());
    assert!(parse(r#"[16, 1, {}, "com.t", "x"]"#).is_err());
    // A bare payload is only written for one binary/string argument without kwargs.
    assert_round_trip(r#"[16, 1, {"enc_algo": "mqtt"}, "com.t", [1, 2]]"#);
    assert_round_trip(r#"[16, 1, {"enc_algo": "mqtt"}, "com.t", ["x"], {"k": 1}]"#);
}
