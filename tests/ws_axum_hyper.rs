//! The hyper and axum adapters (`websocket::upgrade`) in real servers, with our client as
//! the peer: tower middleware refusing before the axum extractor runs, `on_connect`
//! denying through axum, and `upgrade()` inside a plain hyper HTTP/1.1 server with
//! permessage-deflate.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use autobahn::websocket::stream::MaybeTlsStream;
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny, Headers};
use autobahn::websocket::upgrade::{upgrade, UpgradedWebSocket, WebSocketUpgrade};
use autobahn::websocket::{
    Error, Message, WebSocketClientFactory, WebSocketClientHandler, WebSocketConnection,
    WebSocketHandler, WebSocketServerFactory,
};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::bounded;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The client's handler: connections are used through the pull API.
struct NoHandler;
impl WebSocketHandler for NoHandler {}
impl WebSocketClientHandler for NoHandler {}

/// Echoes until the peer closes.
async fn echo(mut ws: UpgradedWebSocket) {
    while let Some(message) = ws.recv().await {
        if ws.send(message).await.is_err() {
            break;
        }
    }
}

/// The server side of the axum tests: the factory, and how often the route's handler
/// ran and how often a connection reached the echo.
#[derive(Clone)]
struct Server {
    factory: WebSocketServerFactory,
    handler_runs: Arc<AtomicUsize>,
    upgraded: Arc<AtomicUsize>,
}

impl Server {
    fn new() -> Self {
        Self {
            factory: WebSocketServerFactory::new("ws://127.0.0.1"),
            handler_runs: Arc::default(),
            upgraded: Arc::default(),
        }
    }
}

/// [`echo`], counted in `upgraded` first.
async fn counted_echo(ws: UpgradedWebSocket, upgraded: Arc<AtomicUsize>) {
    upgraded.fetch_add(1, Ordering::SeqCst);
    echo(ws).await;
}

/// Serves `app` on a loopback port (with the peer address for the extractor).
async fn serve_axum(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    addr
}

/// A client connection used through the pull API.
type Connection = WebSocketConnection<MaybeTlsStream, NoHandler>;

/// Connects to `url` with `headers`; returns the connection or the error.
async fn connect(url: &str, headers: Headers) -> Result<Connection, Error> {
    WebSocketClientFactory::new(url)
        .expect("url")
        .headers(headers)
        .connect(|_| NoHandler)
        .await
}

/// Sends `text`, expects it back, closes cleanly.
async fn echo_once(connection: Connection, text: &str) {
    let mut ws = connection.into_websocket();
    ws.send(text).await.expect("send");
    assert_eq!(ws.recv().await, Some(Message::from(text.to_string())));
    let close = ws.close(Some(1000), None).await.expect("close");
    assert!(close.was_clean, "{close:?}");
}

