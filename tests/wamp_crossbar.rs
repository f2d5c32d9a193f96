//! Our WAMP client against a real Crossbar.io router and real Autobahn|Python peers
//! (`tests/crossbar/`), for every transport × serializer: WebSocket × {json, msgpack,
//! cbor, ubjson}, RawSocket over TCP × {json, msgpack, cbor, ubjson}, RawSocket over a Unix
//! socket × cbor.
//!
//! Each cell is one test ([`matrix!`]) that runs all checks in order on one Rust session,
//! with the Python peers on the same transport and serializer (so binary values cross
//! both sides' encodings, e.g. JSON's `"\0"` + base64 convention):
//!
//! - Rust caller → Python callee: `add2` (also typed), `echo` with bytes in args and
//!   nested in kwargs, progressive results in order before the result, an application
//!   error with args/kwargs, `wamp.error.no_such_procedure`; cancel (mode `kill`) and a
//!   `CallOptions::timeout` interrupt the Python callee;
//! - Rust publisher (acknowledged) → Python subscriber, which calls a Rust endpoint back
//!   (Python caller → Rust callee): result with bytes, `ApplicationError`, a panic
//!   (`wamp.error.runtime_error`, a `UserError` event, and the session keeps working);
//!   `caller.py --progress` gets a Rust endpoint's progressive results in order;
//! - Python publisher → Rust subscriber with `EventDetails`; unsubscribing stops delivery
//!   and the router forgets the subscription (`wamp.subscription.lookup`);
//! - RawSocket only: a message over the router's limit fails with a clear error, a result
//!   over the limit we announce (64 KiB) comes back as `invalid_argument` from the router,
//!   and the session keeps working;
//! - unregister; leave (GOODBYE); joining an unknown realm (ABORT, no hang);
//!   `ApplicationRunner::run_once` with a small `ApplicationSession`.
//!
//! The batched binary subprotocols (`wamp.2.<serializer>.batched`) each get a shorter test:
//! join, a meta call, and an event to ourselves carrying every value type.
//!
//! `ubjson_python` checks UBJSON value fidelity in both dialects against the Python codecs
//! directly (`bjdata`, py-ubjson), without a router.
//!
//! All cells share one router ([`Crossbar::shared`]) and use unique URIs. Every wait is
//! bounded. Run with `--nocapture` to see the list of checks each cell passed.
//! Crossbar reads `CALL.Options.timeout` in seconds, so no call here sets a timeout.

#[path = "common_crossbar/mod.rs"]
mod crossbar;

#[path = "wamp_crossbar/batched.rs"]
mod batched;
#[path = "wamp_crossbar/checks.rs"]
mod checks;
#[path = "wamp_crossbar/edge.rs"]
mod edge;
#[path = "wamp_crossbar/lifecycle.rs"]
mod lifecycle;
#[path = "wamp_crossbar/support.rs"]
mod support;
#[path = "wamp_crossbar/ubjson_python.rs"]
mod ubjson_python;

use std::time::{Duration, Instant};

use autobahn::wamp::{ApplicationError, ApplicationRunner, ApplicationSession, Error};
use checks::Checklist;
use crossbar::{unique_uri, Crossbar};
use support::{within, Cell, Joined, Kind};

/// Bound on one whole cell.
const CELL_LIMIT: Duration = Duration::from_secs(240);

/// The message of the Rust endpoint's deliberate panic (kept off the test output).
pub const DELIBERATE_PANIC: &str = "deliberate panic in a Rust endpoint";

fn init_tracing() {
    static QUIET_PANIC: std::sync::Once = std::sync::Once::new();
    QUIET_PANIC.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&DELIBERATE_PANIC) {
                default(info);
            }
        }));
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

async fn run_cell(cell: Cell) {
    init_tracing();
    let cb = Crossbar::shared();
    let t0 = Instant::now();
    match tokio::time::timeout(CELL_LIMIT, cell_checks(cell, cb)).await {
        Ok(done) => {
            done.print();
            eprintln!("wamp_crossbar {}: {:?}", cell.name(), t0.elapsed());
        }
        Err(_) => panic!("{}: not done within {CELL_LIMIT:?}", cell.name()),
    }
}

