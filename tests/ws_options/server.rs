//! `ServerOptions` fields, seen by a raw client.

use std::net::SocketAddr;
use std::time::Duration;

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::WebSocketServerFactory;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::common::*;
use super::*;

/// An echoing server with `options` on a loopback port, and a raw client connected to it.
async fn server_and_peer(options: ServerOptions) -> (TestServer, Events, FrameReader) {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
    let (server, events) = start_echo_server(factory).await;
    let (stream, rest) = raw_connect(server.addr).await;
    (server, events, FrameReader::new(stream, rest))
}

#[tokio::test]
async fn server_versions() {
    bounded(async {
        let options = ServerOptions {
            versions: vec![13],
            ..Default::default()
        };
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
        let (server, _events) = start_echo_server(factory).await;
        let addr = server.addr;
        let request = |version: &str| {
            format!(
                "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n"
            )
        };
        // Version 8 is a default version, refused when only 13 is configured.
        let resp = raw_exchange(addr, request("8").as_bytes()).await;
        assert_eq!(status_of(&resp), 426, "{resp}");
        assert_eq!(header_of(&resp, "sec-websocket-version"), Some("13"));
        // The status page lists the configured versions.
        let page = raw_exchange(addr, format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).await;
        assert!(page.contains("versions 13)"), "{page}");
        let _ = raw_connect(addr).await;
    })
    .await;
}

#[tokio::test]
async fn server_utf8_validate_incoming() {
    bounded(async {
        let invalid = client_frame(TEXT, &[b'a', 0xff, 0xfe]);
        let (_s, _e, mut peer) = server_and_peer(ServerOptions::default()).await;
        peer.send(&invalid).await;
        assert_eq!(peer.next().await.unwrap().close_code(), Some(1007));

        let options = ServerOptions {
            utf8_validate_incoming: false,
            ..Default::default()
        };
        let (_s, mut events, mut peer) = server_and_peer(options).await;
        peer.send(&invalid).await;
        let (payload, is_binary) = events.message().await;
        assert_eq!((&payload[..], is_binary), (&[b'a', 0xff, 0xfe][..], false));
    })
    .await;
}

#[tokio::test]
async fn server_mask_server_frames() {
    bounded(async {
        let (_s, _e, mut peer) = server_and_peer(ServerOptions::default()).await;
        peer.send(&client_frame(TEXT, b"hello")).await;
        let f = wire_frame(&mut peer).await;
        assert_eq!((f.rsv1, f.key, &f.wire[..]), (false, None, &b"hello"[..]));

        let options = ServerOptions {
            mask_server_frames: true,
            ..Default::default()
        };
        let (_s, _e, mut peer) = server_and_peer(options).await;
        peer.send(&client_frame(TEXT, b"hello")).await;
        let f = wire_frame(&mut peer).await;
        let key = f.key.expect("the server masked its frame");
        assert_eq!(xor(&f.wire, key), b"hello");
    })
    .await;
}

#[tokio::test]
async fn server_require_masked_client_frames() {
    bounded(async {
        let unmasked = frame(true, TEXT, b"plain", None);
        let (_s, _e, mut peer) = server_and_peer(ServerOptions::default()).await;
        peer.send(&unmasked).await;
        assert_eq!(peer.next().await.unwrap().close_code(), Some(1002));

        let options = ServerOptions {
            require_masked_client_frames: false,
            ..Default::default()
        };
        let (_s, _e, mut peer) = server_and_peer(options).await;
        peer.send(&unmasked).await;
        let echo = peer.next().await.unwrap();
        assert_eq!((echo.opcode, &echo.payload[..]), (TEXT, &b"plain"[..]));
    })
    .await;
}

#[tokio::test]
async fn server_apply_mask() {
    bounded(async {
        let key = [1, 2, 3, 4];
        let sent = frame(true, BINARY, b"payload", Some(key));
        let options = ServerOptions {
            apply_mask: false,
            ..Default::default()
        };
        let (_s, mut events, mut peer) = server_and_peer(options).await;
        peer.send(&sent).await;
        // Not unmasked: the handler gets the bytes as they were on the wire.
        assert_eq!(events.message().await.0, Bytes::from(xor(b"payload", key)));

        let (_s, mut events, mut peer) = server_and_peer(ServerOptions::default()).await;
        peer.send(&sent).await;
        assert_eq!(events.message().await.0, Bytes::from_static(b"payload"));
    })
    .await;
}

#[tokio::test]
async fn server_max_frame_payload_size() {
    bounded(async {
        let options = ServerOptions {
            max_frame_payload_size: 10,
            ..Default::default()
        };
        let (_s, mut events, mut peer) = server_and_peer(options).await;
        peer.send(&client_frame(BINARY, &[7; 10])).await;
        assert_eq!(events.message().await.0.len(), 10);
        peer.send(&client_frame(BINARY, &[7; 11])).await;
        let echo = peer.next().await.unwrap();
        assert_eq!(echo.payload, [7; 10]);
        assert_eq!(peer.next().await.unwrap().close_code(), Some(1009));
    })
    .await;
}

