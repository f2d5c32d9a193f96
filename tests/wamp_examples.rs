//! Runs every WAMP example pair against a real Crossbar.io router and checks what each one
//! prints (the counterpart of Autobahn|Python's `examples/run-all-examples.py`).
//!
//! The example binaries are not built by `cargo test --test wamp_examples`; build them first:
//!
//! ```text
//! cargo build --examples && cargo test --test wamp_examples
//! ```
//!
//! (A plain `cargo test` builds the examples too.) A missing or stale binary fails the test with
//! that hint. The pairs share one router and the same URIs (`com.myapp.topic1` ...), as in the
//! seed, so they run one at a time. Per pair: start the backend, wait for `backend ready`, run
//! the frontend to its exit (status 0 within a limit), check its lines (and the backend's where
//! the backend's output is part of the example), kill the backend.

#[path = "common_crossbar/mod.rs"]
mod crossbar;

#[path = "wamp_example_pairs/mod.rs"]
mod pairs;

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crossbar::Crossbar;
use pairs::checks;
use pairs::proc::{example_binary, Proc, FRONTEND_LIMIT, READY_LIMIT};

/// The pairs share URIs, so only one runs at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs one pair: backend up, frontend to completion (must exit 0), then `check` with the
/// frontend's lines and the backend (still running).
fn run_pair(example: &str, check: impl FnOnce(&[String], &mut Proc)) {
    let cb = Crossbar::shared();
    run_pair_over(example, &cb.ws_url, None, check);
}

/// The transports the examples are run over, by the URL that picks each.
fn transports(cb: &Crossbar) -> [(&'static str, String); 2] {
    [
        ("websocket", cb.ws_url.clone()),
        ("rawsocket", cb.rs_url.clone()),
    ]
}

/// Runs one pair over `url`, both sides with `--serializer serializer` when given (and
/// then checks from their debug log that it is the serializer in use); see [`run_pair`].
fn run_pair_over(
    example: &str,
    url: &str,
    serializer: Option<&str>,
    check: impl FnOnce(&[String], &mut Proc),
) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let mut args = vec![url, crossbar::REALM];
    if let Some(s) = serializer {
        args.extend(["--serializer", s]);
    }
    let env: &[(&str, &str)] = match serializer {
        Some(_) => &[("RUST_LOG", "autobahn=debug"), ("NO_COLOR", "1")],
        None => &[],
    };
    let role = |r: &'static str| [&[r][..], &args].concat();
    let mut backend = Proc::spawn_env(example, &role("backend"), env);
    backend.wait_for_line("backend ready", READY_LIMIT);
    let mut frontend = Proc::spawn_env(example, &role("frontend"), env);
    let (status, lines) = frontend.finish(FRONTEND_LIMIT);
    if let Some(s) = serializer {
        for side in [&frontend, &backend] {
            let log = side.stderr();
            let negotiated = [
                format!("subprotocol=wamp.2.{s}"),
                format!("serializer=\"{s}\""),
            ];
            assert!(
                negotiated.iter().any(|n| log.contains(n.as_str())),
                "{} did not connect with {s}: {}",
                side.label,
                side.context()
            );
        }
    }
    assert!(
        status.success(),
        "frontend failed ({status}): {}\n=== backend: {}",
        frontend.context(),
        backend.context()
    );
    let context = format!("{}\n=== backend: {}", frontend.context(), backend.context());
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&lines, &mut backend)));
    if let Err(panic) = result {
        eprintln!("=== frontend: {context}");
        std::panic::resume_unwind(panic);
    }
    // Shown with --nocapture: what a user running the pair would see.
    eprintln!(
        "{example} over {url} ({}): ok in {:.1} s; the frontend printed:\n    {}",
        serializer.unwrap_or("default serializers"),
        started.elapsed().as_secs_f64(),
        lines.join("\n    ")
    );
}

#[test]
fn usage_without_a_role() {
    let out = Command::new(example_binary("wamp_rpc_timeservice"))
        .output()
        .expect("running the example");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("usage: "), "{err}");
    assert!(err.contains("--serializer"), "{err}");
    assert!(out.stdout.is_empty());
    for bad in [
        &["frontend", "--serializer", "ubjson"][..],
        &["frontend", "--keepalive", "soon"],
        &["frontend", "--transport=rawsocket"],
    ] {
        let out = Command::new(example_binary("wamp_rpc_timeservice"))
            .args(bad)
            .output()
            .expect("running the example");
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage: "), "{bad:?}: {err}");
    }
}

