//! A real browser against our server: Debian's Chromium, headless, driven by
//! `playwright-core`, echoes text and binary messages of 0 B to 16 MiB through our echo
//! server, with permessage-deflate as Chromium offers it and without; and uses the pages of
//! `examples/web_site` (HTTP) and `examples/web_site_tls` (HTTPS under `/app/`, its
//! self-signed certificate accepted) with the same echoes through their WebSockets.
//!
//! Chromium is installed with apt-get if it is missing, Node.js 22 and playwright-core from
//! npm under `<target dir>/node-peers` (see `interop/node.rs`); the test fails, never skips,
//! if either cannot be installed.

#[path = "common_example/binary.rs"]
mod binary;
#[path = "interop/node.rs"]
mod node;

use std::time::Duration;

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::{
    WebSocketChannel, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::timeout;

use node::{chromium, node_script, stderr_of, RUN_LIMIT};

/// Messages the page sends: text and binary at each of its 8 sizes.
const MESSAGES: u64 = 16;

struct Echo {
    channel: WebSocketChannel,
}

impl WebSocketHandler for Echo {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

impl WebSocketServerHandler for Echo {}

/// Runs our echo server with `options`, has Chromium echo through it, and returns the
/// page's report.
async fn chromium_echo(options: ServerOptions) -> serde_json::Value {
    let browser = chromium();
    let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
    let listener = factory.listen("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let server = tokio::spawn(factory.serve(listener, |channel| Echo { channel }));

    let args = [
        format!("--url=ws://127.0.0.1:{port}/echo"),
        format!("--executable={}", browser.display()),
    ];
    let report = browser_echo(&args).await;
    server.abort();
    report
}

/// Runs `browser_echo.cjs` with `args` to its end and returns its report (one JSON line).
async fn browser_echo(args: &[String]) -> serde_json::Value {
    let mut script = node_script("browser_echo.cjs", args)
        .spawn()
        .expect("starting browser_echo.cjs");
    let mut lines = BufReader::new(script.stdout.take().expect("piped stdout")).lines();
    let line = match timeout(RUN_LIMIT, lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        other => panic!(
            "browser_echo.cjs reported nothing ({other:?}); stderr: {}",
            stderr_of(&mut script).await
        ),
    };
    let status = timeout(Duration::from_secs(60), script.wait())
        .await
        .expect("browser_echo.cjs did not exit")
        .expect("waiting for browser_echo.cjs");
    assert!(
        status.success(),
        "browser_echo.cjs failed ({status}): {}",
        stderr_of(&mut script).await
    );
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("report {line:?}: {e}"))
}

fn options() -> ServerOptions {
    ServerOptions {
        // The page's largest message is 16 MiB.
        max_message_payload_size: 32 << 20,
        max_frame_payload_size: 32 << 20,
        ..ServerOptions::default()
    }
}

fn check_echoes(report: &serde_json::Value) {
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    assert_eq!(report["echoed"], MESSAGES, "{report}");
    assert_eq!(report["closeCode"], 1000, "{report}");
    assert_eq!(report["wasClean"], true, "{report}");
}

#[tokio::test]
async fn chromium_echoes_through_our_server_with_permessage_deflate() {
    let report = chromium_echo(options()).await;
    check_echoes(&report);
    // Chromium offers `permessage-deflate; client_max_window_bits`; we accept as offered.
    assert_eq!(report["extensions"], "permessage-deflate", "{report}");
}

#[tokio::test]
async fn chromium_echoes_through_our_server_without_compression() {
    let report = chromium_echo(ServerOptions {
        per_message_compression_accept: None,
        ..options()
    })
    .await;
    check_echoes(&report);
    assert_eq!(report["extensions"], "", "{report}");
}

/// An example as built by `cargo test --all-features` (which builds the examples) or CI's
/// example build, started on a free port; returns it and its address.
async fn start_example(name: &str) -> (RunningExample, String) {
    let binary = binary::example_binary(name);
    let mut child = tokio::process::Command::new(&binary)
        .arg("127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting examples/{name}: {e}"));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = timeout(Duration::from_secs(60), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{name} prints its address"))
        .expect("read")
        .expect("a line");
    let addr = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{name} printed {line:?}"))
        .to_string();
    (
        RunningExample {
            _child: child,
            _stdout: lines,
        },
        addr,
    )
}

/// A started example, killed when dropped. Its stdout stays open: a closed pipe would end
/// it at its next `println!`.
struct RunningExample {
    _child: tokio::process::Child,
    _stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

/// What the site's page and a browser echo through its WebSocket must have reported.
fn check_site_report(report: &serde_json::Value) {
    check_echoes(report);
    // The page's own client: connected with compression, sent, got the echo.
    let ui = report["ui"].as_str().unwrap_or_default();
    assert!(
        ui.contains("(extensions: permessage-deflate")
            && ui.contains("sent: Hello, world!")
            && ui.contains("received: Hello, world!"),
        "the page's log: {ui:?}"
    );
    assert_eq!(report["extensions"], "permessage-deflate", "{report}");
}

#[tokio::test]
async fn chromium_uses_the_web_site_example_page_and_its_websocket() {
    let browser = chromium();
    let (_site, addr) = start_example("web_site").await;
    let report = browser_echo(&[
        format!("--page=http://{addr}/"),
        "--ui=1".to_string(),
        format!("--url=ws://{addr}/ws"),
        format!("--executable={}", browser.display()),
    ])
    .await;
    check_site_report(&report);
}

/// The same site over HTTPS under `/app/`, its self-signed certificate accepted by the
/// browser context: the page's client must find `wss://.../app/ws` from the page's URL.
#[tokio::test]
async fn chromium_uses_the_web_site_tls_example_over_https_under_a_subpath() {
    let browser = chromium();
    let (_site, addr) = start_example("web_site_tls").await;
    let report = browser_echo(&[
        format!("--page=https://{addr}/app/"),
        "--ui=1".to_string(),
        "--insecure=1".to_string(),
        format!("--url=wss://{addr}/app/ws"),
        format!("--executable={}", browser.display()),
    ])
    .await;
    check_site_report(&report);
    let ui = report["ui"].as_str().unwrap_or_default();
    assert!(
        ui.contains(&format!("connected to wss://{addr}/app/ws")),
        "the page's log: {ui:?}"
    );
}
