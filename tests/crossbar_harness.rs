//! Tests of the Crossbar.io harness itself, with Autobahn|Python on both sides: proves the
//! router config, the transports, the credentials and the peer scripts before any Rust WAMP
//! client talks to them. Run with `--nocapture` to see the install / start timings.

#[path = "common_crossbar/mod.rs"]
mod crossbar;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use crossbar::{creds, unique_uri, Crossbar, SERIALIZERS};
use serde_json::{json, Value};

const STEP: Duration = Duration::from_secs(30);

/// Runs caller.py once and returns its `result` (or `error` if `want` says so).
fn call(
    cb: &Crossbar,
    url: &str,
    serializer: &str,
    procedure: &str,
    extra: &[&str],
    want: &str,
) -> Value {
    let mut args = vec![url, serializer, procedure];
    args.extend_from_slice(extra);
    let mut caller = cb.peer("caller.py", &args);
    caller.wait_ready();
    let v = caller.wait_for_json(STEP, want);
    assert!(
        caller.wait_exit(STEP).success(),
        "caller exit: {}",
        caller.stderr()
    );
    v
}

fn started_callee(
    cb: &Crossbar,
    url: &str,
    serializer: &str,
    prefix: &str,
    extra: &[&str],
) -> crossbar::Peer {
    let mut args = vec![url, serializer, "--prefix", prefix];
    args.extend_from_slice(extra);
    let mut callee = cb.peer("callee.py", &args);
    callee.wait_ready();
    callee
}

#[test]
fn rpc_over_websocket_with_every_serializer() {
    let t = Instant::now();
    let cb = Crossbar::shared();
    let pre = unique_uri("com.example");
    let mut callee = started_callee(cb, &cb.ws_url, "json", &pre, &[]);
    for ser in SERIALIZERS {
        let r = call(
            cb,
            &cb.ws_url,
            ser,
            &format!("{pre}.add2"),
            &["--args", "[2, 3]"],
            "result",
        );
        assert_eq!(r, json!({"args": [5], "kwargs": {}}), "add2 over {ser}");
        let inv = callee.wait_for_json(STEP, "invocation");
        assert_eq!(inv["procedure"], json!(format!("{pre}.add2")));
        assert_eq!(inv["caller_authrole"], json!("anonymous"));
        assert!(inv["caller"].is_u64(), "caller disclosed: {inv}");

        // bytes survive msgpack/cbor natively and json via the \0-base64 convention
        let payload = r#"[1, "two", {"$bytes": "AAH/"}, [true, null, 2.5]]"#;
        let kw = r#"{"k": {"$bytes": "3q2+7w=="}, "s": "x"}"#;
        let r = call(
            cb,
            &cb.ws_url,
            ser,
            &format!("{pre}.echo"),
            &["--args", payload, "--kwargs", kw],
            "result",
        );
        assert_eq!(
            r["args"],
            serde_json::from_str::<Value>(payload).unwrap(),
            "echo args over {ser}"
        );
        assert_eq!(
            r["kwargs"],
            serde_json::from_str::<Value>(kw).unwrap(),
            "echo kwargs over {ser}"
        );
        let inv = callee.wait_for_json(STEP, "invocation");
        assert_eq!(inv["procedure"], json!(format!("{pre}.echo")));
        assert_eq!(
            inv["kwargs"],
            serde_json::from_str::<Value>(kw).unwrap(),
            "callee saw the kwargs"
        );
    }
    eprintln!(
        "rpc_over_websocket_with_every_serializer: {:?}",
        t.elapsed()
    );
}

