//! The receiving half: bytes from the peer in, [`Event`]s out.

use bytes::{Buf, Bytes, BytesMut};

use super::{Event, ProtocolConfig, ProtocolViolation, Role};
use crate::websocket::frame::{close_code, FrameHeader, HeaderError, OpCode};
use crate::websocket::mask::apply_mask_at;
use crate::websocket::utf8::Utf8Validator;

mod inflate;
mod streaming;
use inflate::InflateBudget;

/// Bytes (besides 1/8 of the limit) by which a compressed message may exceed
/// `max_message_payload_size` on the wire; its inflated size is held to the limit.
const COMPRESSED_WIRE_SLACK: u64 = 1024;

/// A frame whose header has been decoded and whose payload is (partly) in the buffer.
#[derive(Debug)]
struct InFrame {
    header: FrameHeader,
    header_len: usize,
    /// Payload bytes already unmasked (and validated, for text).
    processed: usize,
    /// Payload bytes of a compressed message already handed to the inflater.
    inflated: usize,
    /// The inflater paused with output still pending (its output budget ran out).
    inflate_pending: bool,
    /// Handed out as it arrives (streaming mode): the header is gone from the buffer,
    /// which starts at payload offset `inflated` (see `streaming.rs`).
    streamed: bool,
}

/// A complete frame's (unmasked) payload: part of the receive buffer, or of the caller's
/// read when nothing was buffered.
enum Payload<'a> {
    Buffered(BytesMut),
    Borrowed(&'a [u8]),
}

impl Payload<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Payload::Buffered(b) => b,
            Payload::Borrowed(s) => s,
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            Payload::Buffered(b) => b.freeze(),
            Payload::Borrowed(s) => Bytes::copy_from_slice(s),
        }
    }
}

/// A data message spanning several frames, or a compressed one.
#[derive(Debug)]
struct InMessage {
    is_binary: bool,
    compressed: bool,
    /// Reassembled (and inflated) payload so far.
    buf: Vec<u8>,
    /// Bytes received on the wire for this message (before inflation).
    wire_len: u64,
    /// Handed out frame by frame as it arrives (streaming mode), not reassembled.
    streamed: bool,
    /// (Streamed) payload bytes handed out so far (inflated, if compressed).
    emitted: u64,
}

/// Decodes the peer's frames into events, enforcing RFC 6455 and the configured limits.
///
/// Payloads of single-frame messages are handed out as views into the read buffer
/// (no copy); fragmented messages are reassembled.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::protocol::{Event, ProtocolConfig, Receiver, Role};
/// use bytes::BytesMut;
///
/// let mut receiver = Receiver::new(ProtocolConfig::new(Role::Client));
/// let mut events = Vec::new();
/// // An unmasked server frame "Hel" (not final), then its continuation "lo".
/// let mut buf = BytesMut::from(&b"\x01\x03Hel\x80\x02lo"[..]);
/// receiver.receive(&mut buf, &mut events)?;
/// assert_eq!(events, [Event::Message { payload: "Hello".into(), is_binary: false }]);
/// assert!(buf.is_empty());
/// # Ok::<(), autobahn::websocket::protocol::ProtocolViolation>(())
/// ```
#[derive(Debug)]
pub struct Receiver {
    config: ProtocolConfig,
    frame: Option<InFrame>,
    message: Option<InMessage>,
    utf8: Utf8Validator,
    close_received: bool,
    /// Message bytes the caller will still take (see [`Receiver::set_message_budget`]).
    budget: usize,
    /// The budget ran out: decoding stops until the caller gives a new one.
    paused: bool,
    /// `receive` inflates a bounded amount per call (see `set_bounded_work`).
    bounded_work: bool,
    /// The last `receive` stopped at its work budget with buffered input left to decode.
    work_left: bool,
    /// Messages begun from now on are handed out as they arrive (see `set_streaming`).
    streaming: bool,
    #[cfg(feature = "deflate")]
    inflater: Option<Box<crate::websocket::deflate::PerMessageDeflate>>,
}

