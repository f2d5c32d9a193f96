//! The compressed messages of a [`Receiver`]: inflated as their payload arrives, a bounded
//! amount per call when the caller asks for it, and text validated as it is inflated.

use bytes::BytesMut;

use super::{protocol_error, Receiver};
use crate::websocket::protocol::ProtocolViolation;

/// Most compressed input one [`Receiver::receive`] call inflates: the costliest input per byte
/// (a run of empty final blocks, ~21 ns a byte) then takes ~5 ms.
const INFLATE_INPUT_PER_CALL: usize = 256 * 1024;
/// Most inflated output one [`Receiver::receive`] call produces (and validates): ~1–4 ms.
const INFLATE_OUTPUT_PER_CALL: usize = 4 << 20;

impl Receiver {
    /// Inflates the arrived (unmasked) payload of the compressed frame in progress, within
    /// `budget`. Returns false if the budget ran out first.
    pub(super) fn inflate_arrived(
        &mut self,
        buf: &BytesMut,
        budget: &mut InflateBudget,
    ) -> Result<bool, ProtocolViolation> {
        loop {
            let Some(frame) = self.frame.as_ref() else {
                return Ok(true);
            };
            if frame.inflated == frame.processed && !frame.inflate_pending {
                return Ok(true);
            }
            if budget.input == 0 || budget.output == 0 {
                return Ok(false);
            }
            let start = frame.header_len + frame.inflated;
            let end = frame.header_len
                + frame
                    .processed
                    .min(frame.inflated.saturating_add(budget.input));
            let (consumed, produced, done) = self.inflate(&buf[start..end], budget.output)?;
            budget.input -= consumed;
            budget.output = budget.output.saturating_sub(produced);
            if let Some(frame) = self.frame.as_mut() {
                frame.inflated += consumed;
                frame.inflate_pending = !done;
            }
        }
    }

    /// Ends the inflation of the compressed message in progress (if it is one).
    #[cfg(feature = "deflate")]
    pub(super) fn finish_inflate(&mut self) -> Result<(), ProtocolViolation> {
        let validate = self.config.utf8_validate_incoming;
        let Some(msg) = self.message.as_mut().filter(|m| m.compressed) else {
            return Ok(());
        };
        let limit = inflate_limit(self.config.max_message_payload_size, msg.emitted);
        let Some(inflater) = self.inflater.as_mut() else {
            return Err(protocol_error("compressed frame without deflate"));
        };
        let check_utf8 = validate && !msg.is_binary;
        let utf8 = &mut self.utf8;
        inflater
            .finish_capped(&mut msg.buf, limit, |piece| {
                !check_utf8 || utf8.feed(piece).is_ok()
            })
            .map_err(inflate_violation)
    }

    /// Inflates `input`, a piece of the compressed message in progress, into its buffer,
    /// stopping once about `max_out` bytes were produced. Text is validated step by step as
    /// it is inflated, so a bad byte stops the inflation there (fail fast, as for
    /// uncompressed text). Returns the input consumed, the output produced, and whether
    /// all of it is done (nothing pending).
    pub(super) fn inflate(
        &mut self,
        input: &[u8],
        max_out: usize,
    ) -> Result<(usize, usize, bool), ProtocolViolation> {
        #[cfg(feature = "deflate")]
        {
            let validate = self.config.utf8_validate_incoming;
            let (Some(msg), Some(inflater)) = (self.message.as_mut(), self.inflater.as_mut())
            else {
                return Err(protocol_error("compressed frame without deflate"));
            };
            let limit = inflate_limit(self.config.max_message_payload_size, msg.emitted);
            let check_utf8 = validate && !msg.is_binary;
            let utf8 = &mut self.utf8;
            let before = msg.buf.len();
            let progress = inflater
                .inflate_capped(input, &mut msg.buf, limit, max_out, |piece| {
                    !check_utf8 || utf8.feed(piece).is_ok()
                })
                .map_err(inflate_violation)?;
            msg.wire_len += progress.consumed as u64;
            Ok((progress.consumed, msg.buf.len() - before, progress.done))
        }
        #[cfg(not(feature = "deflate"))]
        {
            let _ = (input, max_out);
            Err(protocol_error("compressed frame without deflate"))
        }
    }

    /// Parks the permessage-deflate decompressor if it inflated nothing since the last call
    /// (see [`PerMessageDeflate::park_if_idle`](crate::websocket::deflate::PerMessageDeflate::park_if_idle));
    /// returns whether zlib state is still held.
    pub(crate) fn park_deflate_if_idle(&mut self) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(d) = self.inflater.as_mut() {
            return d.park_if_idle();
        }
        false
    }

    /// Whether the permessage-deflate decompressor holds zlib state (to be parked when idle).
    pub(crate) fn deflate_awake(&self) -> bool {
        #[cfg(feature = "deflate")]
        if let Some(d) = self.inflater.as_ref() {
            return d.holds_zlib_state();
        }
        false
    }
}

/// Work left for one [`Receiver::receive`] call: compressed bytes to inflate, bytes to
/// produce.
pub(super) struct InflateBudget {
    input: usize,
    output: usize,
}

impl InflateBudget {
    /// Both input and output are left.
    pub(super) fn has_room(&self) -> bool {
        self.input > 0 && self.output > 0
    }

    /// How much of `available` input this budget lets one step take.
    pub(super) fn take_input(&self, available: usize) -> usize {
        available.min(self.input)
    }

    /// Output left.
    pub(super) fn output(&self) -> usize {
        self.output
    }

    /// Counts one step's input and output.
    pub(super) fn spend(&mut self, consumed: usize, produced: usize) {
        self.input = self.input.saturating_sub(consumed);
        self.output = self.output.saturating_sub(produced);
    }

    /// The budget of one call: bounded, or everything.
    pub(super) fn new(bounded: bool) -> Self {
        match bounded {
            true => Self {
                input: INFLATE_INPUT_PER_CALL,
                output: INFLATE_OUTPUT_PER_CALL,
            },
            false => Self {
                input: usize::MAX,
                output: usize::MAX,
            },
        }
    }
}

/// The inflater's output limit for a message: `max_message_payload_size` (0: none) less
/// what a streamed message already handed out. Exact, so a streamed message fails where a
/// reassembled one does: on the first byte past the limit.
#[cfg(feature = "deflate")]
fn inflate_limit(max: usize, emitted: u64) -> Option<usize> {
    match max {
        0 => None,
        max => Some((max as u64).saturating_sub(emitted) as usize),
    }
}

#[cfg(feature = "deflate")]
fn inflate_violation(e: crate::websocket::deflate::DeflateError) -> ProtocolViolation {
    use super::{invalid_utf8, too_big};
    use crate::websocket::deflate::DeflateError;
    match e {
        DeflateError::TooBig { .. } => too_big("inflated message exceeds the limit"),
        DeflateError::Rejected => invalid_utf8(),
        _ => protocol_error("invalid compressed data"),
    }
}
