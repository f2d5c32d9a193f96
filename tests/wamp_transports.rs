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
use autobahn::rawsocket::transport::{RawSocketConnectError, RawSocketOptions, RawSocketTransport};
use autobahn::wamp::message::{Event, Goodbye, Hello, Message, Publish, Welcome};
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

// ---------------------------------------------------------------------------------
// (a) WAMP over WebSocket
// ---------------------------------------------------------------------------------

#[derive(Debug)]
enum RouterEv {
    Open(WebSocketChannel, Option<String>),
    Msg(Message),
    Closed(bool, Option<u16>),
}

/// A WAMP-over-WebSocket router accepting the subprotocols in `supported`; it
/// selects the first subprotocol the client offered that it supports.
struct WsRouter {
    channel: WebSocketChannel,
    supported: &'static [&'static str],
    chosen: Option<String>,
    serializer: Option<Box<dyn Serializer>>,
    events: mpsc::UnboundedSender<RouterEv>,
}

impl WsRouter {
    async fn send(&self, msgs: &[Message]) {
        let s = self.serializer.as_ref().expect("serializer");
        let mut out = Vec::new();
        for m in msgs {
            if s.is_batched() || out.is_empty() {
                s.serialize_into(m, &mut out).expect("serialize");
            }
        }
        let _ = self.channel.send_message(out, s.is_binary()).await;
    }
}

impl WebSocketServerHandler for WsRouter {
    async fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        self.chosen = request
            .protocols
            .iter()
            .find(|p| self.supported.contains(&p.as_str()))
            .cloned();
        self.serializer = self.chosen.as_deref().and_then(for_subprotocol);
        Ok(match &self.chosen {
            Some(p) => ConnectionAccept::with_subprotocol(p.clone()),
            None => ConnectionAccept::new(),
        })
    }
}

impl WebSocketHandler for WsRouter {
    async fn on_open(&mut self) {
        let _ = self
            .events
            .send(RouterEv::Open(self.channel.clone(), self.chosen.clone()));
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let s = self.serializer.as_ref().expect("serializer");
        // Fails on a wrong frame type too: the transport must use the right one.
        let msgs = s.unserialize(&payload, is_binary).expect("router decodes");
        for m in msgs {
            let _ = self.events.send(RouterEv::Msg(m.clone()));
            if let Some(reply) = router_reply(&m) {
                let mut batch = vec![reply];
                if s.is_batched() && matches!(m, Message::Hello(_)) {
                    // In batched mode, answer HELLO with two messages in one frame.
                    batch.push(
                        router_reply(&publish(99, vec![Value::from("batched")])).expect("event"),
                    );
                }
                self.send(&batch).await;
            }
        }
    }

    async fn on_close(&mut self, was_clean: bool, code: Option<u16>, _reason: Option<String>) {
        let _ = self.events.send(RouterEv::Closed(was_clean, code));
    }
}

async fn ws_router(
    supported: &'static [&'static str],
) -> (TestServer, mpsc::UnboundedReceiver<RouterEv>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let server = start_server(WebSocketServerFactory::new("ws://127.0.0.1"), move |ch| {
        WsRouter {
            channel: ch,
            supported,
            chosen: None,
            serializer: None,
            events: tx.clone(),
        }
    })
    .await;
    (server, rx)
}

async fn router_open(rx: &mut mpsc::UnboundedReceiver<RouterEv>) -> (WebSocketChannel, String) {
    match rx.recv().await {
        Some(RouterEv::Open(ch, Some(p))) => (ch, p),
        other => panic!("expected router open, got {other:?}"),
    }
}

async fn router_msg(rx: &mut mpsc::UnboundedReceiver<RouterEv>) -> Message {
    match rx.recv().await {
        Some(RouterEv::Msg(m)) => m,
        other => panic!("expected router message, got {other:?}"),
    }
}

async fn router_closed(rx: &mut mpsc::UnboundedReceiver<RouterEv>) -> (bool, Option<u16>) {
    loop {
        match rx.recv().await {
            Some(RouterEv::Closed(clean, code)) => return (clean, code),
            Some(RouterEv::Msg(_)) => {}
            other => panic!("expected router close, got {other:?}"),
        }
    }
}

const JSON_CBOR: &[&str] = &["wamp.2.json", "wamp.2.cbor"];

