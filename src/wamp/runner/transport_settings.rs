//! How the [`ApplicationRunner`] reaches the router: the transport options it holds for
//! both transports (keepalive on by default), its builder methods for them, and
//! [`ApplicationRunner::connect`].

use std::time::Duration;

use super::ApplicationRunner;
use crate::rawsocket::SerializerId;
use crate::wamp::message::Message;
use crate::wamp::rawsocket_transport::{RawSocketOptions, RawSocketTransport};
use crate::wamp::serializer::DEFAULT_MAX_DECODED_SIZE;
use crate::wamp::transport::{Transport, TransportError};
use crate::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use crate::websocket::client::{Proxy, WebSocketClientFactory};
use crate::websocket::options::ClientOptions;
use crate::websocket::types::Headers;

/// After how long without traffic the runner's transports probe the router by default
/// (Autobahn's runner: `autoPingInterval` 10 s): a WebSocket PING, or on RawSocket a
/// WAMP probe (see [`KeepaliveProbe`](crate::wamp::rawsocket_transport::KeepaliveProbe)).
pub const DEFAULT_AUTO_PING_INTERVAL: Duration = Duration::from_secs(10);

/// How long the runner's transports wait for the router's answer to a probe by default
/// before they give the connection up and the runner reconnects (Autobahn's runner:
/// `autoPingTimeout` 5 s; on RawSocket anything received counts as an answer).
pub const DEFAULT_AUTO_PING_TIMEOUT: Duration = Duration::from_secs(5);

/// A WAMP transport of either kind, as the runner connects it from a URL.
#[derive(Debug)]
pub enum AnyTransport {
    /// `ws://` or `wss://`.
    WebSocket(WebSocketTransport),
    /// `rs://`, `rss://` (TCP, TLS or `unix:` path).
    RawSocket(RawSocketTransport),
}

impl Transport for AnyTransport {
    async fn send(&mut self, msg: Message) -> Result<(), TransportError> {
        match self {
            Self::WebSocket(t) => t.send(msg).await,
            Self::RawSocket(t) => t.send(msg).await,
        }
    }

    async fn recv(&mut self) -> Option<Result<Message, TransportError>> {
        match self {
            Self::WebSocket(t) => t.recv().await,
            Self::RawSocket(t) => t.recv().await,
        }
    }

    fn is_open(&self) -> bool {
        match self {
            Self::WebSocket(t) => t.is_open(),
            Self::RawSocket(t) => t.is_open(),
        }
    }

    async fn close(&mut self) {
        match self {
            Self::WebSocket(t) => t.close().await,
            Self::RawSocket(t) => t.close().await,
        }
    }

    fn abort(&mut self) {
        match self {
            Self::WebSocket(t) => t.abort(),
            Self::RawSocket(t) => t.abort(),
        }
    }

    fn channel_id(&self, binding: &str) -> Option<Vec<u8>> {
        match self {
            Self::WebSocket(t) => t.channel_id(binding),
            Self::RawSocket(t) => t.channel_id(binding),
        }
    }

    fn serializer_id(&self) -> &'static str {
        match self {
            Self::WebSocket(t) => t.serializer_id(),
            Self::RawSocket(t) => t.serializer_id(),
        }
    }

    fn peer(&self) -> String {
        match self {
            Self::WebSocket(t) => t.peer(),
            Self::RawSocket(t) => t.peer(),
        }
    }
}

