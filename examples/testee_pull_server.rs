//! Autobahn Testsuite testee on the pull API: an echo server written with
//! [`WebSocket::recv`] and [`WebSocket::send`] (compare `testee_server`, the handler API).
//!
//! `cargo run --release --example testee_pull_server -- 127.0.0.1:9001`, then run the suite in
//! fuzzingclient mode against it (`python3 wstest/run.py server --testee
//! target/release/examples/testee_pull_server`).
//!
//! [`WebSocket::recv`]: autobahn::websocket::WebSocket::recv
//! [`WebSocket::send`]: autobahn::websocket::WebSocket::send

use autobahn::websocket::WebSocketServerFactory;

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
        while let Some(message) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    });
    server.wait().await;
    Ok(())
}
