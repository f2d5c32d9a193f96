//! WAMP v2 client: messages, serializers, session protocol, transports and the application API.

pub mod auth;
#[cfg(feature = "cryptobox")]
pub mod cryptobox;
pub mod error;
pub mod message;
pub mod payload;
pub mod protocol;
pub mod rawsocket_transport;
pub mod runner;
pub mod serializer;
pub mod session;
pub mod transport;
pub mod types;
pub mod uri;
pub mod value;
pub mod websocket_transport;

pub use error::{ApplicationError, Error, TransportFailure};
pub use payload::{EncodedPayload, PayloadCodec, PptKeys};
pub use runner::{ApplicationRunner, ConnectFailure, RetryPolicy, StopHandle};
pub use session::{ApplicationSession, Session, TypedError};
pub use types::*;
pub use value::{Dict, Value};
