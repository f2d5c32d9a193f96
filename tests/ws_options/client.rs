//! `ClientOptions` fields, seen by a raw server.

use std::time::Duration;

use autobahn::websocket::handshake::accept_key;
use autobahn::websocket::options::ClientOptions;
use autobahn::websocket::stream::MaybeTlsStream;
use autobahn::websocket::{CloseInfo, Error, WebSocketClientFactory};
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::common::*;
use super::*;

/// A client with `options` connected to a raw server on a loopback port.
struct ClientUnderTest {
    /// The raw server's side of the connection.
    peer: FrameReader,
    /// The client's request head.
    request: String,
    events: Events,
    /// The client's connection: its end, or why it never opened.
    task: JoinHandle<Result<CloseInfo, Error>>,
}

/// Starts a client with `options`; the raw server answers `101` with the
/// `response_extra` header lines (each ending in CRLF).
async fn client_and_peer(options: ClientOptions, response_extra: &str) -> ClientUnderTest {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let factory = WebSocketClientFactory::new(&format!("ws://{addr}/"))
        .unwrap()
        .with_protocol_options(options);
    let (tx, events) = events();
    let task = tokio::spawn(async move {
        let conn = factory.connect(|ch| Recorder::new(ch, tx)).await?;
        Ok(conn.run().await.1)
    });
    let (mut s, _) = listener.accept().await.unwrap();
    let (request, rest) = read_http_head(&mut s).await;
    assert!(rest.is_empty());
    let key = header_of(&request, "sec-websocket-key").expect("key");
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n{response_extra}\r\n",
        accept_key(key)
    );
    s.write_all(response.as_bytes()).await.unwrap();
    ClientUnderTest {
        peer: FrameReader::new(s, Vec::new()),
        request,
        events,
        task,
    }
}

/// An unmasked frame (what a server sends).
fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(true, opcode, payload, None)
}

