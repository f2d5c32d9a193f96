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
    /// Decoding the payload would take more memory than `max_decoded_size`
    /// allows (see [`Serializer::unserialize_limited`](crate::wamp::serializer::Serializer::unserialize_limited)).
    #[error("{format} payload exceeds max_decoded_size ({limit} bytes) when decoded")]
    TooLarge {
        /// Serializer id (`json`, `msgpack`, `cbor`).
        format: &'static str,
        /// The limit that was reached, in bytes.
        limit: usize,
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

use std::sync::Arc;

use super::transport::TransportError;
use super::value::{Dict, Value};

/// A WAMP error as the application sees it (Autobahn's `ApplicationError`): an error
/// URI plus optional positional and keyword payload.
///
/// A callee returns one to answer an invocation with ERROR; a caller receives one when
/// a call, subscribe, register ... failed at the router or at the callee. Application
/// error types map to and from it with `From`/`TryFrom` conversions (Autobahn's
/// `define()`), e.g. matching on [`error`](Self::error) and decoding
/// [`kwargs`](Self::kwargs) with [`from_value`](crate::wamp::value::from_value).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApplicationError {
    /// The error URI, e.g. `wamp.error.no_such_procedure` or `com.myapp.error.overflow`.
    pub error: String,
    /// Positional payload.
    pub args: Vec<Value>,
    /// Keyword payload.
    pub kwargs: Dict,
    /// The ERROR message's `Details` (empty for errors raised locally).
    pub details: Dict,
}

impl ApplicationError {
    /// Peer provided an incorrect URI for any URI-based attribute of a WAMP message.
    pub const INVALID_URI: &'static str = "wamp.error.invalid_uri";
    /// A Dealer could not perform a call: no procedure is registered under that URI.
    pub const NO_SUCH_PROCEDURE: &'static str = "wamp.error.no_such_procedure";
    /// A procedure could not be registered: one is already registered under that URI.
    pub const PROCEDURE_ALREADY_EXISTS: &'static str = "wamp.error.procedure_already_exists";
    /// UNREGISTER for a registration that does not exist.
    pub const NO_SUCH_REGISTRATION: &'static str = "wamp.error.no_such_registration";
    /// UNSUBSCRIBE for a subscription that does not exist.
    pub const NO_SUCH_SUBSCRIPTION: &'static str = "wamp.error.no_such_subscription";
    /// A call failed because the given argument types or values are not acceptable.
    pub const INVALID_ARGUMENT: &'static str = "wamp.error.invalid_argument";
    /// A payload could not be encoded or decoded (payload transparency).
    pub const INVALID_PAYLOAD: &'static str = "wamp.error.invalid_payload";
    /// The Peer is shutting down the session (GOODBYE reason).
    pub const SYSTEM_SHUTDOWN: &'static str = "wamp.close.system_shutdown";
    /// The Peer wants to leave the realm (GOODBYE reason).
    pub const CLOSE_REALM: &'static str = "wamp.close.close_realm";
    /// A normal close (Autobahn's default `leave()` reason).
    pub const CLOSE_NORMAL: &'static str = "wamp.close.normal";
    /// The user logs out (GOODBYE reason).
    pub const CLOSE_LOGOUT: &'static str = "wamp.close.logout";
    /// A Peer acknowledges ending a session (GOODBYE reply reason).
    pub const GOODBYE_AND_OUT: &'static str = "wamp.close.goodbye_and_out";
    /// The session ended because the transport was lost.
    pub const TRANSPORT_LOST: &'static str = "wamp.close.transport_lost";
    /// A Peer received a message that violates the protocol (ABORT reason).
    pub const PROTOCOL_VIOLATION: &'static str = "wamp.error.protocol_violation";
    /// The session is not authorized to perform the action.
    pub const NOT_AUTHORIZED: &'static str = "wamp.error.not_authorized";
    /// The action failed because the authorization itself failed.
    pub const AUTHORIZATION_FAILED: &'static str = "wamp.error.authorization_failed";
    /// Authentication failed (ABORT reason).
    pub const AUTHENTICATION_FAILED: &'static str = "wamp.error.authentication_failed";
    /// The client could not answer the authentication challenge (ABORT reason).
    pub const CANNOT_AUTHENTICATE: &'static str = "wamp.error.cannot_authenticate";
    /// No authentication method the client offered is acceptable (ABORT reason).
    pub const NO_AUTH_METHOD: &'static str = "wamp.error.no_auth_method";
    /// The realm does not exist (ABORT reason).
    pub const NO_SUCH_REALM: &'static str = "wamp.error.no_such_realm";
    /// The authrole does not exist (ABORT reason).
    pub const NO_SUCH_ROLE: &'static str = "wamp.error.no_such_role";
    /// The session to resume does not exist.
    pub const NO_SUCH_SESSION: &'static str = "wamp.error.no_such_session";
    /// A Dealer or Callee canceled a call.
    pub const CANCELED: &'static str = "wamp.error.canceled";
    /// A call timed out.
    pub const TIMEOUT: &'static str = "wamp.error.timeout";
    /// An option was disallowed by the Router.
    pub const OPTION_NOT_ALLOWED: &'static str = "wamp.error.option_not_allowed";
    /// No callee is eligible after exclusion and black/whitelisting.
    pub const NO_ELIGIBLE_CALLEE: &'static str = "wamp.error.no_eligible_callee";
    /// The Router rejected the request to disclose the caller/publisher.
    pub const OPTION_DISALLOWED_DISCLOSE_ME: &'static str =
        "wamp.error.option_disallowed.disclose_me";
    /// A Router encountered a network failure.
    pub const NETWORK_FAILURE: &'static str = "wamp.error.network_failure";
    /// The callee failed with something other than an application error (a panic).
    pub const RUNTIME_ERROR: &'static str = "wamp.error.runtime_error";

