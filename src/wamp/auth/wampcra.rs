//! WAMP-CRA: challenge-response with HMAC-SHA256, optionally over a PBKDF2-derived key.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use super::{extra_str, extra_u64, AuthError, Authenticator, ChannelIds};
use crate::wamp::types::Challenge;
use crate::wamp::value::{Dict, Value};

/// The characters of [`generate_wcs`] secrets.
const WCS_CHARSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Salted WAMP-CRA challenges above this many PBKDF2 iterations are refused: the
/// router chooses the number, and a hostile one must not make us spin for minutes.
pub(crate) const MAX_ITERATIONS: u64 = 1_000_000;
/// Longest derived key a salted challenge may ask for.
pub(crate) const MAX_KEYLEN: u64 = 1024;

/// PBKDF2 with HMAC-SHA256 (Autobahn's `pbkdf2(data, salt, iterations, keylen)`; the
/// `hashfunc` parameter has no counterpart: SHA-256 is what WAMP uses).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::auth::pbkdf2;
///
/// // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", 1 iteration, 64 bytes).
/// let key = pbkdf2(b"passwd", b"salt", 1, 64);
/// assert_eq!(key.len(), 64);
/// assert_eq!(key[..8], [0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f]);
/// ```
pub fn pbkdf2(data: &[u8], salt: &[u8], iterations: u32, keylen: usize) -> Vec<u8> {
    let mut out = vec![0u8; keylen];
    pbkdf2::pbkdf2_hmac::<Sha256>(data, salt, iterations.max(1), &mut out);
    out
}

/// The salted WAMP-CRA key (Autobahn's `derive_key`): base64 of
/// PBKDF2-HMAC-SHA256(secret, salt, iterations, keylen). The base64 *text* is the
/// HMAC key of [`compute_wcs`].
pub fn derive_key(secret: &[u8], salt: &[u8], iterations: u32, keylen: usize) -> String {
    BASE64.encode(pbkdf2(secret, salt, iterations, keylen))
}

/// A random WAMP-CRA secret of `length` letters and digits (Autobahn's
/// `generate_wcs`, default length 14).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::auth::generate_wcs;
///
/// let secret = generate_wcs(14);
/// assert!(secret.len() == 14 && secret.chars().all(|c| c.is_ascii_alphanumeric()));
/// ```
pub fn generate_wcs(length: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..length)
        .map(|_| char::from(WCS_CHARSET[rng.gen_range(0..WCS_CHARSET.len())]))
        .collect()
}

/// The WAMP-CRA signature (Autobahn's `compute_wcs`): base64 of
/// HMAC-SHA256(key, challenge).
pub fn compute_wcs(key: &[u8], challenge: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(challenge);
    BASE64.encode(mac.finalize().into_bytes())
}

/// WAMP-CRA (Autobahn's `AuthWampCra`). When the router's challenge carries `salt`,
/// `iterations` and `keylen`, the key is [`derive_key`] of the secret, otherwise the
/// secret itself.
///
/// # Examples
///
/// ```
/// use autobahn::dict;
/// use autobahn::wamp::auth::{compute_wcs, derive_key, AuthWampCra, Authenticator, ChannelIds};
/// use autobahn::wamp::Challenge;
///
/// let cra = AuthWampCra::new("peter", "secret1");
/// let text = r#"{"authid": "peter", "nonce": "LHRTC9zeOIrt", "session": 3251278072152162}"#;
/// let challenge = Challenge { method: "wampcra".into(), extra: dict! { "challenge" => text } };
/// let signature = cra.on_challenge(&challenge, &ChannelIds::default())?;
/// assert_eq!(signature, compute_wcs(b"secret1", text.as_bytes()));
///
/// // A salted challenge: the key is derived from the secret first.
/// let salted = Challenge {
///     method: "wampcra".into(),
///     extra: dict! { "challenge" => text, "salt" => "salt123", "iterations" => 100, "keylen" => 32 },
/// };
/// let key = derive_key(b"secret1", b"salt123", 100, 32);
/// assert_eq!(cra.on_challenge(&salted, &ChannelIds::default())?, compute_wcs(key.as_bytes(), text.as_bytes()));
/// # Ok::<(), autobahn::wamp::auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct AuthWampCra {
    authid: String,
    secret: String,
    authrole: Option<String>,
    authextra: Dict,
}

impl AuthWampCra {
    /// Authenticates `authid` with `secret`.
    pub fn new(authid: impl Into<String>, secret: impl Into<String>) -> AuthWampCra {
        AuthWampCra {
            authid: authid.into(),
            secret: secret.into(),
            authrole: None,
            authextra: Dict::new(),
        }
    }

    /// Asks for an authrole.
    pub fn authrole(mut self, authrole: impl Into<String>) -> AuthWampCra {
        self.authrole = Some(authrole.into());
        self
    }

    /// Adds an entry to `HELLO.Details.authextra`.
    pub fn with_authextra(
        mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> AuthWampCra {
        self.authextra.insert(key.into(), value.into());
        self
    }

    /// The signature for a challenge (salted or not).
    fn sign(&self, challenge: &Challenge) -> Result<String, AuthError> {
        let text = extra_str(challenge, "challenge")?;
        if !challenge.extra.contains_key("salt") {
            return Ok(compute_wcs(self.secret.as_bytes(), text.as_bytes()));
        }
        let salt = extra_str(challenge, "salt")?;
        let iterations = extra_u64(challenge, "iterations")?;
        let keylen = extra_u64(challenge, "keylen")?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(AuthError::challenge(
                "wampcra",
                format!("iterations {iterations} outside 1..={MAX_ITERATIONS}"),
            ));
        }
        if keylen == 0 || keylen > MAX_KEYLEN {
            return Err(AuthError::challenge(
                "wampcra",
                format!("keylen {keylen} outside 1..={MAX_KEYLEN}"),
            ));
        }
        // Both bounds were checked above, so the conversions cannot truncate.
        let key = derive_key(
            self.secret.as_bytes(),
            salt.as_bytes(),
            iterations as u32,
            keylen as usize,
        );
        Ok(compute_wcs(key.as_bytes(), text.as_bytes()))
    }
}

impl fmt::Debug for AuthWampCra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthWampCra")
            .field("authid", &self.authid)
            .field("secret", &"<redacted>")
            .field("authrole", &self.authrole)
            .finish()
    }
}

impl Authenticator for AuthWampCra {
    fn method(&self) -> &str {
        "wampcra"
    }

    fn authid(&self) -> Option<&str> {
        Some(&self.authid)
    }

    fn authrole(&self) -> Option<&str> {
        self.authrole.as_deref()
    }

    fn authextra(&self) -> Dict {
        self.authextra.clone()
    }

    fn on_challenge(&self, challenge: &Challenge, _: &ChannelIds) -> Result<String, AuthError> {
        self.sign(challenge)
    }
}
