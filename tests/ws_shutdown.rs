//! Graceful shutdown of a running server: new connections are refused, every open one gets
//! close 1001 "going away" (one still in its opening handshake as soon as it opens), and
//! what is still there after the grace period is dropped; real sockets on loopback.

use std::time::Duration;

use autobahn::websocket::{
    WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
    WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Deadline for anything that should happen at once (generous: a loaded 2-core machine).
const SOON: Duration = Duration::from_secs(30);

/// Echoes; a message "block" makes the handler hang forever (after reporting it).
struct Server {
    channel: WebSocketChannel,
    blocked: mpsc::UnboundedSender<()>,
}

impl WebSocketHandler for Server {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        if &payload[..] == b"block" {
            let _ = self.blocked.send(());
            std::future::pending::<()>().await;
        }
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

impl WebSocketServerHandler for Server {}

/// Reports `on_open` (as `None`) and how the connection closed.
struct Client {
    events: mpsc::UnboundedSender<Option<(Option<u16>, Option<String>)>>,
}

impl WebSocketHandler for Client {
    async fn on_open(&mut self) {
        let _ = self.events.send(None);
    }

    async fn on_close(&mut self, _was_clean: bool, code: Option<u16>, reason: Option<String>) {
        let _ = self.events.send(Some((code, reason)));
    }
}

impl WebSocketClientHandler for Client {}

fn start_server() -> (
    autobahn::websocket::WebSocketServer,
    mpsc::UnboundedReceiver<()>,
) {
    let (blocked, blocked_rx) = mpsc::unbounded_channel();
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let server = factory.start(listener, move |channel| Server {
        channel,
        blocked: blocked.clone(),
    });
    (server, blocked_rx)
}

async fn connect(
    port: u16,
) -> (
    WebSocketChannel,
    mpsc::UnboundedReceiver<Option<(Option<u16>, Option<String>)>>,
) {
    let (events, mut rx) = mpsc::unbounded_channel();
    let factory = WebSocketClientFactory::new(&format!("ws://127.0.0.1:{port}/")).expect("url");
    let conn = timeout(SOON, factory.connect(|_| Client { events }))
        .await
        .expect("handshake in time")
        .expect("handshake");
    let channel = conn.channel().clone();
    conn.spawn();
    assert_eq!(timeout(SOON, rx.recv()).await.expect("on_open"), Some(None));
    (channel, rx)
}

#[tokio::test]
async fn every_client_gets_going_away_and_the_server_stops_accepting() {
    let (server, _blocked) = start_server();
    let port = server.local_addr().expect("TCP").port();
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(connect(port).await);
    }
    assert_eq!(server.connection_count(), 5);

    let report = timeout(SOON, server.shutdown(Duration::from_secs(60)))
        .await
        .expect("shutdown returns once every connection closed, long before the grace");
    assert_eq!((report.closed, report.dropped), (5, 0), "{report:?}");
    for (_, mut events) in clients {
        let closed = timeout(SOON, events.recv()).await.expect("on_close");
        assert_eq!(
            closed,
            Some(Some((Some(1001), Some("going away".to_string())))),
            "each client hears why"
        );
    }
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn a_connection_stuck_in_its_handler_is_dropped_after_the_grace() {
    let (server, mut blocked) = start_server();
    let port = server.local_addr().expect("TCP").port();
    let (stuck, _stuck_events) = connect(port).await;
    let (_fine, mut fine_events) = connect(port).await;
    stuck.send_text("block").await.expect("send");
    timeout(SOON, blocked.recv())
        .await
        .expect("the handler blocks");

    let grace = Duration::from_millis(300);
    let started = tokio::time::Instant::now();
    let report = timeout(SOON, server.shutdown(grace))
        .await
        .expect("shutdown returns after the grace");
    assert!(started.elapsed() >= grace, "waited the grace period");
    assert_eq!((report.closed, report.dropped), (1, 1), "{report:?}");
    assert_eq!(
        timeout(SOON, fine_events.recv()).await.expect("on_close"),
        Some(Some((Some(1001), Some("going away".to_string()))))
    );
}

#[tokio::test]
async fn a_connection_still_opening_closes_as_soon_as_it_is_open() {
    let (server, _blocked) = start_server();
    let port = server.local_addr().expect("TCP").port();
    let handle = server.handle();
    let waiting = tokio::spawn(server.wait());
    // Half a request: the connection is registered, its handshake not done.
    let mut tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .expect("write");
    while handle.connection_count() == 0 {
        tokio::task::yield_now().await;
    }
    handle.shutdown(Duration::from_secs(60));
    handle.shutdown(Duration::from_millis(1)); // a second call changes nothing
    tcp.write_all(
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .expect("write");
    // The 101, then at once a close frame: 1001 "going away".
    let mut got = Vec::new();
    let close = [0x88, 12, 0x03, 0xe9];
    let end = loop {
        let mut buf = [0u8; 1024];
        let n = timeout(SOON, tcp.read(&mut buf))
            .await
            .expect("the server answers")
            .expect("read");
        assert_ne!(n, 0, "closed without a close frame: {got:?}");
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            if got.len() >= end + 4 + 14 {
                break end + 4;
            }
        }
    };
    assert!(got.starts_with(b"HTTP/1.1 101"), "{got:?}");
    assert_eq!(&got[end..end + 4], &close, "close frame 1001");
    assert_eq!(&got[end + 4..end + 14], b"going away");
    // Our close reply (masked, 1001) ends the handshake; the server is done.
    tcp.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe9])
        .await
        .expect("close reply");
    let report = timeout(SOON, waiting)
        .await
        .expect("shutdown done")
        .expect("task");
    assert_eq!((report.closed, report.dropped), (1, 0), "{report:?}");
}
