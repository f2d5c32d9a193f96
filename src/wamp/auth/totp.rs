//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits), as
//! Autobahn's `generate_totp_secret`, `compute_totp` and `check_totp`. A TOTP code is
//! typically sent as a WAMP-Ticket.

use std::time::{SystemTime, UNIX_EPOCH};

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

use super::AuthError;

/// Length of a TOTP time step in seconds.
const STEP: u64 = 30;

/// A new random TOTP secret of `length` bytes, in Base32 (letters A–Z and digits 2–7,
/// no padding); Autobahn's default length is 10 (16 characters).
pub fn generate_totp_secret(length: usize) -> String {
    let mut key = vec![0u8; length];
    rand::thread_rng().fill_bytes(&mut key);
    BASE32_NOPAD.encode(&key)
}

/// The TOTP code for the current time plus `offset` time steps (use -1, 0, +1 to allow
/// for clock skew, as RFC 6238 suggests). `secret` is Base32 (case and padding are
/// ignored).
pub fn compute_totp(secret: &str, offset: i64) -> Result<String, AuthError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let step = i64::try_from(now / STEP).unwrap_or(i64::MAX);
    compute_totp_at(
        secret,
        u64::try_from(step.saturating_add(offset)).unwrap_or(0) * STEP,
    )
}

/// The TOTP code for the time step containing `unix_time` (seconds since the epoch).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::auth::compute_totp_at;
///
/// // RFC 6238's SHA-1 test secret ("12345678901234567890", Base32) at T = 59 s.
/// let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
/// assert_eq!(compute_totp_at(secret, 59)?, "287082");
/// # Ok::<(), autobahn::wamp::auth::AuthError>(())
/// ```
pub fn compute_totp_at(secret: &str, unix_time: u64) -> Result<String, AuthError> {
    let key = decode_secret(secret)?;
    let counter = unix_time / STEP;
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // RFC 4226 dynamic truncation.
    let at = usize::from(digest[19] & 0x0f);
    let word = u32::from_be_bytes([digest[at], digest[at + 1], digest[at + 2], digest[at + 3]]);
    Ok(format!("{:06}", (word & 0x7fff_ffff) % 1_000_000))
}

/// Whether `ticket` is the TOTP code of the previous, current or next time step
/// (Autobahn's `check_totp`).
///
/// # Examples
///
/// A second factor: the user's app shows the code, the ticket carries it.
///
/// ```
/// use autobahn::wamp::auth::{check_totp, compute_totp, generate_totp_secret, AuthTicket};
///
/// let secret = generate_totp_secret(10); // shared once with the user's app (16 Base32 chars)
/// assert_eq!(secret.len(), 16);
/// let code = compute_totp(&secret, 0)?;
/// assert!(check_totp(&secret, &code)?);
/// let ticket = AuthTicket::new("joe", code);
/// # Ok::<(), autobahn::wamp::auth::AuthError>(())
/// ```
pub fn check_totp(secret: &str, ticket: &str) -> Result<bool, AuthError> {
    for offset in [0, -1, 1] {
        if compute_totp(secret, offset)? == ticket {
            return Ok(true);
        }
    }
    Ok(false)
}

fn decode_secret(secret: &str) -> Result<Vec<u8>, AuthError> {
    let cleaned: String = secret
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .map_err(|e| AuthError::InvalidKey(format!("TOTP secret is not Base32: {e}")))
}
