//! WebSocket clients: [`WebSocketClientFactory`] (Autobahn's factory of the same name)
//! connects (TCP, TLS, HTTP CONNECT proxy, Unix socket), runs the opening handshake and
//! hands back a [`WebSocketConnection`] to run.

#[cfg(feature = "tls")]
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::channel::{Phase, WebSocketChannel};
use super::connection::WebSocket;
use super::driver::{CloseInfo, DriverConfig, Io};
use super::error::{ConnectStep, Error, Result};
use super::handler::WebSocketClientHandler;
use super::handler_loop;
use super::handshake::client::ClientHandshake;
use super::handshake::{HandshakeError, Negotiated};
use super::options::ClientOptions;
use super::peer::PeerAddr;
use super::protocol::{Receiver, Sender};
use super::proxy::{connect_request, ProxyResponseParser};
use super::span;
use super::stream::MaybeTlsStream;
use super::types::{ConnectionResponse, Headers};
use super::url::{parse_url, ParsedUrl};

/// An explicit HTTP proxy (Autobahn's `proxy={'host':…, 'port':…}`), reached with
/// `CONNECT host:port`.
///
/// # Examples
///
/// ```no_run
/// use autobahn::websocket::{Proxy, WebSocketClientFactory};
///
/// # fn run() -> Result<(), autobahn::websocket::Error> {
/// let mut proxy = Proxy::new("127.0.0.1", 3128);
/// proxy.headers.insert("Proxy-Authorization", "Basic dXNlcjpwYXNz");
/// let factory = WebSocketClientFactory::new("wss://example.com/ws")?.proxy(proxy);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Proxy {
    /// Proxy host.
    pub host: String,
    /// Proxy port.
    pub port: u16,
    /// Extra headers for the CONNECT request (e.g. `Proxy-Authorization`).
    pub headers: Headers,
}

impl Proxy {
    /// A proxy at `host:port`.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            headers: Headers::new(),
        }
    }
}

