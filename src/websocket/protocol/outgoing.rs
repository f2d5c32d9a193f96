//! The queue of encoded bytes waiting to be written to the stream.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes};

use crate::websocket::frame::FrameHeader;
use crate::websocket::mask::apply_mask;

/// Payloads at least this large are queued by reference instead of copied, so a large
/// unmasked message goes from the caller's `Bytes` to the socket without a copy
/// (vectored write of header + payload).
pub(crate) const ZERO_COPY_THRESHOLD: usize = 16 * 1024;

/// Whole frames encoded once for many queues (a prepared message's) at least this long are
/// queued by reference: below it, a copy into the tail costs less than a chunk of its own.
/// (`benches/fanout.rs`: a 346-byte frame cost the same either way; 1 KiB frames copied
/// into a tail that grew past `KEEP_TAIL`, to be freed after each write, cost about twice
/// the CPU per message of sharing them.)
const SHARED_FRAME_THRESHOLD: usize = 128;

/// Tail capacity kept when the queue empties; a larger buffer is freed (an idle
/// connection should not hold one).
const KEEP_TAIL: usize = 8 * 1024;

/// Encoded frames waiting to be written: small pieces are coalesced into one buffer,
/// large payloads are kept as their own chunks (after the tail is sealed into a chunk).
///
/// The tail is a plain `Vec` with a read cursor: written bytes only move the cursor, and
/// the `Vec` is cleared (keeping its allocation) when everything was written, so the
/// steady state appends into reused memory without reallocating or shifting.
#[derive(Debug, Default)]
pub struct Outgoing {
    chunks: VecDeque<Bytes>,
    tail: Vec<u8>,
    /// Bytes of `tail` already written.
    head: usize,
    len: usize,
}

impl Outgoing {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes waiting to be written.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing waits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a frame: its header and `payload`, masked with the header's key unless
    /// `apply_mask` is false (Autobahn's `applyMask` testing option).
    pub fn put_frame(&mut self, header: &FrameHeader, payload: &[u8], apply_mask_bytes: bool) {
        let (bytes, n) = header.to_bytes();
        self.tail.reserve(n + payload.len());
        self.tail.extend_from_slice(&bytes[..n]);
        let start = self.tail.len();
        self.tail.extend_from_slice(payload);
        if let (Some(key), true) = (header.mask, apply_mask_bytes) {
            apply_mask(&mut self.tail[start..], key);
        }
        self.len += n + payload.len();
    }

    /// Appends an unmasked frame whose payload is shared, not copied, when large.
    pub fn put_frame_shared(&mut self, header: &FrameHeader, payload: Bytes) {
        debug_assert!(header.mask.is_none());
        if payload.len() < ZERO_COPY_THRESHOLD {
            self.put_frame(header, &payload, false);
            return;
        }
        let (bytes, n) = header.to_bytes();
        self.tail.extend_from_slice(&bytes[..n]);
        self.len += n + payload.len();
        self.seal_tail();
        self.chunks.push_back(payload);
    }

    /// Appends a whole encoded frame shared with other queues (a prepared message's):
    /// by reference when long enough, so fanning it out copies nothing, else copied.
    pub fn put_encoded_shared(&mut self, frame: &Bytes) {
        if frame.len() < SHARED_FRAME_THRESHOLD {
            return self.put_raw(frame);
        }
        self.len += frame.len();
        self.seal_tail();
        self.chunks.push_back(frame.clone());
    }

    /// Appends raw bytes (e.g. a handshake).
    pub fn put_raw(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        self.len += data.len();
    }

    /// Masks the last `n` bytes appended, as payload starting at `offset`.
    pub fn mask_tail(&mut self, n: usize, key: [u8; 4], offset: usize) {
        let len = self.tail.len();
        crate::websocket::mask::apply_mask_at(&mut self.tail[len - n..], key, offset);
    }

