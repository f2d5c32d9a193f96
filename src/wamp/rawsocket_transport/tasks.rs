//! The writer task of a RawSocket connection (whole frames out, in order) and the
//! sending side that feeds it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, AcquireError, OwnedSemaphorePermit, Semaphore};

use super::SEND_HIGH_WATER;
use crate::wamp::transport::TransportError;

/// Work for the writer task.
pub(super) enum WriterCmd {
    /// A whole encoded frame; the permit holds its bytes' share of the send budget.
    Frame(Bytes, OwnedSemaphorePermit),
    /// Write what is queued, then shut the write side down (TCP FIN / TLS
    /// close_notify).
    Shutdown,
}

/// State shared by the transport and its tasks.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) open: AtomicBool,
    /// Limits the bytes queued for the writer.
    pub(super) budget: Arc<Semaphore>,
}

/// The sending side, shared by `send` and the reader (which sends PONGs and PINGs).
#[derive(Clone)]
pub(super) struct FrameSender {
    pub(super) tx: mpsc::UnboundedSender<WriterCmd>,
    pub(super) budget: Arc<Semaphore>,
}

impl FrameSender {
    /// Queues a whole frame, waiting while the queue is over budget. Cancel-safe:
    /// the frame is queued entirely or not at all.
    pub(super) async fn send(&self, frame: Bytes) -> Result<(), TransportError> {
        let permit = self
            .acquire(frame.len())
            .await
            .map_err(|_| TransportError::Closed)?;
        self.tx
            .send(WriterCmd::Frame(frame, permit))
            .map_err(|_| TransportError::Closed)
    }

    /// Waits for the share of the budget a frame of `len` bytes takes. Frames above
    /// the budget take all of it: they wait for an empty queue.
    pub(super) fn acquire(
        &self,
        len: usize,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send + 'static {
        let want = len.clamp(1, SEND_HIGH_WATER) as u32;
        self.budget.clone().acquire_many_owned(want)
    }

    /// Queues a small control frame (a keepalive PING) without waiting for the
    /// budget: `recv` must not stall behind the application's sends to ask
    /// whether the router is still there.
    pub(super) fn send_control(&self, frame: Bytes) -> Result<(), TransportError> {
        let permit = self
            .budget
            .clone()
            .try_acquire_many_owned(0)
            .map_err(|_| TransportError::Closed)?;
        self.tx
            .send(WriterCmd::Frame(frame, permit))
            .map_err(|_| TransportError::Closed)
    }
}

/// Bytes gathered into one write; a frame that would overflow it goes in the next one.
const WRITE_BATCH: usize = 64 * 1024;

/// Writes queued frames in order: per wakeup, everything queued (up to
/// [`WRITE_BATCH`] bytes, or one larger frame) goes out in one write, then a flush.
pub(super) async fn write_loop<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: mpsc::UnboundedReceiver<WriterCmd>,
    shared: Arc<Shared>,
    peer: String,
) {
    let mut batch: Vec<u8> = Vec::new();
    // Permits of the frames in `batch`: released once their bytes are written.
    let mut permits: Vec<OwnedSemaphorePermit> = Vec::new();
    let mut next = rx.recv().await;
    while let Some(cmd) = next.take() {
        let mut shutdown = false;
        let mut large: Option<(Bytes, OwnedSemaphorePermit)> = None;
        let mut cmd = Some(cmd);
        while let Some(c) = cmd.take() {
            match c {
                WriterCmd::Frame(frame, permit) => {
                    if batch.is_empty() && frame.len() >= WRITE_BATCH {
                        // Written as is, without a copy.
                        large = Some((frame, permit));
                        break;
                    }
                    if batch.len() + frame.len() > WRITE_BATCH {
                        // Goes first in the next write.
                        next = Some(WriterCmd::Frame(frame, permit));
                        break;
                    }
                    batch.extend_from_slice(&frame);
                    permits.push(permit);
                }
                WriterCmd::Shutdown => {
                    shutdown = true;
                    break;
                }
            }
            cmd = rx.try_recv().ok();
        }
        let mut res = match &large {
            Some((frame, _)) => wr.write_all(frame).await,
            None if batch.is_empty() => Ok(()),
            None => wr.write_all(&batch).await,
        };
        batch.clear();
        permits.clear();
        drop(large);
        if res.is_ok() && next.is_none() && (shutdown || rx.is_empty()) {
            res = wr.flush().await;
        }
        if let Err(e) = res {
            tracing::debug!(%peer, "rawsocket: write failed: {e}");
            break;
        }
        if shutdown {
            if let Err(e) = wr.shutdown().await {
                tracing::debug!(%peer, "rawsocket: shutdown failed: {e}");
            }
            break;
        }
        if next.is_none() {
            next = rx.recv().await;
        }
    }
    shared.open.store(false, Ordering::Release);
    // Wake senders waiting for budget: there is nobody left to write their frames.
    shared.budget.close();
}
