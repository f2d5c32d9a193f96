//! What can go wrong with cryptobox keys and sealed payloads.

/// A key that cannot be built (Autobahn raises while constructing its `Key`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The text is not standard base64.
    #[error("a cryptobox key is not valid base64")]
    Base64(#[source] base64::DecodeError),
    /// The key is not 32 bytes long.
    #[error("a cryptobox key has {0} bytes, not 32")]
    Length(usize),
    /// A public key was given next to its private key and is not the private key's.
    #[error("the {0} public key does not belong to the {0} private key")]
    Mismatch(&'static str),
    /// A side has neither a private nor a public key.
    #[error("the {0} key is missing: give its private or its public key")]
    Missing(&'static str),
    /// Neither side's private key is known: the key can neither seal nor open.
    #[error("insufficient keys: a private key of the originator or the responder is needed")]
    Insufficient,
}

/// A payload that cannot be sealed or opened (on the wire, when opening: an ERROR with
/// [`DECRYPT_ERROR`](super::DECRYPT_ERROR) or
/// [`TRUSTED_URI_MISMATCH`](super::TRUSTED_URI_MISMATCH), or a dropped event).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The payload's scheme (`enc_algo`) is not `cryptobox`.
    #[error("the payload scheme is '{0}', not 'cryptobox'")]
    Scheme(String),
    /// The serializer inside the box (`enc_serializer`) is not `json`.
    #[error("the serializer inside the box is {0:?}, not 'json'")]
    Serializer(Option<String>),
    /// No key on the keyring for the URI, or the key lacks this side's private key.
    #[error("received an encrypted payload for '{0}', but no key for it")]
    NoKey(String),
    /// The [`Key`](super::Key) has no private key of this side (`"originator"` or
    /// `"responder"`).
    #[error("the key has no private key of the {0}")]
    NoPrivateKey(&'static str),
    /// Shorter than a nonce and an authentication tag.
    #[error("an encrypted payload of {0} bytes is shorter than its nonce and tag (40 bytes)")]
    Truncated(usize),
    /// Encryption failed (only a payload past the cipher's size limit, ~256 GiB).
    #[error("the payload cannot be encrypted")]
    Encrypt,
    /// The authentication failed: the wrong key, or the bytes were changed.
    #[error("the payload does not decrypt: wrong key or tampered ciphertext")]
    Decrypt,
    /// The plaintext is not the JSON object Autobahn seals.
    #[error("the decrypted payload is not a cryptobox JSON object: {0}")]
    Plaintext(String),
    /// The URI sealed inside the box is not the one of the message that carried it.
    #[error("the URI inside the box ('{inner}') does not match the message's ('{outer}')")]
    UriMismatch {
        /// The URI inside the box.
        inner: String,
        /// The URI of the message (procedure, topic or error).
        outer: String,
    },
}
