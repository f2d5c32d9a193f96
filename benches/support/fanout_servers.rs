//! The fan-out servers of `fanout.rs`: each keeps a registry of its connections and, told
//! to, sends one message to all of them, in its library's idiom. Ours prepares the message
//! once (`PreparedMessage`) and queues it on every channel (`try_send_prepared`, waiting only
//! for a client whose queue is full); the peers hand a `Bytes` clone to every connection's
//! task through its unbounded channel (tokio-tungstenite's own broadcast example keeps such
//! a peer map), and the task writes it as a binary message.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use futures_util::{Sink, SinkExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};

use super::FanoutServer;

/// The connections a server sends to, and a signal for each one that joins.
pub struct Registry<T> {
    list: Mutex<Vec<T>>,
    joined: Notify,
}

impl<T> Registry<T> {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            list: Mutex::new(Vec::new()),
            joined: Notify::new(),
        })
    }

    fn list(&self) -> MutexGuard<'_, Vec<T>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn join(&self, member: T) {
        self.list().push(member);
        self.joined.notify_one();
    }

    /// Waits until at least `n` connections joined.
    async fn wait_for(&self, n: usize) {
        loop {
            let joined = self.joined.notified();
            if self.list().len() >= n {
                return;
            }
            joined.await;
        }
    }
}

/// A running fan-out server: its registry, whichever kind it is.
#[derive(Clone)]
pub enum Fanout {
    Ours(Arc<Registry<autobahn::websocket::WebSocketChannel>>),
    Peer(Arc<Registry<mpsc::UnboundedSender<Bytes>>>),
}

impl Fanout {
    pub fn new(kind: FanoutServer) -> Self {
        match kind {
            FanoutServer::Autobahn => Fanout::Ours(Registry::new()),
            _ => Fanout::Peer(Registry::new()),
        }
    }

    /// Waits until at least `n` connections joined.
    pub async fn wait_for(&self, n: usize) {
        match self {
            Fanout::Ours(r) => r.wait_for(n).await,
            Fanout::Peer(r) => r.wait_for(n).await,
        }
    }

    /// Sends `payload` as one binary message to every connection.
    pub async fn broadcast(&self, payload: &[u8]) {
        match self {
            Fanout::Ours(registry) => {
                use autobahn::websocket::channel::TrySendError;
                use autobahn::websocket::PreparedMessage;
                let message = PreparedMessage::new(Bytes::copy_from_slice(payload), true);
                let behind: Vec<_> = registry
                    .list()
                    .iter()
                    .filter(|c| matches!(c.try_send_prepared(&message), Err(TrySendError::Full(_))))
                    .cloned()
                    .collect();
                for channel in behind {
                    let _ = channel.send_prepared(&message).await;
                }
            }
            Fanout::Peer(registry) => {
                let message = Bytes::copy_from_slice(payload);
                for client in registry.list().iter() {
                    let _ = client.send(message.clone());
                }
            }
        }
    }

    /// Accepts connections of `kind` on `listener` until the runtime is dropped.
    pub async fn serve(&self, kind: FanoutServer, listener: TcpListener, port: u16, deflate: bool) {
        match (self, kind) {
            (Fanout::Ours(registry), _) => serve_autobahn(listener, port, deflate, registry).await,
            (Fanout::Peer(registry), FanoutServer::Fastwebsockets) => {
                serve_fastwebsockets(listener, registry).await
            }
            (Fanout::Peer(registry), FanoutServer::TokioWebsockets) => {
                serve_tokio_websockets(listener, registry).await
            }
            (Fanout::Peer(registry), FanoutServer::TokioTungstenite) => {
                serve_tokio_tungstenite(listener, registry).await
            }
            (Fanout::Peer(_), FanoutServer::Autobahn) => unreachable!("ours has its registry"),
        }
    }
}