/// Everything the runner needs to open a transport.
#[derive(Debug, Clone)]
pub(super) struct TransportSettings {
    websocket: ClientOptions,
    origin: Option<String>,
    useragent: Option<String>,
    proxy: Option<Proxy>,
    headers: Headers,
    rawsocket: RawSocketOptions,
    serializers: Vec<String>,
    /// Overrides both transports' bound when set.
    max_decoded_size: Option<usize>,
    /// Overrides `rawsocket.tls` when set; the WebSocket client's configuration.
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Default for TransportSettings {
    fn default() -> Self {
        Self {
            websocket: ApplicationRunner::default_websocket_options(),
            origin: None,
            useragent: None,
            proxy: None,
            headers: Headers::new(),
            rawsocket: ApplicationRunner::default_rawsocket_options(),
            serializers: Vec::new(),
            max_decoded_size: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ApplicationRunner {
    /// The WebSocket options the runner uses unless told otherwise: the client's
    /// defaults with auto-ping on, every [`DEFAULT_AUTO_PING_INTERVAL`] (10 s), and the
    /// connection given up after [`DEFAULT_AUTO_PING_TIMEOUT`] (5 s) without the pong,
    /// as Autobahn's runner does. Start from these to change one option and keep the
    /// keepalive.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use autobahn::wamp::ApplicationRunner;
    ///
    /// let options = ApplicationRunner::default_websocket_options();
    /// assert_eq!(options.auto_ping_interval, Some(Duration::from_secs(10)));
    /// assert_eq!(options.auto_ping_timeout, Some(Duration::from_secs(5)));
    /// ```
    pub fn default_websocket_options() -> ClientOptions {
        ClientOptions {
            auto_ping_interval: Some(DEFAULT_AUTO_PING_INTERVAL),
            auto_ping_timeout: Some(DEFAULT_AUTO_PING_TIMEOUT),
            ..ClientOptions::default()
        }
    }

    /// The RawSocket options the runner uses unless told otherwise: the transport's
    /// defaults with the same keepalive as
    /// [`default_websocket_options`](Self::default_websocket_options), through RawSocket
    /// PING and PONG frames.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use autobahn::wamp::ApplicationRunner;
    ///
    /// let options = ApplicationRunner::default_rawsocket_options();
    /// assert_eq!(options.auto_ping_interval, Some(Duration::from_secs(10)));
    /// assert_eq!(options.auto_ping_timeout, Some(Duration::from_secs(5)));
    /// ```
    pub fn default_rawsocket_options() -> RawSocketOptions {
        RawSocketOptions {
            auto_ping_interval: Some(DEFAULT_AUTO_PING_INTERVAL),
            auto_ping_timeout: Some(DEFAULT_AUTO_PING_TIMEOUT),
            ..RawSocketOptions::default()
        }
    }

    /// The WebSocket client options for `ws://` and `wss://` (Autobahn's
    /// `WebSocketClientFactory.setProtocolOptions`), replacing
    /// [`default_websocket_options`](Self::default_websocket_options): start from those
    /// to keep the keepalive. The transport lowers `max_queued_bytes` to its own bound
    /// when that is tighter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use autobahn::wamp::ApplicationRunner;
    ///
    /// let runner = ApplicationRunner::new("ws://127.0.0.1:8080/ws", "realm1").websocket_options(
    ///     autobahn::websocket::options::ClientOptions {
    ///         open_handshake_timeout: Some(Duration::from_secs(5)),
    ///         max_message_payload_size: 1 << 20,
    ///         ..ApplicationRunner::default_websocket_options()
    ///     },
    /// );
    /// assert_eq!(runner.websocket_options_ref().max_message_payload_size, 1 << 20);
    /// assert!(runner.websocket_options_ref().auto_ping_interval.is_some());
    /// ```
    pub fn websocket_options(mut self, options: ClientOptions) -> Self {
        self.transport.websocket = options;
        self
    }

    /// The WebSocket client options in effect.
    pub fn websocket_options_ref(&self) -> &ClientOptions {
        &self.transport.websocket
    }

    /// The RawSocket options for `rs://` and `rss://`, replacing
    /// [`default_rawsocket_options`](Self::default_rawsocket_options) (start from those
    /// to keep the keepalive). [`serializers`](Self::serializers),
    /// [`max_decoded_size`](Self::max_decoded_size) and [`tls`](Self::tls), when set,
    /// take precedence over the same settings here, whatever the order of the calls.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::rawsocket::SerializerId;
    /// use autobahn::wamp::ApplicationRunner;
    /// use autobahn::wamp::rawsocket_transport::RawSocketOptions;
    ///
    /// let runner = ApplicationRunner::new("rs://127.0.0.1:8081", "realm1").rawsocket_options(
    ///     RawSocketOptions {
    ///         serializer: SerializerId::MSGPACK,
    ///         max_len_exp: 20, // accept messages up to 1 MiB
    ///         ..ApplicationRunner::default_rawsocket_options()
    ///     },
    /// );
    /// assert_eq!(runner.rawsocket_options_ref().max_len_exp, 20);
    /// ```
    pub fn rawsocket_options(mut self, options: RawSocketOptions) -> Self {
        self.transport.rawsocket = options;
        self
    }

    /// The RawSocket options as given (before [`serializers`](Self::serializers),
    /// [`max_decoded_size`](Self::max_decoded_size) and [`tls`](Self::tls) apply).
    pub fn rawsocket_options_ref(&self) -> &RawSocketOptions {
        &self.transport.rawsocket
    }

    /// The keepalive of both transports: a WebSocket ping every `interval`, the
    /// connection given up when its pong is not back within `timeout`; on RawSocket a
    /// WAMP probe after each `interval` without traffic (Crossbar.io does not implement
    /// RawSocket PING; see [`KeepaliveProbe`](crate::wamp::rawsocket_transport::KeepaliveProbe)),
    /// the connection given up when nothing at all arrives within `timeout` after it
    /// (`None` for either turns that part off). A silent link (a dead NAT entry, a router host gone without a FIN) is found
    /// within interval + timeout; pending calls, publications, subscriptions and
    /// registrations then fail with [`Error::TransportLost`](crate::wamp::Error::TransportLost)
    /// and [`run`](Self::run) reconnects. Default: 10 s and 5 s, as Autobahn's runner.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use autobahn::wamp::ApplicationRunner;
    ///
    /// // A quick failover: a silent router is given up within 3 s.
    /// let runner = ApplicationRunner::new("ws://127.0.0.1:8080/ws", "realm1")
    ///     .keepalive(Some(Duration::from_secs(2)), Some(Duration::from_secs(1)));
    /// assert_eq!(runner.websocket_options_ref().auto_ping_interval, Some(Duration::from_secs(2)));
    /// assert_eq!(runner.rawsocket_options_ref().auto_ping_timeout, Some(Duration::from_secs(1)));
    ///
    /// // Autobahn|Python's transports without its runner: no keepalive.
    /// let quiet = ApplicationRunner::new("rs://127.0.0.1:8081", "realm1").keepalive(None, None);
    /// assert_eq!(quiet.rawsocket_options_ref().auto_ping_interval, None);
    /// ```
    pub fn keepalive(mut self, interval: Option<Duration>, timeout: Option<Duration>) -> Self {
        let t = &mut self.transport;
        t.websocket.auto_ping_interval = interval;
        t.websocket.auto_ping_timeout = timeout;
        t.rawsocket.auto_ping_interval = interval;
        t.rawsocket.auto_ping_timeout = timeout;
        self
    }

    /// The most memory one received message may take once decoded, on either
    /// transport (default [`DEFAULT_MAX_DECODED_SIZE`], 64 MiB). A router sending
    /// more fails the connection; the runner then reconnects as after any transport
    /// loss. Not an Autobahn|Python option (see
    /// [`Serializer::unserialize_limited`](crate::wamp::serializer::Serializer::unserialize_limited)).
    pub fn max_decoded_size(mut self, bytes: usize) -> Self {
        self.transport.max_decoded_size = Some(bytes);
        self
    }

    /// Serializers to offer, most preferred first: `"cbor"`, `"msgpack"`, `"json"`
    /// (default: that order, as Autobahn), or `"ubjson"`. RawSocket uses the first (default: the
    /// [`rawsocket_options`](Self::rawsocket_options)' serializer, CBOR).
    pub fn serializers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        serializers: I,
    ) -> Self {
        self.transport.serializers = serializers.into_iter().map(Into::into).collect();
        self
    }

    /// An HTTP proxy for WebSocket transports (`ws://`, `wss://`: TLS runs through the
    /// `CONNECT` tunnel); RawSocket transports ignore it.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.transport.proxy = Some(proxy);
        self
    }

    /// Extra HTTP headers for the WebSocket opening handshake.
    pub fn headers(mut self, headers: Headers) -> Self {
        self.transport.headers = headers;
        self
    }

    /// The `Origin` header of the WebSocket opening handshake (default: none).
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::wamp::ApplicationRunner;
    ///
    /// let runner = ApplicationRunner::new("wss://router.example.com/ws", "realm1")
    ///     .origin("https://app.example.com")
    ///     .useragent("my-component/1.0");
    /// # let _ = runner;
    /// ```
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.transport.origin = Some(origin.into());
        self
    }

    /// The `User-Agent` of the WebSocket opening handshake (default
    /// `AutobahnRust/<version>`); see [`origin`](Self::origin) for an example.
    pub fn useragent(mut self, useragent: impl Into<String>) -> Self {
        self.transport.useragent = Some(useragent.into());
        self
    }

    /// The TLS client configuration for `wss://` and `rss://` (Autobahn's `ssl`; default:
    /// the platform's root certificates, see [`stream::tls`](crate::websocket::stream::tls)).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.transport.tls = Some(config);
        self
    }

