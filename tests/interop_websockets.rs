//! Interop of our WebSocket client and server with Python's `websockets` library.
//!
//! Each test runs one side in Rust and the other in Python (scripts in `tests/interop/`),
//! sends messages of the sizes where the frame length encoding changes (0, 1, 125, 126,
//! 65535, 65536 bytes and 1 MiB) as text and binary, random and compressible, twice (so
//! context takeover carries over), and checks every echo byte for byte. The matrix covers
//! permessage-deflate with and without context takeover in each direction, small windows,
//! and no compression; the negotiated extension is checked on both sides.
//!
//! Python `websockets` (pinned to `python::WEBSOCKETS_VERSION`) is installed by the tests into a
//! virtualenv under `<target dir>/interop-venv` with `python3 -m venv` and pip (set
//! `PYTHON` to use another interpreter). If that fails, the tests fail and say why: they
//! are never skipped. Everything runs on 127.0.0.1, and every step has a time limit.

#[path = "interop/messages.rs"]
mod messages;
#[path = "interop/python.rs"]
mod python;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use autobahn::websocket::deflate::{
    PerMessageCompressionAccept, PerMessageDeflateOffer, PerMessageDeflateOfferAccept,
    PerMessageDeflateResponse,
};
use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::{
    WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
    WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;
use tokio::time::timeout;

use messages::{pmd_line, test_messages, Negotiated, SIZES};
use python::{next_line, python_script, stderr_of, RUN_LIMIT, STEP_LIMIT};

/// Each message list is sent this many times on one connection.
const ROUNDS: usize = 2;

// ---------------------------------------------------------------------------------------
// Our client against the Python echo server

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

/// Runs the Python echo server with `server_args`, connects our client with `options`,
/// echoes every message [`ROUNDS`] times, and checks the negotiation: the header Python
/// sent must be `header`, and both sides must agree on `expected`.
async fn client_vs_python(
    server_args: &[&str],
    mut options: ClientOptions,
    header: Option<&str>,
    expected: Option<Negotiated>,
) {
    let args: Vec<String> = server_args.iter().map(|s| s.to_string()).collect();
    let mut server = python_script("py_echo_server.py", &args)
        .spawn()
        .expect("starting py_echo_server.py");
    let mut lines = BufReader::new(server.stdout.take().expect("piped stdout")).lines();
    let port_line = next_line(&mut lines, "its port").await;
    let port: u16 = match port_line.strip_prefix("PORT ").and_then(|p| p.parse().ok()) {
        Some(p) => p,
        None => panic!(
            "py_echo_server.py printed {port_line:?}, not `PORT <n>`; stderr: {}",
            stderr_of(&mut server).await
        ),
    };

    // Record what our client accepted, through its acceptor.
    let seen: Arc<Mutex<Vec<PerMessageDeflateResponse>>> = Arc::default();
    let inner = options.per_message_compression_accept.clone();
    let record = seen.clone();
    options.per_message_compression_accept =
        Some(Arc::new(move |r: &PerMessageDeflateResponse| {
            record.lock().unwrap().push(*r);
            inner.as_ref().and_then(|f| f(r))
        }));

    let factory = WebSocketClientFactory::new(&format!("ws://127.0.0.1:{port}/echo"))
        .expect("valid URL")
        .with_protocol_options(options);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = timeout(STEP_LIMIT, factory.connect(|_| Collect { tx }))
        .await
        .expect("opening handshake timed out")
        .expect("opening handshake with the Python server failed");

    // Our side of the negotiation.
    let our_header = conn
        .response()
        .headers
        .get("Sec-WebSocket-Extensions")
        .map(str::to_owned);
    assert_eq!(
        our_header.as_deref(),
        header,
        "extension header our client received"
    );
    let accepted = seen.lock().unwrap().clone();
    match expected {
        Some(n) => {
            assert_eq!(
                accepted.len(),
                1,
                "our client should accept one permessage-deflate response"
            );
            assert_eq!(
                Negotiated::from(&accepted[0]),
                n,
                "what our client negotiated"
            );
        }
        None => assert!(
            accepted.is_empty(),
            "our client negotiated deflate: {accepted:?}"
        ),
    }
    // Python's side of it.
    let ext = next_line(&mut lines, "the EXT line").await;
    assert_eq!(
        ext,
        format!("EXT {}", header.unwrap_or("-")),
        "extension header the Python server sent"
    );
    let pmd = next_line(&mut lines, "the PMD line").await;
    assert_eq!(
        pmd,
        pmd_line(expected, true),
        "what the Python server negotiated"
    );

    let channel: WebSocketChannel = conn.channel().clone();
    let task = conn.spawn();
    // The channel is usable once the connection runs (on_open).
    match timeout(STEP_LIMIT, rx.recv()).await {
        Ok(Some(None)) => {}
        other => panic!("expected on_open first, got {other:?}"),
    }

    let messages = test_messages();
    let exchange = async {
        for round in 0..ROUNDS {
            for m in &messages {
                channel
                    .send_message(m.payload.clone(), m.is_binary)
                    .await
                    .unwrap_or_else(|e| panic!("round {round} {}: send failed: {e}", m.label));
                let echo = match timeout(STEP_LIMIT, rx.recv()).await {
                    Ok(Some(Some(echo))) => echo,
                    Ok(_) => panic!(
                        "round {round} {}: connection ended before the echo",
                        m.label
                    ),
                    Err(_) => panic!("round {round} {}: no echo within {STEP_LIMIT:?}", m.label),
                };
                assert_eq!(
                    echo.1, m.is_binary,
                    "round {round} {}: message type of the echo",
                    m.label
                );
                assert_bytes_eq(&echo.0, &m.payload, &format!("round {round} {}", m.label));
            }
        }
    };
    timeout(RUN_LIMIT, exchange)
        .await
        .expect("exchange with the Python server timed out");

    channel
        .send_close(Some(1000), None)
        .await
        .expect("send close");
    let (_, info) = timeout(STEP_LIMIT, task)
        .await
        .expect("closing handshake timed out")
        .expect("connection task");
    assert!(
        info.was_clean,
        "closing handshake with the Python server not clean: {info:?}"
    );
    assert_eq!(info.code, Some(1000), "Python's close code: {info:?}");
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
            "{what}: echo differs: sent {} bytes, got {} bytes, first difference at byte {first}",
            want.len(),
            got.len()
        );
    }
}