#[tokio::test]
async fn websocket_negotiates_cbor_by_default_and_exchanges_messages() {
    init_tracing();
    bounded(async {
        let (server, mut rev) = ws_router(JSON_CBOR).await;
        let mut t = WebSocketTransport::connect(&server.url("/ws"), &Default::default())
            .await
            .expect("connect");
        // Client preference cbor > msgpack > json; the router has no msgpack.
        assert_eq!(t.subprotocol(), "wamp.2.cbor");
        assert_eq!(t.serializer_id(), "cbor");
        assert!(t.peer().starts_with("tcp:127.0.0.1:"), "{}", t.peer());
        assert!(t.is_open());
        let (_ch, chosen) = router_open(&mut rev).await;
        assert_eq!(chosen, "wamp.2.cbor");

        t.send(hello("realm1")).await.unwrap();
        assert_eq!(router_msg(&mut rev).await, hello("realm1"));
        expect_welcome(t.recv().await, "realm1");

        for (i, n) in [0usize, 1, 1000, 200_000].into_iter().enumerate() {
            let args = vec![
                Value::bytes(noise(n, n as u64)),
                Value::from("ü"),
                Value::from(n),
            ];
            t.send(publish(i as u64 + 1, args.clone())).await.unwrap();
            expect_event(t.recv().await, i as u64 + 1, &args);
        }

        t.close().await;
        assert!(!t.is_open());
        assert!(t.recv().await.is_none());
        assert_eq!(router_closed(&mut rev).await, (true, Some(1000)));
        assert!(matches!(
            t.send(goodbye("x")).await,
            Err(TransportError::Closed)
        ));
    })
    .await;
}

#[tokio::test]
async fn websocket_json_uses_text_frames() {
    bounded(async {
        let (server, mut rev) = ws_router(JSON_CBOR).await;
        let cfg = WebSocketTransportConfig::with_subprotocols(["wamp.2.msgpack", "wamp.2.json"]);
        let mut t = WebSocketTransport::connect(&server.url("/"), &cfg)
            .await
            .expect("connect");
        assert_eq!(t.serializer_id(), "json");
        router_open(&mut rev).await;
        // The router decodes with `is_binary` as received: a binary frame would fail.
        t.send(hello("r")).await.unwrap();
        expect_welcome(t.recv().await, "r");
        let args = vec![Value::bytes(vec![0, 1, 2, 255]), Value::from(-5)];
        t.send(publish(3, args.clone())).await.unwrap();
        expect_event(t.recv().await, 3, &args);
        t.close().await;
    })
    .await;
}

#[tokio::test]
async fn websocket_batched_mode_delivers_every_message() {
    bounded(async {
        let (server, mut rev) = ws_router(&["wamp.2.cbor.batched"]).await;
        let cfg = WebSocketTransportConfig::with_subprotocols(["wamp.2.cbor.batched"]);
        let mut t = WebSocketTransport::connect(&server.url("/"), &cfg)
            .await
            .expect("connect");
        router_open(&mut rev).await;
        t.send(hello("b")).await.unwrap();
        expect_welcome(t.recv().await, "b");
        expect_event(t.recv().await, 99, &[Value::from("batched")]);
        t.close().await;
    })
    .await;
}

#[tokio::test]
async fn websocket_without_common_subprotocol_fails_to_connect() {
    bounded(async {
        let (server, _rev) = ws_router(JSON_CBOR).await;
        let cfg = WebSocketTransportConfig::with_subprotocols(["wamp.2.msgpack"]);
        let err = WebSocketTransport::connect(&server.url("/"), &cfg)
            .await
            .unwrap_err();
        assert!(
            matches!(err, WebSocketConnectError::NoSubprotocol),
            "{err:?}"
        );
        let err: TransportError = err.into();
        assert!(matches!(err, TransportError::Connect(_)));
    })
    .await;
}

