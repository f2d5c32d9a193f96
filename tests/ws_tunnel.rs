//! `ByteStream`: a byte stream over a WebSocket (the tunnel subprotocol), first over
//! in-memory pipes in both roles, then as a TCP tunnel through `wss://` on loopback (64 MiB
//! of random bytes echoed byte for byte, HTTP through hyper, half-close, a far end that
//! closes early), then the `tunnel` example's processes.
//!
//! The example test needs the example built: `cargo build --all-features --example tunnel`
//! (a plain `cargo test --all-features` builds it too).

mod common;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use autobahn::websocket::byte_stream::{TunnelError, DEFAULT_MESSAGE_SIZE};
use autobahn::websocket::handshake::Negotiated;
use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::stream::tls;
use autobahn::websocket::{
    ByteStream, CloseInfo, Message, WebSocket, WebSocketBuilder, WebSocketClientFactory,
    WebSocketClientHandler, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
    TUNNEL_SUBPROTOCOL,
};
use bytes::Bytes;
use futures_util::FutureExt;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use common::bounded;

/// How one end of a tunnel ended: what `copy_bidirectional` said and how the WebSocket
/// closed.
#[derive(Debug)]
struct Ended {
    copied: io::Result<(u64, u64)>,
    close: Option<CloseInfo>,
}

impl Ended {
    /// Both directions carried these byte counts, and the WebSocket closed cleanly with
    /// 1000.
    #[track_caller]
    fn assert_clean(&self, up: u64, down: u64) {
        match &self.copied {
            Ok(copied) => assert_eq!(*copied, (up, down), "bytes (up, down): {self:?}"),
            Err(e) => panic!("copy failed: {e:?} ({self:?})"),
        }
        let close = self.close.as_ref().expect("the WebSocket has ended");
        assert!(close.was_clean, "{close:?}");
        assert_eq!(close.code, Some(1000), "{close:?}");
    }
}

/// Pseudo-random bytes (xorshift64*: cheap enough for 64 MiB in an unoptimized build).
fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        data.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    data.truncate(len);
    data
}

// ---------------------------------------------------------------------------------------
// In memory: both roles over a `tokio::io::duplex`.

/// A client and a server WebSocket on the two ends of a pipe, tunnel subprotocol agreed.
fn websocket_pair() -> (WebSocket<DuplexStream>, WebSocket<DuplexStream>) {
    websocket_pair_with(Negotiated {
        subprotocol: Some(TUNNEL_SUBPROTOCOL.into()),
        ..Negotiated::default()
    })
}

fn websocket_pair_with(
    negotiated: Negotiated,
) -> (WebSocket<DuplexStream>, WebSocket<DuplexStream>) {
    let (client_end, server_end) = tokio::io::duplex(64 * 1024);
    let client = WebSocketBuilder::client(&ClientOptions::default())
        .negotiated(negotiated.clone())
        .build(client_end);
    let server = WebSocketBuilder::server(&ServerOptions::default())
        .negotiated(negotiated)
        .build(server_end);
    (client, server)
}

/// Connects `stream` to an application end as the tunnel connects it to TCP; returns the
/// application's end and how the byte stream ended.
fn plug<S>(mut stream: ByteStream<S>) -> (DuplexStream, JoinHandle<Ended>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (app, mut ours) = tokio::io::duplex(64 * 1024);
    let task = tokio::spawn(async move {
        let copied = tokio::io::copy_bidirectional(&mut ours, &mut stream).await;
        Ended {
            copied,
            close: stream.get_ref().close_info(),
        }
    });
    (app, task)
}

/// Sends `data` and shuts down while reading everything that comes back.
async fn exchange<T: AsyncRead + AsyncWrite>(app: T, data: &[u8]) -> Vec<u8> {
    let (mut from, mut to) = tokio::io::split(app);
    let sending = async {
        to.write_all(data).await.expect("write");
        to.shutdown().await.expect("shutdown");
    };
    let mut received = Vec::new();
    let receiving = async {
        from.read_to_end(&mut received).await.expect("read");
    };
    tokio::join!(sending, receiving);
    received
}

/// Both ends plugged into applications that send `up` (client) and `down` (server) and
/// shut down while reading: each gets the other's bytes, and both close cleanly with 1000.
async fn check_both_ways(
    pair: (WebSocket<DuplexStream>, WebSocket<DuplexStream>),
    up: &[u8],
    down: &[u8],
) {
    let (client_app, client_end) = plug(ByteStream::new(pair.0));
    let (server_app, server_end) = plug(ByteStream::new(pair.1));
    let (got_down, got_up) =
        bounded(async { tokio::join!(exchange(client_app, up), exchange(server_app, down)) }).await;
    assert!(
        got_up == up,
        "server received {} of {} bytes",
        got_up.len(),
        up.len()
    );
    assert!(
        got_down == down,
        "client received {} of {} bytes",
        got_down.len(),
        down.len()
    );
    let (up, down) = (up.len() as u64, down.len() as u64);
    bounded(client_end)
        .await
        .expect("client task")
        .assert_clean(up, down);
    bounded(server_end)
        .await
        .expect("server task")
        .assert_clean(down, up);
}