/// Creates client connections (Autobahn's `WebSocketClientFactory`).
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
/// use autobahn::websocket::{types::Headers, Proxy, WebSocketHandler};
/// use bytes::Bytes;
///
/// struct Printer(WebSocketChannel);
/// impl WebSocketHandler for Printer {
///     async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
///         tracing::info!(len = payload.len(), "message");
///     }
/// }
/// impl WebSocketClientHandler for Printer {}
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut headers = Headers::new();
/// headers.insert("Authorization", "Bearer secret");
/// let mut factory = WebSocketClientFactory::new("ws://127.0.0.1:9000/feed?topic=news")?
///     .origin("https://example.com")
///     .protocols(["feed.v2", "feed.v1"])
///     .useragent("my-app/1.0")
///     .headers(headers)
///     .proxy(Proxy::new("127.0.0.1", 3128));
/// factory.options_mut().auto_ping_interval = Some(Duration::from_secs(20));
///
/// let connection = factory.connect(Printer).await?;
/// let channel = connection.channel().clone(); // send from anywhere
/// let task = connection.spawn();
/// channel.send_text("subscribe").await?;
/// let (_printer, close) = task.await?;
/// println!("closed: {close:?}");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct WebSocketClientFactory {
    url: ParsedUrl,
    origin: Option<String>,
    protocols: Vec<String>,
    useragent: Option<String>,
    headers: Headers,
    proxy: Option<Proxy>,
    options: ClientOptions,
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for WebSocketClientFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketClientFactory")
            .field("url", &self.url)
            .field("protocols", &self.protocols)
            .field("proxy", &self.proxy)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl WebSocketClientFactory {
    /// A factory connecting to `url` (`ws://host:port/path?query` or `wss://…`).
    pub fn new(url: &str) -> Result<Self> {
        let url = parse_url(url).map_err(|source| Error::Url {
            url: url.to_owned(),
            source,
        })?;
        Ok(Self {
            url,
            origin: None,
            protocols: Vec::new(),
            useragent: None,
            headers: Headers::new(),
            proxy: None,
            options: ClientOptions::default(),
            #[cfg(feature = "tls")]
            tls: None,
        })
    }

    /// The `Origin` to send.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Subprotocols to announce, in order of preference.
    pub fn protocols<I: IntoIterator<Item = S>, S: Into<String>>(mut self, protocols: I) -> Self {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// The `User-Agent` (default `AutobahnRust/<version>`).
    pub fn useragent(mut self, useragent: impl Into<String>) -> Self {
        self.useragent = Some(useragent.into());
        self
    }

    /// Extra request headers (cookies, authorization, …).
    pub fn headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// Connect through an HTTP proxy with `CONNECT`.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The rustls configuration for `wss://` (default: the platform's root certificates;
    /// see [`stream::tls`](super::stream::tls) for other trust roots and client
    /// certificates).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Sets all protocol options (Autobahn's `setProtocolOptions`).
    pub fn set_protocol_options(&mut self, options: ClientOptions) {
        self.options = options;
    }

    /// Builder form of [`Self::set_protocol_options`].
    pub fn with_protocol_options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// Resets all protocol options to their defaults.
    pub fn reset_protocol_options(&mut self) {
        self.options = ClientOptions::default();
    }

    /// The protocol options.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// The protocol options, to change some.
    pub fn options_mut(&mut self) -> &mut ClientOptions {
        &mut self.options
    }

    /// The parsed URL.
    pub fn url(&self) -> &ParsedUrl {
        &self.url
    }

    /// Connects over TCP (through the proxy, if set; with TLS for `wss://`) and runs
    /// the opening handshake, bounded by `open_handshake_timeout`.
    ///
    /// The connection's [`PeerAddr`] (in [`ConnectionResponse::peer_addr`] and on the
    /// channel) is the address of the socket connected to: one of the addresses the
    /// URL's host resolved to, or, through a proxy, the proxy's.
    pub async fn connect<H, F>(&self, make: F) -> Result<WebSocketConnection<MaybeTlsStream, H>>
    where
        H: WebSocketClientHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let fut = async {
            let (stream, peer) = self.open_stream().await?;
            self.handshake(stream, peer, make).await
        };
        let fut = async {
            match self.options.open_handshake_timeout {
                Some(t) => tokio::time::timeout(t, fut)
                    .await
                    .map_err(|_| Error::Timeout("opening handshake"))?,
                None => fut.await,
            }
        };
        fut.instrument(self.connection_span()).await
    }

    /// Connects over a Unix domain socket at `path` (the URL still gives the `Host`
    /// and resource).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
    /// use autobahn::websocket::WebSocketHandler;
    ///
    /// struct Client(WebSocketChannel);
    /// impl WebSocketHandler for Client {}
    /// impl WebSocketClientHandler for Client {}
    ///
    /// # async fn run() -> Result<(), autobahn::websocket::Error> {
    /// // The URL gives Host and path; the socket path where to connect.
    /// let factory = WebSocketClientFactory::new("ws://localhost/ws")?;
    /// let connection = factory.connect_unix("/run/my-app.sock", Client).await?;
    /// let (_client, close) = connection.run().await;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(unix)]
    pub async fn connect_unix<H, F>(
        &self,
        path: impl AsRef<std::path::Path>,
        make: F,
    ) -> Result<WebSocketConnection<MaybeTlsStream, H>>
    where
        H: WebSocketClientHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let path = path.as_ref();
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .map_err(|source| Error::Connect {
                step: ConnectStep::UnixConnect,
                target: path.display().to_string(),
                source,
            })?;
        let peer = PeerAddr::Unix(Some(path.to_path_buf()));
        self.connect_stream_from(MaybeTlsStream::Unix(stream), peer, make)
            .await
    }

    /// Runs the opening handshake over an already connected stream. The library cannot
    /// know that stream's peer: [`ConnectionResponse::peer_addr`] is
    /// [`PeerAddr::Other`] with the URL's `tcp:host:port`.
    ///
    /// # Examples
    ///
    /// Over a stream connected some other way (here a TCP connection made by hand; the
    /// URL still gives the `Host` header and the resource):
    ///
    /// ```no_run
    /// use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
    /// use autobahn::websocket::WebSocketHandler;
    ///
    /// struct Client(WebSocketChannel);
    /// impl WebSocketHandler for Client {}
    /// impl WebSocketClientHandler for Client {}
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let tcp = tokio::net::TcpStream::connect("127.0.0.1:9000").await?;
    /// tcp.set_nodelay(true)?;
    /// let factory = WebSocketClientFactory::new("ws://localhost:9000/ws")?;
    /// let connection = factory.connect_stream(tcp, Client).await?;
    /// let (_client, close) = connection.run().await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_stream<S, H, F>(
        &self,
        stream: S,
        make: F,
    ) -> Result<WebSocketConnection<S, H>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketClientHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        self.connect_stream_from(stream, self.url_peer(), make)
            .await
    }

    /// [`Self::connect_stream`] to a peer whose address we know.
    async fn connect_stream_from<S, H, F>(
        &self,
        stream: S,
        peer: PeerAddr,
        make: F,
    ) -> Result<WebSocketConnection<S, H>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketClientHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let handshake = self.handshake(stream, peer, make);
        let fut = async {
            match self.options.open_handshake_timeout {
                Some(t) => tokio::time::timeout(t, handshake)
                    .await
                    .map_err(|_| Error::Timeout("opening handshake"))?,
                None => handshake.await,
            }
        };
        fut.instrument(self.connection_span()).await
    }

    /// [`Self::connect`] for the pull API: the connection as a [`WebSocket`] value
    /// (`recv`/`send`, `Stream`/`Sink`). The server's response is logged in the
    /// connection's span; [`Self::connect`] then [`WebSocketConnection::into_websocket`]
    /// keeps it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use autobahn::websocket::{Message, WebSocketClientFactory};
    ///
    /// # async fn run() -> Result<(), autobahn::websocket::Error> {
    /// let mut ws = WebSocketClientFactory::new("ws://127.0.0.1:9000")?.connect_websocket().await?;
    /// ws.send("hello").await?;
    /// while let Some(message) = ws.recv().await {
    ///     if let Some(text) = message.as_text() {
    ///         tracing::info!(%text, "received");
    ///     }
    /// }
    /// tracing::info!(close = ?ws.close_info(), "connection ended");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_websocket(&self) -> Result<WebSocket<MaybeTlsStream>> {
        Ok(self.connect(|_| PullApi).await?.into_websocket())
    }

    /// [`Self::connect_stream`] for the pull API.
    pub async fn connect_stream_websocket<S>(&self, stream: S) -> Result<WebSocket<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        Ok(self
            .connect_stream(stream, |_| PullApi)
            .await?
            .into_websocket())
    }

    /// The stream, TCP (through the proxy) and TLS done, and the address of the socket
    /// connected to.
    async fn open_stream(&self) -> Result<(MaybeTlsStream, PeerAddr)> {
        let (host, port) = match &self.proxy {
            Some(p) => (p.host.as_str(), p.port),
            None => (self.url.host.as_str(), self.url.port),
        };
        let mut tcp = TcpStream::connect((host, port))
            .await
            .map_err(|source| Error::Connect {
                step: ConnectStep::TcpConnect,
                target: host_port(host, port),
                source,
            })?;
        let _ = tcp.set_nodelay(self.options.tcp_no_delay);
        // Fails only if the connection is gone already; the handshake will say so.
        let peer = tcp
            .peer_addr()
            .map_or_else(|_| self.url_peer(), PeerAddr::Tcp);
        tracing::debug!(addr = %host_port(host, port), %peer, "TCP connected");
        if let Some(proxy) = &self.proxy {
            tunnel(&mut tcp, &self.url.host, self.url.port, proxy).await?;
        }
        if self.url.is_secure {
            #[cfg(feature = "tls")]
            {
                use super::stream::tls;
                let config = match &self.tls {
                    Some(config) => config.clone(),
                    None => tls::default_client_config()?,
                };
                let name = rustls::pki_types::ServerName::try_from(self.url.host.clone()).map_err(
                    |e| Error::tls_with(format!("invalid server name {:?}", self.url.host), e),
                )?;
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| {
                        let server = host_port(&self.url.host, self.url.port);
                        let hint = tls::plain_server_hint(&e, "ws://");
                        Error::tls_handshake(format!("handshake with {server} failed{hint}"), e)
                    })?;
                tracing::debug!("TLS handshake done");
                return Ok((MaybeTlsStream::TlsClient(Box::new(tls)), peer));
            }
            #[cfg(not(feature = "tls"))]
            return Err(Error::tls("wss:// needs the `tls` feature"));
        }
        Ok((MaybeTlsStream::Tcp(tcp), peer))
    }

    /// The peer of a stream connected elsewhere: named after the URL's host.
    fn url_peer(&self) -> PeerAddr {
        PeerAddr::Other(format!("tcp:{}:{}", self.url.host, self.url.port))
    }

    async fn handshake<S, H, F>(
        &self,
        mut stream: S,
        peer: PeerAddr,
        make: F,
    ) -> Result<WebSocketConnection<S, H>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketClientHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let mut hs = ClientHandshake::from_url(&self.url);
        hs.origin = self.origin.clone();
        hs.protocols = self.protocols.clone();
        hs.useragent = self.useragent.clone();
        hs.headers = self.headers.clone();
        hs.version = self.options.version;
        hs.max_header_bytes = self.options.max_handshake_size;
        hs.max_headers = self.options.max_handshake_headers;
        #[cfg(feature = "deflate")]
        {
            hs.per_message_compression_offers
                .clone_from(&self.options.per_message_compression_offers);
            hs.per_message_compression_accept
                .clone_from(&self.options.per_message_compression_accept);
        }
        let url = self.url_string();
        let handshake_error = |source| Error::Handshake {
            peer: url.clone(),
            source,
        };
        let upgrade_io = |source| Error::Connect {
            step: ConnectStep::HttpUpgrade,
            target: url.clone(),
            source,
        };
        let (request, key) = hs.build_request().map_err(handshake_error)?;
        stream.write_all(&request).await.map_err(upgrade_io)?;
        let mut parser = hs.response_parser(&key, peer.to_string());
        let mut buf = BytesMut::with_capacity(1024);
        let (mut response, consumed) = loop {
            match parser.parse(&buf) {
                Ok(Some(r)) => break r,
                Ok(None) => {}
                Err(HandshakeError::UnexpectedStatus { status, reason, .. }) => {
                    return Err(Error::HttpStatus {
                        url: url.clone(),
                        status,
                        reason,
                    });
                }
                Err(e) => return Err(handshake_error(e)),
            }
            if !self.url.is_secure && looks_like_tls_record(&buf) {
                return Err(handshake_error(HandshakeError::TlsAnswer));
            }
            buf.reserve(1024);
            if stream.read_buf(&mut buf).await.map_err(upgrade_io)? == 0 {
                if buf.is_empty() && !self.url.is_secure {
                    return Err(handshake_error(HandshakeError::ClosedWithoutAnswer));
                }
                return Err(handshake_error(HandshakeError::ConnectionClosed));
            }
        };
        let _ = buf.split_to(consumed);
        // The exact address (the parser read it back from the descriptor).
        response.peer_addr = peer.clone();
        let sender = Sender::new(self.options.protocol_config());
        let channel = WebSocketChannel::new(sender, peer);
        let mut receiver = Receiver::new(self.options.protocol_config());
        let negotiated = hs.negotiate(&response).map_err(handshake_error)?;
        self.set_deflate(&negotiated, &mut receiver, &channel);
        // Runs in the span `connect` entered: the connection keeps it.
        let span = tracing::Span::current();
        span::record_negotiated(&span, response.protocol.as_deref(), &response.extensions);
        tracing::debug!("WebSocket opening handshake done");
        let mut handler = make(channel.clone());
        handler.on_connect(&response).await;
        // The handshake is done: sends may start now (they are queued until the
        // connection runs), whether or not the connection's task was scheduled yet.
        channel.shared.lock().phase = Phase::Open;
        Ok(WebSocketConnection {
            unrun: NotRunGuard(Some(channel.clone())),
            stream,
            leftover: buf,
            channel,
            receiver,
            handler,
            response,
            cfg: self.driver_config(),
            span,
        })
    }

    /// Sets up both directions' permessage-deflate codecs, if compression was agreed.
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    fn set_deflate(
        &self,
        negotiated: &Negotiated,
        receiver: &mut Receiver,
        channel: &WebSocketChannel,
    ) {
        #[cfg(feature = "deflate")]
        if let Some(params) = &negotiated.deflate {
            let threshold = self.options.per_message_compression_threshold;
            super::connection::install_deflate(params, false, threshold, receiver, channel);
        }
    }

    /// The resource without the query, which may carry credentials: for error
    /// messages and spans.
    fn path(&self) -> &str {
        self.url.resource.split('?').next().unwrap_or("/")
    }

    /// The URL as text (without the query), for error messages.
    fn url_string(&self) -> String {
        let scheme = if self.url.is_secure { "wss" } else { "ws" };
        let server = host_port(&self.url.host, self.url.port);
        format!("{scheme}://{server}{}", self.path())
    }

    /// The span of a connection to open: peer and path now, the negotiated rest later.
    fn connection_span(&self) -> tracing::Span {
        let peer = host_port(&self.url.host, self.url.port);
        span::connection_span("client", &peer, Some(self.path()))
    }

    fn driver_config(&self) -> DriverConfig {
        super::builder::client_driver_config(&self.options)
    }
}

