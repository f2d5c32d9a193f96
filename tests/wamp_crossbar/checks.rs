//! The checks run in every cell of the matrix, one function per group. Each takes the
//! joined Rust session and the Python peers it needs and records what passed.

use std::sync::{Arc, Mutex};

use autobahn::wamp::session::{Lifecycle, SessionEvent};
use autobahn::wamp::{
    ApplicationError, CallDetails, CallOptions, CallResult, Dict, Error, EventDetails,
    PublishOptions, RegisterOptions, Session, SubscribeOptions, Value,
};
use autobahn::{dict, list};
use serde_json::json;
use tokio::sync::mpsc;

use super::crossbar::{unique_uri, Peer};
use super::support::{args_json, kwargs_json, next_event, to_json, within, Cell, STEP};

/// The checks that passed in one cell, printed at its end (run with `--nocapture`).
pub struct Checklist {
    cell: String,
    passed: Vec<&'static str>,
}

impl Checklist {
    pub fn new(cell: &Cell) -> Self {
        Self {
            cell: cell.name(),
            passed: Vec::new(),
        }
    }

    pub fn pass(&mut self, check: &'static str) {
        self.passed.push(check);
    }

    pub fn print(&self) {
        eprintln!(
            "wamp_crossbar {}: {} checks passed: {}",
            self.cell,
            self.passed.len(),
            self.passed.join(", ")
        );
    }
}

/// Positional arguments exercising every value type, binary ones included (empty, all
/// 256 octet values), integers of every width and their extremes, and a string
/// longer than 255 bytes (UBJSON's lengths and numbers differ past one byte).
pub fn rich_args() -> Vec<Value> {
    vec![
        Value::from(1),
        Value::from(300),
        Value::from(-40_000),
        Value::from(3_000_000_000i64),
        Value::from("\u{fc}\u{2192}\u{1F600}".repeat(40)),
        Value::from("two"),
        Value::bytes(vec![0u8, 1, 255]),
        Value::bytes(Vec::new()),
        Value::bytes((0..=255u8).collect::<Vec<_>>()),
        Value::List(list![true, Value::Null, 2.5, -7]),
        Value::from(i64::MIN),
        Value::from_u64(u64::MAX),
    ]
}

/// Keyword arguments with bytes at the top level and nested in dicts and lists.
pub fn rich_kwargs() -> Dict {
    dict! {
        "k" => Value::bytes(vec![0xde, 0xad, 0xbe, 0xef]),
        "nested" => Value::Dict(dict! {
            "deep" => Value::List(vec![Value::bytes(b"\x00\x00\n".to_vec()), Value::from("s")]),
        }),
        "s" => "x",
        "unicode" => "\u{fc}\u{2192}\u{1F600}",
    }
}

/// Calls with default options, bounded by [`STEP`].
pub async fn call(
    s: &Session,
    procedure: &str,
    args: Vec<Value>,
    kwargs: Dict,
) -> Result<CallResult, Error> {
    within(
        procedure,
        s.call(procedure, args, kwargs, CallOptions::default()),
    )
    .await
}