#[tokio::test]
async fn websocket_router_close_and_loss() {
    bounded(async {
        let (server, mut rev) = ws_router(JSON_CBOR).await;
        // The router closes cleanly: recv ends with None.
        let mut t = WebSocketTransport::connect(&server.url("/"), &Default::default())
            .await
            .unwrap();
        let (ch, _) = router_open(&mut rev).await;
        t.send(hello("r")).await.unwrap();
        expect_welcome(t.recv().await, "r");
        ch.send_close(Some(1000), None).await.unwrap();
        assert!(t.recv().await.is_none());
        assert!(!t.is_open());
        assert_eq!(router_closed(&mut rev).await, (true, Some(1000)));

        // The router drops the TCP connection: an error, then None.
        let mut t = WebSocketTransport::connect(&server.url("/"), &Default::default())
            .await
            .unwrap();
        let (ch, _) = router_open(&mut rev).await;
        ch.drop_connection();
        assert!(matches!(t.recv().await, Some(Err(TransportError::Lost(_)))));
        assert!(t.recv().await.is_none());
        assert!(!t.is_open());
    })
    .await;
}

#[tokio::test]
async fn websocket_wrong_frame_type_is_a_protocol_error() {
    bounded(async {
        let (server, mut rev) = ws_router(JSON_CBOR).await;
        let mut t = WebSocketTransport::connect(&server.url("/"), &Default::default())
            .await
            .unwrap();
        let (ch, _) = router_open(&mut rev).await;
        // CBOR negotiated, but a text message arrives.
        ch.send_text("[2, 1, {}]").await.unwrap();
        assert!(matches!(
            t.recv().await,
            Some(Err(TransportError::Protocol(_)))
        ));
        assert!(t.recv().await.is_none());
        assert!(!t.is_open());
        let (clean, _) = router_closed(&mut rev).await;
        assert!(
            !clean,
            "the transport drops a connection that broke the protocol"
        );
    })
    .await;
}

#[tokio::test]
async fn websocket_recv_is_cancel_safe() {
    bounded(async {
        let (server, mut rev) = ws_router(JSON_CBOR).await;
        let mut t = WebSocketTransport::connect(&server.url("/"), &Default::default())
            .await
            .unwrap();
        router_open(&mut rev).await;
        // Abandon a recv that cannot complete yet, many times over.
        for _ in 0..5 {
            assert!(tokio::time::timeout(Duration::from_millis(5), t.recv())
                .await
                .is_err());
        }
        t.send(hello("c")).await.unwrap();
        // Race recv against a timer that sometimes fires first: nothing may be lost.
        let welcome = loop {
            tokio::select! {
                m = t.recv() => break m,
                _ = tokio::time::sleep(Duration::from_micros(50)) => {}
            }
        };
        expect_welcome(welcome, "c");
        t.close().await;
    })
    .await;
}

// ---------------------------------------------------------------------------------
// (b) WAMP over RawSocket: an in-test router
// ---------------------------------------------------------------------------------

/// The router side of one RawSocket connection.
struct RsRouter<S> {
    stream: S,
    serializer: Box<dyn Serializer>,
    decoder: FrameDecoder,
    /// What the client announced it accepts.
    client_max: u32,
}

impl<S: AsyncRead + AsyncWrite + Unpin> RsRouter<S> {
    /// Reads the client's hello and accepts it, announcing 2^`max_len_exp`.
    async fn accept(mut stream: S, max_len_exp: u8) -> (Self, SerializerId) {
        let mut hello = [0u8; 4];
        stream.read_exact(&mut hello).await.expect("client hello");
        let hs = parse_client_hello(hello).expect("valid hello");
        stream
            .write_all(&accept_reply(max_len_exp, hs.serializer))
            .await
            .unwrap();
        let serializer = for_rawsocket_id(hs.serializer.get()).expect("known serializer");
        let router = RsRouter {
            stream,
            serializer,
            decoder: FrameDecoder::new(1 << 24),
            client_max: hs.max_len(),
        };
        (router, hs.serializer)
    }

