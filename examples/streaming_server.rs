//! Receiving messages as they arrive: mirrors Autobahn|Python's streaming server
//! (`onMessageBegin` / `onMessageFrameData` / `onMessageEnd`) and its frame-based server
//! (`onMessageFrame`).
//!
//! ```text
//! cargo run --example streaming_server                             # a demo of all three
//! cargo run --example streaming_server -- 127.0.0.1:9000            # streaming hooks
//! cargo run --example streaming_server -- 127.0.0.1:9000 --frames   # frame-based hooks
//! cargo run --example streaming_server -- 127.0.0.1:9000 --pull     # the pull API's reader
//! ```
//!
//! For every message the server computes the SHA-256 of its payload as it streams in and
//! answers the lowercase hex digest as a text message. Messages have no size limit: a
//! streamed message is never held whole, so one of any size passes through a few MiB. The
//! frame-based server holds one frame at a time (frames up to 16 MiB). Given an address it
//! prints `listening on HOST:PORT` (port 0 picks a free port) and serves; without, it runs
//! each server in turn against a client that checks the digests, and exits.

use std::mem;

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::{Delivery, Message, WebSocketChannel, WebSocketHandler};
use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;
use sha2::{Digest, Sha256};

/// Largest frame the frame-based server holds.
const MAX_FRAME: usize = 16 << 20;

/// The lowercase hex SHA-256 of what `hasher` was fed.
fn hex_digest(hasher: Sha256) -> String {
    format!("{:x}", hasher.finalize())
}

/// The streaming server: the digest grows piece by piece as the bytes arrive.
struct Streaming {
    channel: WebSocketChannel,
    hasher: Sha256,
}

impl WebSocketServerHandler for Streaming {}

impl WebSocketHandler for Streaming {
    fn delivery(&self) -> Delivery {
        Delivery::Streaming
    }

    async fn on_message_begin(&mut self, _is_binary: bool) {
        self.hasher = Sha256::new();
    }

    async fn on_message_frame_data(&mut self, payload: Bytes) {
        self.hasher.update(&payload);
    }

    async fn on_message_end(&mut self) {
        let digest = hex_digest(mem::take(&mut self.hasher));
        let _ = self.channel.send_text(digest).await;
    }
}

/// The frame-based server: each frame arrives whole (in the pieces it came in).
struct FrameBased {
    channel: WebSocketChannel,
    hasher: Sha256,
}

impl WebSocketServerHandler for FrameBased {}

impl WebSocketHandler for FrameBased {
    fn delivery(&self) -> Delivery {
        Delivery::Frames
    }

    async fn on_message_begin(&mut self, _is_binary: bool) {
        self.hasher = Sha256::new();
    }

    async fn on_message_frame(&mut self, payload: Vec<Bytes>) {
        for piece in payload {
            self.hasher.update(&piece);
        }
    }

    async fn on_message_end(&mut self) {
        let digest = hex_digest(mem::take(&mut self.hasher));
        let _ = self.channel.send_text(digest).await;
    }
}

/// Serves on `listener` in `mode` (`""`, `"--frames"` or `"--pull"`) until the process ends.
async fn serve(
    factory: WebSocketServerFactory,
    listener: tokio::net::TcpListener,
    mode: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match mode {
        "" => {
            factory
                .serve(listener, |channel| Streaming {
                    channel,
                    hasher: Sha256::new(),
                })
                .await?
        }
        "--frames" => {
            factory
                .serve(listener, |channel| FrameBased {
                    channel,
                    hasher: Sha256::new(),
                })
                .await?
        }
        "--pull" => {
            let server = factory.start_websocket(listener, |mut ws| async move {
                ws.receive_streaming(true);
                loop {
                    // (`while let` would keep the reader's borrow alive through the body.)
                    let Some(mut message) = ws.recv_streaming().await else {
                        break;
                    };
                    let mut hasher = Sha256::new();
                    while let Ok(Some(piece)) = message.chunk().await {
                        hasher.update(&piece);
                    }
                    drop(message);
                    if ws.send(hex_digest(hasher)).await.is_err() {
                        break;
                    }
                }
            });
            server.wait().await;
        }
        other => return Err(format!("unknown mode {other:?}: --frames or --pull").into()),
    }
    Ok(())
}

/// A factory without size limits (frames up to `MAX_FRAME` for the frame-based server).
fn factory(addr: &str, mode: &str) -> WebSocketServerFactory {
    let options = ServerOptions {
        max_message_payload_size: 0,
        max_frame_payload_size: if mode == "--frames" { MAX_FRAME } else { 0 },
        ..ServerOptions::default()
    };
    WebSocketServerFactory::new(format!("ws://{addr}")).with_protocol_options(options)
}

/// Without arguments: each server in turn on a free port, sent a text message and a
/// 24 MiB binary one by a client that checks the digests.
async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let big: Vec<u8> = (0..24u32 << 20).map(|i| (i % 251) as u8).collect();
    for mode in ["", "--frames", "--pull"] {
        let factory = factory("127.0.0.1:0", mode);
        let listener = factory.listen("127.0.0.1:0").await?;
        let url = format!("ws://{}", listener.local_addr()?);
        let server = tokio::spawn(async move { serve(factory, listener, mode).await });
        let mut ws = WebSocketClientFactory::new(&url)?
            .connect_websocket()
            .await?;
        for payload in [
            Message::from("Hello, streaming"),
            Message::Binary(big.clone().into()),
        ] {
            let expected = hex_digest(Sha256::new_with_prefix(payload.payload()));
            let len = payload.payload().len();
            ws.send(payload).await?;
            let answer = ws.recv().await.ok_or("connection closed")?;
            if answer.as_text() != Some(expected.as_str()) {
                return Err(format!("{mode}: digest {answer:?}, expected {expected}").into());
            }
            println!("[client] {} server ({len} bytes): {expected}", name(mode));
        }
        ws.close(Some(1000), None).await?;
        server.abort();
    }
    println!("ok");
    Ok(())
}

fn name(mode: &str) -> &'static str {
    match mode {
        "--frames" => "frame-based",
        "--pull" => "pull",
        _ => "streaming",
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(addr) = args.first() else {
        return demo().await;
    };
    let mode = args.get(1).map_or("", String::as_str);
    let factory = factory(addr, mode);
    let listener = factory.listen(addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);
    serve(factory, listener, mode).await
}
