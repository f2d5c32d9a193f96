//! Runs the JavaScript counterparts of the WAMP example pairs (`examples/wamp/js/`, on
//! autobahn-js 26 from npm) against the Rust ones through a real Crossbar.io: for every pair
//! and serializer (JSON, MessagePack, CBOR), a JavaScript backend with the Rust frontend and a
//! Rust backend with the JavaScript frontend, checked with the same checks as the Rust pairs
//! (`wamp_examples.rs`).
//!
//! Needs the Rust example binaries (`cargo build --examples` first, as for `wamp_examples`)
//! and the pinned npm packages of `tests/interop/node.rs` (installed on first use; a failure
//! to install fails the test). The pairs share URIs, so one pair (with its serializers and
//! directions) runs at a time per test, and the tests whose URIs overlap are one test.

#[path = "wamp_examples_js/binary.rs"]
mod binary;
#[path = "common_crossbar/mod.rs"]
mod crossbar;
#[path = "interop/node.rs"]
mod node;
#[path = "wamp_example_pairs/mod.rs"]
mod pairs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use autobahn::wamp::Value;
use binary::BYTES;
use crossbar::Crossbar;
use pairs::checks;
use pairs::proc::{Proc, FRONTEND_LIMIT, READY_LIMIT};

/// Which implementation runs a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Rust,
    Js,
}

/// `examples/wamp/js`.
fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/wamp/js")
}

/// The JavaScript example `pair` (`<pair>.js`) run with the pinned Node.js.
fn js_command(pair: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(node::node());
    cmd.arg(js_dir().join(format!("{pair}.js")))
        .args(args)
        .env("NODE_PATH", node::node_modules());
    cmd
}

/// One role of `pair`, run by `side` with only `serializer` offered.
fn spawn(side: Side, pair: &str, role: &str, url: &str, serializer: &str) -> Proc {
    let args = [role, url, crossbar::REALM, "--serializer", serializer];
    match side {
        // The library's debug log names the negotiated serializer.
        Side::Rust => Proc::spawn_env(
            &format!("wamp_{pair}"),
            &args,
            &[("RUST_LOG", "autobahn=debug"), ("NO_COLOR", "1")],
        ),
        Side::Js => Proc::spawn_command(format!("{pair}.js {role}"), &mut js_command(pair, &args)),
    }
}

/// Runs `pair` with the backend of `backend_side` and the frontend of the other, both
/// offering only `serializer`: backend up, frontend to its exit (status 0), then `check`
/// with the frontend's lines and the running backend.
fn run_pair(
    pair: &str,
    backend_side: Side,
    serializer: &str,
    check: fn(&[String], &mut Proc),
) -> f64 {
    let cb = Crossbar::shared();
    let started = Instant::now();
    let frontend_side = match backend_side {
        Side::Rust => Side::Js,
        Side::Js => Side::Rust,
    };
    let mut backend = spawn(backend_side, pair, "backend", &cb.ws_url, serializer);
    backend.wait_for_line("backend ready", READY_LIMIT);
    let mut frontend = spawn(frontend_side, pair, "frontend", &cb.ws_url, serializer);
    let (status, lines) = frontend.finish(FRONTEND_LIMIT);
    let context = || format!("{}\n=== backend: {}", frontend.context(), backend.context());
    assert!(
        status.success(),
        "frontend failed ({status}): {}",
        context()
    );
    // Both sides say on stderr what they negotiated: the Rust ones in their debug log, the
    // JavaScript ones when they join.
    for side in [&frontend, &backend] {
        let log = side.stderr();
        let negotiated = [
            format!("subprotocol=wamp.2.{serializer}"),
            format!("serializer=\"{serializer}\""),
        ];
        assert!(
            negotiated.iter().any(|n| log.contains(n.as_str())),
            "{} did not connect with {serializer}: {}",
            side.label,
            context()
        );
    }
    let context = context();
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&lines, &mut backend)));
    if let Err(panic) = result {
        eprintln!("=== frontend: {context}");
        std::panic::resume_unwind(panic);
    }
    started.elapsed().as_secs_f64()
}

/// Every serializer, both directions, one after the other.
fn run_matrix(pair: &str, check: fn(&[String], &mut Proc)) {
    for serializer in crossbar::SERIALIZERS {
        for backend_side in [Side::Js, Side::Rust] {
            let secs = run_pair(pair, backend_side, serializer, check);
            let direction = match backend_side {
                Side::Js => "JS backend + Rust frontend",
                Side::Rust => "Rust backend + JS frontend",
            };
            eprintln!("{pair}, {serializer}, {direction}: ok in {secs:.1} s");
        }
    }
}