/// Tower middleware in front of the route: no `X-Token`, no upgrade.
async fn require_token(request: Request, next: Next) -> Response {
    if request
        .headers()
        .get("x-token")
        .is_some_and(|v| v == "secret")
    {
        next.run(request).await
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

/// The route behind [`require_token`]: counts its runs, then echoes.
async fn guarded(State(server): State<Server>, upgrade: WebSocketUpgrade) -> Response {
    server.handler_runs.fetch_add(1, Ordering::SeqCst);
    let upgraded = server.upgraded.clone();
    upgrade.on_upgrade(&server.factory, |ws| counted_echo(ws, upgraded))
}

#[tokio::test]
async fn middleware_refusing_before_the_extractor_is_the_clients_http_status() {
    bounded(async {
        let server = Server::new();
        let app = Router::new()
            .route("/ws", get(guarded))
            .route_layer(from_fn(require_token))
            .with_state(server.clone());
        let addr = serve_axum(app).await;
        let url = format!("ws://{addr}/ws");

        match connect(&url, Headers::new()).await {
            Err(e) => assert_eq!(e.http_status(), Some(401), "{e}"),
            Ok(_) => panic!("connected without a token"),
        }
        assert_eq!(server.handler_runs.load(Ordering::SeqCst), 0);
        assert_eq!(server.upgraded.load(Ordering::SeqCst), 0);
        assert_eq!(server.factory.connection_count(), 0);

        // With the token the same route upgrades: the refusal was the middleware's.
        let mut headers = Headers::new();
        headers.insert("X-Token", "secret");
        let connection = connect(&url, headers).await.expect("connect with a token");
        echo_once(connection, "let in").await;
        assert_eq!(server.handler_runs.load(Ordering::SeqCst), 1);
        assert_eq!(server.upgraded.load(Ordering::SeqCst), 1);
    })
    .await;
}

/// `on_connect` through axum: `/ws?room=private` is denied with 403, other rooms get a
/// header naming them.
async fn rooms(State(server): State<Server>, upgrade: WebSocketUpgrade) -> Response {
    let upgraded = server.upgraded.clone();
    upgrade.on_connect(
        &server.factory,
        move |request| {
            let room = request.params.get("room").and_then(|v| v.first());
            match room.map(String::as_str) {
                Some("private") => Err(ConnectionDeny::new(
                    ConnectionDeny::FORBIDDEN,
                    Some("members only"),
                )),
                room => Ok(ConnectionAccept::new().header("X-Room", room.unwrap_or("lobby"))),
            }
        },
        |ws| counted_echo(ws, upgraded),
    )
}

#[tokio::test]
async fn on_connect_denial_through_axum_is_the_status_the_handler_chose() {
    bounded(async {
        let server = Server::new();
        let app = Router::new()
            .route("/ws", get(rooms))
            .with_state(server.clone());
        let addr = serve_axum(app).await;

        match connect(&format!("ws://{addr}/ws?room=private"), Headers::new()).await {
            Err(e) => assert_eq!(e.http_status(), Some(403), "{e}"),
            Ok(_) => panic!("the private room let us in"),
        }
        assert_eq!(server.upgraded.load(Ordering::SeqCst), 0);
        assert_eq!(server.factory.connection_count(), 0);

        let connection = connect(&format!("ws://{addr}/ws?room=kitchen"), Headers::new())
            .await
            .expect("connect to another room");
        assert_eq!(connection.response().headers.get("x-room"), Some("kitchen"));
        echo_once(connection, "in the kitchen").await;
        assert_eq!(server.upgraded.load(Ordering::SeqCst), 1);
    })
    .await;
}

/// A hyper HTTP/1.1 server (upgrades on) answering every request with `upgrade()`.
async fn serve_hyper(factory: WebSocketServerFactory) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((tcp, peer)) = listener.accept().await {
            let factory = factory.clone();
            let service = hyper::service::service_fn(move |request| {
                let response = upgrade(
                    &factory,
                    request,
                    &format!("tcp:{peer}"),
                    |_| Ok(ConnectionAccept::default()),
                    echo,
                );
                async move { Ok::<_, Infallible>(response) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades(),
            );
        }
    });
    addr
}

#[tokio::test]
async fn hyper_upgrade_echoes_with_permessage_deflate() {
    bounded(async {
        let factory = WebSocketServerFactory::new("ws://127.0.0.1");
        let addr = serve_hyper(factory.clone()).await;

        let connection = connect(&format!("ws://{addr}/echo"), Headers::new())
            .await
            .expect("connect");
        let extensions = connection
            .response()
            .headers
            .get("sec-websocket-extensions")
            .map(str::to_owned);
        assert!(
            extensions
                .as_deref()
                .is_some_and(|e| e.starts_with("permessage-deflate")),
            "extensions: {extensions:?}"
        );
        let mut ws = connection.into_websocket();
        // Compressible, several frames' worth, text and binary.
        let text = "through hyper, compressed ".repeat(4096);
        ws.send(text.clone()).await.expect("send text");
        assert_eq!(ws.recv().await, Some(Message::from(text)));
        let binary = vec![7u8; 200_000];
        ws.send(binary.clone()).await.expect("send binary");
        assert_eq!(ws.recv().await, Some(Message::from(binary)));
        // The upgraded connection counts as the factory's own.
        assert_eq!(factory.connection_count(), 1);
        let close = ws.close(Some(1000), None).await.expect("close");
        assert!(close.was_clean, "{close:?}");
    })
    .await;
}
