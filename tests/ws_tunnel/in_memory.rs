//! In memory: both roles over a `tokio::io::duplex`.

use std::io;

use autobahn::websocket::byte_stream::{TunnelError, DEFAULT_MESSAGE_SIZE};
use autobahn::websocket::handshake::Negotiated;
use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::{ByteStream, Message, WebSocket, WebSocketBuilder, TUNNEL_SUBPROTOCOL};
use bytes::Bytes;
use futures_util::FutureExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;

use super::common::bounded;
use super::{exchange, random_bytes, Ended};

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

/// `ByteStream::tunnel` takes a connection that settled on the tunnel subprotocol and
/// refuses one that settled on another or on none.
#[tokio::test]
async fn tunnel_insists_on_the_subprotocol() {
    let (client, server) = websocket_pair();
    assert!(ByteStream::tunnel(client).is_ok());
    assert!(ByteStream::tunnel(server).is_ok());
    for negotiated in [None, Some("chat".to_string())] {
        let (client, _server) = websocket_pair_with(Negotiated {
            subprotocol: negotiated.clone(),
            ..Negotiated::default()
        });
        match ByteStream::tunnel(client) {
            Err(TunnelError::Subprotocol { negotiated: got }) => assert_eq!(got, negotiated),
            other => panic!("{negotiated:?}: {:?}", other.map(|_| ())),
        }
    }
}
