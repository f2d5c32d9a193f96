//! The session meta API: testaments, meta procedures and events, revocation (through
//! `wamp.subscription.remove_subscriber`, and `force_reregister` for registrations).

use autobahn::list;
use autobahn::wamp::{
    CallResult, Dict, EventDetails, PublishOptions, RegisterOptions, SubscribeOptions,
    TestamentScope, Value,
};
use serde_json::json;
use tokio::sync::mpsc;

use super::common::{call, join, reconnect, router, JSON};
use super::crossbar::unique_uri;
use super::support::{within, STEP};

/// A testament added with `Session::add_testament` (`wamp.session.add_testament`) is
/// published by the router when our transport drops without GOODBYE; a Python
/// subscriber receives it. `flush_testaments` removes them.
#[tokio::test]
async fn testament_reaches_a_python_subscriber() {
    let cb = router();
    let topic = unique_uri("com.example.adv.testament");
    let mut sub = JSON.peer(cb, "subscriber.py", &["--topic", &topic]);
    let flushed = join(JSON).await;
    let me = join(JSON).await;
    sub.wait_ready_async().await;

    // One session flushes its testament before it goes: nothing is published for it.
    within(
        "add_testament",
        flushed.session.add_testament(
            &topic,
            list!["flushed"],
            Dict::new(),
            PublishOptions::default(),
            TestamentScope::Destroyed,
        ),
    )
    .await
    .expect("add_testament");
    let n = within(
        "flush_testaments",
        flushed.session.flush_testaments(TestamentScope::Destroyed),
    )
    .await
    .expect("flush");
    assert_eq!(n, 1);
    within("disconnect", flushed.session.disconnect()).await;

    let kwargs = autobahn::dict! {"session" => me.details.session};
    let id = within(
        "add_testament",
        me.session.add_testament(
            &topic,
            list!["gone"],
            kwargs,
            PublishOptions::default(),
            TestamentScope::Destroyed,
        ),
    )
    .await
    .expect("add_testament");
    assert!(id > 0);
    within("disconnect", me.session.disconnect()).await;
    let ev = sub.wait_for_json_async(STEP, "event").await;
    assert_eq!(ev["args"], json!(["gone"]), "{ev}");
    assert_eq!(ev["kwargs"], json!({"session": me.details.session}));
}

/// Meta procedures are called like any other (`wamp.session.count`,
/// `wamp.session.get`, `wamp.registration.lookup`/`get`) and meta events subscribed like
/// any other (`wamp.session.on_join`, `wamp.registration.on_create`,
/// `wamp.session.on_leave`).
#[tokio::test]
async fn meta_api_calls_and_events() {
    let a = join(JSON).await;
    let s = &a.session;
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Vec<Value>)>();
    for topic in [
        "wamp.session.on_join",
        "wamp.session.on_leave",
        "wamp.registration.on_create",
    ] {
        let tx = tx.clone();
        within(
            "subscribe",
            s.subscribe(
                topic,
                move |args, _k, d: EventDetails| {
                    let _ = tx.send((d.topic.unwrap_or_default(), args));
                    std::future::ready(Ok(()))
                },
                SubscribeOptions::default(),
            ),
        )
        .await
        .expect("subscribe to a meta topic");
    }
    let count = call(s, "wamp.session.count", list![]).await.expect("count");
    assert!(count.args[0].as_u64().is_some_and(|n| n >= 1), "{count:?}");
    let me = call(s, "wamp.session.get", list![a.details.session])
        .await
        .expect("session.get");
    assert_eq!(
        me.args[0].get("authrole").and_then(Value::as_str),
        Some("anonymous")
    );

    let b = join(JSON).await;
    let bid = b.details.session;
    // Other tests' sessions come and go too: wait for B's.
    wait_for(&mut rx, "wamp.session.on_join", move |args: &[Value]| {
        args.first()
            .and_then(|d| d.get("session"))
            .and_then(Value::as_u64)
            == Some(bid)
    })
    .await;

    let procedure = unique_uri("com.example.adv.meta");
    let reg = within(
        "register",
        b.session.register(
            &procedure,
            |_a, _k, _d| std::future::ready(Ok(CallResult::new())),
            RegisterOptions::default(),
        ),
    )
    .await
    .expect("register");
    let created = wait_for(
        &mut rx,
        "wamp.registration.on_create",
        move |args: &[Value]| args.first().and_then(Value::as_u64) == Some(bid),
    )
    .await;
    assert_eq!(
        created[1].get("uri").and_then(Value::as_str),
        Some(procedure.as_str())
    );
    let found = call(s, "wamp.registration.lookup", list![procedure.clone()])
        .await
        .expect("lookup");
    assert_eq!(found.args[0].as_u64(), Some(reg.id));
    let got = call(s, "wamp.registration.get", list![reg.id])
        .await
        .expect("registration.get");
    assert_eq!(
        got.args[0].get("uri").and_then(Value::as_str),
        Some(procedure.as_str())
    );

    within("leave", b.session.leave(None, None))
        .await
        .expect("leave");
    wait_for(&mut rx, "wamp.session.on_leave", move |args: &[Value]| {
        args.first().and_then(Value::as_u64) == Some(bid)
    })
    .await;
}

