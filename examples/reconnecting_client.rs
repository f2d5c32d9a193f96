//! A client that reconnects with exponential backoff: mirrors Autobahn|Python's
//! reconnecting WebSocket client example (a client factory that retries with growing
//! delays).
//!
//! ```text
//! cargo run --example reconnecting_client                  # with a flaky demo server
//! cargo run --example reconnecting_client -- ws://host:port  # against any echo server
//! ```
//!
//! The client retries after 100 ms, then 200 ms, 400 ms, … (capped at 5 s, with ±20%
//! jitter so that many clients do not retry in lockstep), and goes back to the initial
//! delay once a connection opens. The demo server refuses the first two connections (HTTP
//! 503), closes the third right after opening it, and echoes on the fourth: the client
//! says hello, gets its echo and closes for good.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;

const INITIAL_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(5);
const MAX_ATTEMPTS: usize = 10;

/// The flaky server: behaves according to how many connections it has seen.
struct FlakyServer {
    channel: WebSocketChannel,
    nth: usize,
}

impl WebSocketServerHandler for FlakyServer {
    async fn on_connect(
        &mut self,
        _request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        if self.nth <= 2 {
            println!(
                "[server] connection #{}: refusing (still starting up)",
                self.nth
            );
            return Err(ConnectionDeny::new(
                ConnectionDeny::SERVICE_UNAVAILABLE,
                Some("starting up"),
            ));
        }
        Ok(ConnectionAccept::new())
    }
}

impl WebSocketHandler for FlakyServer {
    async fn on_open(&mut self) {
        if self.nth == 3 {
            println!("[server] connection #3: opened, closing it right away");
            let _ = self
                .channel
                .send_close(Some(4000), Some("restarting"))
                .await;
        }
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

/// Says hello on open; `done` once the echo is back (then it closes by itself).
struct Client {
    channel: WebSocketChannel,
    done: bool,
}

impl WebSocketClientHandler for Client {}

impl WebSocketHandler for Client {
    async fn on_open(&mut self) {
        let _ = self.channel.send_text("hello").await;
    }

    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        println!(
            "[client] echo received: {}",
            String::from_utf8_lossy(&payload)
        );
        self.done = payload == "hello";
        let _ = self.channel.send_close(Some(1000), None).await;
    }
}

/// Connects, reconnecting with backoff until a connection has done its job.
async fn run_client(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketClientFactory::new(url)?;
    let mut delay = INITIAL_DELAY;
    for attempt in 1..=MAX_ATTEMPTS {
        match factory
            .connect(|channel| Client {
                channel,
                done: false,
            })
            .await
        {
            Ok(conn) => {
                delay = INITIAL_DELAY; // the server is back: start over with short delays
                let (client, close) = conn.run().await;
                if client.done {
                    println!("[client] finished after {attempt} attempts");
                    return Ok(());
                }
                println!(
                    "[client] attempt {attempt}: connection lost ({:?} {:?})",
                    close.code, close.reason
                );
            }
            Err(e) => println!("[client] attempt {attempt}: connect failed: {e}"),
        }
        let jittered = delay.mul_f64(0.8 + 0.4 * rand::random::<f64>());
        println!("[client] reconnecting in {jittered:?}");
        tokio::time::sleep(jittered).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
    Err(format!("gave up after {MAX_ATTEMPTS} attempts").into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(url) = std::env::args().nth(1) {
        return run_client(&url).await;
    }
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory.listen("127.0.0.1:0").await?;
    let url = format!("ws://{}", listener.local_addr()?);
    let seen = Arc::new(AtomicUsize::new(0));
    let server = tokio::spawn(factory.serve(listener, move |channel| FlakyServer {
        channel,
        nth: seen.fetch_add(1, Ordering::Relaxed) + 1,
    }));
    let result = run_client(&url).await;
    server.abort();
    result
}