#[tokio::test]
async fn both_roles_carry_bytes_both_ways_and_close_cleanly_with_1000() {
    let up = random_bytes(3 << 20, 1);
    let down = random_bytes((2 << 20) + 12345, 2);
    check_both_ways(websocket_pair(), &up, &down).await;
}

/// The byte stream does not care whether messages are compressed.
#[cfg(feature = "deflate")]
#[tokio::test]
async fn both_roles_work_with_permessage_deflate_agreed() {
    let pair = websocket_pair_with(Negotiated {
        subprotocol: Some(TUNNEL_SUBPROTOCOL.into()),
        deflate: Some(Default::default()),
        ..Negotiated::default()
    });
    let up = b"GET / HTTP/1.1\r\n".repeat(20_000);
    check_both_ways(pair, &up, &random_bytes(300_000, 5)).await;
}

#[tokio::test]
async fn the_server_role_ends_its_data_first_and_still_reads_what_the_client_sends_after() {
    let (client, server) = websocket_pair();
    let server = tokio::spawn(async move {
        let mut stream = ByteStream::new(server);
        stream.write_all(b"greeting").await?;
        stream.shutdown().await?; // the peer has not ended yet: reading goes on
        let late = stream
            .write(b"late")
            .await
            .expect_err("a write after shutdown");
        let inner = late.get_ref().and_then(|e| e.downcast_ref::<TunnelError>());
        assert!(
            matches!(inner, Some(TunnelError::WriteAfterShutdown)),
            "{late:?}"
        );
        assert_eq!(late.kind(), io::ErrorKind::BrokenPipe);
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).await?;
        Ok::<_, io::Error>((reply, stream.into_inner().close_info()))
    });

    let mut stream = ByteStream::new(client);
    let mut greeting = Vec::new();
    bounded(stream.read_to_end(&mut greeting))
        .await
        .expect("read to the server's end");
    assert_eq!(greeting, b"greeting");
    // The server's end of data did not end ours.
    bounded(stream.write_all(b"reply"))
        .await
        .expect("write after the peer's end");
    bounded(stream.shutdown())
        .await
        .expect("shutdown: both ends seen, closes");
    let close = stream
        .get_ref()
        .close_info()
        .expect("closed by the shutdown");
    assert!(close.was_clean && close.code == Some(1000), "{close:?}");

    let (reply, server_close) = bounded(server).await.expect("server task").expect("server");
    assert_eq!(reply, b"reply");
    let server_close = server_close.expect("closed");
    assert!(
        server_close.was_clean && server_close.code == Some(1000),
        "{server_close:?}"
    );
}

#[tokio::test]
async fn writes_become_binary_messages_no_larger_than_the_message_size() {
    let (client, mut server) = websocket_pair();
    let data = random_bytes(5 * DEFAULT_MESSAGE_SIZE + 777, 3);
    let writer = {
        let data = data.clone();
        tokio::spawn(async move {
            let mut stream = ByteStream::new(client);
            stream.write_all(&data).await?;
            stream.shutdown().await?;
            Ok::<_, io::Error>(stream) // kept open: the test ends the connection
        })
    };
    let mut received = Vec::new();
    let mut messages = 0;
    loop {
        match bounded(server.recv()).await {
            Some(Message::Binary(payload)) if payload.is_empty() => break, // end of data
            Some(Message::Binary(payload)) => {
                assert!(
                    payload.len() <= DEFAULT_MESSAGE_SIZE,
                    "a {} byte message",
                    payload.len()
                );
                received.extend_from_slice(&payload);
                messages += 1;
            }
            other => panic!("expected binary messages, got {other:?}"),
        }
    }
    assert!(
        received == data,
        "received {} of {} bytes",
        received.len(),
        data.len()
    );
    assert!(
        messages >= 6,
        "{messages} messages for {} bytes",
        data.len()
    );
    bounded(writer).await.expect("writer task").expect("writes");

    // A smaller size, set by the caller.
    let (client, mut server) = websocket_pair();
    let mut stream = ByteStream::new(client).with_message_size(1000);
    bounded(stream.write_all(&data[..2500]))
        .await
        .expect("write");
    bounded(stream.flush()).await.expect("flush");
    let sizes: Vec<usize> = bounded(async {
        let mut sizes = Vec::new();
        while sizes.iter().sum::<usize>() < 2500 {
            sizes.push(server.recv().await.expect("a message").payload().len());
        }
        sizes
    })
    .await;
    assert_eq!(sizes, [1000, 1000, 500]);
}

