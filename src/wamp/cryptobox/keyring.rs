//! The [`KeyRing`]: keys by URI prefix, and the payload codec on top of them.

use std::collections::{BTreeSet, HashMap};

use serde::de::DeserializeSeed;
use serde::Serialize;
use tracing::warn;

use super::error::PayloadError;
use super::key::Key;
use super::{DECRYPT_ERROR, SCHEME, SERIALIZER, TRUSTED_URI_MISMATCH};
use crate::wamp::error::ApplicationError;
use crate::wamp::payload::{EncodedPayload, PayloadCodec};
use crate::wamp::serializer::DEFAULT_MAX_DECODED_SIZE;
use crate::wamp::value::budget::DecodeBudget;
use crate::wamp::value::wire::{ValueSeed, WireDict, WireList};
use crate::wamp::value::{Dict, Value};

/// Cryptobox keys by URI, and the [`PayloadCodec`] that seals and opens WAMP payloads
/// with them, wire-compatible with Autobahn|Python's `cryptobox.KeyRing`.
///
/// A URI takes the key set for its longest prefix (plain string prefix, as
/// Autobahn's trie: `com.myapp` also covers `com.myapp2.x`), else the default key.
/// Set it on a session with
/// [`Session::set_payload_codec`](crate::wamp::Session::set_payload_codec); see the
/// [module documentation](super) for what travels sealed.
///
/// # Examples
///
/// A publisher and a subscriber, each with its own keyring:
///
/// ```
/// use autobahn::wamp::cryptobox::{Key, KeyRing, PrivateKey};
/// use autobahn::wamp::{Dict, PayloadCodec};
/// use autobahn::{dict, list};
///
/// let (publisher, subscriber) = (PrivateKey::generate(), PrivateKey::generate());
/// let mut at_publisher = KeyRing::new();
/// at_publisher.set_key("com.myapp.", Some(Key::new(publisher.clone(), subscriber.public_key())?));
/// let mut at_subscriber = KeyRing::new();
/// at_subscriber.set_key("com.myapp.", Some(Key::new(publisher.public_key(), subscriber)?));
///
/// // PUBLISH: sealed by the originator (is_originating = true) ...
/// let (args, kwargs) = (list![1, "two"], dict! { "three" => 3 });
/// let sealed = at_publisher.encode(true, "com.myapp.topic", &args, &kwargs)?.expect("a key");
/// assert_eq!((sealed.enc_algo.as_str(), sealed.enc_serializer.as_deref()), ("cryptobox", Some("json")));
/// // ... EVENT: opened by the responder.
/// assert_eq!(at_subscriber.decode(true, "com.myapp.topic", sealed)?, (args, kwargs));
/// // Outside the keyring's URIs payloads travel in the clear.
/// assert!(at_publisher.encode(true, "com.other.topic", &[], &Dict::new())?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: HashMap<String, Key>,
    /// The distinct lengths of the URIs in `keys`: a lookup tries only these
    /// prefixes of a (possibly long, router-chosen) URI.
    lengths: BTreeSet<usize>,
    default: Option<Key>,
}

impl KeyRing {
    /// An empty keyring: every payload travels in the clear.
    pub fn new() -> KeyRing {
        KeyRing::default()
    }

    /// A keyring with a key for every URI (Autobahn's `KeyRing(default_key)`).
    ///
    /// ```
    /// use autobahn::wamp::cryptobox::{Key, KeyRing, PrivateKey};
    ///
    /// let ring = KeyRing::with_default(Key::shared(PrivateKey::generate()));
    /// assert!(ring.key_for("any.uri.at.all").is_some());
    /// ```
    pub fn with_default(key: Key) -> KeyRing {
        KeyRing {
            default: Some(key),
            ..KeyRing::default()
        }
    }

    /// Sets the key of a URI prefix (Autobahn's `set_key`); `""` sets the default key,
    /// `None` removes the key.
    ///
    /// ```
    /// use autobahn::wamp::cryptobox::{Key, KeyRing, PrivateKey};
    ///
    /// let (outer, inner) = (Key::shared(PrivateKey::generate()), Key::shared(PrivateKey::generate()));
    /// let mut ring = KeyRing::new();
    /// ring.set_key("com.myapp", Some(outer.clone()));
    /// ring.set_key("com.myapp.secret", Some(inner.clone()));
    /// let public = |key: Option<&Key>| key.map(|k| k.originator_public().clone());
    /// assert_eq!(public(ring.key_for("com.myapp.secret.x")), public(Some(&inner)));
    /// assert_eq!(public(ring.key_for("com.myapp.open")), public(Some(&outer)));
    /// assert!(ring.key_for("org.other").is_none());
    /// ring.set_key("com.myapp", None);
    /// assert!(ring.key_for("com.myapp.open").is_none());
    /// ```
    pub fn set_key(&mut self, uri: impl Into<String>, key: Option<Key>) {
        let uri = uri.into();
        if uri.is_empty() {
            self.default = key;
            return;
        }
        match key {
            Some(key) => {
                self.keys.insert(uri, key);
            }
            None => {
                self.keys.remove(&uri);
            }
        }
        self.lengths = self.keys.keys().map(String::len).collect();
    }