/// Another session takes our registration over (`force_reregister`) and removes our
/// subscriber through the meta API (`wamp.subscription.remove_subscriber`): the
/// `Registration` and `Subscription` handles report the revocations with the router's
/// reason, and after a reconnect the session restores what was not revoked but not the
/// revoked ones.
///
/// (`wamp.registration.remove_callee` would be the meta API way for registrations, but
/// in Crossbar.io 26.10 it fails with `wamp.error.runtime_error` "'NoneType' object has
/// no attribute 'forward_for'" before it sends UNREGISTERED.)
#[tokio::test]
async fn revocation_via_the_meta_api_and_no_restore() {
    let base = unique_uri("com.example.adv.revoke");
    let a = join(JSON).await;
    let admin = join(JSON).await;
    let me = a.details.session;
    let endpoint = |_a, _k, _d| std::future::ready(Ok(CallResult::new()));
    let gone = within(
        "register",
        a.session.register(
            &format!("{base}.gone"),
            endpoint,
            RegisterOptions::default(),
        ),
    )
    .await
    .expect("register");
    let keep = within(
        "register",
        a.session.register(
            &format!("{base}.keep"),
            endpoint,
            RegisterOptions::default(),
        ),
    )
    .await
    .expect("register");
    let sub = within(
        "subscribe",
        a.session.subscribe(
            &format!("{base}.topic"),
            |_a, _k, _d| std::future::ready(Ok(())),
            SubscribeOptions::default(),
        ),
    )
    .await
    .expect("subscribe");

    let force = RegisterOptions {
        force_reregister: Some(true),
        ..RegisterOptions::default()
    };
    let taken = within(
        "force register",
        admin
            .session
            .register(&format!("{base}.gone"), endpoint, force),
    )
    .await
    .expect("force_reregister");
    let r = within("revoked", gone.wait_revoked())
        .await
        .expect("a revocation");
    assert_eq!(r.reason.as_deref(), Some("wamp.error.unregistered"));
    call(
        &admin.session,
        "wamp.subscription.remove_subscriber",
        list![sub.id, me, "com.example.reason.subscription"],
    )
    .await
    .expect("remove_subscriber");
    let r = within("revoked", sub.wait_revoked())
        .await
        .expect("a revocation");
    assert_eq!(r.reason.as_deref(), Some("com.example.reason.subscription"));
    assert!(keep.revoked().is_none());

    reconnect(&a.session).await;
    let lookup = |uri: String| {
        let s = a.session.clone();
        async move {
            let r = call(&s, "wamp.registration.lookup", list![uri])
                .await
                .expect("lookup");
            r.args.first().cloned().unwrap_or(Value::Null)
        }
    };
    // The restore's REGISTER went out before this call: its answer reflects it.
    assert!(lookup(format!("{base}.keep")).await.as_u64().is_some());
    // The revoked one was not registered again: its only callee is the other session.
    assert_eq!(
        lookup(format!("{base}.gone")).await.as_u64(),
        Some(taken.id)
    );
    let callees = call(
        &a.session,
        "wamp.registration.list_callees",
        list![taken.id],
    )
    .await
    .expect("list_callees");
    assert_eq!(
        callees.args,
        list![Value::List(list![admin.details.session])]
    );
    assert_eq!(
        keep.current_id(),
        lookup(format!("{base}.keep")).await.as_u64()
    );
    let sub_lookup = call(
        &a.session,
        "wamp.subscription.lookup",
        list![format!("{base}.topic")],
    )
    .await
    .expect("lookup");
    assert!(
        matches!(sub_lookup.args.first(), None | Some(Value::Null)),
        "{sub_lookup:?}"
    );
    call(&admin.session, &format!("{base}.keep"), list![])
        .await
        .expect("the restored registration answers");
}

type MetaEvents = mpsc::UnboundedReceiver<(String, Vec<Value>)>;

/// The next meta event on `topic` whose arguments satisfy `pred` (others are skipped).
async fn wait_for(
    rx: &mut MetaEvents,
    topic: &'static str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    loop {
        let (t, args) = within(topic, rx.recv()).await.expect("meta event");
        if t == topic && pred(&args) {
            return args;
        }
    }
}
