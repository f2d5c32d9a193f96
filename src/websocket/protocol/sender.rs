//! The sending half: messages, control frames and the frame-based streaming API in,
//! encoded bytes out.

use bytes::Bytes;

use super::outgoing::{Outgoing, ZERO_COPY_THRESHOLD};
#[cfg(feature = "deflate")]
use super::prepared::CompressedPayload;
use super::prepared::PreparedMessage;
use super::{ProtocolConfig, Role, SendError};
use crate::websocket::frame::{close_code, FrameHeader, OpCode, MAX_CONTROL_PAYLOAD};

/// A message being sent frame by frame (Autobahn's `beginMessage` … `endMessage`).
#[derive(Debug)]
struct OutMessage {
    opcode: OpCode,
    compressed: bool,
    /// Remaining bytes of a frame begun with `begin_message_frame`, and its mask/offset.
    frame: Option<OpenFrame>,
}

#[derive(Debug)]
struct OpenFrame {
    remaining: u64,
    mask: Option<[u8; 4]>,
    offset: usize,
}

/// Encodes what we send, enforcing what RFC 6455 lets us send.
///
/// # Examples
///
/// A message streamed frame by frame (Autobahn's `beginMessage` … `endMessage`):
///
/// ```
/// use autobahn::websocket::protocol::{Event, Outgoing, ProtocolConfig, Receiver, Role, Sender};
/// use bytes::BytesMut;
///
/// let mut sender = Sender::new(ProtocolConfig::new(Role::Server));
/// let mut out = Outgoing::new();
/// sender.begin_message(true, false)?;
/// sender.send_message_frame(&mut out, b"part 1, ")?;
/// sender.begin_message_frame(&mut out, 6)?; // a frame whose payload comes in pieces
/// assert_eq!(sender.send_message_frame_data(&mut out, b"par")?, 3); // 3 bytes to come
/// assert_eq!(sender.send_message_frame_data(&mut out, b"t 2")?, 0);
/// sender.end_message(&mut out)?;
///
/// let mut receiver = Receiver::new(ProtocolConfig::new(Role::Client));
/// let mut events = Vec::new();
/// receiver.receive(&mut BytesMut::from(&out.take_all()[..]), &mut events)?;
/// assert_eq!(events, [Event::Message { payload: "part 1, part 2".into(), is_binary: true }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Sender {
    config: ProtocolConfig,
    message: Option<OutMessage>,
    close_sent: bool,
    /// Control frames that arrived while a frame begun with `begin_message_frame` was
    /// open on the wire; sent as soon as that frame is complete.
    deferred: Vec<(OpCode, Vec<u8>)>,
    #[cfg(feature = "deflate")]
    deflater: Option<Box<crate::websocket::deflate::PerMessageDeflate>>,
    #[cfg(feature = "deflate")]
    scratch: Vec<u8>,
    /// Messages smaller than this are sent uncompressed on a deflate connection.
    #[cfg(feature = "deflate")]
    compress_threshold: usize,
}

impl Sender {
    /// A sender for a freshly opened connection.
    pub fn new(config: ProtocolConfig) -> Self {
        Self {
            config,
            message: None,
            close_sent: false,
            deferred: Vec::new(),
            #[cfg(feature = "deflate")]
            deflater: None,
            #[cfg(feature = "deflate")]
            scratch: Vec::new(),
            #[cfg(feature = "deflate")]
            compress_threshold: 0,
        }
    }

    /// Enables permessage-deflate compression of outgoing data messages; messages shorter
    /// than `threshold` bytes are sent uncompressed.
    #[cfg(feature = "deflate")]
    pub fn set_deflate(
        &mut self,
        codec: crate::websocket::deflate::PerMessageDeflate,
        threshold: usize,
    ) {
        self.deflater = Some(Box::new(codec));
        self.compress_threshold = threshold;
    }