impl Receiver {
    /// A receiver for a freshly opened connection.
    pub fn new(config: ProtocolConfig) -> Self {
        Self {
            config,
            frame: None,
            message: None,
            utf8: Utf8Validator::new(),
            close_received: false,
            budget: usize::MAX,
            paused: false,
            bounded_work: false,
            work_left: false,
            streaming: false,
            #[cfg(feature = "deflate")]
            inflater: None,
        }
    }

    /// Enables permessage-deflate decompression (RSV1 becomes meaningful on data frames).
    #[cfg(feature = "deflate")]
    pub fn set_deflate(&mut self, codec: crate::websocket::deflate::PerMessageDeflate) {
        self.inflater = Some(Box::new(codec));
    }

    /// Bytes the permessage-deflate codec has inflated so far (tests of fail-fast).
    #[cfg(all(test, feature = "deflate"))]
    pub(crate) fn inflated_total(&self) -> u64 {
        self.inflater.as_ref().map_or(0, |c| c.inflated_total())
    }

    /// Whether every text message this receiver hands out ([`Event::Message`] with
    /// `is_binary` false, and the [`Event::FrameData`] of a text message ending with
    /// [`Event::FrameEnd`] `last`) has been validated as UTF-8 (`utf8_validate_incoming`).
    /// The pull API builds its `Utf8Bytes` on this without validating again.
    pub(crate) fn validates_utf8(&self) -> bool {
        self.config.utf8_validate_incoming
    }

    /// True once a close frame was received; later bytes are ignored.
    pub fn close_received(&self) -> bool {
        self.close_received
    }

    /// Lets decoding go on until messages totalling `bytes` of payload have been emitted
    /// (at least one message, even with a budget of 0), then pause: the rest of the input
    /// stays in the caller's buffer, undecoded, until the next call with a fresh budget.
    /// This is how a caller bounds in bytes what one read can queue, compressed or not.
    /// The default budget is unlimited.
    #[inline]
    pub fn set_message_budget(&mut self, bytes: usize) {
        self.budget = bytes;
        self.paused = false;
    }

    /// Streaming mode: data messages begun from now on are handed out as they arrive, per
    /// frame as [`Event::FrameBegin`] (`first` for the frame that begins the message),
    /// [`Event::FrameData`] pieces (each what one read brought, unmasked, inflated chunk by
    /// chunk, text validated so far) and [`Event::FrameEnd`] (`last` when the message is
    /// complete), instead of one [`Event::Message`] once reassembled. Nothing is reassembled, so memory does not grow
    /// with the message; `max_frame_payload_size` and `max_message_payload_size` still
    /// apply (0: no limit). Off by default; a message already begun keeps its mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::protocol::{Event, ProtocolConfig, Receiver, Role};
    /// use bytes::BytesMut;
    ///
    /// let mut receiver = Receiver::new(ProtocolConfig::new(Role::Client));
    /// receiver.set_streaming(true);
    /// let mut events = Vec::new();
    /// // A text frame of 5 bytes of which 3 have arrived.
    /// let mut buf = BytesMut::from(&b"\x81\x05Hel"[..]);
    /// receiver.receive(&mut buf, &mut events)?;
    /// buf.extend_from_slice(b"lo");
    /// receiver.receive(&mut buf, &mut events)?;
    /// assert_eq!(
    ///     events,
    ///     [
    ///         Event::FrameBegin { len: 5, first: true, is_binary: false },
    ///         Event::FrameData("Hel".into()),
    ///         Event::FrameData("lo".into()),
    ///         Event::FrameEnd { last: true },
    ///     ]
    /// );
    /// # Ok::<(), autobahn::websocket::protocol::ProtocolViolation>(())
    /// ```
    pub fn set_streaming(&mut self, on: bool) {
        self.streaming = on;
    }

    /// Makes [`has_work_left`](Self::has_work_left) true: the caller has buffered input
    /// it has not decoded yet (bytes read with the opening handshake).
    pub(crate) fn resume(&mut self) {
        self.work_left = true;
    }

