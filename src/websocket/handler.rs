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
///
/// # Examples
///
/// A chat participant that greets, counts what it receives and logs how it ended:
///
/// ```
/// use autobahn::websocket::{WebSocketChannel, WebSocketHandler};
/// use bytes::Bytes;
///
/// struct Chat {
///     channel: WebSocketChannel,
///     received: usize,
/// }
///
/// impl WebSocketHandler for Chat {
///     async fn on_open(&mut self) {
///         let _ = self.channel.send_text("hi all").await;
///     }
///     async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
///         self.received += 1;
///         if !is_binary && &payload[..] == b"quit" {
///             let _ = self.channel.send_close(Some(1000), Some("bye")).await;
///         }
///     }
///     async fn on_ping(&mut self, payload: Bytes) {
///         tracing::debug!(len = payload.len(), "ping (pong already sent)");
///     }
///     async fn on_close(&mut self, was_clean: bool, code: Option<u16>, reason: Option<String>) {
///         tracing::info!(was_clean, ?code, ?reason, received = self.received, "closed");
///     }
/// }
/// ```
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

    /// How this handler takes messages: whole ([`Delivery::Whole`], `on_message`, the
    /// default), frame by frame ([`Delivery::Frames`]) or as they arrive
    /// ([`Delivery::Streaming`]). Asked once, when the connection opens.
    ///
    /// Autobahn|Python picks the mode by which hooks a protocol overrides; a Rust trait
    /// cannot see that, so the handler says it here.
    fn delivery(&self) -> Delivery {
        Delivery::Whole
    }

    /// (Frames, Streaming) A message begins (Autobahn's `onMessageBegin`).
    fn on_message_begin(&mut self, is_binary: bool) -> impl Future<Output = ()> + Send {
        let _ = is_binary;
        async {}
    }

    /// (Streaming) A frame of the message begins; `length` is its payload length on the
    /// wire (compressed, if the message is) (Autobahn's `onMessageFrameBegin`).
    fn on_message_frame_begin(&mut self, length: u64) -> impl Future<Output = ()> + Send {
        let _ = length;
        async {}
    }

    /// (Streaming) Payload of the frame as it arrived: unmasked, inflated, and for text
    /// valid UTF-8 so far (a piece may end inside a character) (Autobahn's
    /// `onMessageFrameData`).
    fn on_message_frame_data(&mut self, payload: Bytes) -> impl Future<Output = ()> + Send {
        let _ = payload;
        async {}
    }

    /// (Streaming) The frame ended (Autobahn's `onMessageFrameEnd`).
    fn on_message_frame_end(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// (Frames) A whole frame of the message: its payload in the pieces it arrived in
    /// (Autobahn's `onMessageFrame`, which also gets a list of pieces). A frame is held
    /// whole, up to `max_frame_payload_size`.
    fn on_message_frame(&mut self, payload: Vec<Bytes>) -> impl Future<Output = ()> + Send {
        let _ = payload;
        async {}
    }

    /// (Frames, Streaming) The message ended, complete and valid (Autobahn's
    /// `onMessageEnd`).
    fn on_message_end(&mut self) -> impl Future<Output = ()> + Send {
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

/// How a [`WebSocketHandler`] takes messages (its [`WebSocketHandler::delivery`]).
///
/// # Examples
///
/// A handler that hashes every message as it arrives, whatever its size (raise
/// `max_message_payload_size` and `max_frame_payload_size`, or set them to 0, for
/// messages past their defaults):
///
/// ```
/// use autobahn::websocket::{Delivery, WebSocketChannel, WebSocketHandler};
/// use bytes::Bytes;
///
/// struct Sizes {
///     channel: WebSocketChannel,
///     len: u64,
/// }
///
/// impl WebSocketHandler for Sizes {
///     fn delivery(&self) -> Delivery {
///         Delivery::Streaming
///     }
///     async fn on_message_begin(&mut self, _is_binary: bool) {
///         self.len = 0;
///     }
///     async fn on_message_frame_data(&mut self, payload: Bytes) {
///         self.len += payload.len() as u64;
///     }
///     async fn on_message_end(&mut self) {
///         let _ = self.channel.send_text(self.len.to_string()).await;
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Each message once complete, to `on_message` (held whole, up to
    /// `max_message_payload_size`).
    #[default]
    Whole,
    /// Autobahn's frame-based API: `on_message_begin`, `on_message_frame` per frame (held
    /// whole, up to `max_frame_payload_size`), `on_message_end`.
    Frames,
    /// Autobahn's streaming API: `on_message_begin`, then per frame
    /// `on_message_frame_begin`, `on_message_frame_data` per piece as it arrives and
    /// `on_message_frame_end`, then `on_message_end`. Nothing is held: a message of any
    /// size passes through bounded memory.
    Streaming,
}

/// A server-side handler: decides on each connection request.
///
/// # Examples
///
/// Accept only `/chat`, choosing the subprotocol and setting a cookie:
///
/// ```
/// use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
/// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerHandler};
///
/// struct Room(WebSocketChannel);
/// impl WebSocketHandler for Room {}
///
/// impl WebSocketServerHandler for Room {
///     async fn on_connect(
///         &mut self,
///         request: &ConnectionRequest,
///     ) -> Result<ConnectionAccept, ConnectionDeny> {
///         if request.path != "/chat" {
///             return Err(ConnectionDeny::new(ConnectionDeny::NOT_FOUND, Some("no such room")));
///         }
///         let accept = if request.protocols.iter().any(|p| p == "chat.v2") {
///             ConnectionAccept::with_subprotocol("chat.v2")
///         } else {
///             ConnectionAccept::new()
///         };
///         Ok(accept.header("Set-Cookie", "room=chat"))
///     }
/// }
/// ```
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
///
/// # Examples
///
/// ```
/// use autobahn::websocket::types::ConnectionResponse;
/// use autobahn::websocket::{WebSocketChannel, WebSocketClientHandler, WebSocketHandler};
///
/// struct Client {
///     channel: WebSocketChannel,
///     protocol: Option<String>,
/// }
/// impl WebSocketHandler for Client {}
///
/// impl WebSocketClientHandler for Client {
///     async fn on_connect(&mut self, response: &ConnectionResponse) {
///         self.protocol = response.protocol.clone();
///         if let Some(cookie) = response.headers.get("Set-Cookie") {
///             tracing::debug!(cookie, "server set a cookie");
///         }
///     }
/// }
/// ```
pub trait WebSocketClientHandler: WebSocketHandler {
    /// The server accepted the connection.
    fn on_connect(&mut self, response: &ConnectionResponse) -> impl Future<Output = ()> + Send {
        let _ = response;
        async {}
    }
}
