//! WAMP transports end to end over loopback: `WebSocketTransport` against a small
//! WAMP-over-WebSocket router built on our `WebSocketServerFactory`, and
//! `RawSocketTransport` against in-test RawSocket routers over TCP, a Unix socket and
//! TLS (rcgen self-signed certificate).

mod common;

use std::time::Duration;

use autobahn::rawsocket::framing::{encode_frame, Frame, FrameDecoder, FrameKind};
use autobahn::rawsocket::handshake::{
    accept_reply, error_reply, parse_client_hello, HandshakeErrorCode, SerializerId,
};
use autobahn::wamp::message::{Event, Goodbye, Hello, Message, Publish, Welcome};
use autobahn::wamp::rawsocket_transport::{
    RawSocketConnectError, RawSocketOptions, RawSocketTransport,
};
use autobahn::wamp::serializer::{for_rawsocket_id, for_subprotocol, Serializer};
use autobahn::wamp::transport::{Transport, TransportError};
use autobahn::wamp::value::{Dict, Value};
use autobahn::wamp::websocket_transport::{
    WebSocketConnectError, WebSocketTransport, WebSocketTransportConfig,
};
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{
    WebSocketChannel, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::{Bytes, BytesMut};
use common::{bounded, init_tracing, noise, start_server, TestServer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

// ---------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------

fn hello(realm: &str) -> Message {
    Message::Hello(Hello {
        realm: realm.into(),
        details: Dict::new(),
    })
}

fn publish(request: u64, args: Vec<Value>) -> Message {
    Message::Publish(Publish {
        request,
        options: Dict::new(),
        topic: "com.example.topic".into(),
        args: Some(args),
        kwargs: None,
    })
}

fn goodbye(reason: &str) -> Message {
    Message::Goodbye(Goodbye {
        details: Dict::new(),
        reason: reason.into(),
    })
}

/// What the test routers answer: HELLO → WELCOME (session 1234, echoing the realm),
/// PUBLISH → EVENT with the same payload, GOODBYE → GOODBYE.
fn router_reply(msg: &Message) -> Option<Message> {
    Some(match msg {
        Message::Hello(h) => {
            let mut details = Dict::new();
            details.insert("realm".into(), Value::from(h.realm.as_str()));
            Message::Welcome(Welcome {
                session: 1234,
                details,
            })
        }
        Message::Publish(p) => Message::Event(Event {
            subscription: 7,
            publication: p.request,
            details: Dict::new(),
            args: p.args.clone(),
            kwargs: p.kwargs.clone(),
        }),
        Message::Goodbye(_) => goodbye("wamp.close.goodbye_and_out"),
        _ => return None,
    })
}

fn expect_welcome(msg: Option<Result<Message, TransportError>>, realm: &str) {
    match msg {
        Some(Ok(Message::Welcome(w))) => {
            assert_eq!(w.session, 1234);
            assert_eq!(w.details.get("realm"), Some(&Value::from(realm)));
        }
        other => panic!("expected WELCOME, got {other:?}"),
    }
}

fn expect_event(msg: Option<Result<Message, TransportError>>, publication: u64, args: &[Value]) {
    match msg {
        Some(Ok(Message::Event(e))) => {
            assert_eq!(e.publication, publication);
            assert!(e.args.as_deref() == Some(args), "event payload differs");
        }
        other => panic!("expected EVENT, got {other:?}"),
    }
}

#[path = "wamp_transports/websocket.rs"]
mod websocket;

#[path = "wamp_transports/rawsocket.rs"]
mod rawsocket;
