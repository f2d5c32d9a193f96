//! Protocol violations over real sockets: a raw peer sends bad frames and must get a
//! close frame with the right code, then EOF.

mod common;

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;
use tokio::net::TcpListener;

const CONT: u8 = 0;
const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CLOSE: u8 = 8;
const PING: u8 = 9;

async fn server(options: ServerOptions) -> (TestServer, Events) {
    start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options))
        .await
}

/// Opens a raw connection, sends `bytes`, and expects a close frame with `code`, then
/// EOF; checks the server's handler saw an unclean close.
async fn expect_failure(options: ServerOptions, bytes: &[u8], code: u16) {
    let (server, mut sev) = server(options).await;
    let (s, rest) = raw_connect(server.addr).await;
    let mut peer = FrameReader::new(s, rest);
    peer.send(bytes).await;
    let f = peer.next().await.expect("a close frame");
    assert_eq!(f.opcode, CLOSE, "{f:?}");
    assert_eq!(
        f.close_code(),
        Some(code),
        "reason: {:?}",
        String::from_utf8_lossy(&f.payload[2..])
    );
    assert!(
        std::str::from_utf8(&f.payload[2..]).is_ok(),
        "the reason is UTF-8"
    );
    peer.expect_eof().await;
    let (clean, _, _) = sev.close().await;
    assert!(!clean, "a failed connection is not clean");
}

#[tokio::test]
async fn unmasked_client_frame_gets_1002() {
    bounded(expect_failure(
        ServerOptions::default(),
        &frame(true, TEXT, b"hello", None),
        1002,
    ))
    .await;
}

