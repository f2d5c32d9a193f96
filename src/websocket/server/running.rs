//! A running server: the accept loop as a value with a handle, so it can be counted and
//! shut down gracefully (stop accepting, close every connection with 1001 "going away",
//! wait up to a grace period, drop the rest).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::accept::accept_failed;
use super::WebSocketServerFactory;
use crate::websocket::channel::WebSocketChannel;
use crate::websocket::connection::WebSocket;
use crate::websocket::error::Chain;
use crate::websocket::handler::WebSocketServerHandler;
use crate::websocket::peer::PeerAddr;
use crate::websocket::stream::MaybeTlsStream;

/// A server accepting connections in its own task: what
/// [`WebSocketServerFactory::start`] returns.
///
/// Dropping it does not stop the server (as dropping a `JoinHandle` does not stop a
/// task); [`Self::shutdown`] or a [`ServerHandle`] does.
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
/// let addr = server.local_addr().expect("a TCP server");
/// assert_eq!(server.connection_count(), 0);
/// // ... clients connect to `addr` ...
/// let report = server.shutdown(Duration::from_secs(5)).await;
/// assert_eq!(report.dropped, 0);
/// # let _ = addr;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WebSocketServer {
    local_addr: Option<SocketAddr>,
    handle: ServerHandle,
    task: JoinHandle<ShutdownReport>,
}

/// Shuts a [`WebSocketServer`] down from anywhere (a signal handler, an admin route);
/// cheap to clone.
///
/// # Examples
///
/// ```
/// # async fn demo(server: autobahn::websocket::WebSocketServer) {
/// use std::time::Duration;
/// let handle = server.handle();
/// tokio::spawn(async move {
///     let _ = tokio::signal::ctrl_c().await;
///     handle.shutdown(Duration::from_secs(10));
/// });
/// let report = server.wait().await; // returns once the shutdown is done
/// tracing::info!(?report, "server stopped");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ServerHandle {
    stop: Arc<watch::Sender<Option<Duration>>>,
    connections: Arc<AtomicUsize>,
}

impl ServerHandle {
    /// Starts the graceful shutdown: no new connections; every open connection gets a
    /// close frame with 1001 "going away" (one still in its opening handshake as soon
    /// as it opens); connections still there after `grace` are dropped. Returns at once;
    /// [`WebSocketServer::wait`] returns when it is done. A second call changes nothing.
    pub fn shutdown(&self, grace: Duration) {
        self.stop.send_if_modified(|stop| {
            let first = stop.is_none();
            if first {
                *stop = Some(grace);
            }
            first
        });
    }

    /// Connections open or opening now (the factory's count: every server of one
    /// factory shares it, as `max_connections` does).
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }
}

/// How a graceful shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Connections that ended within the grace period.
    pub closed: usize,
    /// Connections dropped when the grace period was over.
    pub dropped: usize,
}

impl WebSocketServer {
    /// The address the listener is bound to (`None` for a Unix socket).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// A handle that shuts this server down.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Connections open or opening now.
    pub fn connection_count(&self) -> usize {
        self.handle.connection_count()
    }

    /// Shuts down gracefully (see [`ServerHandle::shutdown`]) and waits until done: at
    /// most `grace` plus the time to drop what is left.
    pub async fn shutdown(self, grace: Duration) -> ShutdownReport {
        self.handle.shutdown(grace);
        self.wait().await
    }

    /// Waits until the server has been shut down through a handle (forever if never).
    pub async fn wait(self) -> ShutdownReport {
        match self.task.await {
            Ok(report) => report,
            // The accept loop does not panic; a runtime shutting down cancels it.
            Err(e) => {
                tracing::debug!("accept loop ended: {e}");
                ShutdownReport::default()
            }
        }
    }
}

/// What the accept loop takes connections from: TCP or a Unix socket.
pub(super) enum Listener {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

impl Listener {
    fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Listener::Unix(_) => None,
        }
    }
}

/// The open connections' channels, to tell each one the server is going away; once it
/// is, a connection registering later is told at once.
#[derive(Default)]
pub(super) struct Live(Mutex<LiveConnections>);

#[derive(Default)]
struct LiveConnections {
    going_away: bool,
    channels: HashMap<u64, WebSocketChannel>,
}

impl Live {
    fn lock(&self) -> std::sync::MutexGuard<'_, LiveConnections> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn register(&self, id: u64, channel: &WebSocketChannel) {
        let mut live = self.lock();
        if live.going_away {
            channel.going_away();
        }
        live.channels.insert(id, channel.clone());
    }

    fn remove(&self, id: u64) {
        self.lock().channels.remove(&id);
    }

    /// Marks the server as going away and tells every open connection; returns how many.
    fn going_away(&self) -> usize {
        let mut live = self.lock();
        live.going_away = true;
        for channel in live.channels.values() {
            channel.going_away();
        }
        live.channels.len()
    }
}

/// What a server does with each accepted connection: run it with handlers, or hand it
/// to the application as a [`WebSocket`].
pub(super) trait Service: Send + Sync + 'static {
    /// Runs one connection to its end; registers its channel in `live` once it has one.
    fn serve(
        &self,
        factory: &WebSocketServerFactory,
        stream: Accepted,
        peer: PeerAddr,
        live: &Live,
        id: u64,
    ) -> impl Future<Output = ()> + Send;
}

