//! WebSocket servers: [`WebSocketServerFactory`] (Autobahn's factory of the same name)
//! accepts connections, runs the opening handshake and drives each connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;

use super::budget::SharedBudget;
use super::builder;
use super::channel::WebSocketChannel;
use super::connection::WebSocket;
use super::driver::DriverConfig;
use super::error::Result;
use super::handler::WebSocketServerHandler;
use super::handshake::server::ServerHandshake;
use super::options::ServerOptions;
use super::stream::MaybeTlsStream;
use super::types::Headers;
use super::url::parse_url;

mod accept;
mod running;
pub(crate) use accept::ConnectionSlot;
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
}
