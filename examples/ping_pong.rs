//! Pings and pongs: mirrors Autobahn|Python's "WebSocket Ping-Pong" example, and shows the
//! `autoPingInterval` / `autoPingTimeout` options (`auto_ping_interval`,
//! `auto_ping_timeout` here).
//!
//! ```text
//! cargo run --example ping_pong
//! ```
//!
//! The server pings every client every 200 ms and drops any client that has not answered
//! within 500 ms. A well-behaved client answers automatically (its `on_ping` just sees the
//! ping) and sends pings of its own, whose pongs arrive in `on_pong`. Then a "dead" peer
//! (a raw TCP socket that completes the handshake and goes silent) is dropped by the
//! server's ping timeout.

use std::time::{Duration, Instant};

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// How a server-side connection ended: (pongs received, clean close, reason).
type Report = (usize, bool, Option<String>);

struct Server {
    channel: WebSocketChannel,
    pongs: usize,
    report: mpsc::UnboundedSender<Report>,
}

impl WebSocketServerHandler for Server {}

impl WebSocketHandler for Server {
    async fn on_ping(&mut self, payload: Bytes) {
        println!(
            "[server] ping from {}: {:?}",
            self.channel.peer(),
            String::from_utf8_lossy(&payload)
        );
    }

    async fn on_pong(&mut self, payload: Bytes) {
        self.pongs += 1;
        println!(
            "[server] pong from {} ({} bytes: our auto-ping answered)",
            self.channel.peer(),
            payload.len()
        );
    }

    async fn on_close(&mut self, was_clean: bool, code: Option<u16>, reason: Option<String>) {
        println!(
            "[server] {} closed: clean={was_clean} code={code:?} reason={reason:?}",
            self.channel.peer()
        );
        let _ = self.report.send((self.pongs, was_clean, reason));
    }
}

struct Client {
    opened: Option<oneshot::Sender<()>>,
    pings: usize,
    pongs: usize,
}

impl WebSocketClientHandler for Client {}

impl WebSocketHandler for Client {
    async fn on_open(&mut self) {
        if let Some(opened) = self.opened.take() {
            let _ = opened.send(());
        }
    }

    async fn on_ping(&mut self, payload: Bytes) {
        self.pings += 1;
        println!(
            "[client] ping received ({} bytes), pong already sent",
            payload.len()
        );
    }

    async fn on_pong(&mut self, payload: Bytes) {
        self.pongs += 1;
        println!(
            "[client] pong received: {:?}",
            String::from_utf8_lossy(&payload)
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = ServerOptions {
        auto_ping_interval: Some(Duration::from_millis(200)),
        auto_ping_timeout: Some(Duration::from_millis(500)),
        auto_ping_size: 8,
        ..ServerOptions::default()
    };
    let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
    let listener = factory.listen("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (report, mut reports) = mpsc::unbounded_channel();
    let server = tokio::spawn(factory.serve(listener, move |channel| Server {
        channel,
        pongs: 0,
        report: report.clone(),
    }));

    // A live client: answers the server's pings and sends 4 pings of its own.
    let (opened_tx, opened) = oneshot::channel();
    let client = WebSocketClientFactory::new(&format!("ws://{addr}"))?;
    let conn = client
        .connect(|_| Client {
            opened: Some(opened_tx),
            pings: 0,
            pongs: 0,
        })
        .await?;
    let channel = conn.channel().clone();
    let run = conn.spawn();
    opened.await?; // sends work once the connection runs
    for i in 1..=4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        channel.send_ping(format!("client ping {i}")).await?;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    channel.send_close(Some(1000), None).await?;
    let (client, _) = run.await?;
    let (server_pongs, live_clean, _) = reports.recv().await.ok_or("no server report")?;
    let live_ok = client.pings >= 3 && client.pongs == 4 && server_pongs >= 3 && live_clean;
    println!(
        "[live] client saw {} pings, {} pongs; server saw {server_pongs} pongs",
        client.pings, client.pongs
    );

    // A dead peer: handshake by hand, then never answer anything.
    let mut tcp = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    let start = Instant::now();
    let mut sink = Vec::new();
    tcp.read_to_end(&mut sink).await?; // returns when the server drops us
    let dropped_after = start.elapsed();
    let (_, dead_clean, why) = reports.recv().await.ok_or("no server report")?;
    println!("[dead] dropped by the server after {dropped_after:?}: {why:?}");
    let dead_ok = !dead_clean && dropped_after < Duration::from_secs(2);

    server.abort();
    if !(live_ok && dead_ok) {
        return Err("ping/pong did not behave as expected".into());
    }
    println!("ok");
    Ok(())
}