/// What `on_progress` and the final result delivered, in arrival order.
type Arrivals = Arc<Mutex<Vec<(&'static str, Vec<Value>)>>>;

/// Rust caller → Python callee (`callee.py --prefix pre`).
pub async fn rust_calls_python(
    s: &Session,
    me: u64,
    pre: &str,
    callee: &mut Peer,
    done: &mut Checklist,
) {
    // add2, dynamic and typed
    let add2 = format!("{pre}.add2");
    let r = call(s, &add2, list![2, 3], Dict::new())
        .await
        .expect("add2");
    assert_eq!(r, CallResult::with_args(list![5]));
    let inv = callee.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(inv["procedure"], json!(add2));
    assert_eq!(inv["args"], json!([2, 3]));
    assert_eq!(
        inv["caller"],
        json!(me),
        "the router disclosed our session id"
    );
    assert_eq!(inv["caller_authrole"], json!("anonymous"));
    let sum: i64 = within("call_with", s.call_with(&add2, (20, 22)))
        .await
        .expect("typed add2");
    assert_eq!(sum, 42);
    callee.wait_for_json_async(STEP, "invocation").await;
    done.pass("call add2");

    // echo: binary payloads survive the round trip exactly, and the Python side saw bytes
    let echo = format!("{pre}.echo");
    let (args, kwargs) = (rich_args(), rich_kwargs());
    let r = call(s, &echo, args.clone(), kwargs.clone())
        .await
        .expect("echo");
    assert_eq!(r.args, args, "echoed args");
    assert_eq!(r.kwargs, kwargs, "echoed kwargs");
    let inv = callee.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(
        inv["args"],
        args_json(&args),
        "what the Python callee received"
    );
    assert_eq!(
        inv["kwargs"],
        kwargs_json(&kwargs),
        "what the Python callee received"
    );
    done.pass("echo bytes");

    // progressive results arrive in order, all before the final result
    let seen: Arrivals = Arc::default();
    let sink = seen.clone();
    let options = CallOptions {
        on_progress: Some(Arc::new(move |r: CallResult| {
            sink.lock().unwrap().push(("progress", r.args));
        })),
        ..CallOptions::default()
    };
    let progress = format!("{pre}.progress");
    let r = within(
        "progress",
        s.call(&progress, list![4], Dict::new(), options),
    )
    .await
    .expect("progress");
    seen.lock().unwrap().push(("result", r.args));
    let seen = seen.lock().unwrap().clone();
    let want: Vec<(&str, Vec<Value>)> = vec![
        ("progress", list![0]),
        ("progress", list![1]),
        ("progress", list![2]),
        ("progress", list![3]),
        ("result", list![4]),
    ];
    assert_eq!(seen, want, "progressive results, then the result");
    callee.wait_for_json_async(STEP, "invocation").await;
    done.pass("progressive results");

    // an application error keeps its URI, args and kwargs
    let fail = format!("{pre}.fail");
    let e_args = list![1, "a", Value::bytes(vec![7u8, 0])];
    let e_kwargs = dict! {"z" => 1, "b" => Value::bytes(vec![255u8])};
    match call(s, &fail, e_args.clone(), e_kwargs.clone()).await {
        Err(Error::Application(e)) => {
            assert_eq!(e.error, "com.example.error.custom");
            assert_eq!(e.args, e_args);
            assert_eq!(e.kwargs, e_kwargs);
        }
        other => panic!("fail: expected an ApplicationError, got {other:?}"),
    }
    callee.wait_for_json_async(STEP, "invocation").await;
    done.pass("error args/kwargs");

    match call(s, &unique_uri("com.example.nothing"), list![], Dict::new()).await {
        Err(Error::Application(e)) => assert_eq!(e.error, ApplicationError::NO_SUCH_PROCEDURE),
        other => panic!("expected no_such_procedure, got {other:?}"),
    }
    done.pass("no_such_procedure");
}

/// What the Rust endpoint saw of one invocation.
type Invocation = (Vec<Value>, Dict, CallDetails);

/// Registers the Rust endpoint the Python subscriber calls back: its first argument
/// says what to do (`ok`: answer with args/kwargs incl. bytes, `fail`: an application
/// error, `panic`: panic).
pub async fn register_dispatch(
    s: &Session,
    procedure: &str,
) -> (
    autobahn::wamp::Registration,
    mpsc::UnboundedReceiver<Invocation>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let reg = within(
        "register",
        s.register(
            procedure,
            move |args: Vec<Value>, kwargs: Dict, details: CallDetails| {
                let _ = tx.send((args.clone(), kwargs.clone(), details));
                async move {
                    match args.first().and_then(Value::as_str) {
                        Some("ok") => Ok(CallResult::with_args_kwargs(
                            list!["done", Value::bytes(vec![0u8, 0x80, 0xff])],
                            dict! {"got" => Value::Dict(kwargs), "n" => args.len()},
                        )),
                        Some("fail") => Err(ApplicationError::new("com.example.rust.failed")
                            .args(list!["bad", 7, Value::bytes(vec![1u8, 2])])
                            .kwargs(dict! {"why" => "asked to"})),
                        Some("panic") => std::panic::panic_any(super::DELIBERATE_PANIC),
                        _ => Err(ApplicationError::new(ApplicationError::INVALID_ARGUMENT)),
                    }
                }
            },
            RegisterOptions::default(),
        ),
    )
    .await
    .expect("register");
    assert!(reg.id > 0);
    (reg, rx)
}

/// Waits for a JSON line with one of `keys`; returns the key and its value.
async fn json_either(peer: &mut Peer, keys: &[&str]) -> (String, serde_json::Value) {
    let line = peer
        .wait_for_line_async(STEP, |l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .is_some_and(|v| keys.iter().chain(&["failed"]).any(|k| v.get(k).is_some()))
        })
        .await;
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    let key = keys
        .iter()
        .find(|k| v.get(**k).is_some())
        .unwrap_or_else(|| panic!("peer failed: {line}"));
    (key.to_string(), v[*key].clone())
}

