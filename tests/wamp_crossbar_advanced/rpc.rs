//! Progressive results, cancellation, timeouts, disclosure, pattern-based registration
//! and subscription.

use std::time::{Duration, Instant};

use autobahn::list;
use autobahn::wamp::{
    ApplicationError, CallDetails, CallOptions, CallResult, CallUpdate, CancelMode, Dict, Error,
    EventDetails, PublishOptions, RegisterOptions, Session, SubscribeOptions,
};
use serde_json::json;
use tokio::sync::mpsc;

use super::common::{call, call_opts, join, router, DropSignal, JSON};
use super::crossbar::unique_uri;
use super::support::{within, STEP};

/// Registers an endpoint that reports each invocation's details, then never finishes
/// (until its future is dropped, which `DropSignal` reports).
async fn register_blocking(
    s: &Session,
    procedure: &str,
) -> (
    mpsc::UnboundedReceiver<CallDetails>,
    mpsc::UnboundedReceiver<&'static str>,
) {
    let (started_tx, started) = mpsc::unbounded_channel();
    let (dropped_tx, dropped) = mpsc::unbounded_channel();
    within(
        "register",
        s.register(
            procedure,
            move |_args, _kwargs, details: CallDetails| {
                let _ = started_tx.send(details);
                let guard = DropSignal("dropped", dropped_tx.clone());
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    Ok(CallResult::new())
                }
            },
            RegisterOptions::default(),
        ),
    )
    .await
    .expect("register");
    (started, dropped)
}

/// Rust caller → Python callee `progress(4)`: `call_progressive` yields the four
/// progressive results in order, then the final result, then ends.
#[tokio::test]
async fn progressive_results_as_a_stream() {
    let cb = router();
    let pre = unique_uri("com.example.adv.progress");
    let mut callee = JSON.peer(cb, "callee.py", &["--prefix", &pre]);
    let j = join(JSON).await;
    callee.wait_ready_async().await;

    let mut stream = j
        .session
        .call_progressive(
            &format!("{pre}.progress"),
            list![4],
            Dict::new(),
            CallOptions::default(),
        )
        .await;
    let mut seen = Vec::new();
    while let Some(update) = within("update", stream.next()).await {
        seen.push(update.expect("no error"));
        assert!(stream.request_id() > 0);
    }
    let progress = |i: i64| CallUpdate::Progress(CallResult::with_args(list![i]));
    assert_eq!(
        seen,
        vec![
            progress(0),
            progress(1),
            progress(2),
            progress(3),
            CallUpdate::Final(CallResult::with_args(list![4])),
        ]
    );
    assert!(within("after the end", stream.next()).await.is_none());
    // collect(): the same, in one call
    let (p, r) = j
        .session
        .call_progressive(
            &format!("{pre}.progress"),
            list![2],
            Dict::new(),
            CallOptions::default(),
        )
        .await
        .collect()
        .await
        .expect("collect");
    assert_eq!((p.len(), r.args), (2, list![2]));
}

