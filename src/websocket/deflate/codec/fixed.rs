//! A small DEFLATE encoder for short messages without context takeover: one block with the
//! fixed Huffman codes (RFC 1951 §3.2.6), greedy LZ77 matches found through a small hash
//! table, then the empty stored block of a sync flush without its `00 00 ff ff` (RFC 7692
//! §7.2.1).
//!
//! Why: a zlib-rs compressor starts every message by zeroing its 128 KiB hash table
//! (`deflateReset`), several microseconds that dwarf compressing a short message. This
//! encoder's table is a few hundred bytes. Its output is about what zlib's level 1 makes of
//! a short message (that level also writes fixed-code blocks), and it is deterministic, so
//! a prepared message still compresses to the same bytes for every connection.

/// Longest message compressed here; longer ones go to zlib, whose reset then matters less.
pub(super) const MAX_LEN: usize = 1024;

const HASH_BITS: u32 = 9;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;

/// Appends the compressed form of `data` (1..=[`MAX_LEN`] bytes) to `out`: what a sync
/// flush of a fresh raw DEFLATE stream would give, `00 00 ff ff` stripped. Back references
/// reach at most `max_distance` bytes (the negotiated window).
pub(super) fn compress(data: &[u8], max_distance: usize, out: &mut Vec<u8>) {
    debug_assert!(!data.is_empty() && data.len() <= MAX_LEN);
    let mut bits = BitWriter::new(out, data.len());
    // BFINAL 0, BTYPE 01 (fixed Huffman codes).
    bits.put(0b010, 3);
    // Position + 1 of the last 3-byte sequence with each hash (0: none).
    let mut table = [0u16; 1 << HASH_BITS];
    let mut i = 0;
    while i < data.len() {
        let mut matched = 0;
        if i + MIN_MATCH <= data.len() {
            let slot = hash(&data[i..i + MIN_MATCH]);
            let candidate = usize::from(table[slot]);
            table[slot] = (i + 1) as u16;
            if candidate > 0 && i - (candidate - 1) <= max_distance {
                let from = candidate - 1;
                let limit = (data.len() - i).min(MAX_MATCH);
                matched = data[from..]
                    .iter()
                    .zip(&data[i..i + limit])
                    .take_while(|(a, b)| a == b)
                    .count();
                if matched >= MIN_MATCH {
                    bits.length(matched);
                    bits.distance(i - from);
                }
            }
        }
        if matched >= MIN_MATCH {
            i += matched;
        } else {
            bits.literal(data[i]);
            i += 1;
        }
    }
    // End of block (code 256: seven zero bits), then the sync flush's empty stored block:
    // BFINAL 0, BTYPE 00 and padding to a byte; its LEN/NLEN are the stripped tail.
    bits.put(0, 7 + 3);
    bits.finish();
}

fn hash(three: &[u8]) -> usize {
    let v = u32::from(three[0]) | u32::from(three[1]) << 8 | u32::from(three[2]) << 16;
    (v.wrapping_mul(0x9e37_79b1) >> (32 - HASH_BITS)) as usize
}

/// Length codes 257..=285: (base length, extra bits).
const LENGTHS: [(u16, u8); 29] = [
    (3, 0),
    (4, 0),
    (5, 0),
    (6, 0),
    (7, 0),
    (8, 0),
    (9, 0),
    (10, 0),
    (11, 1),
    (13, 1),
    (15, 1),
    (17, 1),
    (19, 2),
    (23, 2),
    (27, 2),
    (31, 2),
    (35, 3),
    (43, 3),
    (51, 3),
    (59, 3),
    (67, 4),
    (83, 4),
    (99, 4),
    (115, 4),
    (131, 5),
    (163, 5),
    (195, 5),
    (227, 5),
    (258, 0),
];

/// Distance codes 0..=29: (base distance, extra bits).
const DISTANCES: [(u16, u8); 30] = [
    (1, 0),
    (2, 0),
    (3, 0),
    (4, 0),
    (5, 1),
    (7, 1),
    (9, 2),
    (13, 2),
    (17, 3),
    (25, 3),
    (33, 4),
    (49, 4),
    (65, 5),
    (97, 5),
    (129, 6),
    (193, 6),
    (257, 7),
    (385, 7),
    (513, 8),
    (769, 8),
    (1025, 9),
    (1537, 9),
    (2049, 10),
    (3073, 10),
    (4097, 11),
    (6145, 11),
    (8193, 12),
    (12289, 12),
    (16385, 13),
    (24577, 13),
];

/// The index of the last entry of `table` whose base is at most `value`.
fn code_for(table: &[(u16, u8)], value: usize) -> usize {
    table.partition_point(|&(base, _)| usize::from(base) <= value) - 1
}

/// Writes bits least significant first, as DEFLATE packs them.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    used: u32,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>, input_len: usize) -> Self {
        // At most 9 bits per literal, plus the block's framing.
        out.reserve(input_len + input_len / 8 + 8);
        Self {
            out,
            acc: 0,
            used: 0,
        }
    }

    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.used;
        self.used += count;
        while self.used >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.used -= 8;
        }
    }

    /// A Huffman code, which DEFLATE stores most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }

    fn literal(&mut self, byte: u8) {
        match byte {
            0..=143 => self.code(0x30 + u32::from(byte), 8),
            _ => self.code(0x190 + u32::from(byte) - 144, 9),
        }
    }

    fn length(&mut self, len: usize) {
        let index = code_for(&LENGTHS, len);
        let symbol = 257 + index as u32;
        match symbol {
            257..=279 => self.code(symbol - 256, 7),
            _ => self.code(0xc0 + symbol - 280, 8),
        }
        let (base, extra) = LENGTHS[index];
        self.put((len - usize::from(base)) as u32, u32::from(extra));
    }

    fn distance(&mut self, distance: usize) {
        let index = code_for(&DISTANCES, distance);
        self.code(index as u32, 5);
        let (base, extra) = DISTANCES[index];
        self.put((distance - usize::from(base)) as u32, u32::from(extra));
    }

    /// Flushes the last partial byte (padded with zeros).
    fn finish(self) {
        if self.used > 0 {
            self.out.push(self.acc as u8);
        }
    }
}