    /// Opens one transport to the router, with the runner's transport options.
    pub async fn connect(&self) -> Result<AnyTransport, TransportError> {
        self.transport.connect(&self.url).await
    }
}

impl TransportSettings {
    fn max_decoded_size(&self, transport_default: usize) -> usize {
        self.max_decoded_size.unwrap_or(transport_default)
    }

    async fn connect(&self, url: &str) -> Result<AnyTransport, TransportError> {
        let scheme = url
            .split("://")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match scheme.as_str() {
            "ws" | "wss" => {
                let mut factory = WebSocketClientFactory::new(url)
                    .map_err(|e| TransportError::Connect(Box::new(e)))?
                    .with_protocol_options(self.websocket.clone())
                    .headers(self.headers.clone());
                if let Some(p) = &self.proxy {
                    factory = factory.proxy(p.clone());
                }
                if let Some(origin) = &self.origin {
                    factory = factory.origin(origin.clone());
                }
                if let Some(useragent) = &self.useragent {
                    factory = factory.useragent(useragent.clone());
                }
                #[cfg(feature = "tls")]
                if let Some(tls) = &self.tls {
                    factory = factory.tls(tls.clone());
                }
                let mut config = WebSocketTransportConfig::with_subprotocols(
                    self.serializers.iter().map(|s| format!("wamp.2.{s}")),
                );
                config.max_decoded_size = self.max_decoded_size(DEFAULT_MAX_DECODED_SIZE);
                let t = WebSocketTransport::connect_with_factory(factory, &config).await?;
                Ok(AnyTransport::WebSocket(t))
            }
            "rs" | "rss" => {
                let mut options = self.rawsocket.clone();
                options.max_decoded_size = self.max_decoded_size(options.max_decoded_size);
                if let Some(first) = self.serializers.first() {
                    options.serializer = rawsocket_serializer(first)?;
                }
                #[cfg(feature = "tls")]
                if let Some(tls) = &self.tls {
                    options.tls = Some(tls.clone());
                }
                Ok(AnyTransport::RawSocket(
                    RawSocketTransport::connect(url, &options).await?,
                ))
            }
            other => Err(TransportError::Connect(
                format!("unsupported URL scheme {other:?} in {url}").into(),
            )),
        }
    }
}

