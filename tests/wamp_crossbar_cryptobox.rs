//! WAMP-cryptobox end to end: our [`KeyRing`] against Autobahn|Python's `KeyRing`
//! (`tests/crossbar/cryptobox_peer.py`) through a real Crossbar.io, over WebSocket/JSON
//! and RawSocket/CBOR. Per cell:
//!
//! - Rust caller → Python callee: args, kwargs and bytes come back; the Python
//!   callee's application error comes back sealed (Autobahn seals errors) and opens;
//! - Python caller → Rust callee: result, and our application error, sealed (keyed by
//!   its URI, as Autobahn seals errors) and opened by Autobahn;
//! - Rust publisher → Python subscriber and Python publisher → Rust subscriber;
//! - the router only sees ciphertext: a second Rust session without a codec, subscribed
//!   to the same topics and registered for a keyed procedure, receives only one opaque
//!   binary argument with `enc_algo: "cryptobox"`, no plaintext in it;
//! - wrong key (a Python peer with another private key): calls fail with
//!   `wamp.error.encryption.decrypt_error` in both directions; a sealed event is dropped
//!   by the Python peer, and as a `UserError` on our session;
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
use support::{args_json, kwargs_json, next_event, within, Cell, Joined, Kind, STEP};
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

/// An acknowledged publication, done once the router acknowledged it.
async fn publish(s: &Session, topic: String, args: Vec<Value>, kwargs: Dict) {
    let options = PublishOptions {
        acknowledge: true,
        ..Default::default()
    };
    within("publish", s.publish(&topic, args, kwargs, options))
        .await
        .unwrap_or_else(|e| panic!("publish to {topic}: {e}"));
}

