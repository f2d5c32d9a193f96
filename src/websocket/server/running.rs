//! A running server: the accept loop as a value with a handle, so it can be counted and
//! shut down gracefully (stop accepting, close every connection with 1001 "going away",
//! wait up to a grace period, drop the rest).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::{accept_failed, WebSocketServerFactory};
use crate::websocket::channel::WebSocketChannel;
use crate::websocket::error::Chain;
use crate::websocket::handler::WebSocketServerHandler;
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

/// The open connections' channels, to tell each one the server is going away.
type Live = Arc<Mutex<HashMap<u64, WebSocketChannel>>>;

impl WebSocketServerFactory {
    /// Starts accepting on `listener` (TCP or Unix) in a task of its own.
    pub(super) fn start_on<H, F>(self, listener: Listener, make: F) -> WebSocketServer
    where
        H: WebSocketServerHandler,
        F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
    {
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
                Arc::new(make),
                stopped,
            )),
        }
    }
}

async fn accept_loop<H, F>(
    factory: Arc<WebSocketServerFactory>,
    listener: Listener,
    make: Arc<F>,
    mut stopped: watch::Receiver<Option<Duration>>,
) -> ShutdownReport
where
    H: WebSocketServerHandler,
    F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
{
    let live: Live = Arc::default();
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
                    tasks.spawn(run_one(factory.clone(), stream, peer, make.clone(), live.clone(), id));
                }
                Err(e) => accept_failed(e).await,
            },
        }
    };
    drop(listener); // new connections are refused from now on
    let open: Vec<WebSocketChannel> = lock(&live).values().cloned().collect();
    tracing::info!(
        connections = open.len(),
        ?grace,
        "shutting down: closing every connection with 1001"
    );
    for channel in &open {
        channel.going_away();
    }
    drop(open);
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

async fn accept(listener: &Listener) -> std::io::Result<(Accepted, String)> {
    match listener {
        Listener::Tcp(l) => {
            let (tcp, addr) = l.accept().await?;
            Ok((Accepted::Tcp(tcp, addr), format!("tcp:{addr}")))
        }
        #[cfg(unix)]
        Listener::Unix(l) => {
            let (stream, addr) = l.accept().await?;
            let peer = match addr.as_pathname() {
                Some(p) => format!("unix:{}", p.display()),
                None => "unix".to_string(),
            };
            Ok((Accepted::Unix(stream), peer))
        }
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream, SocketAddr),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

/// One connection, registered in `live` while it exists.
async fn run_one<H, F>(
    factory: Arc<WebSocketServerFactory>,
    stream: Accepted,
    peer: String,
    make: Arc<F>,
    live: Live,
    id: u64,
) where
    H: WebSocketServerHandler,
    F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
{
    let register = |channel: WebSocketChannel| {
        lock(&live).insert(id, channel.clone());
        make(channel)
    };
    let result = match stream {
        Accepted::Tcp(tcp, addr) => factory.accept_tcp(tcp, addr, register).await,
        #[cfg(unix)]
        Accepted::Unix(stream) => {
            factory
                .accept_stream(MaybeTlsStream::Unix(stream), peer.clone(), register)
                .await
        }
    };
    lock(&live).remove(&id);
    if let Err(e) = result {
        tracing::debug!(%peer, error = %Chain(&e), "connection ended with an error");
    }
}

fn lock(live: &Live) -> std::sync::MutexGuard<'_, HashMap<u64, WebSocketChannel>> {
    live.lock().unwrap_or_else(|e| e.into_inner())
}