/// Against the Python callee's `slow`: `kill` and `killnowait` interrupt it (it prints
/// `cancelled`) and fail the call with `Canceled`; `skip` fails the call at once and
/// leaves the callee running (Crossbar.io sends no answer for `skip`: the client
/// completes the call itself); dropping the call future sends CANCEL with
/// `CallOptions::cancel_mode`.
#[tokio::test]
async fn cancel_modes() {
    let cb = router();
    let pre = unique_uri("com.example.adv.cancel");
    let slow = format!("{pre}.slow");
    let mut callee = JSON.peer(cb, "callee.py", &["--prefix", &pre]);
    let j = join(JSON).await;
    let s = &j.session;
    callee.wait_ready_async().await;

    for mode in [CancelMode::Kill, CancelMode::KillNoWait] {
        let pending = s
            .start_call(&slow, list![30], Dict::new(), CallOptions::default())
            .await;
        callee.wait_for_json_async(STEP, "invocation").await;
        within("cancel", pending.cancel(mode))
            .await
            .expect("CANCEL sent");
        match within("canceled call", pending).await {
            Err(Error::Canceled) => {}
            other => panic!("{mode:?}: expected Canceled, got {other:?}"),
        }
        assert_eq!(
            callee.wait_for_json_async(STEP, "cancelled").await,
            json!(slow),
            "{mode:?} interrupts the callee"
        );
    }

    // skip: the call ends at once; the callee is not interrupted and finishes.
    let pending = s
        .start_call(&slow, list![0.5], Dict::new(), CallOptions::default())
        .await;
    callee.wait_for_json_async(STEP, "invocation").await;
    let t = Instant::now();
    within("cancel", pending.cancel(CancelMode::Skip))
        .await
        .expect("CANCEL sent");
    match within("skipped call", pending).await {
        Err(Error::Canceled) => {}
        other => panic!("skip: expected Canceled, got {other:?}"),
    }
    // Crossbar.io never answers a skipped call: ending well before the step bound shows
    // the local completion (generous: a loaded 2-core machine).
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    // The callee runs its 0.5 s to the end (it would print `cancelled` if interrupted).
    assert_eq!(
        callee.wait_for_json_async(STEP, "finished").await,
        json!(slow)
    );
    let add2 = format!("{pre}.add2");
    assert_eq!(
        call(s, &add2, list![1, 2]).await.expect("add2").args,
        list![3]
    );
    let inv = callee.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(inv["procedure"], json!(add2));
    let cancelled = callee
        .seen()
        .iter()
        .filter(|l| l.contains("\"cancelled\""))
        .count();
    assert_eq!(
        cancelled,
        2,
        "skip interrupted the callee: {:?}",
        callee.seen()
    );

    // Dropping the future cancels with the configured mode.
    let options = CallOptions {
        cancel_mode: Some(CancelMode::KillNoWait),
        ..CallOptions::default()
    };
    let pending = s.start_call(&slow, list![30], Dict::new(), options).await;
    callee.wait_for_json_async(STEP, "invocation").await;
    drop(pending);
    assert_eq!(
        callee.wait_for_json_async(STEP, "cancelled").await,
        json!(slow),
        "dropping the call interrupts the callee"
    );
    // The session still works.
    assert_eq!(
        call(s, &add2, list![2, 2]).await.expect("add2").args,
        list![4]
    );
}

/// Python caller (`caller.py --cancel-after 1 --cancel-mode kill|killnowait`) → Rust
/// endpoint that never finishes: the INTERRUPT drops the endpoint's future.
#[tokio::test]
async fn interrupt_cancels_the_rust_handler() {
    let cb = router();
    let procedure = unique_uri("com.example.adv.block");
    let j = join(JSON).await;
    let (mut started, mut dropped) = register_blocking(&j.session, &procedure).await;
    for mode in ["kill", "killnowait"] {
        let mut caller = JSON.peer(
            cb,
            "caller.py",
            &[&procedure, "--cancel-after", "1", "--cancel-mode", mode],
        );
        let details = within("invocation", started.recv()).await.expect("started");
        assert_eq!(details.procedure.as_deref(), Some(procedure.as_str()));
        assert_eq!(
            within("future dropped", dropped.recv()).await,
            Some("dropped"),
            "{mode}: the INTERRUPT dropped the endpoint's future"
        );
        assert_eq!(
            caller.wait_for_json_async(STEP, "cancelled").await,
            json!(procedure)
        );
        assert!(caller.wait_exit_async(STEP).await.success());
    }
}

/// Crossbar.io reads call timeouts in seconds. A Python caller's `timeout=1` reaches the
/// Rust endpoint as 1 s, and the router's own timer interrupts it (the Python caller
/// gets `wamp.error.canceled`, "timeout reached"). A Rust caller's 1.5 s goes out as 2
/// (seconds, rounded up), and its local deadline fails the call with `Timeout` and
/// interrupts the endpoint.
#[tokio::test]
async fn call_timeout_in_crossbar_seconds() {
    let cb = router();
    let procedure = unique_uri("com.example.adv.timeout");
    let callee = join(JSON).await;
    let (mut started, mut dropped) = register_blocking(&callee.session, &procedure).await;

    let mut caller = JSON.peer(cb, "caller.py", &[&procedure, "--timeout", "1"]);
    let details = within("invocation", started.recv()).await.expect("started");
    assert_eq!(details.timeout, Some(Duration::from_secs(1)));
    let t = Instant::now();
    assert_eq!(within("dropped", dropped.recv()).await, Some("dropped"));
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    let error = caller.wait_for_json_async(STEP, "error").await;
    assert_eq!(error["error"], json!(ApplicationError::CANCELED));
    assert_eq!(error["args"], json!(["timeout reached"]));

    let rust_caller = join(JSON).await;
    let options = CallOptions {
        timeout: Some(Duration::from_millis(1500)),
        ..CallOptions::default()
    };
    let t = Instant::now();
    match call_opts(&rust_caller.session, &procedure, list![], options).await {
        Err(Error::Timeout) => {}
        other => panic!("expected Timeout, got {other:?}"),
    }
    let elapsed = t.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(15),
        "{elapsed:?}"
    );
    let details = within("invocation", started.recv()).await.expect("started");
    assert_eq!(details.timeout, Some(Duration::from_secs(2)));
    assert_eq!(within("dropped", dropped.recv()).await, Some("dropped"));
}

