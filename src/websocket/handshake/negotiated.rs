//! What an opening handshake settled, for the connection that follows it.

#[cfg(feature = "deflate")]
use crate::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
use crate::websocket::types::Extension;

/// The outcome of a successful opening handshake, on either side: everything the
/// connection needs besides its role.
///
/// [`ServerHandshake::respond`](super::ServerHandshake::respond) and
/// [`ClientHandshake::check_response`](super::ClientHandshake::check_response) give
/// one; a connection built over an upgraded stream starts from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Negotiated {
    /// The subprotocol both sides speak, if any.
    pub subprotocol: Option<String>,
    /// The extensions in force, as the server's `Sec-WebSocket-Extensions` listed them.
    pub extensions: Vec<Extension>,
    /// The permessage-deflate parameters, when compression was agreed.
    #[cfg(feature = "deflate")]
    pub deflate: Option<PerMessageDeflateParams>,
}

impl Negotiated {
    /// A fresh permessage-deflate codec for this connection (`is_server`: our role),
    /// when compression was agreed.
    #[cfg(feature = "deflate")]
    pub fn deflate_codec(&self, is_server: bool) -> Option<PerMessageDeflate> {
        self.deflate.map(|p| PerMessageDeflate::new(is_server, p))
    }
}
