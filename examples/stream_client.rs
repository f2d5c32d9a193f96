//! A client on the pull API's `Stream`/`Sink`: each line typed on stdin is sent as a text
//! message, and every message that arrives is printed, with one `tokio::select!` over
//! both (the shape of a tokio-tungstenite client).
//!
//! ```text
//! cargo run --example stream_client                          # demo: against its own echo server
//! cargo run --example stream_client -- ws://127.0.0.1:9000   # stdin <-> a server; Ctrl-D closes
//! ```
//!
//! With no arguments it starts an echo server (written on the pull API too) on a free port,
//! sends a few lines as if typed, checks that each comes back, closes, and exits 0
//! (non-zero otherwise).

use autobahn::websocket::{Message, WebSocket, WebSocketClientFactory, WebSocketServerFactory};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

/// Sends each line of `input` and prints what arrives, until `input` ends (then closes)
/// or the server closes. Returns the text messages received.
async fn chat<S, I>(
    mut ws: WebSocket<S>,
    input: I,
    expect_replies: Option<usize>,
) -> Result<Vec<String>, Box<dyn std::error::Error>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    I: AsyncBufRead + Unpin,
{
    let mut lines = input.lines();
    let mut input_open = true;
    let mut received = Vec::new();
    loop {
        tokio::select! {
            line = lines.next_line(), if input_open => match line? {
                Some(line) => ws.send(Message::from(line)).await?,
                None => {
                    input_open = false;
                    // In the demo, wait for the echoes of what was sent before closing.
                    if expect_replies.is_none_or(|n| received.len() >= n) {
                        SinkExt::close(&mut ws).await?; // our close frame; the reply ends the stream
                    }
                }
            },
            message = ws.next() => match message {
                Some(Message::Text(text)) => {
                    println!("< {text}");
                    received.push(text.to_string());
                    if !input_open && expect_replies.is_some_and(|n| received.len() >= n) {
                        SinkExt::close(&mut ws).await?;
                    }
                }
                Some(Message::Binary(data)) => println!("< {} bytes of binary", data.len()),
                Some(_) => {} // pings and pongs are not handed out by default
                None => break,
            },
        }
    }
    let close = ws.close_info();
    println!("closed: {close:?}");
    Ok(received)
}

async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory.listen("127.0.0.1:0").await?;
    let server = factory.start_websocket(listener, |mut ws| async move {
        while let Some(message) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    });
    let url = format!("ws://{}", server.local_addr().ok_or("TCP address")?);
    println!("listening on {}", &url[5..]);
    let typed = "hello\nGrüße, 世界\nbye\n";
    let ws = WebSocketClientFactory::new(&url)?
        .connect_websocket()
        .await?;
    let received = chat(ws, BufReader::new(typed.as_bytes()), Some(3)).await?;
    let sent: Vec<&str> = typed.lines().collect();
    if received != sent {
        return Err(format!("sent {sent:?}, got back {received:?}").into());
    }
    println!("every line came back");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1) {
        None => demo().await,
        Some(url) => {
            let ws = WebSocketClientFactory::new(&url)?
                .connect_websocket()
                .await?;
            chat(ws, BufReader::new(tokio::io::stdin()), None).await?;
            Ok(())
        }
    }
}
