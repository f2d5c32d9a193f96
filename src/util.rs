//! Helpers mirroring `autobahn.util`: UTF-8 truncation, XOR, ISO 8601 time stamps,
//! random tokens (activation codes, passwords, serial numbers) and a relative clock.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;

/// Default token alphabet: a 27-character subset of upper-case Latin letters and
/// digits without look-alikes (no 0/O, 1/I, 2/Z, 8/B ...), as Autobahn's.
pub const DEFAULT_TOKEN_CHARS: &str = "345679ACEFGHJKLMNPQRSTUVWXY";

/// The z-base-32 alphabet (used for user passwords, as Autobahn does).
pub const DEFAULT_ZBASE32_CHARS: &str = "13456789abcdefghijkmnopqrstuwxyz";

/// The longest prefix of `text` whose UTF-8 encoding is at most `limit` bytes,
/// never splitting a character (e.g. for WebSocket close reasons, ≤ 123 bytes).
///
/// Autobahn's `encoding`/`return_encoded` arguments map to Rust as: strings are
/// always UTF-8, and `.as_bytes()` on the result is the encoded form.
///
/// # Examples
///
/// ```
/// use autobahn::util::encode_truncate;
///
/// assert_eq!(encode_truncate("héllo", 2), "h"); // 'é' takes 2 bytes: not split
/// assert_eq!(encode_truncate("héllo", 3), "hé");
/// assert_eq!(encode_truncate("short", 123), "short");
/// ```
pub fn encode_truncate(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1; // terminates: index 0 is always a boundary
    }
    text.get(..end).unwrap_or_default()
}

/// The two inputs of [`xor`] have different lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot XOR binary strings of differing length ({0} != {1})")]
pub struct XorLengthError(pub usize, pub usize);

/// Byte-wise XOR of two equally long byte strings.
///
/// # Examples
///
/// ```
/// use autobahn::util::xor;
///
/// assert_eq!(xor(b"\x0f\xf0", b"\xff\xff")?, b"\xf0\x0f");
/// assert!(xor(b"ab", b"abc").is_err());
/// # Ok::<(), autobahn::util::XorLengthError>(())
/// ```
pub fn xor(d1: &[u8], d2: &[u8]) -> Result<Vec<u8>, XorLengthError> {
    if d1.len() != d2.len() {
        return Err(XorLengthError(d1.len(), d2.len()));
    }
    Ok(d1.iter().zip(d2).map(|(a, b)| a ^ b).collect())
}

/// Formats a time stamp as ISO 8601 UTC with milliseconds, e.g.
/// `2014-05-23T13:03:44.123Z` (Autobahn's `utcstr`).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use autobahn::util::utcstr;
///
/// let t = UNIX_EPOCH + Duration::from_millis(1_400_850_224_123);
/// assert_eq!(utcstr(t), "2014-05-23T13:03:44.123Z");
/// ```
pub fn utcstr(ts: SystemTime) -> String {
    let ms: i128 = match ts.duration_since(UNIX_EPOCH) {
        Ok(d) => i128::try_from(d.as_millis()).unwrap_or(i128::MAX),
        Err(e) => -i128::try_from(e.duration().as_millis()).unwrap_or(i128::MAX),
    };
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = i64::try_from(secs.div_euclid(86_400)).unwrap_or(0);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// The current time as ISO 8601 UTC (Autobahn's `utcnow`).
///
/// # Examples
///
/// ```
/// let now = autobahn::util::utcnow();
/// assert!(now.ends_with('Z') && now.len() == "2014-05-23T13:03:44.123Z".len());
/// ```
pub fn utcnow() -> String {
    utcstr(SystemTime::now())
}

/// Proleptic Gregorian (year, month, day) for days since 1970-01-01
/// (H. Hinnant's `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe + era.saturating_mul(400) + i64::from(m <= 2);
    // d and m are in small ranges computed above.
    (y, m as u32, d as u32)
}

/// A cryptographically strong random token such as `M6X5-YO5W-T5IK`:
/// `char_groups` groups of `chars_per_group` characters from `chars` (default
/// [`DEFAULT_TOKEN_CHARS`]), joined by `sep` (default `-`); no separators when
/// `chars_per_group` is 1. Empty `chars`/`sep` mean the defaults, as in Autobahn.
///
/// # Examples
///
/// ```
/// use autobahn::util::{generate_token, DEFAULT_TOKEN_CHARS};
///
/// let token = generate_token(3, 4, None, None, false);
/// assert_eq!(token.len(), 3 * 4 + 2); // e.g. M6X5-YO5W-T5IK
/// assert!(token.split('-').all(|g| g.chars().all(|c| DEFAULT_TOKEN_CHARS.contains(c))));
///
/// let pin = generate_token(6, 1, Some("0123456789"), None, false);
/// assert!(pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit()));
/// ```
pub fn generate_token(
    char_groups: usize,
    chars_per_group: usize,
    chars: Option<&str>,
    sep: Option<&str>,
    lower_case: bool,
) -> String {
    let chars = chars
        .filter(|c| !c.is_empty())
        .unwrap_or(DEFAULT_TOKEN_CHARS);
    let alphabet: Vec<char> = if lower_case {
        chars.to_lowercase().chars().collect()
    } else {
        chars.chars().collect()
    };
    let sep = sep.filter(|s| !s.is_empty()).unwrap_or("-");
    // thread_rng is a CSPRNG seeded from the OS.
    let mut rng = rand::thread_rng();
    let mut out = String::new();
    for g in 0..char_groups {
        if g > 0 && chars_per_group > 1 {
            out.push_str(sep);
        }
        for _ in 0..chars_per_group {
            if let Some(&c) = alphabet.get(rng.gen_range(0..alphabet.len())) {
                out.push(c);
            }
        }
    }
    out
}