/// Whether `buf` starts like a TLS record (handshake or alert, version 3.x): what a TLS
/// server sends to a client speaking plain HTTP to it. An HTTP response starts with
/// `HTTP/`.
fn looks_like_tls_record(buf: &[u8]) -> bool {
    matches!(buf, [0x15 | 0x16, 0x03, ..])
}

/// `host:port`, with brackets around an IPv6 address.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Opens a tunnel through an HTTP proxy with `CONNECT host:port`.
async fn tunnel<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    port: u16,
    proxy: &Proxy,
) -> Result<()> {
    let proxy_addr = host_port(&proxy.host, proxy.port);
    let refused = |source| Error::Proxy {
        proxy: proxy_addr.clone(),
        source,
    };
    let io_failed = |source| Error::Connect {
        step: ConnectStep::ProxyConnect,
        target: proxy_addr.clone(),
        source,
    };
    let req = connect_request(host, port, &proxy.headers).map_err(refused)?;
    stream.write_all(&req).await.map_err(io_failed)?;
    let mut parser = ProxyResponseParser::new();
    let mut buf = BytesMut::with_capacity(512);
    loop {
        match parser.parse(&buf) {
            Ok(Some(consumed)) => {
                if consumed != buf.len() {
                    return Err(refused(HandshakeError::Rejected(
                        "proxy sent data before the tunnel was used".into(),
                    )));
                }
                tracing::debug!(proxy = %proxy_addr, "proxy tunnel open");
                return Ok(());
            }
            Ok(None) => {}
            Err(HandshakeError::ProxyRefused { status, reason }) => {
                return Err(Error::ProxyRefused { status, reason })
            }
            Err(e) => return Err(refused(e)),
        }
        buf.reserve(512);
        if stream.read_buf(&mut buf).await.map_err(io_failed)? == 0 {
            return Err(refused(HandshakeError::ConnectionClosed));
        }
    }
}

