//! Interop of our WebSocket client and server with node's `ws` library, the WebSocket of
//! most JavaScript servers.
//!
//! Our side runs on the handler API and on the pull API (`WebSocket`). Each test runs one
//! side in Rust and the other in node (scripts `tests/interop/node_*.cjs`),
//! echoes text and binary messages of every length encoding (0 B to 1 MiB, random and
//! compressible) twice on one connection, so context takeover carries over, and checks every
//! echo byte for byte and the negotiated permessage-deflate on both sides, with compression
//! in `ws`' default configuration, without context takeover, with 10-bit windows, and off.
//!
//! Node.js 22 and `ws` come from npm, pinned, under `<target dir>/node-peers` (see
//! `interop/node.rs`); the tests fail, never skip, if they cannot be installed.

#[path = "interop/messages.rs"]
mod messages;
#[path = "interop/node.rs"]
mod node;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autobahn::websocket::deflate::{PerMessageDeflateOffer, PerMessageDeflateResponse};
use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::{
    Message, WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
    WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::timeout;

use messages::{test_messages, SIZES};
use node::{next_line, node_script, stderr_of, RUN_LIMIT, STEP_LIMIT};

/// Each message list is sent this many times on one connection.
const ROUNDS: usize = 2;

// ---------------------------------------------------------------------------------------
// Our client against the node echo server

/// Our client's handler: reports `on_open` and every message to the test.
struct Collect {
    tx: mpsc::UnboundedSender<Option<(Bytes, bool)>>,
}

impl WebSocketHandler for Collect {
    async fn on_open(&mut self) {
        let _ = self.tx.send(None);
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.tx.send(Some((payload, is_binary)));
    }
}

impl WebSocketClientHandler for Collect {}

/// Runs the node echo server in `mode`, connects our client with `offers`, echoes every
/// message [`ROUNDS`] times and closes. `header` is the extension answer both sides must
/// have seen (`None`: no compression).
async fn client_vs_node(mode: &str, offers: Vec<PerMessageDeflateOffer>, header: Option<&str>) {
    let mut server = node_script("node_ws_echo_server.cjs", &[format!("--deflate={mode}")])
        .spawn()
        .expect("starting node_ws_echo_server.cjs");
    let mut lines = BufReader::new(server.stdout.take().expect("piped stdout")).lines();
    let port_line = next_line(&mut lines, "its port").await;
    let Some(port) = port_line
        .strip_prefix("PORT ")
        .and_then(|p| p.parse::<u16>().ok())
    else {
        panic!(
            "node_ws_echo_server.cjs printed {port_line:?}, not `PORT <n>`; stderr: {}",
            stderr_of(&mut server).await
        );
    };

    let accepted: Arc<Mutex<Vec<PerMessageDeflateResponse>>> = Arc::default();
    let record = accepted.clone();
    let mut options = ClientOptions {
        per_message_compression_offers: offers,
        ..ClientOptions::default()
    };
    let inner = options.per_message_compression_accept.clone();
    options.per_message_compression_accept =
        Some(Arc::new(move |r: &PerMessageDeflateResponse| {
            record.lock().unwrap().push(*r);
            inner.as_ref().and_then(|f| f(r))
        }));
    let factory = WebSocketClientFactory::new(&format!("ws://127.0.0.1:{port}/"))
        .expect("valid URL")
        .with_protocol_options(options);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = timeout(STEP_LIMIT, factory.connect(|_| Collect { tx }))
        .await
        .expect("opening handshake timed out")
        .expect("opening handshake with the node server failed");
    let ours = conn
        .response()
        .headers
        .get("Sec-WebSocket-Extensions")
        .map(str::to_owned);
    assert_eq!(ours.as_deref(), header, "extension answer our client got");
    let theirs = next_line(&mut lines, "the EXT line").await;
    assert_eq!(
        theirs,
        format!("EXT {}", header.unwrap_or("-")),
        "extension answer the node server sent"
    );
    assert_eq!(
        accepted.lock().unwrap().len(),
        usize::from(header.is_some()),
        "responses our client accepted"
    );

    let channel: WebSocketChannel = conn.channel().clone();
    let task = conn.spawn();
    match timeout(STEP_LIMIT, rx.recv()).await {
        Ok(Some(None)) => {}
        other => panic!("expected on_open first, got {other:?}"),
    }
    let messages = test_messages();
    let exchange = async {
        for round in 0..ROUNDS {
            for m in &messages {
                let what = format!("round {round} {}", m.label);
                channel
                    .send_message(m.payload.clone(), m.is_binary)
                    .await
                    .unwrap_or_else(|e| panic!("{what}: send failed: {e}"));
                let Ok(Some(Some((echo, is_binary)))) = timeout(STEP_LIMIT, rx.recv()).await else {
                    panic!("{what}: no echo");
                };
                assert_eq!(is_binary, m.is_binary, "{what}: type of the echo");
                assert_bytes_eq(&echo, &m.payload, &what);
            }
        }
    };
    timeout(RUN_LIMIT, exchange)
        .await
        .expect("exchange with the node server timed out");
    channel
        .send_close(Some(1000), None)
        .await
        .expect("send close");
    let (_, info) = timeout(STEP_LIMIT, task)
        .await
        .expect("closing handshake timed out")
        .expect("connection task");
    assert!(info.was_clean, "closing handshake not clean: {info:?}");
    assert_eq!(info.code, Some(1000), "node's close code: {info:?}");
    drop(server.stdin.take()); // the server exits when its stdin closes
    let _ = timeout(Duration::from_secs(5), server.wait()).await;
}

/// Compares payloads without printing megabytes on failure.
fn assert_bytes_eq(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let first = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "{what}: echo differs: sent {} bytes, got {}, first difference at byte {first}",
            want.len(),
            got.len()
        );
    }
}

