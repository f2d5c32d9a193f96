//! The two tasks of a RawSocket connection: the reader (frames in, PONGs out, WAMP
//! messages to the receive queue) and the writer (whole frames out, in order).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::keepalive::{Due, Keepalive};
use super::SEND_HIGH_WATER;
use crate::rawsocket::framing::{encode_header, FrameDecoder, FrameKind, HEADER_LEN};
use crate::wamp::message::Message;
use crate::wamp::serializer::Serializer;
use crate::wamp::transport::{HeldBytes, QueuedBytes, TransportError};

/// Size of the buffer each socket read goes into.
const READ_CHUNK: usize = 16 * 1024;

/// What the reader hands to `recv`: a message with its charge to the receive budget.
pub(super) type Item = Result<(Message, HeldBytes), TransportError>;

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

/// The sending side, shared by `send` and the reader (which sends PONGs).
#[derive(Clone)]
pub(super) struct FrameSender {
    pub(super) tx: mpsc::UnboundedSender<WriterCmd>,
    pub(super) budget: Arc<Semaphore>,
}

impl FrameSender {
    /// Queues a whole frame, waiting while the queue is over budget. Cancel-safe:
    /// the frame is queued entirely or not at all.
    pub(super) async fn send(&self, frame: Bytes) -> Result<(), TransportError> {
        // Frames above the budget take all of it: they wait for an empty queue.
        let want = frame.len().clamp(1, SEND_HIGH_WATER) as u32;
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(want)
            .await
            .map_err(|_| TransportError::Closed)?;
        self.tx
            .send(WriterCmd::Frame(frame, permit))
            .map_err(|_| TransportError::Closed)
    }

