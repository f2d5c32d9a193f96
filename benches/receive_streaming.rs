//! Receive streaming against reassembly: a server hashes (SHA-256) every message it
//! receives and answers the hex digest, receiving either as the bytes arrive (streaming
//! hooks, or the pull API's `recv_streaming`) or whole (`on_message`, the message
//! reassembled up to `max_message_payload_size`). Reported per mode: server CPU per MiB
//! (`CLOCK_THREAD_CPUTIME_ID` of the server's one runtime thread), wall-clock throughput,
//! and the process's peak resident memory during the mode (VmHWM, reset between modes).
//!
//! ```text
//! cargo bench --bench receive_streaming              # 1 GiB per mode
//! BENCH_QUICK=1 cargo bench --bench receive_streaming  # 64 MiB per mode
//! ```
//!
//! The client writes pre-encoded frames masked with the key 0 (the server still unmasks
//! them), so it costs little beside the server.

#[path = "support/os.rs"]
mod os;

use std::time::Instant;

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::WebSocketServerHandler;
use autobahn::websocket::{Delivery, WebSocketChannel, WebSocketHandler, WebSocketServerFactory};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: usize = 1 << 20;
/// Fragments of the fragmented messages.
const FRAGMENT: usize = MIB;

/// Hashes each message: whole (`on_message`) or as it arrives (`Delivery::Streaming`).
struct Hasher {
    channel: WebSocketChannel,
    delivery: Delivery,
    hasher: Sha256,
}

impl WebSocketServerHandler for Hasher {}

impl WebSocketHandler for Hasher {
    fn delivery(&self) -> Delivery {
        self.delivery
    }
    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        let digest = format!("{:x}", Sha256::digest(&payload));
        let _ = self.channel.send_text(digest).await;
    }
    async fn on_message_frame_data(&mut self, payload: Bytes) {
        self.hasher.update(&payload);
    }
    async fn on_message_end(&mut self) {
        let digest = format!("{:x}", std::mem::take(&mut self.hasher).finalize());
        let _ = self.channel.send_text(digest).await;
    }
}

#[derive(Clone, Copy)]
enum Mode {
    /// The streaming hooks.
    Streaming,
    /// The pull API's `recv_streaming`.
    Pull,
    /// `on_message`: reassembled.
    Whole,
}

/// Starts a server on its own thread (one current-thread runtime); its port and CPU clock.
fn start_server(mode: Mode) -> (u16, libc::clockid_t) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let options = ServerOptions {
                max_message_payload_size: 0,
                max_frame_payload_size: 0,
                ..ServerOptions::default()
            };
            let factory =
                WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
            let listener = factory.listen("127.0.0.1:0").await.expect("listen");
            let port = listener.local_addr().expect("addr").port();
            let _ = tx.send((port, os::this_thread_cpu_clock()));
            match mode {
                Mode::Pull => {
                    let server = factory.start_websocket(listener, |mut ws| async move {
                        ws.receive_streaming(true);
                        loop {
                            let Some(mut message) = ws.recv_streaming().await else {
                                break;
                            };
                            let mut hasher = Sha256::new();
                            while let Ok(Some(piece)) = message.chunk().await {
                                hasher.update(&piece);
                            }
                            drop(message);
                            let _ = ws.send(format!("{:x}", hasher.finalize())).await;
                        }
                    });
                    server.wait().await;
                }
                Mode::Streaming | Mode::Whole => {
                    let delivery = match mode {
                        Mode::Streaming => Delivery::Streaming,
                        _ => Delivery::Whole,
                    };
                    let _ = factory
                        .serve(listener, move |channel| Hasher {
                            channel,
                            delivery,
                            hasher: Sha256::new(),
                        })
                        .await;
                }
            }
        });
    });
    rx.recv().expect("server started")
}

