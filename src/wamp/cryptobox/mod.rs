//! WAMP-cryptobox: end-to-end encrypted payloads, wire-compatible with
//! Autobahn|Python's `autobahn.wamp.cryptobox` (feature `cryptobox`).
//!
//! A [`KeyRing`] set as the session's [`PayloadCodec`](crate::wamp::PayloadCodec)
//! seals the `args`/`kwargs` of calls, publications and results in a NaCl box
//! (X25519, XSalsa20-Poly1305) so the router only passes opaque bytes on. Keys are
//! per URI prefix ([`Key`]): the *originator* (caller, publisher) and the *responder*
//! (callee, subscriber) each hold their private key and the other's public key.
//!
//! | message | sealed / opened by | box |
//! |---|---|---|
//! | CALL, PUBLISH | sealed by the caller / publisher | originator private + responder public |
//! | INVOCATION, EVENT | opened by the callee / subscriber | responder private + originator public |
//! | YIELD, ERROR (of a sealed INVOCATION) | sealed by the callee, keyed by the procedure / the error URI | responder private + originator public |
//! | RESULT, ERROR | opened by the caller, keyed by the procedure / the error URI | originator private + responder public |
//!
//! On the wire, as Autobahn writes it: the options carry `enc_algo: "cryptobox"` and
//! `enc_serializer: "json"` (no `enc_key`), and the only argument is one binary value:
//! a random 24-byte nonce followed by the ciphertext of the JSON object
//! `{"uri": ..., "args": [...], "kwargs": {...}}` (WAMP's JSON, binary as
//! `"\0" + base64`). The URI inside is checked against the message's: a payload sealed
//! for another procedure or topic is refused ([`TRUSTED_URI_MISMATCH`]).
//!
//! The keyring's rules, as Autobahn's:
//! - a URI without a key (and no default key) travels in the clear;
//! - a plain payload is accepted even for a URI that has a key (an unencrypted peer's
//!   call or event is passed to the application unchanged), and a plain call gets a
//!   plain result;
//! - a sealed payload that cannot be opened (no key, the wrong key, garbled or
//!   truncated bytes, another serializer) fails with [`DECRYPT_ERROR`]: a call gets it
//!   as its error, an invocation is answered with it, an event is dropped with a
//!   tracing warning (and reported as a user error); an ERROR whose payload does not
//!   open keeps its URI and comes with the sealed payload as it was.
//!
//! One difference from Autobahn|Python: a callee seals an ERROR only for a sealed
//! INVOCATION, as it seals a YIELD. Autobahn seals every error whose URI has a key, so
//! a caller without a codec gets an error payload it cannot open.
//!
//! # Examples
//!
//! A keyring on a session (the peer on the other side holds the matching key):
//!
//! ```no_run
//! # async fn run(session: autobahn::wamp::Session) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use autobahn::wamp::cryptobox::{Key, KeyRing, PrivateKey, PublicKey};
//!
//! let mine = PrivateKey::from_base64("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")?;
//! let callee = PublicKey::from_base64("VxR2nRFr92Q2rnS8eT0sMK0ZA8WaxSc4BcfiaYtBDDY=")?;
//! let mut keyring = KeyRing::new();
//! keyring.set_key("com.myapp.", Some(Key::new(mine, callee)?));
//! session.set_payload_codec(Some(Arc::new(keyring)));
//! # Ok(()) }
//! ```

mod error;
mod key;
mod keyring;

pub use error::{KeyError, PayloadError};
pub use key::{Key, Party, PrivateKey, PublicKey};
pub use keyring::KeyRing;

/// The payload scheme (`enc_algo`).
pub const SCHEME: &str = "cryptobox";
/// The serializer inside the box (`enc_serializer`).
pub const SERIALIZER: &str = "json";
/// The error of a sealed payload that cannot be opened (Autobahn's
/// `ApplicationError.ENC_DECRYPT_ERROR`).
pub const DECRYPT_ERROR: &str = "wamp.error.encryption.decrypt_error";
/// The error of a payload sealed for another URI (Autobahn's
/// `ApplicationError.ENC_TRUSTED_URI_MISMATCH`).
pub const TRUSTED_URI_MISMATCH: &str = "wamp.error.encryption.trusted_uri_mismatch";

#[cfg(test)]
mod tests;
