//! The broadcast example's server (`examples/broadcast.rs`, run as `broadcast server ADDR`)
//! with one client that never reads: the healthy clients still get every message, and the
//! server's memory stays bounded.

#[path = "common_example/mod.rs"]
mod common_example;

use std::time::Duration;

use autobahn::websocket::{Message, WebSocketClientFactory};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::time::timeout;

use common_example::ExampleServer;

const MESSAGES: usize = 2_000;
const MESSAGE_SIZE: usize = 16 * 1024;
/// Generous: a loaded 2-core machine running debug builds.
const DEADLINE: Duration = Duration::from_secs(120);

/// A client that completes the opening handshake by hand, waits for the server's
/// "welcome" (so it is registered) and then never reads again, with a small receive
/// buffer so the server's queue for it fills soon.
async fn never_reading_client(addr: &str) -> tokio::net::TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut stream = socket
        .connect(addr.parse().expect("addr"))
        .await
        .expect("connect");
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("request");
    // The response, then the "welcome" frame (81 07 "welcome").
    let welcome_frame = b"\x81\x07welcome";
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(welcome_frame) {
        let n = timeout(DEADLINE, stream.read(&mut buf))
            .await
            .expect("handshake and welcome in time")
            .expect("read");
        assert!(n > 0, "server closed during the handshake: {seen:?}");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(
        seen.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    stream
}

#[tokio::test]
async fn a_client_that_never_reads_stalls_neither_the_others_nor_the_servers_memory() {
    let server = ExampleServer::start("broadcast", &["server", "127.0.0.1:0"], DEADLINE).await;
    let url = format!("ws://{}/", server.addr);
    let factory = WebSocketClientFactory::new(&url).expect("url");

    // Both healthy clients are registered once their welcome arrives.
    let mut receiver = factory.connect_websocket().await.expect("receiver");
    let sender = factory.connect_websocket().await.expect("sender");
    let (mut sender_reader, mut sender_writer) = sender.split();
    let first = timeout(DEADLINE, receiver.recv())
        .await
        .expect("welcome in time");
    assert_eq!(first.as_ref().and_then(Message::as_text), Some("welcome"));
    let first = timeout(DEADLINE, sender_reader.recv())
        .await
        .expect("welcome in time");
    assert_eq!(first.as_ref().and_then(Message::as_text), Some("welcome"));
    let _stalled = never_reading_client(&server.addr).await;

    let rss_before = server.memory_bytes("VmRSS");

    // The sender gets its own messages back too: it drains them alongside sending.
    let drain = tokio::spawn(async move {
        let mut n = 0;
        while n < MESSAGES {
            match sender_reader.recv().await {
                Some(Message::Text(_)) => n += 1,
                Some(_) => {}
                None => break,
            }
        }
        n
    });
    let send = tokio::spawn(async move {
        for i in 0..MESSAGES {
            // Distinct messages: each starts with its number.
            let mut text = format!("{i:06}");
            text.extend(std::iter::repeat_n('x', MESSAGE_SIZE - text.len()));
            sender_writer.send(text).await.expect("send");
        }
        sender_writer
    });

    let received = timeout(DEADLINE, async {
        let mut next = 0;
        while next < MESSAGES {
            let Some(message) = receiver.recv().await else {
                break;
            };
            let text = message.as_text().expect("text").to_owned();
            assert_eq!(text.len(), MESSAGE_SIZE);
            assert_eq!(&text[..6], format!("{next:06}"), "messages in order");
            next += 1;
        }
        next
    })
    .await
    .expect("every message reaches the healthy receiver in time");
    assert_eq!(received, MESSAGES, "the receiver's connection ended early");
    let _sender_writer = timeout(DEADLINE, send).await.expect("sent").expect("task");
    let echoed = timeout(DEADLINE, drain)
        .await
        .expect("drained")
        .expect("task");
    assert_eq!(echoed, MESSAGES, "the sender gets its own messages too");

    // The peak, not what is left: the slow client's queue is freed when it is dropped.
    let peak = server.memory_bytes("VmHWM");
    let growth = peak.saturating_sub(rss_before);
    eprintln!("server: {rss_before} bytes resident before, peak {peak}");
    assert!(
        growth < 64 << 20,
        "the server grew by {} MiB at its peak ({rss_before} -> {peak} bytes)",
        growth >> 20
    );
}
