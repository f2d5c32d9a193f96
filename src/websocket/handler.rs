//! The callback traits applications implement (Autobahn's `IWebSocketChannel` hooks).

use std::future::Future;

use bytes::Bytes;

use super::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest, ConnectionResponse};

/// Hooks common to servers and clients (Autobahn's `onOpen`, `onMessage`, `onClose`, plus
/// ping/pong). Every method has a default that does nothing.
///
/// Hooks run one at a time, in the order of events. While a hook awaits, the connection
/// keeps answering pings and closes, and buffers a bounded number of further messages;
/// past that bound, it stops reading from the peer (TCP backpressure).
pub trait WebSocketHandler: Send + 'static {
    /// The opening handshake completed; messages can be sent.
    fn on_open(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A complete message arrived (`is_binary` false: the payload is valid UTF-8 when
    /// `utf8_validate_incoming` is on).
    fn on_message(&mut self, payload: Bytes, is_binary: bool) -> impl Future<Output = ()> + Send {
        let _ = (payload, is_binary);
        async {}
    }

    /// A ping arrived; the pong was already sent.
    fn on_ping(&mut self, payload: Bytes) -> impl Future<Output = ()> + Send {
        let _ = payload;
        async {}
    }

    /// A pong arrived.
    fn on_pong(&mut self, payload: Bytes) -> impl Future<Output = ()> + Send {
        let _ = payload;
        async {}
    }

    /// The connection is closed. `was_clean` tells whether the closing handshake
    /// completed; `code` and `reason` are the peer's, or 1006 if the connection was lost
    /// without a close frame.
    fn on_close(
        &mut self,
        was_clean: bool,
        code: Option<u16>,
        reason: Option<String>,
    ) -> impl Future<Output = ()> + Send {
        let _ = (was_clean, code, reason);
        async {}
    }
}

/// A server-side handler: decides on each connection request.
pub trait WebSocketServerHandler: WebSocketHandler {
    /// A client asks to connect. Return the subprotocol (one the client offered, or
    /// `None`) and extra headers to accept, or a [`ConnectionDeny`] to refuse with an
    /// HTTP error. The default accepts, choosing the subprotocol from the factory's list.
    fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> impl Future<Output = Result<ConnectionAccept, ConnectionDeny>> + Send {
        let _ = request;
        async { Ok(ConnectionAccept::default()) }
    }
}

/// A client-side handler: sees the server's handshake response.
pub trait WebSocketClientHandler: WebSocketHandler {
    /// The server accepted the connection.
    fn on_connect(&mut self, response: &ConnectionResponse) -> impl Future<Output = ()> + Send {
        let _ = response;
        async {}
    }
}
