//! Chat server with a graceful shutdown on Ctrl-C.
//!
//! ```text
//! cargo run --example chat                        # demo: server and three clients, then shutdown
//! cargo run --example chat -- server 127.0.0.1:0  # serves until Ctrl-C
//! ```
//!
//! Every text message a client sends goes to every other client as `<peer>: <text>`; joins
//! and leaves are announced. Each client has its own bounded outgoing queue and writer
//! task, so a client that stops reading loses messages (the server drops what does not fit
//! its queue, and says so in the log) instead of stalling the room. Ctrl-C stops accepting,
//! closes every connection with 1001 "going away", waits up to 5 s and exits.
//!
//! `server ADDR` prints `listening on HOST:PORT` once it accepts. With no arguments the
//! example starts the server on a free port, connects three clients, lets each say hello,
//! checks that everyone heard everyone else, shuts the server down as Ctrl-C would, checks
//! that every client got 1001, and exits 0 (non-zero if anything went wrong).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// Messages queued for one client before the room drops what it sends that client.
const QUEUE: usize = 64;
/// How long open connections get to close when the server shuts down.
const GRACE: Duration = Duration::from_secs(5);

/// Who is in the room: a bounded queue per client (its writer task sends from it).
#[derive(Clone, Default)]
struct Room(Arc<Mutex<BTreeMap<String, mpsc::Sender<Bytes>>>>);

impl Room {
    fn members(&self) -> MutexGuard<'_, BTreeMap<String, mpsc::Sender<Bytes>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `text` for everyone but `from`, without waiting for anyone.
    fn say(&self, from: &str, text: String) {
        let text = Bytes::from(text);
        for (peer, queue) in self.members().iter() {
            if peer != from && queue.try_send(text.clone()).is_err() {
                tracing::warn!(%peer, "queue full: message dropped for this client");
            }
        }
    }
}

struct ChatServer {
    channel: WebSocketChannel,
    room: Room,
}

impl WebSocketServerHandler for ChatServer {}

impl WebSocketHandler for ChatServer {
    async fn on_open(&mut self) {
        let (queue, mut outgoing) = mpsc::channel::<Bytes>(QUEUE);
        let channel = self.channel.clone();
        tokio::spawn(async move {
            while let Some(text) = outgoing.recv().await {
                if channel.send_message(text, false).await.is_err() {
                    break;
                }
            }
        });
        let peer = self.channel.peer().to_string();
        let online = {
            let mut members = self.room.members();
            members.insert(peer.clone(), queue.clone());
            members.len()
        };
        let _ = queue.try_send(Bytes::from(format!("* welcome, {online} online")));
        self.room.say(&peer, format!("* {peer} joined"));
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        if !is_binary {
            let peer = self.channel.peer();
            let text = String::from_utf8_lossy(&payload);
            self.room.say(peer, format!("{peer}: {text}"));
        }
    }

    async fn on_close(&mut self, _was_clean: bool, code: Option<u16>, _reason: Option<String>) {
        let peer = self.channel.peer().to_string();
        // Dropping its queue ends the writer task.
        if self.room.members().remove(&peer).is_some() {
            self.room.say(&peer, format!("* {peer} left ({code:?})"));
        }
    }
}

fn chat_factory(addr: &str) -> WebSocketServerFactory {
    WebSocketServerFactory::new(format!("ws://{addr}"))
}

/// `server ADDR`: serves until Ctrl-C, then shuts down gracefully.
async fn run_server(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let factory = chat_factory(addr);
    let listener = factory.listen(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let room = Room::default();
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        println!("Ctrl-C: closing every connection with 1001 (grace {GRACE:?})");
    };
    let report = factory
        .serve_with_shutdown(
            listener,
            move |channel| ChatServer {
                channel,
                room: room.clone(),
            },
            ctrl_c,
            GRACE,
        )
        .await;
    println!(
        "stopped: {} connections closed, {} dropped",
        report.closed, report.dropped
    );
    Ok(())
}

/// A demo client: reports every text it receives and how it closed.
struct ChatClient {
    events: mpsc::UnboundedSender<ClientEvent>,
}

