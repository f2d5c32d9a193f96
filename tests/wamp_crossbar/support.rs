//! The matrix cell (transport × serializer), connecting and joining our client in it,
//! time bounds, and converting payloads to the JSON the Python peers print.

use std::future::Future;
use std::time::Duration;

use autobahn::rawsocket::handshake::SerializerId;
use autobahn::wamp::rawsocket_transport::{RawSocketOptions, RawSocketTransport};
use autobahn::wamp::session::{Lifecycle, SessionEvent};
use autobahn::wamp::transport::Transport;
use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use autobahn::wamp::{ComponentConfig, HelloDetails, Session, SessionDetails, Value};
use base64::Engine;
use serde_json::json;

use super::crossbar::{Crossbar, Peer, REALM};

/// Bound on one step: a call, a join, a peer's reply (a loaded 2-core machine).
pub const STEP: Duration = Duration::from_secs(30);

/// The receive limit our RawSocket sessions announce (2^16 = 64 KiB instead of the
/// default 16 MiB), so that the router's handling of it can be tested.
pub const RS_MAX_LEN_EXP: u8 = 16;

/// How the cell reaches the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// WebSocket, path `/ws`.
    WebSocket,
    /// RawSocket over TCP.
    RawSocketTcp,
    /// RawSocket over a Unix domain socket.
    RawSocketUnix,
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Cell {
    /// The transport.
    pub kind: Kind,
    /// `json`, `msgpack`, `cbor` or `ubjson`.
    pub serializer: &'static str,
}

impl Cell {
    /// A short name for messages (`ws/json`).
    pub fn name(&self) -> String {
        let t = match self.kind {
            Kind::WebSocket => "ws",
            Kind::RawSocketTcp => "rs-tcp",
            Kind::RawSocketUnix => "rs-unix",
        };
        format!("{t}/{}", self.serializer)
    }

    /// The router URL, in the form both our client and the Python peers take.
    pub fn url(&self, cb: &Crossbar) -> String {
        match self.kind {
            Kind::WebSocket => cb.ws_url.clone(),
            Kind::RawSocketTcp => cb.rs_url.clone(),
            Kind::RawSocketUnix => cb.unix_url.clone(),
        }
    }

    pub fn is_rawsocket(&self) -> bool {
        self.kind != Kind::WebSocket
    }

    /// Starts a Python peer on the same transport and serializer as the cell.
    pub fn peer(&self, cb: &Crossbar, script: &str, extra: &[&str]) -> Peer {
        let url = self.url(cb);
        let mut args = vec![url.as_str(), self.serializer];
        args.extend_from_slice(extra);
        cb.peer(script, &args)
    }

    /// Opens our transport for this cell (checking it negotiated the cell's serializer)
    /// and starts a session on it for `realm`. Also returns the router's RawSocket
    /// receive limit.
    pub async fn start_session(&self, cb: &Crossbar, realm: &str) -> Started {
        let url = self.url(cb);
        let config = ComponentConfig::new(realm);
        match self.kind {
            Kind::WebSocket => {
                let proto = format!("wamp.2.{}", self.serializer);
                let ws_config = WebSocketTransportConfig::with_subprotocols([proto.clone()]);
                let t = within(
                    "WebSocket connect",
                    WebSocketTransport::connect(&url, &ws_config),
                )
                .await
                .unwrap_or_else(|e| panic!("{}: connecting to {url}: {e}", self.name()));
                assert_eq!(t.subprotocol(), proto, "negotiated subprotocol");
                assert_eq!(t.serializer_id(), self.serializer);
                let (session, life) = Session::start(t, config);
                Started {
                    session,
                    life,
                    peer_max_len: None,
                }
            }
            Kind::RawSocketTcp | Kind::RawSocketUnix => {
                let options = RawSocketOptions {
                    serializer: match self.serializer {
                        "json" => SerializerId::JSON,
                        "msgpack" => SerializerId::MSGPACK,
                        "cbor" => SerializerId::CBOR,
                        "ubjson" => SerializerId::UBJSON,
                        other => panic!("unknown serializer {other}"),
                    },
                    max_len_exp: RS_MAX_LEN_EXP,
                    ..RawSocketOptions::default()
                };
                let t = within(
                    "RawSocket connect",
                    RawSocketTransport::connect(&url, &options),
                )
                .await
                .unwrap_or_else(|e| panic!("{}: connecting to {url}: {e}", self.name()));
                assert_eq!(t.serializer_id(), self.serializer);
                assert_eq!(t.max_len(), 1 << RS_MAX_LEN_EXP, "our announced limit");
                let peer_max_len = Some(t.peer_max_len());
                let (session, life) = Session::start(t, config);
                Started {
                    session,
                    life,
                    peer_max_len,
                }
            }
        }
    }