/// An offer that keeps client context takeover (no `client_no_context_takeover` hint, which
/// our default offer carries as Autobahn's does).
fn takeover_offer() -> PerMessageDeflateOffer {
    PerMessageDeflateOffer::new(false, true, false, 0).expect("valid offer")
}

fn client_options(offers: Vec<PerMessageDeflateOffer>) -> ClientOptions {
    ClientOptions {
        per_message_compression_offers: offers,
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn client_deflate_python_defaults() {
    // websockets' compression="deflate": windows of 12 bits both ways, context takeover.
    let n = Negotiated {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 12,
        client_max_window_bits: 12,
    };
    client_vs_python(
        &["--compression", "default"],
        client_options(vec![takeover_offer()]),
        Some("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"),
        Some(n),
    )
    .await;
}

#[tokio::test]
async fn client_deflate_default_offer_promises_no_context_takeover() {
    // Our default offer carries client_no_context_takeover (as Autobahn's does); Python
    // acknowledges it and our client compresses without context takeover.
    let n = Negotiated {
        server_no_context_takeover: false,
        client_no_context_takeover: true,
        server_max_window_bits: 0,
        client_max_window_bits: 0,
    };
    client_vs_python(
        &["--compression", "custom"],
        ClientOptions::default(),
        Some("permessage-deflate; client_no_context_takeover"),
        Some(n),
    )
    .await;
}

#[tokio::test]
async fn client_deflate_context_takeover_full_windows() {
    let n = Negotiated {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 0,
        client_max_window_bits: 0,
    };
    client_vs_python(
        &["--compression", "custom"],
        client_options(vec![takeover_offer()]),
        Some("permessage-deflate"),
        Some(n),
    )
    .await;
}

#[tokio::test]
async fn client_deflate_no_context_takeover_set_by_python() {
    let n = Negotiated {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 0,
        client_max_window_bits: 0,
    };
    client_vs_python(
        &[
            "--compression",
            "custom",
            "--server-no-context-takeover",
            "--client-no-context-takeover",
        ],
        ClientOptions::default(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        Some(n),
    )
    .await;
}

#[tokio::test]
async fn client_deflate_no_context_takeover_requested_by_us() {
    // We ask Python not to use context takeover and to use a 10-bit window; Python limits
    // our window to 9 bits; we keep context takeover.
    let offer = PerMessageDeflateOffer::new(false, true, true, 10).expect("valid offer");
    let n = Negotiated {
        server_no_context_takeover: true,
        client_no_context_takeover: false,
        server_max_window_bits: 10,
        client_max_window_bits: 9,
    };
    client_vs_python(
        &["--compression", "custom", "--client-max-window-bits", "9"],
        client_options(vec![offer]),
        Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"),
        Some(n),
    )
    .await;
}

#[tokio::test]
async fn client_python_server_without_compression() {
    client_vs_python(
        &["--compression", "none"],
        ClientOptions::default(),
        None,
        None,
    )
    .await;
}

#[tokio::test]
async fn client_without_offers_python_default_server() {
    client_vs_python(
        &["--compression", "default"],
        client_options(Vec::new()),
        None,
        None,
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// The Python client against our echo server

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

type Acceptor = Option<
    Arc<dyn Fn(&PerMessageDeflateOffer) -> Option<PerMessageDeflateOfferAccept> + Send + Sync>,
>;

/// Runs our echo server (`accept` chooses how to accept the first deflate offer; `None`
/// declines compression), runs the Python client with `client_args` against it, and checks
/// the negotiation on both sides and that all messages were echoed.
async fn python_vs_server(
    client_args: &[&str],
    accept: Acceptor,
    header: Option<&str>,
    expected: Option<Negotiated>,
) {
    python_vs_server_as(
        client_args,
        accept,
        header,
        expected,
        &pmd_line(expected, false),
    )
    .await
}

/// [`python_vs_server`] with Python's view of the parameters (`PMD` line) given.
async fn python_vs_server_as(
    client_args: &[&str],
    accept: Acceptor,
    header: Option<&str>,
    expected: Option<Negotiated>,
    python_view: &str,
) {
    let seen: Arc<Mutex<Vec<PerMessageDeflateOfferAccept>>> = Arc::default();
    let record = seen.clone();
    let options = ServerOptions {
        per_message_compression_accept: accept.map(|f| {
            let f: PerMessageCompressionAccept =
                Arc::new(move |offers: &[PerMessageDeflateOffer]| {
                    let a = f(offers.first()?)?;
                    record.lock().unwrap().push(a);
                    Some(a)
                });
            f
        }),
        ..ServerOptions::default()
    };
    let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
    let listener = factory
        .listen("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let count = Arc::new(Mutex::new(0usize));
    let counter = count.clone();
    let server = tokio::spawn(factory.serve(listener, move |channel| Echo {
        channel,
        count: counter.clone(),
    }));

    let mut args = vec![
        format!("--url=ws://127.0.0.1:{port}/echo"),
        format!("--rounds={ROUNDS}"),
    ];
    args.extend(client_args.iter().map(|s| s.to_string()));
    args.push(format!("--timeout={}", RUN_LIMIT.as_secs()));
    let mut client = python_script("py_echo_client.py", &args)
        .spawn()
        .expect("starting py_echo_client.py");
    let stdout = client.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ext = next_line(&mut lines, "the EXT line").await;
    let pmd = next_line(&mut lines, "the PMD line").await;
    let status = match timeout(RUN_LIMIT + STEP_LIMIT, client.wait()).await {
        Ok(s) => s.expect("waiting for py_echo_client.py"),
        Err(_) => panic!("py_echo_client.py did not finish within {RUN_LIMIT:?}"),
    };
    let mut rest = Vec::new();
    while let Ok(Ok(Some(l))) = timeout(Duration::from_secs(2), lines.next_line()).await {
        rest.push(l);
    }
    let stderr = stderr_of(&mut client).await;
    assert!(
        status.success(),
        "py_echo_client.py failed ({status}): {stderr}\nstdout: {ext}\n{pmd}\n{rest:?}"
    );
    let total = ROUNDS * SIZES.len() * 4;
    assert_eq!(
        rest,
        vec![format!("OK {total}")],
        "py_echo_client.py's result"
    );
    assert_eq!(
        *count.lock().unwrap(),
        total,
        "messages our server received"
    );

    assert_eq!(
        ext,
        format!("EXT {}", header.unwrap_or("-")),
        "extension header the Python client received"
    );
    assert_eq!(pmd, python_view, "what the Python client negotiated");
    let accepted = seen.lock().unwrap().clone();
    match expected {
        Some(n) => {
            assert_eq!(accepted.len(), 1, "our server should accept one offer");
            assert_eq!(
                Negotiated::from(&accepted[0]),
                n,
                "what our server negotiated"
            );
            assert_eq!(
                Some(accepted[0].to_extension_string().as_str()),
                header,
                "header our server built"
            );
        }
        None => assert!(
            accepted.is_empty(),
            "our server negotiated deflate: {accepted:?}"
        ),
    }
    server.abort();
}

fn accept_as_offered() -> Acceptor {
    Some(Arc::new(|offer: &PerMessageDeflateOffer| {
        Some(PerMessageDeflateOfferAccept::new(*offer))
    }))
}

#[tokio::test]
async fn server_deflate_python_defaults() {
    // websockets' client offers `permessage-deflate; client_max_window_bits`.
    let n = Negotiated {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 0,
        client_max_window_bits: 0,
    };
    python_vs_server(
        &["--compression=default"],
        accept_as_offered(),
        Some("permessage-deflate"),
        Some(n),
    )
    .await;
}

#[tokio::test]
async fn server_deflate_no_context_takeover_set_by_us() {
    let accept: Acceptor = Some(Arc::new(|offer: &PerMessageDeflateOffer| {
        PerMessageDeflateOfferAccept::with_params(*offer, true, 0, Some(true), None, None).ok()
    }));
    let n = Negotiated {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 0,
        client_max_window_bits: 0,
    };
    python_vs_server(
        &["--compression=default"],
        accept,
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
        Some(n),
    )
    .await;
}

#[tokio::test]
async fn server_deflate_no_context_takeover_requested_by_python() {
    // Python promises client_no_context_takeover (so our reply need not ask for it), asks
    // for server_no_context_takeover and a 10-bit server window, and offers an 11-bit
    // client window, which Python then uses without our reply naming it.
    let n = Negotiated {
        server_no_context_takeover: true,
        client_no_context_takeover: false,
        server_max_window_bits: 10,
        client_max_window_bits: 0,
    };
    let args = [
        "--compression=custom",
        "--server-no-context-takeover",
        "--client-no-context-takeover",
        "--server-max-window-bits=10",
        "--client-max-window-bits=11",
    ];
    let header = "permessage-deflate; server_no_context_takeover; server_max_window_bits=10";
    // Python's view goes beyond the header: it keeps its own promises.
    let python_view = "PMD local_no_context_takeover=true remote_no_context_takeover=true \
                       local_max_window_bits=11 remote_max_window_bits=10";
    python_vs_server_as(
        &args,
        accept_as_offered(),
        Some(header),
        Some(n),
        python_view,
    )
    .await;
}

#[tokio::test]
async fn server_deflate_small_windows() {
    // Our compressor at 8 bits (run with 9, see the deflate module docs) and mem_level 1;
    // Python's limited to 9 bits.
    let accept: Acceptor = Some(Arc::new(|offer: &PerMessageDeflateOffer| {
        PerMessageDeflateOfferAccept::with_params(*offer, false, 9, None, Some(8), Some(1)).ok()
    }));
    let n = Negotiated {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 8,
        client_max_window_bits: 9,
    };
    python_vs_server(
        &["--compression=default"],
        accept,
        Some("permessage-deflate; server_max_window_bits=8; client_max_window_bits=9"),
        Some(n),
    )
    .await;
}

#[tokio::test]
async fn server_python_client_without_compression() {
    python_vs_server(&["--compression=none"], accept_as_offered(), None, None).await;
}

#[tokio::test]
async fn server_declines_compression() {
    python_vs_server(&["--compression=default"], None, None, None).await;
}

/// Our server's handler that corrupts binary echoes: flips the last byte.
struct CorruptEcho {
    channel: WebSocketChannel,
}

impl WebSocketHandler for CorruptEcho {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let mut v = payload.to_vec();
        if is_binary {
            if let Some(b) = v.last_mut() {
                *b ^= 0x01;
            }
        }
        let _ = self.channel.send_message(v, is_binary).await;
    }
}

impl WebSocketServerHandler for CorruptEcho {}

#[tokio::test]
async fn python_client_detects_corrupted_echo() {
    // The checks above rely on the Python client noticing a wrong echo: make sure it does.
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory
        .listen("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local addr").port();
    let server = tokio::spawn(factory.serve(listener, |channel| CorruptEcho { channel }));
    let args = vec![
        format!("--url=ws://127.0.0.1:{port}/"),
        "--timeout=60".to_string(),
    ];
    let mut client = python_script("py_echo_client.py", &args)
        .spawn()
        .expect("starting py_echo_client.py");
    let status = timeout(RUN_LIMIT, client.wait())
        .await
        .expect("py_echo_client.py timed out")
        .expect("wait");
    let stderr = stderr_of(&mut client).await;
    assert_eq!(
        status.code(),
        Some(1),
        "py_echo_client.py should report a mismatch: {stderr}"
    );
    assert!(
        stderr.contains("MISMATCH round 0 binary/random/1: echo differs (sent 1 bytes, got 1, first difference at byte 0)"),
        "unexpected report: {stderr}"
    );
    server.abort();
}
