//! WAMP-cryptobox end to end: our [`KeyRing`] against Autobahn|Python's `KeyRing`
//! (`tests/crossbar/cryptobox_peer.py`) through a real Crossbar.io, over WebSocket/JSON
//! and RawSocket/CBOR. Per cell:
//!
//! - Rust caller → Python callee: args, kwargs and bytes come back; the Python
//!   callee's application error comes back sealed (Autobahn seals errors) and opens;
//! - Python caller → Rust callee: result and an application error;
//! - Rust publisher → Python subscriber and Python publisher → Rust subscriber;
//! - the router only sees ciphertext: a second Rust session without a codec, subscribed
//!   to the same topics and registered for a keyed procedure, receives only one opaque
//!   binary argument with `enc_algo: "cryptobox"`, no plaintext in it;
//! - wrong key (a Python peer with another private key): calls fail with
//!   `wamp.error.encryption.decrypt_error` in both directions, an event is dropped as a
//!   `UserError` on our session;
//! - unencrypted peers, by Autobahn's rules: plain payloads for keyed URIs are passed
//!   in both directions, and a plain call to our keyed callee gets a plain result.

#[path = "common_crossbar/mod.rs"]
mod crossbar;

#[allow(dead_code)]
#[path = "wamp_crossbar/support.rs"]
mod support;

use std::sync::Arc;

use autobahn::wamp::cryptobox::{Key, KeyRing, PrivateKey, PublicKey, DECRYPT_ERROR};
use autobahn::wamp::session::SessionEvent;
use autobahn::wamp::{
    ApplicationError, CallDetails, CallOptions, CallResult, Dict, Error, EventDetails,
    PublishOptions, RegisterOptions, Session, SubscribeOptions, Value,
};
use autobahn::{dict, list};
use crossbar::{unique_uri, Crossbar, Peer};
use serde_json::json;
use support::{args_json, kwargs_json, next_event, within, Cell, Kind, STEP};
use tokio::sync::mpsc;

/// A string that only ever travels sealed: it must not show in what the router passes on.
const MARKER: &str = "plaintext-marker-7f3a";

type Seen<D> = mpsc::UnboundedReceiver<(Vec<Value>, Dict, D)>;

/// Our keys for the URIs of a Python peer with prefix `pre` (mirror of the peer's).
fn add_keys(ring: &mut KeyRing, pre: &str, ours: &PrivateKey, python: &PublicKey) {
    // The Python peer responds under PRE.py., we respond under PRE.rs.
    let originating = Key::new(ours.clone(), python.clone()).expect("key");
    let responding = Key::new(python.clone(), ours.clone()).expect("key");
    ring.set_key(format!("{pre}.py."), Some(originating));
    ring.set_key(format!("{pre}.rs."), Some(responding));
}

fn start_peer(
    cell: Cell,
    cb: &Crossbar,
    pre: &str,
    private: &PrivateKey,
    rust: &PublicKey,
    keyring: bool,
) -> Peer {
    let (private, rust) = (private.to_base64(), rust.to_base64());
    let mut args = vec![
        "--prefix",
        pre,
        "--private",
        &private,
        "--rust-public",
        &rust,
    ];
    if !keyring {
        args.push("--no-keyring");
    }
    cell.peer(cb, "cryptobox_peer.py", &args)
}

fn acknowledged() -> PublishOptions {
    PublishOptions {
        acknowledge: true,
        ..Default::default()
    }
}

/// Registers an endpoint that reports its invocations and answers with `answer`.
async fn register(
    s: &Session,
    procedure: &str,
    answer: fn(Vec<Value>, Dict) -> Result<CallResult, ApplicationError>,
) -> Seen<CallDetails> {
    let (tx, rx) = mpsc::unbounded_channel();
    let endpoint = move |args: Vec<Value>, kwargs: Dict, details: CallDetails| {
        let _ = tx.send((args.clone(), kwargs.clone(), details));
        async move { answer(args, kwargs) }
    };
    within(
        "register",
        s.register(procedure, endpoint, RegisterOptions::default()),
    )
    .await
    .unwrap_or_else(|e| panic!("register {procedure}: {e}"));
    rx
}

