//! WebSocket servers: [`WebSocketServerFactory`] (Autobahn's factory of the same name)
//! accepts connections, runs the opening handshake and drives each connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tracing::Instrument;

use super::budget::SharedBudget;
use super::builder::{self, WebSocketBuilder};
use super::channel::WebSocketChannel;
use super::connection::WebSocket;
use super::driver::{CloseInfo, DriverConfig, Io};
use super::error::{Error, Result};
use super::handler::WebSocketServerHandler;
use super::handler_loop;
use super::handshake::server::{
    deny_response, flash_policy_response, status_page_response, ParsedRequest, PendingUpgrade,
    Refusal, RequestParser, ServerHandshake,
};
use super::handshake::{HandshakeError, Negotiated};
use super::options::ServerOptions;
use super::peer::PeerAddr;
use super::protocol::{Receiver, Sender};
use super::span;
use super::stream::MaybeTlsStream;
use super::types::Headers;
use super::url::parse_url;

mod running;
use running::{Handlers, Listener, Pull};
pub use running::{ServerHandle, ShutdownReport, WebSocketServer};

/// The `Server` header we send by default.
pub use super::handshake::server::DEFAULT_SERVER;

/// Creates server connections (Autobahn's `WebSocketServerFactory`): session parameters
/// (URL, subprotocols, server name, extra headers, external port) plus protocol options.
///
/// # Examples
///
/// An echo server on a loopback port, and a client talking to it:
///
/// ```
/// use autobahn::websocket::{
///     WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
///     WebSocketServerFactory, WebSocketServerHandler,
/// };
/// use bytes::Bytes;
///
/// struct Echo(WebSocketChannel);
/// impl WebSocketHandler for Echo {
///     async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
///         let _ = self.0.send_message(payload, is_binary).await;
///     }
/// }
/// impl WebSocketServerHandler for Echo {}
///
/// struct Ask(WebSocketChannel, Option<Bytes>);
/// impl WebSocketHandler for Ask {
///     async fn on_open(&mut self) {
///         let _ = self.0.send_message(&b"\x01\x02"[..], true).await;
///     }
///     async fn on_message(&mut self, payload: Bytes, _is_binary: bool) {
///         self.1 = Some(payload);
///         let _ = self.0.send_close(Some(1000), None).await;
///     }
/// }
/// impl WebSocketClientHandler for Ask {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut factory = WebSocketServerFactory::new("ws://127.0.0.1").protocols(["echo"]);
/// factory.options_mut().max_message_payload_size = 1 << 20;
/// let listener = factory.listen("127.0.0.1:0").await?;
/// let port = listener.local_addr()?.port();
/// tokio::spawn(factory.serve(listener, Echo));
///
/// let client = WebSocketClientFactory::new(&format!("ws://127.0.0.1:{port}"))?.protocols(["echo"]);
/// let connection = client.connect(|channel| Ask(channel, None)).await?;
/// assert_eq!(connection.response().protocol.as_deref(), Some("echo"));
/// let (ask, close) = connection.run().await;
/// assert_eq!(ask.1.as_deref(), Some(&[1u8, 2][..]));
/// assert_eq!(close.code, Some(1000));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct WebSocketServerFactory {
    url: String,
    protocols: Vec<String>,
    server: Option<String>,
    headers: Headers,
    external_port: Option<u16>,
    options: ServerOptions,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
    connections: Arc<AtomicUsize>,
    /// What the connections hold for their handlers (`max_buffered_bytes_total`).
    buffered: Arc<SharedBudget>,
}

impl std::fmt::Debug for WebSocketServerFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketServerFactory")
            .field("url", &self.url)
            .field("protocols", &self.protocols)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for WebSocketServerFactory {
    fn default() -> Self {
        Self::new("ws://localhost")
    }
}