    /// Parks the permessage-deflate compressor if it compressed nothing since the last call
    /// (see [`PerMessageDeflate::park_if_idle`](crate::websocket::deflate::PerMessageDeflate::park_if_idle)),
    /// freeing the compression scratch buffer with it; returns whether zlib state is still
    /// held.
    pub(crate) fn park_deflate_if_idle(&mut self) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(d) = self.deflater.as_mut() {
            let awake = d.park_if_idle();
            if !awake {
                self.scratch = Vec::new();
            }
            return awake;
        }
        false
    }

    /// Whether the permessage-deflate compressor holds zlib state (to be parked when idle).
    pub(crate) fn deflate_awake(&self) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(d) = self.deflater.as_ref() {
            return d.holds_zlib_state();
        }
        false
    }

    /// True once we sent a close frame; no data or control frame may follow.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    #[inline]
    fn mask_key(&self) -> Option<[u8; 4]> {
        // (Not `bool::then` with a closure: that made this a call per frame for a server.)
        if self.config.mask_outgoing {
            Some(rand::random::<[u8; 4]>())
        } else {
            None
        }
    }

    fn header(&self, fin: bool, rsv1: bool, opcode: OpCode, len: usize) -> FrameHeader {
        FrameHeader {
            fin,
            rsv1,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: self.mask_key(),
            payload_len: len as u64,
        }
    }

    fn put(&self, out: &mut Outgoing, header: FrameHeader, payload: &[u8]) {
        if self.config.log_frames {
            tracing::trace!(?header, "tx frame");
        }
        out.put_frame(&header, payload, self.config.apply_mask);
    }

    #[inline]
    fn put_shared(&self, out: &mut Outgoing, header: FrameHeader, payload: Bytes) {
        if header.mask.is_some() {
            self.put(out, header, &payload);
        } else {
            if self.config.log_frames {
                tracing::trace!(?header, "tx frame");
            }
            out.put_frame_shared(&header, payload);
        }
    }

    fn check_open(&self) -> Result<(), SendError> {
        if self.close_sent {
            Err(SendError::Closing)
        } else {
            Ok(())
        }
    }

    /// Sends a whole message, fragmented by `auto_fragment_size` and compressed when
    /// permessage-deflate is on.
    #[inline]
    pub fn send_message(
        &mut self,
        out: &mut Outgoing,
        payload: Bytes,
        is_binary: bool,
    ) -> Result<(), SendError> {
        self.send_message_with(out, payload, is_binary, false)
    }

    /// [`Self::send_message`]; `do_not_compress` sends this one message uncompressed even
    /// when permessage-deflate is on (Autobahn's `doNotCompress`: data that is already
    /// compressed, or must not share a compression context with secrets).
    #[inline]
    pub fn send_message_with(
        &mut self,
        out: &mut Outgoing,
        payload: Bytes,
        is_binary: bool,
        do_not_compress: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        #[cfg(not(feature = "deflate"))]
        let _ = do_not_compress; // nothing is compressed without the feature
        if self.message.is_some() {
            return Err(SendError::MessageInProgress);
        }
        let opcode = opcode_of(is_binary);
        #[cfg(feature = "deflate")]
        if !do_not_compress && self.deflater.is_some() && payload.len() >= self.compress_threshold {
            return self.send_compressed(out, &payload, opcode);
        }
        let frag = self.config.auto_fragment_size;
        if frag == 0 || payload.len() <= frag {
            let h = self.header(true, false, opcode, payload.len());
            self.put_shared(out, h, payload);
        } else {
            self.put_fragments(out, opcode, false, &payload);
        }
        Ok(())
    }

    /// Compresses a whole message and queues its frames (out of line: the uncompressed
    /// path above stays small enough to inline).
    #[cfg(feature = "deflate")]
    fn send_compressed(
        &mut self,
        out: &mut Outgoing,
        payload: &[u8],
        opcode: OpCode,
    ) -> Result<(), SendError> {
        let mut compressed = std::mem::take(&mut self.scratch);
        compressed.clear();
        if let Some(d) = self.deflater.as_mut() {
            d.compress_message(payload, &mut compressed)
                .map_err(|_| SendError::Compression)?;
        }
        self.put_fragments(out, opcode, true, &compressed);
        self.scratch = compressed;
        if self.scratch.capacity() > 64 * 1024 {
            self.scratch = Vec::new();
        }
        Ok(())
    }

    /// Sends a [`PreparedMessage`]: the same frames [`Self::send_message`] would send,
    /// reusing what the message holds already encoded (its payload, shared; its compressed
    /// form when our direction has no context takeover, compressed here only for the first
    /// connection with these compressor settings).
    pub fn send_prepared(
        &mut self,
        out: &mut Outgoing,
        message: &PreparedMessage,
    ) -> Result<(), SendError> {
        self.check_open()?;
        if self.message.is_some() {
            return Err(SendError::MessageInProgress);
        }
        let opcode = opcode_of(message.is_binary());
        #[cfg(feature = "deflate")]
        if let Some(d) = self.deflater.as_mut() {
            if message.payload().len() >= self.compress_threshold {
                let Some(setting) = d.shared_compression() else {
                    // Context takeover: the output depends on this connection's history.
                    message.count_compression();
                    return self.send_message(out, message.payload().clone(), message.is_binary());
                };
                let as_frame = |len| shares_whole_frames(&self.config, len);
                let compress =
                    |payload: &[u8], into: &mut Vec<u8>| d.compress_message(payload, into);
                let compressed = message
                    .compressed(setting, as_frame, compress, out)
                    .map_err(|_| SendError::Compression)?;
                match compressed {
                    CompressedPayload::Queued(len) => self.log_frame(true, opcode, len),
                    CompressedPayload::Payload(p) => {
                        self.put_fragments_shared(out, opcode, true, p)
                    }
                }
                return Ok(());
            }
        }
        if shares_whole_frames(&self.config, message.payload().len()) {
            self.log_frame(false, opcode, message.payload().len());
            out.put_encoded_shared(message.frame());
            return Ok(());
        }
        self.send_message_with(out, message.payload().clone(), message.is_binary(), true)
    }

    /// Traces a whole unmasked frame queued already encoded (a prepared message's).
    fn log_frame(&self, rsv1: bool, opcode: OpCode, len: usize) {
        if self.config.log_frames {
            let header = self.header(true, rsv1, opcode, len);
            tracing::trace!(?header, "tx frame");
        }
    }

    /// [`Self::put_fragments`] of a shared payload: unmasked frames queue slices of it
    /// instead of copies.
    #[cfg(feature = "deflate")]
    fn put_fragments_shared(&self, out: &mut Outgoing, opcode: OpCode, rsv1: bool, payload: Bytes) {
        let frag = self.config.auto_fragment_size;
        if frag == 0 || payload.len() <= frag {
            let h = self.header(true, rsv1, opcode, payload.len());
            self.put_shared(out, h, payload);
            return;
        }
        let mut start = 0;
        while start < payload.len() {
            let end = (start + frag).min(payload.len());
            let first = start == 0;
            let op = if first { opcode } else { OpCode::Continuation };
            let h = self.header(end == payload.len(), rsv1 && first, op, end - start);
            self.put_shared(out, h, payload.slice(start..end));
            start = end;
        }
    }

    fn put_fragments(&self, out: &mut Outgoing, opcode: OpCode, rsv1: bool, payload: &[u8]) {
        let frag = match self.config.auto_fragment_size {
            0 => payload.len().max(1),
            n => n,
        };
        let mut chunks = payload.chunks(frag).peekable();
        if chunks.peek().is_none() {
            let h = self.header(true, rsv1, opcode, 0);
            self.put(out, h, &[]);
            return;
        }
        let mut first = true;
        while let Some(chunk) = chunks.next() {
            let fin = chunks.peek().is_none();
            let op = if first { opcode } else { OpCode::Continuation };
            let h = self.header(fin, rsv1 && first, op, chunk.len());
            self.put(out, h, chunk);
            first = false;
        }
    }

    /// Sends a ping (payload at most 125 bytes).
    pub fn send_ping(&mut self, out: &mut Outgoing, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(out, OpCode::Ping, payload)
    }

    /// Sends a pong (payload at most 125 bytes).
    pub fn send_pong(&mut self, out: &mut Outgoing, payload: &[u8]) -> Result<(), SendError> {
        self.send_control(out, OpCode::Pong, payload)
    }

    fn send_control(
        &mut self,
        out: &mut Outgoing,
        op: OpCode,
        payload: &[u8],
    ) -> Result<(), SendError> {
        self.check_open()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlPayloadTooLarge(payload.len()));
        }
        if self.frame_open() {
            // A frame begun with begin_message_frame is still open on the wire.
            if op == OpCode::Pong {
                // RFC 6455 §5.5.3: answering only the latest ping is enough, and keeps
                // a ping flood during a long frame from growing this queue.
                self.deferred.retain(|(o, _)| *o != OpCode::Pong);
            }
            self.deferred.push((op, payload.to_vec()));
            return Ok(());
        }
        let h = self.header(true, false, op, payload.len());
        self.put(out, h, payload);
        Ok(())
    }

    /// Sends a close frame. `code` must be 1000 or 3000–4999 for applications (any code
    /// valid on the wire is accepted here, so the protocol can send 1002 etc.); a reason
    /// requires a code and is truncated to 123 bytes at a character boundary.
    pub fn send_close(
        &mut self,
        out: &mut Outgoing,
        code: Option<u16>,
        reason: Option<&str>,
    ) -> Result<(), SendError> {
        self.check_open()?;
        let mut payload = Vec::with_capacity(2 + 123);
        match code {
            Some(c) if close_code::is_sendable(c) => {
                payload.extend_from_slice(&c.to_be_bytes());
                if let Some(r) = reason {
                    payload.extend_from_slice(truncate_utf8(r, 123).as_bytes());
                }
            }
            Some(c) => return Err(SendError::InvalidCloseCode(c)),
            None if reason.is_some() => return Err(SendError::ReasonWithoutCode),
            None => {}
        }
        self.close_sent = true;
        if self.frame_open() {
            self.deferred.push((OpCode::Close, payload));
            return Ok(());
        }
        let h = self.header(true, false, OpCode::Close, payload.len());
        self.put(out, h, &payload);
        Ok(())
    }

    fn frame_open(&self) -> bool {
        self.message.as_ref().is_some_and(|m| m.frame.is_some())
    }

    fn flush_deferred(&mut self, out: &mut Outgoing) {
        for (op, payload) in std::mem::take(&mut self.deferred) {
            let h = self.header(true, false, op, payload.len());
            self.put(out, h, &payload);
        }
    }

    /// Begins a message to be sent frame by frame (Autobahn's `beginMessage`).
    /// With `do_not_compress`, a deflate connection sends this one uncompressed.
    pub fn begin_message(
        &mut self,
        is_binary: bool,
        do_not_compress: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        #[cfg(not(feature = "deflate"))]
        let _ = do_not_compress; // nothing is compressed without the feature
        if self.message.is_some() {
            return Err(SendError::MessageInProgress);
        }
        #[cfg(feature = "deflate")]
        let compressed = self.deflater.is_some() && !do_not_compress;
        #[cfg(not(feature = "deflate"))]
        let compressed = {
            let _ = do_not_compress;
            false
        };
        self.message = Some(OutMessage {
            opcode: if is_binary {
                OpCode::Binary
            } else {
                OpCode::Text
            },
            compressed,
            frame: None,
        });
        Ok(())
    }

    /// Sends one whole frame of the current message (Autobahn's `sendMessageFrame`).
    pub fn send_message_frame(
        &mut self,
        out: &mut Outgoing,
        payload: &[u8],
    ) -> Result<(), SendError> {
        self.message_frame(out, payload, false)
    }

    fn message_frame(
        &mut self,
        out: &mut Outgoing,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_open()?;
        let Some(msg) = self.message.as_mut() else {
            return Err(SendError::NoMessage);
        };
        if msg.frame.is_some() {
            return Err(SendError::FrameInProgress);
        }
        let opcode = msg.opcode;
        msg.opcode = OpCode::Continuation;
        let rsv1 = msg.compressed && opcode != OpCode::Continuation;
        #[cfg(feature = "deflate")]
        if msg.compressed {
            let mut compressed = std::mem::take(&mut self.scratch);
            compressed.clear();
            if let Some(d) = self.deflater.as_mut() {
                d.compress_chunk(payload, fin, &mut compressed)
                    .map_err(|_| SendError::Compression)?;
            }
            let h = self.header(fin, rsv1, opcode, compressed.len());
            self.put(out, h, &compressed);
            self.scratch = compressed;
            return Ok(());
        }
        let h = self.header(fin, rsv1, opcode, payload.len());
        self.put(out, h, payload);
        Ok(())
    }

    /// Begins a frame of known length in the current message, whose payload follows in
    /// pieces via [`Sender::send_message_frame_data`] (Autobahn's `beginMessageFrame`).
    /// Not available for compressed messages (their frame length is not known upfront).
    pub fn begin_message_frame(
        &mut self,
        out: &mut Outgoing,
        length: u64,
    ) -> Result<(), SendError> {
        self.check_open()?;
        let mask = self.mask_key();
        let log = self.config.log_frames;
        let Some(msg) = self.message.as_mut() else {
            return Err(SendError::NoMessage);
        };
        if msg.frame.is_some() {
            return Err(SendError::FrameInProgress);
        }
        if msg.compressed {
            return Err(SendError::CompressedFrameStreaming);
        }
        let h = FrameHeader {
            fin: false,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: msg.opcode,
            mask,
            payload_len: length,
        };
        if log {
            tracing::trace!(?h, "tx frame");
        }
        msg.opcode = OpCode::Continuation;
        out.put_frame(&h, &[], false);
        if length > 0 {
            msg.frame = Some(OpenFrame {
                remaining: length,
                mask,
                offset: 0,
            });
        }
        Ok(())
    }

    /// Sends payload of the frame begun with [`Sender::begin_message_frame`]; returns how
    /// many bytes of that frame remain. Data beyond the frame's length is an error.
    pub fn send_message_frame_data(
        &mut self,
        out: &mut Outgoing,
        data: &[u8],
    ) -> Result<u64, SendError> {
        let apply = self.config.apply_mask;
        let Some(frame) = self.message.as_mut().and_then(|m| m.frame.as_mut()) else {
            return Err(SendError::NoFrame);
        };
        if data.len() as u64 > frame.remaining {
            return Err(SendError::FrameOverrun);
        }
        out.put_raw(data);
        if let (Some(key), true) = (frame.mask, apply) {
            out.mask_tail(data.len(), key, frame.offset);
        }
        frame.offset += data.len();
        frame.remaining -= data.len() as u64;
        let remaining = frame.remaining;
        if remaining == 0 {
            if let Some(m) = self.message.as_mut() {
                m.frame = None;
            }
            self.flush_deferred(out);
        }
        Ok(remaining)
    }

    /// Ends the current message with an empty final frame (Autobahn's `endMessage`).
    pub fn end_message(&mut self, out: &mut Outgoing) -> Result<(), SendError> {
        self.message_frame(out, &[], true)?;
        self.message = None;
        Ok(())
    }

    /// The role this sender encodes for.
    pub fn role(&self) -> Role {
        self.config.role
    }
}

/// Whether a prepared message's payload of `len` bytes goes out as one frame encoded once
/// for every connection: unmasked (server side) and unfragmented. From 16 KiB on, the
/// payload is shared anyway, its header apart, and no copy is made to encode it.
fn shares_whole_frames(config: &ProtocolConfig, len: usize) -> bool {
    let fragment = config.auto_fragment_size;
    !config.mask_outgoing && (fragment == 0 || len <= fragment) && len < ZERO_COPY_THRESHOLD
}

/// The opcode of a data message.
fn opcode_of(is_binary: bool) -> OpCode {
    if is_binary {
        OpCode::Binary
    } else {
        OpCode::Text
    }
}

/// Truncates `s` to at most `max` bytes at a character boundary.
pub(crate) fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
