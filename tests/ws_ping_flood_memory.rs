//! A ping flood from a peer that never reads: every ping owes a pong, and the pongs
//! cannot leave, so a server that kept reading would queue as many bytes as the peer
//! sends. Ours stops reading once its own answers fill the output queue: the peer's
//! writes stall, and the heap the whole process grew by (counted by a global allocator
//! in this test binary, which holds only this test) stays near that queue's bound.

mod common;
mod counting_alloc;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use autobahn::websocket::{
    WebSocketChannel, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use common::*;
use counting_alloc::{peak_above, reset_peak, Counting};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What the flooding peer tries to send: far more than any bound below.
const FLOOD: usize = 64 << 20;
/// The output queue's high-water mark (1 MiB) twice (the batch being written and the
/// one queued behind it), one read's worth of pongs, buffers, tokio and the test.
const BOUND: usize = 4 << 20;

/// Ignores pings (the protocol answers them) and reports the end of the connection.
struct Quiet {
    closed: mpsc::UnboundedSender<()>,
}

impl WebSocketHandler for Quiet {
    async fn on_close(&mut self, _clean: bool, _code: Option<u16>, _reason: Option<String>) {
        let _ = self.closed.send(());
    }
}

impl WebSocketServerHandler for Quiet {
    async fn on_connect(
        &mut self,
        _request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        Ok(ConnectionAccept::default())
    }
}

#[tokio::test]
async fn ping_flood_from_a_peer_that_never_reads_stalls_instead_of_growing_memory() {
    bounded(async {
        let (closed_tx, mut closed) = mpsc::unbounded_channel();
        let server = start_server(
            WebSocketServerFactory::new("ws://127.0.0.1"),
            move |_ch: WebSocketChannel| Quiet {
                closed: closed_tx.clone(),
            },
        )
        .await;
        let (s, _) = raw_connect(server.addr).await;
        // Never read: the read half is kept (not dropped) so no RST interrupts the test.
        let (_rd, mut wr) = s.into_split();
        let ping = client_frame(9, &[0x5a; 125]);
        let batch: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 512)
            .collect();
        let sent = Arc::new(AtomicUsize::new(0));

        let before = reset_peak();
        let flooder = {
            let sent = sent.clone();
            tokio::spawn(async move {
                while sent.load(Ordering::Relaxed) < FLOOD {
                    if wr.write_all(&batch).await.is_err() {
                        break;
                    }
                    sent.fetch_add(batch.len(), Ordering::Relaxed);
                }
                wr
            })
        };
        // The event awaited is a non-event: the server no longer taking our bytes. It is
        // seen as no progress for a whole second (or the flood going through, which fails).
        let mut last = usize::MAX;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = sent.load(Ordering::Relaxed);
            if now == last || now >= FLOOD {
                break;
            }
            last = now;
        }
        let grown = peak_above(before);
        let sent = sent.load(Ordering::Relaxed);
        eprintln!("peer sent {sent} bytes of pings before stalling; heap grew by {grown}");
        assert!(
            sent < FLOOD,
            "the server read the whole {FLOOD}-byte flood from a peer that reads nothing"
        );
        assert!(grown <= BOUND, "heap grew by {grown} bytes (bound {BOUND})");

        // The peer goes away: the connection ends (no task is left behind).
        flooder.abort();
        drop(_rd);
        closed.recv().await.expect("on_close after the peer left");
    })
    .await;
}