#[test]
fn progressive_results_errors_and_cancel() {
    let cb = Crossbar::shared();
    let pre = unique_uri("com.example");
    let mut callee = started_callee(cb, &cb.ws_url, "msgpack", &pre, &[]);

    let mut caller = cb.peer(
        "caller.py",
        &[
            &cb.ws_url,
            "cbor",
            &format!("{pre}.progress"),
            "--args",
            "[3]",
            "--progress",
        ],
    );
    caller.wait_ready();
    for i in 0..3 {
        assert_eq!(
            caller.wait_for_json(STEP, "progress"),
            json!({"args": [i], "kwargs": {}})
        );
    }
    assert_eq!(
        caller.wait_for_json(STEP, "result"),
        json!({"args": [3], "kwargs": {}})
    );

    let e = call(
        cb,
        &cb.ws_url,
        "json",
        &format!("{pre}.fail"),
        &["--args", r#"[1, "a"]"#, "--kwargs", r#"{"z": 1}"#],
        "error",
    );
    assert_eq!(
        e,
        json!({"error": "com.example.error.custom", "args": [1, "a"], "kwargs": {"z": 1}})
    );

    let e = call(
        cb,
        &cb.ws_url,
        "json",
        &unique_uri("com.example.nothing"),
        &[],
        "error",
    );
    assert_eq!(e["error"], json!("wamp.error.no_such_procedure"));

    // cancel (mode kill): the router interrupts the callee, which reports it
    let t = Instant::now();
    let r = call(
        cb,
        &cb.ws_url,
        "json",
        &format!("{pre}.slow"),
        &[
            "--args",
            "[20]",
            "--cancel-after",
            "0.5",
            "--cancel-mode",
            "kill",
        ],
        "cancelled",
    );
    assert_eq!(r, json!(format!("{pre}.slow")));
    assert_eq!(
        callee.wait_for_json(STEP, "cancelled"),
        json!(format!("{pre}.slow"))
    );
    assert!(
        t.elapsed() < Duration::from_secs(15),
        "cancel took {:?}",
        t.elapsed()
    );
}

#[test]
fn publish_and_subscribe() {
    let t = Instant::now();
    let cb = Crossbar::shared();
    let topic = unique_uri("com.example.topic");
    let mut sub = cb.peer(
        "subscriber.py",
        &[&cb.ws_url, "cbor", "--topic", &topic, "--count", "3"],
    );
    sub.wait_ready();
    let mut publisher = cb.peer(
        "publisher.py",
        &[&cb.ws_url, "msgpack", "--topic", &topic, "--acknowledge"],
    );
    publisher.wait_ready();
    publisher.send_line("publish 3");
    for i in 0..3 {
        assert_eq!(publisher.wait_for_json(STEP, "published"), json!(i));
    }
    for i in 0..3 {
        let ev = sub.wait_for_json(STEP, "event");
        assert_eq!(ev["topic"], json!(topic));
        assert_eq!(ev["args"], json!([i]));
        assert_eq!(ev["kwargs"], json!({"seq": i}));
        assert!(ev["publisher"].is_u64(), "publisher disclosed: {ev}");
    }
    assert!(
        sub.wait_exit(STEP).success(),
        "subscriber exit: {}",
        sub.stderr()
    );

    // timer mode, with bytes in the payload, over json on both ends
    let mut sub = cb.peer(
        "subscriber.py",
        &[&cb.ws_url, "json", "--topic", &topic, "--count", "2"],
    );
    sub.wait_ready();
    let mut publisher = cb.peer(
        "publisher.py",
        &[
            &cb.ws_url,
            "json",
            "--topic",
            &topic,
            "--interval",
            "0.05",
            "--count",
            "2",
            "--args",
            r#"[{"$bytes": "AQID"}]"#,
        ],
    );
    for _ in 0..2 {
        assert_eq!(
            sub.wait_for_json(STEP, "event")["args"],
            json!([{"$bytes": "AQID"}])
        );
    }
    assert!(publisher.wait_exit(STEP).success());
    assert!(sub.wait_exit(STEP).success());
    eprintln!("publish_and_subscribe: {:?}", t.elapsed());
}

#[test]
fn subscriber_calls_back() {
    let cb = Crossbar::shared();
    let pre = unique_uri("com.example");
    let topic = unique_uri("com.example.topic");
    let _callee = started_callee(cb, &cb.ws_url, "cbor", &pre, &[]);
    let mut sub = cb.peer(
        "subscriber.py",
        &[
            &cb.rs_url,
            "json",
            "--topic",
            &topic,
            "--count",
            "1",
            "--call-back",
            &format!("{pre}.add2"),
        ],
    );
    sub.wait_ready();
    let mut publisher = cb.peer(
        "publisher.py",
        &[
            &cb.ws_url, "json", "--topic", &topic, "--args", "[40, 2]", "--kwargs", "{}",
        ],
    );
    publisher.wait_ready();
    publisher.send_line("publish");
    assert_eq!(
        sub.wait_for_json(STEP, "called_back"),
        json!({"args": [42], "kwargs": {}})
    );
}

#[test]
fn rawsocket_over_tcp_and_unix() {
    let cb = Crossbar::shared();
    let pre = unique_uri("com.example");
    let _callee = started_callee(cb, &cb.rs_url, "json", &pre, &[]);
    for ser in SERIALIZERS {
        for url in [&cb.rs_url, &cb.unix_url] {
            let r = call(
                cb,
                url,
                ser,
                &format!("{pre}.add2"),
                &["--args", "[20, 22]"],
                "result",
            );
            assert_eq!(r, json!({"args": [42], "kwargs": {}}), "{url} {ser}");
        }
    }
    let r = call(
        cb,
        &cb.unix_url,
        "msgpack",
        &format!("{pre}.echo"),
        &["--args", r#"[{"$bytes": "AA=="}]"#],
        "result",
    );
    assert_eq!(r["args"], json!([{"$bytes": "AA=="}]));
}

#[test]
fn authentication_methods() {
    let cb = Crossbar::shared();
    let pre = unique_uri("com.example");
    let mut callee = started_callee(cb, &cb.ws_url, "json", &pre, &[]);
    let users: [(&str, &str, &str); 4] = [
        ("ticket", creds::TICKET_AUTHID, creds::TICKET),
        ("wampcra", creds::CRA_AUTHID, creds::CRA_SECRET),
        (
            "wampcra",
            creds::CRA_SALTED_AUTHID,
            creds::CRA_SALTED_SECRET,
        ),
        (
            "cryptosign",
            creds::CRYPTOSIGN_AUTHID,
            creds::CRYPTOSIGN_SEED_HEX,
        ),
    ];
    for (i, (method, authid, secret)) in users.into_iter().enumerate() {
        let ser = SERIALIZERS[i % 3];
        let r = call(
            cb,
            &cb.auth_ws_url,
            ser,
            &format!("{pre}.add2"),
            &[
                "--args",
                "[1, 2]",
                "--authmethod",
                method,
                "--authid",
                authid,
                "--secret",
                secret,
            ],
            "result",
        );
        assert_eq!(r["args"], json!([3]), "{method} {authid}");
        let inv = callee.wait_for_json(STEP, "invocation");
        assert_eq!(inv["caller_authid"], json!(authid));
        assert_eq!(inv["caller_authrole"], json!(creds::AUTHROLE));
    }

    // a wrong ticket and an anonymous join are refused: the peer reports it and exits 1
    for extra in [
        &[
            "--authmethod",
            "ticket",
            "--authid",
            creds::TICKET_AUTHID,
            "--secret",
            "wrong",
        ][..],
        &[][..],
    ] {
        let mut args = vec![cb.auth_ws_url.as_str(), "json", "com.example.add2"];
        args.extend_from_slice(extra);
        let mut caller = cb.peer("caller.py", &args);
        let failed = caller.wait_for_line(STEP, |l| l.contains("\"failed\""));
        assert!(
            failed.contains("wamp.error.not_authorized")
                || failed.contains("wamp.error.no_auth_method"),
            "{failed}"
        );
        assert_eq!(caller.wait_exit(STEP).code(), Some(1));
    }
}

#[test]
fn own_router_starts_and_stops_cleanly() {
    let t = Instant::now();
    let cb = Crossbar::start();
    let start = cb.start_time;
    let inst = crossbar::installation();
    eprintln!(
        "crossbar harness: install {:?}, router start {start:?}",
        inst.install_time
            .map_or("reused".to_string(), |d| format!("{d:?}"))
    );
    let ws = cb.ws_addr;
    let rs = cb.rs_addr;
    let unix = cb.unix_path.clone();
    let node_dir = cb.node_dir.clone();
    let pre = unique_uri("com.example");
    let mut callee = started_callee(&cb, &cb.unix_url, "cbor", &pre, &[]);
    let r = call(
        &cb,
        &cb.ws_url,
        "json",
        &format!("{pre}.add2"),
        &["--args", "[1, 1]"],
        "result",
    );
    assert_eq!(r["args"], json!([2]));
    let callee_pid = callee.id();
    drop(cb);
    // the router is gone: nothing listens any more, and its callee lost its session
    assert!(TcpStream::connect(ws).is_err(), "ws port still open");
    assert!(TcpStream::connect(rs).is_err(), "rs port still open");
    assert!(std::os::unix::net::UnixStream::connect(&unix).is_err());
    assert!(!node_dir.exists(), "node dir kept after a clean stop");
    let status = callee.wait_exit(STEP);
    assert_eq!(
        status.code(),
        Some(1),
        "callee {callee_pid} should fail when the router goes"
    );
    eprintln!(
        "own_router_starts_and_stops_cleanly: {:?} (router start {start:?})",
        t.elapsed()
    );
}

/// The `_async` forms, as a tokio test whose Rust side must keep running would use them.
#[tokio::test]
async fn async_peer_helpers() {
    let cb = Crossbar::shared();
    let pre = unique_uri("com.example");
    let mut callee = cb.peer("callee.py", &[&cb.ws_url, "cbor", "--prefix", &pre]);
    callee.wait_ready_async().await;
    let proc_ = format!("{pre}.echo");
    let mut caller = cb.peer(
        "caller.py",
        &[
            &cb.rs_url,
            "msgpack",
            &proc_,
            "--args",
            r#"["hi"]"#,
            "--repeat",
            "2",
        ],
    );
    caller.wait_ready_async().await;
    for _ in 0..2 {
        let r = caller.wait_for_json_async(STEP, "result").await;
        assert_eq!(r, json!({"args": ["hi"], "kwargs": {}}));
    }
    assert!(caller.wait_exit_async(STEP).await.success());
    let inv = callee.wait_for_json_async(STEP, "invocation").await;
    assert_eq!(inv["procedure"], json!(proc_));
    let line = callee.next_line_async(STEP).await;
    assert!(
        line.as_deref().is_some_and(|l| l.contains("invocation")),
        "{line:?}"
    );
    // nothing more: the callee printed exactly one line per call
    assert_eq!(
        callee.next_line_async(Duration::from_millis(300)).await,
        None
    );
}