    /// Moves the unwritten tail bytes into a chunk of their own (before a shared payload).
    fn seal_tail(&mut self) {
        if self.head < self.tail.len() {
            let mut sealed = Bytes::from(std::mem::take(&mut self.tail));
            sealed.advance(self.head);
            self.chunks.push_back(sealed);
        } else {
            self.tail.clear();
        }
        self.head = 0;
    }

    /// The unwritten part of the tail.
    #[inline]
    fn tail_bytes(&self) -> &[u8] {
        &self.tail[self.head..]
    }

    /// Fills `dst` with the waiting bytes in order; returns how many slices were used.
    pub fn as_io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for c in self
            .chunks
            .iter()
            .map(|c| &c[..])
            .chain(std::iter::once(self.tail_bytes()))
        {
            if n == dst.len() {
                break;
            }
            if !c.is_empty() {
                dst[n] = IoSlice::new(c);
                n += 1;
            }
        }
        n
    }

    /// True if the waiting bytes are one contiguous piece ([`Outgoing::first_chunk`]).
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.chunks.is_empty()
    }

    /// The first contiguous piece of waiting bytes.
    #[inline]
    pub fn first_chunk(&self) -> &[u8] {
        if self.chunks.is_empty() {
            return self.tail_bytes();
        }
        self.chunks
            .iter()
            .find(|c| !c.is_empty())
            .map(|c| &c[..])
            .unwrap_or(self.tail_bytes())
    }

    /// Drops `n` written bytes from the front.
    #[inline]
    pub fn advance(&mut self, n: usize) {
        if n >= self.len {
            // All written (the common case): nothing to walk.
            self.chunks.clear();
            self.len = 0;
            self.tail.clear();
            self.head = 0;
            self.shrink_if_idle();
            return;
        }
        self.advance_part(n);
    }

    /// [`Self::advance`] by less than everything: walks the chunks.
    fn advance_part(&mut self, mut n: usize) {
        self.len -= n.min(self.len);
        while n > 0 {
            match self.chunks.front_mut() {
                Some(c) if c.len() <= n => {
                    n -= c.len();
                    self.chunks.pop_front();
                }
                Some(c) => {
                    c.advance(n);
                    n = 0;
                }
                None => {
                    let k = n.min(self.tail.len() - self.head);
                    self.head += k;
                    n -= k;
                    if k == 0 {
                        break;
                    }
                }
            }
        }
    }

    /// Takes everything out as one contiguous buffer (for sans-IO callers and tests).
    pub fn take_all(&mut self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        for c in &self.chunks {
            v.extend_from_slice(c);
        }
        v.extend_from_slice(self.tail_bytes());
        self.chunks.clear();
        self.tail.clear();
        self.head = 0;
        self.len = 0;
        self.shrink_if_idle();
        v
    }

    /// Moves all waiting bytes into `other` (which must be empty), keeping allocations.
    #[inline]
    pub fn swap_into(&mut self, other: &mut Outgoing) {
        debug_assert!(other.is_empty());
        std::mem::swap(self, other);
    }

    /// An idle connection should not hold a large buffer.
    fn shrink_if_idle(&mut self) {
        if self.tail.capacity() > KEEP_TAIL {
            self.tail = Vec::new();
        }
        if self.chunks.capacity() > 16 {
            self.chunks = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::frame::OpCode;

    fn header(len: usize) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: OpCode::Binary,
            mask: None,
            payload_len: len as u64,
        }
    }

    #[test]
    fn large_payload_is_shared_and_order_kept() {
        let mut o = Outgoing::new();
        let big = Bytes::from(vec![7u8; 100_000]);
        o.put_frame(&header(3), b"abc", true);
        o.put_frame_shared(&header(big.len()), big.clone());
        o.put_frame(&header(1), b"z", true);
        let mut slices = [IoSlice::new(&[]); 8];
        let n = o.as_io_slices(&mut slices);
        assert_eq!(n, 3);
        // The big payload slice points at the caller's buffer: no copy.
        assert_eq!(slices[1].as_ptr(), big.as_ptr());
        let total = o.len();
        let all = o.take_all();
        assert_eq!(all.len(), total);
        assert_eq!(&all[..5], &[0x82, 3, b'a', b'b', b'c']);
        assert_eq!(all[all.len() - 1], b'z');
    }

    #[test]
    fn advance_across_chunks() {
        let mut o = Outgoing::new();
        o.put_frame(&header(2), b"ab", true);
        o.put_frame_shared(&header(20_000), Bytes::from(vec![1u8; 20_000]));
        o.put_frame(&header(2), b"cd", true);
        let total = o.len();
        let mut written = Vec::new();
        while !o.is_empty() {
            let c = o.first_chunk();
            let k = c.len().min(777);
            written.extend_from_slice(&c[..k]);
            o.advance(k);
        }
        assert_eq!(written.len(), total);
        assert_eq!(&written[written.len() - 2..], b"cd");
    }

    #[test]
    fn tail_is_reused_after_a_full_write_and_partial_writes_keep_order() {
        let mut o = Outgoing::new();
        o.put_frame(&header(3), b"abc", true);
        o.advance(2);
        assert_eq!(o.first_chunk(), b"abc");
        o.put_frame(&header(1), b"z", true);
        assert_eq!(o.len(), 6);
        o.advance(6);
        assert!(o.is_empty());
        let cap = o.tail.capacity();
        let ptr = o.tail.as_ptr();
        o.put_frame(&header(2), b"xy", true);
        // Same allocation, written from the start again.
        assert_eq!(o.tail.capacity(), cap);
        assert_eq!(o.tail.as_ptr(), ptr);
        assert_eq!(o.take_all(), vec![0x82, 2, b'x', b'y']);
    }

    #[test]
    fn partly_written_tail_is_sealed_before_a_shared_payload() {
        let mut o = Outgoing::new();
        o.put_frame(&header(4), b"abcd", true);
        o.advance(3);
        let big = Bytes::from(vec![9u8; 20_000]);
        o.put_frame_shared(&header(big.len()), big);
        o.put_frame(&header(1), b"q", true);
        let all = o.take_all();
        assert_eq!(&all[..3], b"bcd");
        assert_eq!(&all[3..7], &[0x82, 126, 0x4e, 0x20]);
        assert_eq!(all.len(), 3 + 4 + 20_000 + 3);
        assert_eq!(&all[all.len() - 3..], &[0x82, 1, b'q']);
    }

    #[test]
    fn shared_encoded_frames_are_queued_by_reference_when_long_and_keep_order() {
        let mut o = Outgoing::new();
        let long = Bytes::from(vec![5u8; SHARED_FRAME_THRESHOLD]);
        let short = Bytes::from_static(&[0x82, 1, b's']);
        o.put_frame(&header(1), b"a", true);
        o.put_encoded_shared(&long);
        o.put_encoded_shared(&short);
        o.put_encoded_shared(&long);
        let mut slices = [IoSlice::new(&[]); 8];
        let n = o.as_io_slices(&mut slices);
        assert_eq!(n, 4, "the first frame, long, short (copied), long");
        assert_eq!(slices[1].as_ptr(), long.as_ptr(), "not copied");
        assert_eq!(slices[3].as_ptr(), long.as_ptr(), "not copied");
        assert_ne!(slices[2].as_ptr(), short.as_ptr(), "copied");
        let all = o.take_all();
        assert_eq!(all.len(), 3 + 2 * long.len() + short.len());
        assert_eq!(&all[..3], &[0x82, 1, b'a']);
        assert_eq!(&all[3 + long.len()..3 + long.len() + 3], &short[..]);
    }

    #[test]
    fn a_large_tail_is_freed_when_drained() {
        let mut o = Outgoing::new();
        o.put_frame(&header(10_000), &[0u8; 10_000], true);
        o.advance(o.len());
        assert_eq!(o.tail.capacity(), 0);
    }
}
