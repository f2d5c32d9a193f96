//! The app that `web_site` (HTTP) and `web_site_tls` (HTTPS) both serve, and the checks
//! their demos run against it.
//!
//! The page refers to its script, style sheet and WebSocket by relative URLs, so the same
//! page works at `/` and under a subpath such as `/app/`.

use std::error::Error;
use std::future::Future;
use std::sync::Arc;

use autobahn::websocket::upgrade::WebSocketUpgrade;
use autobahn::websocket::{Message, WebSocketClientFactory, WebSocketServerFactory};
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// What the demos return on failure.
pub type DemoResult<T> = Result<T, Box<dyn Error>>;

const PAGE: &str = r#"<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>autobahn-rs echo</title>
  <link rel="stylesheet" href="static/style.css">
</head>
<body>
  <h1>WebSocket echo</h1>
  <form id="form">
    <input id="message" value="Hello, world!" autocomplete="off">
    <button id="send" type="submit" disabled>Send</button>
  </form>
  <pre id="log"></pre>
  <script src="static/echo.js"></script>
</body>
</html>
"#;

const SCRIPT: &str = r#"// The echo client: connects to `ws` next to this page (wss on https).
const log = (line) => { document.getElementById('log').textContent += line + '\n'; };
const url = new URL('ws', location.href);
url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
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

/// The routes' shared state: the factory answering upgrades and where the WebSocket is.
#[derive(Clone)]
struct Site {
    factory: WebSocketServerFactory,
    ws_path: Arc<str>,
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript")], SCRIPT).into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css")], STYLE).into_response()
}

async fn info(State(site): State<Site>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "server": "autobahn-rs",
        "websocket": &*site.ws_path,
        "connections": site.factory.connection_count(),
    }))
}

/// `BASE/ws`: the factory's handshake (permessage-deflate included), then an echo.
async fn ws(State(site): State<Site>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(&site.factory, |mut ws| async move {
        while let Some(message) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    })
}

/// The site under `base` (`""` for the root, or a subpath such as `"/app"`): the page at
/// `BASE/`, its files under `BASE/static/`, JSON at `BASE/api/info` and the WebSocket at
/// `BASE/ws`.
pub fn app(mut factory: WebSocketServerFactory, base: &str) -> Router {
    // Browser messages up to 16 MiB (the browser test sends that much).
    factory.options_mut().max_message_payload_size = 32 << 20;
    factory.options_mut().max_frame_payload_size = 32 << 20;
    let site = Site {
        factory,
        ws_path: format!("{base}/ws").into(),
    };
    Router::new()
        .route(&format!("{base}/"), get(page))
        .route(&format!("{base}/static/echo.js"), get(script))
        .route(&format!("{base}/static/style.css"), get(style))
        .route(&format!("{base}/api/info"), get(info))
        .route(&site.ws_path.clone(), get(ws))
        .with_state(site)
}

/// An HTTP/1.1 GET on `stream` (plain TCP or TLS); returns the status line and the body.
pub async fn get_text<S>(mut stream: S, host: &str, path: &str) -> DemoResult<(String, String)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // A TLS server may end without close_notify after `Connection: close`: what was read
    // by then is the whole response.
    if let Err(e) = stream.read_to_end(&mut response).await {
        if response.is_empty() {
            return Err(e.into());
        }
    }
    let response = String::from_utf8(response)?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no end of head")?;
    Ok((
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    ))
}

/// The demos' checks of the site under `base`: the page and the JSON through `get` (a GET
/// of a path), then an echo through `client` (the WebSocket's URL) with permessage-deflate
/// negotiated.
pub async fn check_site<G, Fut>(
    base: &str,
    get: G,
    client: WebSocketClientFactory,
) -> DemoResult<()>
where
    G: Fn(String) -> Fut,
    Fut: Future<Output = DemoResult<(String, String)>>,
{
    let (status, body) = get(format!("{base}/")).await?;
    println!("GET {base}/ -> {status} ({} bytes of HTML)", body.len());
    if !status.contains("200") || !body.contains("static/echo.js") {
        return Err(format!("GET {base}/: {status}").into());
    }
    let (status, body) = get(format!("{base}/api/info")).await?;
    println!("GET {base}/api/info -> {status}: {}", body.trim());
    let json: serde_json::Value = serde_json::from_str(body.trim())?;
    if json["websocket"] != format!("{base}/ws") {
        return Err(format!("GET {base}/api/info: {body}").into());
    }

    let connection = client.connect(|_| NoHandler).await?;
    let extensions = connection
        .response()
        .headers
        .get("Sec-WebSocket-Extensions")
        .map(str::to_owned);
    println!("GET {base}/ws -> 101, extensions: {extensions:?}");
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
