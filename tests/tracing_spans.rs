//! What the library logs about a connection happens in that connection's span: a
//! WebSocket echo (client and server spans with peer, path, subprotocol, extensions)
//! and a WAMP session against the scripted router (realm, session id, transport);
//! open and close at debug, every message at trace.

mod common;
#[cfg(feature = "wamp")]
#[path = "fake_router/mod.rs"]
mod fake_router;
#[path = "tracing_capture/mod.rs"]
mod tracing_capture;

use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;
use tracing::Level;
use tracing_capture::{Capture, EventSeen};

/// The events with `message` inside a span called `span` whose `field` is `value`.
fn events_in<'a>(
    events: &'a [EventSeen],
    message: &str,
    span: &str,
    field: &str,
    value: &str,
) -> Vec<&'a EventSeen> {
    events
        .iter()
        .filter(|e| e.message == message)
        .filter(|e| {
            e.span(span)
                .is_some_and(|s| s.fields.get(field).map(String::as_str) == Some(value))
        })
        .collect()
}

#[tokio::test]
async fn websocket_connection_span_carries_peer_path_subprotocol_and_extensions() {
    let capture = Capture::default();
    let _guard = capture.install();
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1").protocols(["chat.v1"]))
                .await;
        let factory = WebSocketClientFactory::new(&server.url("/chat?user=x"))
            .unwrap()
            .protocols(["chat.v1"]);
        let (tx, mut cev) = events();
        let conn = factory
            .connect(|ch| Recorder::new(ch, tx))
            .await
            .expect("connect");
        let client = conn.spawn();
        let ch = cev.open().await;
        ch.send_message(Bytes::from_static(b"hello"), false)
            .await
            .unwrap();
        assert_eq!(cev.message().await.0, Bytes::from_static(b"hello"));
        // The server starts the closing handshake; both sides end.
        ch.send_message(Bytes::from_static(b"close:1000"), false)
            .await
            .unwrap();
        let (was_clean, ..) = cev.close().await;
        assert!(was_clean);
        let _ = sev.close().await;
        let (_, info) = client.await.unwrap();
        assert!(info.was_clean);
    })
    .await;

    let events = capture.events();
    let port = server_port(&events);
    for role in ["client", "server"] {
        let open = events_in(
            &events,
            "WebSocket connection open",
            "ws_connection",
            "role",
            role,
        );
        assert_eq!(open.len(), 1, "{role}: {events:#?}");
        assert_eq!(open[0].level, Level::DEBUG);
        let span = open[0].span("ws_connection").unwrap();
        assert_eq!(span.fields["path"], "/chat", "{role}: {span:?}");
        assert_eq!(span.fields["subprotocol"], "chat.v1", "{role}: {span:?}");
        #[cfg(feature = "deflate")]
        assert_eq!(
            span.fields["extensions"], "permessage-deflate",
            "{role}: {span:?}"
        );
        let closed = events_in(
            &events,
            "WebSocket connection closed",
            "ws_connection",
            "role",
            role,
        );
        assert_eq!(closed.len(), 1, "{role}: {events:#?}");
        assert_eq!(closed[0].level, Level::DEBUG);
        assert_eq!(closed[0].fields["was_clean"], "true");
        let messages = events_in(&events, "message received", "ws_connection", "role", role);
        // The server got "hello" and "close:1000", the client the echo of "hello".
        let expected = if role == "server" { 2 } else { 1 };
        assert_eq!(messages.len(), expected, "{role}: {events:#?}");
        assert!(messages.iter().all(|m| m.level == Level::TRACE));
    }
    let client = events_in(
        &events,
        "WebSocket connection open",
        "ws_connection",
        "role",
        "client",
    );
    assert_eq!(
        client[0].span("ws_connection").unwrap().fields["peer"],
        format!("127.0.0.1:{port}")
    );
    let server = events_in(
        &events,
        "WebSocket connection open",
        "ws_connection",
        "role",
        "server",
    );
    let server_peer = &server[0].span("ws_connection").unwrap().fields["peer"];
    assert!(server_peer.starts_with("tcp:127.0.0.1:"), "{server_peer}");
}