#[test]
fn rpc_arguments() {
    run_matrix("rpc_arguments", checks::rpc_arguments);
}

#[test]
fn rpc_complex() {
    run_matrix("rpc_complex", checks::rpc_complex);
}

#[test]
fn rpc_errors() {
    run_matrix("rpc_errors", checks::rpc_errors);
}

#[test]
fn rpc_options() {
    run_matrix("rpc_options", checks::rpc_options);
}

#[test]
fn rpc_progress() {
    run_matrix("rpc_progress", checks::rpc_progress);
}

#[test]
fn rpc_slowsquare() {
    run_matrix("rpc_slowsquare", checks::rpc_slowsquare);
}

#[test]
fn rpc_timeservice() {
    run_matrix("rpc_timeservice", checks::rpc_timeservice);
}

#[test]
fn pubsub_complex() {
    run_matrix("pubsub_complex", checks::pubsub_complex);
}

/// The three pairs on `com.myapp.topic1`, one after the other.
#[test]
fn pubsub_basic_options_unsubscribe() {
    run_matrix("pubsub_basic", checks::pubsub_basic);
    run_matrix("pubsub_options", checks::pubsub_options);
    run_matrix("pubsub_unsubscribe", checks::pubsub_unsubscribe);
}

/// Every script loads (autobahn-js and all) and refuses a bad command line with its usage.
#[test]
fn js_usage_without_a_role() {
    let mut scripts: Vec<String> = std::fs::read_dir(js_dir())
        .expect("examples/wamp/js")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| Some(n.strip_suffix(".js")?.to_owned()))
        .filter(|n| n != "common")
        .collect();
    scripts.sort();
    assert_eq!(scripts.len(), 11, "{scripts:?}");
    let bad_lines = scripts.iter().map(|pair| (pair.as_str(), &[][..])).chain([
        (
            "rpc_timeservice",
            &["frontend", "--serializer", "ubjson"][..],
        ),
        ("rpc_timeservice", &["frontend", "rs://127.0.0.1:1"]),
    ]);
    for (pair, bad) in bad_lines {
        let out = js_command(pair, bad).output().expect("running node");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{pair} {bad:?}: {err}");
        assert!(err.contains("usage: "), "{pair} {bad:?}: {err}");
        assert!(out.stdout.is_empty(), "{pair} {bad:?}");
    }
}

#[test]
fn js_frontend_fails_without_a_router() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("ws://127.0.0.1:{port}/ws");
    let out = js_command("rpc_timeservice", &["frontend", &url])
        .output()
        .expect("running node");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("could not connect"), "{err}");
    assert!(out.stdout.is_empty());
}

/// With the serializers of the JavaScript examples, bytes cross exactly with every
/// serializer, both ways: `Value::Bytes` here, a `Uint8Array` there.
#[tokio::test(flavor = "current_thread")]
async fn binary_with_the_examples_serializers() {
    for serializer in crossbar::SERIALIZERS {
        let (echoed, described, made) = binary::exchange(serializer, "examples").await;
        assert_eq!(described, "bytes 00017f80ff", "{serializer}");
        assert_eq!(echoed, Value::bytes(BYTES), "{serializer}");
        assert_eq!(made, Value::bytes(BYTES), "{serializer}");
    }
}

/// autobahn-js 26's own JSON serializer does not follow the WAMP convention for binary:
/// bytes from us reach JavaScript as the `"\0"` + base64 string (which it returns unchanged,
/// so they come back as bytes), and a `Uint8Array` made in JavaScript arrives as the dict
/// `JSON.stringify` makes of it. Its MessagePack and CBOR serializers carry bytes natively.
#[tokio::test(flavor = "current_thread")]
async fn binary_with_autobahn_js_own_serializers() {
    let (echoed, described, made) = binary::exchange("json", "stock").await;
    assert_eq!(described, r#"string "\u0000AAF/gP8=""#);
    assert_eq!(echoed, Value::bytes(BYTES));
    assert_eq!(made, binary::index_dict());
    for serializer in ["msgpack", "cbor"] {
        let (echoed, described, made) = binary::exchange(serializer, "stock").await;
        assert_eq!(described, "bytes 00017f80ff", "{serializer}");
        assert_eq!(echoed, Value::bytes(BYTES), "{serializer}");
        assert_eq!(made, Value::bytes(BYTES), "{serializer}");
    }
}
