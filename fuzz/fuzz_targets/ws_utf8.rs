//! `Utf8Validator` fed arbitrary pieces vs. `std::str::from_utf8` on the whole input.
//!
//! Input: `[mode, k, k piece lengths..., text...]`; `mode` bit 0: end with
//! `finish(last piece)` instead of `feed(last piece)` + `finish(&[])`.
//! Invariants: accept/reject agrees with std; a rejection happens in the very piece
//! containing the first byte after which no valid continuation exists (fail fast),
//! and not earlier; `is_complete` tells whether the prefix ends on a character
//! boundary; the one-shot `validate` agrees with std.
#![no_main]

use autobahn::websocket::utf8::{validate, Utf8Validator};
use fuzz_support::{piece_ends, split_input};
use libfuzzer_sys::fuzz_target;

/// Length of the shortest prefix that is not a prefix of any valid UTF-8 string.
fn fail_at(text: &[u8]) -> Option<usize> {
    let e = std::str::from_utf8(text).err()?;
    let bad = e.error_len()?;
    let at = e.valid_up_to() + bad;
    // A lone invalid byte fails by itself; otherwise the maximal valid-prefix subpart
    // is followed by the byte that breaks it.
    match std::str::from_utf8(&text[..at]) {
        Err(e) if e.error_len().is_some() => Some(at),
        _ => Some(at + 1),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, lengths, text)) = split_input(data, 1) else {
        return;
    };
    let finish_with_last = mode[0] & 1 != 0;
    let std_ok = std::str::from_utf8(text).is_ok();
    assert_eq!(validate(text).is_ok(), std_ok);
    let fail = fail_at(text);
    assert_eq!(
        fail.is_none() && !std_ok,
        std::str::from_utf8(text).is_err_and(|e| e.error_len().is_none())
    );

    let ends = piece_ends(lengths, text.len());
    let mut v = Utf8Validator::new();
    let mut start = 0;
    for (i, &end) in ends.iter().enumerate() {
        let piece = &text[start..end];
        let last = i + 1 == ends.len();
        let r = if last && finish_with_last {
            v.finish(piece)
        } else {
            v.feed(piece)
        };
        match fail {
            Some(at) if end >= at => {
                assert!(
                    r.is_err(),
                    "must fail in piece {start}..{end} (fail at {at})"
                );
                return;
            }
            _ if last && finish_with_last => {
                assert_eq!(r.is_ok(), std_ok, "finish");
                return;
            }
            _ => assert!(r.is_ok(), "failed early in piece {start}..{end}"),
        }
        assert_eq!(
            v.is_complete(),
            std::str::from_utf8(&text[..end]).is_ok(),
            "is_complete after {end}"
        );
        start = end;
    }
    assert_eq!(v.finish(&[]).is_ok(), std_ok, "finish(&[])");
});
