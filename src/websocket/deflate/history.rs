//! The sliding window of one direction of a permessage-deflate codec, kept apart from zlib so
//! that an idle codec can free its zlib state and still restore the context later.
//!
//! With context takeover (RFC 7692 §7.2.3.2), the next message of a direction may refer to
//! the last `2^window_bits` bytes of the previous messages. That window is all a compressor
//! or a decompressor carries from one message to the next (both are at a block boundary once
//! a message ends), so zlib's `*SetDictionary` with it restores an equivalent state. zlib
//! does not hand its window out, so [`History`] records it as the data goes by, in a ring of
//! the window's size: one copy of each message (at most its last window), which costs far
//! less than compressing or inflating it (a memcpy against zlib's work per byte).
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
    /// The last (up to) `window` bytes, as a ring once full: the oldest byte is at `head`.
    /// Recording a message is one copy of it (at most its last `window` bytes), nothing
    /// moves, and the ring never holds more than the window.
    ring: Vec<u8>,
    /// Where the next byte goes once `ring` is full (then also the oldest byte).
    head: usize,
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
        let mut data = &data[data.len().saturating_sub(self.window)..];
        if self.ring.len() < self.window {
            // Still filling up (not wrapped yet): append what fits, growing geometrically.
            let fit = (self.window - self.ring.len()).min(data.len());
            let needed = self.ring.len() + fit;
            if needed > self.ring.capacity() {
                let target = needed.max(self.ring.capacity() * 2).min(self.window);
                self.ring.reserve_exact(target - self.ring.len());
            }
            self.ring.extend_from_slice(&data[..fit]);
            data = &data[fit..];
        }
        while !data.is_empty() {
            let n = (self.window - self.head).min(data.len());
            self.ring[self.head..self.head + n].copy_from_slice(&data[..n]);
            self.head = (self.head + n) % self.window;
            data = &data[n..];
        }
    }

    /// Forgets everything (the zlib state was reset).
    pub(crate) fn clear(&mut self) {
        self.ring = Vec::new();
        self.head = 0;
        self.packed = None;
    }

    /// The window in order, oldest byte first: the last (up to) `2^window_bits` bytes
    /// recorded. Empty while packed. Unrolls the ring (only at park and wake-up).
    pub(crate) fn window(&mut self) -> &[u8] {
        self.ring.rotate_left(self.head);
        self.head = 0;
        &self.ring
    }

    /// Parks the window: keeps only its bytes, deflated if that makes them smaller.
    pub(crate) fn park(&mut self) {
        if self.packed.is_some() || self.ring.is_empty() {
            return;
        }
        let window = self.window();
        if window.len() > PACK_MIN {
            if let Some(packed) = pack(window) {
                self.packed = Some((packed, window.len()));
                self.ring = Vec::new();
                return;
            }
        }
        self.ring.shrink_to_fit();
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
                    self.ring = window;
                    self.head = 0;
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
        self.ring.capacity() + self.packed.as_ref().map_or(0, |(p, _)| p.len())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The window always equals the last `2^bits` bytes of everything recorded, whatever
    /// the sizes of the pieces (the ring wraps at every offset).
    #[test]
    fn the_window_is_the_tail_of_everything_recorded() {
        for bits in [8u8, 9, 15] {
            let window = 1usize << bits;
            let mut history = History::new(Some(bits));
            let mut all = Vec::new();
            let mut next = 0u8;
            for (i, size) in [1, 7, 0, 255, 256, 257, 3 * window + 5, 13, window - 1, 2]
                .into_iter()
                .cycle()
                .take(40)
                .enumerate()
            {
                let piece: Vec<u8> = (0..size)
                    .map(|_| {
                        next = next.wrapping_mul(31).wrapping_add(7);
                        next
                    })
                    .collect();
                history.record(&piece);
                all.extend_from_slice(&piece);
                let tail = &all[all.len().saturating_sub(window)..];
                assert_eq!(history.window(), tail, "bits {bits}, after piece {i}");
                assert!(history.heap_bytes() <= window, "never more than the window");
            }
        }
    }

    #[test]
    fn a_parked_window_comes_back_unchanged() {
        let mut history = History::new(Some(15));
        let text: Vec<u8> = br#"{"id":1,"name":"autobahn","tags":["ws","wamp"]}"#
            .iter()
            .copied()
            .cycle()
            .take(50_000)
            .collect();
        history.record(&text);
        let expected = text[text.len() - (1 << 15)..].to_vec();
        history.park();
        assert!(history.is_packed(), "JSON-like text packs smaller");
        assert!(history.heap_bytes() < expected.len() / 2);
        assert_eq!(history.restore(None).unwrap(), &expected[..]);
        history.record(b"more");
        assert_eq!(history.window().len(), 1 << 15);
        assert!(history.window().ends_with(b"more"));
    }
}
