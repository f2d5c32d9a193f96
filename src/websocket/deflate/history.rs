//! The sliding window of one direction of a permessage-deflate codec, kept apart from zlib so
//! that an idle codec can free its zlib state and still restore the context later.
//!
//! With context takeover (RFC 7692 §7.2.3.2), the next message of a direction may refer to
//! the last `2^window_bits` bytes of the previous messages. That window is all a compressor
//! or a decompressor carries from one message to the next (both are at a block boundary once
//! a message ends), so zlib's `*SetDictionary` with it restores an equivalent state. zlib
//! does not hand its window out, so [`History`] records it as the data goes by: a copy of at
//! most the last window of each message, which costs far less than compressing or inflating
//! the message (a memcpy against zlib's work per byte).
//!
//! While parked, the window is deflated (raw DEFLATE, a throwaway compressor): JSON-like text
//! shrinks to ~20 %, so a full 32 KiB window costs ~6 KiB instead of 32.

use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Status};

use super::MAX_WINDOW_BITS;

/// Windows up to this size are parked as they are: deflating them would save too little.
const PACK_MIN: usize = 256;
/// Level of the throwaway compressor that packs a parked window; it runs once per idle
/// period, not per message. Two full 32 KiB windows of JSON-like text (the codec tests) pack
/// to 18.8 KiB at level 1 (zlib-rs' quick strategy), 15.5 at 2, 12.4 at 4, 11.5 at 6; a
/// park and wake-up of a compressor with a full window costs ~110, ~290, ~290 and ~500 µs
/// (`cargo bench --bench codec -- deflate_park`, a loaded 2-core machine). Level 4 keeps
/// full windows within 16 KiB at about half the cost of 6.
const PACK_LEVEL: i32 = 4;
/// Its memLevel: the smallest, as it lives only for one call.
const PACK_MEM_LEVEL: i32 = 1;

/// Why a parked window could not be restored (does not happen unless memory is corrupted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("parked deflate history could not be restored: {0}")]
pub(crate) struct RestoreError(&'static str);

/// The window of one direction while it keeps context: the recent data, or, while parked,
/// that window deflated.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// `2^window_bits`; 0 when the direction keeps no context (nothing is recorded).
    window: usize,
    /// Recent data; only its last `window` bytes count. It grows to at most twice the window
    /// before the older part is dropped, so each byte is moved about once.
    recent: Vec<u8>,
    /// Parked and deflated: the window as raw DEFLATE, and its length inflated.
    packed: Option<(Box<[u8]>, usize)>,
}

impl History {
    /// The history of a direction with `window_bits` (8..=15) that keeps context, or none.
    pub(crate) fn new(window_bits: Option<u8>) -> Self {
        Self {
            window: window_bits.map_or(0, |bits| 1 << bits.min(MAX_WINDOW_BITS)),
            ..Self::default()
        }
    }

    /// Appends data that went through the direction's zlib state. Call only while live (not
    /// parked).
    pub(crate) fn record(&mut self, data: &[u8]) {
        if self.window == 0 || data.is_empty() {
            return;
        }
        debug_assert!(self.packed.is_none(), "record on a parked history");
        let data = &data[data.len().saturating_sub(self.window)..];
        let needed = self.recent.len() + data.len();
        if needed > 2 * self.window {
            // Keep what is still inside the window once `data` is appended.
            let keep = self.window - data.len();
            self.recent.drain(..self.recent.len() - keep);
        } else if needed > self.recent.capacity() {
            let target = needed.max(self.recent.capacity() * 2).min(2 * self.window);
            self.recent.reserve_exact(target - self.recent.len());
        }
        self.recent.extend_from_slice(data);
    }

    /// Forgets everything (the zlib state was reset).
    pub(crate) fn clear(&mut self) {
        self.recent = Vec::new();
        self.packed = None;
    }

    /// The window: the last (up to) `2^window_bits` bytes recorded. Empty while packed.
    pub(crate) fn window(&self) -> &[u8] {
        &self.recent[self.recent.len().saturating_sub(self.window)..]
    }

    /// Parks the window: keeps only its bytes, deflated if that makes them smaller.
    pub(crate) fn park(&mut self) {
        if self.packed.is_some() || self.recent.is_empty() {
            return;
        }
        let window = self.window();
        if window.len() > PACK_MIN {
            if let Some(packed) = pack(window) {
                self.packed = Some((packed, window.len()));
                self.recent = Vec::new();
                return;
            }
        }
        self.recent = window.to_vec();
    }

    /// Undoes [`park`](Self::park) and returns the window to hand to zlib's
    /// `set_dictionary` (empty if nothing was recorded). A packed window is inflated with
    /// `inflater` (a raw 15-bit decompressor, left reset) or a throwaway one.
    pub(crate) fn restore(
        &mut self,
        inflater: Option<&mut Inflate>,
    ) -> Result<&[u8], RestoreError> {
        if let Some((packed, len)) = self.packed.take() {
            let mut throwaway;
            let inflater = match inflater {
                Some(inflater) => inflater,
                None => {
                    throwaway = Inflate::new(false, MAX_WINDOW_BITS);
                    &mut throwaway
                }
            };
            // One byte of spare room: the end of the stream is seen without a full buffer.
            let mut window = vec![0; len + 1];
            let status = inflater.decompress(&packed, &mut window, InflateFlush::Finish);
            let produced = inflater.total_out();
            inflater.reset(false);
            match status {
                Ok(Status::StreamEnd) if produced == len as u64 => {
                    window.truncate(len);
                    self.recent = window;
                }
                Ok(_) => return Err(RestoreError("truncated")),
                Err(e) => return Err(RestoreError(e.as_str())),
            }
        }
        Ok(self.window())
    }

    /// Whether the window is parked deflated (tests).
    #[cfg(test)]
    pub(crate) fn is_packed(&self) -> bool {
        self.packed.is_some()
    }

    /// Heap bytes held (tests).
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.recent.capacity() + self.packed.as_ref().map_or(0, |(p, _)| p.len())
    }
}

/// Raw-deflates `window` in one go with a throwaway compressor; `None` if that does not make
/// it smaller.
fn pack(window: &[u8]) -> Option<Box<[u8]>> {
    let mut config = DeflateConfig::new(PACK_LEVEL);
    config.window_bits = -i32::from(MAX_WINDOW_BITS);
    config.mem_level = PACK_MEM_LEVEL;
    let mut compressor = Deflate::new_with_config(config);
    // Only worth it if smaller: output room is the input's size less one byte.
    let mut out = vec![0; window.len() - 1];
    match compressor.compress(window, &mut out, DeflateFlush::Finish) {
        Ok(Status::StreamEnd) => {
            out.truncate(usize::try_from(compressor.total_out()).ok()?);
            Some(out.into_boxed_slice())
        }
        _ => None,
    }
}
