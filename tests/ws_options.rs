//! One visible effect per `ServerOptions`/`ClientOptions` field not shown elsewhere:
//! each test sets a field and checks what a raw peer sees on the wire (or what the
//! API reports). Server tests talk to a real server through a hand-rolled client;
//! client tests talk to a real client through a hand-rolled server. Tests are named
//! `server_<field>` / `client_<field>`.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use autobahn::websocket::handshake::accept_key;
use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::stream::MaybeTlsStream;
use autobahn::websocket::{CloseInfo, Error, WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const CONT: u8 = 0;
const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CLOSE: u8 = 8;
const PING: u8 = 9;

/// An echoing server with `options` on a loopback port, and a raw client connected to it.
async fn server_and_peer(options: ServerOptions) -> (TestServer, Events, FrameReader) {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
    let (server, events) = start_echo_server(factory).await;
    let (stream, rest) = raw_connect(server.addr).await;
    (server, events, FrameReader::new(stream, rest))
}

/// A close frame's payload: code and reason.
fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// One frame as it was on the wire: the payload as sent (not unmasked).
#[derive(Debug)]
struct WireFrame {
    rsv1: bool,
    opcode: u8,
    key: Option<[u8; 4]>,
    wire: Vec<u8>,
}

/// Reads one frame (payload under 126 bytes) from `peer` without unmasking it.
async fn wire_frame(peer: &mut FrameReader) -> WireFrame {
    async fn fill(peer: &mut FrameReader, n: usize) {
        let mut chunk = [0u8; 4096];
        while peer.buf.len() < n {
            let got = peer.stream.read(&mut chunk).await.expect("read");
            assert!(got > 0, "EOF inside a frame");
            peer.buf.extend_from_slice(&chunk[..got]);
        }
    }
    fill(peer, 2).await;
    let (b0, b1) = (peer.buf[0], peer.buf[1]);
    let len = usize::from(b1 & 0x7f);
    assert!(len < 126, "wire_frame reads short frames only");
    let masked = b1 & 0x80 != 0;
    let at = if masked { 6 } else { 2 };
    fill(peer, at + len).await;
    let key = masked.then(|| [peer.buf[2], peer.buf[3], peer.buf[4], peer.buf[5]]);
    let wire = peer.buf[at..at + len].to_vec();
    peer.buf.drain(..at + len);
    WireFrame {
        rsv1: b0 & 0x40 != 0,
        opcode: b0 & 0x0f,
        key,
        wire,
    }
}

fn xor(data: &[u8], key: [u8; 4]) -> Vec<u8> {
    data.iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect()
}

/// Trace output captured for the current thread (the test's runtime runs every task
/// on it).
#[derive(Clone, Default)]
struct Captured(Arc<StdMutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Captures everything logged on this thread at trace level until the guard drops.
fn capture_trace() -> (Captured, tracing::subscriber::DefaultGuard) {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(out.clone())
        .finish();
    (out, tracing::subscriber::set_default(subscriber))
}

// ---------------------------------------------------------------------------------
// ServerOptions
// ---------------------------------------------------------------------------------

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
        assert_eq!((f.key, &f.wire[..]), (None, &b"hello"[..]));

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
        assert!(
            !quiet.contains("rx frame") && !quiet.contains("octets"),
            "{quiet}"
        );

        let frames = server_trace(ServerOptions {
            log_frames: true,
            ..Default::default()
        })
        .await;
        assert!(
            frames.contains("rx frame") && frames.contains("tx frame"),
            "{frames}"
        );
        assert!(!frames.contains("octets"), "{frames}");

        let octets = server_trace(ServerOptions {
            log_octets: true,
            ..Default::default()
        })
        .await;
        assert!(octets.contains("rx octets"), "{octets}");
        assert!(!octets.contains("rx frame"), "{octets}");
    })
    .await;
}

// ---------------------------------------------------------------------------------
// ClientOptions
// ---------------------------------------------------------------------------------

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
            Err(e) => assert!(e.to_string().contains("permessage-deflate"), "{e}"),
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
        assert!(
            !quiet.contains("rx frame") && !quiet.contains("octets"),
            "{quiet}"
        );

        let frames = client_trace(ClientOptions {
            log_frames: true,
            ..Default::default()
        })
        .await;
        assert!(
            frames.contains("rx frame") && frames.contains("tx frame"),
            "{frames}"
        );
        assert!(!frames.contains("octets"), "{frames}");

        let octets = client_trace(ClientOptions {
            log_octets: true,
            ..Default::default()
        })
        .await;
        assert!(octets.contains("rx octets"), "{octets}");
        assert!(!octets.contains("rx frame"), "{octets}");
    })
    .await;
}
