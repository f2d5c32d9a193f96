//! Shared registrations: every invocation policy with several callees (one of them an
//! Autobahn|Python callee for `roundrobin`), `concurrency`, `force_reregister`.

use std::sync::Arc;

use autobahn::list;
use autobahn::wamp::{
    ApplicationError, CallResult, Dict, RegisterOptions, Registration, Session, Value,
};
use tokio::sync::{mpsc, Notify};

use super::common::{call, error_uri, join, router, JSON};
use super::crossbar::unique_uri;
use super::support::{within, Joined, STEP};

/// Registers `procedure` with `invoke` on `s`; the endpoint answers `answer`.
async fn register_answering(
    s: &Session,
    procedure: &str,
    invoke: &str,
    answer: i64,
) -> Result<Registration, autobahn::wamp::Error> {
    let options = RegisterOptions {
        invoke: Some(invoke.into()),
        ..RegisterOptions::default()
    };
    within(
        "register",
        s.register(
            procedure,
            move |_a, _k, _d| std::future::ready(Ok(CallResult::with_args(list![answer]))),
            options,
        ),
    )
    .await
}

/// Three callees (registered in order 0, 1, 2) and a caller.
async fn callees() -> (Vec<Joined>, Joined) {
    let mut v = Vec::new();
    for _ in 0..3 {
        v.push(join(JSON).await);
    }
    (v, join(JSON).await)
}

async fn answers(caller: &Session, procedure: &str, n: usize) -> Vec<i64> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = call(caller, procedure, list![]).await.expect("call");
        out.push(r.args[0].as_i64().expect("an integer"));
    }
    out
}

/// `single` refuses a second callee; `roundrobin` cycles through the three callees;
/// `first` and `last` always pick the first and the last registered; `random` reaches
/// every callee; a different policy on a shared procedure is refused.
#[tokio::test]
async fn invocation_policies() {
    let base = unique_uri("com.example.adv.shared");
    let (callees, caller) = callees().await;
    let caller = &caller.session;

    let single = format!("{base}.single");
    register_answering(&callees[0].session, &single, "single", 0)
        .await
        .expect("first single");
    assert_eq!(
        error_uri(register_answering(&callees[1].session, &single, "single", 1).await),
        ApplicationError::PROCEDURE_ALREADY_EXISTS
    );

    for policy in ["roundrobin", "first", "last", "random"] {
        let procedure = format!("{base}.{policy}");
        for (i, c) in callees.iter().enumerate() {
            register_answering(&c.session, &procedure, policy, i as i64)
                .await
                .unwrap_or_else(|e| panic!("{policy} #{i}: {e}"));
        }
        let n = if policy == "random" { 30 } else { 6 };
        let got = answers(caller, &procedure, n).await;
        match policy {
            "roundrobin" => {
                let mut first3 = got[..3].to_vec();
                first3.sort_unstable();
                assert_eq!(first3, [0, 1, 2], "{got:?}");
                assert_eq!(got[..3], got[3..], "{got:?}");
            }
            "first" => assert_eq!(got, [0; 6]),
            "last" => assert_eq!(got, [2; 6]),
            _ => {
                for i in 0..3 {
                    assert!(got.contains(&i), "random never picked {i}: {got:?}");
                }
            }
        }
    }
    let conflict = format!("{base}.first");
    let e = error_uri(register_answering(&callees[0].session, &conflict, "last", 9).await);
    assert_eq!(
        e,
        "wamp.error.procedure_exists_with_different_invocation_policy"
    );
}

