//! `WildcardPattern`, `Origin` and `OriginPolicy` against naive reference models.
//!
//! Input: `[allow_null, n, n pattern lengths..., patterns..., origin...]`; the first
//! `n % 4` lengths cut patterns off the rest (as UTF-8, lossily), the remainder is the
//! origin. Invariants: every pattern matches exactly what a plain backtracking /
//! dynamic-programming glob matches (on the pattern against the origin text and
//! against its normalization); `Origin::parse` normalization is idempotent and its
//! serialization has no characters that would let a pattern be fooled; the policy
//! decides as the reference policy built from those pieces does.
#![no_main]

use autobahn::websocket::handshake::HandshakeError;
use autobahn::websocket::origin::{Origin, OriginPolicy, WildcardPattern};
use fuzz_support::{glob_dp, glob_reference, split_input};
use libfuzzer_sys::fuzz_target;

fn glob(p: &str, t: &str) -> bool {
    let stars = p.bytes().filter(|&b| b == b'*').count();
    let r = glob_dp(p.as_bytes(), t.as_bytes());
    if stars <= 3 && t.len() <= 64 {
        assert_eq!(
            r,
            glob_reference(p.as_bytes(), t.as_bytes()),
            "references disagree"
        );
    }
    r
}

fn reference_policy(patterns: &[String], allow_null: bool, raw: &str) -> bool {
    if raw.trim().eq_ignore_ascii_case("null") {
        return allow_null;
    }
    if patterns.iter().any(|p| p == "*") {
        return true;
    }
    match Origin::parse(raw) {
        Ok(Origin::Null) => allow_null,
        Ok(o) => {
            let s = o.serialize();
            patterns.iter().any(|p| glob(p, &s))
        }
        Err(_) => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((h, lengths, rest)) = split_input(data, 1) else {
        return;
    };
    let allow_null = h[0] & 1 != 0;
    let mut patterns = Vec::new();
    let mut rest = rest;
    for &l in lengths.iter().take(4) {
        let (p, r) = rest.split_at(usize::from(l % 64).min(rest.len()));
        patterns.push(String::from_utf8_lossy(p).into_owned());
        rest = r;
    }
    let origin = String::from_utf8_lossy(rest).into_owned();

    for p in &patterns {
        let w = WildcardPattern::new(p);
        assert_eq!(w.matches(&origin), glob(p, &origin), "{p:?} vs {origin:?}");
        if w.is_match_all() {
            assert!(w.matches(&origin));
        }
    }

    match Origin::parse(&origin) {
        Ok(o @ Origin::Tuple { .. }) => {
            let s = o.serialize();
            assert_eq!(
                Origin::parse(&s).as_ref(),
                Ok(&o),
                "normalization not idempotent: {s:?}"
            );
            let after_scheme = s.split_once("://").expect("scheme").1;
            assert!(
                !after_scheme.contains(['/', '?', '#', '@', '*', ' ']),
                "serialized origin {s:?}"
            );
            assert!(s.is_ascii() && s == s.to_ascii_lowercase(), "{s:?}");
            for p in &patterns {
                assert_eq!(
                    WildcardPattern::new(p).matches(&s),
                    glob(p, &s),
                    "{p:?} vs {s:?}"
                );
            }
        }
        Ok(Origin::Null) | Err(_) => {}
    }

    let policy = OriginPolicy::new(&patterns, allow_null);
    assert_eq!(policy.allows_null_origin(), allow_null);
    assert!(policy.check(None).is_ok());
    let got = policy.check(Some(&origin));
    let want = reference_policy(&patterns, allow_null, &origin);
    assert_eq!(
        got.is_ok(),
        want,
        "policy {patterns:?} null={allow_null} on {origin:?}"
    );
    if let Err(e) = got {
        assert_eq!(e, HandshakeError::OriginNotAllowed(origin.clone()));
        assert_eq!(e.http_status(), 403);
    }
});
