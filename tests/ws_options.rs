//! One visible effect per `ServerOptions`/`ClientOptions` field not shown elsewhere:
//! each test sets a field and checks what a raw peer sees on the wire (or what the
//! API reports). Server tests talk to a real server through a hand-rolled client;
//! client tests talk to a real client through a hand-rolled server. Tests are named
//! `server_<field>` / `client_<field>`.

mod common;

#[path = "ws_options/client.rs"]
mod client;
#[path = "ws_options/server.rs"]
mod server;

use std::sync::{Arc, Mutex as StdMutex};

use common::FrameReader;
use tokio::io::AsyncReadExt;

pub const CONT: u8 = 0;
pub const TEXT: u8 = 1;
pub const BINARY: u8 = 2;
pub const CLOSE: u8 = 8;
pub const PING: u8 = 9;

/// A close frame's payload: code and reason.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// One frame as it was on the wire: the payload as sent (not unmasked).
#[derive(Debug)]
pub struct WireFrame {
    pub rsv1: bool,
    pub opcode: u8,
    pub key: Option<[u8; 4]>,
    pub wire: Vec<u8>,
}

/// Reads one frame (payload under 126 bytes) from `peer` without unmasking it.
pub async fn wire_frame(peer: &mut FrameReader) -> WireFrame {
    async fn fill(peer: &mut FrameReader, n: usize) {
        let mut chunk = [0u8; 4096];
        while peer.buf.len() < n {
            let got = peer.stream.read(&mut chunk).await.expect("read");
            assert!(got > 0, "EOF inside a frame");
            peer.buf.extend_from_slice(&chunk[..got]);
        }
    }
    fill(peer, 2).await;
    let (b0, b1) = (peer.buf[0], peer.buf[1]);
    let len = usize::from(b1 & 0x7f);
    assert!(len < 126, "wire_frame reads short frames only");
    let masked = b1 & 0x80 != 0;
    let at = if masked { 6 } else { 2 };
    fill(peer, at + len).await;
    let key = masked.then(|| [peer.buf[2], peer.buf[3], peer.buf[4], peer.buf[5]]);
    let wire = peer.buf[at..at + len].to_vec();
    peer.buf.drain(..at + len);
    WireFrame {
        rsv1: b0 & 0x40 != 0,
        opcode: b0 & 0x0f,
        key,
        wire,
    }
}

pub fn xor(data: &[u8], key: [u8; 4]) -> Vec<u8> {
    data.iter()
        .enumerate()
        .map(|(i, b)| b ^ key[i % 4])
        .collect()
}

/// Trace output captured for the current thread (the test's runtime runs every task
/// on it).
#[derive(Clone, Default)]
pub struct Captured(Arc<StdMutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Captures everything logged on this thread at trace level until the guard drops.
pub fn capture_trace() -> (Captured, tracing::subscriber::DefaultGuard) {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(out.clone())
        .finish();
    (out, tracing::subscriber::set_default(subscriber))
}

/// What `log_frames`/`log_octets` must show, the same for both roles: the traces of one
/// echoed message with neither, with `log_frames`, and with `log_octets`.
pub fn assert_log_options(quiet: &str, frames: &str, octets: &str) {
    assert!(
        !quiet.contains("rx frame") && !quiet.contains("octets"),
        "{quiet}"
    );
    assert!(
        frames.contains("rx frame") && frames.contains("tx frame"),
        "{frames}"
    );
    assert!(!frames.contains("octets"), "{frames}");
    assert!(octets.contains("rx octets"), "{octets}");
    assert!(!octets.contains("rx frame"), "{octets}");
}