async fn cell_checks(cell: Cell, cb: &'static Crossbar) -> Checklist {
    let mut done = Checklist::new(&cell);
    let pre = unique_uri("com.example");
    let dispatch = format!("{}.dispatch", unique_uri("com.example.rust"));
    let to_python = unique_uri("com.example.topic.to_python");
    let from_python = unique_uri("com.example.topic.from_python");
    let (add2, echo) = (format!("{pre}.add2"), format!("{pre}.echo"));

    // The Python peers take a while to start: start them all first.
    let mut callee = cell.peer(cb, "callee.py", &["--prefix", &pre]);
    let mut subscriber = cell.peer(
        cb,
        "subscriber.py",
        &["--topic", &to_python, "--call-back", &dispatch],
    );
    let (pub_args, pub_kwargs) = checks::publisher_cli();
    let mut publisher = cell.peer(
        cb,
        "publisher.py",
        &[
            "--topic",
            &from_python,
            "--acknowledge",
            "--args",
            &pub_args,
            "--kwargs",
            &pub_kwargs,
        ],
    );

    let Joined {
        session: s,
        mut life,
        details,
        peer_max_len,
    } = cell.joined(cb).await;
    done.pass("join→SessionDetails");
    let me = details.session;
    let (reg, mut invocations) = checks::register_dispatch(&s, &dispatch).await;
    // caller.py calls as soon as it joined, so it starts once the endpoint exists.
    let countdown = format!("{}.countdown", unique_uri("com.example.rust"));
    let countdown_reg = checks::register_countdown(&s, &countdown).await;
    let mut caller = cell.peer(
        cb,
        "caller.py",
        &[&countdown, "--args", "[3]", "--progress"],
    );

    callee.wait_ready_async().await;
    subscriber.wait_ready_async().await;
    publisher.wait_ready_async().await;
    caller.wait_ready_async().await;

    checks::rust_calls_python(&s, me, &pre, &mut callee, &mut done).await;
    edge::cancel_and_timeout(&s, &format!("{pre}.slow"), &mut callee, &mut done).await;
    checks::python_calls_rust(
        &s,
        &mut life,
        me,
        &to_python,
        &dispatch,
        reg.id,
        &mut invocations,
        &mut subscriber,
        &mut done,
    )
    .await;
    checks::python_progress_from_rust(&mut caller, &mut done).await;
    checks::python_publishes_to_rust(&s, me, &from_python, &mut publisher, &add2, &mut done).await;
    if cell.is_rawsocket() {
        let max = peer_max_len.expect("RawSocket limit");
        edge::oversized(
            &s,
            cell.serializer,
            max,
            &echo,
            &add2,
            &to_python,
            &mut done,
        )
        .await;
    }
    checks::unregister(&s, &reg, &mut done).await;
    within("unregister", countdown_reg.unregister())
        .await
        .expect("unregister");
    lifecycle::leave(&s, &mut life, &mut done).await;
    lifecycle::unknown_realm(&cell, cb, &mut done).await;
    lifecycle::runner(&cell, cb, &add2, &mut done).await;
    done
}

/// One `#[tokio::test]` per transport × serializer.
macro_rules! matrix {
    ($($name:ident: $kind:ident, $serializer:literal;)+) => {$(
        #[tokio::test]
        async fn $name() {
            run_cell(Cell { kind: Kind::$kind, serializer: $serializer }).await;
        }
    )+};
}

matrix! {
    websocket_json: WebSocket, "json";
    websocket_msgpack: WebSocket, "msgpack";
    websocket_cbor: WebSocket, "cbor";
    rawsocket_tcp_json: RawSocketTcp, "json";
    rawsocket_tcp_msgpack: RawSocketTcp, "msgpack";
    rawsocket_tcp_cbor: RawSocketTcp, "cbor";
    websocket_ubjson: WebSocket, "ubjson";
    rawsocket_tcp_ubjson: RawSocketTcp, "ubjson";
    rawsocket_unix_cbor: RawSocketUnix, "cbor";
}

/// The batched subprotocols, one test per serializer (see [`batched`]).
macro_rules! batched {
    ($($name:ident: $serializer:literal;)+) => {$(
        #[tokio::test]
        async fn $name() {
            init_tracing();
            batched::join_call_and_echo(Crossbar::shared(), $serializer).await;
        }
    )+};
}

// Not JSON: Autobahn|Python (and so Crossbar.io) end each batched JSON message with 0x18
// (`b"\30"`, an octal escape) where the spec has 0x1E, as we do; the two do not meet.
batched! {
    websocket_msgpack_batched: "msgpack";
    websocket_cbor_batched: "cbor";
    websocket_ubjson_batched: "ubjson";
}

/// A component that only records that it ran.
struct Idle;
impl ApplicationSession for Idle {}

/// `ApplicationRunner::run` (with reconnects) stops at once with the router's error when
/// the realm does not exist, instead of retrying.
#[tokio::test]
async fn runner_gives_up_on_an_unknown_realm() {
    init_tracing();
    let cb = Crossbar::shared();
    let t = Instant::now();
    let runner = ApplicationRunner::new(cb.ws_url.clone(), "com.example.no.such.realm")
        .serializers(["json"]);
    match within("run", runner.run(|_| Idle)).await {
        Err(Error::Application(e)) => assert_eq!(e.error, ApplicationError::NO_SUCH_REALM),
        other => panic!("expected no_such_realm, got {:?}", other.map(|_| "Idle")),
    }
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}