#[derive(Debug)]
enum ClientEvent {
    Text(String),
    Closed(Option<u16>),
}

impl WebSocketClientHandler for ChatClient {}

impl WebSocketHandler for ChatClient {
    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        let text = String::from_utf8_lossy(&payload).into_owned();
        let _ = self.events.send(ClientEvent::Text(text));
    }

    async fn on_close(&mut self, _was_clean: bool, code: Option<u16>, _reason: Option<String>) {
        let _ = self.events.send(ClientEvent::Closed(code));
    }
}

/// The next event of a demo client, or an error after 30 s.
async fn next(
    events: &mut mpsc::UnboundedReceiver<ClientEvent>,
) -> Result<ClientEvent, Box<dyn std::error::Error>> {
    match timeout(Duration::from_secs(30), events.recv()).await {
        Ok(Some(ev)) => Ok(ev),
        Ok(None) => Err("client handler gone".into()),
        Err(_) => Err("no event within 30 s".into()),
    }
}

/// No arguments: server, three clients, hellos, shutdown; checks every step.
async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let factory = chat_factory("127.0.0.1");
    let listener = factory.listen("127.0.0.1:0").await?;
    let room = Room::default();
    let server = factory.start(listener, move |channel| ChatServer {
        channel,
        room: room.clone(),
    });
    let addr = server.local_addr().ok_or("a TCP server has an address")?;
    println!("listening on {addr}");

    // Clients join one at a time: each waits for its welcome, so it is in the room.
    let mut clients = Vec::new();
    for n in 1..=3 {
        let (tx, mut events) = mpsc::unbounded_channel();
        let conn = WebSocketClientFactory::new(&format!("ws://{addr}"))?
            .connect(|_| ChatClient { events: tx })
            .await?;
        let channel = conn.channel().clone();
        conn.spawn();
        match next(&mut events).await? {
            ClientEvent::Text(t) if t == format!("* welcome, {n} online") => {
                println!("[client {n}] {t}")
            }
            other => return Err(format!("client {n}: expected a welcome, got {other:?}").into()),
        }
        clients.push((channel, events));
    }
    for (n, (channel, _)) in clients.iter().enumerate() {
        channel
            .send_text(format!("hello from client {}", n + 1))
            .await?;
    }
    // Everyone hears the two others (joins announced in between are skipped).
    for (n, (_, events)) in clients.iter_mut().enumerate() {
        let mut heard = Vec::new();
        while heard.len() < 2 {
            if let ClientEvent::Text(t) = next(events).await? {
                if !t.starts_with('*') {
                    println!("[client {}] {t}", n + 1);
                    heard.push(t);
                }
            }
        }
        for other in (1..=3).filter(|&o| o != n + 1) {
            if !heard
                .iter()
                .any(|t| t.ends_with(&format!("hello from client {other}")))
            {
                return Err(format!("client {} missed client {other}: {heard:?}", n + 1).into());
            }
        }
    }

    println!("shutting down as Ctrl-C would");
    let report = server.shutdown(GRACE).await;
    println!(
        "stopped: {} connections closed, {} dropped",
        report.closed, report.dropped
    );
    for (n, (_, events)) in clients.iter_mut().enumerate() {
        loop {
            match next(events).await? {
                ClientEvent::Closed(Some(1001)) => break,
                ClientEvent::Closed(code) => {
                    return Err(format!("client {}: closed with {code:?}, not 1001", n + 1).into())
                }
                ClientEvent::Text(_) => {} // leave notices of the others
            }
        }
        println!("[client {}] server went away (1001)", n + 1);
    }
    if (report.closed, report.dropped) != (3, 0) {
        return Err(format!("shutdown: {report:?}").into());
    }
    println!("everyone heard everyone; shutdown clean");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match (args.first().map(String::as_str), args.get(1)) {
        (None, _) => demo().await,
        (Some("server"), Some(addr)) => run_server(addr).await,
        _ => Err("usage: chat [server ADDR]".into()),
    }
}
