//! The two tasks of a RawSocket connection: the reader (frames in, PONGs out, WAMP
//! messages to the receive queue) and the writer (whole frames out, in order). A
//! sender writes a frame itself while the writer has nothing to do.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

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

/// The socket's write side, shared by the writer task and the senders.
pub(super) struct Output {
    /// The write half of the socket; `None` once the connection is dropped.
    wr: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    /// The writer task has work queued (frames, the rest of one, a flush, the
    /// shutdown) or under way: senders queue behind it. While it is false the writer
    /// waits for its queue, and a sender may write a frame to the socket itself,
    /// which saves a task switch and a wakeup per message.
    busy: bool,
    /// A frame was sent since the last input from the router: the frames that follow
    /// are a burst, which the writer gathers into few writes; the first frame after
    /// input (the answer to it, say) goes out directly.
    wrote_since_input: bool,
}

impl Output {
    pub(super) fn new<W: AsyncWrite + Send + 'static>(wr: W) -> Arc<Mutex<Self>> {
        Arc::new(Mutex::new(Self {
            wr: Some(Box::pin(wr)),
            busy: false,
            wrote_since_input: false,
        }))
    }
}

/// Locks the write side; a panic while it was held cannot leave a frame half
/// accounted for (every write either completes or goes to the writer), so a poisoned
/// lock is used as is.
fn lock(out: &Mutex<Output>) -> MutexGuard<'_, Output> {
    out.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The sending side, shared by `send` and the reader (which sends PONGs).
#[derive(Clone)]
pub(super) struct FrameSender {
    pub(super) tx: mpsc::UnboundedSender<WriterCmd>,
    pub(super) budget: Arc<Semaphore>,
    pub(super) out: Arc<Mutex<Output>>,
}

impl FrameSender {
    /// Writes `frame` to the socket now if the writer is idle, nothing was sent since
    /// the router's last input and the socket takes it all (and flushes);
    /// otherwise hands the writer what is left of it, in order behind what it has.
    /// Errors are the writer's to find: it writes what is left and fails the
    /// connection as usual.
    fn write_or_queue(
        &self,
        frame: Bytes,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), TransportError> {
        let mut out = lock(&self.out);
        let mut written = 0;
        let direct = !out.busy && !out.wrote_since_input;
        out.wrote_since_input = true;
        if let (true, Some(wr)) = (direct, out.wr.as_mut()) {
            // The writer task is not waiting on the socket, and polls it again for
            // whatever it is handed: no waker is needed here.
            let mut cx = Context::from_waker(Waker::noop());
            while let Some(rest) = frame.get(written..).filter(|r| !r.is_empty()) {
                match wr.as_mut().poll_write(&mut cx, rest) {
                    Poll::Ready(Ok(n)) if n > 0 => written += n,
                    _ => break,
                }
            }
            if written == frame.len()
                && matches!(wr.as_mut().poll_flush(&mut cx), Poll::Ready(Ok(())))
            {
                return Ok(());
            }
        }
        // From now on the writer goes first: queued under the lock, so it sees the
        // frame before it can call itself idle.
        out.busy = true;
        self.tx
            .send(WriterCmd::Frame(frame.slice(written..), permit))
            .map_err(|_| TransportError::Closed)
    }

    /// Asks the writer to write what is queued, then shut the write side down; no
    /// sender writes to the socket after this.
    pub(super) fn shutdown(&self) {
        let mut out = lock(&self.out);
        out.busy = true;
        let _ = self.tx.send(WriterCmd::Shutdown);
    }

    /// Input from the router arrived: the next frame may go out directly again.
    pub(super) fn input_arrived(&self) {
        lock(&self.out).wrote_since_input = false;
    }

    /// Drops the write half of the socket (with the reader's half gone too, the
    /// connection closes at once).
    pub(super) fn drop_socket(&self) {
        let mut out = lock(&self.out);
        out.busy = true;
        out.wr = None;
    }

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
        self.write_or_queue(frame, permit)
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
        self.write_or_queue(frame, permit)
    }
}

/// Bytes gathered into one write; a frame that would overflow it goes in the next one.
const WRITE_BATCH: usize = 64 * 1024;

/// The writer's access to the socket: each poll takes the lock for its own duration.
struct Locked<'a>(&'a Mutex<Output>);

impl Locked<'_> {
    fn with<R>(
        &self,
        f: impl FnOnce(Pin<&mut (dyn AsyncWrite + Send)>) -> Poll<std::io::Result<R>>,
    ) -> Poll<std::io::Result<R>> {
        match lock(self.0).wr.as_mut() {
            Some(wr) => f(wr.as_mut()),
            None => Poll::Ready(Err(std::io::ErrorKind::NotConnected.into())),
        }
    }
}

impl AsyncWrite for Locked<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.with(|wr| wr.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with(|wr| wr.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with(|wr| wr.poll_shutdown(cx))
    }
}

/// Writes queued frames in order: per wakeup, everything queued (up to
/// [`WRITE_BATCH`] bytes, or one larger frame) goes out in one write, then a flush.
/// Once nothing is left, it lets the senders write themselves until handed more.
pub(super) async fn write_loop(
    out: Arc<Mutex<Output>>,
    mut rx: mpsc::UnboundedReceiver<WriterCmd>,
    shared: Arc<Shared>,
    peer: String,
) {
    let mut wr = Locked(&out);
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
            let idle = {
                let mut o = lock(&out);
                match rx.try_recv() {
                    Ok(cmd) => {
                        next = Some(cmd);
                        false
                    }
                    Err(_) => {
                        // Senders queue under this lock: nothing can be behind us.
                        o.busy = false;
                        true
                    }
                }
            };
            if idle {
                next = rx.recv().await;
            }
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
            st.sender.shutdown();
        }
        ReadEnd::Dropped => {}
        ReadEnd::Failed(e) => {
            tracing::debug!(peer = %st.peer, "rawsocket: connection failed: {e}");
            st.writer.abort();
            st.sender.drop_socket();
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
            Ok(n) => {
                st.sender.input_arrived();
                st.decoder.feed(buf.get(..n).unwrap_or_default());
            }
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
