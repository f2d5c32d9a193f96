//! Payload transparency (Autobahn's `IPayloadCodec` and `EncodedPayload`).
//!
//! In payload transparency mode the application payload travels as one opaque binary
//! value that the router passes on untouched (end-to-end encryption, custom
//! serializations, MQTT payloads bridged into WAMP). A [`PayloadCodec`] set on the
//! session with [`Session::set_payload_codec`](crate::wamp::Session::set_payload_codec)
//! turns `args`/`kwargs` into an [`EncodedPayload`] on the way out (CALL, PUBLISH,
//! YIELD) and back on the way in (RESULT, EVENT, INVOCATION). As in Autobahn, a YIELD
//! is encoded only when its INVOCATION came encoded: a caller without the codec gets
//! its result in the clear.
//!
//! Two sets of option names exist and both are accepted on receive:
//!
//! | meaning | Autobahn / Crossbar.io ([`PptKeys::Autobahn`]) | WAMP spec ([`PptKeys::Spec`]) |
//! |---|---|---|
//! | scheme | `enc_algo` | `ppt_scheme` |
//! | serializer | `enc_serializer` | `ppt_serializer` |
//! | key id | `enc_key` | `ppt_keyid` |
//! | cipher | – | `ppt_cipher` |
//!
//! With the Autobahn names the payload is written bare in the `Arguments` position
//! (`[PUBLISH, id, {"enc_algo": ...}, topic, <bytes>]`), as Autobahn|Python and
//! Crossbar.io 26.10 expect; with the spec names it is the only element of
//! `Arguments|list`. Crossbar.io 26.10 only knows the Autobahn names: it drops the
//! `ppt_*` keys, so a peer behind it receives the bare binary argument without them.
//!
//! Without a codec, a received encoded payload is handed to the application as it is:
//! the binary payload as the only positional argument and the scheme in
//! [`EventDetails::enc_algo`](crate::wamp::EventDetails::enc_algo) /
//! [`CallDetails::enc_algo`](crate::wamp::CallDetails::enc_algo) (Autobahn raises an
//! error instead; passing it through lets an application bridge MQTT-like payloads).
//! ERROR payloads are decoded when they are encoded (Autobahn encodes them; a payload
//! that does not decode is left as it came) but never encoded: an error URI and its
//! arguments stay readable for the router and for callers without the codec.

use super::error::ApplicationError;
use super::value::{Dict, Value};

/// Which option names an [`EncodedPayload`] is sent with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PptKeys {
    /// `enc_algo`, `enc_serializer`, `enc_key`, payload bare (Autobahn|Python,
    /// Crossbar.io).
    #[default]
    Autobahn,
    /// `ppt_scheme`, `ppt_serializer`, `ppt_cipher`, `ppt_keyid`, payload in a list
    /// (the WAMP specification).
    Spec,
}

/// An encoded application payload (Autobahn's `EncodedPayload`).
///
/// # Examples
///
/// ```
/// use autobahn::wamp::{Dict, EncodedPayload, PptKeys};
///
/// let encoded = EncodedPayload::new(vec![1, 2, 3], "x_mine").serializer("cbor").keys(PptKeys::Spec);
/// let mut options = Dict::new();
/// encoded.write_keys(&mut options); // the spec's names
/// assert_eq!(options["ppt_scheme"].as_str(), Some("x_mine"));
/// assert_eq!(options["ppt_serializer"].as_str(), Some("cbor"));
///
/// // And back, from a received message's options and arguments.
/// let args = encoded.clone().into_args();
/// let received = EncodedPayload::from_message(&options, &args, &Dict::new());
/// assert_eq!(received, Some(Ok(encoded)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPayload {
    /// The encoded payload.
    pub payload: Vec<u8>,
    /// The scheme (`enc_algo` / `ppt_scheme`): `cryptobox`, `mqtt`, `xbr` or a custom
    /// one starting with `x_`.
    pub enc_algo: String,
    /// The serializer used inside the payload (`enc_serializer` / `ppt_serializer`).
    pub enc_serializer: Option<String>,
    /// The key id (`enc_key` / `ppt_keyid`).
    pub enc_key: Option<String>,
    /// The cipher (`ppt_cipher`; the Autobahn names have none).
    pub cipher: Option<String>,
    /// The option names to send it with (on receive: the names it came with).
    pub keys: PptKeys,
}

