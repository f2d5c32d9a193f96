//! Autobahn Testsuite testee on the pull API: an echo server that receives in streaming
//! mode, each message read piece by piece with [`WebSocket::recv_streaming`] as it arrives,
//! and echoes it with [`WebSocket::send`] once complete (compare `testee_server`, the
//! handler API, and `testee_pull_client`, which uses [`WebSocket::recv`]).
//!
//! `cargo run --release --example testee_pull_server -- 127.0.0.1:9001`, then run the suite in
//! fuzzingclient mode against it (`python3 wstest/run.py server --testee
//! target/release/examples/testee_pull_server`).
//!
//! [`WebSocket::recv`]: autobahn::websocket::WebSocket::recv
//! [`WebSocket::recv_streaming`]: autobahn::websocket::WebSocket::recv_streaming
//! [`WebSocket::send`]: autobahn::websocket::WebSocket::send

use autobahn::websocket::{Message, WebSocket, WebSocketServerFactory};
use tokio::io::{AsyncRead, AsyncWrite};

/// The next message, read piece by piece as it arrives and collected; `None` once the
/// connection has ended (also in the middle of a message).
async fn next_message<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocket<S>) -> Option<Message> {
    ws.recv_streaming().await?.into_message().await.ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    // Its own Server header, so the suite's report tells the two server testees apart.
    let factory = WebSocketServerFactory::new(format!("ws://{addr}")).server(Some(concat!(
        "AutobahnRust-pull/",
        env!("CARGO_PKG_VERSION")
    )));
    let listener = factory.listen(&addr).await?;
    eprintln!("testee_pull_server listening on {}", listener.local_addr()?);
    let server = factory.start_websocket(listener, |mut ws| async move {
        ws.receive_streaming(true);
        while let Some(message) = next_message(&mut ws).await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    });
    server.wait().await;
    Ok(())
}
