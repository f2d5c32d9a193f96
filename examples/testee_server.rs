//! Autobahn Testsuite testee: an echo server.
//!
//! `cargo run --release --example testee_server -- 127.0.0.1:9001`, then run the
//! suite in fuzzingclient mode against it (see `wstest/`).

use autobahn::websocket::{
    WebSocketChannel, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;

struct Echo {
    channel: WebSocketChannel,
}

impl WebSocketHandler for Echo {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

impl WebSocketServerHandler for Echo {}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let factory = WebSocketServerFactory::new(format!("ws://{addr}"));
    let listener = factory.listen(&addr).await?;
    eprintln!("testee_server listening on {}", listener.local_addr()?);
    factory.serve(listener, |channel| Echo { channel }).await?;
    Ok(())
}