fn echo(args: Vec<Value>, kwargs: Dict) -> Result<CallResult, ApplicationError> {
    Ok(CallResult { args, kwargs })
}

async fn subscribe(s: &Session, topic: &str) -> Seen<EventDetails> {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = move |args, kwargs, details| {
        let _ = tx.send((args, kwargs, details));
        async { Ok(()) }
    };
    within(
        "subscribe",
        s.subscribe(topic, handler, SubscribeOptions::default()),
    )
    .await
    .unwrap_or_else(|e| panic!("subscribe {topic}: {e}"));
    rx
}

async fn next<D>(rx: &mut Seen<D>, what: &str) -> (Vec<Value>, Dict, D) {
    within(what, rx.recv())
        .await
        .unwrap_or_else(|| panic!("{what}: channel closed"))
}

async fn call(
    s: &Session,
    procedure: String,
    args: Vec<Value>,
    kwargs: Dict,
) -> Result<CallResult, Error> {
    s.call(&procedure, args, kwargs, CallOptions::default())
        .await
}

/// Asks a Python peer to call or publish.
fn command(peer: &mut Peer, verb: &str, uri: &str, args: &[Value], kwargs: &Dict) {
    let line = json!({ verb: uri, "args": args_json(args), "kwargs": kwargs_json(kwargs) });
    peer.send_line(&line.to_string());
}

/// What the router passed on for a sealed payload: one binary argument, no keywords,
/// scheme `cryptobox`, and nothing of the plaintext.
fn assert_opaque(args: &[Value], kwargs: &Dict, enc_algo: Option<&str>, what: &str) {
    assert_eq!(enc_algo, Some("cryptobox"), "{what}: enc_algo");
    assert!(kwargs.is_empty(), "{what}: kwargs {kwargs:?}");
    let [Value::Bytes(sealed)] = args else {
        panic!("{what}: not one binary argument: {args:?}");
    };
    // Nonce (24) + tag (16) + at least the JSON object's braces.
    assert!(sealed.len() > 40, "{what}: {} bytes", sealed.len());
    let marker = MARKER.as_bytes();
    assert!(
        !sealed.windows(marker.len()).any(|w| w == marker),
        "{what}: plaintext visible"
    );
}