/// Ours: the factory with a handler that registers its channel when the connection opens.
/// permessage-deflate is declined unless the cell is a compressed one (the peers do not
/// implement it); auto-ping is off, as the peers send no pings either.
async fn serve_autobahn(
    listener: TcpListener,
    port: u16,
    deflate: bool,
    registry: &Arc<Registry<autobahn::websocket::WebSocketChannel>>,
) {
    use autobahn::websocket::options::ServerOptions;
    use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerHandler};

    struct Member {
        channel: WebSocketChannel,
        registry: Arc<Registry<WebSocketChannel>>,
    }
    impl WebSocketHandler for Member {
        async fn on_open(&mut self) {
            self.registry.join(self.channel.clone());
        }
    }
    impl WebSocketServerHandler for Member {}

    #[allow(unused_mut)]
    let mut options = ServerOptions {
        auto_ping_interval: None,
        ..ServerOptions::default()
    };
    #[cfg(feature = "deflate")]
    if !deflate {
        options.per_message_compression_accept = None;
    }
    #[cfg(not(feature = "deflate"))]
    assert!(!deflate, "compressed cells need the deflate feature");
    let registry = registry.clone();
    autobahn::websocket::WebSocketServerFactory::new(format!("ws://127.0.0.1:{port}"))
        .with_protocol_options(options)
        .serve(listener, move |channel| Member {
            channel,
            registry: registry.clone(),
        })
        .await
        .expect("autobahn serve");
}

/// Accepts on `listener` until the runtime is dropped; each connection runs `serve` in a
/// task of its own.
async fn accept_each<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream));
    }
}

/// A peer connection's sending side: registered, then fed by the broadcaster, each message
/// sent as `binary` makes it, until the connection fails.
async fn forward<S, M>(
    mut ws: S,
    registry: &Registry<mpsc::UnboundedSender<Bytes>>,
    binary: impl Fn(Bytes) -> M,
) where
    S: Sink<M> + Unpin,
{
    let (tx, mut rx) = mpsc::unbounded_channel();
    registry.join(tx);
    while let Some(message) = rx.recv().await {
        if ws.send(binary(message)).await.is_err() {
            break;
        }
    }
}

/// fastwebsockets: hyper upgrade (as its echo example), then `write_frame` per message.
async fn serve_fastwebsockets(
    listener: TcpListener,
    registry: &Arc<Registry<mpsc::UnboundedSender<Bytes>>>,
) {
    use fastwebsockets::{upgrade, Frame, Payload, WebSocketError};
    use http_body_util::Empty;
    use hyper::body::Incoming;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};

    accept_each(listener, |stream| {
        let registry = registry.clone();
        async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = service_fn(move |mut req: Request<Incoming>| {
                let registry = registry.clone();
                async move {
                    let (response, fut) = upgrade::upgrade(&mut req)?;
                    tokio::spawn(tokio::task::unconstrained(async move {
                        let Ok(mut ws) = fut.await else { return };
                        let (tx, mut rx) = mpsc::unbounded_channel();
                        registry.join(tx);
                        while let Some(message) = rx.recv().await {
                            let frame = Frame::binary(Payload::Borrowed(&message));
                            if ws.write_frame(frame).await.is_err() {
                                break;
                            }
                        }
                    }));
                    Ok::<Response<Empty<hyper::body::Bytes>>, WebSocketError>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(io, service)
                .with_upgrades()
                .await;
        }
    })
    .await
}

/// tokio-websockets: `ServerBuilder` default config, `send` per message.
async fn serve_tokio_websockets(
    listener: TcpListener,
    registry: &Arc<Registry<mpsc::UnboundedSender<Bytes>>>,
) {
    accept_each(listener, |stream| {
        let registry = registry.clone();
        tokio::task::unconstrained(async move {
            if let Ok((_req, ws)) = tokio_websockets::ServerBuilder::new().accept(stream).await {
                forward(ws, &registry, tokio_websockets::Message::binary).await;
            }
        })
    })
    .await
}

/// tokio-tungstenite: `accept_async`, `send` per message.
async fn serve_tokio_tungstenite(
    listener: TcpListener,
    registry: &Arc<Registry<mpsc::UnboundedSender<Bytes>>>,
) {
    accept_each(listener, |stream| {
        let registry = registry.clone();
        async move {
            if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                forward(
                    ws,
                    &registry,
                    tokio_tungstenite::tungstenite::Message::Binary,
                )
                .await;
            }
        }
    })
    .await
}