#[tokio::test]
async fn a_text_message_fails_the_read_and_the_connection_with_1003() {
    let (client, mut server) = websocket_pair();
    let peer = tokio::spawn(async move {
        server.send("not bytes").await.expect("send");
        while server.recv().await.is_some() {}
        server.close_info()
    });
    let mut stream = ByteStream::new(client);
    let mut buf = [0u8; 64];
    let err = bounded(stream.read(&mut buf))
        .await
        .expect_err("a text message is an error");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err:?}");
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<TunnelError>());
    assert!(matches!(inner, Some(TunnelError::TextMessage)), "{err:?}");
    // Reading on says the same; the connection goes on to its end meanwhile.
    let again = bounded(stream.read(&mut buf))
        .await
        .expect_err("still failed");
    assert_eq!(again.kind(), io::ErrorKind::InvalidData);
    let close = bounded(peer).await.expect("peer task").expect("closed");
    assert_eq!(close.code, Some(1003), "{close:?}");
}

/// Sends `abc` to a byte stream, then ends the connection with `end`; returns what the
/// byte stream's `read_to_end` said.
async fn read_after_peer_ends<F, Fut>(end: F) -> (Vec<u8>, io::Result<usize>)
where
    F: FnOnce(WebSocket<DuplexStream>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let (client, mut server) = websocket_pair();
    let peer = tokio::spawn(async move {
        server.send(Bytes::from_static(b"abc")).await.expect("send");
        end(server).await;
    });
    let mut stream = ByteStream::new(client);
    let mut data = Vec::new();
    let read = bounded(stream.read_to_end(&mut data)).await;
    bounded(peer).await.expect("peer task");
    (data, read)
}

#[tokio::test]
async fn how_the_peer_ends_the_connection_is_what_reads_report() {
    // A close with 1000 (without an end of data first) reads as end of file.
    let (data, read) = read_after_peer_ends(|mut ws| async move {
        ws.close(Some(1000), None).await.expect("close");
    })
    .await;
    assert_eq!(data, b"abc");
    assert_eq!(read.expect("end of file"), 3);

    // Another code: the data may be cut short, so the read fails with the code.
    let (data, read) = read_after_peer_ends(|mut ws| async move {
        ws.close(Some(4000), Some("bye")).await.expect("close");
    })
    .await;
    assert_eq!(data, b"abc");
    let err = read.expect_err("an early close is an error");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted, "{err:?}");
    match err.get_ref().and_then(|e| e.downcast_ref::<TunnelError>()) {
        Some(TunnelError::Closed { code, reason }) => {
            assert_eq!((*code, reason.as_deref()), (4000, Some("bye")));
        }
        other => panic!("expected TunnelError::Closed, got {other:?}"),
    }

    // No close at all: the connection was lost.
    let (data, read) = read_after_peer_ends(|ws| async move {
        let mut ws = ws;
        ws.flush().await.expect("flush");
        drop(ws);
    })
    .await;
    assert_eq!(data, b"abc");
    let err = read.expect_err("a lost connection is an error");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err:?}");
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<TunnelError>());
    assert!(matches!(inner, Some(TunnelError::Lost { .. })), "{err:?}");
}

#[tokio::test]
async fn writes_wait_at_the_high_water_mark_while_the_peer_does_not_read() {
    let (client, mut server) = websocket_pair();
    let mut stream = ByteStream::new(client);
    let chunk = vec![7u8; DEFAULT_MESSAGE_SIZE];
    // Write until a write cannot go on now (the peer reads nothing meanwhile).
    let mut accepted = 0usize;
    while let Some(written) = stream.write(&chunk).now_or_never() {
        accepted += written.expect("write");
        assert!(
            accepted <= 16 << 20,
            "{accepted} bytes accepted by a stalled connection"
        );
    }
    let high_water = stream.get_ref().channel().high_water_mark();
    let queued = stream.get_ref().channel().buffered_amount();
    assert!(accepted >= high_water, "only {accepted} bytes accepted");
    // Bounded by the high-water mark plus one message, the pipe and what is being written.
    assert!(
        queued <= high_water + DEFAULT_MESSAGE_SIZE + 64,
        "{queued} bytes queued"
    );
    assert!(accepted <= 3 * high_water, "{accepted} bytes accepted");

    // The peer reads: the writes go on, and every byte arrives.
    let reader = tokio::spawn(async move {
        let mut total = 0usize;
        loop {
            match server.recv().await {
                Some(Message::Binary(payload)) if payload.is_empty() => return total,
                Some(message) => total += message.payload().len(),
                None => panic!("connection ended before the end of data"),
            }
        }
    });
    bounded(stream.write_all(&chunk))
        .await
        .expect("write after the peer reads");
    bounded(stream.shutdown()).await.expect("shutdown");
    let total = bounded(reader).await.expect("reader task");
    assert_eq!(total, accepted + chunk.len());
}

