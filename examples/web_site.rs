//! A web site and a WebSocket on one port, in axum: the Rust form of Autobahn|Python's
//! "WebSocket and Twisted Web" example (`WebSocketResource`).
//!
//! ```text
//! cargo run --example web_site                        # demo: serve, check every route, exit
//! cargo run --example web_site -- 127.0.0.1:8080      # serve until Ctrl-C; open http://127.0.0.1:8080/
//! ```
//!
//! Routes: `GET /` an HTML page with an echo client in JavaScript (input, send, log),
//! `GET /static/...` its script and style sheet, `GET /api/info` JSON, and `GET /ws` a
//! WebSocket echo through [`WebSocketUpgrade`], with our factory's options and
//! permessage-deflate. `ADDR` may use port 0; the example prints `listening on HOST:PORT`.
//!
//! With no arguments it serves on a free port, fetches the page and the JSON with plain
//! HTTP, echoes a message over `/ws` with compression negotiated, and exits 0 (non-zero if
//! anything is off).

use std::net::SocketAddr;

use autobahn::websocket::upgrade::WebSocketUpgrade;
use autobahn::websocket::{Message, WebSocketClientFactory, WebSocketServerFactory};
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

const PAGE: &str = r#"<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>autobahn-rs echo</title>
  <link rel="stylesheet" href="/static/style.css">
</head>
<body>
  <h1>WebSocket echo</h1>
  <form id="form">
    <input id="message" value="Hello, world!" autocomplete="off">
    <button id="send" type="submit" disabled>Send</button>
  </form>
  <pre id="log"></pre>
  <script src="/static/echo.js"></script>
</body>
</html>
"#;

const SCRIPT: &str = r#"// The echo client: connects to /ws on this page's host (wss on https).
const log = (line) => { document.getElementById('log').textContent += line + '\n'; };
const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
const ws = new WebSocket(url);
ws.binaryType = 'arraybuffer';
ws.onopen = () => {
  log('connected to ' + url + ' (extensions: ' + (ws.extensions || 'none') + ')');
  document.getElementById('send').disabled = false;
};
ws.onmessage = (e) => log('received: ' + (typeof e.data === 'string' ? e.data : e.data.byteLength + ' bytes'));
ws.onclose = (e) => log('closed: ' + e.code);
document.getElementById('form').onsubmit = (e) => {
  e.preventDefault();
  const text = document.getElementById('message').value;
  ws.send(text);
  log('sent: ' + text);
};
window.echoSocket = ws; // for the browser tests
"#;

const STYLE: &str =
    "body { font-family: sans-serif; margin: 2em; } pre { background: #eee; padding: 1em; }\n";

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT).into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css")], STYLE).into_response()
}

async fn info(State(factory): State<WebSocketServerFactory>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "server": "autobahn-rs",
        "websocket": "/ws",
        "connections": factory.connection_count(),
    }))
}

/// `/ws`: the factory's handshake (permessage-deflate included), then an echo.
async fn ws(State(factory): State<WebSocketServerFactory>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(&factory, |mut ws| async move {
        while let Some(message) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    })
}

fn app(factory: WebSocketServerFactory) -> Router {
    let mut factory = factory;
    // Browser messages up to 16 MiB (the browser test sends that much).
    factory.options_mut().max_message_payload_size = 32 << 20;
    factory.options_mut().max_frame_payload_size = 32 << 20;
    Router::new()
        .route("/", get(page))
        .route("/static/echo.js", get(script))
        .route("/static/style.css", get(style))
        .route("/api/info", get(info))
        .route("/ws", get(ws))
        .with_state(factory)
}

async fn serve(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("listening on {local}");
    let app = app(WebSocketServerFactory::new(format!("ws://{local}")));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

/// A plain HTTP/1.1 GET; returns the status line and the body.
async fn get_text(
    addr: SocketAddr,
    path: &str,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no end of head")?;
    Ok((
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    ))
}

async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    let app = app(WebSocketServerFactory::new(format!("ws://{addr}")));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    let (status, body) = get_text(addr, "/").await?;
    println!("GET / -> {status} ({} bytes of HTML)", body.len());
    if !status.contains("200") || !body.contains("/static/echo.js") {
        return Err(format!("GET /: {status}").into());
    }
    let (status, body) = get_text(addr, "/api/info").await?;
    println!("GET /api/info -> {status}: {}", body.trim());
    let json: serde_json::Value = serde_json::from_str(body.trim())?;
    if json["websocket"] != "/ws" {
        return Err(format!("GET /api/info: {body}").into());
    }

    let client = WebSocketClientFactory::new(&format!("ws://{addr}/ws"))?;
    let connection = client.connect(|_| NoHandler).await?;
    let extensions = connection
        .response()
        .headers
        .get("Sec-WebSocket-Extensions")
        .map(str::to_owned);
    println!("GET /ws -> 101, extensions: {extensions:?}");
    if !extensions.is_some_and(|e| e.starts_with("permessage-deflate")) {
        return Err("permessage-deflate was not negotiated".into());
    }
    let mut ws = connection.into_websocket();
    let text = "echo through axum ".repeat(100);
    ws.send(text.clone()).await?;
    if ws.recv().await != Some(Message::from(text)) {
        return Err("wrong echo".into());
    }
    let close = ws.close(Some(1000), None).await?;
    println!("echo ok; closed: {close:?}");
    Ok(())
}

/// The demo client's handler: the connection is used through the pull API.
struct NoHandler;
impl autobahn::websocket::WebSocketHandler for NoHandler {}
impl autobahn::websocket::WebSocketClientHandler for NoHandler {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1) {
        None => demo().await,
        Some(addr) => serve(&addr).await,
    }
}
