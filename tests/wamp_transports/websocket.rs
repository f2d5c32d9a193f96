//! (a) WAMP over WebSocket against a router built on `WebSocketServerFactory`.

use super::*;

// ---------------------------------------------------------------------------------
// (a) WAMP over WebSocket
// ---------------------------------------------------------------------------------

#[derive(Debug)]
enum RouterEv {
    Open(WebSocketChannel, Option<String>),
    Msg(Message),
    Pong(Bytes),
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

    async fn on_pong(&mut self, payload: Bytes) {
        let _ = self.events.send(RouterEv::Pong(payload));
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
        assert_eq!(t.channel_id("tls-exporter"), None, "no TLS, no binding");
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
        // Closing again, or aborting after the close, is harmless.
        t.close().await;
        t.abort();
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
        // The transport fails the connection: close 1002, then TCP is dropped.
        let (_, code) = router_closed(&mut rev).await;
        assert_eq!(code, Some(1002), "the router is told: protocol error");
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

#[tokio::test]
async fn websocket_burst_while_not_reading_loses_nothing() {
    bounded(async {
        let (server, mut rev) = ws_router(JSON_CBOR).await;
        let cfg = WebSocketTransportConfig::default();
        let mut t = WebSocketTransport::connect(&server.url("/"), &cfg)
            .await
            .unwrap();
        let (ch, proto) = router_open(&mut rev).await;
        let s = for_subprotocol(&proto).unwrap();
        // A burst far beyond the queue while the application does not read. The pong
        // to a ping sent after the first few events shows they reached the client (the
        // WebSocket layer answers pings while the full queue holds the rest back), so
        // the queue is full before the application starts reading.
        for i in 0..300u64 {
            let ev = router_reply(&publish(i, vec![Value::from(i)])).unwrap();
            ch.send_message(s.serialize(&ev).unwrap(), true)
                .await
                .unwrap();
            if i == 8 {
                ch.send_ping(b"queue full").await.unwrap();
            }
        }
        match rev.recv().await {
            Some(RouterEv::Pong(p)) => assert_eq!(&p[..], b"queue full"),
            other => panic!("expected the pong, got {other:?}"),
        }
        for i in 0..300u64 {
            expect_event(t.recv().await, i, &[Value::from(i)]);
        }
        t.close().await;
    })
    .await;
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn websocket_over_tls_offers_the_tls_exporter_binding() {
    use autobahn::websocket::stream::tls::{client_config_with_ca_pem, server_config_from_pem};
    use autobahn::websocket::stream::MaybeTlsStream;
    use autobahn::websocket::WebSocketClientFactory;
    init_tracing();
    bounded(async {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let (cert, key) = (ck.cert.pem(), ck.key_pair.serialize_pem());
        let acceptor = tokio_rustls::TlsAcceptor::from(
            server_config_from_pem(cert.as_bytes(), key.as_bytes()).unwrap(),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("wss://localhost:{}/ws", l.local_addr().unwrap().port());
        let (key_tx, key_rx) = tokio::sync::oneshot::channel();
        let (tx, mut rev) = mpsc::unbounded_channel();
        let router = async move {
            let (tcp, peer) = l.accept().await.unwrap();
            let tls = MaybeTlsStream::TlsServer(Box::new(acceptor.accept(tcp).await.unwrap()));
            key_tx.send(tls.tls_exporter()).unwrap();
            let factory = WebSocketServerFactory::new("wss://localhost");
            let _ = factory
                .accept_stream(tls, peer.to_string(), |ch| WsRouter {
                    channel: ch,
                    supported: JSON_CBOR,
                    chosen: None,
                    serializer: None,
                    events: tx,
                })
                .await;
        };
        let client = async {
            let factory = WebSocketClientFactory::new(&url)
                .unwrap()
                .tls(client_config_with_ca_pem(cert.as_bytes()).unwrap());
            let mut t = WebSocketTransport::connect_with_factory(factory, &Default::default())
                .await
                .expect("wss connect");
            let binding = t.channel_id("tls-exporter").expect("tls-exporter binding");
            assert_eq!(binding.len(), 32);
            assert_eq!(
                Some(binding),
                key_rx.await.unwrap(),
                "both ends derive the same binding"
            );
            assert_eq!(t.channel_id("tls-unique"), None);
            t.send(hello("secure")).await.unwrap();
            assert_eq!(router_msg_after_open(&mut rev).await, hello("secure"));
            expect_welcome(t.recv().await, "secure");
            t.close().await;
        };
        tokio::join!(router, client);
    })
    .await;
}

async fn router_msg_after_open(rx: &mut mpsc::UnboundedReceiver<RouterEv>) -> Message {
    router_open(rx).await;
    router_msg(rx).await
}
