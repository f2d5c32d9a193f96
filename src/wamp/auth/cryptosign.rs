//! WAMP-Cryptosign: Ed25519 signatures over the router's challenge, optionally bound
//! to the TLS channel, optionally with the router proving its own key.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::RngCore;

use super::{extra_str, AuthError, Authenticator, ChannelIds};
use crate::wamp::types::{Challenge, SessionDetails};
use crate::wamp::value::{Dict, Value};

/// Length of a cryptosign challenge (and of the message signed).
const CHALLENGE_LEN: usize = 32;

/// An Ed25519 signing key for WAMP-Cryptosign (Autobahn's `CryptosignKey`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::auth::CryptosignKey;
/// use autobahn::wamp::Challenge;
/// use autobahn::dict;
///
/// let key = CryptosignKey::from_seed(&[7; 32]);
/// assert_eq!(key.public_key().len(), 64); // hex, for the router's principal config
/// assert_eq!(CryptosignKey::from_seed_hex(&"07".repeat(32))?.public_key(), key.public_key());
///
/// let challenge = Challenge {
///     method: "cryptosign".into(),
///     extra: dict! { "challenge" => "ab".repeat(32) },
/// };
/// let answer = key.sign_challenge(&challenge, None)?;
/// assert_eq!(answer.len(), 2 * (64 + 32)); // hex of signature and signed challenge
/// assert!(answer.ends_with(&"ab".repeat(32)));
/// # Ok::<(), autobahn::wamp::auth::AuthError>(())
/// ```
#[derive(Clone)]
pub struct CryptosignKey {
    key: SigningKey,
}

impl CryptosignKey {
    /// A key from its 32-byte seed (the private key).
    pub fn from_seed(seed: &[u8; 32]) -> CryptosignKey {
        CryptosignKey {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// A key from its 32-byte seed given as bytes (Autobahn's `from_bytes`).
    pub fn from_bytes(seed: &[u8]) -> Result<CryptosignKey, AuthError> {
        let seed: &[u8; 32] = seed
            .try_into()
            .map_err(|_| AuthError::InvalidKey(format!("seed is {} bytes, not 32", seed.len())))?;
        Ok(CryptosignKey::from_seed(seed))
    }

    /// A key from its seed in hex (64 hex digits), as the `privkey` of Autobahn's
    /// `AuthCryptoSign`.
    pub fn from_seed_hex(hex_seed: &str) -> Result<CryptosignKey, AuthError> {
        let seed = hex::decode(hex_seed.trim())
            .map_err(|e| AuthError::InvalidKey(format!("seed is not hex: {e}")))?;
        CryptosignKey::from_bytes(&seed)
    }

    /// A key from an unencrypted OpenSSH Ed25519 private key (the text of an
    /// `id_ed25519` file; Autobahn's `from_ssh_bytes`).
    pub fn from_ssh_key(openssh: &str) -> Result<CryptosignKey, AuthError> {
        let key = ssh_key::PrivateKey::from_openssh(openssh.trim())
            .map_err(|e| AuthError::InvalidKey(format!("not an OpenSSH private key: {e}")))?;
        if key.is_encrypted() {
            return Err(AuthError::InvalidKey(
                "encrypted OpenSSH private keys are not supported".into(),
            ));
        }
        let pair = key.key_data().ed25519().ok_or_else(|| {
            AuthError::InvalidKey(format!(
                "OpenSSH key is {}, not Ed25519",
                key.algorithm().as_str()
            ))
        })?;
        Ok(CryptosignKey::from_seed(&pair.private.to_bytes()))
    }

    /// A key from an OpenSSH private key file (Autobahn's `from_ssh_file`).
    pub fn from_ssh_file(path: impl AsRef<Path>) -> Result<CryptosignKey, AuthError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuthError::InvalidKey(format!("{}: {e}", path.display())))?;
        CryptosignKey::from_ssh_key(&text)
    }

    /// A new random key.
    pub fn generate() -> CryptosignKey {
        let mut seed = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut seed);
        CryptosignKey::from_seed(&seed)
    }

    /// The public key (32 bytes).
    pub fn public_key_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The public key in hex, as routers list it in `authorized_keys`.
    pub fn public_key(&self) -> String {
        hex::encode(self.public_key_bytes())
    }

    /// Signs `data` (64-byte Ed25519 signature).
    pub fn sign(&self, data: &[u8]) -> [u8; 64] {
        self.key.sign(data).to_bytes()
    }

    /// The AUTHENTICATE signature for a cryptosign challenge (Autobahn's
    /// `sign_challenge`): the 32-byte challenge, XORed with `channel_id` when the
    /// session is bound to the channel, is signed; the answer is
    /// hex(signature ‖ signed message), 96 bytes.
    pub fn sign_challenge(
        &self,
        challenge: &Challenge,
        channel_id: Option<&[u8]>,
    ) -> Result<String, AuthError> {
        let raw = decode_challenge(&challenge.method, extra_str(challenge, "challenge")?)?;
        let message = bind(&challenge.method, raw, channel_id)?;
        let mut out = Vec::with_capacity(64 + CHALLENGE_LEN);
        out.extend_from_slice(&self.sign(&message));
        out.extend_from_slice(&message);
        Ok(hex::encode(out))
    }
}

