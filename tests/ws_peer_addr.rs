//! Typed peer addresses on both ends of TCP, Unix and foreign streams, and connections
//! built over streams whose handshake was done elsewhere (`WebSocketBuilder`).

mod common;
#[path = "common_proxy/mod.rs"]
mod test_proxy;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::stream::MaybeTlsStream;
use autobahn::websocket::{
    Message, PeerAddr, WebSocketBuilder, WebSocketClientFactory, WebSocketServerFactory,
};
use common::*;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// The client reports the socket it is connected to (not the URL's host name), the
/// server the client's socket, in the request, the channel and the pull API alike.
#[tokio::test]
async fn tcp_peer_addr_on_both_ends() {
    bounded(async {
        let (server, mut sev) = start_echo_server(WebSocketServerFactory::default()).await;
        // `localhost`, not the address: the response must name the socket, not the host.
        let url = format!("ws://localhost:{}/", server.addr.port());
        let (tx, _cev) = events();
        let factory = WebSocketClientFactory::new(&url).unwrap();
        let connection = factory.connect(|ch| Recorder::new(ch, tx)).await.unwrap();
        let client_local = match connection.stream() {
            MaybeTlsStream::Tcp(tcp) => tcp.local_addr().unwrap(),
            other => panic!("not TCP: {other:?}"),
        };

        let response = connection.response();
        assert_eq!(response.peer_addr, PeerAddr::Tcp(server.addr));
        assert_eq!(response.peer, format!("tcp:{}", server.addr));
        assert_eq!(
            connection.channel().peer_addr(),
            &PeerAddr::Tcp(server.addr)
        );
        assert_eq!(connection.channel().peer(), response.peer);

        let request = sev.request().await;
        assert_eq!(request.peer_addr, PeerAddr::Tcp(client_local));
        assert_eq!(request.peer, format!("tcp:{client_local}"));

        let mut ws = connection.into_websocket();
        assert_eq!(ws.peer_addr(), &PeerAddr::Tcp(server.addr));
        let server_channel = sev.open().await;
        assert_eq!(server_channel.peer_addr(), &PeerAddr::Tcp(client_local));
        assert_eq!(server_channel.peer(), format!("tcp:{client_local}"));

        ws.send("still talking").await.unwrap();
        assert_eq!(ws.recv().await, Some(Message::from("still talking")));
        assert!(ws.close(Some(1000), None).await.unwrap().was_clean);
    })
    .await;
}

/// Through an HTTP proxy the socket connected to is the proxy's: that is the client's
/// peer address; the server sees the proxy's outgoing socket.
#[tokio::test]
async fn through_a_proxy_the_peer_is_the_proxy() {
    use test_proxy::{ProxyMode, TestProxy};
    bounded(async {
        let (server, mut sev) = start_echo_server(WebSocketServerFactory::default()).await;
        let proxy = TestProxy::start(ProxyMode::Tunnel).await;
        let factory = WebSocketClientFactory::new(&server.url("/"))
            .unwrap()
            .proxy(proxy.config());
        let (tx, _cev) = events();
        let connection = factory.connect(|ch| Recorder::new(ch, tx)).await.unwrap();
        assert_eq!(connection.response().peer_addr, PeerAddr::Tcp(proxy.addr));
        assert_eq!(connection.channel().peer_addr(), &PeerAddr::Tcp(proxy.addr));
        let MaybeTlsStream::Tcp(tcp) = connection.stream() else {
            panic!("not TCP")
        };
        let client_local = tcp.local_addr().unwrap();
        let request = sev.request().await;
        let seen_by_server = request.peer_addr.socket_addr().expect("a TCP peer");
        assert_ne!(
            seen_by_server, client_local,
            "the proxy's own socket, not ours"
        );
        let mut ws = connection.into_websocket();
        assert!(ws.close(Some(1000), None).await.unwrap().was_clean);
    })
    .await;
}

