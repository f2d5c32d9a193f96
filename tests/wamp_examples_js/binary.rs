//! Binary values between autobahn-js 26 and us, through Crossbar.io.
//!
//! autobahn-js 26's own `JSONSerializer` is a bare `JSON.stringify`: a `Uint8Array` leaves
//! as an object with its indices as keys (`{"0": 0, "1": 1, ...}`), a `Buffer` as
//! `{"type": "Buffer", "data": [...]}`, and a received `"\0"` + base64 string stays a string.
//! Nothing marks such an object as binary, so it arrives here as what it is on the wire, a
//! dict (turning dicts with index keys into bytes would corrupt real dicts). The JavaScript
//! examples therefore give autobahn-js's serializer a replacer and a reviver for the WAMP
//! convention: with it, bytes round-trip exactly with every serializer (MessagePack and CBOR
//! carry them natively).

use std::process::Stdio;
use std::time::Duration;

use autobahn::list;
use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use autobahn::wamp::{CallOptions, ComponentConfig, Dict, HelloDetails, Session, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use super::crossbar::{self, unique_uri, Crossbar};
use super::node;

const STEP: Duration = Duration::from_secs(30);
/// What the JavaScript side sends and is sent.
pub const BYTES: [u8; 5] = [0, 1, 127, 128, 255];

async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: not done within {STEP:?}"))
}

/// A session joined over WebSocket with `serializer` only.
async fn joined(cb: &Crossbar, serializer: &str) -> Session {
    let config = WebSocketTransportConfig::with_subprotocols([format!("wamp.2.{serializer}")]);
    let t = within("connect", WebSocketTransport::connect(&cb.ws_url, &config))
        .await
        .expect("WebSocket connect");
    let (session, mut life) = Session::start(t, ComponentConfig::new(crossbar::REALM));
    within("join", session.join(HelloDetails::new(crossbar::REALM)))
        .await
        .expect("HELLO queued");
    match within("WELCOME", life.next()).await {
        Some(autobahn::wamp::session::SessionEvent::Joined(_)) => {}
        other => panic!("expected Joined, got {other:?}"),
    }
    // Keep the lifecycle alive with the session.
    tokio::spawn(async move { while life.next().await.is_some() {} });
    session
}

/// The JavaScript callee of `binary_peer.js`, ready.
async fn js_peer(
    cb: &Crossbar,
    serializer: &str,
    mode: &str,
    prefix: &str,
) -> tokio::process::Child {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/wamp_examples_js/binary_peer.js");
    let mut child = tokio::process::Command::new(node::node())
        .arg(script)
        .args([&cb.ws_url, crossbar::REALM, serializer, mode, prefix])
        .env("NODE_PATH", node::node_modules())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting node");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = within("ready", lines.next_line()).await;
    if !matches!(line.as_ref().map(Option::as_deref), Ok(Some("ready"))) {
        panic!(
            "binary_peer.js: {line:?}: {}",
            node::stderr_of(&mut child).await
        );
    }
    child
}

/// `(echoed, what JavaScript received)` for `BYTES` sent to `PREFIX.echo`, and what
/// `PREFIX.bytes` (a `Uint8Array` made in JavaScript) arrives as.
pub async fn exchange(serializer: &str, mode: &str) -> (Value, String, Value) {
    let cb = Crossbar::shared();
    let prefix = unique_uri("com.binary");
    let _peer = js_peer(cb, serializer, mode, &prefix).await;
    let session = joined(cb, serializer).await;
    let call = |procedure: String, args: Vec<Value>| {
        let session = session.clone();
        async move {
            within(
                &procedure,
                session.call(&procedure, args, Dict::new(), CallOptions::default()),
            )
            .await
            .unwrap_or_else(|e| panic!("{procedure}: {e}"))
        }
    };
    let echo = call(format!("{prefix}.echo"), list![Value::bytes(BYTES)]).await;
    let made = call(format!("{prefix}.bytes"), list![]).await;
    let _ = session.leave(None, None).await;
    let described = echo
        .args
        .get(1)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    (
        echo.args.first().cloned().unwrap_or_default(),
        described,
        made.value(),
    )
}

/// How `BYTES` look as autobahn-js 26's stock JSON sends a `Uint8Array`.
pub fn index_dict() -> Value {
    let d: Dict = BYTES
        .iter()
        .enumerate()
        .map(|(i, b)| (i.to_string(), Value::from(*b)))
        .collect();
    Value::Dict(d)
}