    /// The next frame, `None` on EOF.
    async fn frame(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 8192];
        loop {
            if let Some(f) = self.decoder.next_frame().expect("valid frames from client") {
                return Some(f);
            }
            let n = self.stream.read(&mut buf).await.expect("read");
            if n == 0 {
                return None;
            }
            self.decoder.feed(&buf[..n]);
        }
    }

    async fn msg(&mut self) -> Message {
        let f = self.frame().await.expect("a frame");
        assert_eq!(f.kind, FrameKind::Message);
        let mut msgs = self
            .serializer
            .unserialize(&f.payload, self.serializer.is_binary())
            .expect("decodes");
        assert_eq!(msgs.len(), 1);
        msgs.remove(0)
    }

    async fn send_frame(&mut self, kind: FrameKind, payload: &[u8]) {
        let mut out = BytesMut::new();
        encode_frame(kind, payload, self.client_max, &mut out).expect("fits");
        self.stream.write_all(&out).await.unwrap();
    }

    async fn send(&mut self, msg: &Message) {
        let payload = self.serializer.serialize(msg).unwrap();
        self.send_frame(FrameKind::Message, &payload).await;
    }

    /// Answers messages as [`router_reply`] says until EOF.
    async fn serve(mut self) {
        while let Some(f) = self.frame().await {
            if f.kind != FrameKind::Message {
                continue;
            }
            let msgs = self
                .serializer
                .unserialize(&f.payload, self.serializer.is_binary())
                .unwrap();
            for m in msgs {
                if let Some(r) = router_reply(&m) {
                    self.send(&r).await;
                }
            }
        }
    }
}

async fn tcp_listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rs://127.0.0.1:{}", l.local_addr().unwrap().port());
    (l, url)
}

async fn accept_tcp(l: &tokio::net::TcpListener) -> tokio::net::TcpStream {
    l.accept().await.unwrap().0
}

#[tokio::test]
async fn rawsocket_handshake_for_each_serializer() {
    init_tracing();
    bounded(async {
        let (l, url) = tcp_listener().await;
        for (id, name) in [
            (SerializerId::JSON, "json"),
            (SerializerId::MSGPACK, "msgpack"),
            (SerializerId::CBOR, "cbor"),
        ] {
            let router = async {
                let (mut r, got) = RsRouter::accept(accept_tcp(&l).await, 20).await;
                assert_eq!(got, id);
                assert_eq!(r.client_max, 1 << 24, "default announces 16 MiB");
                assert_eq!(r.msg().await, hello("rs"));
                r.send(&router_reply(&hello("rs")).unwrap()).await;
                r.serve().await;
            };
            let client = async {
                let opts = RawSocketOptions {
                    serializer: id,
                    ..Default::default()
                };
                let mut t = RawSocketTransport::connect(&url, &opts).await.unwrap();
                assert_eq!(t.serializer_id(), name);
                assert_eq!(t.peer_max_len(), 1 << 20);
                assert!(t.peer().starts_with("tcp:127.0.0.1:"), "{}", t.peer());
                assert_eq!(t.channel_id("tls-exporter"), None, "no TLS, no binding");
                t.send(hello("rs")).await.unwrap();
                expect_welcome(t.recv().await, "rs");
                let args = vec![Value::bytes(noise(5000, 1)), Value::from("x")];
                t.send(publish(5, args.clone())).await.unwrap();
                expect_event(t.recv().await, 5, &args);
                t.close().await;
                assert!(!t.is_open());
                assert!(t.recv().await.is_none());
            };
            tokio::join!(router, client);
        }
    })
    .await;
}

