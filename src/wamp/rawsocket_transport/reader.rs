//! The receiving side of a RawSocket connection, polled by `recv` itself: frames in,
//! PONGs and keepalive probes out, WAMP messages to the caller of `recv` (without the
//! answers to our probes).
//!
//! No task of its own: the session task that asks for the next message reads the
//! socket, so a message costs no hand-over between tasks. Nothing is read while nobody
//! asks, so TCP pushes back on a router whose messages the application does not take.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{AcquireError, OwnedSemaphorePermit};

use super::keepalive::{Due, Keepalive};
use super::options::{KeepaliveProbe, KEEPALIVE_PROCEDURE, KEEPALIVE_REQUEST_IDS};
use super::tasks::{FrameSender, WriterCmd};
use crate::rawsocket::framing::{encode_header, FrameDecoder, FrameKind, HEADER_LEN};
use crate::wamp::message::{Call, Message, MessageType};
use crate::wamp::serializer::Serializer;
use crate::wamp::transport::TransportError;

/// Size of the buffer each socket read goes into.
const READ_CHUNK: usize = 16 * 1024;

/// The read half of the connection's stream.
pub(super) type ReadStream = Box<dyn AsyncRead + Send + Unpin>;

/// A PONG waiting for its share of the send budget.
type BudgetWait = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// How reading ended.
pub(super) enum ReadEnd {
    /// The router closed the connection cleanly.
    Eof,
    /// The connection failed.
    Failed(TransportError),
}

/// Everything the receiving side owns. Every poll leaves it consistent, so that a
/// `recv` dropped half-way loses nothing.
pub(super) struct Reader {
    rd: ReadStream,
    buf: Box<[u8]>,
    decoder: FrameDecoder,
    serializer: Arc<dyn Serializer>,
    /// Bound on what one received message may cost decoded.
    max_decoded_size: usize,
    /// Messages of a batch frame not yet returned.
    batch: VecDeque<Message>,
    /// A PONG (its frame and the wait for its budget) not yet queued: nothing is read
    /// meanwhile, so a router that does not read stalls our reading too.
    pong: Option<(Bytes, BudgetWait)>,
    sender: FrameSender,
    peer_max_len: u32,
    /// Probes a silent router and fails the connection when nothing comes back.
    keepalive: Option<Keepalive>,
    /// What the keepalive sends.
    probe: KeepaliveProbe,
}

impl Reader {
    pub(super) fn new(
        rd: ReadStream,
        decoder: FrameDecoder,
        serializer: Arc<dyn Serializer>,
        max_decoded_size: usize,
        sender: FrameSender,
        peer_max_len: u32,
        keepalive: Option<(Keepalive, KeepaliveProbe)>,
    ) -> Self {
        let (keepalive, probe) = match keepalive {
            Some((k, p)) => (Some(k), p),
            None => (None, KeepaliveProbe::default()),
        };
        Self {
            rd,
            buf: vec![0u8; READ_CHUNK].into_boxed_slice(),
            decoder,
            serializer,
            max_decoded_size,
            batch: VecDeque::new(),
            pong: None,
            sender,
            peer_max_len,
            keepalive,
            probe,
        }
    }

    /// We send `msg`: a WAMP probe may go out only while the session is established,
    /// so not once we start a new session or end this one.
    pub(super) fn sending(&mut self, msg: &Message) {
        if let Some(k) = wamp_keepalive(self.probe, &mut self.keepalive) {
            if matches!(
                msg,
                Message::Hello(_) | Message::Goodbye(_) | Message::Abort(_)
            ) {
                k.set_active(false);
            }
        }
    }

    /// `recv` starts waiting again: if the keepalive came due while nobody read, the
    /// application held the router up (its PONG may be behind what we did not read).
    pub(super) fn resumed(&mut self) {
        if let Some(k) = &mut self.keepalive {
            k.resumed();
        }
    }

