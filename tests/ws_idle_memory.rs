//! Memory of idle connections on a real socket (issue #14 item 7), counted by a global
//! allocator in this test binary.
//!
//! * A connection with permessage-deflate and context takeover both ways, after enough
//!   JSON-like traffic to fill both 32 KiB windows, holds at most 16 KiB more than a plain
//!   connection once idle: the server parks its zlib states (~330 KiB) and keeps only the
//!   windows, deflated. Before parking existed it held ~330 KiB more.
//! * A connection that never sends holds no more than one that sent a message: the
//!   handshake's read buffer is not kept.
//!
//! Parking happens after one to two seconds without traffic; the test waits for it by
//! watching the heap, with a generous deadline.

mod common;
mod counting_alloc;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
use autobahn::websocket::{
    WebSocketChannel, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use common::*;
use counting_alloc::{live, Counting};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Connections per measurement: enough to average out one-off allocations.
const CONNS: usize = 40;
/// JSON-like messages each way on a compressed connection: ~40 KiB, past the 32 KiB window.
const MESSAGES: usize = 90;
/// What an idle compressed connection may hold beyond a plain one.
const DEFLATE_IDLE_BOUND: usize = 16 * 1024;
/// How long parking may take on a loaded machine (it is due after 1–2 s).
const PARK_DEADLINE: Duration = Duration::from_secs(30);
/// A never-sent connection may hold this much more than one that sent (heap noise).
const NEVER_SENT_SLACK: usize = 128;

/// Echoes, and counts itself in `opened` once the connection task runs and in `live`
/// while it exists.
struct Echo {
    channel: WebSocketChannel,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    opened: AtomicUsize,
    live: AtomicUsize,
}

impl WebSocketHandler for Echo {
    async fn on_open(&mut self) {
        self.counters.opened.fetch_add(1, Ordering::SeqCst);
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

impl WebSocketServerHandler for Echo {}

impl Drop for Echo {
    fn drop(&mut self) {
        self.counters.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Message `i` of a chat or ticker protocol, 400–500 bytes of JSON.
fn json(i: usize) -> Vec<u8> {
    const TOPICS: [&str; 4] = ["com.example.ticker", "chat.room.7", "presence", "orders"];
    const NAMES: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
    let topic = TOPICS[i * 7 % TOPICS.len()];
    let name = NAMES[i * 3 % NAMES.len()];
    let seq = i.wrapping_mul(2_654_435_761) % 1_000_000;
    format!(
        r#"{{"id":{i},"type":"event","topic":"{topic}","from":"{name}","seq":{seq},"ts":"2026-12-07T13:{:02}:{:02}.{:03}Z","payload":{{"price":{}.{:02},"qty":{},"side":"{}","venue":"XB{}","tags":["{name}","{topic}","level-{}"]}},"meta":{{"session":{},"client":"autobahn-rs test","trace":"{:016x}","retries":{},"note":"message number {i} of the idle memory test, from {name} about {topic}"}}}}"#,
        i % 60,
        (i * 13) % 60,
        (i * 37) % 1000,
        seq % 5000,
        i % 100,
        seq % 97 + 1,
        if i.is_multiple_of(2) { "buy" } else { "sell" },
        i % 9,
        i % 4,
        seq * 31 % 1_000_003,
        (seq as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        i % 3,
    )
    .into_bytes()
}

/// What the client sends: masked text frames, compressed with context takeover if asked.
fn client_frames(messages: &[Vec<u8>], compressed: bool) -> Vec<Vec<u8>> {
    let mut deflate = PerMessageDeflate::new(false, PerMessageDeflateParams::default());
    messages
        .iter()
        .map(|m| {
            if !compressed {
                return client_frame(1, m);
            }
            let mut payload = Vec::new();
            deflate.compress_message(m, &mut payload).unwrap();
            let mut f = client_frame(1, &payload);
            f[0] |= 0x40; // RSV1: compressed
            f
        })
        .collect()
}

/// Opens a connection (offering permessage-deflate if `compressed`), sends `frames` one at
/// a time, each echoed, and returns the idle socket.
async fn open(
    addr: SocketAddr,
    frames: &[Vec<u8>],
    messages: &[Vec<u8>],
    compressed: bool,
) -> TcpStream {
    let (request, _) = raw_request(addr);
    let mut request = String::from_utf8(request).unwrap();
    if compressed {
        request = request.replacen(
            "\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
            1,
        );
    }
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let (head, rest) = read_http_head(&mut s).await;
    assert_eq!(status_of(&head), 101, "{head}");
    let ext = header_of(&head, "sec-websocket-extensions").unwrap_or("");
    assert_eq!(ext.contains("permessage-deflate"), compressed, "{head}");
    assert!(!ext.contains("no_context_takeover"), "{head}");
    let mut reader = FrameReader::new(s, rest);
    let mut inflate = PerMessageDeflate::new(false, PerMessageDeflateParams::default());
    for (frame, msg) in frames.iter().zip(messages) {
        reader.send(frame).await;
        let echo = reader.next().await.expect("echo");
        assert_eq!(echo.rsv == 4, compressed, "RSV1 of the echo");
        let mut payload = echo.payload;
        if compressed {
            let mut out = Vec::new();
            inflate.decompress_message(&payload, &mut out, 0).unwrap();
            payload = out;
        }
        assert_eq!(&payload, msg);
    }
    assert!(reader.buf.is_empty());
    reader.stream
}

/// Opens `CONNS` connections, lets them idle until `settled` says the per-connection heap
/// is what it waits for (or the deadline passes); returns that heap per connection.
async fn idle_heap_per_conn(
    addr: SocketAddr,
    counters: &Counters,
    messages: &[Vec<u8>],
    compressed: bool,
    settled: impl Fn(usize) -> bool,
) -> usize {
    let frames = client_frames(messages, compressed);
    let base = live();
    let mut conns = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        conns.push(open(addr, &frames, messages, compressed).await);
    }
    let deadline = Instant::now() + PARK_DEADLINE;
    let per_conn = loop {
        let per_conn = live().saturating_sub(base) / CONNS;
        let opened = counters.opened.load(Ordering::SeqCst) == CONNS;
        if (opened && settled(per_conn)) || Instant::now() > deadline {
            break per_conn;
        }
        // Polling the heap for an internal timer's effect: nothing to await.
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(conns);
    bounded(async {
        while counters.live.load(Ordering::SeqCst) != 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    counters.opened.store(0, Ordering::SeqCst);
    per_conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_hold_little() {
    // The only test of this binary: nothing else allocates meanwhile.
    let counters = Arc::new(Counters::default());
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let make = {
        let counters = counters.clone();
        move |channel| {
            counters.live.fetch_add(1, Ordering::SeqCst);
            Echo {
                channel,
                counters: counters.clone(),
            }
        }
    };
    let server = start_server(factory, make).await;
    let json: Vec<Vec<u8>> = (0..MESSAGES).map(json).collect();
    let hello = vec![b"Hello".to_vec()];

    // Warm-up: one-time allocations of the runtime and the server.
    idle_heap_per_conn(server.addr, &counters, &hello, true, |_| true).await;

    let never_sent = idle_heap_per_conn(server.addr, &counters, &[], false, |_| true).await;
    let sent_once = idle_heap_per_conn(server.addr, &counters, &hello, false, |_| true).await;
    let bound = sent_once + DEFLATE_IDLE_BOUND;
    let deflate = idle_heap_per_conn(server.addr, &counters, &json, true, |b| b <= bound).await;
    eprintln!(
        "idle heap per connection: never sent {never_sent} B, sent one message {sent_once} B, \
         permessage-deflate after {MESSAGES} JSON messages each way {deflate} B"
    );
    assert!(
        never_sent <= sent_once + NEVER_SENT_SLACK,
        "a connection that never sent holds {never_sent} B, one that sent {sent_once} B: \
         the handshake's read buffer is kept"
    );
    assert!(
        deflate <= bound,
        "an idle compressed connection holds {deflate} B, {} B more than a plain one \
         (bound {DEFLATE_IDLE_BOUND} B)",
        deflate - sent_once
    );
}