/// Rust publishes (acknowledged) to `topic`; the Python subscriber reports the event and
/// calls `dispatch` back with its payload; returns the subscriber's report of that call.
async fn publish_and_call_back(
    s: &Session,
    me: u64,
    topic: &str,
    args: Vec<Value>,
    kwargs: Dict,
    sub: &mut Peer,
) -> (String, serde_json::Value) {
    let ack = PublishOptions {
        acknowledge: true,
        ..PublishOptions::default()
    };
    let publication = within(
        "publish",
        s.publish(topic, args.clone(), kwargs.clone(), ack),
    )
    .await
    .expect("acknowledged publish");
    assert!(publication.is_some_and(|p| p.id > 0), "{publication:?}");
    let ev = sub.wait_for_json_async(STEP, "event").await;
    assert_eq!(ev["topic"], json!(topic));
    assert_eq!(
        ev["args"],
        args_json(&args),
        "event args at the Python subscriber"
    );
    assert_eq!(
        ev["kwargs"],
        kwargs_json(&kwargs),
        "event kwargs at the Python subscriber"
    );
    assert_eq!(ev["publisher"], json!(me), "publisher disclosed");
    assert_eq!(ev["publisher_authrole"], json!("anonymous"));
    json_either(sub, &["called_back", "call_back_error"]).await
}

/// Rust publishes → Python subscriber, which calls the Rust endpoint back (Python caller →
/// Rust callee): a result with bytes, an application error, a panic (runtime_error, and
/// the session keeps working).
#[allow(clippy::too_many_arguments)]
pub async fn python_calls_rust(
    s: &Session,
    life: &mut Lifecycle,
    me: u64,
    topic: &str,
    dispatch: &str,
    reg_id: u64,
    invocations: &mut mpsc::UnboundedReceiver<Invocation>,
    sub: &mut Peer,
    done: &mut Checklist,
) {
    let args = list!["ok", Value::bytes(vec![9u8, 0, 9])];
    let kwargs = dict! {"k" => Value::bytes(vec![0u8; 3]), "n" => 1};
    let (key, out) = publish_and_call_back(s, me, topic, args.clone(), kwargs.clone(), sub).await;
    done.pass("publish→py (ack, bytes)");
    assert_eq!(key, "called_back", "{out}");
    let want_kwargs = dict! {"got" => Value::Dict(kwargs.clone()), "n" => 2};
    assert_eq!(
        out,
        json!({
            "args": args_json(&list!["done", Value::bytes(vec![0u8, 0x80, 0xff])]),
            "kwargs": kwargs_json(&want_kwargs),
        })
    );
    let (inv_args, inv_kwargs, details) = within("invocation", invocations.recv())
        .await
        .expect("the endpoint ran");
    assert_eq!(inv_args, args, "the Rust endpoint's args from Python");
    assert_eq!(inv_kwargs, kwargs, "the Rust endpoint's kwargs from Python");
    assert_eq!(details.registration, reg_id);
    assert_eq!(details.procedure.as_deref(), Some(dispatch));
    assert!(
        details.caller.is_some_and(|c| c != me),
        "caller {:?}",
        details.caller
    );
    assert_eq!(details.caller_authrole.as_deref(), Some("anonymous"));
    assert!(details.progress.is_none(), "no progress asked for");
    done.pass("py→rust call (bytes)");

    let (key, out) = publish_and_call_back(s, me, topic, list!["fail"], Dict::new(), sub).await;
    assert_eq!(key, "call_back_error", "{out}");
    assert_eq!(
        out,
        json!({"error": "com.example.rust.failed", "args": ["bad", 7, {"$bytes": "AQI="}]})
    );
    within("invocation", invocations.recv()).await.expect("ran");
    done.pass("py→rust ApplicationError");

    let (key, out) = publish_and_call_back(s, me, topic, list!["panic"], Dict::new(), sub).await;
    assert_eq!(key, "call_back_error", "{out}");
    assert_eq!(out["error"], json!(ApplicationError::RUNTIME_ERROR));
    assert!(
        out["args"][0]
            .as_str()
            .is_some_and(|m| m.contains("deliberate panic")),
        "{out}"
    );
    within("invocation", invocations.recv()).await.expect("ran");
    match next_event(life, "user error").await {
        SessionEvent::UserError { error, message } => {
            assert_eq!(error.error, ApplicationError::RUNTIME_ERROR);
            assert!(message.contains("panicked"), "{message}");
        }
        other => panic!("expected UserError after the panic, got {other:?}"),
    }
    // still working after the panic
    let (key, out) = publish_and_call_back(s, me, topic, args.clone(), kwargs.clone(), sub).await;
    assert_eq!(key, "called_back", "{out}");
    within("invocation", invocations.recv()).await.expect("ran");
    done.pass("py→rust panic→runtime_error");
}