    /// True if the last call stopped because the message budget ran out.
    #[inline]
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Bytes held for the message being reassembled (inflated, if compressed): its
    /// buffer's capacity, which is what it costs.
    #[inline]
    pub fn message_in_progress_len(&self) -> usize {
        self.message.as_ref().map_or(0, |m| m.buf.capacity())
    }

    /// True while a message (or a frame) has begun and is not complete yet: the
    /// connection task bounds how long that may last.
    #[inline]
    pub fn is_mid_message(&self) -> bool {
        self.message.is_some() || self.frame.is_some()
    }

    /// Counts an emitted message against the budget.
    fn spend(&mut self, len: usize) {
        self.budget = self.budget.saturating_sub(len);
        self.paused = self.budget == 0;
    }

    /// Bounds the work of each [`receive`](Self::receive) (and
    /// [`receive_read`](Self::receive_read)) call: at most 256 KiB of compressed input and
    /// 4 MiB of output inflated (a few ms), the rest left buffered; then
    /// [`has_work_left`](Self::has_work_left) tells the caller to call again. An async task
    /// yields between the calls, so one large frame does not block its runtime worker.
    /// Off by default: each call decodes everything it can.
    pub fn set_bounded_work(&mut self, bounded: bool) {
        self.bounded_work = bounded;
    }

    /// True when the last [`receive`](Self::receive) stopped at its work budget (see
    /// [`set_bounded_work`](Self::set_bounded_work)) with input still buffered: call it
    /// again, after yielding to other tasks, even if nothing new arrived.
    #[inline]
    pub fn has_work_left(&self) -> bool {
        self.work_left
    }

    /// How many more bytes the frame being received needs (0 if none is in progress),
    /// so the caller can size its next read.
    pub fn bytes_wanted(&self, buf: &BytesMut) -> usize {
        match &self.frame {
            Some(f) if f.streamed => streaming::bytes_wanted(f, buf),
            Some(f) => {
                let total = f.header_len as u64 + f.header.payload_len;
                total
                    .saturating_sub(buf.len() as u64)
                    .try_into()
                    .unwrap_or(usize::MAX)
            }
            None => 0,
        }
    }

    /// Consumes as many complete frames from `buf` as possible, pushing events.
    ///
    /// Compressed data is inflated as it arrives; with
    /// [`set_bounded_work`](Self::set_bounded_work), at most a bounded amount per call.
    ///
    /// On a violation, returns the close code and reason to fail the connection with;
    /// the receiver must not be used afterwards.
    pub fn receive(
        &mut self,
        buf: &mut BytesMut,
        events: &mut impl Extend<Event>,
    ) -> Result<(), ProtocolViolation> {
        self.work_left = false;
        let mut budget = InflateBudget::new(self.bounded_work);
        loop {
            if self.close_received {
                // RFC 6455 §5.5.1: nothing follows a close frame.
                buf.clear();
                return Ok(());
            }
            if self.paused {
                return Ok(());
            }
            if self.frame.is_none() {
                match FrameHeader::parse(buf) {
                    Ok(Some((header, header_len))) => {
                        self.check_header(&header)?;
                        if self.config.log_frames {
                            tracing::trace!(?header, "rx frame");
                        }
                        let streamed = self.streams(&header);
                        self.frame = Some(InFrame {
                            header,
                            header_len,
                            processed: 0,
                            inflated: 0,
                            inflate_pending: false,
                            streamed,
                        });
                        if streamed {
                            self.begin_streamed_frame(buf, events);
                        } else if header.rsv1 {
                            // A compressed message: inflated as its payload arrives.
                            self.start_message(&header);
                        }
                    }
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(header_violation(e)),
                }
            }
            let Some(frame) = self.frame.as_ref() else {
                return Ok(());
            };
            if frame.streamed {
                if self.stream_frame(buf, events, &mut budget)? {
                    continue;
                }
                return Ok(());
            }
            let (header, header_len, processed) = (frame.header, frame.header_len, frame.processed);
            let payload_len = header.payload_len as usize; // fits: checked in check_header
            let available = (buf.len() - header_len).min(payload_len);
            if available > processed {
                let range = header_len + processed..header_len + available;
                if let (Some(key), true) = (header.mask, self.config.apply_mask) {
                    apply_mask_at(&mut buf[range.clone()], key, processed);
                }
                // Fail fast on bad UTF-8 even before the frame is complete.
                let validate_now = self.config.utf8_validate_incoming
                    && !header.opcode.is_control()
                    && self.message_is_plain_text(header.opcode, header.rsv1);
                if validate_now && self.utf8.feed(&buf[range]).is_err() {
                    return Err(invalid_utf8());
                }
                if let Some(f) = self.frame.as_mut() {
                    f.processed = available;
                }
            }
            let compressed =
                !header.opcode.is_control() && self.message.as_ref().is_some_and(|m| m.compressed);
            if compressed && !self.inflate_arrived(buf, &mut budget)? {
                self.work_left = true;
                return Ok(());
            }
            if available < payload_len {
                return Ok(());
            }
            self.frame = None;
            buf.advance(header_len);
            if compressed {
                buf.advance(payload_len);
                self.end_data_frame(header.fin, events)?;
                continue;
            }
            let payload = buf.split_to(payload_len);
            self.on_frame(header, Payload::Buffered(payload), events)?;
        }
    }