/// The pull API's server hands out connections whose `peer_addr` is the client's.
#[tokio::test]
async fn tcp_peer_addr_on_a_pull_api_server() {
    bounded(async {
        let factory = WebSocketServerFactory::default();
        let listener = factory.listen("127.0.0.1:0").await.unwrap();
        let (seen, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
        let server = factory.start_websocket(listener, move |mut ws| {
            let _ = seen.send(ws.peer_addr().clone());
            async move { while ws.recv().await.is_some() {} }
        });
        let addr = server.local_addr().unwrap();
        let connection = WebSocketClientFactory::new(&format!("ws://{addr}"))
            .unwrap()
            .connect(|_| Quiet)
            .await
            .unwrap();
        let MaybeTlsStream::Tcp(tcp) = connection.stream() else {
            panic!("not TCP")
        };
        let client_local = tcp.local_addr().unwrap();
        let mut ws = connection.into_websocket();
        assert_eq!(seen_rx.recv().await, Some(PeerAddr::Tcp(client_local)));
        assert_eq!(ws.peer_addr().socket_addr(), Some(addr));
        assert!(ws.close(Some(1000), None).await.unwrap().was_clean);
        server.shutdown(EVENT_BOUND).await;
    })
    .await;
}

/// Unix sockets: the client sees the server's path, the server an unnamed peer.
#[cfg(unix)]
#[tokio::test]
async fn unix_peer_addr_on_both_ends() {
    bounded(async {
        let nanos = std::time::UNIX_EPOCH.elapsed().unwrap().subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("autobahn-peer-addr-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ws.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let (tx, mut sev) = events();
        let server = WebSocketServerFactory::default()
            .start_unix(listener, move |ch| Recorder::echo(ch, tx.clone()));

        let (ctx, _cev) = events();
        let connection = WebSocketClientFactory::new("ws://localhost/")
            .unwrap()
            .connect_unix(&path, |ch| Recorder::new(ch, ctx))
            .await
            .unwrap();
        assert_eq!(
            connection.response().peer_addr,
            PeerAddr::Unix(Some(path.clone()))
        );
        assert_eq!(
            connection.response().peer,
            format!("unix:{}", path.display())
        );
        assert_eq!(connection.channel().peer_addr().unix_path(), Some(&*path));

        let request = sev.request().await;
        assert_eq!(request.peer_addr, PeerAddr::Unix(None));
        assert_eq!(request.peer, "unix");
        assert_eq!(sev.open().await.peer_addr(), &PeerAddr::Unix(None));

        let mut ws = connection.into_websocket();
        ws.send("over unix").await.unwrap();
        assert_eq!(ws.recv().await, Some(Message::from("over unix")));
        assert!(ws.close(Some(1000), None).await.unwrap().was_clean);
        server.shutdown(EVENT_BOUND).await;
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

/// Streams the library did not connect or accept: the name the application gave the
/// server end (typed when it is a `tcp:`/`unix:` descriptor), the URL's host for the
/// client end, both as [`PeerAddr::Other`] unless typed.
#[tokio::test]
async fn foreign_streams_get_the_fallback_or_a_parsed_descriptor() {
    bounded(async {
        for (given, expected) in [
            ("pipe", PeerAddr::Other("pipe".into())),
            (
                "tcp:10.0.0.1:5555",
                PeerAddr::Tcp("10.0.0.1:5555".parse().unwrap()),
            ),
        ] {
            let (client_end, server_end) = in_memory_pair();
            let factory = WebSocketServerFactory::default();
            let server = tokio::spawn(async move {
                let ws = factory
                    .accept_stream_websocket(server_end, given.into(), |_| Quiet)
                    .await;
                let mut ws = ws.unwrap().unwrap();
                let addr = ws.peer_addr().clone();
                while let Some(message) = ws.recv().await {
                    let _ = ws.send(message).await;
                }
                addr
            });
            let mut ws = WebSocketClientFactory::new("ws://localhost:9000/")
                .unwrap()
                .connect_stream_websocket(client_end)
                .await
                .unwrap();
            assert_eq!(
                ws.peer_addr(),
                &PeerAddr::Other("tcp:localhost:9000".into())
            );
            assert_eq!(ws.channel().peer(), "tcp:localhost:9000");
            ws.send("hi").await.unwrap();
            assert_eq!(ws.recv().await, Some(Message::from("hi")));
            assert!(ws.close(Some(1000), None).await.unwrap().was_clean);
            assert_eq!(server.await.unwrap(), expected);
        }
    })
    .await;
}

/// A client and a server built over the two ends of a pipe, no handshake: they talk,
/// and the peer address given to the builder is reported.
#[tokio::test]
async fn builder_pair_talks_without_compression() {
    bounded(async {
        let (tap, written) = Tap::pair();
        let (client, server) = builder_pair(client_builder(), server_builder(), tap);
        assert_eq!(client.peer_addr(), &PeerAddr::Other("server".into()));
        assert_eq!(server.peer_addr(), &PeerAddr::Other("client".into()));
        let payload = "a".repeat(20_000);
        let echoed = round_trip(client, server, &payload).await;
        assert_eq!(echoed, payload);
        let wire = written.lock().unwrap().clone();
        assert_eq!(wire[0], 0x81, "FIN + text, RSV1 clear");
        assert!(
            wire.len() > payload.len(),
            "{} bytes on the wire",
            wire.len()
        );
    })
    .await;
}

/// The same with permessage-deflate agreed (given as `Negotiated` to the server, with
/// `deflate` to the client): the client's frame has RSV1 set and is a fraction of the
/// message's size, and the message comes back whole.
#[cfg(feature = "deflate")]
#[tokio::test]
async fn builder_pair_compresses_with_deflate() {
    use autobahn::websocket::deflate::PerMessageDeflateParams;
    use autobahn::websocket::handshake::Negotiated;
    bounded(async {
        let params = PerMessageDeflateParams {
            client_no_context_takeover: true,
            ..PerMessageDeflateParams::default()
        };
        let negotiated = Negotiated {
            deflate: Some(params),
            ..Negotiated::default()
        };
        let (tap, written) = Tap::pair();
        let (client, server) = builder_pair(
            client_builder().deflate(params),
            server_builder().negotiated(negotiated),
            tap,
        );
        let payload = "compressible ".repeat(2_000);
        let echoed = round_trip(client, server, &payload).await;
        assert_eq!(echoed, payload);
        let wire = written.lock().unwrap().clone();
        assert_eq!(wire[0], 0xc1, "FIN + RSV1 + text");
        assert!(
            wire.len() < payload.len() / 10,
            "{} bytes on the wire for {}",
            wire.len(),
            payload.len()
        );
    })
    .await;
}

/// Bytes read past the handshake are decoded before the stream: a masked frame handed
/// to the server builder arrives as the first message.
#[tokio::test]
async fn builder_read_ahead_is_decoded_first() {
    bounded(async {
        let (client_end, server_end) = in_memory_pair();
        let mut server = WebSocketBuilder::server(&ServerOptions::default())
            .read_ahead(&client_frame(1, b"early"))
            .build(server_end);
        let mut client = WebSocketBuilder::client(&ClientOptions::default()).build(client_end);
        client.send("late").await.unwrap();
        assert_eq!(server.recv().await, Some(Message::from("early")));
        assert_eq!(server.recv().await, Some(Message::from("late")));
        let (closed, _) = tokio::join!(client.close(Some(1000), None), async {
            while server.recv().await.is_some() {}
        });
        assert!(closed.unwrap().was_clean);
    })
    .await;
}

type Built = autobahn::websocket::WebSocket<Tap>;
type BuiltServer = autobahn::websocket::WebSocket<DuplexStream>;

fn client_builder() -> WebSocketBuilder {
    WebSocketBuilder::client(&ClientOptions::default()).peer_addr(PeerAddr::Other("server".into()))
}

fn server_builder() -> WebSocketBuilder {
    WebSocketBuilder::server(&ServerOptions::default()).peer_addr(PeerAddr::Other("client".into()))
}

/// A client over `tap` and a server over its other end.
fn builder_pair(
    client: WebSocketBuilder,
    server: WebSocketBuilder,
    (client_end, server_end): (Tap, DuplexStream),
) -> (Built, BuiltServer) {
    (client.build(client_end), server.build(server_end))
}

/// Sends `text` from the client, echoes it on the server, closes; returns the echo.
async fn round_trip(mut client: Built, mut server: BuiltServer, text: &str) -> String {
    let echo = tokio::spawn(async move {
        while let Some(message) = server.recv().await {
            if server.send(message).await.is_err() {
                break;
            }
        }
    });
    client.send(text).await.unwrap();
    let echoed = client.recv().await.expect("the echo");
    assert!(client.close(Some(1000), None).await.unwrap().was_clean);
    echo.await.unwrap();
    echoed.as_text().expect("text").to_string()
}

/// One end of an in-memory pipe that keeps a copy of what is written to it.
struct Tap {
    inner: DuplexStream,
    written: Arc<Mutex<Vec<u8>>>,
}

impl Tap {
    fn pair() -> ((Tap, DuplexStream), Arc<Mutex<Vec<u8>>>) {
        let (a, b) = in_memory_pair();
        let written = Arc::new(Mutex::new(Vec::new()));
        let tap = Tap {
            inner: a,
            written: written.clone(),
        };
        ((tap, b), written)
    }
}

impl AsyncRead for Tap {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.written.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A handler that decides nothing (the pull API takes over).
struct Quiet;
impl autobahn::websocket::WebSocketHandler for Quiet {}
impl autobahn::websocket::WebSocketServerHandler for Quiet {}
impl autobahn::websocket::WebSocketClientHandler for Quiet {}

/// An axum app served with connect info: the extractor and the connection report the
/// client's socket address.
#[cfg(feature = "axum")]
#[tokio::test]
async fn axum_connect_info_gives_the_clients_address() {
    use autobahn::websocket::upgrade::WebSocketUpgrade;
    use axum::routing::get;
    use std::net::SocketAddr;
    bounded(async {
        let (seen, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
        let route = move |upgrade: WebSocketUpgrade| {
            let seen = seen.clone();
            async move {
                let _ = seen.send(upgrade.peer_addr().clone());
                let factory = WebSocketServerFactory::default();
                upgrade.on_upgrade(&factory, move |mut ws| async move {
                    let _ = seen.send(ws.peer_addr().clone());
                    while let Some(message) = ws.recv().await {
                        let _ = ws.send(message).await;
                    }
                })
            }
        };
        let app = axum::Router::new().route("/ws", get(route));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        );
        let server = tokio::spawn(async move { serve.await });

        let connection = WebSocketClientFactory::new(&format!("ws://{addr}/ws"))
            .unwrap()
            .connect(|_| Quiet)
            .await
            .unwrap();
        let MaybeTlsStream::Tcp(tcp) = connection.stream() else {
            panic!("not TCP")
        };
        let client = PeerAddr::Tcp(tcp.local_addr().unwrap());
        let mut ws = connection.into_websocket();
        assert_eq!(
            seen_rx.recv().await.as_ref(),
            Some(&client),
            "the extractor"
        );
        ws.send("via axum").await.unwrap();
        assert_eq!(ws.recv().await, Some(Message::from("via axum")));
        assert_eq!(
            seen_rx.recv().await.as_ref(),
            Some(&client),
            "the connection"
        );
        assert!(ws.close(Some(1000), None).await.unwrap().was_clean);
        server.abort();
    })
    .await;
}