impl fmt::Debug for CryptosignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CryptosignKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

fn decode_challenge(method: &str, hex_text: &str) -> Result<[u8; CHALLENGE_LEN], AuthError> {
    let raw =
        hex::decode(hex_text).map_err(|e| AuthError::challenge(method, format!("not hex: {e}")))?;
    raw.as_slice().try_into().map_err(|_| {
        AuthError::challenge(
            method,
            format!("challenge is {} bytes, not {CHALLENGE_LEN}", raw.len()),
        )
    })
}

/// The message to sign: the challenge, XORed with the channel id when bound.
fn bind(
    method: &str,
    mut challenge: [u8; CHALLENGE_LEN],
    channel_id: Option<&[u8]>,
) -> Result<[u8; CHALLENGE_LEN], AuthError> {
    if let Some(id) = channel_id {
        if id.len() != CHALLENGE_LEN {
            return Err(AuthError::challenge(
                method,
                format!("channel id is {} bytes, not {CHALLENGE_LEN}", id.len()),
            ));
        }
        for (c, i) in challenge.iter_mut().zip(id) {
            *c ^= i;
        }
    }
    Ok(challenge)
}

/// WAMP-Cryptosign (Autobahn's `AuthCryptoSign`): announces the public key in
/// `authextra.pubkey` and signs the router's challenge.
///
/// Options beyond Autobahn's constructor:
/// - [`channel_binding`](Self::channel_binding) binds the signature to the TLS
///   channel; authentication fails with [`AuthError::ChannelBinding`] when the
///   transport cannot give that channel id (Crossbar wants `tls-unique`, which TLS 1.3
///   and rustls do not have).
/// - [`verify_router`](Self::verify_router) sends a challenge of our own in
///   `authextra.challenge` and requires the router to sign it with the given trusted
///   key (Crossbar signs with its node key and puts `signature` and `pubkey` in the
///   CHALLENGE).
///
/// # Examples
///
/// ```no_run
/// use autobahn::wamp::auth::{AuthCryptosign, CryptosignKey};
/// use autobahn::wamp::{ApplicationRunner, ApplicationSession};
///
/// struct App;
/// impl ApplicationSession for App {}
///
/// # async fn run(router_pubkey: [u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
/// let key = CryptosignKey::from_ssh_file("/home/me/.ssh/id_ed25519")?;
/// let auth = AuthCryptosign::new(key)
///     .authid("client01@example.com")
///     .authrole("device")
///     .verify_router(&router_pubkey)?; // the router must prove its identity too
/// ApplicationRunner::new("wss://router.example.com/ws", "devices")
///     .authentication(auth)
///     .run(|_config| App)
///     .await?;
/// # Ok(())
/// # }
/// ```
pub struct AuthCryptosign {
    key: CryptosignKey,
    authid: Option<String>,
    authrole: Option<String>,
    channel_binding: Option<String>,
    trusted_router: Option<VerifyingKey>,
    /// Our challenge to the router in the current HELLO.
    router_challenge: Mutex<Option<[u8; CHALLENGE_LEN]>>,
    /// The router's signature over our challenge was verified in this attempt.
    router_verified: AtomicBool,
    authextra: Dict,
}

impl AuthCryptosign {
    /// Authenticates with `key`; the router finds the authid from the public key
    /// unless [`authid`](Self::authid) names it.
    pub fn new(key: CryptosignKey) -> AuthCryptosign {
        AuthCryptosign {
            key,
            authid: None,
            authrole: None,
            channel_binding: None,
            trusted_router: None,
            router_challenge: Mutex::new(None),
            router_verified: AtomicBool::new(false),
            authextra: Dict::new(),
        }
    }

    /// Announces an authid.
    pub fn authid(mut self, authid: impl Into<String>) -> AuthCryptosign {
        self.authid = Some(authid.into());
        self
    }

    /// Asks for an authrole.
    pub fn authrole(mut self, authrole: impl Into<String>) -> AuthCryptosign {
        self.authrole = Some(authrole.into());
        self
    }

    /// Binds the authentication to the transport channel (`tls-unique` or
    /// `tls-exporter`), announced in `authextra.channel_binding`.
    pub fn channel_binding(mut self, binding: impl Into<String>) -> AuthCryptosign {
        self.channel_binding = Some(binding.into());
        self
    }

    /// Requires the router to prove it holds the private key of `router_pubkey`
    /// (32 bytes) by signing a random challenge of ours.
    pub fn verify_router(mut self, router_pubkey: &[u8; 32]) -> Result<AuthCryptosign, AuthError> {
        let key = VerifyingKey::from_bytes(router_pubkey)
            .map_err(|e| AuthError::InvalidKey(format!("router public key: {e}")))?;
        self.trusted_router = Some(key);
        Ok(self)
    }

