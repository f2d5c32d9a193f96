//! A reference permessage-deflate receiver built on zlib-rs directly: it inflates
//! with exactly the window the sender declared, so a sender that used a larger
//! window than agreed fails here.

use zlib_rs::{Inflate, InflateFlush, Status};

/// The `00 00 ff ff` tail a receiver appends to each message (RFC 7692 §7.2.2).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// A peer's inflater with a window of `2^window_bits` bytes (8..=15); kept across
/// messages, which is valid whether or not the sender takes over its context.
pub struct PeerInflater(Inflate);

impl PeerInflater {
    /// A raw-DEFLATE inflater with the given window.
    pub fn new(window_bits: u8) -> Self {
        Self(Inflate::new(false, window_bits))
    }

    /// Inflates one message's wire payload (the tail appended); `None` if it is not
    /// valid DEFLATE for this window or inflates to more than `max` bytes.
    pub fn message(&mut self, payload: &[u8], max: usize) -> Option<Vec<u8>> {
        let mut input = [payload, &TAIL[..]].concat();
        let mut out = Vec::new();
        let mut rest: &[u8] = &input;
        loop {
            let len = out.len();
            if len > max {
                return None;
            }
            out.resize(len + 4096, 0);
            let (i0, o0) = (self.0.total_in(), self.0.total_out());
            let status = self
                .0
                .decompress(rest, &mut out[len..], InflateFlush::NoFlush);
            let consumed = usize::try_from(self.0.total_in() - i0).ok()?;
            let produced = usize::try_from(self.0.total_out() - o0).ok()?;
            out.truncate(len + produced);
            rest = &rest[consumed..];
            match status {
                Err(_) | Ok(Status::StreamEnd) => return None,
                Ok(_) if rest.is_empty() && produced < 4096 => break,
                Ok(_) if consumed == 0 && produced == 0 => return None,
                Ok(_) => {}
            }
        }
        input.clear();
        (out.len() <= max).then_some(out)
    }
}