/// Python publisher (`--acknowledge`, fixed args/kwargs with bytes) → Rust subscriber;
/// then unsubscribe stops delivery (and the router forgets the subscription).
pub async fn python_publishes_to_rust(
    s: &Session,
    me: u64,
    topic: &str,
    publisher: &mut Peer,
    barrier_procedure: &str,
    done: &mut Checklist,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Vec<Value>, Dict, EventDetails)>();
    let sub = within(
        "subscribe",
        s.subscribe(
            topic,
            move |args, kwargs, details| {
                let _ = tx.send((args, kwargs, details));
                async { Ok(()) }
            },
            SubscribeOptions::default(),
        ),
    )
    .await
    .expect("subscribe");
    assert!(sub.id > 0);
    assert_eq!(sub.topic, topic);

    publisher.send_line("publish 2");
    let mut publications = Vec::new();
    for i in 0..2 {
        let (args, kwargs, d) = within("event", rx.recv()).await.expect("an event");
        assert_eq!(args, publisher_args(), "event {i} args");
        assert_eq!(kwargs, publisher_kwargs(), "event {i} kwargs");
        assert_eq!(d.subscription, sub.id);
        assert_eq!(d.topic.as_deref(), Some(topic));
        assert!(
            d.publisher.is_some_and(|p| p != me),
            "publisher {:?}",
            d.publisher
        );
        assert_eq!(d.publisher_authrole.as_deref(), Some("anonymous"));
        assert!(!d.retained);
        publications.push(d.publication);
    }
    assert!(publications[0] != publications[1], "{publications:?}");
    for i in 0..2 {
        assert_eq!(
            publisher.wait_for_json_async(STEP, "published").await,
            json!(i)
        );
    }
    done.pass("py publish→rust (details, bytes)");

    let lookup = |topic: String| async move {
        let r = call(s, "wamp.subscription.lookup", list![topic], Dict::new())
            .await
            .expect("wamp.subscription.lookup");
        r.args.first().cloned().unwrap_or(Value::Null)
    };
    assert_eq!(
        lookup(topic.to_owned()).await.as_u64(),
        Some(sub.id),
        "router's subscription"
    );
    within("unsubscribe", sub.unsubscribe())
        .await
        .expect("unsubscribe");
    assert!(
        lookup(topic.to_owned()).await.is_null(),
        "router forgot the subscription"
    );

    publisher.send_line("publish 1");
    assert_eq!(
        publisher.wait_for_json_async(STEP, "published").await,
        json!(2)
    );
    // The router acknowledged the publication; an event for us would be on our
    // connection before the answer to this later call.
    call(s, barrier_procedure, list![1, 1], Dict::new())
        .await
        .expect("barrier call");
    // Unsubscribing drops the handler once its queue is handled: the channel closes,
    // and nothing may come first (no quiet window to wait out).
    assert!(
        within("handler dropped", rx.recv()).await.is_none(),
        "an event arrived after unsubscribing"
    );
    done.pass("unsubscribe stops delivery");
}

