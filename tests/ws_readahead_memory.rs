//! Read-ahead bounded in bytes: while the handler is busy, a peer keeps sending large
//! messages (plain, or compressed ones that inflate a thousandfold) over a real socket.
//! The server must stop reading once `max_queued_bytes` are held for the handler, so the
//! heap the whole process grows by (counted by a global allocator in this test binary)
//! stays near that bound, and the peer's writes stall; once the handler is released,
//! every message arrives, in order.
//!
//! "The peer's writes stall" is a non-event: it is seen as no progress over a quiet
//! window of real time. A loaded machine can only make a stall look earlier than it is,
//! which lowers what we measure, so the heap assertion cannot fail spuriously.

mod common;
mod counting_alloc;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{
    WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
    WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use common::*;
use counting_alloc::{peak_above, reset_peak, Counting};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Held by the test measuring the process-wide heap, so measurements do not overlap.
static MEASURING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The server's `max_queued_bytes` here.
const QUEUE_BOUND: usize = 1 << 20;
/// Size of every message (inflated, if compressed).
const MESSAGE: usize = 256 << 10;
/// Plain messages the peer tries to send: far more than the bound and than what the
/// kernel buffers on loopback, so the peer must stall.
const PLAIN_MESSAGES: usize = 256;
/// Compressed messages sent first in the compressed case (64 MiB inflated, a few
/// hundred KiB on the wire).
#[cfg(feature = "deflate")]
const COMPRESSED_MESSAGES: usize = 256;
/// Beyond the bound: the message the handler holds, the one being read, the read
/// buffer, the inflater's state, tokio and the test's writer.
const SLACK: usize = 2 * MESSAGE + (1 << 20);

/// Holds every message until the gate opens, then passes it to the test.
struct Gated {
    open: watch::Receiver<bool>,
    got: mpsc::UnboundedSender<Bytes>,
}

impl WebSocketHandler for Gated {
    async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
        let _ = self.open.wait_for(|open| *open).await;
        let _ = self.got.send(payload);
    }
}

impl WebSocketServerHandler for Gated {
    async fn on_connect(
        &mut self,
        _request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        Ok(ConnectionAccept::default())
    }
}

impl WebSocketClientHandler for Gated {}

/// Message `i`: its number, then a byte pattern that compresses well.
fn message(i: usize) -> Vec<u8> {
    let mut m = vec![(i % 251) as u8; MESSAGE];
    m[..4].copy_from_slice(&(i as u32).to_be_bytes());
    m
}

/// Opens a connection to a gated server (its handler busy) and floods it with
/// `compressed` compressed messages, then plain ones (see [`flood_and_release`]).
async fn flood_while_handler_is_busy(compressed: usize) {
    let _measuring = MEASURING.lock().await;
    let (open_tx, open) = watch::channel(false);
    let (got_tx, got) = mpsc::unbounded_channel();
    let options = ServerOptions {
        max_queued_bytes: QUEUE_BOUND,
        ..Default::default()
    };
    let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
    let server = start_server(factory, move |_ch: WebSocketChannel| Gated {
        open: open.clone(),
        got: got_tx.clone(),
    })
    .await;

    let (request, _) = raw_request(server.addr);
    let mut request = String::from_utf8(request).unwrap();
    if compressed > 0 {
        request = request.replacen(
            "\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
            1,
        );
    }
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let (head, _) = read_http_head(&mut s).await;
    assert_eq!(status_of(&head), 101, "{head}");
    // The compressed frames are made before measuring; the plain ones one at a time.
    #[cfg(feature = "deflate")]
    let head_frames: Vec<Vec<u8>> = {
        use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
        if compressed > 0 {
            let ext = header_of(&head, "sec-websocket-extensions").unwrap_or("");
            assert!(ext.starts_with("permessage-deflate"), "{head}");
        }
        let mut deflate = PerMessageDeflate::new(false, PerMessageDeflateParams::default());
        (0..compressed)
            .map(|i| {
                let mut wire = Vec::new();
                deflate.compress_message(&message(i), &mut wire).unwrap();
                let mut f = client_frame(2, &wire);
                f[0] |= 0x40; // RSV1: compressed
                f
            })
            .collect()
    };
    #[cfg(not(feature = "deflate"))]
    let head_frames: Vec<Vec<u8>> = Vec::new();
    let (_rd, wr) = s.into_split();
    flood_and_release(wr, head_frames, true, open_tx, got).await;
}

