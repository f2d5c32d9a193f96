//! Curve25519 key pairs and the per-URI [`Key`] of a keyring.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use crypto_box::aead::{Aead, AeadCore, OsRng};
use crypto_box::{Nonce, SalsaBox};

use super::error::{KeyError, PayloadError};

/// Bytes of the random nonce in front of every sealed payload (XSalsa20).
pub(super) const NONCE_LEN: usize = 24;
/// Bytes of the Poly1305 authentication tag.
const TAG_LEN: usize = 16;

/// A Curve25519 private key (Autobahn's `nacl.public.PrivateKey`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::cryptobox::PrivateKey;
///
/// let key = PrivateKey::generate();
/// let again = PrivateKey::from_base64(&key.to_base64())?;
/// assert_eq!(again.public_key(), key.public_key());
/// # Ok::<(), autobahn::wamp::cryptobox::KeyError>(())
/// ```
#[derive(Clone)]
pub struct PrivateKey(crypto_box::SecretKey);

impl PrivateKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> PrivateKey {
        PrivateKey(crypto_box::SecretKey::generate(&mut OsRng))
    }

    /// The key of these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> PrivateKey {
        PrivateKey(crypto_box::SecretKey::from_bytes(bytes))
    }

    /// The key from standard base64 (as `KeyRing.generate_key()` writes it).
    pub fn from_base64(text: &str) -> Result<PrivateKey, KeyError> {
        key_bytes(text).map(PrivateKey::from_bytes)
    }

    /// The key as standard base64.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0.to_bytes())
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.public_key())
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret itself.
        f.debug_tuple("PrivateKey")
            .field(&self.public_key())
            .finish()
    }
}

/// A Curve25519 public key (Autobahn's `nacl.public.PublicKey`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::cryptobox::{PrivateKey, PublicKey};
///
/// let public = PrivateKey::generate().public_key();
/// assert_eq!(PublicKey::from_base64(&public.to_base64())?, public);
/// assert!(PublicKey::from_base64("too short").is_err());
/// # Ok::<(), autobahn::wamp::cryptobox::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(crypto_box::PublicKey);

impl PublicKey {
    /// The key of these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> PublicKey {
        PublicKey(crypto_box::PublicKey::from_bytes(bytes))
    }

    /// The key from standard base64.
    pub fn from_base64(text: &str) -> Result<PublicKey, KeyError> {
        key_bytes(text).map(PublicKey::from_bytes)
    }

    /// The key as standard base64.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0.as_bytes())
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.to_base64()).finish()
    }
}

fn key_bytes(text: &str) -> Result<[u8; 32], KeyError> {
    let bytes = BASE64.decode(text.trim()).map_err(KeyError::Base64)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Length(bytes.len()))
}

/// One side's half of a [`Key`]: its private key where this peer plays that side,
/// else the other peer's public key.
#[derive(Debug, Clone)]
pub enum Party {
    /// This peer holds the side's private key.
    Private(PrivateKey),
    /// Only the side's public key is known.
    Public(PublicKey),
}

impl Party {
    fn public_key(&self) -> PublicKey {
        match self {
            Party::Private(k) => k.public_key(),
            Party::Public(k) => k.clone(),
        }
    }

    fn private_key(&self) -> Option<&PrivateKey> {
        match self {
            Party::Private(k) => Some(k),
            Party::Public(_) => None,
        }
    }
}

impl From<PrivateKey> for Party {
    fn from(key: PrivateKey) -> Party {
        Party::Private(key)
    }
}

impl From<PublicKey> for Party {
    fn from(key: PublicKey) -> Party {
        Party::Public(key)
    }
}

/// The keys of one URI (or URI prefix) on a [`KeyRing`](super::KeyRing)
/// (Autobahn's `cryptobox.Key`).
///
/// The *originator* is the caller or publisher, the *responder* the callee or
/// subscriber. An originator seals CALL and PUBLISH and opens RESULT and ERROR with
/// its private key and the responder's public key; a responder opens INVOCATION and
/// EVENT and seals YIELD with its private key and the originator's public key.
///
/// # Examples
///
/// A caller and a callee, each with its own private key and the other's public key,
/// seal and open each other's payloads:
///
/// ```
/// use autobahn::wamp::cryptobox::{Key, PrivateKey};
///
/// let (caller, callee) = (PrivateKey::generate(), PrivateKey::generate());
/// let at_caller = Key::new(caller.clone(), callee.public_key())?;
/// let at_callee = Key::new(caller.public_key(), callee)?;
///
/// let sealed = at_caller.seal(true, b"to the callee")?;
/// assert_eq!(at_callee.open(false, &sealed)?, b"to the callee");
/// // Anyone else's key does not open it.
/// let stranger = Key::new(caller.public_key(), PrivateKey::generate())?;
/// assert!(stranger.open(false, &sealed).is_err());
/// let answer = at_callee.seal(false, b"to the caller")?;
/// assert_eq!(at_caller.open(true, &answer)?, b"to the caller");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Key {
    originator_public: PublicKey,
    responder_public: PublicKey,
    // Shared: the boxes are not `Clone`, and a keyring's keys are cloned with it.
    originator_box: Option<Arc<SalsaBox>>,
    responder_box: Option<Arc<SalsaBox>>,
}

