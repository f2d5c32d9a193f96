//! Autobahn Testsuite testee: an echo client driving the fuzzingserver protocol, receiving
//! through the callback API's streaming hooks (`on_message_begin`,
//! `on_message_frame_data`, `on_message_end`): each message is collected piece by piece as
//! it arrives and echoed once complete. (`testee_server` covers `on_message`.)
//!
//! `cargo run --release --example testee_client -- ws://127.0.0.1:9001 [agent]` asks the
//! fuzzing server for the number of cases, runs each (echoing every message), and
//! finally asks it to write its reports.

use autobahn::websocket::{
    Delivery, WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
};
use bytes::{Bytes, BytesMut};

/// Echoes messages; remembers the last text message (for `/getCaseCount`).
struct Echo {
    channel: WebSocketChannel,
    echo: bool,
    last_text: Option<String>,
    /// The message being received, and whether it is binary.
    incoming: BytesMut,
    is_binary: bool,
}

impl WebSocketHandler for Echo {
    fn delivery(&self) -> Delivery {
        Delivery::Streaming
    }

    async fn on_message_begin(&mut self, is_binary: bool) {
        self.is_binary = is_binary;
        self.incoming.clear();
    }

    async fn on_message_frame_data(&mut self, payload: Bytes) {
        self.incoming.extend_from_slice(&payload);
    }

    async fn on_message_end(&mut self) {
        let (payload, is_binary) = (self.incoming.split().freeze(), self.is_binary);
        if self.echo {
            let _ = self.channel.send_message(payload, is_binary).await;
        } else if !is_binary {
            self.last_text = Some(String::from_utf8_lossy(&payload).into_owned());
        }
    }
}

impl WebSocketClientHandler for Echo {}

async fn run(url: &str, echo: bool) -> Result<Option<String>, autobahn::websocket::Error> {
    let factory = WebSocketClientFactory::new(url)?;
    let conn = factory
        .connect(|channel| Echo {
            channel,
            echo,
            last_text: None,
            incoming: BytesMut::new(),
            is_binary: false,
        })
        .await?;
    let (handler, _info) = conn.run().await;
    Ok(handler.last_text)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "autobahn-rs".into());
    let count: usize = run(&format!("{base}/getCaseCount"), false)
        .await?
        .ok_or("no case count received")?
        .trim()
        .parse()?;
    eprintln!("running {count} cases as agent {agent}");
    for case in 1..=count {
        if let Err(e) = run(&format!("{base}/runCase?case={case}&agent={agent}"), true).await {
            eprintln!("case {case}: {e}");
        }
    }
    run(&format!("{base}/updateReports?agent={agent}"), false).await?;
    eprintln!("reports updated");
    Ok(())
}
