//! Streaming mode of a [`Receiver`] (see [`Receiver::set_streaming`]): each data frame's
//! payload is handed out as it arrives instead of being reassembled.
//!
//! A streamed frame's header is taken off the buffer as soon as it is parsed, so the buffer
//! starts at the frame's payload offset `InFrame::inflated`: what arrived is unmasked,
//! validated and split off (or inflated, chunk by chunk) at once, and the buffer never holds
//! more than one read.

use bytes::{Buf, Bytes, BytesMut};

use super::inflate::InflateBudget;
use super::{invalid_utf8, too_big, InFrame, InMessage, Receiver};
use crate::websocket::frame::{FrameHeader, OpCode};
use crate::websocket::mask::apply_mask_at;
use crate::websocket::protocol::{Event, ProtocolViolation};

/// Largest read a streamed frame asks for: the buffer holds at most this much of it.
const STREAM_READ: usize = 256 * 1024;
/// Most inflated bytes in one [`Event::FrameData`] of a compressed message.
const STREAM_CHUNK: usize = 256 * 1024;

/// How many more bytes a streamed frame in progress wants from the next read.
pub(super) fn bytes_wanted(frame: &InFrame, buf: &BytesMut) -> usize {
    let rest = frame
        .header
        .payload_len
        .saturating_sub(frame.inflated as u64)
        .saturating_sub(buf.len() as u64);
    rest.min(STREAM_READ as u64) as usize
}

impl Receiver {
    /// Whether a frame with this (checked) header is streamed: data frames of a message
    /// begun in streaming mode.
    pub(super) fn streams(&self, header: &FrameHeader) -> bool {
        match header.opcode {
            OpCode::Text | OpCode::Binary => self.streaming,
            OpCode::Continuation => self.message.as_ref().is_some_and(|m| m.streamed),
            _ => false,
        }
    }

    /// A streamed frame's header was parsed: takes it off the buffer and announces the
    /// frame (and whether it begins a message).
    pub(super) fn begin_streamed_frame(
        &mut self,
        buf: &mut BytesMut,
        events: &mut impl Extend<Event>,
    ) {
        let Some(frame) = self.frame.as_mut() else {
            return;
        };
        buf.advance(frame.header_len);
        frame.header_len = 0;
        let header = frame.header;
        let first = header.opcode != OpCode::Continuation;
        if first {
            self.message = Some(InMessage {
                is_binary: header.opcode == OpCode::Binary,
                compressed: header.rsv1,
                buf: Vec::new(),
                wire_len: 0,
                streamed: true,
                emitted: 0,
            });
        }
        let Some(msg) = self.message.as_mut() else {
            return;
        };
        if !msg.compressed {
            // Checked against the limit with the header; counted now (compressed bytes
            // are counted as they are inflated).
            msg.wire_len += header.payload_len;
        }
        events.extend(Some(Event::FrameBegin {
            len: header.payload_len,
            first,
            is_binary: msg.is_binary,
        }));
    }

    /// Hands out what arrived of the streamed frame in progress. Returns true once the
    /// frame is complete (its end announced), false if it waits for
    /// input, for the work budget or for the caller to take what was handed out.
    pub(super) fn stream_frame(
        &mut self,
        buf: &mut BytesMut,
        events: &mut impl Extend<Event>,
        budget: &mut InflateBudget,
    ) -> Result<bool, ProtocolViolation> {
        let (Some(frame), Some(msg)) = (self.frame.as_mut(), self.message.as_ref()) else {
            return Ok(true);
        };
        let (header, compressed, is_binary) = (frame.header, msg.compressed, msg.is_binary);
        let arrived = (frame.inflated as u64 + buf.len() as u64).min(header.payload_len);
        let arrived = arrived as usize; // at most `inflated + buf.len()`
        if arrived > frame.processed {
            let new = frame.processed - frame.inflated..arrived - frame.inflated;
            if let (Some(key), true) = (header.mask, self.config.apply_mask) {
                apply_mask_at(&mut buf[new.clone()], key, frame.processed);
            }
            frame.processed = arrived;
            if !compressed {
                // Uncompressed: `new` starts at 0, everything before was handed out.
                let check_utf8 = self.config.utf8_validate_incoming && !is_binary;
                if check_utf8 && self.utf8.feed(&buf[new.clone()]).is_err() {
                    return Err(invalid_utf8());
                }
                frame.inflated = arrived;
                let piece = buf.split_to(new.end).freeze();
                self.hand_out(piece, events);
            }
        }
        if compressed && !self.inflate_streamed(buf, events, budget)? {
            self.work_left = true;
            return Ok(false);
        }
        let Some(frame) = self.frame.as_ref() else {
            return Ok(true);
        };
        if (frame.inflated as u64) < header.payload_len || frame.inflate_pending {
            return Ok(false);
        }
        self.frame = None;
        if header.fin && compressed {
            #[cfg(feature = "deflate")]
            self.finish_inflate()?;
            self.hand_out_inflated(events)?;
        }
        if header.fin {
            self.message = None;
            if self.config.utf8_validate_incoming && !is_binary && !self.utf8.is_complete() {
                return Err(invalid_utf8());
            }
        }
        events.extend(Some(Event::FrameEnd { last: header.fin }));
        Ok(true)
    }

    /// Inflates the unmasked input at the start of `buf` chunk by chunk, handing each
    /// chunk out. Returns false if it stopped early (work budget, or the caller must take
    /// what was handed out first) with input or output still pending.
    fn inflate_streamed(
        &mut self,
        buf: &mut BytesMut,
        events: &mut impl Extend<Event>,
        budget: &mut InflateBudget,
    ) -> Result<bool, ProtocolViolation> {
        loop {
            let Some(frame) = self.frame.as_ref() else {
                return Ok(true);
            };
            let input = frame.processed - frame.inflated;
            if input == 0 && !frame.inflate_pending {
                return Ok(true);
            }
            if self.paused || !budget.has_room() {
                return Ok(false);
            }
            let input = budget.take_input(input);
            let max_out = budget.output().min(STREAM_CHUNK);
            let (consumed, produced, done) = self.inflate(&buf[..input], max_out)?;
            buf.advance(consumed);
            budget.spend(consumed, produced);
            if let Some(frame) = self.frame.as_mut() {
                frame.inflated += consumed;
                frame.inflate_pending = !done;
            }
            self.hand_out_inflated(events)?;
        }
    }

    /// Hands out what the inflater produced for the streamed message, held to
    /// `max_message_payload_size` over the whole message.
    fn hand_out_inflated(
        &mut self,
        events: &mut impl Extend<Event>,
    ) -> Result<(), ProtocolViolation> {
        let limit = self.config.max_message_payload_size as u64;
        let Some(msg) = self.message.as_mut() else {
            return Ok(());
        };
        if msg.buf.is_empty() {
            return Ok(());
        }
        if limit != 0 && msg.emitted + msg.buf.len() as u64 > limit {
            return Err(too_big("inflated message exceeds the limit"));
        }
        let piece = Bytes::from(std::mem::take(&mut msg.buf));
        self.hand_out(piece, events);
        Ok(())
    }

    /// One piece of the streamed message's payload, counted against the message budget.
    fn hand_out(&mut self, piece: Bytes, events: &mut impl Extend<Event>) {
        if piece.is_empty() {
            return;
        }
        if let Some(msg) = self.message.as_mut() {
            msg.emitted += piece.len() as u64;
        }
        self.spend(piece.len());
        events.extend(Some(Event::FrameData(piece)));
    }
}