/// A client frame header (masked with the key 0) for a payload of `len`.
fn header(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
    let mut h = vec![(u8::from(fin) << 7) | opcode];
    match len {
        0..=125 => h.push(0x80 | len as u8),
        126..=0xffff => {
            h.push(0x80 | 126);
            h.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            h.push(0x80 | 127);
            h.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    h.extend_from_slice(&[0, 0, 0, 0]);
    h
}

async fn connect(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.expect("request");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        s.read_exact(&mut byte).await.expect("response");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// Sends one binary message of `fragments` frames of `piece` (or one frame when
/// `fragments` is 0, of `piece` repeated `repeat` times) and reads the 64-byte digest.
async fn send_message(s: &mut TcpStream, piece: &[u8], fragments: usize, repeat: usize) {
    if fragments == 0 {
        s.write_all(&header(true, 2, piece.len() * repeat))
            .await
            .expect("write");
        for _ in 0..repeat {
            s.write_all(piece).await.expect("write");
        }
    } else {
        for i in 0..fragments {
            let opcode = if i == 0 { 2 } else { 0 };
            s.write_all(&header(i + 1 == fragments, opcode, piece.len()))
                .await
                .expect("write");
            s.write_all(piece).await.expect("write");
        }
    }
    // The answer: an unmasked text frame of 64 hex digits.
    let mut answer = [0u8; 66];
    s.read_exact(&mut answer).await.expect("digest");
    assert_eq!(&answer[..2], &[0x81, 64]);
}

/// Resets the process's peak resident memory (VmHWM) to the current.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let total = if quick { 64 * MIB } else { 1024 * MIB };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let piece: Vec<u8> = (0..FRAGMENT).map(|i| (i % 251) as u8).collect();
    // (name, mode, messages, fragments per message, repeat of `piece` per single frame)
    let runs: Vec<(String, Mode, usize, usize, usize)> = vec![
        (
            format!("streaming hooks, {} MiB in 1 MiB fragments", total / MIB),
            Mode::Streaming,
            1,
            total / FRAGMENT,
            0,
        ),
        (
            format!(
                "pull recv_streaming, {} MiB in 1 MiB fragments",
                total / MIB
            ),
            Mode::Pull,
            1,
            total / FRAGMENT,
            0,
        ),
        (
            format!(
                "streaming hooks, {} MiB frames",
                (total / 4).min(256 * MIB) / MIB
            ),
            Mode::Streaming,
            total / (total / 4).min(256 * MIB),
            0,
            (total / 4).min(256 * MIB) / FRAGMENT,
        ),
        (
            "on_message (reassembled), 64 MiB messages in 1 MiB fragments".to_string(),
            Mode::Whole,
            total / (64 * MIB),
            64 * MIB / FRAGMENT,
            0,
        ),
    ];
    println!("| mode | server CPU ms/GiB | MiB/s (wall) | peak RSS MiB |");
    println!("|---|---:|---:|---:|");
    // The floor: SHA-256 of the same bytes in memory, no socket, no WebSocket.
    let (clock, t0) = (os::this_thread_cpu_clock(), Instant::now());
    let cpu0 = os::clock_ns(clock);
    let mut hasher = Sha256::new();
    for _ in 0..total / FRAGMENT {
        hasher.update(&piece);
    }
    std::hint::black_box(hasher.finalize());
    let gib = total as f64 / (1u64 << 30) as f64;
    println!(
        "| floor: SHA-256 in memory, {} MiB | {:.0} | {:.0} | – |",
        total / MIB,
        (os::clock_ns(clock) - cpu0) as f64 / 1e6 / gib,
        total as f64 / MIB as f64 / t0.elapsed().as_secs_f64()
    );
    for (name, mode, messages, fragments, repeat) in runs {
        let (port, clock) = start_server(mode);
        let (cpu_ns, secs, peak) = rt.block_on(async {
            let mut s = connect(port).await;
            reset_peak();
            let (cpu0, t0) = (os::clock_ns(clock), Instant::now());
            for _ in 0..messages {
                send_message(&mut s, &piece, fragments, repeat).await;
            }
            let cpu = os::clock_ns(clock) - cpu0;
            (cpu, t0.elapsed().as_secs_f64(), peak_kib())
        });
        println!(
            "| {name} | {:.0} | {:.0} | {:.1} |",
            cpu_ns as f64 / 1e6 / gib,
            total as f64 / MIB as f64 / secs,
            peak as f64 / 1024.0
        );
    }
}
