//! Broadcasting: mirrors Autobahn|Python's "Broadcasting over WebSocket" example.
//!
//! ```text
//! cargo run --example broadcast                        # self-contained demo, exits by itself
//! cargo run --example broadcast -- server 127.0.0.1:9000   # the server alone
//! ```
//!
//! The server keeps a registry of open connections (their cloneable channels): a
//! connection registers in `on_open`, unregisters in `on_close`, and every text message a
//! client sends is relayed to all registered clients.
//!
//! Slow consumers: each message is prepared once ([`PreparedMessage`]) and queued to every
//! client without waiting (`try_send_prepared`). A client
//! whose queue is above its high-water mark is waited for, concurrently with the others, for
//! at most [`SLOW_CLIENT_DEADLINE`]; one still behind then is dropped. While the relay waits,
//! the sending client's messages are not read (TCP pushes back on it), so a client that stops
//! reading holds the relay back for that deadline once, and the server's memory stays bounded
//! by the high-water marks.
//!
//! The demo: three clients connect; once each has been welcomed (so all three are
//! registered) each says hello, and every client must receive all three hellos before
//! closing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use autobahn::websocket::channel::TrySendError;
use autobahn::websocket::WebSocketClientHandler;
use autobahn::websocket::{PreparedMessage, WebSocketChannel, WebSocketClientFactory};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

const CLIENTS: usize = 3;

/// How long a client's queue may stay full while a message waits for it.
const SLOW_CLIENT_DEADLINE: Duration = Duration::from_secs(5);

/// The server's registry: peer address → channel. A std mutex is enough: it is never
/// held across an `await`.
#[derive(Clone, Default)]
struct Registry(Arc<Mutex<BTreeMap<String, WebSocketChannel>>>);

impl Registry {
    fn clients(&self) -> MutexGuard<'_, BTreeMap<String, WebSocketChannel>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `text` to every registered client: queued at once where there is room, waited
    /// for (up to the deadline, all together) where a client is behind. The message is
    /// prepared once: every client's frame shares its bytes (and, with permessage-deflate
    /// without context takeover, one compression).
    async fn broadcast(&self, text: Bytes) {
        let message = PreparedMessage::new(text, false);
        let channels: Vec<WebSocketChannel> = self.clients().values().cloned().collect();
        let mut behind = JoinSet::new();
        for channel in channels {
            match channel.try_send_prepared(&message) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    let message = message.clone();
                    behind.spawn(async move {
                        let send = channel.send_prepared(&message);
                        if tokio::time::timeout(SLOW_CLIENT_DEADLINE, send)
                            .await
                            .is_err()
                        {
                            eprintln!("[server] {} is too slow: dropped", channel.peer());
                            channel.drop_connection();
                        }
                    });
                }
                // Gone in the meantime: its on_close unregisters it.
                Err(_) => {}
            }
        }
        while behind.join_next().await.is_some() {}
    }
}

struct BroadcastServer {
    channel: WebSocketChannel,
    registry: Registry,
    /// Print joins and leaves (the demo); a standalone server with many clients stays quiet.
    verbose: bool,
}

impl WebSocketServerHandler for BroadcastServer {}

impl WebSocketHandler for BroadcastServer {
    async fn on_open(&mut self) {
        let peer = self.channel.peer().to_string();
        self.registry.clients().insert(peer, self.channel.clone());
        if self.verbose {
            println!("[server] {} joined", self.channel.peer());
        }
        // Tells the client it is registered: it receives every broadcast from now on.
        let _ = self.channel.send_text("welcome").await;
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        if !is_binary {
            self.registry.broadcast(payload).await;
        }
    }

    async fn on_close(&mut self, _was_clean: bool, _code: Option<u16>, _reason: Option<String>) {
        self.registry.clients().remove(self.channel.peer());
        if self.verbose {
            println!("[server] {} left", self.channel.peer());
        }
    }
}

/// Listens on `addr` and serves until the process is stopped.
async fn serve(addr: &str, verbose: bool) -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory.listen(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let registry = Registry::default();
    factory
        .serve(listener, move |channel| BroadcastServer {
            channel,
            registry: registry.clone(),
            verbose,
        })
        .await?;
    Ok(())
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

/// The self-contained demo: a server on a free port and three clients.
async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory.listen("127.0.0.1:0").await?;
    let url = format!("ws://{}", listener.local_addr()?);
    let registry = Registry::default();
    let server = tokio::spawn(factory.serve(listener, move |channel| BroadcastServer {
        channel,
        registry: registry.clone(),
        verbose: true,
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
        let heard = |i| c.received.contains(&format!("hello from client {i}"));
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => demo().await,
        ["server", addr] => serve(addr, false).await,
        _ => Err("usage: broadcast [server HOST:PORT]".into()),
    }
}
