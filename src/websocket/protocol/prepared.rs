//! Prepared messages (Autobahn's `prepareMessage` / `sendPreparedMessage`): a message
//! encoded once and sent on many connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
#[cfg(feature = "deflate")]
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

#[cfg(feature = "deflate")]
use crate::websocket::deflate::codec::SharedCompression;

/// A message to send to many connections, encoded once.
///
/// Cheap to clone (shared). Sent with
/// [`WebSocketChannel::send_prepared`](crate::websocket::WebSocketChannel::send_prepared) or
/// [`try_send_prepared`](crate::websocket::WebSocketChannel::try_send_prepared), or the sans-IO
/// [`Sender::send_prepared`](super::Sender::send_prepared). What each connection gets is
/// exactly what `send_message` would have sent it, with less work:
///
/// - uncompressed and unmasked (server side), every connection queues the same payload
///   bytes, shared, not copied; only the frame header (2–10 bytes) is written per connection;
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
    /// Compressed payloads (trailing `00 00 ff ff` stripped), one per compressor setting.
    #[cfg(feature = "deflate")]
    compressed: Mutex<Vec<(SharedCompression, Bytes)>>,
    compressions: AtomicUsize,
}

impl PreparedMessage {
    /// Prepares a text (`is_binary` false; the payload must be UTF-8, as for
    /// `send_message`) or binary message.
    pub fn new(payload: impl Into<Bytes>, is_binary: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                payload: payload.into(),
                is_binary,
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
    /// most once per setting: concurrent senders wait for the first).
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed<E>(
        &self,
        setting: SharedCompression,
        compress: impl FnOnce(&[u8], &mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Bytes, E> {
        let mut cache = self.cache();
        if let Some((_, bytes)) = cache.iter().find(|(s, _)| *s == setting) {
            return Ok(bytes.clone());
        }
        let mut out = Vec::new();
        compress(&self.inner.payload, &mut out)?;
        let bytes = Bytes::from(out);
        cache.push((setting, bytes.clone()));
        self.count_compression();
        Ok(bytes)
    }

    #[cfg(feature = "deflate")]
    fn cache(&self) -> MutexGuard<'_, Vec<(SharedCompression, Bytes)>> {
        // A panic while compressing leaves at worst a missing entry: compress again.
        self.inner
            .compressed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}
