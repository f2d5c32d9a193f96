//! The handshake as data behind another HTTP stack: a hyper server decides upgrades
//! with `ServerHandshake` (as an axum or hyper adapter will), and our client, a real
//! peer, connects through it.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use autobahn::websocket::handshake::{Checked, Negotiated, ServerHandshake};
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny};
use autobahn::websocket::{WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler};
use bytes::Bytes;
use common::{bounded, frame, header_of, raw_exchange, status_of, FrameReader};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What `on_connect` would decide: `/private` is denied, anything else accepted with a
/// header naming the room.
fn decide(path: &str, room: Option<&str>) -> Result<ConnectionAccept, ConnectionDeny> {
    if path == "/private" {
        return Err(ConnectionDeny::new(
            ConnectionDeny::FORBIDDEN,
            Some("members only"),
        ));
    }
    Ok(ConnectionAccept::new().header("X-Room", room.unwrap_or("lobby")))
}

/// One request: answered entirely from `ServerHandshake`. An accepted upgrade's stream
/// is handed to `upgraded` with what was negotiated.
async fn answer(
    handshake: Arc<ServerHandshake>,
    upgraded: mpsc::UnboundedSender<(hyper::upgrade::Upgraded, Negotiated)>,
    peer: SocketAddr,
    mut req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let html = |r: http::Response<String>| r.map(|body| Full::new(Bytes::from(body)));
    let pending = match handshake.check_request(&req, &format!("tcp:{peer}")) {
        Ok(Checked::Upgrade(pending)) => pending,
        Ok(Checked::StatusPage(page)) => return Ok(html(page)),
        Err(refusal) => return Ok(html(refusal.response())),
    };
    let request = pending.request();
    let room = request.params.get("room").and_then(|v| v.first());
    let decision = decide(&request.path, room.map(String::as_str));
    match handshake.respond(pending, decision) {
        Ok(accepted) => {
            let negotiated = accepted.negotiated().clone();
            let upgrade = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                if let Ok(stream) = upgrade.await {
                    let _ = upgraded.send((stream, negotiated));
                }
            });
            Ok(accepted.response().map(|()| Full::default()))
        }
        Err(refusal) => Ok(html(refusal.response())),
    }
}

/// A hyper HTTP/1.1 server on a loopback port answering with [`answer`].
async fn hyper_server(
    handshake: ServerHandshake,
) -> (
    SocketAddr,
    mpsc::UnboundedReceiver<(hyper::upgrade::Upgraded, Negotiated)>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handshake = Arc::new(handshake);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                continue;
            };
            let (handshake, tx) = (handshake.clone(), tx.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    answer(handshake.clone(), tx.clone(), peer, req)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    (addr, rx)
}

struct Collect(Vec<Bytes>);
impl WebSocketHandler for Collect {
    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        self.0.push(payload);
    }
}
impl WebSocketClientHandler for Collect {}

fn handshake_with_chat() -> ServerHandshake {
    let mut handshake = ServerHandshake::new();
    handshake.protocols = vec!["chat".into()];
    handshake.server = Some("hyper-test".into());
    handshake
}

#[tokio::test]
async fn our_client_upgrades_through_hyper_with_subprotocol_and_deflate() {
    bounded(async {
        let (addr, mut upgraded) = hyper_server(handshake_with_chat()).await;
        let url = format!("ws://127.0.0.1:{}/talk?room=tea", addr.port());
        let client = WebSocketClientFactory::new(&url)
            .unwrap()
            .protocols(["superchat", "chat"]);
        let connection = client.connect(|_| Collect(Vec::new())).await.unwrap();
        let response = connection.response();
        assert_eq!(response.protocol.as_deref(), Some("chat"));
        assert_eq!(response.headers.get("x-room"), Some("tea"));
        assert_eq!(response.headers.get("server"), Some("hyper-test"));

        let (stream, negotiated) = upgraded.recv().await.expect("the upgraded stream");
        assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));
        assert_eq!(negotiated.extensions, response.extensions);
        #[cfg(feature = "deflate")]
        {
            assert_eq!(response.extensions[0].name, "permessage-deflate");
            assert!(negotiated.deflate.is_some());
        }

        // The upgraded stream is the WebSocket: a message and a close from the server
        // side (uncompressed, which permessage-deflate allows per message).
        let running = connection.spawn();
        let mut server = FrameReader::new(hyper_util::rt::TokioIo::new(stream), Vec::new());
        server
            .send(&frame(true, 1, b"hello through hyper", None))
            .await;
        server
            .send(&frame(true, 8, &1000u16.to_be_bytes(), None))
            .await;
        let reply = server.next().await.expect("the client's close reply");
        assert_eq!(reply.close_code(), Some(1000));
        drop(server);
        let (collect, close) = running.await.unwrap();
        assert_eq!(collect.0, [Bytes::from_static(b"hello through hyper")]);
        assert_eq!(close.code, Some(1000));
    })
    .await;
}