impl EncodedPayload {
    /// A payload of scheme `enc_algo`, sent with the Autobahn names.
    pub fn new(payload: impl Into<Vec<u8>>, enc_algo: impl Into<String>) -> EncodedPayload {
        EncodedPayload {
            payload: payload.into(),
            enc_algo: enc_algo.into(),
            enc_serializer: None,
            enc_key: None,
            cipher: None,
            keys: PptKeys::Autobahn,
        }
    }

    /// Sets the serializer.
    pub fn serializer(mut self, serializer: impl Into<String>) -> EncodedPayload {
        self.enc_serializer = Some(serializer.into());
        self
    }

    /// Sets the option names.
    pub fn keys(mut self, keys: PptKeys) -> EncodedPayload {
        self.keys = keys;
        self
    }

    /// Writes the scheme, serializer, key and cipher into a message's `Options` or
    /// `Details` under the names of [`keys`](Self::keys).
    pub fn write_keys(&self, dict: &mut Dict) {
        let names = match self.keys {
            PptKeys::Autobahn => ["enc_algo", "enc_serializer", "enc_key", ""],
            PptKeys::Spec => ["ppt_scheme", "ppt_serializer", "ppt_keyid", "ppt_cipher"],
        };
        let values = [
            Some(&self.enc_algo),
            self.enc_serializer.as_ref(),
            self.enc_key.as_ref(),
            self.cipher.as_ref(),
        ];
        for (name, value) in names.into_iter().zip(values) {
            if let (false, Some(v)) = (name.is_empty(), value) {
                dict.insert(name.to_owned(), Value::from(v.as_str()));
            }
        }
    }

    /// The payload as the message's `Arguments`.
    pub fn into_args(self) -> Vec<Value> {
        vec![Value::bytes(self.payload)]
    }

    /// Recognizes an encoded payload in a received message: `dict` (its `Details` or
    /// `Options`) holds `enc_algo` or `ppt_scheme`. `None` for a plain payload;
    /// `Some(Err)` when the keys are there but the payload is not one binary (or
    /// string) argument without keywords.
    pub fn from_message(
        dict: &Dict,
        args: &[Value],
        kwargs: &Dict,
    ) -> Option<Result<EncodedPayload, ApplicationError>> {
        let s = |k: &str| dict.get(k).and_then(Value::as_str).map(str::to_owned);
        let (keys, algo) = if let Some(a) = s("enc_algo") {
            (PptKeys::Autobahn, a)
        } else {
            (PptKeys::Spec, s("ppt_scheme")?)
        };
        let payload = match (args, kwargs.is_empty()) {
            ([Value::Bytes(b)], true) => b.to_vec(),
            ([Value::String(t)], true) => t.as_bytes().to_vec(),
            _ => {
                return Some(Err(ApplicationError::with_message(
                    ApplicationError::INVALID_PAYLOAD,
                    "an encoded payload must be one binary value",
                )))
            }
        };
        let (serializer, key, cipher) = match keys {
            PptKeys::Autobahn => (s("enc_serializer"), s("enc_key"), None),
            PptKeys::Spec => (s("ppt_serializer"), s("ppt_keyid"), s("ppt_cipher")),
        };
        Some(Ok(EncodedPayload {
            payload,
            enc_algo: algo,
            enc_serializer: serializer,
            enc_key: key,
            cipher,
            keys,
        }))
    }
}

