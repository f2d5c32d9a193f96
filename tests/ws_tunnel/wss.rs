//! A TCP tunnel through wss:// on loopback, built from the library as the example builds it.

use std::net::SocketAddr;
use std::sync::Arc;

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::stream::tls;
use autobahn::websocket::{
    ByteStream, WebSocketClientFactory, WebSocketClientHandler, WebSocketHandler,
    WebSocketServerFactory, WebSocketServerHandler, TUNNEL_SUBPROTOCOL,
};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::common::bounded;
use super::{echo, exchange, random_bytes, target, Ended};

struct Plain;
impl WebSocketHandler for Plain {}
impl WebSocketServerHandler for Plain {}
impl WebSocketClientHandler for Plain {}

/// A tunnel client (TCP on `local`) and a tunnel server (`wss://`, forwarding to a target);
/// each forwarded connection reports how it ended on each side.
struct Tunnel {
    local: SocketAddr,
    client_ends: mpsc::UnboundedReceiver<Ended>,
    server_ends: mpsc::UnboundedReceiver<Ended>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Tunnel {
    async fn start(target: SocketAddr) -> Tunnel {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let certified = rcgen::generate_simple_self_signed(names).expect("certificate");
        let cert_pem = certified.cert.pem();
        let key_pem = certified.key_pair.serialize_pem();

        // Random bytes do not compress: no deflate on either side.
        #[allow(unused_mut)]
        let mut server_options = ServerOptions::default();
        #[allow(unused_mut)]
        let mut client_options = ClientOptions::default();
        #[cfg(feature = "deflate")]
        {
            server_options.per_message_compression_accept = None;
            client_options.per_message_compression_offers = Vec::new();
        }

        let ws_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let ws_addr = ws_listener.local_addr().expect("addr");
        let server_tls = tls::server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
            .expect("server TLS");
        let server_factory = WebSocketServerFactory::new(format!("wss://{ws_addr}"))
            .tls(server_tls)
            .protocols([TUNNEL_SUBPROTOCOL])
            .with_protocol_options(server_options);
        let (server_tx, server_ends) = mpsc::unbounded_channel();
        let server = tokio::spawn(async move {
            while let Ok((tcp, peer)) = ws_listener.accept().await {
                let factory = server_factory.clone();
                let tx = server_tx.clone();
                tokio::spawn(async move {
                    let ws = factory.accept_tcp_websocket(tcp, peer, |_| Plain).await;
                    let ws = ws.expect("handshake").expect("accepted");
                    let mut far = TcpStream::connect(target).await.expect("target");
                    let mut stream = ByteStream::new(ws);
                    let copied = tokio::io::copy_bidirectional(&mut stream, &mut far).await;
                    let close = stream.get_ref().close_info();
                    let _ = tx.send(Ended { copied, close });
                });
            }
        });

        let local_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let local = local_listener.local_addr().expect("addr");
        let client_tls = tls::client_config_with_ca_pem(cert_pem.as_bytes()).expect("client TLS");
        let client_factory = WebSocketClientFactory::new(&format!("wss://{ws_addr}"))
            .expect("url")
            .tls(client_tls)
            .protocols([TUNNEL_SUBPROTOCOL])
            .with_protocol_options(client_options);
        let client_factory = Arc::new(client_factory);
        let (client_tx, client_ends) = mpsc::unbounded_channel();
        let client = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = local_listener.accept().await {
                let factory = client_factory.clone();
                let tx = client_tx.clone();
                tokio::spawn(async move {
                    let connection = factory.connect(|_| Plain).await.expect("connect");
                    let protocol = connection.response().protocol.clone();
                    assert_eq!(protocol.as_deref(), Some(TUNNEL_SUBPROTOCOL));
                    let mut stream = ByteStream::new(connection.into_websocket());
                    let copied = tokio::io::copy_bidirectional(&mut tcp, &mut stream).await;
                    let close = stream.get_ref().close_info();
                    let _ = tx.send(Ended { copied, close });
                });
            }
        });
        Tunnel {
            local,
            client_ends,
            server_ends,
            tasks: vec![server, client],
        }
    }

    /// How the next forwarded connection ended: (client side, server side).
    async fn ends(&mut self) -> (Ended, Ended) {
        let client = bounded(self.client_ends.recv()).await.expect("client end");
        let server = bounded(self.server_ends.recv()).await.expect("server end");
        (client, server)
    }
}