    /// Decodes the complete frames at the start of `buf`, the bytes of one read with
    /// nothing buffered before them: unmasks in place and copies each payload out (one
    /// allocation of exactly its size), so the caller's read buffer can live on the stack.
    /// Returns how many bytes were consumed; the rest (the start of a frame) is for
    /// [`Receiver::receive`] once the caller has buffered it.
    ///
    /// Same checks and events as [`Receiver::receive`]; must not be called while a frame
    /// is in progress there.
    pub fn receive_slice(
        &mut self,
        buf: &mut [u8],
        events: &mut impl Extend<Event>,
    ) -> Result<usize, ProtocolViolation> {
        debug_assert!(self.frame.is_none());
        let mut pos = 0;
        while pos < buf.len() {
            if self.close_received {
                // RFC 6455 §5.5.1: nothing follows a close frame.
                return Ok(buf.len());
            }
            if self.paused {
                break;
            }
            let (header, header_len) = match FrameHeader::parse(&buf[pos..]) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => return Err(header_violation(e)),
            };
            // An incomplete frame is checked (before anything is allocated for it) when
            // `receive` parses it again.
            let available = (buf.len() - pos - header_len) as u64;
            if header.payload_len > available {
                break;
            }
            self.check_header(&header)?;
            if self.config.log_frames {
                tracing::trace!(?header, "rx frame");
            }
            let start = pos + header_len;
            let end = start + header.payload_len as usize; // fits: at most buf.len()
            let payload = &mut buf[start..end];
            if let (Some(key), true) = (header.mask, self.config.apply_mask) {
                apply_mask_at(payload, key, 0);
            }
            let validate = self.config.utf8_validate_incoming
                && !header.opcode.is_control()
                && self.message_is_plain_text(header.opcode, header.rsv1);
            if validate && self.utf8.feed(payload).is_err() {
                return Err(invalid_utf8());
            }
            pos = end;
            self.on_frame(header, Payload::Borrowed(payload), events)?;
        }
        Ok(pos)
    }

    /// Decodes the bytes of one read, as the connection task does with each: while
    /// nothing is buffered, complete frames are decoded in place from `fresh` (see
    /// [`Receiver::receive_slice`]) and only a trailing partial frame is copied to
    /// `buf`; otherwise `fresh` is appended to `buf` and decoded from there.
    pub fn receive_read(
        &mut self,
        buf: &mut BytesMut,
        fresh: &mut [u8],
        events: &mut impl Extend<Event>,
    ) -> Result<(), ProtocolViolation> {
        if buf.is_empty() && self.frame.is_none() && !self.streaming {
            let used = self.receive_slice(fresh, events)?;
            buf.extend_from_slice(&fresh[used..]);
        } else {
            buf.extend_from_slice(fresh);
        }
        // A streamed compressed frame may have all its input inflated and output still
        // pending: `receive` goes on with it even with nothing buffered.
        if buf.is_empty() && self.frame.is_none() {
            return Ok(());
        }
        self.receive(buf, events)
    }

    /// Whether data of a frame with this opcode is uncompressed text, validated as it
    /// arrives (compressed text is validated after inflating).
    fn message_is_plain_text(&self, opcode: OpCode, rsv1: bool) -> bool {
        match (&self.message, opcode) {
            (Some(m), OpCode::Continuation) => !m.is_binary && !m.compressed,
            (None, OpCode::Text) => !rsv1,
            _ => false,
        }
    }

    fn deflate_active(&self) -> bool {
        #[cfg(feature = "deflate")]
        {
            self.inflater.is_some()
        }
        #[cfg(not(feature = "deflate"))]
        {
            false
        }
    }

    fn check_header(&mut self, h: &FrameHeader) -> Result<(), ProtocolViolation> {
        if h.rsv2 || h.rsv3 {
            return Err(protocol_error("reserved bits set"));
        }
        if h.rsv1 && !(self.deflate_active() && matches!(h.opcode, OpCode::Text | OpCode::Binary)) {
            return Err(protocol_error("RSV1 set without a negotiated extension"));
        }
        match (h.mask.is_some(), self.config.role) {
            (false, Role::Server) if self.config.require_masked_incoming => {
                return Err(protocol_error("unmasked client frame"));
            }
            (true, Role::Client) if !self.config.accept_masked_incoming => {
                return Err(protocol_error("masked server frame"));
            }
            _ => {}
        }
        if h.opcode.is_control() {
            if !h.fin {
                return Err(protocol_error("fragmented control frame"));
            }
            if h.payload_len > 125 {
                return Err(protocol_error("control frame payload over 125 bytes"));
            }
            return Ok(());
        }
        let max_frame = self.config.max_frame_payload_size as u64;
        if max_frame != 0 && h.payload_len > max_frame {
            return Err(too_big("frame payload exceeds the limit"));
        }
        let (wire_so_far, compressed) = match (h.opcode, &self.message) {
            (OpCode::Continuation, None) => {
                return Err(protocol_error("continuation frame without a message"));
            }
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(protocol_error(
                    "new message while a fragmented one is in progress",
                ));
            }
            (OpCode::Continuation, Some(m)) => (m.wire_len, m.compressed),
            _ => (0, h.rsv1),
        };
        let max_msg = self.config.max_message_payload_size as u64;
        let mut limit = if max_msg == 0 {
            usize::MAX as u64
        } else {
            max_msg
        };
        if compressed {
            // Checked exactly on the inflated size; on the wire, DEFLATE may be a little
            // larger than its content (stored blocks, a sync flush per frame), so a
            // message within the limit must not fail here.
            limit = limit
                .saturating_add(limit / 8)
                .saturating_add(COMPRESSED_WIRE_SLACK);
        }
        if wire_so_far.saturating_add(h.payload_len) > limit {
            return Err(too_big("message payload exceeds the limit"));
        }
        if matches!(h.opcode, OpCode::Text | OpCode::Binary) {
            self.utf8.reset();
        }
        Ok(())
    }

    fn on_frame(
        &mut self,
        header: FrameHeader,
        payload: Payload<'_>,
        events: &mut impl Extend<Event>,
    ) -> Result<(), ProtocolViolation> {
        match header.opcode {
            OpCode::Ping => events.extend(Some(Event::Ping(payload.into_bytes()))),
            OpCode::Pong => events.extend(Some(Event::Pong(payload.into_bytes()))),
            OpCode::Close => {
                let (code, reason) = parse_close_payload(payload.as_slice())?;
                self.close_received = true;
                events.extend(Some(Event::Close { code, reason }));
            }
            OpCode::Text | OpCode::Binary if header.fin && !header.rsv1 => {
                let is_binary = header.opcode == OpCode::Binary;
                if !is_binary && self.config.utf8_validate_incoming && !self.utf8.is_complete() {
                    return Err(invalid_utf8());
                }
                let payload = payload.into_bytes();
                self.spend(payload.len());
                events.extend(Some(Event::Message { payload, is_binary }));
            }
            OpCode::Text | OpCode::Binary => {
                self.start_message(&header);
                self.on_data(header.fin, payload.as_slice(), events)?;
            }
            OpCode::Continuation => self.on_data(header.fin, payload.as_slice(), events)?,
        }
        Ok(())
    }

    /// A message of several frames, or a compressed one, begins with this frame.
    fn start_message(&mut self, header: &FrameHeader) {
        self.message = Some(InMessage {
            is_binary: header.opcode == OpCode::Binary,
            compressed: header.rsv1,
            buf: Vec::new(),
            wire_len: 0,
            streamed: false,
            emitted: 0,
        });
    }

    /// A whole frame of a fragmented or compressed message.
    fn on_data(
        &mut self,
        fin: bool,
        payload: &[u8],
        events: &mut impl Extend<Event>,
    ) -> Result<(), ProtocolViolation> {
        let limit = self.config.max_message_payload_size;
        let Some(msg) = self.message.as_mut() else {
            return Err(protocol_error("continuation frame without a message"));
        };
        if msg.compressed {
            // A frame decoded in place is at most one read: inflated whole.
            self.inflate(payload, usize::MAX)?;
        } else {
            msg.wire_len += payload.len() as u64;
            if limit != 0 && msg.buf.len() + payload.len() > limit {
                return Err(too_big("message payload exceeds the limit"));
            }
            msg.buf.extend_from_slice(payload);
        }
        self.end_data_frame(fin, events)
    }

    /// A data frame's payload has been taken in; the message is complete with `fin`.
    fn end_data_frame(
        &mut self,
        fin: bool,
        events: &mut impl Extend<Event>,
    ) -> Result<(), ProtocolViolation> {
        if !fin {
            return Ok(());
        }
        #[cfg(feature = "deflate")]
        self.finish_inflate()?;
        let Some(msg) = self.message.take() else {
            return Err(protocol_error("continuation frame without a message"));
        };
        let validate = self.config.utf8_validate_incoming && !msg.is_binary;
        if validate && !self.utf8.is_complete() {
            return Err(invalid_utf8());
        }
        self.spend(msg.buf.len());
        events.extend(Some(Event::Message {
            payload: Bytes::from(msg.buf),
            is_binary: msg.is_binary,
        }));
        Ok(())
    }
}

