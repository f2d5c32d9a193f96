//! [`WebSocketBuilder`]: a connection over a stream whose opening handshake was done
//! elsewhere, outside any factory.

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};

use super::channel::WebSocketChannel;
use super::connection::WebSocket;
use super::driver::{DriverConfig, Io};
use super::handshake::Negotiated;
use super::options::{ClientOptions, ServerOptions};
use super::peer::PeerAddr;
use super::protocol::{ProtocolConfig, Receiver, Role, Sender};
use super::span;

/// Builds a [`WebSocket`] over a stream whose opening handshake was negotiated
/// elsewhere (another HTTP stack, a test harness, a stream handed over by another
/// process): our role and options, what the handshake settled ([`Negotiated`]:
/// subprotocol, permessage-deflate), the peer's address, and bytes already read past
/// the handshake.
///
/// No handshake is run and no bytes are written before the first message: the
/// connection is open at once. Limits, timeouts and auto-ping come from the options;
/// a server factory's `max_connections` and message budget do not apply (use
/// [`WebSocketServerFactory::upgraded_websocket`](super::WebSocketServerFactory::upgraded_websocket)
/// for those).
///
/// # Examples
///
/// Both ends of an in-memory pipe, one the client, one the server, agreeing on a
/// subprotocol (and on compression, with the `deflate` feature):
///
/// ```
/// use autobahn::websocket::handshake::Negotiated;
/// use autobahn::websocket::options::{ClientOptions, ServerOptions};
/// use autobahn::websocket::{Message, WebSocketBuilder};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (client_end, server_end) = tokio::io::duplex(64 * 1024);
/// let negotiated = Negotiated {
///     subprotocol: Some("chat".into()),
///     ..Negotiated::default()
/// };
/// # #[cfg(feature = "deflate")]
/// # let negotiated = Negotiated {
/// #     deflate: Some(Default::default()),
/// #     ..negotiated
/// # };
/// let mut server = WebSocketBuilder::server(&ServerOptions::default())
///     .negotiated(negotiated.clone())
///     .build(server_end);
/// let mut client = WebSocketBuilder::client(&ClientOptions::default())
///     .negotiated(negotiated)
///     .build(client_end);
///
/// tokio::spawn(async move {
///     while let Some(message) = server.recv().await {
///         if server.send(message).await.is_err() {
///             break;
///         }
///     }
/// });
/// client.send("hello").await?;
/// assert_eq!(client.recv().await, Some(Message::from("hello")));
/// let close = client.close(Some(1000), None).await?;
/// assert!(close.was_clean);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WebSocketBuilder {
    protocol: ProtocolConfig,
    driver: DriverConfig,
    /// Messages shorter than this go uncompressed.
    #[cfg(feature = "deflate")]
    compression_threshold: usize,
    negotiated: Negotiated,
    peer_addr: PeerAddr,
    read_ahead: BytesMut,
}

impl WebSocketBuilder {
    /// The server end of a connection, with these options (their handshake settings do
    /// not apply: the handshake is done).
    pub fn server(options: &ServerOptions) -> Self {
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut builder = Self::new(options.protocol_config(), server_driver_config(options));
        #[cfg(feature = "deflate")]
        {
            builder.compression_threshold = options.per_message_compression_threshold;
        }
        builder
    }

    /// The client end of a connection, with these options (their handshake settings do
    /// not apply: the handshake is done).
    pub fn client(options: &ClientOptions) -> Self {
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut builder = Self::new(options.protocol_config(), client_driver_config(options));
        #[cfg(feature = "deflate")]
        {
            builder.compression_threshold = options.per_message_compression_threshold;
        }
        builder
    }

    fn new(protocol: ProtocolConfig, driver: DriverConfig) -> Self {
        Self {
            protocol,
            driver,
            #[cfg(feature = "deflate")]
            compression_threshold: 0,
            negotiated: Negotiated::default(),
            peer_addr: PeerAddr::default(),
            read_ahead: BytesMut::new(),
        }
    }

    /// Replaces the timing and closing behaviour (a server factory's, with its budget).
    pub(crate) fn driver_config(mut self, driver: DriverConfig) -> Self {
        self.driver = driver;
        self
    }

