//! Broadcasting: mirrors Autobahn|Python's "Broadcasting over WebSocket" example.
//!
//! ```text
//! cargo run --example broadcast
//! ```
//!
//! The server keeps a registry of open connections (their cloneable channels): a
//! connection registers in `on_open`, unregisters in `on_close`, and every message a client
//! sends is broadcast to all registered clients. Three clients connect; once each has been
//! welcomed (so all three are registered) each says hello, and every client must receive
//! all three hellos before closing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;
use tokio::sync::Barrier;

const CLIENTS: usize = 3;

/// The server's registry: peer address → channel. A std mutex is enough: it is never
/// held across an `await`.
#[derive(Clone, Default)]
struct Registry(Arc<Mutex<BTreeMap<String, WebSocketChannel>>>);

impl Registry {
    fn clients(&self) -> MutexGuard<'_, BTreeMap<String, WebSocketChannel>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `text` to every registered client.
    async fn broadcast(&self, text: &str) {
        let channels: Vec<WebSocketChannel> = self.clients().values().cloned().collect();
        println!(
            "[server] broadcasting {text:?} to {} clients",
            channels.len()
        );
        for channel in channels {
            // A client that went away in the meantime is not an error for the others. A send
            // waits while that client's queue is full, so one very slow client slows the
            // broadcast; a large server might send from a task per client instead.
            let _ = channel.send_text(text).await;
        }
    }
}

struct BroadcastServer {
    channel: WebSocketChannel,
    registry: Registry,
}

impl WebSocketServerHandler for BroadcastServer {}

impl WebSocketHandler for BroadcastServer {
    async fn on_open(&mut self) {
        let peer = self.channel.peer().to_string();
        self.registry.clients().insert(peer, self.channel.clone());
        println!("[server] {} joined", self.channel.peer());
        let _ = self.channel.send_text("welcome").await;
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        if !is_binary {
            let text = String::from_utf8_lossy(&payload);
            self.registry
                .broadcast(&format!("{} says {text:?}", self.channel.peer()))
                .await;
        }
    }

    async fn on_close(&mut self, _was_clean: bool, _code: Option<u16>, _reason: Option<String>) {
        self.registry.clients().remove(self.channel.peer());
        println!("[server] {} left", self.channel.peer());
    }
}

struct Client {
    name: String,
    channel: WebSocketChannel,
    all_welcomed: Arc<Barrier>,
    received: Vec<String>,
}

impl WebSocketClientHandler for Client {}

impl WebSocketHandler for Client {
    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        let text = String::from_utf8_lossy(&payload).into_owned();
        if text == "welcome" {
            // Wait until every client is registered, then say hello.
            self.all_welcomed.wait().await;
            let _ = self
                .channel
                .send_text(format!("hello from {}", self.name))
                .await;
            return;
        }
        println!("[{}] received: {text}", self.name);
        self.received.push(text);
        if self.received.len() == CLIENTS {
            let _ = self.channel.send_close(Some(1000), None).await;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory.listen("127.0.0.1:0").await?;
    let url = format!("ws://{}", listener.local_addr()?);
    let registry = Registry::default();
    let server = tokio::spawn(factory.serve(listener, move |channel| BroadcastServer {
        channel,
        registry: registry.clone(),
    }));

    let client = WebSocketClientFactory::new(&url)?;
    let all_welcomed = Arc::new(Barrier::new(CLIENTS));
    let mut runs = Vec::new();
    for i in 1..=CLIENTS {
        let name = format!("client {i}");
        let all_welcomed = all_welcomed.clone();
        let conn = client
            .connect(|channel| Client {
                name,
                channel,
                all_welcomed,
                received: Vec::new(),
            })
            .await?;
        runs.push(conn.spawn());
    }

    let mut ok = true;
    for run in runs {
        let (c, close) = run.await?;
        let heard = |i| {
            c.received
                .iter()
                .any(|m| m.ends_with(&format!("\"hello from client {i}\"")))
        };
        let hellos = (1..=CLIENTS).filter(|&i| heard(i)).count();
        println!(
            "[{}] got {hellos}/{CLIENTS} hellos, clean close: {}",
            c.name, close.was_clean
        );
        ok &= hellos == CLIENTS && close.was_clean;
    }
    server.abort();
    if !ok {
        return Err("broadcast incomplete".into());
    }
    println!("ok");
    Ok(())
}