    /// Connects, joins [`REALM`] anonymously and checks the `SessionDetails`.
    pub async fn joined(&self, cb: &Crossbar) -> Joined {
        let Started {
            session,
            mut life,
            peer_max_len,
        } = self.start_session(cb, REALM).await;
        within("join", session.join(HelloDetails::new(REALM)))
            .await
            .expect("HELLO queued");
        let details = match next_event(&mut life, "WELCOME").await {
            SessionEvent::Joined(d) => d,
            other => panic!("{}: expected Joined, got {other:?}", self.name()),
        };
        assert!(details.session > 0, "session id {}", details.session);
        assert_eq!(details.realm, REALM);
        assert_eq!(details.authrole.as_deref(), Some("anonymous"));
        assert_eq!(details.authmethod.as_deref(), Some("anonymous"));
        assert_eq!(details.serializer, self.serializer);
        assert!(
            details.router_roles.contains_key("dealer")
                && details.router_roles.contains_key("broker"),
            "router roles: {:?}",
            details.router_roles
        );
        assert!(session.is_attached());
        assert_eq!(
            session.details().map(|d| d.session),
            Some(details.session),
            "Session::details"
        );
        Joined {
            session,
            life,
            details,
            peer_max_len,
        }
    }
}

/// A started (not yet joined) session.
pub struct Started {
    pub session: Session,
    pub life: Lifecycle,
    pub peer_max_len: Option<u32>,
}

/// A session joined to [`REALM`].
pub struct Joined {
    pub session: Session,
    pub life: Lifecycle,
    pub details: SessionDetails,
    /// The router's RawSocket receive limit (RawSocket cells only).
    pub peer_max_len: Option<u32>,
}

/// Awaits `fut`, failing the test after [`STEP`].
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(STEP, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: not done within {STEP:?}"),
    }
}

/// The next lifecycle event, failing the test after [`STEP`] or if the session task is gone.
pub async fn next_event(life: &mut Lifecycle, what: &str) -> SessionEvent {
    within(what, life.next())
        .await
        .unwrap_or_else(|| panic!("{what}: lifecycle ended"))
}

/// A value as the Python peers print it: bytes as `{"$bytes": "<base64>"}`.
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Integer(i) => json!(i),
        Value::UInteger(u) => json!(u),
        Value::Float(f) => json!(f),
        Value::String(s) => json!(s),
        Value::Bytes(b) => json!({"$bytes": base64::engine::general_purpose::STANDARD.encode(b)}),
        Value::List(l) => serde_json::Value::Array(l.iter().map(to_json).collect()),
        Value::Dict(d) => {
            serde_json::Value::Object(d.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// `to_json` of a list of values (positional arguments).
pub fn args_json(args: &[Value]) -> serde_json::Value {
    serde_json::Value::Array(args.iter().map(to_json).collect())
}

/// `to_json` of a dict (keyword arguments).
pub fn kwargs_json(kwargs: &autobahn::wamp::Dict) -> serde_json::Value {
    to_json(&Value::Dict(kwargs.clone()))
}