impl WebSocketServerFactory {
    /// A factory for `url` (e.g. `ws://localhost:9000`; for Unix sockets and other
    /// non-TCP streams Autobahn uses `ws://localhost`). `wss://` URLs need
    /// [`Self::tls`].
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            protocols: Vec::new(),
            server: Some(DEFAULT_SERVER.to_string()),
            headers: Headers::new(),
            external_port: None,
            options: ServerOptions::default(),
            #[cfg(feature = "tls")]
            tls: None,
            connections: Arc::new(AtomicUsize::new(0)),
            buffered: Arc::new(SharedBudget::default()),
        }
    }

    /// Subprotocols we speak; when `on_connect` does not choose, the first protocol the
    /// client announced that is in this list is used.
    pub fn protocols<I: IntoIterator<Item = S>, S: Into<String>>(mut self, protocols: I) -> Self {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// The `Server` header (`None` to send none).
    pub fn server(mut self, server: Option<&str>) -> Self {
        self.server = server.map(str::to_owned);
        self
    }

    /// Extra headers sent with every handshake response.
    pub fn headers(mut self, headers: Headers) -> Self {
        self.headers = headers;
        self
    }

    /// The port this server is reachable under from outside (behind NAT/forwarding),
    /// Autobahn's `externalPort`: requests whose `Host` names another port (or, for a
    /// port other than 80 for `ws://` and 443 for `wss://`, no port) are refused with
    /// 400, the status page included. Without it the `Host` port is not checked
    /// (Autobahn also checks the factory URL's port then; we do not, because the URL is
    /// often written before the listener's port is known).
    pub fn external_port(mut self, port: u16) -> Self {
        self.external_port = Some(port);
        self
    }

    /// Serves `wss://` with this rustls configuration (see
    /// [`stream::tls`](super::stream::tls) for PEM helpers).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(tokio_rustls::TlsAcceptor::from(config));
        self
    }

    /// Sets all protocol options at once (Autobahn's `setProtocolOptions`; here the
    /// options are a struct, so "set only some" is `options_mut`).
    pub fn set_protocol_options(&mut self, options: ServerOptions) {
        self.options = options;
    }

    /// Builder form of [`Self::set_protocol_options`].
    pub fn with_protocol_options(mut self, options: ServerOptions) -> Self {
        self.options = options;
        self
    }

    /// Resets every protocol option to its default (Autobahn's `resetProtocolOptions`).
    pub fn reset_protocol_options(&mut self) {
        self.options = ServerOptions::default();
    }

    /// The protocol options.
    pub fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// The protocol options, to change some.
    pub fn options_mut(&mut self) -> &mut ServerOptions {
        &mut self.options
    }

    /// The URL this factory serves.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connections currently open (counted for `max_connections`).
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Bytes of received messages that this factory's connections hold now (queued for
    /// their handlers, being reassembled or inflated, partial frames), counted against
    /// [`ServerOptions::max_buffered_bytes_total`], in units of 64 KiB; counted only
    /// while that option is not `0`. Clones of the factory share the count.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered.held()
    }

    /// The sans-IO opening handshake this factory runs: its options, subprotocols,
    /// `Server` header, extra headers and external port. An HTTP stack that upgrades
    /// connections itself can decide handshakes exactly as this factory's server does.
    pub fn server_handshake(&self) -> ServerHandshake {
        let mut handshake = ServerHandshake::from_options(&self.options);
        handshake.config.external_port = self.external_port;
        handshake.config.default_port = if self.is_secure() { 443 } else { 80 };
        handshake.protocols.clone_from(&self.protocols);
        handshake.server.clone_from(&self.server);
        handshake.headers.clone_from(&self.headers);
        handshake
    }

    /// Whether this factory serves `wss://` (its URL says so, or TLS is configured).
    fn is_secure(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return true;
        }
        parse_url(&self.url).is_ok_and(|u| u.is_secure)
    }

    fn driver_config(&self) -> DriverConfig {
        let o = &self.options;
        DriverConfig {
            budget: (o.max_buffered_bytes_total != 0)
                .then(|| (self.buffered.clone(), o.max_buffered_bytes_total)),
            ..builder::server_driver_config(o)
        }
    }

    /// Binds a TCP listener (see [`Self::serve`]).
    pub async fn listen(&self, addr: impl tokio::net::ToSocketAddrs) -> Result<TcpListener> {
        Ok(TcpListener::bind(addr).await?)
    }

    /// Accepts connections on `listener` forever, one task per connection; `make`
    /// creates each connection's handler from its channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerFactory};
    /// use autobahn::websocket::WebSocketServerHandler;
    ///
    /// struct Silent(WebSocketChannel);
    /// impl WebSocketHandler for Silent {}
    /// impl WebSocketServerHandler for Silent {}
    ///
    /// # async fn run() -> Result<(), autobahn::websocket::Error> {
    /// let factory = WebSocketServerFactory::new("ws://127.0.0.1:9000");
    /// let listener = factory.listen("127.0.0.1:9000").await?;
    /// factory.serve(listener, Silent).await // runs until the task is dropped
    /// # }
    /// ```
    pub async fn serve<H, F>(self, listener: TcpListener, make: F) -> Result<()>
    where
        H: WebSocketServerHandler,
        F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
    {
        self.start(listener, make).wait().await;
        Ok(())
    }

    /// Accepts connections on `listener` in a task of its own and returns the running
    /// server: its address, connection count and graceful shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerFactory};
    /// use autobahn::websocket::WebSocketServerHandler;
    ///
    /// struct Quiet(WebSocketChannel);
    /// impl WebSocketHandler for Quiet {}
    /// impl WebSocketServerHandler for Quiet {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    /// let listener = factory.listen("127.0.0.1:0").await?;
    /// let server = factory.start(listener, Quiet);
    /// println!("listening on {}", server.local_addr().expect("TCP"));
    /// server.shutdown(Duration::from_secs(1)).await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn start<H, F>(self, listener: TcpListener, make: F) -> WebSocketServer
    where
        H: WebSocketServerHandler,
        F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
    {
        self.start_on(Listener::Tcp(listener), Handlers(make))
    }

    /// [`Self::start`] for the pull API: each connection, once its opening handshake is
    /// done, goes to `handle` as a [`WebSocket`] on a task of its own (python-websockets'
    /// `serve(handler)`). Graceful shutdown works as for handlers.
    ///
    /// # Examples
    ///
    /// An echo server on the pull API:
    ///
    /// ```
    /// use std::time::Duration;
    /// use autobahn::websocket::{Message, WebSocketClientFactory, WebSocketServerFactory};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    /// let listener = factory.listen("127.0.0.1:0").await?;
    /// let server = factory.start_websocket(listener, |mut ws| async move {
    ///     while let Some(message) = ws.recv().await {
    ///         if ws.send(message).await.is_err() {
    ///             break;
    ///         }
    ///     }
    /// });
    /// let url = format!("ws://{}", server.local_addr().expect("TCP"));
    /// let mut client = WebSocketClientFactory::new(&url)?.connect_websocket().await?;
    /// client.send("hi").await?;
    /// assert_eq!(client.recv().await, Some(Message::from("hi")));
    /// server.shutdown(Duration::from_secs(1)).await;
    /// assert_eq!(client.recv().await, None);
    /// assert_eq!(client.close_info().and_then(|c| c.code), Some(1001));
    /// # Ok(())
    /// # }
    /// ```
    pub fn start_websocket<F, Fut>(self, listener: TcpListener, handle: F) -> WebSocketServer
    where
        F: Fn(WebSocket<MaybeTlsStream>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.start_on(Listener::Tcp(listener), Pull(handle))
    }

    /// Serves until `signal` completes, then shuts down gracefully (see
    /// [`ServerHandle::shutdown`]) and returns how that went.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerFactory};
    /// use autobahn::websocket::WebSocketServerHandler;
    ///
    /// struct Quiet(WebSocketChannel);
    /// impl WebSocketHandler for Quiet {}
    /// impl WebSocketServerHandler for Quiet {}
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let factory = WebSocketServerFactory::new("ws://127.0.0.1:9000");
    /// let listener = factory.listen("127.0.0.1:9000").await?;
    /// let ctrl_c = async {
    ///     let _ = tokio::signal::ctrl_c().await;
    /// };
    /// let report = factory
    ///     .serve_with_shutdown(listener, Quiet, ctrl_c, Duration::from_secs(10))
    ///     .await;
    /// tracing::info!(closed = report.closed, dropped = report.dropped, "bye");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve_with_shutdown<H, F>(
        self,
        listener: TcpListener,
        make: F,
        signal: impl std::future::Future<Output = ()>,
        grace: std::time::Duration,
    ) -> ShutdownReport
    where
        H: WebSocketServerHandler,
        F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
    {
        let server = self.start(listener, make);
        signal.await;
        server.shutdown(grace).await
    }

    /// Accepts connections on a Unix domain socket listener forever.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerFactory};
    /// use autobahn::websocket::WebSocketServerHandler;
    ///
    /// struct Quiet(WebSocketChannel);
    /// impl WebSocketHandler for Quiet {}
    /// impl WebSocketServerHandler for Quiet {}
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let listener = tokio::net::UnixListener::bind("/run/my-app.sock")?;
    /// WebSocketServerFactory::new("ws://localhost").serve_unix(listener, Quiet).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(unix)]
    pub async fn serve_unix<H, F>(self, listener: tokio::net::UnixListener, make: F) -> Result<()>
    where
        H: WebSocketServerHandler,
        F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
    {
        self.start_unix(listener, make).wait().await;
        Ok(())
    }

    /// [`Self::start`] on a Unix domain socket listener.
    #[cfg(unix)]
    pub fn start_unix<H, F>(self, listener: tokio::net::UnixListener, make: F) -> WebSocketServer
    where
        H: WebSocketServerHandler,
        F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
    {
        self.start_on(Listener::Unix(listener), Handlers(make))
    }

    /// Runs one accepted TCP connection to its end (TLS first, if configured).
    ///
    /// # Examples
    ///
    /// An accept loop of your own, e.g. to count or filter peers before the handshake:
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerFactory};
    /// use autobahn::websocket::WebSocketServerHandler;
    ///
    /// struct Quiet(WebSocketChannel);
    /// impl WebSocketHandler for Quiet {}
    /// impl WebSocketServerHandler for Quiet {}
    ///
    /// # async fn run() -> Result<(), autobahn::websocket::Error> {
    /// let factory = Arc::new(WebSocketServerFactory::new("ws://127.0.0.1:9000"));
    /// let listener = factory.listen("127.0.0.1:9000").await?;
    /// loop {
    ///     let (tcp, addr) = listener.accept().await?;
    ///     if !addr.ip().is_loopback() {
    ///         continue; // dropped before any handshake
    ///     }
    ///     let factory = factory.clone();
    ///     tokio::spawn(async move {
    ///         if let Ok(close) = factory.accept_tcp(tcp, addr, Quiet).await {
    ///             tracing::info!(%addr, ?close.code, "connection ended");
    ///         }
    ///     });
    /// }
    /// # }
    /// ```
    pub async fn accept_tcp<H, F>(
        &self,
        tcp: TcpStream,
        addr: SocketAddr,
        make: F,
    ) -> Result<CloseInfo>
    where
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let _ = tcp.set_nodelay(self.options.tcp_no_delay);
        let peer = PeerAddr::Tcp(addr);
        let span = span::connection_span("server", &peer, None);
        self.accept_tcp_in_span(tcp, peer, make)
            .instrument(span)
            .await
    }

    /// [`Self::accept_tcp`] in the connection's span.
    async fn accept_tcp_in_span<H, F>(
        &self,
        tcp: TcpStream,
        peer: PeerAddr,
        make: F,
    ) -> Result<CloseInfo>
    where
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let (stream, slot, deadline) = self.secure(tcp, &peer).await?;
        self.run_connection(stream, peer, make, slot, deadline)
            .await
    }

    /// [`Self::accept_tcp`] for the pull API (see [`Self::accept_stream_websocket`]).
    pub async fn accept_tcp_websocket<H, F>(
        &self,
        tcp: TcpStream,
        addr: SocketAddr,
        make: F,
    ) -> Result<Option<WebSocket<MaybeTlsStream>>>
    where
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let _ = tcp.set_nodelay(self.options.tcp_no_delay);
        let peer = PeerAddr::Tcp(addr);
        let span = span::connection_span("server", &peer, None);
        let opened = async {
            let (stream, slot, deadline) = self.secure(tcp, &peer).await?;
            self.handshake(stream, peer, make, slot, deadline).await
        }
        .instrument(span.clone())
        .await?;
        Ok(opened.map(|o| self.websocket_of(o, span)))
    }

    /// Takes a connection slot and starts the handshake deadline, then runs the TLS
    /// handshake if the factory has TLS.
    ///
    /// A TLS handshake in progress holds a connection slot, and the TLS and the HTTP
    /// handshakes share one `open_handshake_timeout`: a slow client gets one timeout, not
    /// two, and a flood of TLS handshakes counts against `max_connections`.
    async fn secure(
        &self,
        tcp: TcpStream,
        peer: &PeerAddr,
    ) -> Result<(MaybeTlsStream, ConnectionSlot, Option<Instant>)> {
        let slot = ConnectionSlot::take(&self.connections);
        let deadline = self.open_deadline();
        #[cfg(feature = "tls")]
        if let Some(acceptor) = &self.tls {
            let tls = within(deadline, acceptor.accept(tcp))
                .await
                .map_err(|_| Error::Timeout("TLS handshake"))?
                .map_err(|e| Error::tls_handshake(format!("handshake with {peer} failed"), e))?;
            tracing::debug!("TLS handshake done");
            return Ok((MaybeTlsStream::TlsServer(Box::new(tls)), slot, deadline));
        }
        let _ = peer;
        Ok((MaybeTlsStream::Tcp(tcp), slot, deadline))
    }

    /// When the opening handshake of a connection accepted now must be done.
    fn open_deadline(&self) -> Option<Instant> {
        self.options
            .open_handshake_timeout
            .map(|t| Instant::now() + t)
    }

    /// Runs one connection over any stream: opening handshake (bounded by
    /// `open_handshake_timeout`), then messages until the connection closes.
    ///
    /// `peer` names the client: a descriptor `tcp:ip:port` or `unix:path` (as
    /// [`PeerAddr`]'s `Display` writes it) gives the connection a typed
    /// [`PeerAddr`]; anything else becomes [`PeerAddr::Other`].
    ///
    /// # Examples
    ///
    /// Any byte stream will do; here one end of an in-memory pipe:
    ///
    /// ```
    /// use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerFactory};
    /// use autobahn::websocket::WebSocketServerHandler;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// struct Silent(WebSocketChannel);
    /// impl WebSocketHandler for Silent {}
    /// impl WebSocketServerHandler for Silent {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (server_end, mut browser) = tokio::io::duplex(4096);
    /// let factory = WebSocketServerFactory::new("ws://localhost");
    /// tokio::spawn(async move { factory.accept_stream(server_end, "pipe".into(), Silent).await });
    ///
    /// // A plain HTTP GET gets the status page (`web_status`).
    /// browser.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
    /// let mut page = Vec::new();
    /// browser.read_to_end(&mut page).await?;
    /// assert!(page.starts_with(b"HTTP/1.1 200 OK"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept_stream<S, H, F>(
        &self,
        stream: S,
        peer: String,
        make: F,
    ) -> Result<CloseInfo>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        self.accept_stream_from(stream, PeerAddr::parse(&peer), make)
            .await
    }

    /// [`Self::accept_stream`] with the peer's address typed.
    pub(crate) async fn accept_stream_from<S, H, F>(
        &self,
        stream: S,
        peer: PeerAddr,
        make: F,
    ) -> Result<CloseInfo>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let slot = ConnectionSlot::take(&self.connections);
        let deadline = self.open_deadline();
        let span = span::connection_span("server", &peer, None);
        self.run_connection(stream, peer, make, slot, deadline)
            .instrument(span)
            .await
    }

    /// [`Self::accept_stream`] with its connection slot taken and its handshake deadline
    /// set (before TLS, for [`Self::accept_tcp`]).
    async fn run_connection<S, H, F>(
        &self,
        stream: S,
        peer: PeerAddr,
        make: F,
        slot: ConnectionSlot,
        deadline: Option<Instant>,
    ) -> Result<CloseInfo>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let Some(mut opened) = self.handshake(stream, peer, make, slot, deadline).await? else {
            return Ok(CloseInfo {
                was_clean: true,
                code: None,
                reason: None,
            });
        };
        let io = Io::new(
            opened.stream,
            opened.leftover,
            opened.channel,
            opened.receiver,
            self.driver_config(),
        );
        // The caller's span (the connection's) is entered around the whole loop.
        let ws = WebSocket::from_io(io, tracing::Span::none());
        Ok(handler_loop::run(ws, &mut opened.handler).await)
    }

    /// Accepts a connection for the pull API: the opening handshake over `stream` (the
    /// handler from `make` decides in `on_connect`, and is dropped then), and the
    /// connection as a [`WebSocket`]. `None` if the request was not a WebSocket upgrade
    /// and was answered (the status page). `peer` as for [`Self::accept_stream`].
    ///
    /// # Examples
    ///
    /// ```
    /// use autobahn::websocket::{Message, WebSocketClientFactory, WebSocketServerFactory};
    /// use autobahn::websocket::{WebSocketHandler, WebSocketServerHandler};
    ///
    /// struct AcceptAll;
    /// impl WebSocketHandler for AcceptAll {}
    /// impl WebSocketServerHandler for AcceptAll {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    /// let factory = WebSocketServerFactory::new("ws://localhost");
    /// tokio::spawn(async move {
    ///     let accepted = factory.accept_stream_websocket(server_end, "pipe".into(), |_| AcceptAll);
    ///     if let Ok(Some(mut ws)) = accepted.await {
    ///         while let Some(message) = ws.recv().await {
    ///             let _ = ws.send(message).await; // echo
    ///         }
    ///     }
    /// });
    /// let client = WebSocketClientFactory::new("ws://localhost")?;
    /// let mut ws = client.connect_stream_websocket(client_end).await?;
    /// ws.send("ping?").await?;
    /// assert_eq!(ws.recv().await, Some(Message::from("ping?")));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept_stream_websocket<S, H, F>(
        &self,
        stream: S,
        peer: String,
        make: F,
    ) -> Result<Option<WebSocket<S>>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        self.accept_stream_websocket_from(stream, PeerAddr::parse(&peer), make)
            .await
    }

    /// [`Self::accept_stream_websocket`] with the peer's address typed.
    pub(crate) async fn accept_stream_websocket_from<S, H, F>(
        &self,
        stream: S,
        peer: PeerAddr,
        make: F,
    ) -> Result<Option<WebSocket<S>>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let slot = ConnectionSlot::take(&self.connections);
        let deadline = self.open_deadline();
        let span = span::connection_span("server", &peer, None);
        let opened = self
            .handshake(stream, peer, make, slot, deadline)
            .instrument(span.clone())
            .await?;
        Ok(opened.map(|o| self.websocket_of(o, span)))
    }

    /// A connection over a stream that another HTTP stack upgraded, after it answered
    /// the handshake with [`Self::server_handshake`] (check, `on_connect`, respond): the
    /// third way to get a [`WebSocket`], besides accepting a stream or a TCP connection.
    /// It counts against `max_connections` and the message budget like the others.
    /// `peer` as for [`Self::accept_stream`] (`format!("tcp:{addr}")` gives
    /// [`PeerAddr::Tcp`]). Without a factory: [`WebSocketBuilder`].
    ///
    /// # Examples
    ///
    /// With hyper (the test `ws_http_handshake` runs this): answer the request with
    /// `accepted.response()`, then, once hyper hands over the upgraded stream:
    ///
    /// ```ignore
    /// let negotiated = accepted.negotiated().clone();
    /// let on_upgrade = hyper::upgrade::on(&mut request);
    /// tokio::spawn(async move {
    ///     let stream = hyper_util::rt::TokioIo::new(on_upgrade.await?);
    ///     let mut ws = factory.upgraded_websocket(stream, &negotiated, format!("tcp:{peer}"));
    ///     while let Some(message) = ws.recv().await { /* ... */ }
    ///     Ok::<_, hyper::Error>(())
    /// });
    /// ```
    pub fn upgraded_websocket<S>(
        &self,
        stream: S,
        negotiated: &Negotiated,
        peer: String,
    ) -> WebSocket<S>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.upgraded_websocket_from(stream, negotiated, PeerAddr::parse(&peer))
    }

    /// [`Self::upgraded_websocket`] with the peer's address typed.
    pub(crate) fn upgraded_websocket_from<S>(
        &self,
        stream: S,
        negotiated: &Negotiated,
        peer: PeerAddr,
    ) -> WebSocket<S>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let slot = ConnectionSlot::take(&self.connections);
        WebSocketBuilder::server(&self.options)
            .driver_config(self.driver_config())
            .negotiated(negotiated.clone())
            .peer_addr(peer)
            .build(stream)
            .holding(slot)
    }

    /// The handshake done, the connection as a value (holding its connection slot).
    fn websocket_of<S, H>(&self, opened: Opened<S, H>, span: tracing::Span) -> WebSocket<S>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let io = span.in_scope(|| {
            Io::new(
                opened.stream,
                opened.leftover,
                opened.channel,
                opened.receiver,
                self.driver_config(),
            )
        });
        WebSocket::from_io(io, span)
            .holding(opened.slot)
            .speaking(opened.subprotocol)
    }

    /// The connection limit, then the opening handshake within `deadline`; `None` if the
    /// request was answered without an upgrade (status page, policy file).
    async fn handshake<S, H, F>(
        &self,
        mut stream: S,
        peer: PeerAddr,
        make: F,
        slot: ConnectionSlot,
        deadline: Option<Instant>,
    ) -> Result<Option<Opened<S, H>>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
        F: FnOnce(WebSocketChannel) -> H,
    {
        let max = self.options.max_connections;
        if max != 0 && slot.count > max {
            // Only the bytes live across the writes: this state can be the largest of the
            // connection task's future, whose size is idle memory per connection.
            let answer = Refusal::too_many_connections().to_bytes();
            let _ = stream.write_all(&answer).await;
            let _ = stream.shutdown().await;
            return Err(Error::Handshake {
                peer: peer.to_string(),
                source: Refusal::too_many_connections().into_error(),
            });
        }
        let sender = Sender::new(self.options.protocol_config());
        let channel = WebSocketChannel::new(sender, peer);
        let mut handler = make(channel.clone());
        let opened = within(deadline, self.open(&mut stream, &channel, &mut handler))
            .await
            .map_err(|_| Error::Timeout("opening handshake"))?;
        match opened {
            Ok(Some((leftover, receiver, subprotocol))) => Ok(Some(Opened {
                stream,
                leftover,
                channel,
                receiver,
                handler,
                slot,
                subprotocol,
            })),
            Ok(None) => {
                // Status page or Flash policy served.
                let _ = stream.shutdown().await;
                Ok(None)
            }
            Err(e) => {
                let _ = stream.shutdown().await;
                discard_input(&mut stream).await;
                Err(e)
            }
        }
    }

    /// The opening handshake: the bytes read past it, the receiver and the subprotocol
    /// agreed on; `Ok(None)` if the request was not a WebSocket upgrade and was answered
    /// (status page, policy file).
    async fn open<S, H>(
        &self,
        stream: &mut S,
        channel: &WebSocketChannel,
        handler: &mut H,
    ) -> Result<Option<(BytesMut, Receiver, Option<String>)>>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        H: WebSocketServerHandler,
    {
        let peer = channel.peer();
        let failed = |source| Error::Handshake {
            peer: peer.to_owned(),
            source,
        };
        let handshake = self.server_handshake();
        let config = &handshake.config;
        let mut parser = RequestParser::new(peer, config);
        let mut buf = BytesMut::with_capacity(1024);
        let parsed = loop {
            match parser.parse(&buf, config) {
                Ok(Some(p)) => break p,
                Ok(None) => {}
                Err(e) => return Err(failed(refuse(stream, handshake.refuse(e)).await)),
            }
            if buf.len() > config.max_header_bytes {
                return Err(failed(HandshakeError::HeadTooLarge {
                    limit: config.max_header_bytes,
                }));
            }
            // A TLS ClientHello (record type 22) never ends an HTTP head: answer now rather
            // than at the open-handshake timeout, so that a wss:// client fails fast.
            if buf.first() == Some(&0x16) {
                let why = "TLS handshake sent to a WebSocket server without TLS; use ws://";
                let _ = stream
                    .write_all(&deny_response(400, Some(why), &Headers::new()))
                    .await;
                return Err(failed(HandshakeError::Rejected(why.into())));
            }
            buf.reserve(1024);
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(failed(HandshakeError::ConnectionClosed));
            }
        };
        let upgrade = match parsed {
            ParsedRequest::Upgrade(mut u) => {
                span::record_path(&tracing::Span::current(), &u.request.path);
                // The exact address (the parser read it back from the descriptor).
                u.request.peer_addr = channel.peer_addr().clone();
                *u
            }
            ParsedRequest::StatusPage { .. } => {
                let page = status_page_response(handshake.server.as_deref(), &config.versions);
                stream.write_all(&page).await?;
                return Ok(None);
            }
            ParsedRequest::FlashPolicy { .. } => {
                // The configured policy is complete and served as is, like Autobahn's;
                // the port argument only fills in a missing policy.
                let policy = flash_policy_response(Some(&self.options.flash_socket_policy), 0);
                stream.write_all(&policy).await?;
                return Ok(None);
            }
        };
        let consumed = upgrade.consumed;
        let pending = match handshake.negotiate(upgrade) {
            Ok(p) => p,
            Err(refusal) => return Err(failed(refuse(stream, refusal).await)),
        };
        let mut receiver = Receiver::new(self.options.protocol_config());
        self.set_deflate(&pending, &mut receiver, channel);
        let decision = handler.on_connect(pending.request()).await;
        let accepted = match handshake.respond(pending, decision) {
            Ok(a) => a,
            Err(refusal) => return Err(failed(refuse(stream, refusal).await)),
        };
        let answer = accepted.to_bytes();
        let negotiated = accepted.into_negotiated();
        stream.write_all(&answer).await?;
        span::record_negotiated(
            &tracing::Span::current(),
            negotiated.subprotocol.as_deref(),
            &negotiated.extensions,
        );
        tracing::debug!("WebSocket opening handshake done");
        let _ = buf.split_to(consumed);
        Ok(Some((buf, receiver, negotiated.subprotocol)))
    }

    /// Sets up both directions' permessage-deflate codecs, if compression was agreed.
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    fn set_deflate(
        &self,
        pending: &PendingUpgrade,
        receiver: &mut Receiver,
        channel: &WebSocketChannel,
    ) {
        #[cfg(feature = "deflate")]
        if let Some(params) = pending.deflate() {
            let threshold = self.options.per_message_compression_threshold;
            super::connection::install_deflate(params, true, threshold, receiver, channel);
        }
    }
}