/// Decodes a close frame's payload: an optional code and an optional UTF-8 reason.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::protocol::parse_close_payload;
///
/// assert_eq!(parse_close_payload(b"")?, (None, None));
/// assert_eq!(parse_close_payload(b"\x03\xe8bye")?, (Some(1000), Some("bye".to_string())));
/// assert!(parse_close_payload(b"\x03\xed").is_err()); // 1005 may not be sent
/// # Ok::<(), autobahn::websocket::protocol::ProtocolViolation>(())
/// ```
pub fn parse_close_payload(
    payload: &[u8],
) -> Result<(Option<u16>, Option<String>), ProtocolViolation> {
    match payload {
        [] => Ok((None, None)),
        [_] => Err(protocol_error("close payload of one byte")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !close_code::is_sendable(code) {
                return Err(protocol_error("invalid close code"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| invalid_utf8())?;
            Ok((Some(code), (!reason.is_empty()).then(|| reason.to_string())))
        }
    }
}

fn header_violation(e: HeaderError) -> ProtocolViolation {
    ProtocolViolation {
        code: close_code::PROTOCOL_ERROR,
        reason: match e {
            HeaderError::ReservedOpcode(_) => "reserved opcode",
            HeaderError::LengthMsbSet => "payload length with the high bit set",
            HeaderError::NonMinimalLength => "payload length not minimally encoded",
        },
    }
}

fn protocol_error(reason: &'static str) -> ProtocolViolation {
    ProtocolViolation {
        code: close_code::PROTOCOL_ERROR,
        reason,
    }
}

fn too_big(reason: &'static str) -> ProtocolViolation {
    ProtocolViolation {
        code: close_code::MESSAGE_TOO_BIG,
        reason,
    }
}

fn invalid_utf8() -> ProtocolViolation {
    ProtocolViolation {
        code: close_code::INVALID_PAYLOAD,
        reason: "invalid UTF-8 in text",
    }
}
