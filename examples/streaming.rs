//! Streaming messages frame by frame: mirrors Autobahn|Python's "Streaming WebSocket"
//! example (`beginMessage` / `sendMessageFrame` / `endMessage`).
//!
//! ```text
//! cargo run --example streaming
//! ```
//!
//! The client sends two large messages without ever holding either whole in one buffer:
//! a 1.6 MB text log, one frame per 50 KiB chunk (compressed, as permessage-deflate is
//! negotiated by default), and 4 MiB of binary data as a single frame of known length
//! whose payload follows in 256 KiB pieces (`begin_message_frame` /
//! `send_message_frame_data`; such frames cannot be compressed, so that message opts out).
//! Senders wait while a megabyte is queued, so a slow peer holds back the producer. The
//! server receives each reassembled message and answers with its length and checksum,
//! which the client compares with its own.

use std::time::Instant;

use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
use autobahn::websocket::{WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler};
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

/// 64-bit FNV-1a, fed piece by piece (a stand-in for a real digest such as SHA-256).
fn fnv(mut hash: u64, data: &[u8]) -> u64 {
    for &b in data {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

struct Server {
    channel: WebSocketChannel,
}

impl WebSocketServerHandler for Server {}

impl WebSocketHandler for Server {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let sum = fnv(FNV_START, &payload);
        println!(
            "[server] received a {} message of {} bytes",
            if is_binary { "binary" } else { "text" },
            payload.len()
        );
        let _ = self
            .channel
            .send_text(format!("{} {sum:016x}", payload.len()))
            .await;
    }
}

/// Tells `main` when the connection is open and forwards the server's answers.
struct Client {
    opened: Option<oneshot::Sender<()>>,
    answers: mpsc::UnboundedSender<String>,
}

impl WebSocketClientHandler for Client {}

impl WebSocketHandler for Client {
    async fn on_open(&mut self) {
        if let Some(opened) = self.opened.take() {
            let _ = opened.send(());
        }
    }

    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        let _ = self
            .answers
            .send(String::from_utf8_lossy(&payload).into_owned());
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = factory.listen("127.0.0.1:0").await?;
    let url = format!("ws://{}", listener.local_addr()?);
    let server = tokio::spawn(factory.serve(listener, |channel| Server { channel }));

    let (tx, mut answers) = mpsc::unbounded_channel();
    let (opened_tx, opened) = oneshot::channel();
    let client = WebSocketClientFactory::new(&url)?;
    let conn = client
        .connect(|_| Client {
            opened: Some(opened_tx),
            answers: tx,
        })
        .await?;
    let channel = conn.channel().clone();
    let run = conn.spawn();
    // Sends work once the connection runs (`on_open`), not right after the handshake.
    opened.await?;
    let mut expected = Vec::new();

    // 1. Text, one frame per chunk, produced on the fly: 32 chunks of 50 KiB.
    let start = Instant::now();
    let (mut len, mut sum) = (0usize, FNV_START);
    channel.begin_message(false, false).await?;
    for chunk_no in 0..32 {
        let chunk: String = (0..1600)
            .map(|line| format!("chunk {chunk_no:02} line {line:04}: all is fine\n"))
            .collect();
        sum = fnv(sum, chunk.as_bytes());
        len += chunk.len();
        channel.send_message_frame(chunk).await?;
    }
    channel.end_message().await?;
    println!(
        "[client] streamed {len} bytes of text in 32 frames ({:?})",
        start.elapsed()
    );
    expected.push(format!("{len} {sum:016x}"));

    // 2. Binary, one frame of known length, its payload in 16 pieces of 256 KiB.
    let start = Instant::now();
    let (total, piece) = (4u64 << 20, 256 * 1024);
    let mut sum = FNV_START;
    let mut state = 0x2545_f491_u32; // xorshift: cheap pseudo-random bytes
    channel.begin_message(true, true).await?;
    channel.begin_message_frame(total).await?;
    let mut remaining = total;
    while remaining > 0 {
        let data: Vec<u8> = (0..piece)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        sum = fnv(sum, &data);
        remaining = channel.send_message_frame_data(&data).await?;
    }
    channel.end_message().await?;
    println!(
        "[client] streamed {total} bytes of binary in one frame ({:?})",
        start.elapsed()
    );
    expected.push(format!("{total} {sum:016x}"));

    let mut ok = true;
    for want in &expected {
        let got = answers.recv().await.ok_or("connection ended early")?;
        println!("[client] server says {got}, expected {want}");
        ok &= &got == want;
    }
    channel.send_close(Some(1000), None).await?;
    let (_, close) = run.await?;
    server.abort();
    if !(ok && close.was_clean) {
        return Err("streamed messages did not arrive intact".into());
    }
    println!("ok");
    Ok(())
}