#[tokio::test]
async fn invalid_utf8_gets_1007() {
    bounded(async {
        // A UTF-16 surrogate encoded in UTF-8 is not valid UTF-8.
        let bad = [
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            0x65,
        ];
        expect_failure(ServerOptions::default(), &client_frame(TEXT, &bad), 1007).await;

        // Invalid across fragments: the first is a valid prefix, the second breaks it.
        let mut bytes = frame(false, TEXT, "κόσ".as_bytes(), Some([1, 2, 3, 4]));
        bytes.extend(frame(true, CONT, &[0xff, 0xfe], Some([5, 6, 7, 8])));
        expect_failure(ServerOptions::default(), &bytes, 1007).await;

        // A message ending inside a character.
        expect_failure(
            ServerOptions::default(),
            &client_frame(TEXT, &[b'a', 0xe2, 0x82]),
            1007,
        )
        .await;

        // Close reasons must be UTF-8 too.
        expect_failure(
            ServerOptions::default(),
            &client_frame(CLOSE, &[0x03, 0xe8, 0xc0, 0xaf]),
            1007,
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn oversized_frame_gets_1009_before_its_payload() {
    bounded(async {
        let options = ServerOptions {
            max_frame_payload_size: 1000,
            ..Default::default()
        };
        // Only the header of a 2000-byte masked binary frame: the server must not wait
        // for the payload to refuse it.
        let header = [0x80 | BINARY, 0x80 | 126, 0x07, 0xd0, 1, 2, 3, 4];
        expect_failure(options.clone(), &header, 1009).await;
        // A frame at the limit is fine.
        let (server, _sev) = server(options).await;
        let (s, rest) = raw_connect(server.addr).await;
        let mut peer = FrameReader::new(s, rest);
        peer.send(&client_frame(BINARY, &[7u8; 1000])).await;
        let echo = peer.next().await.unwrap();
        assert_eq!((echo.opcode, echo.payload.len()), (BINARY, 1000));
    })
    .await;
}

#[tokio::test]
async fn oversized_message_gets_1009() {
    bounded(async {
        let options = ServerOptions {
            max_message_payload_size: 4096,
            ..Default::default()
        };
        let mut bytes = Vec::new();
        for i in 0..5 {
            bytes.extend(frame(
                i == 4,
                if i == 0 { BINARY } else { CONT },
                &[0u8; 1000],
                Some([9, 9, 9, 9]),
            ));
        }
        expect_failure(options, &bytes, 1009).await;
    })
    .await;
}

#[tokio::test]
async fn framing_errors_get_1002() {
    bounded(async {
        let o = ServerOptions::default;
        // Reserved opcode.
        expect_failure(o(), &client_frame(3, b"x"), 1002).await;
        // RSV2 set without an extension that defines it.
        let mut f = client_frame(TEXT, b"x");
        f[0] |= 0x20;
        expect_failure(o(), &f, 1002).await;
        // Fragmented control frame.
        expect_failure(o(), &frame(false, PING, b"x", Some([1, 1, 1, 1])), 1002).await;
        // Control frame payload over 125 bytes.
        expect_failure(o(), &client_frame(PING, &[0u8; 126]), 1002).await;
        // Continuation without a message.
        expect_failure(o(), &client_frame(CONT, b"x"), 1002).await;
        // A new message inside a fragmented one.
        let mut b = frame(false, TEXT, b"a", Some([1, 2, 3, 4]));
        b.extend(client_frame(TEXT, b"b"));
        expect_failure(o(), &b, 1002).await;
        // Close codes that must not be sent, and a 1-byte close payload.
        expect_failure(o(), &client_frame(CLOSE, &1005u16.to_be_bytes()), 1002).await;
        expect_failure(o(), &client_frame(CLOSE, &999u16.to_be_bytes()), 1002).await;
        expect_failure(o(), &client_frame(CLOSE, &[0x03]), 1002).await;
    })
    .await;
}

/// With `fail_by_drop` off, the server sends its close frame and keeps the TCP
/// connection for the closing handshake; it no longer parses what the peer sends (the
/// stream may be out of sync after a framing error), so it drops TCP when
/// `close_handshake_timeout` expires, or at the peer's EOF.
#[tokio::test(start_paused = true)]
async fn without_fail_by_drop_the_server_closes_after_the_close_timeout() {
    bounded(async {
        let options = ServerOptions {
            fail_by_drop: false,
            close_handshake_timeout: Some(std::time::Duration::from_secs(2)),
            ..Default::default()
        };
        // In memory: a paused clock over a real socket would run ahead of the kernel.
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
        let (s, mut sev, _task) = serve_in_memory(factory);
        let (s, rest) = raw_open(s, IN_MEMORY_ADDR).await;
        let mut peer = FrameReader::new(s, rest);
        peer.send(&frame(true, TEXT, b"unmasked", None)).await;
        let f = peer.next().await.unwrap();
        assert_eq!(f.close_code(), Some(1002));
        let t0 = tokio::time::Instant::now();
        peer.send(&client_frame(CLOSE, &1000u16.to_be_bytes()))
            .await;
        peer.expect_eof().await;
        let waited = t0.elapsed();
        let want = std::time::Duration::from_secs(2);
        assert!(
            waited >= want && waited < want + std::time::Duration::from_millis(50),
            "dropped after {waited:?}"
        );
        let (clean, _, _) = sev.close().await;
        assert!(!clean);
    })
    .await;
}

#[tokio::test]
async fn valid_traffic_from_a_raw_peer_works() {
    bounded(async {
        // The raw peer itself is right: fragmented text, a ping between fragments, close.
        let (server, mut sev) = server(ServerOptions::default()).await;
        let (s, rest) = raw_connect(server.addr).await;
        let mut peer = FrameReader::new(s, rest);
        let mut b = frame(false, TEXT, "frag".as_bytes(), Some([1, 2, 3, 4]));
        b.extend(client_frame(PING, b"mid"));
        b.extend(frame(true, CONT, "mented ✓".as_bytes(), Some([5, 6, 7, 8])));
        peer.send(&b).await;
        let pong = peer.next().await.unwrap();
        assert_eq!((pong.opcode, &pong.payload[..]), (10, &b"mid"[..]));
        let echo = peer.next().await.unwrap();
        assert_eq!((echo.opcode, echo.fin), (TEXT, true));
        assert_eq!(echo.payload, "fragmented ✓".as_bytes());
        peer.send(&client_frame(CLOSE, &[0x03, 0xe8, b'o', b'k']))
            .await;
        let reply = peer.next().await.unwrap();
        assert_eq!(reply.close_code(), Some(1000));
        peer.expect_eof().await;
        assert_eq!(sev.message().await.0, Bytes::from("fragmented ✓"));
        let (clean, code, reason) = sev.close().await;
        assert!(clean);
        assert_eq!(code, Some(1000));
        assert_eq!(reason.as_deref(), Some("ok"));
    })
    .await;
}

#[tokio::test]
async fn client_fails_on_masked_server_frame() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = ClientOptions {
            per_message_compression_offers: Vec::new(),
            ..Default::default()
        };
        let factory = WebSocketClientFactory::new(&format!("ws://{addr}/"))
            .unwrap()
            .with_protocol_options(options);
        let (tx, mut rx) = events();
        let (conn, server_side) = tokio::join!(
            factory.connect(|ch| Recorder::new(ch, tx)),
            raw_accept(&listener)
        );
        let task = conn.unwrap().spawn();
        rx.open().await;
        let mut peer = FrameReader::new(server_side, Vec::new());
        peer.send(&client_frame(TEXT, b"masked by the server"))
            .await;
        let f = peer.next().await.expect("the client's close frame");
        assert_eq!(f.close_code(), Some(1002));
        assert!(!f.payload.is_empty());
        peer.expect_eof().await;
        let (clean, code, _) = rx.close().await;
        assert!(!clean);
        assert_eq!(code, Some(1006));
        assert!(!task.await.unwrap().1.was_clean);
        assert!(rx.is_empty(), "the bad message was not delivered");
    })
    .await;
}
