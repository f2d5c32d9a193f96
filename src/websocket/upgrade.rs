//! WebSocket upgrades inside other HTTP servers: hyper 1.x (feature `hyper`) and axum
//! (feature `axum`, the [`WebSocketUpgrade`] extractor).
//!
//! Both answer with the factory's own handshake
//! ([`WebSocketServerFactory::server_handshake`]): its subprotocols, origin policy, version
//! and `Host` checks, extra headers and **permessage-deflate**, and an `on_connect`
//! decision; the upgraded stream becomes a [`WebSocket`] on a task of its own
//! ([`WebSocketServerFactory::upgraded_websocket`]), counted against `max_connections`
//! and the message budget like the factory's own connections.

use std::future::Future;

use http::{Request, Response};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use super::handshake::{Checked, ServerHandshake};
use super::peer::PeerAddr;
use super::server::WebSocketServerFactory;
use super::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};
use super::WebSocket;

/// The connection after an upgrade through hyper.
pub type UpgradedWebSocket = WebSocket<TokioIo<hyper::upgrade::Upgraded>>;

/// Answers `request` (taking its hyper upgrade) with `factory`'s handshake; `on_connect`
/// decides on a valid request. On a 101, `handle` gets the connection on a task of its
/// own once hyper has upgraded the stream. Any other answer (the status page, a denial,
/// an invalid request) is the response to send, with an HTML body.
///
/// `peer` names the client; `format!("tcp:{addr}")` of the address hyper's listener
/// accepted gives the request and the connection a typed
/// [`PeerAddr::Tcp`] (see
/// [`WebSocketServerFactory::accept_stream`]).
///
/// # Examples
///
/// In a hyper service:
///
/// ```no_run
/// use autobahn::websocket::upgrade::upgrade;
/// use autobahn::websocket::types::ConnectionAccept;
/// use autobahn::websocket::WebSocketServerFactory;
///
/// async fn service(
///     factory: WebSocketServerFactory,
///     request: hyper::Request<hyper::body::Incoming>,
/// ) -> Result<hyper::Response<String>, std::convert::Infallible> {
///     Ok(upgrade(&factory, request, "tcp:client", |_| Ok(ConnectionAccept::default()), |mut ws| async move {
///         while let Some(message) = ws.recv().await {
///             let _ = ws.send(message).await;
///         }
///     }))
/// }
/// ```
pub fn upgrade<B, D, F, Fut>(
    factory: &WebSocketServerFactory,
    mut request: Request<B>,
    peer: &str,
    on_connect: D,
    handle: F,
) -> Response<String>
where
    D: FnOnce(&ConnectionRequest) -> Result<ConnectionAccept, ConnectionDeny>,
    F: FnOnce(UpgradedWebSocket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let on_upgrade = request.extensions_mut().remove::<OnUpgrade>();
    let (parts, _body) = request.into_parts();
    answer(
        factory,
        Request::from_parts(parts, ()),
        on_upgrade,
        PeerAddr::parse(peer),
        on_connect,
        handle,
    )
}

fn answer<D, F, Fut>(
    factory: &WebSocketServerFactory,
    request: Request<()>,
    on_upgrade: Option<OnUpgrade>,
    peer: PeerAddr,
    on_connect: D,
    handle: F,
) -> Response<String>
where
    D: FnOnce(&ConnectionRequest) -> Result<ConnectionAccept, ConnectionDeny>,
    F: FnOnce(UpgradedWebSocket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let handshake: ServerHandshake = factory.server_handshake();
    let pending = match handshake.check_request(&request, &peer.to_string()) {
        Ok(Checked::Upgrade(pending)) => pending,
        Ok(Checked::StatusPage(page)) => return page,
        Err(refusal) => return refusal.response(),
    };
    let Some(on_upgrade) = on_upgrade else {
        // HTTP/2 or a server without upgrades: nothing to switch protocols on.
        let refusal = ConnectionDeny::new(426, Some("this connection cannot be upgraded"));
        return handshake
            .respond(pending, Err(refusal))
            .err()
            .map_or_else(Response::default, |r| r.response());
    };
    let decision = on_connect(pending.request());
    let accepted = match handshake.respond(pending, decision) {
        Ok(accepted) => accepted,
        Err(refusal) => return refusal.response(),
    };
    let negotiated = accepted.negotiated().clone();
    let factory = factory.clone();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let stream = TokioIo::new(upgraded);
                let ws = factory.upgraded_websocket_from(stream, &negotiated, peer);
                handle(ws).await;
            }
            Err(e) => tracing::debug!(%peer, error = %e, "the HTTP server did not upgrade"),
        }
    });
    accepted.response().map(|()| String::new())
}