/// Writes a refusal's answer (best effort: the handshake failed either way) and gives
/// its reason.
async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, refusal: Refusal) -> HandshakeError {
    let _ = stream.write_all(&refusal.to_bytes()).await;
    refusal.into_error()
}

/// Counts a connection for `max_connections` while it lives.
/// After refusing a request: at most this long and this many bytes of the client's
/// unread input are read and discarded before the socket closes.
const REFUSAL_LINGER: std::time::Duration = std::time::Duration::from_secs(1);
const REFUSAL_LINGER_BYTES: usize = 256 * 1024;

/// Reads and discards what the client still sends (the rest of an oversized head, a
/// body) until it closes, for a bounded time and amount. Closing a socket with unread
/// input makes the kernel send RST, which can destroy our error response in the
/// client's receive buffer before it reads it.
async fn discard_input<S: AsyncRead + Unpin>(stream: &mut S) {
    let drain = async {
        // On the heap: an array here would enlarge every connection task's future.
        let mut scratch = vec![0u8; 8192];
        let mut total = 0;
        while total < REFUSAL_LINGER_BYTES {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(REFUSAL_LINGER, drain).await;
}

/// How long the accept loops pause after an error that is not about one connection.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// An accept error never ends a server. One connection's failure (reset or aborted
/// before we took it) is skipped; anything else, out of file descriptors above all, is
/// logged and waited out briefly: retrying at once would spin a core and flood the log
/// until a descriptor is free.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    if matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted) {
        tracing::debug!("accept: {e}");
        return;
    }
    tracing::warn!("accept failed: {e}; pausing {ACCEPT_BACKOFF:?}");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// Runs `fut` until `deadline` (without one, for 30 years: one code path keeps each
/// connection task's future small); `Err` if the deadline passed.
fn within<F: std::future::Future>(deadline: Option<Instant>, fut: F) -> tokio::time::Timeout<F> {
    let deadline = deadline
        .unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(30 * 365 * 86_400));
    tokio::time::timeout_at(deadline, fut)
}

/// An accepted connection whose opening handshake is done.
struct Opened<S, H> {
    stream: S,
    leftover: BytesMut,
    channel: WebSocketChannel,
    receiver: Receiver,
    handler: H,
    slot: ConnectionSlot,
    subprotocol: Option<String>,
}

/// One place under `max_connections`, given back when dropped.
pub(crate) struct ConnectionSlot {
    counter: Arc<AtomicUsize>,
    count: usize,
}

impl ConnectionSlot {
    fn take(counter: &Arc<AtomicUsize>) -> Self {
        let count = counter.fetch_add(1, Ordering::AcqRel) + 1;
        Self {
            counter: counter.clone(),
            count,
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::AcqRel);
    }
}
