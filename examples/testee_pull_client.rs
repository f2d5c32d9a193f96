//! Autobahn Testsuite testee on the pull API: an echo client driving the fuzzingserver
//! protocol with [`WebSocket::recv`] and [`WebSocket::send`] (compare `testee_client`, the
//! handler API).
//!
//! `cargo run --release --example testee_pull_client -- ws://127.0.0.1:9001 [agent]` asks the
//! fuzzing server for the number of cases, runs each (echoing every message), and finally
//! asks it to write its reports.
//!
//! [`WebSocket::recv`]: autobahn::websocket::WebSocket::recv
//! [`WebSocket::send`]: autobahn::websocket::WebSocket::send

use autobahn::websocket::WebSocketClientFactory;

/// Opens `url`; echoes every message if `echo`, else returns the last text received.
async fn run(url: &str, echo: bool) -> Result<Option<String>, autobahn::websocket::Error> {
    let mut ws = WebSocketClientFactory::new(url)?
        .connect_websocket()
        .await?;
    let mut last_text = None;
    while let Some(message) = ws.recv().await {
        if echo {
            if ws.send(message).await.is_err() {
                break;
            }
        } else if let Some(text) = message.as_text() {
            last_text = Some(text.to_owned());
        }
    }
    Ok(last_text)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "autobahn-rs-pull".into());
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