#[test]
fn frontend_fails_without_a_router() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("ws://127.0.0.1:{port}/ws");
    let mut p = Proc::spawn("wamp_rpc_timeservice", &["frontend", &url]);
    let (status, lines) = p.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{}", p.context());
    assert!(lines.is_empty(), "{lines:?}");
}

#[test]
fn pubsub_basic() {
    run_pair("wamp_pubsub_basic", checks::pubsub_basic);
}

#[test]
fn rpc_timeservice() {
    run_pair("wamp_rpc_timeservice", checks::rpc_timeservice);
}

#[test]
fn pubsub_complex() {
    run_pair("wamp_pubsub_complex", checks::pubsub_complex);
}

#[test]
fn pubsub_options() {
    run_pair("wamp_pubsub_options", checks::pubsub_options);
}

#[test]
fn pubsub_unsubscribe() {
    run_pair("wamp_pubsub_unsubscribe", checks::pubsub_unsubscribe);
}

#[test]
fn rpc_slowsquare() {
    run_pair("wamp_rpc_slowsquare", checks::rpc_slowsquare);
}

#[test]
fn rpc_arguments() {
    run_pair("wamp_rpc_arguments", checks::rpc_arguments);
}

/// The arguments pair (values checked exactly) and the basic PubSub pair over both
/// transports with each serializer, chosen on the command line.
#[test]
fn pairs_over_every_transport_and_serializer() {
    let cb = Crossbar::shared();
    for (transport, url) in transports(cb) {
        for serializer in crossbar::SERIALIZERS {
            eprintln!("--- {transport}, {serializer}");
            run_pair_over(
                "wamp_rpc_arguments",
                &url,
                Some(serializer),
                checks::rpc_arguments,
            );
            run_pair_over(
                "wamp_pubsub_basic",
                &url,
                Some(serializer),
                checks::pubsub_basic,
            );
        }
    }
}

#[test]
fn rpc_complex() {
    run_pair("wamp_rpc_complex", checks::rpc_complex);
}

#[test]
fn rpc_errors() {
    run_pair("wamp_rpc_errors", checks::rpc_errors);
}

#[test]
fn rpc_progress() {
    run_pair("wamp_rpc_progress", checks::rpc_progress);
}

#[test]
fn rpc_options() {
    run_pair("wamp_rpc_options", checks::rpc_options);
}

/// Each authentication example joins the router's `/auth` WebSocket path and its RawSocket
/// transport with the test users, and reports the router's refusal of a wrong secret.
#[test]
fn auth_examples() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cb = Crossbar::shared();
    let cases = [
        ("wamp_auth_ticket", "ticketuser", "ticket", vec![]),
        ("wamp_auth_wampcra", "crauser", "wampcra", vec![]),
        (
            "wamp_auth_wampcra",
            "crasalted",
            "wampcra",
            vec![
                ("WAMP_AUTHID", "crasalted"),
                ("WAMP_SECRET", "crasaltedsecret"),
            ],
        ),
        ("wamp_auth_cryptosign", "cryptouser", "cryptosign", vec![]),
        ("wamp_auth_scram", "scramuser", "scram", vec![]),
    ];
    for url in [cb.auth_ws_url.as_str(), cb.rs_url.as_str()] {
        for (example, authid, method, env) in &cases {
            let mut p = Proc::spawn_env(example, &[url, crossbar::REALM], env);
            let (status, lines) = p.finish(FRONTEND_LIMIT);
            assert!(status.success(), "{example} over {url}: {}", p.context());
            let want =
                format!("joined realm1 as {authid} (authmethod {method}, authrole authenticated)");
            assert!(lines.contains(&want), "{example}: {lines:?}");
            eprintln!("{example} over {url}: {}", lines.join(" | "));
        }
        let mut p = Proc::spawn_env(
            "wamp_auth_ticket",
            &[url, crossbar::REALM],
            &[("WAMP_SECRET", "wrong")],
        );
        let (status, _) = p.finish(FRONTEND_LIMIT);
        assert!(!status.success());
        let err = p.stderr();
        assert!(
            err.contains("not joined: wamp.error.not_authorized: ticket in static WAMP-Ticket authentication is invalid"),
            "{err}"
        );
    }
}