/// What `publisher.py` is started with (see `publisher_cli`).
pub fn publisher_args() -> Vec<Value> {
    list!["py", Value::bytes(vec![0u8, 1, 255])]
}

/// What `publisher.py` is started with (see `publisher_cli`).
pub fn publisher_kwargs() -> Dict {
    dict! {"b" => Value::bytes(vec![0xde, 0xad, 0xbe, 0xef]), "n" => 7}
}

/// The `--args`/`--kwargs` JSON for `publisher.py`.
pub fn publisher_cli() -> (String, String) {
    (
        args_json(&publisher_args()).to_string(),
        to_json(&Value::Dict(publisher_kwargs())).to_string(),
    )
}

/// Registers a Rust endpoint sending `n` progressive results (with bytes) when asked
/// for them, then the final result `n`.
pub async fn register_countdown(s: &Session, procedure: &str) -> autobahn::wamp::Registration {
    within(
        "register",
        s.register(
            procedure,
            |args: Vec<Value>, _kwargs: Dict, details: CallDetails| async move {
                let n = args
                    .first()
                    .and_then(Value::as_u64)
                    .ok_or_else(|| ApplicationError::new(ApplicationError::INVALID_ARGUMENT))?;
                if let Some(progress) = &details.progress {
                    for i in 0..n {
                        let bin = Value::bytes(vec![i as u8; 2]);
                        progress.send(list![i], dict! {"bin" => bin}).await?;
                    }
                }
                Ok(CallResult::with_args_kwargs(
                    list![n],
                    dict! {"done" => true},
                ))
            },
            RegisterOptions::default(),
        ),
    )
    .await
    .expect("register")
}

/// `caller.py PROC --args [3] --progress` (started once the endpoint is registered)
/// prints the Rust endpoint's progressive results in order, then its result.
pub async fn python_progress_from_rust(caller: &mut Peer, done: &mut Checklist) {
    let mut seen = Vec::new();
    loop {
        let (key, v) = json_either(caller, &["progress", "result", "error"]).await;
        let last = key != "progress";
        seen.push(json!({ key: v }));
        if last {
            break;
        }
    }
    let progress = |i: u8| json!({"progress": {"args": [i], "kwargs": {"bin": to_json(&Value::bytes(vec![i; 2]))}}});
    let want = vec![
        progress(0),
        progress(1),
        progress(2),
        json!({"result": {"args": [3], "kwargs": {"done": true}}}),
    ];
    assert_eq!(seen, want);
    assert!(
        caller.wait_exit_async(STEP).await.success(),
        "{}",
        caller.stderr()
    );
    done.pass("py→rust progressive");
}

/// `wamp.registration.lookup` finds the registration until it is unregistered.
pub async fn unregister(s: &Session, reg: &autobahn::wamp::Registration, done: &mut Checklist) {
    let lookup = || async {
        let r = call(
            s,
            "wamp.registration.lookup",
            list![reg.procedure.clone()],
            Dict::new(),
        )
        .await
        .expect("wamp.registration.lookup");
        r.args.first().cloned().unwrap_or(Value::Null)
    };
    assert_eq!(lookup().await.as_u64(), Some(reg.id));
    within("unregister", reg.unregister())
        .await
        .expect("unregister");
    assert!(lookup().await.is_null(), "router forgot the registration");
    match call(s, &reg.procedure, list!["ok"], Dict::new()).await {
        Err(Error::Application(e)) => assert_eq!(e.error, ApplicationError::NO_SUCH_PROCEDURE),
        other => panic!("call after unregister: {other:?}"),
    }
    done.pass("unregister");
}
