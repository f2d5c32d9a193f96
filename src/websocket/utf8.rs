//! Incremental UTF-8 validation across frames and partial frames.
//!
//! A text message may be split anywhere — even inside a multi-byte character — by
//! fragmentation or by TCP. [`Utf8Validator`] keeps at most three bytes of an unfinished
//! character between calls and fails on the first byte that can no longer start or
//! continue a valid sequence (RFC 6455 §8.1 "fail fast"), using `simdutf8` for the bulk.

use simdutf8::compat::from_utf8;

/// The input is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid UTF-8")]
pub struct InvalidUtf8;

/// Validates a UTF-8 stream fed in arbitrary pieces.
///
/// # Examples
///
/// A text message arriving in pieces, split inside a multi-byte character:
///
/// ```
/// use autobahn::websocket::utf8::Utf8Validator;
///
/// let text = "größer".as_bytes();
/// let mut v = Utf8Validator::new();
/// v.feed(&text[..3])?; // ends in the middle of 'ö'
/// assert!(!v.is_complete());
/// v.finish(&text[3..])?;
///
/// v.reset();
/// assert!(v.feed(&[0xff]).is_err()); // fails at the first invalid byte
/// # Ok::<(), autobahn::websocket::utf8::InvalidUtf8>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets any unfinished character (start of a new message).
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }

    /// True if the bytes so far end on a character boundary.
    pub fn is_complete(&self) -> bool {
        self.partial_len == 0
    }

    /// Validates the next piece. Fails as soon as the stream so far cannot be a prefix of
    /// valid UTF-8.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            // Complete the pending character byte by byte (at most three bytes).
            let have = self.partial_len as usize;
            let need = sequence_len(self.partial[0]).saturating_sub(have);
            let take = need.min(data.len());
            self.partial[have..have + take].copy_from_slice(&data[..take]);
            let now = have + take;
            match from_utf8(&self.partial[..now]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix and the input is exhausted.
                    self.partial_len = now as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            data = &data[take..];
        }
        // The bulk up to the last character that may be unfinished, with simdutf8's
        // `basic` check (faster than `compat`, which tracks where an error is: a text
        // is nearly always valid, and failing needs no position); then that character.
        let (whole, tail) = data.split_at(unfinished_tail_start(data));
        if simdutf8::basic::from_utf8(whole).is_err() {
            return Err(InvalidUtf8);
        }
        if tail.is_empty() {
            return Ok(());
        }
        match from_utf8(tail) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // A valid prefix of a character (at most three bytes).
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Validates the last piece of a stream: an unfinished character is an error.
    pub fn finish(&mut self, data: &[u8]) -> Result<(), InvalidUtf8> {
        self.feed(data)?;
        if self.partial_len == 0 {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }
}

/// The length of the sequence a lead byte announces (1 for bytes that are not leads,
/// which makes the following check fail).
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => 1,
    }
}

/// Where the last character of `data` starts if `data` may end before that character does
/// (its lead byte announces more bytes than follow), else `data.len()`. Only the last
/// three bytes are looked at: a longer tail cannot be a character's unfinished start.
fn unfinished_tail_start(data: &[u8]) -> usize {
    let len = data.len();
    for start in (len.saturating_sub(3)..len).rev() {
        let byte = data[start];
        if byte & 0xc0 != 0x80 {
            // Not a continuation byte: a lead (or ASCII, or invalid, which the bulk
            // check then rejects).
            return if sequence_len(byte) > len - start {
                start
            } else {
                len
            };
        }
    }
    len
}

/// Validates a complete buffer.
///
/// # Examples
///
/// ```
/// use autobahn::websocket::utf8::validate;
///
/// assert!(validate("héllo".as_bytes()).is_ok());
/// assert!(validate(&[b'a', 0xc3]).is_err()); // truncated sequence
/// ```
#[inline]
pub fn validate(data: &[u8]) -> Result<(), InvalidUtf8> {
    simdutf8::basic::from_utf8(data)
        .map(|_| ())
        .map_err(|_| InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_all_splits(data: &[u8]) {
        let expect_ok = std::str::from_utf8(data).is_ok();
        // The shortest prefix that can no longer be the start of valid UTF-8.
        let fail_at = (0..=data.len()).find(
            |&n| matches!(std::str::from_utf8(&data[..n]), Err(e) if e.error_len().is_some()),
        );
        for split in 0..=data.len() {
            let mut v = Utf8Validator::new();
            let first = v.feed(&data[..split]);
            if let Some(at) = fail_at {
                if split >= at {
                    assert!(first.is_err(), "{data:x?} split {split}: must fail fast");
                    continue;
                }
            }
            assert!(first.is_ok(), "{data:x?} split {split}");
            assert_eq!(
                v.finish(&data[split..]).is_ok(),
                expect_ok,
                "{data:x?} split {split}"
            );
        }
        // Byte by byte.
        let mut v = Utf8Validator::new();
        let mut failed_at = None;
        for (i, b) in data.iter().enumerate() {
            if v.feed(std::slice::from_ref(b)).is_err() {
                failed_at = Some(i + 1);
                break;
            }
        }
        if let Some(at) = fail_at {
            assert_eq!(failed_at, Some(at), "{data:x?}: fail fast byte by byte");
        } else {
            assert_eq!(failed_at, None);
            assert_eq!(v.finish(&[]).is_ok(), expect_ok);
        }
    }

    #[test]
    fn valid_texts_at_every_split() {
        check_all_splits("κόσμε".as_bytes());
        check_all_splits("Hello-µ@ßöäüàá-UTF-8!!".as_bytes());
        check_all_splits("\u{10FFFF}\u{FFFF}a\u{800}".as_bytes());
        check_all_splits(b"");
        // Long enough for simdutf8's SIMD blocks, characters across the block boundaries.
        check_all_splits("Grüße, naïve café, €5, 😀. ".repeat(6).as_bytes());
    }

    #[test]
    fn unfinished_tail_is_the_last_character_only_when_it_is_cut() {
        assert_eq!(unfinished_tail_start(b""), 0);
        assert_eq!(unfinished_tail_start(b"abc"), 3);
        assert_eq!(unfinished_tail_start("aé".as_bytes()), 3);
        assert_eq!(unfinished_tail_start(b"a\xc3"), 1);
        assert_eq!(unfinished_tail_start(b"a\xe2\x82"), 1);
        assert_eq!(unfinished_tail_start(b"a\xf0\x9f\x98"), 1);
        assert_eq!(unfinished_tail_start("a😀".as_bytes()), 5);
        // Continuation bytes only: nothing to hold back, the bulk check rejects them.
        assert_eq!(unfinished_tail_start(b"\x80\x80\x80\x80"), 4);
    }

    #[test]
    fn invalid_sequences_fail_fast_at_every_split() {
        for bad in [
            &b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"[..],
            b"\xf4\x90\x80\x80",        // above U+10FFFF
            b"\xed\xa0\x80",            // surrogate
            b"\xc0\xaf",                // overlong
            b"\xe0\x80\xaf",            // overlong
            b"\xfe",                    // never valid
            b"ab\x80cd",                // lone continuation
            b"\xce\xba\xe1\xbd",        // truncated at the end
            b"\xf0\x90\x80",            // truncated 4-byte
            b"\xf0\x90\x80\x80\xf5abc", // F5 never valid
            b"ab\xe0\x80",              // overlong, cut
            b"a\xed\xa0",               // surrogate, cut
            b"a\xf4\x90",               // above U+10FFFF, cut
            b"a\xc3",                   // truncated 2-byte
            b"a\xc1",                   // never a lead
        ] {
            check_all_splits(bad);
        }
    }
}
