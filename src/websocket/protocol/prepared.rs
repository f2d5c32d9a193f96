//! Prepared messages (Autobahn's `prepareMessage` / `sendPreparedMessage`): a message
//! encoded once and sent on many connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
#[cfg(feature = "deflate")]
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

#[cfg(feature = "deflate")]
use super::outgoing::Outgoing;
#[cfg(feature = "deflate")]
use crate::websocket::deflate::codec::SharedCompression;
use crate::websocket::frame::{FrameHeader, OpCode};

/// A message to send to many connections, encoded once.
///
/// Cheap to clone (shared). Sent with
/// [`WebSocketChannel::send_prepared`](crate::websocket::WebSocketChannel::send_prepared) or
/// [`try_send_prepared`](crate::websocket::WebSocketChannel::try_send_prepared), or the sans-IO
/// [`Sender::send_prepared`](super::Sender::send_prepared). What each connection gets is
/// exactly what `send_message` would have sent it, with less work:
///
/// - uncompressed and unmasked (server side), every connection queues the same payload
///   bytes, shared, not copied: a message below 16 KiB as one frame encoded once (header
///   and payload), a larger one as its payload with a 2–10-byte header per connection;
/// - with permessage-deflate and no context takeover in the sending direction, the message
///   is compressed once per distinct compressor setting (window bits, memory level, level),
///   and that result is shared by every connection with the same setting;
/// - with context takeover, each connection compresses it itself (its compressor's history
///   differs from every other's); client connections mask it each with their own key.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::protocol::{Event, Outgoing, ProtocolConfig, Receiver, Role, Sender};
/// use autobahn::websocket::PreparedMessage;
/// use bytes::BytesMut;
///
/// let news = PreparedMessage::new("the same news for everyone", false);
/// let mut sender = Sender::new(ProtocolConfig::new(Role::Server));
/// let mut out = Outgoing::new();
/// sender.send_prepared(&mut out, &news)?;
///
/// let mut receiver = Receiver::new(ProtocolConfig::new(Role::Client));
/// let mut events = Vec::new();
/// receiver.receive(&mut BytesMut::from(&out.take_all()[..]), &mut events)?;
/// assert_eq!(
///     events,
///     [Event::Message { payload: "the same news for everyone".into(), is_binary: false }]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PreparedMessage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    payload: Bytes,
    is_binary: bool,
    /// The payload as one unmasked frame, encoded by the first connection that sends it so.
    frame: OnceLock<Bytes>,
    /// Compressed payloads, one per compressor setting.
    #[cfg(feature = "deflate")]
    compressed: Mutex<Vec<Compressed>>,
    compressions: AtomicUsize,
}

/// The payload compressed under one setting.
#[cfg(feature = "deflate")]
#[derive(Debug)]
struct Compressed {
    setting: SharedCompression,
    /// Trailing `00 00 ff ff` stripped.
    payload: Bytes,
    /// As one unmasked frame (RSV1 set), once a connection sent it so.
    frame: Option<Bytes>,
}

/// What a connection queues of a compressed prepared message.
#[cfg(feature = "deflate")]
#[derive(Debug)]
pub(crate) enum CompressedPayload {
    /// Queued as one encoded frame (RSV1 set) of this many payload bytes.
    Queued(usize),
    /// The compressed payload, to frame.
    Payload(Bytes),
}

/// `payload` as one unmasked, final frame.
fn encode_frame(opcode: OpCode, rsv1: bool, payload: &[u8]) -> Bytes {
    let header = FrameHeader {
        fin: true,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    };
    let (bytes, n) = header.to_bytes();
    let mut frame = Vec::with_capacity(n + payload.len());
    frame.extend_from_slice(&bytes[..n]);
    frame.extend_from_slice(payload);
    Bytes::from(frame)
}

impl PreparedMessage {
    /// Prepares a text (`is_binary` false; the payload must be UTF-8, as for
    /// `send_message`) or binary message.
    pub fn new(payload: impl Into<Bytes>, is_binary: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                payload: payload.into(),
                is_binary,
                frame: OnceLock::new(),
                #[cfg(feature = "deflate")]
                compressed: Mutex::new(Vec::new()),
                compressions: AtomicUsize::new(0),
            }),
        }
    }

    /// The message's payload, uncompressed.
    pub fn payload(&self) -> &Bytes {
        &self.inner.payload
    }

    /// Whether it is a binary message (else text).
    pub fn is_binary(&self) -> bool {
        self.inner.is_binary
    }

    fn opcode(&self) -> OpCode {
        if self.inner.is_binary {
            OpCode::Binary
        } else {
            OpCode::Text
        }
    }

    /// The whole message as one unmasked frame, uncompressed: encoded once, then shared by
    /// every connection that sends it so.
    pub(crate) fn frame(&self) -> &Bytes {
        self.inner
            .frame
            .get_or_init(|| encode_frame(self.opcode(), false, &self.inner.payload))
    }

    /// How many times the payload was compressed so far: once per compressor setting for
    /// connections without context takeover, plus once per send on connections with it.
    /// A measure of the work sharing saved.
    pub fn compressions(&self) -> usize {
        self.inner.compressions.load(Ordering::Relaxed)
    }

    /// Counts a compression done outside the shared cache (a connection with context
    /// takeover).
    #[cfg(feature = "deflate")]
    pub(crate) fn count_compression(&self) {
        self.inner.compressions.fetch_add(1, Ordering::Relaxed);
    }

    /// The payload compressed under `setting`: from the cache, or by `compress` (run at
    /// most once per setting: concurrent senders wait for the first). Queued on `out` at
    /// once as one encoded frame (cached too) when `as_frame` says so for the compressed
    /// length: a short frame is copied from the cache with no `Bytes` clone.
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed<E>(
        &self,
        setting: SharedCompression,
        as_frame: impl FnOnce(usize) -> bool,
        compress: impl FnOnce(&[u8], &mut Vec<u8>) -> Result<(), E>,
        out: &mut Outgoing,
    ) -> Result<CompressedPayload, E> {
        let mut cache = self.cache();
        let i = match cache.iter().position(|c| c.setting == setting) {
            Some(i) => i,
            None => {
                let mut compressed = Vec::new();
                compress(&self.inner.payload, &mut compressed)?;
                cache.push(Compressed {
                    setting,
                    payload: Bytes::from(compressed),
                    frame: None,
                });
                self.count_compression();
                cache.len() - 1
            }
        };
        let entry = &mut cache[i];
        if !as_frame(entry.payload.len()) {
            return Ok(CompressedPayload::Payload(entry.payload.clone()));
        }
        let opcode = self.opcode();
        let payload = &entry.payload;
        let frame = entry
            .frame
            .get_or_insert_with(|| encode_frame(opcode, true, payload));
        out.put_encoded_shared(frame);
        Ok(CompressedPayload::Queued(payload.len()))
    }

    #[cfg(feature = "deflate")]
    fn cache(&self) -> MutexGuard<'_, Vec<Compressed>> {
        // A panic while compressing leaves at worst a missing entry: compress again.
        self.inner
            .compressed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}