/// Encodes and decodes application payloads (Autobahn's `IPayloadCodec`).
///
/// `is_originating` is `true` for the side that starts the interaction: encoding a
/// CALL or PUBLISH, decoding an INVOCATION or EVENT; `false` for YIELD and RESULT.
/// `uri` is the procedure or topic (for a RESULT: the procedure called).
/// Errors carry a WAMP error URI (use [`ApplicationError::INVALID_PAYLOAD`]): an
/// encoding error fails the request, a decoding error fails the call (RESULT), is
/// returned to the caller (INVOCATION), or is reported as a user error (EVENT).
///
/// # Examples
///
/// A codec of its own scheme (`x_` prefix): the payload as JSON with its bytes
/// XORed by a shared key, a stand-in for real encryption.
///
/// ```
/// use autobahn::wamp::error::ApplicationError;
/// use autobahn::wamp::value::{Dict, Value};
/// use autobahn::wamp::{EncodedPayload, PayloadCodec};
/// use autobahn::{dict, list};
///
/// struct XorCodec(u8);
///
/// fn invalid<E>(_: E) -> ApplicationError {
///     ApplicationError::new(ApplicationError::INVALID_PAYLOAD)
/// }
///
/// impl PayloadCodec for XorCodec {
///     fn encode(
///         &self,
///         _is_originating: bool,
///         _uri: &str,
///         args: &[Value],
///         kwargs: &Dict,
///     ) -> Result<Option<EncodedPayload>, ApplicationError> {
///         let mut bytes = serde_json::to_vec(&(args, kwargs)).map_err(invalid)?;
///         bytes.iter_mut().for_each(|b| *b ^= self.0);
///         Ok(Some(EncodedPayload::new(bytes, "x_xor").serializer("json")))
///     }
///
///     fn decode(
///         &self,
///         _is_originating: bool,
///         _uri: &str,
///         payload: EncodedPayload,
///     ) -> Result<(Vec<Value>, Dict), ApplicationError> {
///         let bytes: Vec<u8> = payload.payload.iter().map(|b| b ^ self.0).collect();
///         serde_json::from_slice(&bytes).map_err(invalid)
///     }
/// }
///
/// let codec = XorCodec(0x5a);
/// let (args, kwargs) = (list![1, "secret"], dict! { "k" => true });
/// let encoded = codec.encode(true, "com.example.topic", &args, &kwargs)?.expect("encoded");
/// assert_eq!(encoded.enc_algo, "x_xor");
/// assert_eq!(codec.decode(true, "com.example.topic", encoded)?, (args, kwargs));
/// // In a session: session.set_payload_codec(Some(std::sync::Arc::new(XorCodec(0x5a))));
/// # Ok::<(), ApplicationError>(())
/// ```
pub trait PayloadCodec: Send + Sync + 'static {
    /// Encodes a payload; `Ok(None)` sends it unencoded. The payload is lent, not
    /// given: a codec that declines (`None`) costs no copy of it.
    fn encode(
        &self,
        is_originating: bool,
        uri: &str,
        args: &[Value],
        kwargs: &Dict,
    ) -> Result<Option<EncodedPayload>, ApplicationError>;

    /// Decodes a received payload into positional and keyword arguments.
    fn decode(
        &self,
        is_originating: bool,
        uri: &str,
        payload: EncodedPayload,
    ) -> Result<(Vec<Value>, Dict), ApplicationError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict;

    #[test]
    fn keys_both_ways() {
        let mut p = EncodedPayload::new(b"abc".to_vec(), "x_custom").serializer("json");
        let mut d = Dict::new();
        p.write_keys(&mut d);
        assert_eq!(
            d,
            dict! {"enc_algo" => "x_custom", "enc_serializer" => "json"}
        );
        let back = EncodedPayload::from_message(&d, &p.clone().into_args(), &Dict::new());
        assert_eq!(back, Some(Ok(p.clone())));

        p.keys = PptKeys::Spec;
        p.cipher = Some("xsalsa20poly1305".into());
        p.enc_key = Some("k1".into());
        let mut d = Dict::new();
        p.write_keys(&mut d);
        assert_eq!(
            d,
            dict! {
                "ppt_scheme" => "x_custom", "ppt_serializer" => "json",
                "ppt_keyid" => "k1", "ppt_cipher" => "xsalsa20poly1305",
            }
        );
        let back = EncodedPayload::from_message(&d, &p.clone().into_args(), &Dict::new());
        assert_eq!(back, Some(Ok(p)));
    }

    #[test]
    fn plain_and_malformed_payloads() {
        assert_eq!(
            EncodedPayload::from_message(&Dict::new(), &[Value::from(1)], &Dict::new()),
            None
        );
        let d = dict! {"ppt_scheme" => "mqtt"};
        let bad = EncodedPayload::from_message(&d, &[Value::from(1)], &Dict::new());
        assert!(matches!(bad, Some(Err(e)) if e.error == ApplicationError::INVALID_PAYLOAD));
        let bad = EncodedPayload::from_message(&d, &[], &Dict::new());
        assert!(matches!(bad, Some(Err(_))));
        // A string payload (JSON without the binary convention) is taken as its bytes.
        let ok = EncodedPayload::from_message(&d, &[Value::from("hi")], &Dict::new());
        assert_eq!(
            ok.and_then(Result::ok).map(|p| p.payload),
            Some(b"hi".to_vec())
        );
    }
}
