//! The echo servers of `ws_echo.rs`: ours in both APIs and inside axum, the peers as their
//! own examples write them, axum's own, and the floor.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::Server;

/// Serves `kind` on `listener` until the runtime is dropped.
pub async fn serve(kind: Server, listener: TcpListener, port: u16, deflate: bool) {
    match kind {
        Server::Autobahn => serve_autobahn(listener, port, deflate).await,
        Server::AutobahnPull => serve_autobahn_pull(listener, port, deflate).await,
        #[cfg(feature = "axum")]
        Server::AxumOurs => serve_axum_ours(listener, port).await,
        Server::AxumOwn => serve_axum_own(listener).await,
        Server::Fastwebsockets => serve_fastwebsockets(listener).await,
        Server::TokioWebsockets => serve_tokio_websockets(listener).await,
        Server::TokioTungstenite => serve_tokio_tungstenite(listener).await,
        Server::Floor => serve_floor(listener).await,
        Server::PythonWebsockets | Server::NodeWs => unreachable!("scripts run as processes"),
    }
}

/// The floor: after answering the upgrade, a plain TCP echo that writes back whatever
/// one read returned (masked frames verbatim; the generator's parser accepts them). No
/// WebSocket work at all, so its CPU per message is what tokio plus the syscalls of one
/// read and one write per wakeup cost: the least any tokio server can spend, and the
/// bound under which a CPU target cannot go (it is not counted as a peer).
async fn serve_floor(listener: TcpListener) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut have = 0;
            // The request head (the generator sends nothing else before the answer).
            while !buf[..have].windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf[have..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => have += n,
                }
            }
            let answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                          Connection: Upgrade\r\n\
                          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
            if stream.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// Our factory with default options: permessage-deflate is declined unless the cell is a
/// compressed one (the peers do not implement it, so only we run those cells).
fn our_factory(port: u16, deflate: bool) -> autobahn::websocket::WebSocketServerFactory {
    use autobahn::websocket::options::ServerOptions;

    #[allow(unused_mut)]
    let mut options = ServerOptions::default();
    #[cfg(feature = "deflate")]
    if !deflate {
        options.per_message_compression_accept = None;
    }
    #[cfg(not(feature = "deflate"))]
    assert!(!deflate, "compressed cells need the deflate feature");
    assert!(options.utf8_validate_incoming);
    autobahn::websocket::WebSocketServerFactory::new(format!("ws://127.0.0.1:{port}"))
        .with_protocol_options(options)
}

/// Our callback API: the factory, echoing through the handler's channel.
async fn serve_autobahn(listener: TcpListener, port: u16, deflate: bool) {
    use autobahn::websocket::{WebSocketChannel, WebSocketHandler, WebSocketServerHandler};
    use bytes::Bytes;

    struct Echo {
        channel: WebSocketChannel,
    }
    impl WebSocketHandler for Echo {
        async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
            let _ = self.channel.send_message(payload, is_binary).await;
        }
    }
    impl WebSocketServerHandler for Echo {}

    our_factory(port, deflate)
        .serve(listener, |channel| Echo { channel })
        .await
        .expect("autobahn serve");
}

/// Our pull API as its documentation shows it: `start_websocket` and a `recv`/`send` loop.
async fn serve_autobahn_pull(listener: TcpListener, port: u16, deflate: bool) {
    let _server = our_factory(port, deflate).start_websocket(listener, |mut ws| async move {
        while let Some(message) = ws.recv().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    });
    // The server runs on its own tasks until the runtime is dropped.
    std::future::pending::<()>().await;
}

/// `axum::serve` on the listener, `TCP_NODELAY` on each connection (axum does not set it).
async fn serve_axum(listener: TcpListener, app: axum::Router) {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.expect("axum serve");
}

/// Our `WebSocketUpgrade` extractor in an axum route (the factory's handshake, and the
/// pull API on the upgraded connection), as its documentation shows it.
#[cfg(feature = "axum")]
async fn serve_axum_ours(listener: TcpListener, port: u16) {
    use autobahn::websocket::upgrade::WebSocketUpgrade;
    use autobahn::websocket::WebSocketServerFactory;
    use axum::extract::State;
    use axum::response::Response;

    async fn ws(
        State(factory): State<WebSocketServerFactory>,
        upgrade: WebSocketUpgrade,
    ) -> Response {
        upgrade.on_upgrade(&factory, |mut ws| async move {
            while let Some(message) = ws.recv().await {
                if ws.send(message).await.is_err() {
                    break;
                }
            }
        })
    }
    let app = axum::Router::new()
        .route("/", axum::routing::get(ws))
        .with_state(our_factory(port, false));
    serve_axum(listener, app).await;
}

/// axum's own `WebSocketUpgrade` (default limits), echoing as its documentation shows.
async fn serve_axum_own(listener: TcpListener) {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    use axum::response::Response;

    async fn ws(upgrade: WebSocketUpgrade) -> Response {
        upgrade.on_upgrade(|mut socket| async move {
            while let Some(Ok(message)) = socket.recv().await {
                let echo = matches!(message, Message::Text(_) | Message::Binary(_));
                if echo && socket.send(message).await.is_err() {
                    break;
                }
            }
        })
    }
    serve_axum(
        listener,
        axum::Router::new().route("/", axum::routing::get(ws)),
    )
    .await;
}

/// fastwebsockets as in its own echo example: hyper upgrade, FragmentCollector.
async fn serve_fastwebsockets(listener: TcpListener) {
    use fastwebsockets::{upgrade, FragmentCollector, OpCode, WebSocketError};
    use http_body_util::Empty;
    use hyper::body::{Bytes, Incoming};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};

    async fn handle(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
        let mut ws = FragmentCollector::new(fut.await?);
        loop {
            let frame = ws.read_frame().await?;
            match frame.opcode {
                OpCode::Close => break,
                OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
                _ => {}
            }
        }
        Ok(())
    }
    async fn upgrade_req(
        mut req: Request<Incoming>,
    ) -> Result<Response<Empty<Bytes>>, WebSocketError> {
        let (response, fut) = upgrade::upgrade(&mut req)?;
        tokio::spawn(tokio::task::unconstrained(async move {
            let _ = handle(fut).await;
        }));
        Ok(response)
    }
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = http1::Builder::new()
                .serve_connection(io, service_fn(upgrade_req))
                .with_upgrades()
                .await;
        });
    }
}

/// tokio-websockets as in its own echo example (default config and limits).
async fn serve_tokio_websockets(listener: TcpListener) {
    use futures_util::{SinkExt, StreamExt};
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(tokio::task::unconstrained(async move {
            let Ok((_req, mut ws)) = tokio_websockets::ServerBuilder::new().accept(stream).await
            else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                    break;
                }
            }
        }));
    }
}

/// tokio-tungstenite: accept_async and the usual stream/sink echo loop.
async fn serve_tokio_tungstenite(listener: TcpListener) {
    use futures_util::{SinkExt, StreamExt};
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                    break;
                }
            }
        });
    }
}