// ---------------------------------------------------------------------------------------
// A TCP tunnel through wss:// on loopback, built from the library as the example builds it.

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
        let client_factory = std::sync::Arc::new(client_factory);
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

/// Serves each connection with `serve` on a task of its own.
async fn target<F, Fut>(serve: F) -> (SocketAddr, JoinHandle<()>)
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve(tcp));
        }
    });
    (addr, task)
}

/// Echoes, and ends its side once the client has ended its.
async fn echo(mut tcp: TcpStream) {
    let (mut from, mut to) = tcp.split();
    if tokio::io::copy(&mut from, &mut to).await.is_ok() {
        let _ = to.shutdown().await;
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

// ---------------------------------------------------------------------------------------
// The example's processes.

/// `target/<profile>/examples/tunnel`, next to this test's `target/<profile>/deps/`.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("<target>/<profile>/deps");
    let bin = profile_dir.join("examples").join("tunnel");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --all-features --example tunnel` first",
        bin.display()
    );
    bin
}

/// A running example; killed when dropped. Its stdout lines come one by one.
struct Example {
    _child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Example {
    fn start(args: &[&str]) -> Example {
        let mut child = tokio::process::Command::new(example_binary())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the example");
        let stdout = child.stdout.take().expect("stdout");
        Example {
            _child: child,
            lines: tokio::io::BufReader::new(stdout).lines(),
        }
    }

    /// The rest of the first line that starts with `prefix`.
    async fn line_after(&mut self, prefix: &str) -> String {
        loop {
            let line = bounded(self.lines.next_line()).await.expect("stdout");
            let line = line.unwrap_or_else(|| panic!("the example exited before `{prefix}`"));
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_string();
            }
        }
    }
}

#[tokio::test]
async fn the_example_forwards_a_half_closed_exchange_between_its_processes() {
    let (echo_addr, _echo) = target(echo).await;
    let mut server = Example::start(&["server", "127.0.0.1:0", &echo_addr.to_string()]);
    let cert = server.line_after("certificate ").await;
    let ws_addr = server.line_after("listening on ").await;
    let url = format!("wss://{ws_addr}");
    let mut client = Example::start(&["client", "127.0.0.1:0", &url, "--ca", &cert]);
    let local = client.line_after("listening on ").await;

    let sent = random_bytes(1 << 20, 11);
    let tcp = TcpStream::connect(&local).await.expect("connect");
    let echoed = bounded(exchange(tcp, &sent)).await;
    assert!(
        echoed == sent,
        "echoed {} of {} bytes",
        echoed.len(),
        sent.len()
    );
    // Each side reports the connection once both directions have ended.
    let n = sent.len();
    let client_report = client.line_after("[client]").await;
    assert!(
        client_report.ends_with(&format!("{n} bytes up, {n} bytes down")),
        "{client_report}"
    );
    let server_report = server.line_after("[server]").await;
    assert!(
        server_report.ends_with(&format!("{n} bytes up, {n} bytes down")),
        "{server_report}"
    );
    let _ = std::fs::remove_file(cert);
}

#[tokio::test]
async fn the_example_demo_exits_0() {
    let status = bounded(
        tokio::process::Command::new(example_binary())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .status(),
    )
    .await
    .expect("run the demo");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn an_example_client_without_the_servers_certificate_is_refused() {
    let (echo_addr, _echo) = target(echo).await;
    let mut server = Example::start(&["server", "127.0.0.1:0", &echo_addr.to_string()]);
    let cert = server.line_after("certificate ").await;
    let ws_addr = server.line_after("listening on ").await;
    // Trusting only the public web roots: the TLS handshake fails, the local connection
    // is dropped.
    let mut client = Example::start(&["client", "127.0.0.1:0", &format!("wss://{ws_addr}")]);
    let local = client.line_after("listening on ").await;
    let mut tcp = TcpStream::connect(&local).await.expect("connect");
    let mut received = Vec::new();
    // End of file or a reset, depending on timing: nothing comes through either way.
    let _ = bounded(tcp.read_to_end(&mut received)).await;
    assert!(
        received.is_empty(),
        "{} bytes through an untrusted tunnel",
        received.len()
    );
    let _ = std::fs::remove_file(cert);
}