#[cfg(feature = "axum")]
pub use self::axum_extractor::WebSocketUpgrade;

#[cfg(feature = "axum")]
mod axum_extractor {
    use std::convert::Infallible;
    use std::future::Future;
    use std::net::SocketAddr;

    use axum::extract::{ConnectInfo, FromRequestParts};
    use axum::response::{IntoResponse, Response};
    use http::request::Parts;
    use http::Request;
    use hyper::upgrade::OnUpgrade;

    use super::{answer, UpgradedWebSocket};
    use crate::websocket::peer::PeerAddr;
    use crate::websocket::server::WebSocketServerFactory;
    use crate::websocket::types::{ConnectionAccept, ConnectionDeny, ConnectionRequest};

    /// An axum extractor for a WebSocket upgrade answered by a
    /// [`WebSocketServerFactory`]: the factory's options, subprotocols, origin policy,
    /// `on_connect` and **permessage-deflate** (which axum's own `WebSocketUpgrade` does not
    /// have), and the connection as our [`WebSocket`](crate::websocket::WebSocket).
    ///
    /// Extracting never fails: a request that is not a valid upgrade gets the factory's
    /// answer (status page, 400, 426) from [`Self::on_upgrade`]. Tower middleware in front
    /// of the route runs before anything is answered, as for any axum handler.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use autobahn::websocket::upgrade::WebSocketUpgrade;
    /// use autobahn::websocket::WebSocketServerFactory;
    /// use axum::extract::State;
    /// use axum::routing::get;
    ///
    /// async fn ws(State(factory): State<WebSocketServerFactory>, upgrade: WebSocketUpgrade) -> axum::response::Response {
    ///     upgrade.on_upgrade(&factory, |mut ws| async move {
    ///         while let Some(message) = ws.recv().await {
    ///             let _ = ws.send(message).await;
    ///         }
    ///     })
    /// }
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let factory = WebSocketServerFactory::new("ws://127.0.0.1:3000");
    /// let app = axum::Router::new().route("/ws", get(ws)).with_state(factory);
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, app).await?;
    /// # Ok(())
    /// # }
    /// ```
    #[derive(Debug)]
    pub struct WebSocketUpgrade {
        request: Request<()>,
        on_upgrade: Option<OnUpgrade>,
        /// `peer_addr` as Autobahn writes it, for [`Self::peer`].
        peer: String,
        peer_addr: PeerAddr,
    }

    impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
        type Rejection = Infallible;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
            let on_upgrade = parts.extensions.remove::<OnUpgrade>();
            let peer_addr = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| PeerAddr::Other("http".into()), |c| PeerAddr::Tcp(c.0));
            let mut request = Request::new(());
            *request.method_mut() = parts.method.clone();
            *request.uri_mut() = parts.uri.clone();
            *request.version_mut() = parts.version;
            *request.headers_mut() = parts.headers.clone();
            Ok(Self {
                request,
                on_upgrade,
                peer: peer_addr.to_string(),
                peer_addr,
            })
        }
    }

    impl WebSocketUpgrade {
        /// Accepts (as the factory's checks allow) and runs `handle` on the connection.
        pub fn on_upgrade<F, Fut>(self, factory: &WebSocketServerFactory, handle: F) -> Response
        where
            F: FnOnce(UpgradedWebSocket) -> Fut + Send + 'static,
            Fut: Future<Output = ()> + Send + 'static,
        {
            self.on_connect(factory, |_| Ok(ConnectionAccept::default()), handle)
        }

        /// [`Self::on_upgrade`] with an `on_connect` decision: accept (subprotocol,
        /// headers) or deny with an HTTP status, as a handler's `on_connect` does.
        pub fn on_connect<D, F, Fut>(
            self,
            factory: &WebSocketServerFactory,
            on_connect: D,
            handle: F,
        ) -> Response
        where
            D: FnOnce(&ConnectionRequest) -> Result<ConnectionAccept, ConnectionDeny>,
            F: FnOnce(UpgradedWebSocket) -> Fut + Send + 'static,
            Fut: Future<Output = ()> + Send + 'static,
        {
            answer(
                factory,
                self.request,
                self.on_upgrade,
                self.peer_addr,
                on_connect,
                handle,
            )
            .into_response()
        }

        /// The peer, as the factory names it (`tcp:ip:port` when the app was served with
        /// `into_make_service_with_connect_info::<SocketAddr>()`, else `http`).
        pub fn peer(&self) -> &str {
            &self.peer
        }

        /// The peer's address: [`PeerAddr::Tcp`] when the app was served with connect
        /// info, else [`PeerAddr::Other`] (`http`).
        pub fn peer_addr(&self) -> &PeerAddr {
            &self.peer_addr
        }
    }
}