    /// Adds an entry to `HELLO.Details.authextra`.
    pub fn with_authextra(
        mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
    ) -> AuthCryptosign {
        self.authextra.insert(key.into(), value.into());
        self
    }

    /// The key in use.
    pub fn key(&self) -> &CryptosignKey {
        &self.key
    }

    /// Checks the router's signature over our challenge.
    fn check_router(
        &self,
        challenge: &Challenge,
        channel_id: Option<&[u8]>,
    ) -> Result<(), AuthError> {
        let Some(trusted) = &self.trusted_router else {
            return Ok(());
        };
        let ours = self
            .router_challenge
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ok_or_else(|| AuthError::RouterAuthentication("no challenge was sent".into()))?;
        let fail = |m: &str| AuthError::RouterAuthentication(m.to_owned());
        let signed = match challenge.extra.get("signature") {
            Some(Value::String(s)) => hex::decode(s).map_err(|_| fail("signature is not hex"))?,
            _ => return Err(fail("the router did not sign our challenge")),
        };
        if let Some(Value::String(pk)) = challenge.extra.get("pubkey") {
            if !pk.eq_ignore_ascii_case(&hex::encode(trusted.to_bytes())) {
                return Err(fail("the router's key is not the trusted one"));
            }
        }
        if signed.len() != 64 + CHALLENGE_LEN {
            return Err(fail("signature has the wrong length"));
        }
        let (sig, message) = signed.split_at(64);
        let expected = bind(&challenge.method, ours, channel_id)?;
        if message != expected {
            return Err(fail("the router signed a different message"));
        }
        let sig = Signature::from_slice(sig).map_err(|_| fail("malformed signature"))?;
        trusted
            .verify(message, &sig)
            .map_err(|_| fail("the router's signature is invalid"))?;
        self.router_verified.store(true, Ordering::Release);
        Ok(())
    }
}

impl fmt::Debug for AuthCryptosign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCryptosign")
            .field("public_key", &self.key.public_key())
            .field("authid", &self.authid)
            .field("authrole", &self.authrole)
            .field("channel_binding", &self.channel_binding)
            .field("verify_router", &self.trusted_router.is_some())
            .finish()
    }
}

impl Authenticator for AuthCryptosign {
    fn method(&self) -> &str {
        "cryptosign"
    }

    fn authid(&self) -> Option<&str> {
        self.authid.as_deref()
    }

    fn authrole(&self) -> Option<&str> {
        self.authrole.as_deref()
    }

    fn authextra(&self) -> Dict {
        let mut extra = self.authextra.clone();
        extra.insert("pubkey".into(), Value::from(self.key.public_key()));
        if let Some(b) = &self.channel_binding {
            extra.insert("channel_binding".into(), Value::from(b.as_str()));
        }
        if self.trusted_router.is_some() {
            let mut ours = [0u8; CHALLENGE_LEN];
            rand::thread_rng().fill_bytes(&mut ours);
            extra.insert("challenge".into(), Value::from(hex::encode(ours)));
            *self
                .router_challenge
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(ours);
            self.router_verified.store(false, Ordering::Release);
        }
        extra
    }

    fn on_welcome(&self, _: &SessionDetails) -> Result<(), AuthError> {
        // A router that welcomes us without a CHALLENGE has not proven its key.
        if self.trusted_router.is_some() && !self.router_verified.swap(false, Ordering::AcqRel) {
            return Err(AuthError::RouterAuthentication(
                "the router did not prove its key (no cryptosign challenge)".into(),
            ));
        }
        Ok(())
    }

    fn on_challenge(
        &self,
        challenge: &Challenge,
        channel: &ChannelIds,
    ) -> Result<String, AuthError> {
        let channel_id = match &self.channel_binding {
            Some(b) => Some(
                channel
                    .get(b)
                    .ok_or_else(|| AuthError::ChannelBinding(b.clone()))?,
            ),
            None => None,
        };
        self.check_router(challenge, channel_id)?;
        self.key.sign_challenge(challenge, channel_id)
    }
}

#[cfg(test)]
impl AuthCryptosign {
    /// Sets our router challenge, as if a HELLO had sent it.
    pub(super) fn set_router_challenge(&self, challenge: [u8; CHALLENGE_LEN]) {
        *self.router_challenge.lock().unwrap() = Some(challenge);
    }
}

/// Verifies a cryptosign AUTHENTICATE signature (hex(signature ‖ message)) against a
/// public key, as a router does; returns the signed message.
#[cfg(test)]
pub(super) fn verify_signed_message(pubkey: &[u8; 32], signed_hex: &str) -> Option<Vec<u8>> {
    let signed = hex::decode(signed_hex).ok()?;
    if signed.len() != 64 + CHALLENGE_LEN {
        return None;
    }
    let key = VerifyingKey::from_bytes(pubkey).ok()?;
    let (sig, message) = signed.split_at(64);
    key.verify(message, &Signature::from_slice(sig).ok()?)
        .ok()?;
    Some(message.to_vec())
}