async fn cryptobox_exchange(cell: Cell) {
    let cb = Crossbar::shared();
    let (pre, wrong_pre, plain_pre) = (
        unique_uri("com.example.cbox"),
        unique_uri("com.example.cbox_wrong"),
        unique_uri("com.example.cbox_plain"),
    );
    let (ours, python, stranger) = (
        PrivateKey::generate(),
        PrivateKey::generate(),
        PrivateKey::generate(),
    );
    let our_public = ours.public_key();

    // The Python peers take a while to start: start them first. The "wrong" peer holds
    // another private key than the one we expect for its prefix.
    let mut py = start_peer(cell, cb, &pre, &python, &our_public, true);
    let mut wrong = start_peer(cell, cb, &wrong_pre, &stranger, &our_public, true);
    let mut plain = start_peer(cell, cb, &plain_pre, &python, &our_public, false);

    let mut keyed = cell.joined(cb).await;
    let mut ring = KeyRing::new();
    add_keys(&mut ring, &pre, &ours, &python.public_key());
    add_keys(&mut ring, &wrong_pre, &ours, &python.public_key());
    keyed.session.set_payload_codec(Some(Arc::new(ring)));
    let s = &keyed.session;
    // The observer has no codec: it gets what the router passes on, as it came.
    let observer = cell.joined(cb).await;

    let mut rs_echo = register(s, &format!("{pre}.rs.echo"), echo).await;
    let _rs_fail = register(s, &format!("{pre}.rs.fail"), |args, kwargs| {
        Err(ApplicationError::new("com.example.cbox.error.rust")
            .args(args)
            .kwargs(kwargs))
    })
    .await;
    let mut wrong_echo = register(s, &format!("{wrong_pre}.rs.echo"), echo).await;
    let mut rs_topic = subscribe(s, &format!("{pre}.rs.topic")).await;
    let _wrong_topic = subscribe(s, &format!("{wrong_pre}.rs.topic")).await;
    let mut peek = register(&observer.session, &format!("{pre}.rs.peek"), |args, _| {
        let seen = args.len();
        Ok(CallResult {
            args: list!["peeked", seen],
            kwargs: Dict::new(),
        })
    })
    .await;
    let mut seen_py_topic = subscribe(&observer.session, &format!("{pre}.py.topic")).await;
    let mut seen_rs_topic = subscribe(&observer.session, &format!("{pre}.rs.topic")).await;
    for peer in [&mut py, &mut wrong, &mut plain] {
        peer.wait_ready_async().await;
    }

    let args = list![1, MARKER, Value::bytes(vec![0u8, 1, 0xff])];
    let kwargs = dict! { "k" => MARKER, "nested" => dict! { "b" => Value::bytes(vec![9u8]) } };

    // Rust caller → Python callee.
    let result = within(
        "call py.echo",
        call(s, format!("{pre}.py.echo"), args.clone(), kwargs.clone()),
    )
    .await
    .expect("py.echo result");
    assert_eq!((&result.args, &result.kwargs), (&args, &kwargs), "py.echo");
    let inv = py.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(
        inv["enc_algo"],
        json!("cryptobox"),
        "the Python callee got it sealed"
    );
    assert_eq!(
        (&inv["args"], &inv["kwargs"]),
        (&args_json(&args), &kwargs_json(&kwargs))
    );

    match within(
        "call py.fail",
        call(s, format!("{pre}.py.fail"), args.clone(), kwargs.clone()),
    )
    .await
    {
        Err(Error::Application(e)) => {
            assert_eq!(e.error, format!("{pre}.py.error.custom"));
            assert_eq!(
                (&e.args, &e.kwargs),
                (&args, &kwargs),
                "opened error payload"
            );
            assert_eq!(
                e.details.get("enc_algo").and_then(Value::as_str),
                Some("cryptobox"),
                "sealed by Autobahn"
            );
        }
        other => panic!("{}: py.fail: {other:?}", cell.name()),
    }

    // Rust publisher → Python subscriber; the observer sees ciphertext only.
    let topic = format!("{pre}.py.topic");
    within(
        "publish",
        s.publish(&topic, args.clone(), kwargs.clone(), acknowledged()),
    )
    .await
    .expect("published");
    let ev = py.wait_for_json_async(STEP, "event").await;
    assert_eq!(ev["enc_algo"], json!("cryptobox"));
    assert_eq!(
        (&ev["args"], &ev["kwargs"]),
        (&args_json(&args), &kwargs_json(&kwargs))
    );
    let (a, k, d) = next(&mut seen_py_topic, "observed py.topic").await;
    assert_opaque(
        &a,
        &k,
        d.enc_algo.as_deref(),
        "Rust → Python event at the router",
    );

    // Python caller → Rust callee.
    command(&mut py, "call", &format!("{pre}.rs.echo"), &args, &kwargs);
    let res = py.wait_for_json_async(STEP, "result").await;
    assert_eq!(
        res,
        json!({"args": args_json(&args), "kwargs": kwargs_json(&kwargs)})
    );
    let (a, k, d) = next(&mut rs_echo, "rs.echo invocation").await;
    assert_eq!(
        (a, k, d.enc_algo.as_deref()),
        (args.clone(), kwargs.clone(), Some("cryptobox"))
    );

    command(&mut py, "call", &format!("{pre}.rs.fail"), &args, &kwargs);
    let err = py.wait_for_json_async(STEP, "error").await;
    assert_eq!(err["error"], json!("com.example.cbox.error.rust"));
    assert_eq!(
        (&err["args"], &err["kwargs"]),
        (&args_json(&args), &kwargs_json(&kwargs))
    );

    // Python publisher → Rust subscriber; the observer sees ciphertext only.
    command(
        &mut py,
        "publish",
        &format!("{pre}.rs.topic"),
        &args,
        &kwargs,
    );
    py.wait_for_json_async(STEP, "published").await;
    let (a, k, d) = next(&mut rs_topic, "rs.topic event").await;
    assert_eq!(
        (a, k, d.enc_algo.as_deref()),
        (args.clone(), kwargs.clone(), Some("cryptobox"))
    );
    let (a, k, d) = next(&mut seen_rs_topic, "observed rs.topic").await;
    assert_opaque(
        &a,
        &k,
        d.enc_algo.as_deref(),
        "Python → Rust event at the router",
    );

    // A callee without the codec gets the sealed call as it is; Autobahn takes its
    // plain answer.
    command(&mut py, "call", &format!("{pre}.rs.peek"), &args, &kwargs);
    let res = py.wait_for_json_async(STEP, "result").await;
    assert_eq!(res, json!({"args": ["peeked", 1], "kwargs": {}}));
    let (a, k, d) = next(&mut peek, "peek invocation").await;
    assert_opaque(
        &a,
        &k,
        d.enc_algo.as_deref(),
        "Python → Rust call at the router",
    );

    // Wrong key, both directions.
    match within(
        "call with the wrong key",
        call(
            s,
            format!("{wrong_pre}.py.echo"),
            args.clone(),
            kwargs.clone(),
        ),
    )
    .await
    {
        Err(Error::Application(e)) => assert!(e.is(DECRYPT_ERROR), "{e:?}"),
        other => panic!("{}: wrong key call: {other:?}", cell.name()),
    }
    command(
        &mut wrong,
        "call",
        &format!("{wrong_pre}.rs.echo"),
        &args,
        &kwargs,
    );
    let err = wrong.wait_for_json_async(STEP, "error").await;
    assert_eq!(err["error"], json!(DECRYPT_ERROR), "{err}");
    assert!(
        err["args"][0]
            .as_str()
            .is_some_and(|m| m.contains("wrong key")),
        "{err}"
    );
    command(
        &mut wrong,
        "publish",
        &format!("{wrong_pre}.rs.topic"),
        &args,
        &kwargs,
    );
    wrong.wait_for_json_async(STEP, "published").await;
    loop {
        match next_event(&mut keyed.life, "UserError for the undecryptable event").await {
            SessionEvent::UserError { error, .. } => {
                assert!(error.is(DECRYPT_ERROR), "{error:?}");
                break;
            }
            other => eprintln!("{}: lifecycle event {other:?}", cell.name()),
        }
    }
    assert!(
        wrong_echo.try_recv().is_err(),
        "the endpoint never ran with the wrong key"
    );

    // Unencrypted peers: plain payloads for keyed URIs are passed both ways.
    let plain_args = list!["in the clear", 2];
    command(
        &mut plain,
        "publish",
        &format!("{pre}.rs.topic"),
        &plain_args,
        &Dict::new(),
    );
    plain.wait_for_json_async(STEP, "published").await;
    let (a, _, d) = next(&mut rs_topic, "plain event").await;
    assert_eq!((a, d.enc_algo), (plain_args.clone(), None));
    // A plain call to our keyed callee runs and gets its result in the clear.
    command(
        &mut plain,
        "call",
        &format!("{pre}.rs.echo"),
        &plain_args,
        &Dict::new(),
    );
    let res = plain.wait_for_json_async(STEP, "result").await;
    assert_eq!(res, json!({"args": args_json(&plain_args), "kwargs": {}}));
    let (a, _, d) = next(&mut rs_echo, "plain invocation").await;
    assert_eq!((a, d.enc_algo), (plain_args.clone(), None));
    let result = within(
        "plain call to a keyed callee",
        call(
            &observer.session,
            format!("{pre}.py.echo"),
            plain_args.clone(),
            Dict::new(),
        ),
    )
    .await
    .expect("plain result");
    assert_eq!(result.args, plain_args);
    let inv = py.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(inv["enc_algo"], json!(null));
    within(
        "plain publish",
        observer
            .session
            .publish(&topic, plain_args.clone(), Dict::new(), acknowledged()),
    )
    .await
    .expect("published");
    let ev = py.wait_for_json_async(STEP, "event").await;
    assert_eq!(
        (&ev["args"], &ev["enc_algo"]),
        (&args_json(&plain_args), &json!(null))
    );
    eprintln!("wamp_crossbar_cryptobox {}: all checks passed", cell.name());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cryptobox_websocket_json() {
    cryptobox_exchange(Cell {
        kind: Kind::WebSocket,
        serializer: "json",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cryptobox_rawsocket_cbor() {
    cryptobox_exchange(Cell {
        kind: Kind::RawSocketTcp,
        serializer: "cbor",
    })
    .await;
}