/// Registers an endpoint that reports its invocations and answers with `answer`.
async fn register(
    s: &Session,
    procedure: &str,
    answer: impl Fn(Vec<Value>, Dict) -> Result<CallResult, ApplicationError> + Send + Sync + 'static,
) -> Seen<CallDetails> {
    let (tx, rx) = mpsc::unbounded_channel();
    let endpoint = move |args: Vec<Value>, kwargs: Dict, details: CallDetails| {
        let _ = tx.send((args.clone(), kwargs.clone(), details));
        let answer = answer(args, kwargs);
        async move { answer }
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

/// The payload every sealed exchange carries: bytes, nesting and the marker.
fn payload() -> (Vec<Value>, Dict) {
    let args = list![1, MARKER, Value::bytes(vec![0u8, 1, 0xff])];
    let kwargs = dict! { "k" => MARKER, "nested" => dict! { "b" => Value::bytes(vec![9u8]) } };
    (args, kwargs)
}

/// `args` and `kwargs` as a Python peer prints them.
fn payload_json(args: &[Value], kwargs: &Dict) -> serde_json::Value {
    json!({"args": args_json(args), "kwargs": kwargs_json(kwargs)})
}

/// The `args` and `kwargs` of a Python peer's report.
fn reported(line: &serde_json::Value) -> serde_json::Value {
    json!({"args": line["args"], "kwargs": line["kwargs"]})
}

/// One cell's peers and sessions. `pre`: the prefix of the Python peer with the right
/// keys (`py`); `wrong_pre`: of the one with another private key than we expect; the
/// `plain` peer has no keyring.
struct Scene {
    cell: Cell,
    pre: String,
    wrong_pre: String,
    py: Peer,
    wrong: Peer,
    plain: Peer,
    /// Our session with the keyring.
    keyed: Joined,
    /// Our session without a codec: it gets what the router passes on, as it came.
    observer: Joined,
    rs_echo: Seen<CallDetails>,
    wrong_echo: Seen<CallDetails>,
    rs_topic: Seen<EventDetails>,
    peek: Seen<CallDetails>,
    seen_py_topic: Seen<EventDetails>,
    seen_rs_topic: Seen<EventDetails>,
}

impl Scene {
    async fn start(cell: Cell) -> Scene {
        let cb = Crossbar::shared();
        let (pre, wrong_pre, plain_pre) = (
            unique_uri("com.example.cbox"),
            unique_uri("com.example.cbox_wrong"),
            unique_uri("com.example.cbox_plain"),
        );
        let (ours, python) = (PrivateKey::generate(), PrivateKey::generate());
        let our_public = ours.public_key();
        // The Python peers take a while to start: start them first.
        let mut py = start_peer(cell, cb, &pre, &python, &our_public, true);
        let stranger = PrivateKey::generate();
        let mut wrong = start_peer(cell, cb, &wrong_pre, &stranger, &our_public, true);
        let mut plain = start_peer(cell, cb, &plain_pre, &python, &our_public, false);

        let keyed = cell.joined(cb).await;
        let mut ring = KeyRing::new();
        add_keys(&mut ring, &pre, &ours, &python.public_key());
        add_keys(&mut ring, &wrong_pre, &ours, &python.public_key());
        keyed.session.set_payload_codec(Some(Arc::new(ring)));
        let s = &keyed.session;
        let observer = cell.joined(cb).await;

        let rs_echo = register(s, &format!("{pre}.rs.echo"), echo).await;
        // Its error URI is under our key's prefix: the error goes sealed.
        let error_uri = format!("{pre}.rs.error.custom");
        register(s, &format!("{pre}.rs.fail"), move |args, kwargs| {
            Err(ApplicationError::new(&error_uri).args(args).kwargs(kwargs))
        })
        .await;
        let wrong_echo = register(s, &format!("{wrong_pre}.rs.echo"), echo).await;
        let rs_topic = subscribe(s, &format!("{pre}.rs.topic")).await;
        subscribe(s, &format!("{wrong_pre}.rs.topic")).await;
        let o = &observer.session;
        let peek = register(o, &format!("{pre}.rs.peek"), |args, _| {
            let seen = args.len();
            Ok(CallResult {
                args: list!["peeked", seen],
                kwargs: Dict::new(),
            })
        })
        .await;
        let seen_py_topic = subscribe(o, &format!("{pre}.py.topic")).await;
        let seen_rs_topic = subscribe(o, &format!("{pre}.rs.topic")).await;
        for peer in [&mut py, &mut wrong, &mut plain] {
            peer.wait_ready_async().await;
        }
        Scene {
            cell,
            pre,
            wrong_pre,
            py,
            wrong,
            plain,
            keyed,
            observer,
            rs_echo,
            wrong_echo,
            rs_topic,
            peek,
            seen_py_topic,
            seen_rs_topic,
        }
    }

    /// Rust caller → Python callee: result, and the callee's error sealed by Autobahn.
    async fn rust_calls_python(&mut self) {
        let (pre, s) = (&self.pre, &self.keyed.session);
        let (args, kwargs) = payload();
        let echo = call(s, format!("{pre}.py.echo"), args.clone(), kwargs.clone());
        let result = within("call py.echo", echo).await.expect("py.echo result");
        assert_eq!((&result.args, &result.kwargs), (&args, &kwargs), "py.echo");
        let inv = self.py.wait_for_json_async(STEP, "invocation").await;
        assert_eq!(
            inv["enc_algo"],
            json!("cryptobox"),
            "the callee got it sealed"
        );
        assert_eq!(reported(&inv), payload_json(&args, &kwargs));

        let fail = call(s, format!("{pre}.py.fail"), args.clone(), kwargs.clone());
        match within("call py.fail", fail).await {
            Err(Error::Application(e)) => {
                assert_eq!(e.error, format!("{pre}.py.error.custom"));
                assert_eq!((&e.args, &e.kwargs), (&args, &kwargs), "opened error");
                let enc_algo = e.details.get("enc_algo").and_then(Value::as_str);
                assert_eq!(enc_algo, Some("cryptobox"), "sealed by Autobahn");
            }
            other => panic!("{}: py.fail: {other:?}", self.cell.name()),
        }
    }

    /// Python caller → Rust callee: result and error; and a callee without the codec
    /// gets the sealed call as the router passes it on (Autobahn takes its plain answer).
    async fn python_calls_rust(&mut self) {
        let pre = &self.pre;
        let (args, kwargs) = payload();
        command(
            &mut self.py,
            "call",
            &format!("{pre}.rs.echo"),
            &args,
            &kwargs,
        );
        let res = self.py.wait_for_json_async(STEP, "result").await;
        assert_eq!(res, payload_json(&args, &kwargs));
        let (a, k, d) = next(&mut self.rs_echo, "rs.echo invocation").await;
        assert_eq!((a, k), (args.clone(), kwargs.clone()));
        assert_eq!(d.enc_algo.as_deref(), Some("cryptobox"));

        command(
            &mut self.py,
            "call",
            &format!("{pre}.rs.fail"),
            &args,
            &kwargs,
        );
        let err = self.py.wait_for_json_async(STEP, "error").await;
        assert_eq!(err["error"], json!(format!("{pre}.rs.error.custom")));
        assert_eq!(err["enc_algo"], json!("cryptobox"), "we sealed the error");
        assert_eq!(reported(&err), payload_json(&args, &kwargs));

        command(
            &mut self.py,
            "call",
            &format!("{pre}.rs.peek"),
            &args,
            &kwargs,
        );
        let res = self.py.wait_for_json_async(STEP, "result").await;
        assert_eq!(res, json!({"args": ["peeked", 1], "kwargs": {}}));
        let (a, k, d) = next(&mut self.peek, "peek invocation").await;
        assert_opaque(&a, &k, d.enc_algo.as_deref(), "a Python call at the router");
    }

    /// Rust publisher → Python subscriber and back; the observer sees ciphertext only.
    async fn events_both_ways(&mut self) {
        let pre = &self.pre;
        let (args, kwargs) = payload();
        publish(
            &self.keyed.session,
            format!("{pre}.py.topic"),
            args.clone(),
            kwargs.clone(),
        )
        .await;
        let ev = self.py.wait_for_json_async(STEP, "event").await;
        assert_eq!(ev["enc_algo"], json!("cryptobox"));
        assert_eq!(reported(&ev), payload_json(&args, &kwargs));
        let (a, k, d) = next(&mut self.seen_py_topic, "observed py.topic").await;
        assert_opaque(&a, &k, d.enc_algo.as_deref(), "our event at the router");

        command(
            &mut self.py,
            "publish",
            &format!("{pre}.rs.topic"),
            &args,
            &kwargs,
        );
        self.py.wait_for_json_async(STEP, "published").await;
        let (a, k, d) = next(&mut self.rs_topic, "rs.topic event").await;
        assert_eq!((a, k), (args.clone(), kwargs.clone()));
        assert_eq!(d.enc_algo.as_deref(), Some("cryptobox"));
        let (a, k, d) = next(&mut self.seen_rs_topic, "observed rs.topic").await;
        assert_opaque(
            &a,
            &k,
            d.enc_algo.as_deref(),
            "a Python event at the router",
        );
    }

    /// The wrong key fails clearly in both directions.
    async fn wrong_key(&mut self) {
        let (pre, s) = (&self.wrong_pre, &self.keyed.session);
        let (args, kwargs) = payload();
        let echo = call(s, format!("{pre}.py.echo"), args.clone(), kwargs.clone());
        match within("call with the wrong key", echo).await {
            Err(Error::Application(e)) => assert!(e.is(DECRYPT_ERROR), "{e:?}"),
            other => panic!("{}: wrong key call: {other:?}", self.cell.name()),
        }
        // Our sealed event is dropped by the peer: the next one it reports is the plain
        // one we publish after it (same publisher, same topic: delivered in order).
        let topic = format!("{pre}.py.topic");
        publish(s, topic.clone(), args.clone(), kwargs.clone()).await;
        let codec = s.payload_codec();
        s.set_payload_codec(None);
        publish(s, topic.clone(), list!["after"], Dict::new()).await;
        s.set_payload_codec(codec);
        let ev = self.wrong.wait_for_json_async(STEP, "event").await;
        assert_eq!(
            (&ev["args"], &ev["enc_algo"]),
            (&json!(["after"]), &json!(null))
        );

        command(
            &mut self.wrong,
            "call",
            &format!("{pre}.rs.echo"),
            &args,
            &kwargs,
        );
        let err = self.wrong.wait_for_json_async(STEP, "error").await;
        assert_eq!(err["error"], json!(DECRYPT_ERROR), "{err}");
        let message = err["args"][0].as_str().unwrap_or_default();
        assert!(message.contains("wrong key"), "{err}");
        command(
            &mut self.wrong,
            "publish",
            &format!("{pre}.rs.topic"),
            &args,
            &kwargs,
        );
        self.wrong.wait_for_json_async(STEP, "published").await;
        loop {
            match next_event(&mut self.keyed.life, "UserError for the sealed event").await {
                SessionEvent::UserError { error, .. } => {
                    assert!(error.is(DECRYPT_ERROR), "{error:?}");
                    break;
                }
                other => eprintln!("{}: lifecycle event {other:?}", self.cell.name()),
            }
        }
        assert!(
            self.wrong_echo.try_recv().is_err(),
            "never ran with the wrong key"
        );
    }

    /// Unencrypted peers, by Autobahn's rules: plain payloads for keyed URIs are passed
    /// both ways, and a plain call gets a plain result.
    async fn plain_peers(&mut self) {
        let pre = &self.pre;
        let args = list!["in the clear", 2];
        let no_kwargs = Dict::new();
        command(
            &mut self.plain,
            "publish",
            &format!("{pre}.rs.topic"),
            &args,
            &no_kwargs,
        );
        self.plain.wait_for_json_async(STEP, "published").await;
        let (a, _, d) = next(&mut self.rs_topic, "plain event").await;
        assert_eq!((a, d.enc_algo), (args.clone(), None));

        command(
            &mut self.plain,
            "call",
            &format!("{pre}.rs.echo"),
            &args,
            &no_kwargs,
        );
        let res = self.plain.wait_for_json_async(STEP, "result").await;
        assert_eq!(res, payload_json(&args, &no_kwargs));
        let (a, _, d) = next(&mut self.rs_echo, "plain invocation").await;
        assert_eq!((a, d.enc_algo), (args.clone(), None));

        let o = &self.observer.session;
        let echo = call(o, format!("{pre}.py.echo"), args.clone(), Dict::new());
        let result = within("plain call", echo).await.expect("plain result");
        assert_eq!(result.args, args);
        let inv = self.py.wait_for_json_async(STEP, "invocation").await;
        assert_eq!(inv["enc_algo"], json!(null));
        publish(o, format!("{pre}.py.topic"), args.clone(), Dict::new()).await;
        let ev = self.py.wait_for_json_async(STEP, "event").await;
        assert_eq!(
            (&ev["args"], &ev["enc_algo"]),
            (&args_json(&args), &json!(null))
        );
    }
}

async fn cryptobox_exchange(cell: Cell) {
    let mut scene = Scene::start(cell).await;
    scene.rust_calls_python().await;
    scene.python_calls_rust().await;
    scene.events_both_ways().await;
    scene.wrong_key().await;
    scene.plain_peers().await;
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
