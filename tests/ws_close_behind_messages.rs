//! A peer's close that arrives in the same read as messages before it: as with
//! Autobahn|Python, the handler (server or client) gets those messages first and its replies go out before
//! our close reply; a handler that takes too long gets `close_handshake_timeout`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
use common::*;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex};

/// A close frame with code 1000, as a client sends it.
fn close_1000() -> Vec<u8> {
    client_frame(8, &1000u16.to_be_bytes())
}

#[tokio::test]
async fn echoes_of_messages_read_with_the_close_go_out_before_our_close() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let (s, rest) = raw_connect(server.addr).await;
        let mut peer = FrameReader::new(s, rest);
        // Two messages and the close in one write, so the server reads them together.
        let mut burst = client_frame(1, b"first");
        burst.extend(client_frame(2, b"second"));
        burst.extend(close_1000());
        peer.send(&burst).await;

        let echo = peer.next().await.expect("the first echo");
        assert_eq!(
            (echo.opcode, &echo.payload[..]),
            (1, &b"first"[..]),
            "{echo:?}"
        );
        let echo = peer.next().await.expect("the second echo");
        assert_eq!(
            (echo.opcode, &echo.payload[..]),
            (2, &b"second"[..]),
            "{echo:?}"
        );
        let close = peer.next().await.expect("our close reply");
        assert_eq!(close.close_code(), Some(1000), "{close:?}");
        peer.expect_eof().await;
        let (clean, code, _) = sev.close().await;
        assert!(clean);
        assert_eq!(code, Some(1000));
    })
    .await;
}

#[tokio::test]
async fn a_handler_that_takes_too_long_gets_the_close_timeout() {
    bounded(async {
        // The gate is never opened: the handler stays in on_message.
        let (_gate_tx, gate_rx) = mpsc::unbounded_channel::<()>();
        let gate = Arc::new(Mutex::new(gate_rx));
        let (tx, mut sev) = events();
        let options = ServerOptions {
            close_handshake_timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
        let server = start_server(factory, move |ch| {
            let mut r = Recorder::echo(ch, tx.clone());
            r.gate = Some(gate.clone());
            r
        })
        .await;
        let (s, rest) = raw_connect(server.addr).await;
        let mut peer = FrameReader::new(s, rest);
        let mut burst = client_frame(1, b"block");
        burst.extend(close_1000());
        peer.send(&burst).await;
        sev.until(|e| matches!(e, Ev::Blocked).then_some(())).await;

        // The close is answered once the timeout runs out, with no echo before it.
        let close = peer.next().await.expect("our close reply");
        assert_eq!(close.close_code(), Some(1000), "{close:?}");
        peer.expect_eof().await;
    })
    .await;
}

#[tokio::test]
async fn a_client_echoes_what_came_with_the_servers_close_before_replying() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = ClientOptions {
            #[cfg(feature = "deflate")]
            per_message_compression_offers: Vec::new(),
            ..Default::default()
        };
        let factory = WebSocketClientFactory::new(&format!("ws://{addr}/"))
            .unwrap()
            .with_protocol_options(options);
        let (tx, mut rx) = events();
        let (conn, server_side) = tokio::join!(
            factory.connect(|ch| Recorder::echo(ch, tx)),
            raw_accept(&listener)
        );
        let task = conn.unwrap().spawn();
        rx.open().await;
        let mut peer = FrameReader::new(server_side, Vec::new());
        let mut burst = frame(true, 1, b"from the server", None);
        burst.extend(frame(true, 8, &1000u16.to_be_bytes(), None));
        peer.send(&burst).await;

        let echo = peer.next().await.expect("the client's echo");
        assert_eq!(
            (echo.opcode, &echo.payload[..]),
            (1, &b"from the server"[..]),
            "{echo:?}"
        );
        let close = peer.next().await.expect("the client's close reply");
        assert_eq!(close.close_code(), Some(1000), "{close:?}");
        // The server drops TCP; the client saw a clean close.
        drop(peer);
        assert!(task.await.unwrap().1.was_clean);
    })
    .await;
}