    /// What the handshake settled: the subprotocol, the extensions, and (feature
    /// `deflate`) the permessage-deflate parameters, which turn compression on. Both
    /// ends must be given the same.
    pub fn negotiated(mut self, negotiated: Negotiated) -> Self {
        self.negotiated = negotiated;
        self
    }

    /// Turns permessage-deflate on with these agreed parameters (the `deflate` field of
    /// [`Self::negotiated`]). Both ends must be given the same.
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, params: super::deflate::PerMessageDeflateParams) -> Self {
        use super::deflate::EXTENSION_NAME;
        self.negotiated.deflate = Some(params);
        // Listed too, for the connection's span.
        let extensions = &mut self.negotiated.extensions;
        if !extensions
            .iter()
            .any(|e| e.name.eq_ignore_ascii_case(EXTENSION_NAME))
        {
            extensions.push(super::types::Extension::new(EXTENSION_NAME));
        }
        self
    }

    /// The peer's address (default: [`PeerAddr::Other`] with empty text), for
    /// [`WebSocket::peer_addr`] and the connection's log span.
    pub fn peer_addr(mut self, peer_addr: impl Into<PeerAddr>) -> Self {
        self.peer_addr = peer_addr.into();
        self
    }

    /// Bytes already read from the stream after the handshake (frames the peer sent
    /// right behind it); they are decoded before anything read from the stream.
    pub fn read_ahead(mut self, bytes: &[u8]) -> Self {
        self.read_ahead.extend_from_slice(bytes);
        self
    }

    /// The connection over `stream`, open.
    pub fn build<S>(self, stream: S) -> WebSocket<S>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let role = match self.protocol.role {
            Role::Server => "server",
            Role::Client => "client",
        };
        let span = span::connection_span(role, &self.peer_addr, None);
        span::record_negotiated(
            &span,
            self.negotiated.subprotocol.as_deref(),
            &self.negotiated.extensions,
        );
        let channel = WebSocketChannel::new(Sender::new(self.protocol.clone()), self.peer_addr);
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut receiver = Receiver::new(self.protocol.clone());
        #[cfg(feature = "deflate")]
        if let Some(params) = &self.negotiated.deflate {
            let is_server = self.protocol.role == Role::Server;
            let threshold = self.compression_threshold;
            super::connection::install_deflate(
                params,
                is_server,
                threshold,
                &mut receiver,
                &channel,
            );
        }
        let io = span.in_scope(|| Io::new(stream, self.read_ahead, channel, receiver, self.driver));
        WebSocket::from_io(io, span).speaking(self.negotiated.subprotocol)
    }
}

/// A server connection's timing and closing behaviour (no message budget: that is a
/// factory's).
pub(crate) fn server_driver_config(o: &ServerOptions) -> DriverConfig {
    DriverConfig {
        role: Role::Server,
        fail_by_drop: o.fail_by_drop,
        echo_close_code_reason: o.echo_close_code_reason,
        close_handshake_timeout: o.close_handshake_timeout,
        server_connection_drop_timeout: None,
        auto_ping_interval: o.auto_ping_interval,
        auto_ping_timeout: o.auto_ping_timeout,
        auto_ping_size: o.auto_ping_size,
        log_octets: o.log_octets,
        max_queued_bytes: o.max_queued_bytes,
        message_timeout: o.message_timeout,
        budget: None,
    }
}

/// A client connection's timing and closing behaviour.
pub(crate) fn client_driver_config(o: &ClientOptions) -> DriverConfig {
    DriverConfig {
        role: Role::Client,
        fail_by_drop: o.fail_by_drop,
        echo_close_code_reason: o.echo_close_code_reason,
        close_handshake_timeout: o.close_handshake_timeout,
        server_connection_drop_timeout: o.server_connection_drop_timeout,
        auto_ping_interval: o.auto_ping_interval,
        auto_ping_timeout: o.auto_ping_timeout,
        auto_ping_size: o.auto_ping_size,
        log_octets: o.log_octets,
        max_queued_bytes: o.max_queued_bytes,
        message_timeout: o.message_timeout,
        budget: None,
    }
}