/// Disclosure is decided by the router's role configuration (Crossbar.io ignores
/// `disclose_me`): under `com.example.nodisclose.` (disclosure off) the Python callee
/// and subscriber see no caller/publisher although we ask with `disclose_me`; elsewhere
/// (disclosure on) `CallDetails.caller*` and `EventDetails.publisher*` are filled in.
#[tokio::test]
async fn caller_and_publisher_disclosure() {
    let cb = router();
    let hidden = unique_uri("com.example.nodisclose.adv");
    let hidden_topic = format!("{hidden}.topic");
    let mut callee = JSON.peer(cb, "callee.py", &["--prefix", &hidden]);
    let mut sub = JSON.peer(cb, "subscriber.py", &["--topic", &hidden_topic]);
    let a = join(JSON).await;
    let b = join(JSON).await;
    callee.wait_ready_async().await;
    sub.wait_ready_async().await;

    let options = CallOptions {
        disclose_me: Some(true),
        ..CallOptions::default()
    };
    let r = call_opts(&a.session, &format!("{hidden}.add2"), list![1, 1], options)
        .await
        .expect("add2");
    assert_eq!(r.args, list![2]);
    let inv = callee.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(inv["caller"], json!(null), "{inv}");
    let ack = PublishOptions {
        acknowledge: true,
        disclose_me: Some(true),
        ..PublishOptions::default()
    };
    within(
        "publish",
        a.session
            .publish(&hidden_topic, list![1], Dict::new(), ack.clone()),
    )
    .await
    .expect("publish");
    let ev = sub.wait_for_json_async(STEP, "event").await;
    assert_eq!(ev["publisher"], json!(null), "{ev}");

    // Disclosed: Rust ↔ Rust, both details.
    let procedure = unique_uri("com.example.adv.disclosed");
    let (tx, mut rx) = mpsc::unbounded_channel::<CallDetails>();
    within(
        "register",
        b.session.register(
            &procedure,
            move |_a, _k, d: CallDetails| {
                let _ = tx.send(d);
                std::future::ready(Ok(CallResult::new()))
            },
            RegisterOptions::default(),
        ),
    )
    .await
    .expect("register");
    call(&a.session, &procedure, list![]).await.expect("call");
    let d = within("details", rx.recv()).await.expect("details");
    assert_eq!(d.caller, Some(a.details.session));
    assert_eq!(d.caller_authid, a.details.authid);
    assert_eq!(d.caller_authrole.as_deref(), Some("anonymous"));

    let topic = unique_uri("com.example.adv.disclosed.topic");
    let (tx, mut rx) = mpsc::unbounded_channel::<EventDetails>();
    within(
        "subscribe",
        b.session.subscribe(
            &topic,
            move |_a, _k, d: EventDetails| {
                let _ = tx.send(d);
                std::future::ready(Ok(()))
            },
            SubscribeOptions::default(),
        ),
    )
    .await
    .expect("subscribe");
    within(
        "publish",
        a.session.publish(&topic, list![], Dict::new(), ack),
    )
    .await
    .expect("publish");
    let d = within("event", rx.recv()).await.expect("event");
    assert_eq!(d.publisher, Some(a.details.session));
    assert_eq!(d.publisher_authid, a.details.authid);
    assert_eq!(d.publisher_authrole.as_deref(), Some("anonymous"));
}