/// Writes `head_frames` (compressed messages 0..) and then plain messages to a peer
/// whose handler waits for `open`, checks the heap and that the peer stalled, then
/// opens the gate and checks that every message arrives, in order.
async fn flood_and_release(
    mut wr: OwnedWriteHalf,
    head_frames: Vec<Vec<u8>>,
    masked: bool,
    open: watch::Sender<bool>,
    mut got: mpsc::UnboundedReceiver<Bytes>,
) {
    let compressed = head_frames.len();
    let wire: usize = head_frames.iter().map(Vec::len).sum();
    let total_messages = compressed + PLAIN_MESSAGES;
    let sent = Arc::new(AtomicUsize::new(0));
    let total = total_messages * MESSAGE;

    let before = reset_peak();
    let writer = {
        let sent = sent.clone();
        tokio::spawn(async move {
            for f in head_frames {
                wr.write_all(&f).await.expect("write");
                sent.fetch_add(MESSAGE, Ordering::Relaxed);
            }
            for i in compressed..total_messages {
                let f = match masked {
                    true => client_frame(2, &message(i)),
                    false => frame(true, 2, &message(i), None),
                };
                wr.write_all(&f).await.expect("write");
                sent.fetch_add(MESSAGE, Ordering::Relaxed);
            }
            wr
        })
    };
    let sent_then = common::until_stalled(&sent, total).await;
    let grown = peak_above(before);
    eprintln!(
        "peer sent {sent_then} of {total} message bytes ({compressed} compressed in {wire} \
         wire bytes) before stalling; heap grew by {grown}"
    );
    assert!(
        sent_then < total,
        "the server read all {total} bytes while its handler was busy"
    );
    assert!(
        grown <= QUEUE_BOUND + SLACK,
        "heap grew by {grown} bytes (bound {QUEUE_BOUND} + {SLACK})"
    );

    // Released, the handler gets every message, in order and intact.
    open.send(true).unwrap();
    for i in 0..total_messages {
        let m = got.recv().await.expect("a message");
        assert_eq!(m.len(), MESSAGE, "message {i}");
        assert!(m[..] == message(i)[..], "message {i} differs");
    }
    let _wr = writer.await.unwrap();
}

#[tokio::test]
async fn plain_messages_queued_for_a_busy_handler_are_bounded_in_bytes() {
    bounded(flood_while_handler_is_busy(0)).await;
}

#[cfg(feature = "deflate")]
#[tokio::test]
async fn compressed_messages_count_their_inflated_bytes() {
    bounded(flood_while_handler_is_busy(COMPRESSED_MESSAGES)).await;
}

/// The same for a client whose server floods it (issue 14 item 8: a hostile server).
#[tokio::test]
async fn a_client_stops_reading_from_a_server_that_floods_its_busy_handler() {
    bounded(async {
        let _measuring = MEASURING.lock().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let options = ClientOptions {
            max_queued_bytes: QUEUE_BOUND,
            #[cfg(feature = "deflate")]
            per_message_compression_offers: Vec::new(),
            ..Default::default()
        };
        let factory = WebSocketClientFactory::new(&format!("ws://{addr}/"))
            .unwrap()
            .with_protocol_options(options);
        let (open_tx, open) = watch::channel(false);
        let (got_tx, got) = mpsc::unbounded_channel();
        let (conn, server_side) = tokio::join!(
            factory.connect(|_ch| Gated { open, got: got_tx }),
            raw_accept(&listener)
        );
        let _client = conn.unwrap().spawn();
        let (_rd, wr) = server_side.into_split();
        flood_and_release(wr, Vec::new(), false, open_tx, got).await;
    })
    .await;
}
