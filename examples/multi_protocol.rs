//! Several WebSocket services on one port, chosen by the request path: mirrors
//! Autobahn|Python's "Using multiple WebSocket Protocols" example.
//!
//! ```text
//! cargo run --example multi_protocol                        # demo: a client per service
//! cargo run --example multi_protocol -- server 127.0.0.1:0  # serves until Ctrl-C
//! ```
//!
//! `/echo` echoes every message, `/upper` answers text in upper case, `/count` answers each
//! message with how many it has received on that connection; any other path is refused
//! with HTTP 404 before the upgrade. The handler picks its service in `on_connect`, which
//! sees the request (path, query, headers) before anything is accepted.
//!
//! `server ADDR` prints `listening on HOST:PORT`. With no arguments the example serves on a
//! free port, talks to every service and to a path that does not exist, checks each answer
//! and exits 0 (non-zero otherwise).

use std::time::Duration;

use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;

/// The services, by path.
#[derive(Debug, Clone, Copy)]
enum Service {
    Echo,
    Upper,
    Count(u64),
}

impl Service {
    fn for_path(path: &str) -> Option<Self> {
        match path {
            "/echo" => Some(Service::Echo),
            "/upper" => Some(Service::Upper),
            "/count" => Some(Service::Count(0)),
            _ => None,
        }
    }
}

/// One connection: which service it talks to is decided in `on_connect`.
struct Services {
    channel: WebSocketChannel,
    service: Option<Service>,
}

impl WebSocketServerHandler for Services {
    async fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        match Service::for_path(&request.path) {
            Some(service) => {
                self.service = Some(service);
                Ok(ConnectionAccept::default())
            }
            None => Err(ConnectionDeny::new(
                ConnectionDeny::NOT_FOUND,
                Some(format!("no service at {}", request.path)),
            )),
        }
    }
}

impl WebSocketHandler for Services {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let answer = match &mut self.service {
            Some(Service::Echo) => payload,
            Some(Service::Upper) if !is_binary => {
                Bytes::from(String::from_utf8_lossy(&payload).to_uppercase())
            }
            Some(Service::Upper) => payload,
            Some(Service::Count(n)) => {
                *n += 1;
                let _ = self.channel.send_text(n.to_string()).await;
                return;
            }
            None => return, // not reached: on_connect chose a service or refused
        };
        let _ = self.channel.send_message(answer, is_binary).await;
    }
}

fn make(channel: WebSocketChannel) -> Services {
    Services {
        channel,
        service: None,
    }
}

/// Sends each message and collects one answer per message.
struct Ask {
    channel: WebSocketChannel,
    send: Vec<&'static str>,
    answers: Vec<String>,
}

impl WebSocketClientHandler for Ask {}

impl WebSocketHandler for Ask {
    async fn on_open(&mut self) {
        for text in &self.send {
            let _ = self.channel.send_text(*text).await;
        }
    }

    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        self.answers
            .push(String::from_utf8_lossy(&payload).into_owned());
        if self.answers.len() == self.send.len() {
            let _ = self.channel.send_close(Some(1000), None).await;
        }
    }
}

async fn ask(
    url: &str,
    send: Vec<&'static str>,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let conn = WebSocketClientFactory::new(url)?
        .connect(|channel| Ask {
            channel,
            send,
            answers: Vec::new(),
        })
        .await?;
    let (ask, _) = tokio::time::timeout(Duration::from_secs(30), conn.run()).await?;
    Ok(ask.answers)
}

async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory.listen("127.0.0.1:0").await?;
    let server = factory.start(listener, make);
    let addr = server.local_addr().ok_or("a TCP server has an address")?;
    println!("listening on {addr}");

    let cases: [(&str, Vec<&'static str>, Vec<&str>); 3] = [
        ("/echo", vec!["hello", "world"], vec!["hello", "world"]),
        ("/upper", vec!["hello", "grüße"], vec!["HELLO", "GRÜSSE"]),
        ("/count", vec!["a", "b", "c"], vec!["1", "2", "3"]),
    ];
    for (path, send, want) in cases {
        let got = ask(&format!("ws://{addr}{path}"), send).await?;
        println!("{path}: {got:?}");
        if got != want {
            return Err(format!("{path}: got {got:?}, want {want:?}").into());
        }
    }
    match ask(&format!("ws://{addr}/nowhere"), vec!["hi"]).await {
        Err(e) => {
            let status = e
                .downcast_ref::<autobahn::websocket::Error>()
                .and_then(|e| e.http_status());
            println!("/nowhere: refused ({e})");
            if status != Some(404) {
                return Err(format!("/nowhere: want HTTP 404, got {status:?}").into());
            }
        }
        Ok(got) => return Err(format!("/nowhere was accepted: {got:?}").into()),
    }
    server.shutdown(Duration::from_secs(5)).await;
    println!("every service answered; unknown paths get 404");
    Ok(())
}

async fn run_server(addr: &str) -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new(format!("ws://{addr}"));
    let listener = factory.listen(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    factory
        .serve_with_shutdown(listener, make, ctrl_c, Duration::from_secs(5))
        .await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match (args.first().map(String::as_str), args.get(1)) {
        (None, _) => demo().await,
        (Some("server"), Some(addr)) => run_server(addr).await,
        _ => Err("usage: multi_protocol [server ADDR]".into()),
    }
}
