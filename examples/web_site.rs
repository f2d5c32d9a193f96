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
//! WebSocket echo through `autobahn::websocket::upgrade::WebSocketUpgrade`, with our
//! factory's options and permessage-deflate. `ADDR` may use port 0; the example prints
//! `listening on HOST:PORT`. The app is in `web_site/app.rs`, which `web_site_tls` serves
//! over HTTPS.
//!
//! With no arguments it serves on a free port, fetches the page and the JSON with plain
//! HTTP, echoes a message over `/ws` with compression negotiated, and exits 0 (non-zero if
//! anything is off).

#[path = "web_site/app.rs"]
mod app;

use std::net::SocketAddr;

use app::{app, check_site, get_text, DemoResult};
use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};

async fn serve(addr: &str) -> DemoResult<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("listening on {local}");
    let app = app(WebSocketServerFactory::new(format!("ws://{local}")), "");
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

async fn demo() -> DemoResult<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    let app = app(WebSocketServerFactory::new(format!("ws://{addr}")), "");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let get = |path: String| async move {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        get_text(tcp, &addr.to_string(), &path).await
    };
    let client = WebSocketClientFactory::new(&format!("ws://{addr}/ws"))?;
    check_site("", get, client).await
}

#[tokio::main]
async fn main() -> DemoResult<()> {
    match std::env::args().nth(1) {
        None => demo().await,
        Some(addr) => serve(&addr).await,
    }
}
