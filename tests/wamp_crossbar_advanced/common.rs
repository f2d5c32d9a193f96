//! Shared helpers: joined sessions, a drop signal for endpoint futures, the test
//! payload codec (the Rust twin of `_peer.XCustomCodec`).

use std::sync::Arc;

use autobahn::wamp::transport::Transport;
use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use autobahn::wamp::{
    ApplicationError, CallOptions, CallResult, Dict, EncodedPayload, Error, HelloDetails,
    PayloadCodec, PptKeys, Session, Value,
};
use tokio::sync::mpsc;

use super::crossbar::{Crossbar, REALM};
use super::support::{next_event, within, Cell, Joined, Kind};

pub use autobahn::wamp::session::SessionEvent;

/// WebSocket with JSON.
pub const JSON: Cell = Cell {
    kind: Kind::WebSocket,
    serializer: "json",
};
/// WebSocket with CBOR.
pub const CBOR: Cell = Cell {
    kind: Kind::WebSocket,
    serializer: "cbor",
};

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// The shared router.
pub fn router() -> &'static Crossbar {
    init_tracing();
    Crossbar::shared()
}

/// A session joined to the shared router over `cell`.
pub async fn join(cell: Cell) -> Joined {
    cell.joined(router()).await
}

/// Calls with options, bounded in time.
pub async fn call_opts(
    s: &Session,
    procedure: &str,
    args: Vec<Value>,
    options: CallOptions,
) -> Result<CallResult, Error> {
    within(procedure, s.call(procedure, args, Dict::new(), options)).await
}

/// Calls with default options, bounded in time.
pub async fn call(s: &Session, procedure: &str, args: Vec<Value>) -> Result<CallResult, Error> {
    call_opts(s, procedure, args, CallOptions::default()).await
}

/// The URI of an application error, panicking on anything else.
pub fn error_uri<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Application(e)) => e.error,
        other => panic!("expected an application error, got {other:?}"),
    }
}

/// Sends its label when dropped: tells a test that an endpoint's future was dropped
/// (cancelled) rather than completed.
pub struct DropSignal(pub &'static str, pub mpsc::UnboundedSender<&'static str>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.1.send(self.0);
    }
}

/// Closes `session`'s transport, connects a new WebSocket (JSON) and joins again on the
/// same session; returns once joined.
pub async fn reconnect(session: &Session) {
    within("disconnect", session.disconnect()).await;
    let config = WebSocketTransportConfig::with_subprotocols(["wamp.2.json".to_owned()]);
    let t = within(
        "connect",
        WebSocketTransport::connect(&router().ws_url, &config),
    )
    .await
    .expect("connect");
    assert_eq!(t.serializer_id(), "json");
    let mut life = session.attach(t).expect("attach");
    within("join", session.join(HelloDetails::new(REALM)))
        .await
        .expect("join");
    match next_event(&mut life, "rejoin").await {
        SessionEvent::Joined(_) => {}
        other => panic!("expected Joined, got {other:?}"),
    }
    // Keep the lifecycle drained for the rest of the test.
    tokio::spawn(async move { while life.next().await.is_some() {} });
}

/// The `x_custom` payload codec of `_peer.XCustomCodec`: the payload is the JSON text
/// of `{"uri", "args", "kwargs"}` (no binary values in these tests).
pub struct XCustom(pub PptKeys);

pub const X_CUSTOM: &str = "x_custom";

impl XCustom {
    pub fn arc(keys: PptKeys) -> Arc<dyn PayloadCodec> {
        Arc::new(XCustom(keys))
    }
}

fn codec_error(text: String) -> ApplicationError {
    ApplicationError::with_message(ApplicationError::INVALID_PAYLOAD, text)
}

impl PayloadCodec for XCustom {
    fn encode(
        &self,
        _is_originating: bool,
        uri: &str,
        args: &[Value],
        kwargs: &Dict,
    ) -> Result<Option<EncodedPayload>, ApplicationError> {
        let doc = autobahn::dict! {
            "uri" => uri,
            "args" => Value::List(args.to_vec()),
            "kwargs" => Value::Dict(kwargs.clone()),
        };
        let text = serde_json::to_vec(&Value::Dict(doc)).map_err(|e| codec_error(e.to_string()))?;
        Ok(Some(
            EncodedPayload::new(text, X_CUSTOM)
                .serializer("json")
                .keys(self.0),
        ))
    }

    fn decode(
        &self,
        _is_originating: bool,
        _uri: &str,
        payload: EncodedPayload,
    ) -> Result<(Vec<Value>, Dict), ApplicationError> {
        if payload.enc_algo != X_CUSTOM {
            return Err(codec_error(format!("unknown scheme {}", payload.enc_algo)));
        }
        let doc: Value =
            serde_json::from_slice(&payload.payload).map_err(|e| codec_error(e.to_string()))?;
        let args = doc.get("args").and_then(Value::as_list).cloned();
        let kwargs = doc.get("kwargs").and_then(Value::as_dict).cloned();
        Ok((args.unwrap_or_default(), kwargs.unwrap_or_default()))
    }
}
