//! Publish options (black/white-listing, exclude_me, acknowledge), retention, payload
//! transparency.

use autobahn::list;
use autobahn::wamp::{
    CallOptions, Dict, EventDetails, PptKeys, PublishOptions, Session, SubscribeOptions, Value,
};
use serde_json::json;
use tokio::sync::mpsc;

use super::common::{call_opts, join, router, XCustom, CBOR, JSON, X_CUSTOM};
use super::crossbar::{unique_uri, Peer};
use super::support::{within, Cell, STEP};

type Events = mpsc::UnboundedReceiver<(Vec<Value>, Dict, EventDetails)>;

async fn subscribe(s: &Session, topic: &str, options: SubscribeOptions) -> Events {
    let (tx, rx) = mpsc::unbounded_channel();
    within(
        "subscribe",
        s.subscribe(
            topic,
            move |a, k, d| {
                let _ = tx.send((a, k, d));
                std::future::ready(Ok(()))
            },
            options,
        ),
    )
    .await
    .expect("subscribe");
    rx
}

async fn publish(s: &Session, topic: &str, args: Vec<Value>, options: PublishOptions) {
    let options = PublishOptions {
        acknowledge: true,
        ..options
    };
    let p = within("publish", s.publish(topic, args, Dict::new(), options))
        .await
        .expect("acknowledged publish");
    assert!(p.is_some_and(|p| p.id > 0), "{p:?}");
}

/// The first positional argument of each event a Python subscriber prints, up to and
/// including `last`.
async fn python_events_until(sub: &mut Peer, last: i64) -> Vec<i64> {
    let mut seen = Vec::new();
    loop {
        let ev = sub.wait_for_json_async(STEP, "event").await;
        let i = ev["args"][0].as_i64().expect("an integer argument");
        seen.push(i);
        if i == last {
            return seen;
        }
    }
}

/// Two Python subscribers (A, B) and the Rust publisher's own subscription on one topic;
/// each publication uses one option, and each side receives exactly what the broker's
/// black- and white-listing allows.
#[tokio::test]
async fn publish_options_black_and_white_lists() {
    let cb = router();
    let topic = unique_uri("com.example.adv.lists");
    let mut sub_a = JSON.peer(cb, "subscriber.py", &["--topic", &topic]);
    let mut sub_b = JSON.peer(cb, "subscriber.py", &["--topic", &topic]);
    let me = join(JSON).await;
    let joined_a = sub_a.wait_for_json_async(STEP, "joined").await;
    let joined_b = sub_b.wait_for_json_async(STEP, "joined").await;
    sub_a.wait_ready_async().await;
    sub_b.wait_ready_async().await;
    let id = |j: &serde_json::Value| j["session"].as_u64().expect("session id");
    let authid = |j: &serde_json::Value| j["authid"].as_str().expect("authid").to_owned();
    let (a, b) = (id(&joined_a), id(&joined_b));
    assert_ne!(authid(&joined_a), authid(&joined_b));
    let mut mine = subscribe(&me.session, &topic, SubscribeOptions::default()).await;

    let o = PublishOptions::default;
    let cases: Vec<PublishOptions> = vec![
        o(),
        PublishOptions {
            exclude_me: Some(false),
            ..o()
        },
        PublishOptions {
            exclude: Some(vec![a]),
            ..o()
        },
        PublishOptions {
            eligible: Some(vec![a]),
            ..o()
        },
        PublishOptions {
            exclude_authid: Some(vec![authid(&joined_a)]),
            ..o()
        },
        PublishOptions {
            eligible_authid: Some(vec![authid(&joined_b)]),
            ..o()
        },
        PublishOptions {
            exclude_authrole: Some(vec!["anonymous".into()]),
            ..o()
        },
        PublishOptions {
            eligible_authrole: Some(vec!["anonymous".into()]),
            ..o()
        },
        PublishOptions {
            eligible: Some(vec![a, b]),
            exclude: Some(vec![b]),
            ..o()
        },
        // the last one reaches everybody, ourselves included
        PublishOptions {
            exclude_me: Some(false),
            ..o()
        },
    ];
    let last = cases.len() as i64 - 1;
    for (i, options) in cases.into_iter().enumerate() {
        publish(&me.session, &topic, list![i as i64], options).await;
    }
    assert_eq!(
        python_events_until(&mut sub_a, last).await,
        [0, 1, 3, 7, 8, 9]
    );
    assert_eq!(
        python_events_until(&mut sub_b, last).await,
        [0, 1, 2, 4, 5, 7, 9]
    );
    let mut own = Vec::new();
    while own.last() != Some(&last) {
        let (args, _, d) = within("own event", mine.recv()).await.expect("event");
        assert_eq!(d.publisher, Some(me.details.session));
        own.push(args[0].as_i64().expect("int"));
    }
    assert_eq!(own, [1, 9], "exclude_me: false delivers to the publisher");
}