impl Key {
    /// A key from both sides' halves; at least one must be private.
    pub fn new(originator: impl Into<Party>, responder: impl Into<Party>) -> Result<Key, KeyError> {
        let (originator, responder) = (originator.into(), responder.into());
        let (originator_public, responder_public) =
            (originator.public_key(), responder.public_key());
        let boxed = |private: Option<&PrivateKey>, peer: &PublicKey| {
            private.map(|k| Arc::new(SalsaBox::new(&peer.0, &k.0)))
        };
        let originator_box = boxed(originator.private_key(), &responder_public);
        let responder_box = boxed(responder.private_key(), &originator_public);
        if originator_box.is_none() && responder_box.is_none() {
            return Err(KeyError::Insufficient);
        }
        Ok(Key {
            originator_public,
            responder_public,
            originator_box,
            responder_box,
        })
    }

    /// One private key for both sides (Autobahn's `KeyRing.set_key(uri, priv)`): every
    /// peer holding it can seal and open in both directions.
    ///
    /// ```
    /// use autobahn::wamp::cryptobox::{Key, PrivateKey};
    ///
    /// let shared = Key::shared(PrivateKey::generate());
    /// let sealed = shared.seal(true, b"both ways")?;
    /// assert_eq!(shared.open(false, &sealed)?, b"both ways");
    /// # Ok::<(), autobahn::wamp::cryptobox::PayloadError>(())
    /// ```
    pub fn shared(private: PrivateKey) -> Key {
        let public = private.public_key();
        let crypto_box = Arc::new(SalsaBox::new(&public.0, &private.0));
        Key {
            originator_public: public.clone(),
            responder_public: public,
            originator_box: Some(crypto_box.clone()),
            responder_box: Some(crypto_box),
        }
    }

    /// Autobahn's `Key(originator_priv, originator_pub, responder_priv, responder_pub)`
    /// from base64: per side the private key, or the public key, or both (then they
    /// must match).
    ///
    /// ```
    /// use autobahn::wamp::cryptobox::{Key, KeyError, PrivateKey};
    ///
    /// let (me, peer) = (PrivateKey::generate(), PrivateKey::generate());
    /// let peer_public = peer.public_key().to_base64();
    /// let key = Key::from_base64(Some(&me.to_base64()), None, None, Some(&peer_public))?;
    /// assert!(key.can_originate() && !key.can_respond());
    /// let neither = Key::from_base64(None, Some(&peer_public), None, Some(&peer_public));
    /// assert!(matches!(neither, Err(KeyError::Insufficient)));
    /// # Ok::<(), KeyError>(())
    /// ```
    pub fn from_base64(
        originator_private: Option<&str>,
        originator_public: Option<&str>,
        responder_private: Option<&str>,
        responder_public: Option<&str>,
    ) -> Result<Key, KeyError> {
        let originator = party("originator", originator_private, originator_public)?;
        let responder = party("responder", responder_private, responder_public)?;
        Key::new(originator, responder)
    }

    /// The originator's (caller's, publisher's) public key.
    pub fn originator_public(&self) -> &PublicKey {
        &self.originator_public
    }

    /// The responder's (callee's, subscriber's) public key.
    pub fn responder_public(&self) -> &PublicKey {
        &self.responder_public
    }

    /// `true` if this key can seal calls and publications and open their results.
    pub fn can_originate(&self) -> bool {
        self.originator_box.is_some()
    }

    /// `true` if this key can open invocations and events and seal their results.
    pub fn can_respond(&self) -> bool {
        self.responder_box.is_some()
    }

    fn crypto_box(&self, as_originator: bool) -> Option<&SalsaBox> {
        if as_originator {
            self.originator_box.as_deref()
        } else {
            self.responder_box.as_deref()
        }
    }

    /// Seals `plaintext` as the originator (`true`) or the responder: a random
    /// 24-byte nonce followed by the XSalsa20-Poly1305 ciphertext, as PyNaCl's
    /// `Box.encrypt` lays it out. [`PayloadError::NoPrivateKey`] if this side's private
    /// key is unknown.
    pub fn seal(&self, as_originator: bool, plaintext: &[u8]) -> Result<Vec<u8>, PayloadError> {
        let crypto_box = self
            .crypto_box(as_originator)
            .ok_or(PayloadError::NoPrivateKey(side(as_originator)))?;
        let nonce = SalsaBox::generate_nonce(&mut OsRng);
        let ciphertext = crypto_box
            .encrypt(&nonce, plaintext)
            .map_err(|_| PayloadError::Encrypt)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens what the other side sealed, as the originator (`true`) or the responder.
    pub fn open(&self, as_originator: bool, sealed: &[u8]) -> Result<Vec<u8>, PayloadError> {
        let crypto_box = self
            .crypto_box(as_originator)
            .ok_or(PayloadError::NoPrivateKey(side(as_originator)))?;
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(PayloadError::Truncated(sealed.len()));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        crypto_box
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| PayloadError::Decrypt)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("originator_public", &self.originator_public)
            .field("responder_public", &self.responder_public)
            .field("can_originate", &self.can_originate())
            .field("can_respond", &self.can_respond())
            .finish()
    }
}

fn side(as_originator: bool) -> &'static str {
    if as_originator {
        "originator"
    } else {
        "responder"
    }
}

fn party(
    side: &'static str,
    private: Option<&str>,
    public: Option<&str>,
) -> Result<Party, KeyError> {
    match (private, public) {
        (Some(private), public) => {
            let private = PrivateKey::from_base64(private)?;
            match public.map(PublicKey::from_base64).transpose()? {
                Some(public) if public != private.public_key() => Err(KeyError::Mismatch(side)),
                _ => Ok(Party::Private(private)),
            }
        }
        (None, Some(public)) => Ok(Party::Public(PublicKey::from_base64(public)?)),
        (None, None) => Err(KeyError::Missing(side)),
    }
}