/// A message begun and not finished within `message_timeout` fails with 1008; complete
/// messages are not timed.
#[tokio::test]
async fn server_message_timeout() {
    bounded(async {
        let timeout = Duration::from_millis(300);
        let options = ServerOptions {
            message_timeout: Some(timeout),
            ..Default::default()
        };
        let (_s, _events, mut peer) = server_and_peer(options).await;
        peer.send(&client_frame(TEXT, b"whole")).await;
        assert_eq!(peer.next().await.unwrap().payload, b"whole");
        let t0 = std::time::Instant::now();
        peer.send(&frame(false, BINARY, b"begun", Some([1, 2, 3, 4])))
            .await;
        assert_eq!(peer.next().await.unwrap().close_code(), Some(1008));
        assert!(t0.elapsed() >= timeout, "failed after {:?}", t0.elapsed());
    })
    .await;
}

/// Past `max_buffered_bytes_total` (here smaller than one message), a message in
/// progress without a message timeout fails at once with 1013; smaller ones are served.
#[tokio::test]
async fn server_max_buffered_bytes_total() {
    bounded(async {
        let options = ServerOptions {
            max_buffered_bytes_total: 64 * 1024,
            message_timeout: None,
            ..Default::default()
        };
        let (_s, _events, mut peer) = server_and_peer(options).await;
        peer.send(&client_frame(TEXT, b"small")).await;
        assert_eq!(peer.next().await.unwrap().payload, b"small");
        let begun = frame(false, BINARY, &[1; 100 * 1024], Some([1, 2, 3, 4]));
        peer.send(&begun).await;
        assert_eq!(peer.next().await.unwrap().close_code(), Some(1013));
    })
    .await;
}

