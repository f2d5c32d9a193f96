//! A ping flood from a peer that never reads: every ping owes a pong, and the pongs
//! cannot leave, so a server that kept reading would queue as many bytes as the peer
//! sends. Ours stops reading once its own answers fill the output queue: the peer's
//! writes stall, and the heap the whole process grew by (counted by a global allocator
//! in this test binary, which holds only this test) stays near that queue's bound.
//! The peer is in memory and the clock paused, so "the peer's writes stall" is seen
//! exactly: virtual time only moves once every task waits.

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

#[tokio::test(start_paused = true)]
async fn ping_flood_from_a_peer_that_never_reads_stalls_instead_of_growing_memory() {
    bounded(async {
        let (closed_tx, mut closed) = mpsc::unbounded_channel();
        let (peer, server_end) = in_memory_pair();
        let _server = tokio::spawn(async move {
            WebSocketServerFactory::new("ws://127.0.0.1")
                .accept_stream(server_end, "memory".into(), move |_ch: WebSocketChannel| {
                    Quiet { closed: closed_tx }
                })
                .await
        });
        let (s, _) = raw_open(peer, IN_MEMORY_ADDR).await;
        // Never read: the read half is kept (not dropped) so the stream stays open.
        let (_rd, mut wr) = tokio::io::split(s);
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
        // The event awaited is a non-event: the server no longer taking our bytes. A
        // virtual second passes only once every task waits, so no progress over one
        // means the flooder is stalled (or the flood went through, which fails).
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