/// A one-time activation code like `W97F-96MJ-YGJL` (≥ 57 bits of entropy).
///
/// # Examples
///
/// ```
/// let code = autobahn::util::generate_activation_code();
/// assert_eq!(code.split('-').count(), 3);
/// ```
pub fn generate_activation_code() -> String {
    generate_token(3, 4, Some(DEFAULT_TOKEN_CHARS), Some("-"), false)
}

/// A random user password like `kgojzi61dn5dtb6d` (16 z-base-32 characters, 80 bits).
///
/// # Examples
///
/// ```
/// let password = autobahn::util::generate_user_password();
/// assert_eq!(password.len(), 16);
/// ```
pub fn generate_user_password() -> String {
    generate_token(16, 1, Some(DEFAULT_ZBASE32_CHARS), Some("-"), true)
}

/// A serial / product code like `YRAC-EL4X-FQQE-AW4T-WNUV-VN6T` (≥ 114 bits).
///
/// # Examples
///
/// ```
/// let serial = autobahn::util::generate_serial_number();
/// assert_eq!(serial.len(), 6 * 4 + 5);
/// ```
pub fn generate_serial_number() -> String {
    generate_token(6, 4, Some(DEFAULT_TOKEN_CHARS), Some("-"), false)
}

/// Monotonic seconds as `f64`; only differences between values are meaningful
/// (Autobahn's `rtime`).
pub fn rtime() -> f64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn truncate_at_char_boundary() {
        assert_eq!(encode_truncate("hello", 10), "hello");
        assert_eq!(encode_truncate("hello", 3), "hel");
        assert_eq!(encode_truncate("hello", 0), "");
        // "é" is 2 bytes, "€" 3, "😀" 4.
        assert_eq!(encode_truncate("aé", 2), "a");
        assert_eq!(encode_truncate("aé", 3), "aé");
        assert_eq!(encode_truncate("€€", 5), "€");
        assert_eq!(encode_truncate("😀x", 3), "");
        let reason = "ü".repeat(100);
        let t = encode_truncate(&reason, 123);
        assert_eq!(t.len(), 122);
        assert!(t.chars().all(|c| c == 'ü'));
    }

    #[test]
    fn xor_bytes() {
        assert_eq!(xor(b"\x0f\xf0", b"\xff\xff").unwrap(), b"\xf0\x0f");
        assert_eq!(xor(b"", b"").unwrap(), b"");
        assert_eq!(xor(b"a", b"ab"), Err(XorLengthError(1, 2)));
    }

    #[test]
    fn utc_formatting() {
        let t = |ms: u64| utcstr(UNIX_EPOCH + Duration::from_millis(ms));
        assert_eq!(t(0), "1970-01-01T00:00:00.000Z");
        // Seed's example time stamp: 2014-05-23T13:03:44.123Z.
        assert_eq!(t(1_400_850_224_123), "2014-05-23T13:03:44.123Z");
        assert_eq!(t(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(t(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(t(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(
            utcstr(UNIX_EPOCH - Duration::from_millis(1)),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            utcstr(UNIX_EPOCH - Duration::from_secs(86_400 * 365)),
            "1969-01-01T00:00:00.000Z"
        );
        let now = utcnow();
        assert_eq!(now.len(), 24);
        assert!(now.ends_with('Z'));
    }

    #[test]
    fn tokens() {
        let code = generate_activation_code();
        assert_eq!(code.len(), 14);
        let groups: Vec<_> = code.split('-').collect();
        assert_eq!(groups.len(), 3);
        assert!(groups
            .iter()
            .all(|g| g.len() == 4 && g.chars().all(|c| DEFAULT_TOKEN_CHARS.contains(c))));
        let serial = generate_serial_number();
        assert_eq!(serial.split('-').count(), 6);
        let pw = generate_user_password();
        assert_eq!(pw.len(), 16);
        assert!(pw.chars().all(|c| DEFAULT_ZBASE32_CHARS.contains(c)));
        assert_eq!(generate_token(5, 1, None, None, false).len(), 5);
        let lc = generate_token(2, 3, Some("AB"), Some("::"), true);
        assert_eq!(lc.len(), 8);
        assert_eq!(&lc[3..5], "::");
        assert!(lc.replace("::", "").chars().all(|c| c == 'a' || c == 'b'));
        assert_eq!(generate_token(0, 4, None, None, false), "");
        assert_eq!(generate_token(3, 0, None, None, false), "");
        // Empty alphabet/separator fall back to the defaults.
        assert_eq!(
            generate_token(2, 2, Some(""), Some(""), false).as_bytes()[2],
            b'-'
        );
        // Two activation codes colliding would mean a broken RNG (57 bits).
        assert_ne!(generate_activation_code(), generate_activation_code());
        assert_eq!(DEFAULT_TOKEN_CHARS.len(), 27);
    }

    #[test]
    fn rtime_monotonic() {
        let a = rtime();
        let b = rtime();
        assert!(b >= a && a >= 0.0);
    }
}