#[tokio::test]
async fn server_auto_fragment_size() {
    bounded(async {
        let options = ServerOptions {
            auto_fragment_size: 10,
            ..Default::default()
        };
        let (_s, _e, mut peer) = server_and_peer(options).await;
        let message = b"abcdefghijklmnopqrstuvwxy";
        peer.send(&client_frame(TEXT, message)).await;
        let mut frames = Vec::new();
        for _ in 0..3 {
            let f = peer.next().await.unwrap();
            frames.push((f.fin, f.opcode, f.payload));
        }
        assert_eq!(
            frames,
            [
                (false, TEXT, message[..10].to_vec()),
                (false, CONT, message[10..20].to_vec()),
                (true, CONT, message[20..].to_vec()),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn server_echo_close_code_reason() {
    bounded(async {
        let close = client_frame(CLOSE, &close_payload(4001, "bye"));
        let (_s, _e, mut peer) = server_and_peer(ServerOptions::default()).await;
        peer.send(&close).await;
        assert_eq!(peer.next().await.unwrap().payload, 1000u16.to_be_bytes());

        let options = ServerOptions {
            echo_close_code_reason: true,
            ..Default::default()
        };
        let (_s, _e, mut peer) = server_and_peer(options).await;
        peer.send(&close).await;
        assert_eq!(
            peer.next().await.unwrap().payload,
            close_payload(4001, "bye")
        );
    })
    .await;
}

/// Whether TCP_NODELAY is set on the socket the server accepted, read through a
/// duplicate of its descriptor while the connection is open.
async fn server_socket_nodelay(options: ServerOptions) -> bool {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = tokio::spawn(raw_connect(addr));
    let (tcp, peer_addr) = listener.accept().await.unwrap();
    let probe = std::net::TcpStream::from(
        std::os::fd::AsFd::as_fd(&tcp)
            .try_clone_to_owned()
            .expect("dup"),
    );
    let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
    let (tx, mut events) = events();
    let server = tokio::spawn(async move {
        factory
            .accept_tcp(tcp, peer_addr, |ch| Recorder::new(ch, tx))
            .await
    });
    events.open().await;
    let nodelay = probe.nodelay().unwrap();
    let (_stream, _) = client.await.unwrap();
    server.abort();
    nodelay
}

#[tokio::test]
async fn server_tcp_no_delay() {
    bounded(async {
        assert!(server_socket_nodelay(ServerOptions::default()).await);
        let options = ServerOptions {
            tcp_no_delay: false,
            ..Default::default()
        };
        assert!(!server_socket_nodelay(options).await);
    })
    .await;
}

#[tokio::test]
async fn server_serve_flash_socket_policy_and_flash_socket_policy() {
    bounded(async {
        let policy = "<cross-domain-policy><allow-access-from domain=\"a.test\" to-ports=\"9000\" /></cross-domain-policy>";
        let options = ServerOptions {
            serve_flash_socket_policy: true,
            flash_socket_policy: policy.to_string(),
            ..Default::default()
        };
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
        let (server, _events) = start_echo_server(factory).await;
        let answer = raw_exchange(server.addr, b"<policy-file-request/>\0").await;
        assert_eq!(answer, format!("{policy}\0"));

        // Off (the default): the request is just a malformed HTTP head.
        let (server, _events) = start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let answer = raw_exchange(server.addr, b"<policy-file-request/>\0\r\n\r\n").await;
        assert_eq!(status_of(&answer), 400, "{answer}");
    })
    .await;
}

/// A raw client that offers permessage-deflate; returns it after the 101.
#[cfg(feature = "deflate")]
async fn deflate_peer(addr: SocketAddr) -> FrameReader {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let (head, rest) = read_http_head(&mut s).await;
    assert_eq!(status_of(&head), 101, "{head}");
    let ext = header_of(&head, "sec-websocket-extensions").unwrap_or("");
    assert!(ext.starts_with("permessage-deflate"), "{head}");
    FrameReader::new(s, rest)
}

#[cfg(feature = "deflate")]
#[tokio::test]
async fn server_per_message_compression_threshold() {
    bounded(async {
        let long = "a".repeat(200);
        // Default 0: even two bytes are compressed.
        let (server, _events) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let mut peer = deflate_peer(server.addr).await;
        peer.send(&client_frame(TEXT, b"hi")).await;
        assert!(wire_frame(&mut peer).await.rsv1, "compressed");

        let options = ServerOptions {
            per_message_compression_threshold: 64,
            ..Default::default()
        };
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
        let (server, _events) = start_echo_server(factory).await;
        let mut peer = deflate_peer(server.addr).await;
        peer.send(&client_frame(TEXT, b"hi")).await;
        let short = wire_frame(&mut peer).await;
        assert!(!short.rsv1, "under the threshold: sent as is");
        assert_eq!(short.wire, b"hi");
        peer.send(&client_frame(TEXT, long.as_bytes())).await;
        let big = wire_frame(&mut peer).await;
        assert!(big.rsv1 && big.wire.len() < long.len(), "{big:?}");
    })
    .await;
}

#[tokio::test]
async fn server_max_handshake_size_and_headers() {
    bounded(async {
        let options = ServerOptions {
            max_handshake_size: 1024,
            max_handshake_headers: 8,
            ..Default::default()
        };
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
        let (server, _events) = start_echo_server(factory).await;
        let (default_server, _e) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let with_extra = |addr: SocketAddr, extra: &str| {
            let (req, _key) = raw_request(addr);
            let req = String::from_utf8(req).unwrap();
            req.replacen("\r\n", &format!("\r\n{extra}"), 1)
        };
        // A 2 KiB header: over 1 KiB, within the default 16 KiB.
        let big = format!("X-Big: {}\r\n", "b".repeat(2048));
        let resp = raw_exchange(server.addr, with_extra(server.addr, &big).as_bytes()).await;
        assert_eq!(status_of(&resp), 431, "{resp}");
        let mut s = TcpStream::connect(default_server.addr).await.unwrap();
        s.write_all(with_extra(default_server.addr, &big).as_bytes())
            .await
            .unwrap();
        assert_eq!(status_of(&read_http_head(&mut s).await.0), 101);

        // Ten more header lines: over 8 in all, within the default 64.
        let many: String = (0..10).map(|i| format!("X-H{i}: v\r\n")).collect();
        let resp = raw_exchange(server.addr, with_extra(server.addr, &many).as_bytes()).await;
        assert_eq!(status_of(&resp), 431, "{resp}");
        let mut s = TcpStream::connect(default_server.addr).await.unwrap();
        s.write_all(with_extra(default_server.addr, &many).as_bytes())
            .await
            .unwrap();
        assert_eq!(status_of(&read_http_head(&mut s).await.0), 101);
    })
    .await;
}

/// Runs one echoed message through a server with `options` and a raw client; returns
/// what was logged meanwhile.
async fn server_trace(options: ServerOptions) -> String {
    let (out, _guard) = capture_trace();
    let (_s, _events, mut peer) = server_and_peer(options).await;
    peer.send(&client_frame(TEXT, b"logged")).await;
    assert_eq!(peer.next().await.unwrap().payload, b"logged");
    peer.send(&client_frame(CLOSE, &close_payload(1000, "")))
        .await;
    assert_eq!(peer.next().await.unwrap().close_code(), Some(1000));
    peer.expect_eof().await;
    out.text()
}

#[tokio::test]
async fn server_log_frames_and_log_octets() {
    bounded(async {
        let quiet = server_trace(ServerOptions::default()).await;
        let frames = server_trace(ServerOptions {
            log_frames: true,
            ..Default::default()
        })
        .await;
        let octets = server_trace(ServerOptions {
            log_octets: true,
            ..Default::default()
        })
        .await;
        assert_log_options(&quiet, &frames, &octets);
    })
    .await;
}