/// A retained event reaches later subscribers that ask for it (`get_retained`, with
/// `EventDetails::retained`), a Python one and a Rust one, and not one that does not ask.
#[tokio::test]
async fn retained_events() {
    let cb = router();
    let topic = unique_uri("com.example.adv.retained");
    let me = join(CBOR).await;
    let retain = PublishOptions {
        retain: Some(true),
        ..PublishOptions::default()
    };
    publish(&me.session, &topic, list!["kept", 1], retain).await;

    let mut py = CBOR.peer(cb, "subscriber.py", &["--topic", &topic, "--get-retained"]);
    let ev = py.wait_for_json_async(STEP, "event").await;
    assert_eq!(ev["args"], json!(["kept", 1]));
    assert_eq!(ev["retained"], json!(true));

    let other = join(CBOR).await;
    let get = SubscribeOptions {
        get_retained: Some(true),
        ..SubscribeOptions::default()
    };
    let mut with = subscribe(&other.session, &topic, get).await;
    let (args, _, d) = within("retained event", with.recv()).await.expect("event");
    assert_eq!(args, list!["kept", 1]);
    assert!(d.retained);
    assert_eq!(d.publisher, Some(me.details.session));

    let third = join(CBOR).await;
    let mut without = subscribe(&third.session, &topic, SubscribeOptions::default()).await;
    // A retained event would be on the connection before this call's answer.
    call_opts(
        &third.session,
        "wamp.session.count",
        list![],
        CallOptions::default(),
    )
    .await
    .expect("barrier call");
    // A fresh publication reaches it next: a retained event would have come first.
    publish(
        &me.session,
        &topic,
        list!["fresh"],
        PublishOptions::default(),
    )
    .await;
    let (args, _, d) = within("fresh event", without.recv()).await.expect("event");
    assert_eq!(args, list!["fresh"], "no retained event unasked");
    assert!(!d.retained);
}

/// Payload transparency through Crossbar.io with Autobahn|Python on the other side
/// (codec `x_custom` on both): Rust → Python event, Python → Rust event, Rust caller →
/// Python callee and back. With the spec's `ppt_*` keys Crossbar.io 26.10 passes the
/// payload but drops the keys, so the receiver gets the encoded bytes as a plain
/// argument. Over JSON (binary as `\0`+base64 text) and CBOR (binary as it is).
#[tokio::test]
async fn payload_transparency_with_autobahn() {
    payload_transparency(JSON).await;
    payload_transparency(CBOR).await;
}

async fn payload_transparency(cell: Cell) {
    let cb = router();
    let pre = unique_uri("com.example.adv.ppt");
    let to_py = format!("{pre}.to_py");
    let from_py = format!("{pre}.from_py");
    let mut py_sub = cell.peer(cb, "subscriber.py", &["--topic", &to_py, "--codec"]);
    let mut py_pub = cell.peer(
        cb,
        "publisher.py",
        &["--topic", &from_py, "--codec", "--acknowledge"],
    );
    let mut py_callee = cell.peer(cb, "callee.py", &["--prefix", &pre, "--codec"]);
    let me = join(cell).await;
    me.session
        .set_payload_codec(Some(XCustom::arc(PptKeys::Autobahn)));
    assert!(me.session.payload_codec().is_some());
    let mut from_python = subscribe(&me.session, &from_py, SubscribeOptions::default()).await;
    py_sub.wait_ready_async().await;
    py_pub.wait_ready_async().await;
    py_callee.wait_ready_async().await;

    publish(
        &me.session,
        &to_py,
        list!["hi", 2],
        PublishOptions::default(),
    )
    .await;
    let ev = py_sub.wait_for_json_async(STEP, "event").await;
    assert_eq!(ev["args"], json!(["hi", 2]));
    assert_eq!(ev["enc_algo"], json!(X_CUSTOM));

    py_pub.send_line("publish 1");
    let (args, kwargs, d) = within("event", from_python.recv()).await.expect("event");
    assert_eq!(args, list![0]);
    assert_eq!(kwargs, autobahn::dict! {"seq" => 0});
    assert_eq!(d.enc_algo.as_deref(), Some(X_CUSTOM));

    let echo = format!("{pre}.echo");
    let kwargs = autobahn::dict! {"k" => "v"};
    let r = within(
        "echo",
        me.session.call(
            &echo,
            list![1, "two"],
            kwargs.clone(),
            CallOptions::default(),
        ),
    )
    .await
    .expect("echo");
    assert_eq!((r.args, r.kwargs), (list![1, "two"], kwargs));
    let inv = py_callee.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(inv["enc_algo"], json!(X_CUSTOM));
    assert_eq!(inv["args"], json!([1, "two"]));

    // The spec's keys: Crossbar.io drops them.
    let spec = join(cell).await;
    spec.session
        .set_payload_codec(Some(XCustom::arc(PptKeys::Spec)));
    let plain_topic = format!("{pre}.spec");
    let mut plain = subscribe(&me.session, &plain_topic, SubscribeOptions::default()).await;
    publish(
        &spec.session,
        &plain_topic,
        list!["x"],
        PublishOptions::default(),
    )
    .await;
    let (args, _, d) = within("event", plain.recv()).await.expect("event");
    assert_eq!(d.enc_algo, None, "Crossbar.io 26.10 forwards no ppt_* keys");
    assert!(
        matches!(args.as_slice(), [Value::Bytes(b)] if b.starts_with(b"{")),
        "{args:?}"
    );
}