/// The RawSocket id of a serializer name.
fn rawsocket_serializer(name: &str) -> Result<SerializerId, TransportError> {
    match name {
        "json" => Ok(SerializerId::JSON),
        "msgpack" => Ok(SerializerId::MSGPACK),
        "cbor" => Ok(SerializerId::CBOR),
        "ubjson" => Ok(SerializerId::UBJSON),
        other => Err(TransportError::Connect(
            format!("unknown serializer {other:?}").into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_is_on_by_default_on_both_transports() {
        let r = ApplicationRunner::new("ws://127.0.0.1:1/ws", "realm1");
        let ws = r.websocket_options_ref();
        let rs = r.rawsocket_options_ref();
        assert_eq!(ws.auto_ping_interval, Some(DEFAULT_AUTO_PING_INTERVAL));
        assert_eq!(ws.auto_ping_timeout, Some(DEFAULT_AUTO_PING_TIMEOUT));
        assert_eq!(rs.auto_ping_interval, Some(DEFAULT_AUTO_PING_INTERVAL));
        assert_eq!(rs.auto_ping_timeout, Some(DEFAULT_AUTO_PING_TIMEOUT));
    }

    #[test]
    fn runner_settings_override_the_rawsocket_options_in_any_order() {
        let r = ApplicationRunner::new("rs://127.0.0.1:1", "realm1")
            .serializers(["json"])
            .max_decoded_size(1000)
            .rawsocket_options(RawSocketOptions {
                serializer: SerializerId::CBOR,
                max_decoded_size: 5,
                ..RawSocketOptions::default()
            });
        let s = &r.transport;
        assert_eq!(s.max_decoded_size(s.rawsocket.max_decoded_size), 1000);
        assert_eq!(
            rawsocket_serializer(&s.serializers[0]).ok(),
            Some(SerializerId::JSON)
        );
        let plain = ApplicationRunner::new("rs://127.0.0.1:1", "realm1").rawsocket_options(
            RawSocketOptions {
                max_decoded_size: 5,
                ..RawSocketOptions::default()
            },
        );
        let s = &plain.transport;
        assert_eq!(s.max_decoded_size(s.rawsocket.max_decoded_size), 5);
        assert_eq!(
            rawsocket_serializer("ubjson").ok(),
            Some(SerializerId::UBJSON)
        );
        assert!(rawsocket_serializer("flatbuffers").is_err());
    }
}