/// An open client connection, after the opening handshake: run it with
/// [`Self::run`] or [`Self::spawn`].
///
/// # Examples
///
/// ```no_run
/// use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
/// use autobahn::websocket::WebSocketHandler;
///
/// struct Quiet(WebSocketChannel);
/// impl WebSocketHandler for Quiet {}
/// impl WebSocketClientHandler for Quiet {}
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let connection = WebSocketClientFactory::new("ws://127.0.0.1:9000")?.connect(Quiet).await?;
/// println!("subprotocol: {:?}", connection.response().protocol);
/// let channel = connection.channel().clone();
/// let running = connection.spawn(); // or `.run().await` on this task
/// channel.send_text("hello").await?;
/// channel.send_close(Some(1000), None).await?;
/// let (_handler, close) = running.await?;
/// assert!(close.was_clean);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WebSocketConnection<S, H> {
    unrun: NotRunGuard,
    stream: S,
    leftover: BytesMut,
    channel: WebSocketChannel,
    receiver: Receiver,
    handler: H,
    response: ConnectionResponse,
    cfg: DriverConfig,
    /// The connection's span (from `connect`): the connection runs in it.
    span: tracing::Span,
}

impl<S, H> WebSocketConnection<S, H>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: WebSocketClientHandler,
{
    /// The channel, to send from anywhere.
    pub fn channel(&self) -> &WebSocketChannel {
        &self.channel
    }