/// A Rust endpoint and the Python callee share `add2` with `roundrobin`: calls
/// alternate between them (the Rust one adds 1000).
#[tokio::test]
async fn roundrobin_with_a_python_callee() {
    let cb = router();
    let pre = unique_uri("com.example.adv.rr");
    let add2 = format!("{pre}.add2");
    let mut py = JSON.peer(
        cb,
        "callee.py",
        &["--prefix", &pre, "--invoke", "roundrobin"],
    );
    let rust = join(JSON).await;
    let caller = join(JSON).await;
    py.wait_ready_async().await;
    let options = RegisterOptions {
        invoke: Some("roundrobin".into()),
        ..RegisterOptions::default()
    };
    within(
        "register",
        rust.session.register(
            &add2,
            |args: Vec<Value>, _k, _d| {
                let sum: i64 = args.iter().filter_map(Value::as_i64).sum();
                std::future::ready(Ok(CallResult::with_args(list![1000 + sum])))
            },
            options,
        ),
    )
    .await
    .expect("shared register");
    let mut got = Vec::new();
    for i in 0..4 {
        let r = call(&caller.session, &add2, list![i, 1])
            .await
            .expect("add2");
        got.push(r.args[0].as_i64().expect("int") >= 1000);
    }
    assert!(
        got == [false, true, false, true] || got == [true, false, true, false],
        "{got:?}"
    );
    for _ in 0..2 {
        let inv = py.wait_for_json_async(STEP, "invocation").await;
        assert_eq!(inv["procedure"], serde_json::json!(add2));
    }
}

/// `concurrency: 1`: while the endpoint is busy, Crossbar.io refuses a second call
/// (`crossbar.error.max_concurrency_reached`); the first still completes.
#[tokio::test]
async fn concurrency_limit() {
    let procedure = unique_uri("com.example.adv.concurrency");
    let callee = join(JSON).await;
    let caller = join(JSON).await;
    let release = Arc::new(Notify::new());
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let gate = release.clone();
    let options = RegisterOptions {
        concurrency: Some(1),
        ..RegisterOptions::default()
    };
    within(
        "register",
        callee.session.register(
            &procedure,
            move |_a, _k, _d| {
                let _ = started_tx.send(());
                let gate = gate.clone();
                async move {
                    gate.notified().await;
                    Ok(CallResult::with_args(list!["done"]))
                }
            },
            options,
        ),
    )
    .await
    .expect("register");
    let first = caller
        .session
        .start_call(&procedure, list![], Dict::new(), Default::default())
        .await;
    within("started", started.recv()).await.expect("started");
    assert_eq!(
        error_uri(call(&caller.session, &procedure, list![]).await),
        "crossbar.error.max_concurrency_reached"
    );
    release.notify_one();
    let r = within("first call", first).await.expect("first call");
    assert_eq!(r.args, list!["done"]);
}

/// A second callee registering with `force_reregister` takes the procedure over: the
/// first one's `Registration` learns of the revocation (`wamp.error.unregistered`) and
/// calls go to the new one. Also over an Autobahn|Python callee's registration.
#[tokio::test]
async fn force_reregister_revokes_the_old_callee() {
    let cb = router();
    let procedure = unique_uri("com.example.adv.force");
    let a = join(JSON).await;
    let b = join(JSON).await;
    let old = register_answering(&a.session, &procedure, "single", 1)
        .await
        .expect("register");
    assert!(old.revoked().is_none());
    let force = RegisterOptions {
        force_reregister: Some(true),
        ..RegisterOptions::default()
    };
    within(
        "force register",
        b.session.register(
            &procedure,
            |_a, _k, _d| std::future::ready(Ok(CallResult::with_args(list![2]))),
            force.clone(),
        ),
    )
    .await
    .expect("force_reregister");
    let revocation = within("revocation", old.wait_revoked())
        .await
        .expect("revoked");
    assert_eq!(
        revocation.reason.as_deref(),
        Some("wamp.error.unregistered")
    );
    assert_eq!(old.revoked(), Some(revocation));
    assert_eq!(old.current_id(), None);
    let r = call(&a.session, &procedure, list![]).await.expect("call");
    assert_eq!(r.args, list![2]);

    let pre = unique_uri("com.example.adv.force.py");
    let mut py = JSON.peer(cb, "callee.py", &["--prefix", &pre]);
    py.wait_ready_async().await;
    let add2 = format!("{pre}.add2");
    within(
        "force register over python",
        b.session.register(
            &add2,
            |_a, _k, _d| std::future::ready(Ok(CallResult::with_args(list!["rust"]))),
            force,
        ),
    )
    .await
    .expect("force_reregister");
    let r = call(&a.session, &add2, list![1, 2]).await.expect("add2");
    assert_eq!(r.args, list!["rust"]);
}