/// Prefix and wildcard registrations and subscriptions: the endpoint and the handler
/// see the concrete procedure/topic in their details; exact ones see their own URI.
#[tokio::test]
async fn pattern_based_registration_and_subscription() {
    let base = unique_uri("com.example.adv.pattern");
    let a = join(JSON).await;
    let b = join(JSON).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<(&'static str, Option<String>)>();
    for (label, uri, policy) in [
        ("prefix", format!("{base}.pre"), "prefix"),
        ("wildcard", format!("{base}..wild"), "wildcard"),
        ("exact", format!("{base}.exact"), "exact"),
    ] {
        let tx = tx.clone();
        let options = RegisterOptions {
            match_: Some(policy.into()),
            ..RegisterOptions::default()
        };
        within(
            "register",
            a.session.register(
                &uri,
                move |_a, _k, d: CallDetails| {
                    let _ = tx.send((label, d.procedure));
                    std::future::ready(Ok(CallResult::with_args(list![label])))
                },
                options,
            ),
        )
        .await
        .expect("register");
    }
    for (called, want) in [
        (format!("{base}.pre.a.b"), "prefix"),
        (format!("{base}.x.wild"), "wildcard"),
        (format!("{base}.exact"), "exact"),
    ] {
        let r = call(&b.session, &called, list![]).await.expect("call");
        assert_eq!(r.args, list![want]);
        assert_eq!(
            within("details", rx.recv()).await,
            Some((want, Some(called.clone())))
        );
    }
    assert_eq!(
        super::common::error_uri(call(&b.session, &format!("{base}.other"), list![]).await),
        ApplicationError::NO_SUCH_PROCEDURE
    );

    let (tx, mut rx) = mpsc::unbounded_channel::<(&'static str, Option<String>)>();
    for (label, uri, policy) in [
        ("prefix", format!("{base}.t"), "prefix"),
        ("wildcard", format!("{base}..w"), "wildcard"),
    ] {
        let tx = tx.clone();
        let options = SubscribeOptions {
            match_: Some(policy.into()),
            ..SubscribeOptions::default()
        };
        within(
            "subscribe",
            a.session.subscribe(
                &uri,
                move |_a, _k, d: EventDetails| {
                    let _ = tx.send((label, d.topic));
                    std::future::ready(Ok(()))
                },
                options,
            ),
        )
        .await
        .expect("subscribe");
    }
    let ack = PublishOptions {
        acknowledge: true,
        ..PublishOptions::default()
    };
    for (topic, want) in [
        (format!("{base}.t.x.y"), "prefix"),
        (format!("{base}.q.w"), "wildcard"),
    ] {
        within(
            "publish",
            b.session.publish(&topic, list![], Dict::new(), ack.clone()),
        )
        .await
        .expect("publish");
        assert_eq!(
            within("event", rx.recv()).await,
            Some((want, Some(topic.clone())))
        );
    }
    // One more publication per subscription: each handler's next event must be it (a
    // duplicate of the above would come first through the same handler).
    let last = [
        (format!("{base}.t.last"), "prefix"),
        (format!("{base}.last.w"), "wildcard"),
    ];
    for (topic, _) in &last {
        within(
            "publish",
            b.session.publish(topic, list![], Dict::new(), ack.clone()),
        )
        .await
        .expect("publish");
    }
    let mut got = Vec::new();
    for _ in &last {
        got.push(within("event", rx.recv()).await.expect("event"));
    }
    got.sort();
    let mut want: Vec<_> = last.iter().map(|(t, w)| (*w, Some(t.clone()))).collect();
    want.sort();
    assert_eq!(got, want, "one event per publication");
}

/// Crossbar.io 26.10 does not announce `progressive_call_invocations`: a call that
/// would stream its input fails locally with `InvalidRequest` and nothing is sent; the
/// session goes on. (The feature itself is tested against a scripted router in
/// `tests/wamp_session_fake_router.rs`.)
#[tokio::test]
async fn progressive_call_invocations_need_the_router() {
    let j = join(JSON).await;
    let dealer = &j.details.router_roles["dealer"]["features"];
    assert_eq!(dealer.get("progressive_call_results"), Some(&true.into()));
    assert_eq!(dealer.get("progressive_call_invocations"), None);
    let options = CallOptions {
        progress: true,
        ..CallOptions::default()
    };
    match call_opts(&j.session, "wamp.session.count", list![], options).await {
        Err(Error::InvalidRequest(text)) => {
            assert!(text.contains("progressive call invocations"), "{text}")
        }
        other => panic!("expected InvalidRequest, got {other:?}"),
    }
    assert!(call(&j.session, "wamp.session.count", list![])
        .await
        .is_ok());
}