    /// The key for `uri`: the one of its longest prefix on the ring, else the default.
    pub fn key_for(&self, uri: &str) -> Option<&Key> {
        self.lengths
            .range(..=uri.len())
            .rev()
            .filter_map(|&n| uri.get(..n))
            .find_map(|prefix| self.keys.get(prefix))
            .or(self.default.as_ref())
    }

    /// Seals `args` and `kwargs` for `uri` as the originator (CALL, PUBLISH) or the
    /// responder (YIELD); `Ok(None)` if the keyring has no key for that side
    /// of `uri` (the payload travels in the clear).
    pub fn seal(
        &self,
        as_originator: bool,
        uri: &str,
        args: &[Value],
        kwargs: &Dict,
    ) -> Result<Option<EncodedPayload>, PayloadError> {
        let Some(key) = self.key_for(uri) else {
            return Ok(None);
        };
        let can_seal = if as_originator {
            key.can_originate()
        } else {
            key.can_respond()
        };
        if !can_seal {
            return Ok(None);
        }
        let plaintext = serde_json::to_vec(&Plaintext {
            uri,
            args: WireList(args),
            kwargs: WireDict(kwargs),
        })
        .map_err(|e| PayloadError::Plaintext(e.to_string()))?;
        let sealed = key.seal(as_originator, &plaintext)?;
        Ok(Some(
            EncodedPayload::new(sealed, SCHEME).serializer(SERIALIZER),
        ))
    }

    /// Opens a payload received for `uri` as the originator (RESULT, ERROR) or the
    /// responder (INVOCATION, EVENT), and checks that it was sealed for `uri`.
    pub fn open(
        &self,
        as_originator: bool,
        uri: &str,
        payload: &EncodedPayload,
    ) -> Result<(Vec<Value>, Dict), PayloadError> {
        if payload.enc_algo != SCHEME {
            return Err(PayloadError::Scheme(payload.enc_algo.clone()));
        }
        if payload.enc_serializer.as_deref() != Some(SERIALIZER) {
            return Err(PayloadError::Serializer(payload.enc_serializer.clone()));
        }
        let key = self
            .key_for(uri)
            .ok_or_else(|| PayloadError::NoKey(uri.to_owned()))?;
        let plaintext = key
            .open(as_originator, &payload.payload)
            .map_err(|e| match e {
                PayloadError::NoPrivateKey(_) => PayloadError::NoKey(uri.to_owned()),
                e => e,
            })?;
        let (inner, args, kwargs) = parse_plaintext(&plaintext)?;
        if inner != uri {
            return Err(PayloadError::UriMismatch {
                inner,
                outer: uri.to_owned(),
            });
        }
        Ok((args, kwargs))
    }
}

/// What Autobahn seals: `{"uri": ..., "args": [...], "kwargs": {...}}` in WAMP's JSON
/// (binary as `"\0" + base64`).
#[derive(Serialize)]
struct Plaintext<'a> {
    uri: &'a str,
    args: WireList<'a, true>,
    kwargs: WireDict<'a, true>,
}

fn parse_plaintext(plaintext: &[u8]) -> Result<(String, Vec<Value>, Dict), PayloadError> {
    let invalid = |what: &str| PayloadError::Plaintext(what.to_owned());
    let budget = DecodeBudget::new(DEFAULT_MAX_DECODED_SIZE);
    let mut de = serde_json::Deserializer::from_slice(plaintext);
    let value = ValueSeed::new(true, &budget)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| PayloadError::Plaintext(e.to_string()))?;
    let Value::Dict(mut fields) = value else {
        return Err(invalid("not an object"));
    };
    let uri = match fields.remove("uri") {
        Some(Value::String(uri)) => uri,
        _ => return Err(invalid("no 'uri' string")),
    };
    // Autobahn writes `null` for a missing payload.
    let args = match fields.remove("args") {
        Some(Value::List(args)) => args,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(invalid("'args' is not a list")),
    };
    let kwargs = match fields.remove("kwargs") {
        Some(Value::Dict(kwargs)) => kwargs,
        None | Some(Value::Null) => Dict::new(),
        Some(_) => return Err(invalid("'kwargs' is not an object")),
    };
    Ok((uri, args, kwargs))
}

/// The codec's `is_originating` names the direction of the message (CALL, PUBLISH,
/// INVOCATION, EVENT: `true`); the keyring's side is the peer's role: the originator
/// seals CALL/PUBLISH and opens RESULT/ERROR, the responder the other way round.
impl PayloadCodec for KeyRing {
    fn encode(
        &self,
        is_originating: bool,
        uri: &str,
        args: &[Value],
        kwargs: &Dict,
    ) -> Result<Option<EncodedPayload>, ApplicationError> {
        self.seal(is_originating, uri, args, kwargs).map_err(|e| {
            warn!(uri, error = %e, "cryptobox: payload not sealed");
            ApplicationError::with_message(ApplicationError::INVALID_PAYLOAD, e.to_string())
        })
    }

    fn decode(
        &self,
        is_originating: bool,
        uri: &str,
        payload: EncodedPayload,
    ) -> Result<(Vec<Value>, Dict), ApplicationError> {
        self.open(!is_originating, uri, &payload).map_err(|e| {
            warn!(uri, error = %e, "cryptobox: payload not opened");
            let uri = match e {
                PayloadError::UriMismatch { .. } => TRUSTED_URI_MISMATCH,
                _ => DECRYPT_ERROR,
            };
            ApplicationError::with_message(uri, e.to_string())
        })
    }
}