#[tokio::test]
async fn refusals_through_hyper_are_our_servers_answers() {
    bounded(async {
        let (addr, _upgraded) = hyper_server(handshake_with_chat()).await;

        // on_connect's denial reaches our client as the HTTP status.
        let url = format!("ws://127.0.0.1:{}/private", addr.port());
        let err = WebSocketClientFactory::new(&url)
            .unwrap()
            .connect(|_| Collect(Vec::new()))
            .await
            .err()
            .expect("denied");
        assert_eq!(err.http_status(), Some(403), "{err}");

        // An unsupported version: 426 naming the versions we speak.
        let head = raw_exchange(
            addr,
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 7\r\n\r\n",
        )
        .await;
        assert_eq!(status_of(&head), 426, "{head}");
        assert_eq!(header_of(&head, "sec-websocket-version"), Some("13, 8"));

        // A plain GET: the status page.
        let page = raw_exchange(addr, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
        assert_eq!(status_of(&page), 200, "{page}");
        assert!(page.contains("WebSocket endpoint"), "{page}");
    })
    .await;
}

/// The other way round: hyper's client sends our `http::Request` to our server, our
/// check accepts hyper's response, and the negotiated codec reads the server's echo.
#[tokio::test]
async fn hyper_client_upgrades_to_our_server_with_our_request_and_check() {
    use autobahn::websocket::handshake::ClientHandshake;
    use autobahn::websocket::WebSocketServerFactory;
    use common::{client_frame, start_echo_server};

    bounded(async {
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").protocols(["chat"]);
        let (server, _events) = start_echo_server(factory).await;
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(connection.with_upgrades());

        let mut client = ClientHandshake::new("127.0.0.1", server.addr.port(), false);
        client.resource = "/echo".into();
        client.protocols = vec!["chat".into()];
        #[cfg(feature = "deflate")]
        {
            client.per_message_compression_offers = autobahn::websocket::deflate::default_offers();
        }
        let (request, key) = client.http_request().unwrap();
        let response = sender
            .send_request(request.map(|()| http_body_util::Empty::<Bytes>::new()))
            .await
            .unwrap();
        let peer = format!("tcp:{}", server.addr);
        let (answer, negotiated) = client.check_response(&key, &response, &peer).unwrap();
        assert_eq!(answer.protocol.as_deref(), Some("chat"));
        assert_eq!(negotiated.subprotocol.as_deref(), Some("chat"));

        let stream = hyper::upgrade::on(response).await.unwrap();
        let mut ws = FrameReader::new(hyper_util::rt::TokioIo::new(stream), Vec::new());
        ws.send(&client_frame(1, b"echo me")).await;
        let echo = ws.next().await.expect("the echo");
        assert_eq!(echo.opcode, 1);
        #[cfg(feature = "deflate")]
        {
            // Compressed (RSV1) with the parameters both sides agreed.
            assert_eq!(echo.rsv, 4, "{echo:?}");
            let mut codec = negotiated.deflate_codec(false).expect("deflate agreed");
            let mut text = Vec::new();
            codec
                .decompress_message(&echo.payload, &mut text, 0)
                .unwrap();
            assert_eq!(text, b"echo me");
        }
        #[cfg(not(feature = "deflate"))]
        assert_eq!(echo.payload, b"echo me");
        ws.send(&client_frame(8, &1000u16.to_be_bytes())).await;
        let close = ws.next().await.expect("the close reply");
        assert_eq!(close.close_code(), Some(1000));
    })
    .await;
}

#[tokio::test]
async fn a_stream_hyper_upgraded_becomes_our_connection() {
    use autobahn::websocket::{Message, WebSocketServerFactory};
    bounded(async {
        let (addr, mut upgraded) = hyper_server(handshake_with_chat()).await;
        let url = format!("ws://127.0.0.1:{}/talk", addr.port());
        let client = WebSocketClientFactory::new(&url)
            .unwrap()
            .protocols(["chat"]);
        let mut ws = client
            .connect_websocket()
            .await
            .expect("handshake through hyper");

        // The server side: what hyper upgraded, as our connection.
        let (stream, negotiated) = upgraded.recv().await.expect("the upgraded stream");
        let factory = WebSocketServerFactory::new("ws://127.0.0.1");
        let mut server = factory.upgraded_websocket(
            hyper_util::rt::TokioIo::new(stream),
            &negotiated,
            "tcp:hyper".into(),
        );
        assert_eq!(factory.connection_count(), 1);
        let echo = tokio::spawn(async move {
            while let Some(message) = server.recv().await {
                if server.send(message).await.is_err() {
                    break;
                }
            }
            server.close_info()
        });
        for i in 0..3 {
            // Compressible, so permessage-deflate (when negotiated) does work both ways.
            let text = format!("{i} ") + &"through hyper ".repeat(500);
            ws.send(text.clone()).await.expect("send");
            assert_eq!(ws.recv().await, Some(Message::from(text)));
        }
        let close = ws.close(Some(1000), None).await.expect("close");
        assert!(close.was_clean, "{close:?}");
        let server_close = echo.await.unwrap().expect("ended");
        assert_eq!(server_close.code, Some(1000));
        assert_eq!(factory.connection_count(), 0, "the slot is given back");
    })
    .await;
}
