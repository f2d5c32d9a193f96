//! Hostile clients against a real server on loopback, with the real clock and short
//! timeouts (what tests/ws_timeouts.rs checks on a paused clock, here under real
//! scheduling): slowloris handshakes trickled a byte at a time or left unfinished,
//! a crowd of them next to a legitimate client, a peer that stops answering pings, one
//! that never answers our close, too many header lines, a duplicate
//! `Sec-WebSocket-Key`, and `X-Forwarded-For` entries beyond `trust_x_forwarded_for`.
//! Every wait is on an event (EOF, a reply, a handler hook) under a time bound.

mod common;

use std::time::{Duration, Instant};

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OPEN_TIMEOUT: Duration = Duration::from_millis(300);
/// How late a timer may fire on a loaded 2-core machine before the test fails.
const SLACK: Duration = Duration::from_secs(3);

fn server_with(options: ServerOptions) -> WebSocketServerFactory {
    WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options)
}

fn short_open_timeout() -> ServerOptions {
    ServerOptions {
        open_handshake_timeout: Some(OPEN_TIMEOUT),
        ..Default::default()
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got).await;
    got
}

/// A handshake request trickled one byte every 20 ms (it would take seconds to
/// finish): the open handshake timeout is a deadline for the whole head, not an idle
/// timer, so the server drops the connection at about 300 ms without answering.
#[tokio::test]
async fn slowloris_trickled_handshake_is_dropped_at_the_open_handshake_timeout() {
    bounded(async {
        let (server, mut sev) = start_echo_server(server_with(short_open_timeout())).await;
        let (request, _) = raw_request(server.addr);
        let s = TcpStream::connect(server.addr).await.unwrap();
        let (mut rd, mut wr) = s.into_split();
        let t0 = Instant::now();
        let trickle = tokio::spawn(async move {
            for b in request {
                if wr.write_all(&[b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let mut got = Vec::new();
        let _ = rd.read_to_end(&mut got).await;
        let elapsed = t0.elapsed();
        trickle.abort();
        assert!(
            got.is_empty(),
            "answered: {:?}",
            String::from_utf8_lossy(&got)
        );
        assert!(
            elapsed >= OPEN_TIMEOUT && elapsed < OPEN_TIMEOUT + SLACK,
            "dropped after {elapsed:?}"
        );
        assert!(sev.is_empty(), "no handler hook ran");
    })
    .await;
}

/// 50 connections that sent half a request and then nothing do not keep a real client
/// from connecting and echoing: its echo completes while every one of them is still
/// open (open timeout 5 s here: room for a loaded 2-core machine to serve the client
/// first), and each of them is dropped once the timeout passes.
#[tokio::test]
async fn slowloris_crowd_does_not_block_a_real_client_and_is_dropped() {
    bounded(async {
        const CROWD_TIMEOUT: Duration = Duration::from_secs(5);
        let options = ServerOptions {
            open_handshake_timeout: Some(CROWD_TIMEOUT),
            ..Default::default()
        };
        let (server, mut sev) = start_echo_server(server_with(options)).await;
        let t0 = Instant::now();
        let mut crowd = Vec::new();
        for _ in 0..50 {
            let mut s = TcpStream::connect(server.addr).await.unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgra")
                .await
                .unwrap();
            crowd.push(s);
        }
        let (client, mut cev) = events();
        let conn = WebSocketClientFactory::new(&server.url("/"))
            .unwrap()
            .connect(move |ch| Recorder::new(ch, client))
            .await
            .expect("a real client gets through");
        let run = tokio::spawn(conn.run());
        let channel = cev.open().await;
        let _ = sev.open().await;
        channel.send_message("hi", false).await.unwrap();
        assert_eq!(cev.message().await.0, "hi");
        // Served meanwhile: not one of the crowd has been dropped yet.
        let mut probe = [0u8; 1];
        for (i, s) in crowd.iter().enumerate() {
            match s.try_read(&mut probe) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                other => panic!(
                    "crowd connection {i} already ended ({other:?}) when the echo arrived after {:?}",
                    t0.elapsed()
                ),
            }
        }
        channel.send_close(Some(1000), None).await.unwrap();
        let _ = cev.close().await;
        let _ = run.await;
        for s in &mut crowd {
            assert!(read_until_closed(s).await.is_empty());
        }
        let elapsed = t0.elapsed();
        assert!(
            elapsed >= CROWD_TIMEOUT && elapsed < CROWD_TIMEOUT + SLACK,
            "crowd dropped after {elapsed:?}"
        );
    })
    .await;
}

/// A request with more header lines than the limit (64), though within the byte
/// limit, is refused with 431 and reaches no handler.
#[tokio::test]
async fn too_many_header_lines_get_431() {
    bounded(async {
        let (server, mut sev) = start_echo_server(server_with(ServerOptions::default())).await;
        let (request, _) = raw_request(server.addr);
        let request = String::from_utf8(request).unwrap();
        let extra: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
        let hostile = request.replacen("\r\n", &format!("\r\n{extra}"), 1);
        assert!(hostile.len() < 16 * 1024);
        let resp = raw_exchange(server.addr, hostile.as_bytes()).await;
        assert_eq!(status_of(&resp), 431, "{resp}");
        assert!(sev.is_empty());
    })
    .await;
}

/// Two `Sec-WebSocket-Key` headers (even equal ones) are a bad request.
#[tokio::test]
async fn duplicate_websocket_key_gets_400() {
    bounded(async {
        let (server, mut sev) = start_echo_server(server_with(ServerOptions::default())).await;
        let (request, key) = raw_request(server.addr);
        let request = String::from_utf8(request).unwrap();
        for second in [key.clone(), "AAAAAAAAAAAAAAAAAAAAAA==".to_owned()] {
            let hostile =
                request.replacen("\r\n", &format!("\r\nSec-WebSocket-Key: {second}\r\n"), 1);
            let resp = raw_exchange(server.addr, hostile.as_bytes()).await;
            assert_eq!(status_of(&resp), 400, "{resp}");
        }
        assert!(sev.is_empty());
    })
    .await;
}

/// The peer a handler sees for a request with `X-Forwarded-For: <xff>`.
async fn peer_seen(trust: usize, xff: &[&str]) -> String {
    let options = ServerOptions {
        trust_x_forwarded_for: trust,
        ..Default::default()
    };
    let (server, mut sev) = start_echo_server(server_with(options)).await;
    let (request, _) = raw_request(server.addr);
    let request = String::from_utf8(request).unwrap();
    let lines: String = xff
        .iter()
        .map(|v| format!("X-Forwarded-For: {v}\r\n"))
        .collect();
    let request = request.replacen("\r\n", &format!("\r\n{lines}"), 1);
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let (head, _) = read_http_head(&mut s).await;
    assert_eq!(status_of(&head), 101, "{head}");
    sev.request().await.peer
}

/// A client cannot choose the address the server sees: without trusted proxies
/// `X-Forwarded-For` is ignored; with N trusted proxies only the entry the Nth proxy
/// from us appended counts, whatever the client put in front of it (or in extra
/// header lines before it).
#[tokio::test]
async fn x_forwarded_for_spoofing_beyond_the_trusted_proxies_is_ignored() {
    bounded(async {
        let direct = peer_seen(0, &["6.6.6.6"]).await;
        assert!(direct.contains("127.0.0.1"), "{direct}");
        assert!(!direct.contains("6.6.6.6"), "{direct}");

        let one = peer_seen(1, &["6.6.6.6, 7.7.7.7", "10.0.0.1"]).await;
        assert!(one.contains("10.0.0.1"), "{one}");
        let two = peer_seen(2, &["6.6.6.6, 10.0.0.1, 10.0.0.2"]).await;
        assert!(two.contains("10.0.0.1"), "{two}");
        // Without the header, the socket address, trusted proxies or not.
        let none = peer_seen(1, &[]).await;
        assert!(none.contains("127.0.0.1"), "{none}");
    })
    .await;
}

/// A peer that completes the handshake and then never answers pings (real clock,
/// ping every 200 ms, 300 ms to answer) is dropped at about 500 ms.
#[tokio::test]
async fn silent_peer_is_dropped_at_the_auto_ping_timeout() {
    bounded(async {
        let options = ServerOptions {
            auto_ping_interval: Some(Duration::from_millis(200)),
            auto_ping_timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        let (server, mut sev) = start_echo_server(server_with(options)).await;
        let (s, rest) = raw_connect(server.addr).await;
        let t0 = Instant::now();
        let mut peer = FrameReader::new(s, rest);
        assert_eq!(peer.next().await.expect("a ping").opcode, 9);
        peer.expect_eof().await;
        let elapsed = t0.elapsed();
        let want = Duration::from_millis(500);
        assert!(
            elapsed >= want && elapsed < want + SLACK,
            "dropped after {elapsed:?}"
        );
        let (clean, code, _) = sev.close().await;
        assert_eq!((clean, code), (false, Some(1006)));
    })
    .await;
}

/// A peer that never answers our close frame is dropped at the close handshake
/// timeout (real clock, 300 ms).
#[tokio::test]
async fn peer_never_answering_our_close_is_dropped_at_the_close_timeout() {
    bounded(async {
        let options = ServerOptions {
            close_handshake_timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        let (server, mut sev) = start_echo_server(server_with(options)).await;
        let (s, rest) = raw_connect(server.addr).await;
        let mut peer = FrameReader::new(s, rest);
        // The Recorder starts the closing handshake on "close:<code>".
        peer.send(&client_frame(1, b"close:4000")).await;
        let close = peer.next().await.expect("the server's close frame");
        let t0 = Instant::now();
        assert_eq!(close.close_code(), Some(4000));
        peer.expect_eof().await;
        let elapsed = t0.elapsed();
        assert!(
            elapsed >= Duration::from_millis(250) && elapsed < Duration::from_millis(300) + SLACK,
            "dropped after {elapsed:?}"
        );
        let (clean, code, _) = sev.close().await;
        assert_eq!((clean, code), (false, Some(1006)));
    })
    .await;
}

/// A peer that asks for a large echo, never reads it, and then sends its close: our
/// close reply cannot leave behind the echo, so the server would wait for the flush
/// forever. The flush and shutdown are bounded by the close timeout (real clock,
/// 300 ms): the connection ends there, unclean, with the peer's code.
#[tokio::test]
async fn peer_that_stops_reading_and_closes_is_dropped_at_the_close_timeout() {
    bounded(async {
        const ECHO: usize = 12 << 20;
        let options = ServerOptions {
            close_handshake_timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        let (server, mut sev) = start_echo_server(server_with(options)).await;
        // A small receive buffer that is never read: the echo stalls in the server.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let mut s = socket.connect(server.addr).await.unwrap();
        let (request, _) = raw_request(server.addr);
        s.write_all(&request).await.unwrap();
        let (head, _) = read_http_head(&mut s).await;
        assert_eq!(status_of(&head), 101, "{head}");
        let _ch = sev.open().await;
        s.write_all(&client_frame(2, &noise(ECHO, 7)))
            .await
            .unwrap();
        assert_eq!(sev.message().await.0.len(), ECHO);
        s.write_all(&client_frame(8, &[0x03, 0xe8])).await.unwrap();
        let t0 = Instant::now();
        let (clean, code, reason) = sev.close().await;
        let elapsed = t0.elapsed();
        assert!(
            elapsed >= Duration::from_millis(250) && elapsed < Duration::from_millis(300) + SLACK,
            "dropped after {elapsed:?}"
        );
        assert!(
            !clean,
            "our close reply never reached the peer ({reason:?})"
        );
        assert_eq!(code, Some(1000));
        drop(s);
    })
    .await;
}
