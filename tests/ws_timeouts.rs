//! Timers with tokio's paused clock over in-memory streams: time only moves when every
//! task waits, so each test runs instantly yet checks the virtual time that elapsed.
//! No real sockets here: with a paused clock, time would also jump while the kernel
//! has not yet delivered bytes, and timers would fire early on a loaded machine (the
//! real-clock, real-socket versions of these checks are in tests/ws_abuse.rs, and the
//! last test here).

mod common;

use std::time::Duration;

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::{Error, WebSocketClientFactory, WebSocketServerFactory};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

const OPCODE_TEXT: u8 = 1;
const OPCODE_CLOSE: u8 = 8;
const OPCODE_PING: u8 = 9;

fn server_with(options: ServerOptions) -> WebSocketServerFactory {
    WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options)
}

/// A client factory for in-memory connections (the URL only fills the request).
fn client_with(options: ClientOptions) -> WebSocketClientFactory {
    WebSocketClientFactory::new("ws://127.0.0.1/")
        .unwrap()
        .with_protocol_options(ClientOptions {
            per_message_compression_offers: Vec::new(),
            ..options
        })
}

/// Asserts `elapsed` is `want` (the timer's duration) up to the timer's granularity:
/// virtual time over in-memory streams has no scheduling delay to allow for.
fn assert_about(elapsed: Duration, want: Duration) {
    assert!(
        elapsed >= want && elapsed < want + Duration::from_millis(50),
        "elapsed {elapsed:?}, expected about {want:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn open_handshake_timeout_drops_half_a_request() {
    bounded(async {
        let options = ServerOptions {
            open_handshake_timeout: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        let (mut s, mut sev, task) = serve_in_memory(server_with(options));
        let t0 = Instant::now();
        s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got).await;
        assert!(
            got.is_empty(),
            "no answer to half a request: {:?}",
            String::from_utf8_lossy(&got)
        );
        assert_about(t0.elapsed(), Duration::from_secs(5));
        let r = task.await.unwrap();
        assert!(matches!(r, Err(Error::Timeout(_))), "{r:?}");
        assert!(sev.is_empty(), "no handler hook ran");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_open_handshake_timeout_when_server_never_answers() {
    bounded(async {
        let (client_end, mut server_end) = in_memory_pair();
        let silent = tokio::spawn(async move {
            let _ = read_http_head(&mut server_end).await;
            // Never answer; hold the stream until the client gives up.
            let mut b = [0u8; 16];
            let _ = server_end.read(&mut b).await;
        });
        let factory = client_with(ClientOptions {
            open_handshake_timeout: Some(Duration::from_secs(7)),
            ..Default::default()
        });
        let t0 = Instant::now();
        let (tx, _rx) = events();
        let r = factory
            .connect_stream(client_end, |ch| Recorder::new(ch, tx))
            .await;
        assert!(matches!(r, Err(Error::Timeout(_))), "{:?}", r.err());
        assert_about(t0.elapsed(), Duration::from_secs(7));
        silent.await.unwrap();
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn server_auto_ping_drops_a_silent_peer() {
    bounded(async {
        let options = ServerOptions {
            auto_ping_interval: Some(Duration::from_secs(2)),
            auto_ping_timeout: Some(Duration::from_secs(1)),
            auto_ping_size: 8,
            ..Default::default()
        };
        let (s, mut sev, _task) = serve_in_memory(server_with(options));
        let (s, rest) = raw_open(s, IN_MEMORY_ADDR).await;
        let t0 = Instant::now();
        let mut peer = FrameReader::new(s, rest);
        let ping = peer.next().await.expect("a ping");
        assert_eq!(ping.opcode, OPCODE_PING);
        assert_eq!(ping.payload.len(), 8);
        assert_about(t0.elapsed(), Duration::from_secs(2));
        // We never answer: the server gives up one auto_ping_timeout later.
        peer.expect_eof().await;
        assert_about(t0.elapsed(), Duration::from_secs(3));
        let (clean, code, reason) = sev.close().await;
        assert!(!clean);
        assert_eq!(code, Some(1006));
        assert!(reason.unwrap_or_default().contains("ping"));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn auto_ping_keeps_an_answering_peer() {
    bounded(async {
        let options = ServerOptions {
            auto_ping_interval: Some(Duration::from_secs(1)),
            auto_ping_timeout: Some(Duration::from_millis(500)),
            ..Default::default()
        };
        let (s, mut sev, _server_task) = serve_in_memory(server_with(options));
        let factory = WebSocketClientFactory::new("ws://127.0.0.1/").unwrap();
        let (tx, mut rx) = events();
        let conn = factory
            .connect_stream(s, |ch| Recorder::new(ch, tx))
            .await
            .unwrap();
        let _task = conn.spawn();
        let ch = rx.open().await;
        let t0 = Instant::now();
        // Our client answers every ping: the server sees its pongs and keeps going.
        for _ in 0..10 {
            sev.until(|e| matches!(e, Ev::Pong(_)).then_some(())).await;
        }
        assert!(t0.elapsed() >= Duration::from_secs(10));
        ch.send_text("still here").await.unwrap();
        assert_eq!(rx.message().await.0, bytes::Bytes::from("still here"));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_auto_ping_drops_a_silent_server() {
    bounded(async {
        let factory = client_with(ClientOptions {
            auto_ping_interval: Some(Duration::from_secs(4)),
            auto_ping_timeout: Some(Duration::from_secs(2)),
            ..Default::default()
        });
        let (conn, mut rx, server_side) = connect_to_raw_server(&factory).await;
        let task = conn.spawn();
        let t0 = Instant::now();
        let mut peer = FrameReader::new(server_side, Vec::new());
        let ping = peer.next().await.expect("a ping");
        assert_eq!(ping.opcode, OPCODE_PING);
        assert_about(t0.elapsed(), Duration::from_secs(4));
        let (clean, code, reason) = rx.close().await;
        assert!(!clean);
        assert_eq!(code, Some(1006));
        assert!(reason.unwrap_or_default().contains("ping"));
        assert_about(t0.elapsed(), Duration::from_secs(6));
        peer.expect_eof().await;
        assert!(!task.await.unwrap().1.was_clean);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn server_close_handshake_timeout_when_peer_never_answers() {
    bounded(async {
        let options = ServerOptions {
            close_handshake_timeout: Some(Duration::from_secs(3)),
            ..Default::default()
        };
        let (s, mut sev, _task) = serve_in_memory(server_with(options));
        let (s, rest) = raw_open(s, IN_MEMORY_ADDR).await;
        let mut peer = FrameReader::new(s, rest);
        // The Recorder starts the closing handshake on "close:<code>".
        peer.send(&client_frame(OPCODE_TEXT, b"close:4000")).await;
        let close = peer.next().await.expect("the server's close frame");
        let t0 = Instant::now();
        assert_eq!(close.close_code(), Some(4000));
        // We never reply with our close frame: the server drops us after 3 s.
        peer.expect_eof().await;
        assert_about(t0.elapsed(), Duration::from_secs(3));
        let (clean, code, _) = sev.close().await;
        assert!(!clean);
        assert_eq!(code, Some(1006));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_close_handshake_timeout_when_server_never_answers() {
    bounded(async {
        let factory = client_with(ClientOptions {
            close_handshake_timeout: Some(Duration::from_secs(2)),
            ..Default::default()
        });
        let (conn, mut rx, server_side) = connect_to_raw_server(&factory).await;
        let task = conn.spawn();
        let ch = rx.open().await;
        let mut peer = FrameReader::new(server_side, Vec::new());
        ch.send_close(Some(1000), Some("bye")).await.unwrap();
        let close = peer.next().await.expect("the client's close frame");
        let t0 = Instant::now();
        assert_eq!(close.close_code(), Some(1000));
        assert_eq!(&close.payload[2..], b"bye");
        let (clean, code, _) = rx.close().await;
        assert!(!clean);
        assert_eq!(code, Some(1006));
        assert_about(t0.elapsed(), Duration::from_secs(2));
        peer.expect_eof().await;
        assert!(!task.await.unwrap().1.was_clean);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn client_drops_tcp_when_server_lingers_after_the_closing_handshake() {
    bounded(async {
        let factory = client_with(ClientOptions {
            server_connection_drop_timeout: Some(Duration::from_secs(5)),
            ..Default::default()
        });
        let (conn, mut rx, server_side) = connect_to_raw_server(&factory).await;
        let task = conn.spawn();
        let _ch = rx.open().await;
        let mut peer = FrameReader::new(server_side, Vec::new());
        // The server closes; the client replies; the server then fails to drop TCP.
        peer.send(&frame(true, OPCODE_CLOSE, &[0x0f, 0xa0], None))
            .await;
        let reply = peer.next().await.expect("the client's close reply");
        let t0 = Instant::now();
        assert_eq!(reply.opcode, OPCODE_CLOSE);
        let (clean, code, _) = rx.close().await;
        assert_about(t0.elapsed(), Duration::from_secs(5));
        assert!(clean, "the closing handshake itself completed");
        assert_eq!(code, Some(4000));
        peer.expect_eof().await;
        assert!(task.await.unwrap().1.was_clean);
    })
    .await;
}

/// `connect` over TCP (not only `connect_stream`) is bounded by the open handshake
/// timeout: a real listener that accepts and never answers, on the real clock (a
/// lower bound on the wait; the upper bound is the test's own).
#[tokio::test]
async fn client_connect_over_tcp_times_out_when_server_never_answers() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (done_tx, done_rx) = once::<()>();
        let silent = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = read_http_head(&mut s).await;
            // Hold the socket, unanswered, until the client has given up.
            let _ = done_rx.await;
        });
        let want = Duration::from_millis(300);
        let factory = WebSocketClientFactory::new(&format!("ws://{addr}/"))
            .unwrap()
            .with_protocol_options(ClientOptions {
                open_handshake_timeout: Some(want),
                ..Default::default()
            });
        let t0 = std::time::Instant::now();
        let (tx, _rx) = events();
        let r = factory.connect(|ch| Recorder::new(ch, tx)).await;
        assert!(matches!(r, Err(Error::Timeout(_))), "{:?}", r.err());
        assert!(t0.elapsed() >= want, "gave up after {:?}", t0.elapsed());
        let _ = done_tx.send(());
        silent.await.unwrap();
    })
    .await;
}
