//! Shared helpers of the fuzz targets: how an input is cut into the pieces a parser
//! is fed, a decoder for the frames our own code writes, and reference models.
//!
//! Input layouts are fixed byte layouts (not `arbitrary` derivations) so the seed
//! corpora in `fuzz/seeds/` stay meaningful when the targets change.

pub mod alloc;
pub mod frames;
pub mod inflate;
pub mod stream;
pub mod wamp;

/// Cuts `data` into consecutive pieces: `n = plan[0] % 16` piece lengths are taken
/// from the next `n` bytes of `plan` (a length may be 0: an empty feed), the rest of
/// `data` is the last piece. Returns the piece boundaries as end offsets.
pub fn piece_ends(lengths: &[u8], data_len: usize) -> Vec<usize> {
    let mut ends = Vec::with_capacity(lengths.len() + 1);
    let mut at = 0usize;
    for &l in lengths {
        at = (at + usize::from(l)).min(data_len);
        ends.push(at);
    }
    ends.push(data_len);
    ends
}

/// Splits an input into `(header, piece lengths, payload)`: `header_len` fixed bytes,
/// then a count byte `k` (`k % 16` lengths follow), then the payload.
pub fn split_input(data: &[u8], header_len: usize) -> Option<(&[u8], &[u8], &[u8])> {
    let (header, rest) = data.split_at_checked(header_len)?;
    let (&k, rest) = rest.split_first()?;
    let k = usize::from(k % 16).min(rest.len());
    let (lengths, payload) = rest.split_at(k);
    Some((header, lengths, payload))
}

/// Feeds an incremental head parser the growing prefixes `buf[..end]` for each of
/// `ends` (as a receive buffer grows), stopping at the first answer that is not
/// "need more". Returns that answer and the prefix length it was given.
pub fn feed_prefixes<T, E>(
    buf: &[u8],
    ends: &[usize],
    mut parse: impl FnMut(&[u8]) -> Result<Option<T>, E>,
) -> (Result<Option<T>, E>, usize) {
    let mut last = Ok(None);
    let mut seen = 0;
    for &end in ends {
        seen = end;
        last = parse(&buf[..end]);
        if !matches!(last, Ok(None)) {
            break;
        }
    }
    (last, seen)
}

/// Bytes appended after a complete head to check that later bytes (WebSocket data,
/// tunnel bytes, a second request) never change a decided answer.
pub const TRAILER: &[u8] = b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n\x81\x05Hello";

/// Anchored `*` glob, ASCII case-insensitive, by plain backtracking: the reference
/// for `WildcardPattern` (exponential in the worst case, so callers bound the sizes).
pub fn glob_reference(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_reference(rest, &text[i..])),
        Some((c, rest)) => match text.split_first() {
            Some((t, trest)) => c.eq_ignore_ascii_case(t) && glob_reference(rest, trest),
            None => false,
        },
    }
}

/// Dynamic-programming glob (same semantics as [`glob_reference`]), O(p·t), for
/// inputs too large for backtracking.
pub fn glob_dp(pattern: &[u8], text: &[u8]) -> bool {
    // row[j]: pattern[..i] matches text[..j]
    let mut row = vec![false; text.len() + 1];
    row[0] = true;
    for &pc in pattern {
        let mut next = vec![false; text.len() + 1];
        if pc == b'*' {
            let mut any = false;
            for j in 0..=text.len() {
                any |= row[j];
                next[j] = any;
            }
        } else {
            for j in 1..=text.len() {
                next[j] = row[j - 1] && pc.eq_ignore_ascii_case(&text[j - 1]);
            }
        }
        row = next;
    }
    row[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_agree() {
        for (p, t, want) in [
            ("a*b", "aXXb", true),
            ("a*b", "ab", true),
            ("a*b", "ba", false),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("aa*aa", "aaa", false),
            ("A*c", "abC", true),
        ] {
            assert_eq!(glob_reference(p.as_bytes(), t.as_bytes()), want, "{p} {t}");
            assert_eq!(glob_dp(p.as_bytes(), t.as_bytes()), want, "{p} {t}");
        }
    }

    #[test]
    fn pieces() {
        assert_eq!(piece_ends(&[2, 0, 100], 10), vec![2, 2, 10, 10]);
        assert_eq!(
            split_input(&[9, 2, 1, 1, 7, 7], 1),
            Some((&[9][..], &[1, 1][..], &[7, 7][..]))
        );
        assert_eq!(split_input(&[9], 1), None);
    }
}