    /// The underlying stream (e.g. for [`MaybeTlsStream::tls_exporter`]).
    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// The server's handshake response.
    pub fn response(&self) -> &ConnectionResponse {
        &self.response
    }

    /// The handler.
    pub fn handler(&mut self) -> &mut H {
        &mut self.handler
    }

    /// Runs the connection until it closes (calling `on_open`, `on_message`, …,
    /// `on_close`); returns the handler and how the connection ended.
    pub async fn run(mut self) -> (H, CloseInfo) {
        self.unrun.0 = None;
        let io = self.span.in_scope(|| {
            Io::new(
                self.stream,
                self.leftover,
                self.channel,
                self.receiver,
                self.cfg,
            )
        });
        // The span is entered around the whole loop, hooks included.
        let ws = WebSocket::from_io(io, tracing::Span::none());
        let info = handler_loop::run(ws, &mut self.handler)
            .instrument(self.span)
            .await;
        (self.handler, info)
    }

    /// Runs the connection on its own task.
    pub fn spawn(self) -> JoinHandle<(H, CloseInfo)> {
        tokio::spawn(self.run())
    }

    /// The connection as a value for the pull API (`recv`/`send`, `Stream`/`Sink`); the
    /// handler is dropped (its `on_connect` has run).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use autobahn::websocket::{WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler};
    /// use autobahn::websocket::WebSocketHandler;
    ///
    /// struct Quiet;
    /// impl WebSocketHandler for Quiet {}
    /// impl WebSocketClientHandler for Quiet {}
    ///
    /// # async fn run() -> Result<(), autobahn::websocket::Error> {
    /// let factory = WebSocketClientFactory::new("ws://127.0.0.1:9000")?.protocols(["chat"]);
    /// let connection = factory.connect(|_| Quiet).await?;
    /// let subprotocol = connection.response().protocol.clone();
    /// let mut ws = connection.into_websocket();
    /// ws.send(format!("speaking {subprotocol:?}")).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_websocket(mut self) -> WebSocket<S> {
        self.unrun.0 = None;
        let span = self.span;
        let subprotocol = self.response.protocol.clone();
        let io = span.in_scope(|| {
            Io::new(
                self.stream,
                self.leftover,
                self.channel,
                self.receiver,
                self.cfg,
            )
        });
        WebSocket::from_io(io, span).speaking(subprotocol)
    }
}

/// The handler of a connection taken over by the pull API.
struct PullApi;

impl super::handler::WebSocketHandler for PullApi {}
impl WebSocketClientHandler for PullApi {}

/// Closes the channel of a connection dropped without being run, so that senders get
/// [`Error::ConnectionClosed`] instead of queueing (and then waiting) forever.
#[derive(Debug)]
struct NotRunGuard(Option<WebSocketChannel>);

impl Drop for NotRunGuard {
    fn drop(&mut self) {
        if let Some(channel) = self.0.take() {
            let mut side = channel.shared.lock();
            side.phase = Phase::Closed;
            side.out = Default::default();
            drop(side);
            channel.shared.drained.notify_waiters();
        }
    }
}