    /// Queues a small control frame (a keepalive PING) without waiting for the
    /// budget: the reader must not stall behind the application's sends to ask
    /// whether the router is still there.
    fn send_control(&self, frame: Bytes) -> Result<(), TransportError> {
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

/// Everything the reader task owns.
pub(super) struct ReadLoop<R> {
    pub(super) rd: R,
    pub(super) decoder: FrameDecoder,
    pub(super) serializer: Arc<dyn Serializer>,
    /// Bound on what one received message may cost decoded.
    pub(super) max_decoded_size: usize,
    pub(super) tx: mpsc::Sender<Item>,
    /// Bytes of the messages in `tx` not yet taken by the session.
    pub(super) queued: QueuedBytes,
    pub(super) sender: FrameSender,
    pub(super) writer: tokio::task::AbortHandle,
    pub(super) peer_max_len: u32,
    pub(super) shared: Arc<Shared>,
    pub(super) peer: String,
    /// PINGs the router and fails the connection without its PONG.
    pub(super) keepalive: Option<Keepalive>,
}

impl<R> ReadLoop<R> {
    /// The reader is about to wait for the application: the keepalive spares the
    /// router meanwhile (its PONG may be behind what waits).
    fn held_up(&mut self) {
        if let Some(k) = &mut self.keepalive {
            k.held_up();
        }
    }
}

/// How the reader ended.
enum ReadEnd {
    /// The router closed the connection.
    Eof,
    /// The transport stopped listening.
    Dropped,
    /// The connection failed; the error goes to `recv`.
    Failed(TransportError),
}

pub(super) async fn read_loop<R: AsyncRead + Unpin>(mut st: ReadLoop<R>) {
    let end = read_frames(&mut st).await;
    st.shared.open.store(false, Ordering::Release);
    match end {
        ReadEnd::Eof => {
            tracing::debug!(peer = %st.peer, "rawsocket: router closed the connection");
            // Close our side too, after what is queued.
            let _ = st.sender.tx.send(WriterCmd::Shutdown);
        }
        ReadEnd::Dropped => {}
        ReadEnd::Failed(e) => {
            tracing::debug!(peer = %st.peer, "rawsocket: connection failed: {e}");
            st.writer.abort();
            st.shared.budget.close();
            let _ = st.tx.send(Err(e)).await;
        }
    }
    // Dropping `tx` here makes `recv` return `None` after what was queued.
}

async fn read_frames<R: AsyncRead + Unpin>(st: &mut ReadLoop<R>) -> ReadEnd {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        loop {
            let frame = match st.decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => return ReadEnd::Failed(TransportError::Protocol(e.to_string())),
            };
            match frame.kind {
                FrameKind::Message => {
                    let messages = match st.serializer.unserialize_limited(
                        &frame.payload,
                        st.serializer.is_binary(),
                        st.max_decoded_size,
                    ) {
                        Ok(m) => m,
                        Err(e) => return ReadEnd::Failed(TransportError::Protocol(e.to_string())),
                    };
                    // Drop the frame before waiting: only decoded messages are held.
                    drop(frame);
                    for msg in messages {
                        // Past the budget the reader waits here, so it stops reading
                        // the socket and TCP pushes back on the router.
                        if st.queued.is_full() {
                            st.held_up();
                            st.queued.below_limit().await;
                        }
                        let held = st.queued.charge(msg.memory_size());
                        match st.tx.try_send(Ok((msg, held))) {
                            Ok(()) => {}
                            Err(TrySendError::Full(item)) => {
                                st.held_up();
                                if st.tx.send(item).await.is_err() {
                                    return ReadEnd::Dropped;
                                }
                            }
                            Err(TrySendError::Closed(_)) => return ReadEnd::Dropped,
                        }
                    }
                }
                FrameKind::Ping => {
                    // A PING must be answered with exactly one PONG echoing its payload;
                    // a PING larger than what the router itself accepts cannot be.
                    let mut pong = Vec::with_capacity(HEADER_LEN + frame.payload.len());
                    match encode_header(FrameKind::Pong, frame.payload.len(), st.peer_max_len) {
                        Ok(h) => pong.extend_from_slice(&h),
                        Err(e) => {
                            return ReadEnd::Failed(TransportError::Protocol(format!(
                                "PING the router could not receive the PONG of: {e}"
                            )))
                        }
                    }
                    pong.extend_from_slice(&frame.payload);
                    if st.sender.send(pong.into()).await.is_err() {
                        return ReadEnd::Failed(TransportError::Lost("writer stopped".into()));
                    }
                }
                FrameKind::Pong => {
                    let ours = st
                        .keepalive
                        .as_mut()
                        .is_some_and(|k| k.pong(&frame.payload));
                    if !ours {
                        tracing::trace!(peer = %st.peer, "rawsocket: unsolicited PONG ignored");
                    }
                }
            }
        }
        let read = match read_or_keepalive(&mut st.rd, &mut buf, &mut st.keepalive).await {
            Input::Read(r) => r,
            Input::Keepalive(Due::Ping(payload)) => {
                if let Err(e) = send_ping(&st.sender, payload, st.peer_max_len) {
                    return ReadEnd::Failed(e);
                }
                continue;
            }
            Input::Keepalive(Due::Dead) => {
                // Only a keepalive with a timeout declares the link dead.
                let timeout = st
                    .keepalive
                    .as_ref()
                    .and_then(Keepalive::timeout)
                    .unwrap_or_default();
                tracing::info!(peer = %st.peer, ?timeout, "rawsocket: no PONG in time; dropping the connection");
                return ReadEnd::Failed(TransportError::Lost(format!(
                    "keepalive: no PONG from the router within {timeout:?}"
                )));
            }
            Input::Keepalive(Due::Nothing) => continue,
        };
        match read {
            Ok(0) => {
                return if st.decoder.buffered() == 0 {
                    ReadEnd::Eof
                } else {
                    ReadEnd::Failed(TransportError::Lost(
                        "connection closed in the middle of a frame".into(),
                    ))
                };
            }
            Ok(n) => st.decoder.feed(buf.get(..n).unwrap_or_default()),
            Err(e) => return ReadEnd::Failed(TransportError::Lost(format!("read failed: {e}"))),
        }
    }
}

/// What woke the reader: bytes (or the end) from the socket, or the keepalive.
enum Input {
    Read(std::io::Result<usize>),
    Keepalive(Due),
}

/// Reads from the socket; the keepalive is polled only while there is nothing to read.
async fn read_or_keepalive<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut [u8],
    keepalive: &mut Option<Keepalive>,
) -> Input {
    poll_fn(|cx| {
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut *rd).poll_read(cx, &mut rb) {
            Poll::Ready(r) => Poll::Ready(Input::Read(r.map(|()| rb.filled().len()))),
            Poll::Pending => match keepalive.as_mut().and_then(|k| k.poll_due(cx)) {
                Some(due) => Poll::Ready(Input::Keepalive(due)),
                None => Poll::Pending,
            },
        }
    })
    .await
}

/// Queues a keepalive PING.
fn send_ping(
    sender: &FrameSender,
    payload: [u8; 4],
    peer_max_len: u32,
) -> Result<(), TransportError> {
    let header = encode_header(FrameKind::Ping, payload.len(), peer_max_len)
        .map_err(|e| TransportError::Protocol(e.to_string()))?;
    let mut ping = Vec::with_capacity(HEADER_LEN + payload.len());
    ping.extend_from_slice(&header);
    ping.extend_from_slice(&payload);
    sender
        .send_control(ping.into())
        .map_err(|_| TransportError::Lost("writer stopped".into()))
}