#[tokio::test]
async fn client_version() {
    bounded(async {
        let mut c = client_and_peer(ClientOptions::default(), "").await;
        assert_eq!(header_of(&c.request, "sec-websocket-version"), Some("13"));
        c.events.open().await;

        let options = ClientOptions {
            version: 8,
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        assert_eq!(header_of(&c.request, "sec-websocket-version"), Some("8"));
        c.events.open().await;
    })
    .await;
}

#[tokio::test]
async fn client_utf8_validate_incoming() {
    bounded(async {
        let invalid = server_frame(TEXT, &[b'a', 0xff, 0xfe]);
        let mut c = client_and_peer(ClientOptions::default(), "").await;
        c.peer.send(&invalid).await;
        assert_eq!(c.peer.next().await.unwrap().close_code(), Some(1007));

        let options = ClientOptions {
            utf8_validate_incoming: false,
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        c.peer.send(&invalid).await;
        assert_eq!(
            c.events.message().await.0,
            Bytes::from_static(&[b'a', 0xff, 0xfe])
        );
    })
    .await;
}

#[tokio::test]
async fn client_accept_masked_server_frames() {
    bounded(async {
        let masked = frame(true, TEXT, b"hi", Some([9, 8, 7, 6]));
        let mut c = client_and_peer(ClientOptions::default(), "").await;
        c.peer.send(&masked).await;
        assert_eq!(c.peer.next().await.unwrap().close_code(), Some(1002));

        let options = ClientOptions {
            accept_masked_server_frames: true,
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        c.peer.send(&masked).await;
        assert_eq!(c.events.message().await.0, Bytes::from_static(b"hi"));
    })
    .await;
}

/// The frame a client with `options` puts on the wire for the text `payload`.
async fn client_sends(options: ClientOptions, payload: &str) -> WireFrame {
    let mut c = client_and_peer(options, "").await;
    c.events.open().await.send_text(payload).await.unwrap();
    wire_frame(&mut c.peer).await
}

#[tokio::test]
async fn client_mask_client_frames() {
    bounded(async {
        let f = client_sends(ClientOptions::default(), "hello").await;
        assert_eq!(xor(&f.wire, f.key.expect("masked")), b"hello");

        let options = ClientOptions {
            mask_client_frames: false,
            ..Default::default()
        };
        let f = client_sends(options, "hello").await;
        assert_eq!((f.opcode, f.key, &f.wire[..]), (TEXT, None, &b"hello"[..]));
    })
    .await;
}

#[tokio::test]
async fn client_apply_mask() {
    bounded(async {
        let options = ClientOptions {
            apply_mask: false,
            ..Default::default()
        };
        // A mask key is sent, but the payload is not XORed with it.
        let f = client_sends(options, "payload").await;
        assert!(f.key.is_some_and(|k| k != [0; 4]), "{f:?}");
        assert_eq!(f.wire, b"payload");
    })
    .await;
}

#[tokio::test]
async fn client_max_frame_and_message_payload_size() {
    bounded(async {
        let options = ClientOptions {
            max_frame_payload_size: 10,
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        c.peer.send(&server_frame(BINARY, &[1; 10])).await;
        assert_eq!(c.events.message().await.0.len(), 10);
        c.peer.send(&server_frame(BINARY, &[1; 11])).await;
        assert_eq!(c.peer.next().await.unwrap().close_code(), Some(1009));

        let options = ClientOptions {
            max_message_payload_size: 10,
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        c.peer.send(&server_frame(BINARY, &[1; 10])).await;
        assert_eq!(c.events.message().await.0.len(), 10);
        let mut two = frame(false, BINARY, &[2; 6], None);
        two.extend(frame(true, CONT, &[2; 6], None));
        c.peer.send(&two).await;
        assert_eq!(c.peer.next().await.unwrap().close_code(), Some(1009));
    })
    .await;
}

/// A message the server begins and does not finish within `message_timeout` fails
/// with 1008.
#[tokio::test]
async fn client_message_timeout() {
    bounded(async {
        let timeout = Duration::from_millis(300);
        let options = ClientOptions {
            message_timeout: Some(timeout),
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        let t0 = std::time::Instant::now();
        c.peer.send(&frame(false, BINARY, b"begun", None)).await;
        assert_eq!(c.peer.next().await.unwrap().close_code(), Some(1008));
        assert!(t0.elapsed() >= timeout, "failed after {:?}", t0.elapsed());
    })
    .await;
}

#[tokio::test]
async fn client_auto_fragment_size() {
    bounded(async {
        let options = ClientOptions {
            auto_fragment_size: 10,
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        let message = "abcdefghijklmnopqrstuvwxy";
        c.events.open().await.send_text(message).await.unwrap();
        let mut frames = Vec::new();
        for _ in 0..3 {
            let f = c.peer.next().await.unwrap();
            frames.push((f.fin, f.opcode, f.payload));
        }
        let m = message.as_bytes();
        assert_eq!(
            frames,
            [
                (false, TEXT, m[..10].to_vec()),
                (false, CONT, m[10..20].to_vec()),
                (true, CONT, m[20..].to_vec()),
            ]
        );
    })
    .await;
}

/// After a protocol violation the client sends 1002, then drops TCP: at once with
/// `fail_by_drop` (though its close timeout is an hour), or only when its close
/// timeout expires without it.
#[tokio::test]
async fn client_fail_by_drop() {
    bounded(async {
        let reserved_opcode = server_frame(3, b"x");
        let options = ClientOptions {
            close_handshake_timeout: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        c.peer.send(&reserved_opcode).await;
        assert_eq!(c.peer.next().await.unwrap().close_code(), Some(1002));
        c.peer.expect_eof().await;

        let timeout = Duration::from_secs(1);
        let options = ClientOptions {
            fail_by_drop: false,
            close_handshake_timeout: Some(timeout),
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        let t0 = std::time::Instant::now();
        c.peer.send(&reserved_opcode).await;
        assert_eq!(c.peer.next().await.unwrap().close_code(), Some(1002));
        c.peer.expect_eof().await;
        assert!(t0.elapsed() >= timeout, "dropped after {:?}", t0.elapsed());
    })
    .await;
}

#[tokio::test]
async fn client_echo_close_code_reason() {
    bounded(async {
        let close = server_frame(CLOSE, &close_payload(4001, "bye"));
        let mut c = client_and_peer(ClientOptions::default(), "").await;
        c.peer.send(&close).await;
        assert_eq!(c.peer.next().await.unwrap().payload, 1000u16.to_be_bytes());

        let options = ClientOptions {
            echo_close_code_reason: true,
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        c.peer.send(&close).await;
        assert_eq!(
            c.peer.next().await.unwrap().payload,
            close_payload(4001, "bye")
        );
    })
    .await;
}

/// Whether TCP_NODELAY is set on the socket of a client with `options`.
async fn client_socket_nodelay(options: ClientOptions) -> bool {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { raw_accept(&listener).await });
    let factory = WebSocketClientFactory::new(&format!("ws://{addr}/"))
        .unwrap()
        .with_protocol_options(options);
    let (tx, _events) = events();
    let conn = factory.connect(|ch| Recorder::new(ch, tx)).await.unwrap();
    let _server_side = server.await.unwrap();
    match conn.stream() {
        MaybeTlsStream::Tcp(s) => s.nodelay().unwrap(),
        #[allow(unreachable_patterns)]
        _ => panic!("ws:// gives a plain TCP stream"),
    }
}

#[tokio::test]
async fn client_tcp_no_delay() {
    bounded(async {
        assert!(client_socket_nodelay(ClientOptions::default()).await);
        let options = ClientOptions {
            tcp_no_delay: false,
            ..Default::default()
        };
        assert!(!client_socket_nodelay(options).await);
    })
    .await;
}

#[cfg(feature = "deflate")]
const DEFLATE_ACCEPTED: &str = "Sec-WebSocket-Extensions: permessage-deflate\r\n";

#[cfg(feature = "deflate")]
#[tokio::test]
async fn client_per_message_compression_accept() {
    bounded(async {
        let mut c = client_and_peer(ClientOptions::default(), DEFLATE_ACCEPTED).await;
        c.events.open().await;

        let options = ClientOptions {
            per_message_compression_accept: None,
            ..Default::default()
        };
        let c = client_and_peer(options, DEFLATE_ACCEPTED).await;
        match c.task.await.unwrap() {
            Err(e) => {
                let why = common::error_chain(&e);
                assert!(why.contains("permessage-deflate"), "{why}")
            }
            Ok(end) => panic!("opened with a refused extension: {end:?}"),
        }
    })
    .await;
}

#[cfg(feature = "deflate")]
#[tokio::test]
async fn client_per_message_compression_threshold() {
    bounded(async {
        let mut c = client_and_peer(ClientOptions::default(), DEFLATE_ACCEPTED).await;
        c.events.open().await.send_text("hi").await.unwrap();
        assert!(wire_frame(&mut c.peer).await.rsv1, "default: compressed");

        let options = ClientOptions {
            per_message_compression_threshold: 64,
            ..Default::default()
        };
        let mut c = client_and_peer(options, DEFLATE_ACCEPTED).await;
        let ch = c.events.open().await;
        ch.send_text("hi").await.unwrap();
        let short = wire_frame(&mut c.peer).await;
        assert!(!short.rsv1, "{short:?}");
        assert_eq!(xor(&short.wire, short.key.unwrap()), b"hi");
        let long = "a".repeat(200);
        ch.send_text(&long).await.unwrap();
        let big = wire_frame(&mut c.peer).await;
        assert!(big.rsv1 && big.wire.len() < long.len(), "{big:?}");
    })
    .await;
}

#[tokio::test]
async fn client_auto_ping_size() {
    bounded(async {
        let options = ClientOptions {
            auto_ping_interval: Some(Duration::from_millis(50)),
            auto_ping_size: 20,
            ..Default::default()
        };
        let mut c = client_and_peer(options, "").await;
        let ping = c.peer.next().await.unwrap();
        assert_eq!((ping.opcode, ping.payload.len()), (PING, 20));
    })
    .await;
}

#[tokio::test]
async fn client_max_handshake_size_and_headers() {
    bounded(async {
        let big = format!("X-Big: {}\r\n", "b".repeat(2048));
        let many: String = (0..10).map(|i| format!("X-H{i}: v\r\n")).collect();
        for extra in [&big, &many] {
            let mut c = client_and_peer(ClientOptions::default(), extra).await;
            c.events.open().await;
        }
        let options = ClientOptions {
            max_handshake_size: 1024,
            max_handshake_headers: 8,
            ..Default::default()
        };
        for extra in [&big, &many] {
            let c = client_and_peer(options.clone(), extra).await;
            let end = c.task.await.unwrap();
            assert!(
                end.is_err(),
                "a response over the limits was accepted: {end:?}"
            );
        }
    })
    .await;
}

/// Runs one message each way through a client with `options` and a raw server;
/// returns what was logged meanwhile.
async fn client_trace(options: ClientOptions) -> String {
    let (out, _guard) = capture_trace();
    let mut c = client_and_peer(options, "").await;
    let ch = c.events.open().await;
    c.peer.send(&server_frame(TEXT, b"in")).await;
    c.events.message().await;
    ch.send_text("out").await.unwrap();
    assert_eq!(c.peer.next().await.unwrap().payload, b"out");
    c.peer
        .send(&server_frame(CLOSE, &close_payload(1000, "")))
        .await;
    assert_eq!(c.peer.next().await.unwrap().close_code(), Some(1000));
    c.task.await.unwrap().unwrap();
    out.text()
}

#[tokio::test]
async fn client_log_frames_and_log_octets() {
    bounded(async {
        let quiet = client_trace(ClientOptions::default()).await;
        let frames = client_trace(ClientOptions {
            log_frames: true,
            ..Default::default()
        })
        .await;
        let octets = client_trace(ClientOptions {
            log_octets: true,
            ..Default::default()
        })
        .await;
        assert_log_options(&quiet, &frames, &octets);
    })
    .await;
}
