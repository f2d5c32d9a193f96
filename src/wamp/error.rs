//! Errors of the sans-IO WAMP core: malformed messages ([`ProtocolError`]) and
//! failures to encode or decode them ([`SerializationError`]).
//!
//! These mirror `autobahn.wamp.exception.ProtocolError` and
//! `autobahn.wamp.exception.SerializationError`; the session-level error type
//! wraps them.

use thiserror::Error;

/// A WAMP message that is structurally invalid: wrong type code, wrong number
/// of elements, or an element of the wrong type or range.
///
/// A peer that receives such a message must abort the session with
/// `wamp.error.protocol_violation`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The message is not a list.
    #[error("WAMP message must be a list, got {0}")]
    NotAList(&'static str),
    /// The message is an empty list.
    #[error("WAMP message is an empty list")]
    Empty,
    /// The first element is not a non-negative integer.
    #[error("WAMP message type must be an integer, got {0}")]
    InvalidMessageType(&'static str),
    /// The message type code is not one this implementation knows.
    #[error("unknown WAMP message type {0}")]
    UnknownMessageType(u64),
    /// The number of elements does not fit the message type.
    #[error("invalid length {len} for WAMP message {message}")]
    InvalidLength {
        /// Spec name of the message, e.g. `CALL`.
        message: &'static str,
        /// Number of elements received (including the type code).
        len: usize,
    },
    /// An element has the wrong type or is out of range.
    #[error("invalid '{field}' in WAMP message {message}: expected {expected}, got {got}")]
    InvalidField {
        /// Spec name of the message, e.g. `CALL`.
        message: &'static str,
        /// Spec name of the element, e.g. `Request`.
        field: &'static str,
        /// What was expected, e.g. `id (integer in [0, 2^53])`.
        expected: &'static str,
        /// Short description of what was received.
        got: String,
    },
    /// A URI element does not pass URI validation.
    #[error("invalid URI '{uri}' for '{field}' in WAMP message {message}")]
    InvalidUri {
        /// Spec name of the message, e.g. `CALL`.
        message: &'static str,
        /// Spec name of the element, e.g. `Procedure`.
        field: &'static str,
        /// The offending URI.
        uri: String,
    },
    /// `ERROR.REQUEST.Type` names a message that cannot be answered with ERROR.
    #[error("invalid request type {0} in WAMP message ERROR")]
    InvalidErrorRequestType(u64),
}

/// Failure to turn a message into bytes or bytes into messages.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SerializationError {
    /// Encoding a message failed.
    #[error("{format} encoding failed: {reason}")]
    Encode {
        /// Serializer id (`json`, `msgpack`, `cbor`).
        format: &'static str,
        /// Description from the underlying encoder.
        reason: String,
    },
    /// The bytes are not valid in the serialization format (syntax, truncation,
    /// nesting too deep, unsupported types, bad base64 in a JSON binary string ...).
    #[error("{format} decoding failed: {reason}")]
    Decode {
        /// Serializer id (`json`, `msgpack`, `cbor`).
        format: &'static str,
        /// Description from the underlying decoder.
        reason: String,
    },
    /// The payload arrived in a text frame for a binary serializer, or vice versa.
    #[error("{format} payload received as {} message", if *.is_binary { "binary" } else { "text" })]
    WrongFrameType {
        /// Serializer id (`json`, `msgpack`, `cbor`).
        format: &'static str,
        /// The frame type the payload arrived in.
        is_binary: bool,
    },
    /// Batched-mode framing is broken (length prefix past the end of the payload).
    #[error("{format} batched framing error: {reason}")]
    Batch {
        /// Serializer id (`json`, `msgpack`, `cbor`).
        format: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The bytes decode to a value that is not a valid WAMP message.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

/// Failure of [`to_value`](crate::wamp::value::to_value) or
/// [`from_value`](crate::wamp::value::from_value): the Rust type does not fit
/// the dynamic value (wrong type, missing field, non-string map key ...).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl serde::ser::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}