/// The pull API logs each received message once, in its connection's span, however it
/// was received: `recv`, a streamed message collected with `into_message` on a whole
/// connection, and one read piece by piece on a split connection's reading half.
#[tokio::test]
async fn pull_api_logs_received_messages_in_the_connection_span() {
    use autobahn::websocket::options::{ClientOptions, ServerOptions};
    use autobahn::websocket::{Message, PeerAddr, WebSocketBuilder};

    let capture = Capture::default();
    let _guard = capture.install();
    bounded(async {
        let (client_end, server_end) = tokio::io::duplex(64 * 1024);
        let mut client = WebSocketBuilder::client(&ClientOptions::default()).build(client_end);
        let mut server = WebSocketBuilder::server(&ServerOptions::default())
            .peer_addr(PeerAddr::Other("pull-peer".into()))
            .build(server_end);
        // The two large messages reach the server in pieces: streamed, not whole.
        let streamed = vec![1u8; 200_000];
        let half = vec![2u8; 150_000];
        let (s, h) = (streamed.clone(), half.clone());
        let client_task = tokio::spawn(async move {
            client.send("whole").await.expect("send");
            client.send(s).await.expect("send");
            client.send(h).await.expect("send");
            while client.recv().await.is_some() {}
        });
        assert_eq!(server.recv().await, Some(Message::from("whole")));
        server.receive_streaming(true);
        let reader = server.recv_streaming().await.expect("a message");
        assert_eq!(
            reader.into_message().await.unwrap(),
            Message::from(streamed)
        );
        let (mut reader, mut writer) = server.split();
        let mut message = reader.recv_streaming().await.expect("a message");
        let mut len = 0;
        while let Some(piece) = message.chunk().await.unwrap() {
            len += piece.len();
        }
        assert_eq!(len, half.len());
        drop(message);
        writer.close(None, None).await.expect("close");
        client_task.await.unwrap();
    })
    .await;

    let events = capture.events();
    let in_span = events_in(
        &events,
        "message received",
        "ws_connection",
        "peer",
        "pull-peer",
    );
    let lengths: Vec<_> = in_span.iter().map(|e| e.fields["len"].as_str()).collect();
    assert_eq!(lengths, ["5", "200000", "150000"], "{events:#?}");
    let anywhere = events.iter().filter(|e| e.message == "message received");
    assert_eq!(anywhere.count(), 3, "{events:#?}");
}

/// The server's port, from the client span's path-less peer.
fn server_port(events: &[EventSeen]) -> u16 {
    let open = events_in(
        events,
        "WebSocket connection open",
        "ws_connection",
        "role",
        "client",
    );
    let peer = &open
        .first()
        .expect("client open event")
        .span("ws_connection")
        .unwrap()
        .fields["peer"];
    peer.rsplit(':').next().unwrap().parse().unwrap()
}

#[cfg(feature = "wamp")]
#[tokio::test]
async fn wamp_session_span_carries_realm_session_id_and_transport() {
    use autobahn::wamp::types::SessionDetails;
    use autobahn::wamp::{ApplicationRunner, ApplicationSession, Session};
    use fake_router::{Answers, Router};
    use std::future::Future;

    /// Leaves as soon as it joined.
    struct LeaveAtOnce;
    impl ApplicationSession for LeaveAtOnce {
        fn on_join(
            &mut self,
            session: &Session,
            _details: SessionDetails,
        ) -> impl Future<Output = ()> + Send {
            let session = session.clone();
            async move {
                session.leave(None, None).await.expect("leave");
            }
        }
    }

    let capture = Capture::default();
    let _guard = capture.install();
    let router_addr = bounded(async {
        let router = Router::start("127.0.0.1:0", Answers::Basics { abort: None }).await;
        let runner = ApplicationRunner::new(router.url(), "realm1").serializers(["json"]);
        runner
            .run(|_| LeaveAtOnce)
            .await
            .expect("run ends after leave");
        router.addr
    })
    .await;

    let events = capture.events();
    let joined = events_in(
        &events,
        "WAMP session joined",
        "wamp_session",
        "realm",
        "realm1",
    );
    assert_eq!(joined.len(), 1, "{events:#?}");
    assert_eq!(joined[0].level, Level::DEBUG);
    let span = joined[0].span("wamp_session").unwrap();
    assert_eq!(span.fields["session_id"], "1001", "{span:?}");
    assert!(
        span.fields["transport"].contains(&router_addr.port().to_string()),
        "{span:?}"
    );
    // Every message, both ways, at trace in the session's span, the session id known
    // from WELCOME on.
    let in_session = |message: &str, wamp: &str| {
        events_in(&events, message, "wamp_session", "session_id", "1001")
            .into_iter()
            .filter(|e| e.level == Level::TRACE && e.fields["msg_type"] == wamp)
            .count()
    };
    assert_eq!(
        in_session("sending WAMP message", "GOODBYE"),
        1,
        "{events:#?}"
    );
    assert_eq!(
        in_session("received WAMP message", "GOODBYE"),
        1,
        "{events:#?}"
    );
    let hello = events_in(
        &events,
        "sending WAMP message",
        "wamp_session",
        "realm",
        "realm1",
    );
    assert!(
        hello.iter().any(|e| e.fields["msg_type"] == "HELLO"),
        "{events:#?}"
    );
    let left = events_in(
        &events,
        "WAMP session left",
        "wamp_session",
        "session_id",
        "1001",
    );
    assert_eq!(left.len(), 1, "{events:#?}");
    let closed = events_in(
        &events,
        "WAMP session transport closed",
        "wamp_session",
        "realm",
        "realm1",
    );
    assert_eq!(closed.len(), 1, "{events:#?}");
    // The WebSocket under it logs in its own connection span.
    assert!(
        !events_in(
            &events,
            "message received",
            "ws_connection",
            "role",
            "client"
        )
        .is_empty(),
        "{events:#?}"
    );
}