#[tokio::test]
async fn rawsocket_default_serializer_is_cbor() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (r, got) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            assert_eq!(got, SerializerId::CBOR);
            r.serve().await;
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            assert_eq!(t.serializer_id(), "cbor");
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_refusals_are_typed_connect_errors() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let opts = RawSocketOptions::default();
        for code in [
            HandshakeErrorCode::SerializerUnsupported,
            HandshakeErrorCode::MaxLengthUnacceptable,
            HandshakeErrorCode::ReservedBitsUsed,
            HandshakeErrorCode::MaxConnectionCountReached,
        ] {
            let router = async {
                let mut s = accept_tcp(&l).await;
                let mut hello = [0u8; 4];
                s.read_exact(&mut hello).await.unwrap();
                s.write_all(&error_reply(code)).await.unwrap();
                s
            };
            let client = RawSocketTransport::connect(&url, &opts);
            let (_s, res) = tokio::join!(router, client);
            match res {
                Err(RawSocketConnectError::Refused(c)) => assert_eq!(c, code),
                other => panic!("expected refusal {code}, got {other:?}"),
            }
        }
        // Not a RawSocket router at all.
        let router = async {
            let mut s = accept_tcp(&l).await;
            s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                .await
                .unwrap();
            s
        };
        let (_s, res) = tokio::join!(router, RawSocketTransport::connect(&url, &opts));
        assert!(
            matches!(res, Err(RawSocketConnectError::Handshake(_))),
            "{res:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn rawsocket_silent_router_times_out() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let opts = RawSocketOptions {
            handshake_timeout: Some(Duration::from_millis(100)),
            ..Default::default()
        };
        let router = async {
            let s = accept_tcp(&l).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            s
        };
        let (_s, res) = tokio::join!(router, RawSocketTransport::connect(&url, &opts));
        assert!(
            matches!(res, Err(RawSocketConnectError::Timeout)),
            "{res:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn rawsocket_ping_is_answered_with_pong() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            for payload in [&b""[..], b"ping!", &noise(70_000, 3)] {
                r.send_frame(FrameKind::Ping, payload).await;
                let f = r.frame().await.expect("pong");
                assert_eq!(f.kind, FrameKind::Pong);
                assert!(f.payload == payload, "pong echoes the ping");
            }
            // Messages still flow after the pings.
            r.send(&router_reply(&hello("p")).unwrap()).await;
            r.serve().await;
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            // PINGs are answered by the transport's reader, without any recv.
            expect_welcome(t.recv().await, "p");
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_oversized_send_fails_and_transport_stays_usable() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            // The router accepts at most 512 bytes.
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 9).await;
            // The first thing to arrive is the small message after the refused one.
            let m = r.msg().await;
            assert_eq!(m, publish(2, vec![Value::from("small")]));
            r.send(&router_reply(&m).unwrap()).await;
            r.serve().await;
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            assert_eq!(t.peer_max_len(), 512);
            match t.send(publish(1, vec![Value::bytes(vec![7u8; 600])])).await {
                Err(TransportError::MessageTooLarge { size, max }) => {
                    assert!(size > 600, "{size}");
                    assert_eq!(max, 512);
                }
                other => panic!("expected MessageTooLarge, got {other:?}"),
            }
            assert!(t.is_open());
            t.send(publish(2, vec![Value::from("small")]))
                .await
                .unwrap();
            expect_event(t.recv().await, 2, &[Value::from("small")]);
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_large_messages_both_ways() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            r.serve().await;
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            // Several MiB queued at once exercise the send budget.
            let args = vec![Value::bytes(noise(3 << 20, 9))];
            for i in 0..3 {
                t.send(publish(i, args.clone())).await.unwrap();
            }
            for i in 0..3 {
                expect_event(t.recv().await, i, &args);
            }
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_router_closing_ends_recv() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            assert_eq!(r.msg().await, goodbye("wamp.close.normal"));
            r.send(&goodbye("wamp.close.goodbye_and_out")).await;
            // Dropping the router closes the connection.
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            t.send(goodbye("wamp.close.normal")).await.unwrap();
            assert_eq!(
                t.recv().await.unwrap().unwrap(),
                goodbye("wamp.close.goodbye_and_out")
            );
            assert!(t.recv().await.is_none());
            assert!(!t.is_open());
            assert!(matches!(
                t.send(hello("x")).await,
                Err(TransportError::Closed)
            ));
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_close_shuts_down_our_side() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let router = async {
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            // Everything sent before close arrives, then EOF.
            assert_eq!(r.msg().await, goodbye("a"));
            assert_eq!(r.msg().await, goodbye("b"));
            assert!(r.frame().await.is_none(), "EOF after close");
            done_tx.send(()).unwrap();
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            t.send(goodbye("a")).await.unwrap();
            t.send(goodbye("b")).await.unwrap();
            t.close().await;
            assert!(!t.is_open());
            done_rx.await.unwrap();
        };
        tokio::join!(router, client);
    })
    .await;
}

#[tokio::test]
async fn rawsocket_abort_drops_the_connection() {
    bounded(async {
        let (l, url) = tcp_listener().await;
        let router = async {
            let (mut r, _) = RsRouter::accept(accept_tcp(&l).await, 24).await;
            assert!(r.frame().await.is_none(), "connection dropped");
        };
        let client = async {
            let mut t = RawSocketTransport::connect(&url, &Default::default())
                .await
                .unwrap();
            t.abort();
            assert!(!t.is_open());
            assert!(t.recv().await.is_none());
            // Dropping releases the socket.
            drop(t);
        };
        tokio::join!(router, client);
    })
    .await;
}