#[tokio::test]
async fn sixty_four_mib_of_random_bytes_go_through_the_tunnel_and_back_byte_for_byte() {
    let (echo_addr, _echo) = target(echo).await;
    let mut tunnel = Tunnel::start(echo_addr).await;
    let sent = random_bytes(64 << 20, 64);

    let tcp = TcpStream::connect(tunnel.local).await.expect("connect");
    let echoed = bounded(exchange(tcp, &sent)).await;
    assert_eq!(echoed.len(), sent.len());
    assert!(echoed == sent, "the echo differs");

    let (client, server) = tunnel.ends().await;
    let n = sent.len() as u64;
    client.assert_clean(n, n);
    server.assert_clean(n, n);
}

#[tokio::test]
async fn http_goes_through_the_tunnel_to_a_hyper_server() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;

    // GET /hello answers a greeting; POST /echo answers the body.
    let (http_addr, _http) = target(|tcp| async move {
        let service = hyper::service::service_fn(
            |request: hyper::Request<hyper::body::Incoming>| async move {
                let greeting = request.uri().path() == "/hello";
                let body = request.into_body().collect().await?.to_bytes();
                let answer = if greeting {
                    Bytes::from_static(b"hello through the tunnel")
                } else {
                    body
                };
                Ok::<_, hyper::Error>(hyper::Response::new(Full::new(answer)))
            },
        );
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(tcp), service)
            .await;
    })
    .await;
    let mut tunnel = Tunnel::start(http_addr).await;

    let tcp = TcpStream::connect(tunnel.local).await.expect("connect");
    let (mut sender, connection) =
        bounded(hyper::client::conn::http1::handshake(TokioIo::new(tcp)))
            .await
            .expect("HTTP handshake");
    let connection = tokio::spawn(connection);
    let request = |method: &str, path: &str, body: Bytes| {
        hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .body(Full::new(body))
            .expect("request")
    };

    let response = bounded(sender.send_request(request("GET", "/hello", Bytes::new())))
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let body = bounded(response.into_body().collect())
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], b"hello through the tunnel");

    // The same connection again (keep-alive), with a body of 1 MiB.
    let upload = Bytes::from(random_bytes(1 << 20, 7));
    let response = bounded(sender.send_request(request("POST", "/echo", upload.clone())))
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    let body = bounded(response.into_body().collect())
        .await
        .expect("body")
        .to_bytes();
    assert!(
        body == upload,
        "echoed {} of {} bytes",
        body.len(),
        upload.len()
    );

    // The client hangs up: the tunnel winds down on both sides with a clean close.
    drop(sender);
    bounded(connection)
        .await
        .expect("connection task")
        .expect("HTTP connection");
    let (client, server) = tunnel.ends().await;
    for ended in [&client, &server] {
        let close = ended.close.as_ref().expect("ended");
        assert!(
            ended.copied.is_ok() && close.was_clean && close.code == Some(1000),
            "{ended:?}"
        );
    }
}

#[tokio::test]
async fn a_half_closed_client_gets_the_whole_answer_then_both_websockets_close_with_1000() {
    // Reads the request to its end, then answers (HTTP/1.0 style) and hangs up.
    let answer = random_bytes(300_000, 9);
    let expected_answer = answer.clone();
    let (addr, _target) = target(move |mut tcp| {
        let answer = answer.clone();
        async move {
            let mut request = Vec::new();
            tcp.read_to_end(&mut request).await.expect("request");
            assert_eq!(request, b"GET / HTTP/1.0\r\n\r\n");
            tcp.write_all(&answer).await.expect("answer");
        }
    })
    .await;
    let mut tunnel = Tunnel::start(addr).await;

    let mut tcp = TcpStream::connect(tunnel.local).await.expect("connect");
    tcp.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .await
        .expect("request");
    tcp.shutdown().await.expect("shutdown of our write side");
    let mut received = Vec::new();
    bounded(tcp.read_to_end(&mut received))
        .await
        .expect("the whole answer");
    assert!(
        received == expected_answer,
        "{} of {} bytes",
        received.len(),
        expected_answer.len()
    );

    let (client, server) = tunnel.ends().await;
    let (request, answer) = (18, expected_answer.len() as u64);
    client.assert_clean(request, answer);
    server.assert_clean(request, answer);
}

#[tokio::test]
async fn the_far_end_closing_early_gives_the_local_client_end_of_file() {
    // Says goodbye and hangs up before the client says anything.
    let (addr, _target) = target(|mut tcp| async move {
        let _ = tcp.write_all(b"bye").await;
    })
    .await;
    let mut tunnel = Tunnel::start(addr).await;

    let mut tcp = TcpStream::connect(tunnel.local).await.expect("connect");
    let mut received = Vec::new();
    bounded(tcp.read_to_end(&mut received))
        .await
        .expect("end of file");
    assert_eq!(received, b"bye");

    // The local client hangs up too: both directions have ended, the close is clean.
    drop(tcp);
    let (client, server) = tunnel.ends().await;
    client.assert_clean(0, 3);
    server.assert_clean(0, 3);
}