    /// An error with a URI and no payload.
    pub fn new(error: impl Into<String>) -> ApplicationError {
        ApplicationError {
            error: error.into(),
            ..ApplicationError::default()
        }
    }

    /// An error with a URI and a human readable message as its only positional argument
    /// (the convention Autobahn follows).
    pub fn with_message(error: impl Into<String>, message: impl Into<String>) -> ApplicationError {
        ApplicationError {
            error: error.into(),
            args: vec![Value::String(message.into())],
            ..ApplicationError::default()
        }
    }

    /// Replaces the positional payload.
    pub fn args(mut self, args: Vec<Value>) -> ApplicationError {
        self.args = args;
        self
    }

    /// Replaces the keyword payload.
    pub fn kwargs(mut self, kwargs: Dict) -> ApplicationError {
        self.kwargs = kwargs;
        self
    }

    /// `true` if the error URI is `uri`.
    pub fn is(&self, uri: &str) -> bool {
        self.error == uri
    }

    /// The human readable message: the first positional argument if it is a string
    /// (Autobahn's `error_message()`).
    pub fn message(&self) -> Option<&str> {
        self.args.first().and_then(Value::as_str)
    }
}

impl std::fmt::Display for ApplicationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)?;
        if let Some(m) = self.message() {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApplicationError {}

/// Errors of the WAMP session API (Autobahn's `autobahn.wamp.exception`).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The router or the callee answered with an ERROR.
    #[error(transparent)]
    Application(#[from] ApplicationError),
    /// The transport was lost (or closed) before the request completed.
    #[error("transport lost")]
    TransportLost,
    /// The session is not joined to a realm (yet, or any more).
    #[error("session not ready")]
    SessionNotReady,
    /// The session was closed (GOODBYE or ABORT) before the request completed.
    #[error("session closed: {reason}")]
    SessionClosed {
        /// The close reason URI.
        reason: String,
    },
    /// The peer violated the WAMP protocol; the session was aborted.
    #[error("protocol violation: {0}")]
    ProtocolViolation(String),
    /// A message from the peer is malformed.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A message could not be serialized.
    #[error(transparent)]
    Serialization(#[from] SerializationError),
    /// A typed payload does not fit (serde conversion to or from [`Value`]).
    #[error("payload conversion failed")]
    Value(#[from] ValueError),
    /// A URI given to the API is invalid; nothing was sent.
    #[error("invalid URI '{0}'")]
    InvalidUri(String),
    /// The request is not valid in this state (e.g. `authenticate` without a challenge,
    /// a second `join`).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The call was canceled.
    #[error("call canceled")]
    Canceled,
    /// The call did not complete within its timeout.
    #[error("call timed out")]
    Timeout,
    /// The transport failed to send a message.
    #[error("transport error: {0}")]
    Transport(String),
    /// Connecting to the router failed (why is the source).
    #[error("connecting to {url} failed")]
    Connect {
        /// The router's URL.
        url: String,
        /// The transport's error.
        #[source]
        source: TransportFailure,
    },
    /// [`ApplicationRunner::run`](crate::wamp::ApplicationRunner::run) gave up after
    /// [`RetryPolicy::max_retries`](crate::wamp::RetryPolicy::max_retries) retries;
    /// the last connect failure is the source (none if the last connection was made
    /// but lost before its session joined).
    #[error("gave up on {url} after {attempts} failed attempts")]
    GaveUp {
        /// The router's URL.
        url: String,
        /// Failed attempts in a row (connects, and connections lost before joining).
        attempts: u32,
        /// The last connect failure.
        #[source]
        source: Option<TransportFailure>,
    },
}

/// A [`TransportError`] shared by the clones of an [`Error`](enum@Error) (which is `Clone`):
/// displays as the transport error, and its sources are the transport error's.
/// Two are equal when they are the same failure.
#[derive(Debug, Clone)]
pub struct TransportFailure(Arc<TransportError>);

impl TransportFailure {
    /// The transport error.
    pub fn get(&self) -> &TransportError {
        &self.0
    }
}

impl From<TransportError> for TransportFailure {
    fn from(e: TransportError) -> Self {
        TransportFailure(Arc::new(e))
    }
}

impl PartialEq for TransportFailure {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TransportFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Error {
    /// The application error, if this is one.
    pub fn application_error(&self) -> Option<&ApplicationError> {
        match self {
            Error::Application(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Error> for ApplicationError {
    /// Lets a handler use `?` on session calls: application errors pass through,
    /// everything else becomes `wamp.error.runtime_error` with the error text.
    fn from(e: Error) -> ApplicationError {
        match e {
            Error::Application(a) => a,
            Error::Canceled => ApplicationError::new(ApplicationError::CANCELED),
            Error::Timeout => ApplicationError::new(ApplicationError::TIMEOUT),
            other => {
                let text = crate::websocket::error::Chain(&other).to_string();
                ApplicationError::with_message(ApplicationError::RUNTIME_ERROR, text)
            }
        }
    }
}

impl From<ValueError> for ApplicationError {
    /// A payload that does not decode is an invalid argument.
    fn from(e: ValueError) -> ApplicationError {
        ApplicationError::with_message(ApplicationError::INVALID_ARGUMENT, e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_error_message_and_display() {
        let e = ApplicationError::with_message(ApplicationError::NO_SUCH_PROCEDURE, "no add2");
        assert_eq!(e.message(), Some("no add2"));
        assert_eq!(e.to_string(), "wamp.error.no_such_procedure: no add2");
        assert!(e.is("wamp.error.no_such_procedure"));
        let bare = ApplicationError::new("com.x").args(vec![Value::from(1)]);
        assert_eq!(bare.message(), None, "first arg is not a string");
        assert_eq!(bare.to_string(), "com.x");
    }

    #[test]
    fn session_errors_convert_for_handlers() {
        let app = ApplicationError::new("com.app.err");
        assert_eq!(ApplicationError::from(Error::Application(app.clone())), app);
        assert_eq!(
            ApplicationError::from(Error::Canceled).error,
            ApplicationError::CANCELED
        );
        assert_eq!(
            ApplicationError::from(Error::Timeout).error,
            ApplicationError::TIMEOUT
        );
        let lost = ApplicationError::from(Error::TransportLost);
        assert_eq!(lost.error, ApplicationError::RUNTIME_ERROR);
        assert_eq!(lost.message(), Some("transport lost"));
        let bad = ApplicationError::from(ValueError("expected i64".into()));
        assert_eq!(bad.error, ApplicationError::INVALID_ARGUMENT);
        assert_eq!(
            Error::Application(app.clone()).application_error(),
            Some(&app)
        );
        assert_eq!(Error::SessionNotReady.application_error(), None);
    }
}