/// The handler API: `make` creates each connection's handler.
pub(super) struct Handlers<F>(pub(super) F);

impl<H, F> Service for Handlers<F>
where
    H: WebSocketServerHandler,
    F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
{
    async fn serve(
        &self,
        factory: &WebSocketServerFactory,
        stream: Accepted,
        peer: PeerAddr,
        live: &Live,
        id: u64,
    ) {
        let register = |channel: WebSocketChannel| {
            live.register(id, &channel);
            (self.0)(channel)
        };
        let result = match stream {
            Accepted::Tcp(tcp, addr) => factory.accept_tcp(tcp, addr, register).await,
            #[cfg(unix)]
            Accepted::Unix(stream) => {
                factory
                    .accept_stream_from(MaybeTlsStream::Unix(stream), peer.clone(), register)
                    .await
            }
        };
        if let Err(e) = result {
            tracing::debug!(%peer, error = %Chain(&e), "connection ended with an error");
        }
    }
}

/// The pull API: `handle` gets each connection as a value once its handshake is done.
pub(super) struct Pull<F>(pub(super) F);

/// `on_connect` of a pull-API server: the factory's own checks decide.
struct AcceptAll;
impl crate::websocket::handler::WebSocketHandler for AcceptAll {}
impl WebSocketServerHandler for AcceptAll {}

impl<F, Fut> Service for Pull<F>
where
    F: Fn(WebSocket<MaybeTlsStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    async fn serve(
        &self,
        factory: &WebSocketServerFactory,
        stream: Accepted,
        peer: PeerAddr,
        live: &Live,
        id: u64,
    ) {
        let register = |channel: WebSocketChannel| {
            live.register(id, &channel);
            AcceptAll
        };
        let accepted = match stream {
            Accepted::Tcp(tcp, addr) => factory.accept_tcp_websocket(tcp, addr, register).await,
            #[cfg(unix)]
            Accepted::Unix(stream) => {
                factory
                    .accept_stream_websocket_from(
                        MaybeTlsStream::Unix(stream),
                        peer.clone(),
                        register,
                    )
                    .await
            }
        };
        match accepted {
            Ok(Some(ws)) => (self.0)(ws).await,
            Ok(None) => {} // a plain HTTP request, answered
            Err(e) => tracing::debug!(%peer, error = %Chain(&e), "opening handshake failed"),
        }
    }
}

impl WebSocketServerFactory {
    /// Starts accepting on `listener` (TCP or Unix) in a task of its own.
    pub(super) fn start_on(self, listener: Listener, service: impl Service) -> WebSocketServer {
        let (stop, stopped) = watch::channel(None);
        let handle = ServerHandle {
            stop: Arc::new(stop),
            connections: self.connections.clone(),
        };
        WebSocketServer {
            local_addr: listener.local_addr(),
            handle,
            task: tokio::spawn(accept_loop(
                Arc::new(self),
                listener,
                Arc::new(service),
                stopped,
            )),
        }
    }
}

async fn accept_loop(
    factory: Arc<WebSocketServerFactory>,
    listener: Listener,
    service: Arc<impl Service>,
    mut stopped: watch::Receiver<Option<Duration>>,
) -> ShutdownReport {
    let live: Arc<Live> = Arc::default();
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    // Once every handle is gone nobody can shut this server down: it serves on.
    let mut orphaned = false;
    let grace = loop {
        tokio::select! {
            changed = stopped.changed(), if !orphaned => {
                if let Some(grace) = *stopped.borrow() {
                    break grace;
                }
                orphaned = changed.is_err();
            }
            // Reap finished connections so the set stays as large as what is open.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = accept(&listener) => match accepted {
                Ok((stream, peer)) => {
                    let id = next_id;
                    next_id += 1;
                    let (factory, service, live) = (factory.clone(), service.clone(), live.clone());
                    tasks.spawn(async move {
                        service.serve(&factory, stream, peer, &live, id).await;
                        live.remove(id);
                    });
                }
                Err(e) => accept_failed(e).await,
            },
        }
    };
    drop(listener); // new connections are refused from now on
    let open = live.going_away();
    tracing::info!(
        connections = open,
        ?grace,
        "shutting down: closing every connection with 1001"
    );
    let deadline = Instant::now() + grace;
    let mut report = ShutdownReport::default();
    while let Ok(Some(_)) = tokio::time::timeout_at(deadline, tasks.join_next()).await {
        report.closed += 1;
    }
    report.dropped = tasks.len();
    tasks.shutdown().await;
    tracing::info!(
        closed = report.closed,
        dropped = report.dropped,
        "shutdown done"
    );
    report
}

async fn accept(listener: &Listener) -> std::io::Result<(Accepted, PeerAddr)> {
    match listener {
        Listener::Tcp(l) => {
            let (tcp, addr) = l.accept().await?;
            Ok((Accepted::Tcp(tcp, addr), PeerAddr::Tcp(addr)))
        }
        #[cfg(unix)]
        Listener::Unix(l) => {
            let (stream, addr) = l.accept().await?;
            Ok((Accepted::Unix(stream), PeerAddr::of_unix(&addr)))
        }
    }
}

pub(super) enum Accepted {
    Tcp(tokio::net::TcpStream, SocketAddr),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}