/// An offer that keeps client context takeover (our default offer promises
/// `client_no_context_takeover`, as Autobahn's does).
fn takeover_offer() -> Vec<PerMessageDeflateOffer> {
    vec![PerMessageDeflateOffer::new(false, true, false, 0).expect("valid offer")]
}

#[tokio::test]
async fn client_default_offer_node_default_server() {
    client_vs_node(
        "default",
        ClientOptions::default().per_message_compression_offers,
        Some("permessage-deflate; client_no_context_takeover"),
    )
    .await;
}

#[tokio::test]
async fn client_context_takeover_node_default_server() {
    client_vs_node("default", takeover_offer(), Some("permessage-deflate")).await;
}

#[tokio::test]
async fn client_node_server_without_context_takeover() {
    // ws asks for client_no_context_takeover although our offer did not hint it, which RFC
    // 7692 §7.1.1.2 allows (our client refused it before this test).
    client_vs_node(
        "no-context-takeover",
        takeover_offer(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
    )
    .await;
}

#[tokio::test]
async fn client_node_server_small_windows() {
    client_vs_node(
        "small-windows",
        takeover_offer(),
        Some("permessage-deflate; client_max_window_bits=10; server_max_window_bits=10"),
    )
    .await;
}

#[tokio::test]
async fn client_node_server_without_compression() {
    client_vs_node("none", takeover_offer(), None).await;
}

// ---------------------------------------------------------------------------------------
// The node client against our echo server

/// Our server's handler: echoes every message with its type, and counts them.
struct Echo {
    channel: WebSocketChannel,
    count: Arc<Mutex<usize>>,
}

impl WebSocketHandler for Echo {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        *self.count.lock().unwrap() += 1;
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

impl WebSocketServerHandler for Echo {}

/// Runs our echo server with default options (accepting permessage-deflate as Autobahn
/// does), runs the node client in `mode` against it, and checks the answer it saw.
async fn node_vs_server(mode: &str, header: Option<&str>) {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1")
        .with_protocol_options(ServerOptions::default());
    let listener = factory.listen("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let count = Arc::new(Mutex::new(0usize));
    let counter = count.clone();
    let server = tokio::spawn(factory.serve(listener, move |channel| Echo {
        channel,
        count: counter.clone(),
    }));
    node_client_echoes(port, mode, header, &count).await;
    server.abort();
}

/// Runs the node echo client against our server on `port` and checks its result, the
/// extension answer it got and the messages our server counted in `count`.
async fn node_client_echoes(port: u16, mode: &str, header: Option<&str>, count: &Mutex<usize>) {
    let args = [
        format!("--url=ws://127.0.0.1:{port}/"),
        format!("--deflate={mode}"),
        format!("--rounds={ROUNDS}"),
    ];
    let mut client = node_script("node_ws_echo_client.cjs", &args)
        .spawn()
        .expect("starting node_ws_echo_client.cjs");
    let mut lines = BufReader::new(client.stdout.take().expect("piped stdout")).lines();
    let ext = next_line(&mut lines, "the EXT line").await;
    let status = match timeout(RUN_LIMIT, client.wait()).await {
        Ok(s) => s.expect("waiting for node_ws_echo_client.cjs"),
        Err(_) => panic!("node_ws_echo_client.cjs did not finish within {RUN_LIMIT:?}"),
    };
    let mut rest = Vec::new();
    while let Ok(Ok(Some(l))) = timeout(Duration::from_secs(2), lines.next_line()).await {
        rest.push(l);
    }
    let stderr = stderr_of(&mut client).await;
    assert!(
        status.success(),
        "node_ws_echo_client.cjs failed ({status}): {stderr}\nstdout: {ext}\n{rest:?}"
    );
    let total = ROUNDS * SIZES.len() * 4;
    assert_eq!(
        rest,
        vec![format!("OK {total} 1000")],
        "the node client's result"
    );
    assert_eq!(
        *count.lock().unwrap(),
        total,
        "messages our server received"
    );
    assert_eq!(
        ext,
        format!("EXT {}", header.unwrap_or("-")),
        "extension answer the node client got"
    );
}

#[tokio::test]
async fn server_node_default_client() {
    // ws offers `permessage-deflate; client_max_window_bits`.
    node_vs_server("default", Some("permessage-deflate")).await;
}

#[tokio::test]
async fn server_node_client_without_context_takeover() {
    // ws promises client_no_context_takeover in its offer: our answer need not ask for it.
    node_vs_server(
        "no-context-takeover",
        Some("permessage-deflate; server_no_context_takeover"),
    )
    .await;
}

#[tokio::test]
async fn server_node_client_small_windows() {
    // ws offers client_max_window_bits=10 and keeps to it unasked.
    node_vs_server(
        "small-windows",
        Some("permessage-deflate; server_max_window_bits=10"),
    )
    .await;
}

#[tokio::test]
async fn server_node_client_without_compression() {
    node_vs_server("none", None).await;
}

// ---------------------------------------------------------------------------------------
// The same peers against the pull API (`WebSocket`: recv/send)

/// The node client against our server written on the pull API.
async fn node_vs_pull_server(mode: &str, header: Option<&str>) {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory.listen("127.0.0.1:0").await.expect("bind");
    let count = Arc::new(Mutex::new(0usize));
    let counter = count.clone();
    let server = factory.start_websocket(listener, move |mut ws| {
        let counter = counter.clone();
        async move {
            while let Some(message) = ws.recv().await {
                *counter.lock().unwrap() += 1;
                if ws.send(message).await.is_err() {
                    break;
                }
            }
        }
    });
    let port = server.local_addr().expect("TCP").port();
    node_client_echoes(port, mode, header, &count).await;
    server.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn pull_server_node_default_client() {
    node_vs_pull_server("default", Some("permessage-deflate")).await;
}

#[tokio::test]
async fn pull_server_node_client_without_compression() {
    node_vs_pull_server("none", None).await;
}

/// Our client on the pull API against the node echo server.
async fn pull_client_vs_node(
    mode: &str,
    offers: Vec<PerMessageDeflateOffer>,
    header: Option<&str>,
) {
    let mut server = node_script("node_ws_echo_server.cjs", &[format!("--deflate={mode}")])
        .spawn()
        .expect("starting node_ws_echo_server.cjs");
    let mut lines = BufReader::new(server.stdout.take().expect("piped stdout")).lines();
    let port_line = next_line(&mut lines, "its port").await;
    let port: u16 = port_line
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("node server printed {port_line:?}"));
    let options = ClientOptions {
        per_message_compression_offers: offers,
        ..ClientOptions::default()
    };
    let factory = WebSocketClientFactory::new(&format!("ws://127.0.0.1:{port}/"))
        .expect("valid URL")
        .with_protocol_options(options);
    let mut ws = timeout(STEP_LIMIT, factory.connect_websocket())
        .await
        .expect("handshake in time")
        .expect("handshake");
    let theirs = next_line(&mut lines, "the EXT line").await;
    assert_eq!(theirs, format!("EXT {}", header.unwrap_or("-")));
    let messages = test_messages();
    let exchange = async {
        for round in 0..ROUNDS {
            for m in &messages {
                let what = format!("round {round} {}", m.label);
                let sent = if m.is_binary {
                    Message::Binary(m.payload.clone())
                } else {
                    Message::Text(m.payload.clone().try_into().expect("UTF-8"))
                };
                ws.send(sent.clone())
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let echo = timeout(STEP_LIMIT, ws.recv()).await.expect(&what);
                assert_eq!(
                    echo.as_ref().map(Message::is_binary),
                    Some(m.is_binary),
                    "{what}"
                );
                assert_bytes_eq(echo.expect("open").payload(), &m.payload, &what);
            }
        }
    };
    timeout(RUN_LIMIT, exchange)
        .await
        .expect("exchange in time");
    let close = ws.close(Some(1000), None).await.expect("close");
    assert!(close.was_clean, "{close:?}");
    drop(server.stdin.take());
    let _ = timeout(Duration::from_secs(5), server.wait()).await;
}

#[tokio::test]
async fn pull_client_node_default_server() {
    pull_client_vs_node("default", takeover_offer(), Some("permessage-deflate")).await;
}

#[tokio::test]
async fn pull_client_node_server_without_compression() {
    pull_client_vs_node("none", takeover_offer(), None).await;
}