// ---------------------------------------------------------------------------------
// (c) RawSocket over a Unix domain socket
// ---------------------------------------------------------------------------------

#[cfg(unix)]
#[tokio::test]
async fn rawsocket_over_unix_socket() {
    bounded(async {
        let path = std::env::temp_dir().join(format!(
            "autobahn-rs-wamp-{}-{:?}.sock",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let l = tokio::net::UnixListener::bind(&path).unwrap();
        let url = format!("rs://unix:{}", path.display());
        let router = async {
            let (s, _) = l.accept().await.unwrap();
            let (r, got) = RsRouter::accept(s, 24).await;
            assert_eq!(got, SerializerId::MSGPACK);
            r.serve().await;
        };
        let client = async {
            let opts = RawSocketOptions {
                serializer: SerializerId::MSGPACK,
                ..Default::default()
            };
            let mut t = RawSocketTransport::connect(&url, &opts).await.unwrap();
            assert_eq!(t.peer(), format!("unix:{}", path.display()));
            t.send(hello("unix")).await.unwrap();
            expect_welcome(t.recv().await, "unix");
            t.close().await;
        };
        tokio::join!(router, client);
        let _ = std::fs::remove_file(&path);
    })
    .await;
}

// ---------------------------------------------------------------------------------
// (d) rss:// with a self-signed certificate
// ---------------------------------------------------------------------------------

#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use autobahn::websocket::stream::tls::{client_config_with_ca_pem, server_config_from_pem};

    fn localhost_cert() -> (String, String) {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
        (ck.cert.pem(), ck.key_pair.serialize_pem())
    }

    async fn tls_listener() -> (
        tokio::net::TcpListener,
        String,
        tokio_rustls::TlsAcceptor,
        String,
    ) {
        let (cert, key) = localhost_cert();
        let config = server_config_from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("rss://localhost:{}", l.local_addr().unwrap().port());
        (l, url, tokio_rustls::TlsAcceptor::from(config), cert)
    }

    #[tokio::test]
    async fn rawsocket_over_tls_with_trusted_self_signed_cert() {
        bounded(async {
            let (l, url, acceptor, cert) = tls_listener().await;
            let (key_tx, key_rx) = tokio::sync::oneshot::channel();
            let router = async {
                let tls = acceptor
                    .accept(accept_tcp(&l).await)
                    .await
                    .expect("tls accept");
                let mut key = [0u8; 32];
                tls.get_ref()
                    .1
                    .export_keying_material(&mut key, b"EXPORTER-Channel-Binding", None)
                    .unwrap();
                key_tx.send(key.to_vec()).unwrap();
                let (r, _) = RsRouter::accept(tls, 24).await;
                r.serve().await;
            };
            let client = async {
                let opts = RawSocketOptions {
                    tls: Some(client_config_with_ca_pem(cert.as_bytes()).unwrap()),
                    ..Default::default()
                };
                let mut t = RawSocketTransport::connect(&url, &opts).await.expect("rss");
                let binding = t.channel_id("tls-exporter").expect("tls-exporter binding");
                assert_eq!(
                    binding,
                    key_rx.await.unwrap(),
                    "both ends derive the same binding"
                );
                assert_eq!(t.channel_id("tls-unique"), None);
                t.send(hello("secure")).await.unwrap();
                expect_welcome(t.recv().await, "secure");
                let args = vec![Value::bytes(noise(100_000, 4))];
                t.send(publish(8, args.clone())).await.unwrap();
                expect_event(t.recv().await, 8, &args);
                t.close().await;
            };
            tokio::join!(router, client);
        })
        .await;
    }

    #[tokio::test]
    async fn rawsocket_over_tls_rejects_untrusted_cert() {
        bounded(async {
            let (l, url, acceptor, _cert) = tls_listener().await;
            let (other, _) = localhost_cert();
            let router = async {
                // The handshake fails on the client's side.
                let _ = acceptor.accept(accept_tcp(&l).await).await;
            };
            let opts = RawSocketOptions {
                tls: Some(client_config_with_ca_pem(other.as_bytes()).unwrap()),
                ..Default::default()
            };
            let (_, res) = tokio::join!(router, RawSocketTransport::connect(&url, &opts));
            assert!(matches!(res, Err(RawSocketConnectError::Tls(_))), "{res:?}");
        })
        .await;
    }
}
