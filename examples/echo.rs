//! Echo server and client: mirrors Autobahn|Python's basic "Echo" example
//! (`examples/asyncio/websocket/echo`), the one the "WebSocket Programming" guide builds.
//!
//! ```text
//! cargo run --example echo                                   # both sides, in one process
//! cargo run --example echo -- server 127.0.0.1:9000          # only the server, forever
//! cargo run --example echo -- client ws://127.0.0.1:9000     # only the client
//! ```
//!
//! With no arguments it starts the server on a free port, connects the client, sends a few
//! text and binary messages, checks every echo, closes cleanly and exits 0 (non-zero on
//! any mismatch).

use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny};
use autobahn::websocket::types::{ConnectionRequest, ConnectionResponse};
use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;

/// The server side: Autobahn's `MyServerProtocol`, one per connection.
struct EchoServer {
    channel: WebSocketChannel,
}

impl WebSocketServerHandler for EchoServer {
    async fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        println!("[server] client connecting: {}", request.peer);
        Ok(ConnectionAccept::default())
    }
}

impl WebSocketHandler for EchoServer {
    async fn on_open(&mut self) {
        println!("[server] WebSocket connection open");
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        // Echo back the message verbatim.
        let _ = self.channel.send_message(payload, is_binary).await;
    }

    async fn on_close(&mut self, was_clean: bool, code: Option<u16>, reason: Option<String>) {
        println!("[server] connection closed: clean={was_clean} code={code:?} reason={reason:?}");
    }
}

/// The client side: Autobahn's `MyClientProtocol`. Sends every message on open and
/// closes once all echoes are back.
struct EchoClient {
    channel: WebSocketChannel,
    to_send: Vec<(Bytes, bool)>,
    received: Vec<(Bytes, bool)>,
}

impl WebSocketClientHandler for EchoClient {
    async fn on_connect(&mut self, response: &ConnectionResponse) {
        println!("[client] connected to server: {}", response.peer);
    }
}

impl WebSocketHandler for EchoClient {
    async fn on_open(&mut self) {
        println!("[client] WebSocket connection open");
        for (payload, is_binary) in &self.to_send {
            if let Err(e) = self.channel.send_message(payload.clone(), *is_binary).await {
                println!("[client] send failed: {e}");
            }
        }
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        if is_binary {
            println!("[client] binary message received: {} bytes", payload.len());
        } else {
            println!(
                "[client] text message received: {}",
                String::from_utf8_lossy(&payload)
            );
        }
        self.received.push((payload, is_binary));
        if self.received.len() == self.to_send.len() {
            let _ = self.channel.send_close(Some(1000), Some("done")).await;
        }
    }
}

/// Connects to `url`, exchanges the messages and returns whether all came back intact.
async fn run_client(url: &str) -> Result<bool, Box<dyn std::error::Error>> {
    let to_send: Vec<(Bytes, bool)> = vec![
        (Bytes::from("Hello, world!"), false),
        (Bytes::from("Grüße, 世界 🌍"), false),
        (Bytes::from_static(&[0x00, 0x01, 0x02, 0xfe, 0xff]), true),
        (Bytes::from(vec![0xab; 100_000]), true),
    ];
    let factory = WebSocketClientFactory::new(url)?;
    let conn = factory
        .connect(|channel| EchoClient {
            channel,
            to_send: to_send.clone(),
            received: Vec::new(),
        })
        .await?;
    let (client, close) = conn.run().await;
    println!("[client] connection closed: {close:?}");
    let ok = client.received == to_send && close.was_clean;
    Ok(ok)
}

/// Serves echo on `addr` until the process ends.
async fn run_server(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new(format!("ws://{addr}"));
    let listener = factory.listen(addr).await?;
    println!("[server] listening on ws://{}", listener.local_addr()?);
    factory
        .serve(listener, |channel| EchoServer { channel })
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => run_server(args.get(1).map_or("127.0.0.1:9000", String::as_str)).await,
        Some("client") => {
            let url = args.get(1).map_or("ws://127.0.0.1:9000", String::as_str);
            check(run_client(url).await?)
        }
        None => {
            // Both sides in one process: the server on a free port, on its own task.
            let factory = WebSocketServerFactory::new("ws://127.0.0.1");
            let listener = factory.listen("127.0.0.1:0").await?;
            let url = format!("ws://{}", listener.local_addr()?);
            println!("[server] listening on {url}");
            let server = tokio::spawn(factory.serve(listener, |channel| EchoServer { channel }));
            let ok = run_client(&url).await?;
            server.abort();
            check(ok)
        }
        Some(other) => {
            Err(format!("unknown mode {other:?}; use `server [addr]` or `client [url]`").into())
        }
    }
}

/// Turns the outcome into the exit status.
fn check(ok: bool) -> Result<(), Box<dyn std::error::Error>> {
    if ok {
        println!("all echoes matched");
        Ok(())
    } else {
        Err("echo mismatch or unclean close".into())
    }
}