    /// The next message, or how reading ended.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message, ReadEnd>> {
        loop {
            if let Some(msg) = self.batch.pop_front() {
                return Poll::Ready(Ok(msg));
            }
            if let Some((frame, wait)) = &mut self.pong {
                let permit = match wait.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(p)) => p,
                    Poll::Ready(Err(_)) => return Poll::Ready(Err(writer_stopped())),
                };
                let frame = std::mem::take(frame);
                self.pong = None;
                if self
                    .sender
                    .tx
                    .send(WriterCmd::Frame(frame, permit))
                    .is_err()
                {
                    return Poll::Ready(Err(writer_stopped()));
                }
            }
            match self.decoder.next_frame() {
                Ok(Some(frame)) => {
                    if let Err(end) = self.frame(frame.kind, frame.payload) {
                        return Poll::Ready(Err(end));
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    return Poll::Ready(Err(ReadEnd::Failed(TransportError::Protocol(
                        e.to_string(),
                    ))))
                }
            }
            let mut rb = ReadBuf::new(&mut self.buf);
            match Pin::new(&mut self.rd).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        return Poll::Ready(Err(if self.decoder.buffered() == 0 {
                            ReadEnd::Eof
                        } else {
                            ReadEnd::Failed(TransportError::Lost(
                                "connection closed in the middle of a frame".into(),
                            ))
                        }));
                    }
                    if let Some(k) = &mut self.keepalive {
                        k.received();
                    }
                    self.decoder.feed(self.buf.get(..n).unwrap_or_default());
                }
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(ReadEnd::Failed(TransportError::Lost(format!(
                        "read failed: {e}"
                    )))))
                }
                // The keepalive is looked at only while there is nothing to read.
                Poll::Pending => match self.keepalive.as_mut().and_then(|k| k.poll_due(cx)) {
                    None => return Poll::Pending,
                    Some(Due::Nothing) => {}
                    Some(Due::Probe(n)) => {
                        if let Err(e) = self.send_probe(n) {
                            return Poll::Ready(Err(ReadEnd::Failed(e)));
                        }
                    }
                    Some(Due::Dead) => {
                        // Only a keepalive with a timeout declares the link dead.
                        let timeout = self
                            .keepalive
                            .as_ref()
                            .and_then(Keepalive::timeout)
                            .unwrap_or_default();
                        tracing::info!(
                            ?timeout,
                            "rawsocket: nothing received after the keepalive probe; dropping the connection"
                        );
                        return Poll::Ready(Err(ReadEnd::Failed(TransportError::Lost(format!(
                            "keepalive: nothing received from the router within {timeout:?} of a probe"
                        )))));
                    }
                },
            }
        }
    }

    /// Acts on one received frame.
    fn frame(&mut self, kind: FrameKind, payload: Bytes) -> Result<(), ReadEnd> {
        match kind {
            FrameKind::Message => {
                let messages = self
                    .serializer
                    .unserialize_limited(
                        &payload,
                        self.serializer.is_binary(),
                        self.max_decoded_size,
                    )
                    .map_err(|e| ReadEnd::Failed(TransportError::Protocol(e.to_string())))?;
                match wamp_keepalive(self.probe, &mut self.keepalive) {
                    Some(k) => {
                        let kept = messages.into_iter().filter(|m| watch(k, m));
                        self.batch.extend(kept);
                    }
                    None => self.batch.extend(messages),
                }
            }
            FrameKind::Ping => {
                // A PING must be answered with exactly one PONG echoing its payload; a
                // PING larger than what the router itself accepts cannot be.
                let header = encode_header(FrameKind::Pong, payload.len(), self.peer_max_len)
                    .map_err(|e| {
                        ReadEnd::Failed(TransportError::Protocol(format!(
                            "PING the router could not receive the PONG of: {e}"
                        )))
                    })?;
                let mut pong = Vec::with_capacity(HEADER_LEN + payload.len());
                pong.extend_from_slice(&header);
                pong.extend_from_slice(&payload);
                let wait = Box::pin(self.sender.acquire(pong.len()));
                self.pong = Some((pong.into(), wait));
            }
            // Like any received bytes, it proved the link alive.
            FrameKind::Pong => tracing::trace!("rawsocket: PONG"),
        }
        Ok(())
    }

    /// Queues keepalive probe number `n`.
    fn send_probe(&mut self, n: u32) -> Result<(), TransportError> {
        match self.probe {
            KeepaliveProbe::Ping => send_ping(&self.sender, n.to_be_bytes(), self.peer_max_len),
            KeepaliveProbe::WampCall => {
                let call = probe_call(n);
                let mut frame = vec![0; HEADER_LEN];
                self.serializer
                    .serialize_into(&call, &mut frame)
                    .map_err(|e| TransportError::Serialize(e.to_string()))?;
                let header = encode_header(
                    FrameKind::Message,
                    frame.len() - HEADER_LEN,
                    self.peer_max_len,
                )
                .map_err(|e| TransportError::Protocol(e.to_string()))?;
                if let Some(h) = frame.get_mut(..HEADER_LEN) {
                    h.copy_from_slice(&header);
                }
                tracing::trace!(n, "rawsocket: keepalive probe");
                self.sender
                    .send_control(frame.into())
                    .map_err(|_| TransportError::Lost("writer stopped".into()))
            }
        }
    }
}

/// Follows the session's state as `WELCOME`, `GOODBYE` and `ABORT` go by, for a WAMP
/// keepalive; `false` for the answer to one of its probes, which the session must not see.
fn watch(k: &mut Keepalive, msg: &Message) -> bool {
    let request = match msg {
        Message::Welcome(_) => {
            k.set_active(true);
            return true;
        }
        Message::Goodbye(_) | Message::Abort(_) => {
            k.set_active(false);
            return true;
        }
        Message::Result(m) => m.request,
        Message::Error(m) if m.request_type == MessageType::Call => m.request,
        _ => return true,
    };
    if KEEPALIVE_REQUEST_IDS.contains(&request) {
        tracing::trace!(request, "rawsocket: keepalive probe answered");
        return false;
    }
    true
}

/// The keepalive, if its probe is a WAMP message.
fn wamp_keepalive(
    probe: KeepaliveProbe,
    keepalive: &mut Option<Keepalive>,
) -> Option<&mut Keepalive> {
    match probe {
        KeepaliveProbe::WampCall => keepalive.as_mut(),
        KeepaliveProbe::Ping => None,
    }
}

/// The `CALL` of WAMP keepalive probe number `n`.
pub(super) fn probe_call(n: u32) -> Message {
    let ids = KEEPALIVE_REQUEST_IDS;
    let span = ids.end() - ids.start() + 1;
    Message::Call(Call {
        request: ids.start() + u64::from(n) % span,
        procedure: KEEPALIVE_PROCEDURE.to_owned(),
        ..Call::default()
    })
}

fn writer_stopped() -> ReadEnd {
    ReadEnd::Failed(TransportError::Lost("writer stopped".into()))
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
