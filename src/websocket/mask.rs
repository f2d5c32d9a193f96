//! Payload masking (RFC 6455 §5.3).
//!
//! Masking XORs every payload byte with one of four key bytes, chosen by the byte's
//! offset in the payload. The fast path works on 8-byte words in chunks that LLVM turns
//! into SIMD (AVX2 when the CPU has it, for all but short payloads); a byte loop is kept
//! as the reference it is tested against.

/// XORs `buf` with `key`, as if `buf` started at payload offset 0.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::mask::apply_mask;
///
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut data = *b"Hello";
/// apply_mask(&mut data, key);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]); // RFC 6455 §5.7
/// apply_mask(&mut data, key); // masking twice restores the payload
/// assert_eq!(&data, b"Hello");
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    apply_mask_at(buf, key, 0);
}

/// XORs `buf` with `key`, where `buf[0]` sits at payload offset `offset`.
///
/// Used to unmask a frame payload in pieces as it arrives.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::mask::{apply_mask, apply_mask_at};
///
/// let key = [1, 2, 3, 4];
/// let mut whole = *b"split payload";
/// apply_mask(&mut whole, key);
///
/// // The same bytes masked in two pieces, the second continuing at offset 5.
/// let mut pieces = *b"split payload";
/// let (a, b) = pieces.split_at_mut(5);
/// apply_mask_at(a, key, 0);
/// apply_mask_at(b, key, 5);
/// assert_eq!(pieces, whole);
/// ```
pub fn apply_mask_at(buf: &mut [u8], key: [u8; 4], offset: usize) {
    #[cfg(target_arch = "x86_64")]
    if buf.len() >= AVX2_FROM && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `apply_mask_avx2` only needs the CPU to have AVX2, checked just above.
        unsafe { apply_mask_avx2(buf, key, offset) };
        return;
    }
    apply_mask_words(buf, key, offset);
}

/// Payloads from this length on are masked with AVX2 when the CPU has it: half the
/// instructions of the SSE2 loop the baseline target gets (15.5k → 5.8k per 64 KiB),
/// not worth the feature check below it.
#[cfg(target_arch = "x86_64")]
const AVX2_FROM: usize = 128;

/// [`apply_mask_words`] compiled for AVX2 (32-byte vectors).
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn apply_mask_avx2(buf: &mut [u8], key: [u8; 4], offset: usize) {
    apply_mask_words(buf, key, offset);
}

/// The portable fast path, inlined into each target-feature variant.
#[inline(always)]
fn apply_mask_words(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate_key(key, offset);
    // Whole 32-byte blocks with a word-sized key; the compiler vectorises this loop.
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for lane in block.chunks_exact_mut(8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(lane);
            let masked = u64::from_ne_bytes(bytes) ^ word;
            lane.copy_from_slice(&masked.to_ne_bytes());
        }
    }
    // 32 and 8 are multiples of 4, so each remainder starts at key index 0 again.
    let mut words = blocks.into_remainder().chunks_exact_mut(8);
    for lane in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(lane);
        let masked = u64::from_ne_bytes(bytes) ^ word;
        lane.copy_from_slice(&masked.to_ne_bytes());
    }
    apply_mask_scalar(words.into_remainder(), key, 0);
}

/// The byte-at-a-time reference implementation.
pub fn apply_mask_scalar(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) & 3];
    }
}

/// The key as seen from payload offset `offset`: rotated left by `offset % 4` bytes.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Little-endian, the first byte is the lowest: rotating the bytes left is rotating
    // the number right.
    u32::from_le_bytes(key)
        .rotate_right(8 * (offset & 3) as u32)
        .to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 + 7) as u8).collect()
    }

    #[test]
    fn matches_scalar_at_every_alignment_offset_and_length() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let backing = pattern(300);
        for start in 0..16 {
            for len in [0, 1, 3, 4, 7, 8, 31, 32, 33, 64, 100, 255] {
                for offset in 0..8 {
                    let mut fast = backing.clone();
                    let mut slow = backing.clone();
                    apply_mask_at(&mut fast[start..start + len], key, offset);
                    apply_mask_scalar(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn rfc6455_example_hello() {
        // RFC 6455 §5.7: masked "Hello" with key 37 fa 21 3d.
        let mut payload = *b"Hello";
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_matches_scalar() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let backing = pattern(1100);
        for start in 0..4 {
            for len in [0, 1, 31, 32, 127, 128, 129, 1000] {
                for offset in 0..4 {
                    let mut fast = backing.clone();
                    let mut slow = backing.clone();
                    // SAFETY: the CPU has AVX2 (checked above).
                    unsafe { apply_mask_avx2(&mut fast[start..start + len], key, offset) };
                    apply_mask_scalar(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn piecewise_equals_whole() {
        let key = [1, 2, 3, 4];
        let data = pattern(1000);
        let mut whole = data.clone();
        apply_mask(&mut whole, key);
        let mut pieces = data.clone();
        let mut off = 0;
        for step in [1usize, 5, 33, 100, 861] {
            apply_mask_at(&mut pieces[off..off + step], key, off);
            off += step;
        }
        assert_eq!(off, 1000);
        assert_eq!(whole, pieces);
    }
}
