//! Per-connection send control: `try_send_message` fails at once (payload handed back)
//! above the high-water mark, `buffered_amount` says how much waits, the mark is
//! adjustable, `send_message_uncompressed` skips permessage-deflate for one message,
//! `drop_connection` ends a connection stuck behind a peer that stopped reading, and a
//! prepared message is compressed once for many connections.
//! The peer is a raw end of an in-memory stream (64 KiB of buffer) that reads only when
//! the test says so.

mod common;

use autobahn::websocket::channel::{TrySendError, DEFAULT_HIGH_WATER_MARK};
use autobahn::websocket::WebSocketClientFactory;
use bytes::Bytes;

use common::{bounded, connect_to_raw_server, FrameReader};

const MESSAGE: usize = 64 * 1024;

/// Fills the queue with `MESSAGE`-byte messages until `try_send_message` refuses; returns
/// how many it took.
fn fill(channel: &autobahn::websocket::WebSocketChannel, first: u8) -> usize {
    let mut n = 0;
    loop {
        let payload = Bytes::from(vec![first.wrapping_add(n as u8); MESSAGE]);
        match channel.try_send_message(payload.clone(), true) {
            Ok(()) => n += 1,
            Err(TrySendError::Full(back)) => {
                assert_eq!(back, payload, "the refused payload comes back");
                return n;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        assert!(n < 10_000, "never refused");
    }
}

#[tokio::test]
async fn try_send_refuses_above_the_high_water_mark_and_every_queued_message_arrives() {
    let factory = WebSocketClientFactory::new("ws://127.0.0.1/").expect("url");
    let (conn, _events, server_end) = connect_to_raw_server(&factory).await;
    let channel = conn.channel().clone();
    let task = conn.spawn();
    // Sends are possible once the connection runs.
    while !channel.is_open() {
        tokio::task::yield_now().await;
    }
    assert_eq!(channel.high_water_mark(), DEFAULT_HIGH_WATER_MARK);

    let first = fill(&channel, 0);
    let buffered = channel.buffered_amount();
    assert!(
        buffered >= DEFAULT_HIGH_WATER_MARK,
        "refused with only {buffered} bytes queued"
    );
    assert!(
        buffered < DEFAULT_HIGH_WATER_MARK + 2 * (MESSAGE + 14),
        "queued {buffered} bytes, past the mark by more than a message"
    );

    // A higher mark makes room at once.
    channel.set_high_water_mark(4 << 20);
    let second = fill(&channel, first as u8);
    assert!(channel.buffered_amount() >= 4 << 20);
    assert!(second > 0);

    // The peer reads: every message arrives, whole and in order.
    let mut reader = FrameReader::new(server_end, Vec::new());
    for i in 0..first + second {
        let f = bounded(reader.next()).await.expect("a frame");
        assert_eq!((f.opcode, f.payload.len()), (2, MESSAGE), "message {i}");
        assert!(f.payload.iter().all(|&b| b == i as u8), "message {i}");
    }
    assert_eq!(channel.buffered_amount(), 0);

    drop(reader); // the peer goes away
    bounded(task).await.expect("connection task");
    match channel.try_send_message("late", false) {
        Err(TrySendError::Closed(back)) => assert_eq!(&back[..], b"late"),
        other => panic!("expected Closed, got {other:?}"),
    }
}

/// The slow-consumer policy "drop it after a deadline": a peer that stopped reading holds
/// output the socket does not take, and `drop_connection` must still end the connection.
#[tokio::test]
async fn drop_connection_ends_a_connection_whose_peer_stopped_reading() {
    let factory = WebSocketClientFactory::new("ws://127.0.0.1/").expect("url");
    let (conn, _events, _server_end) = connect_to_raw_server(&factory).await;
    let channel = conn.channel().clone();
    let task = conn.spawn();
    while !channel.is_open() {
        tokio::task::yield_now().await;
    }
    // The connection task takes the queue into its write, which the peer never finishes;
    // then the queue fills again behind it.
    fill(&channel, 0);
    bounded(async {
        while channel.buffered_amount() > 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(fill(&channel, 0) > 0);
    channel.drop_connection();
    let (_, close) = bounded(task).await.expect("connection task");
    assert!(!close.was_clean);
    assert!(matches!(
        channel.try_send_message("late", false),
        Err(TrySendError::Closed(_))
    ));
}

#[cfg(feature = "deflate")]
mod uncompressed {
    use super::*;
    use autobahn::websocket::handshake::accept_key;
    use tokio::io::{AsyncWriteExt, DuplexStream};

    use common::{events, header_of, in_memory_pair, read_http_head, Recorder};

    /// A raw server that accepts permessage-deflate (no parameters) and reads frames.
    async fn answer_with_deflate(mut s: DuplexStream) -> DuplexStream {
        let (head, rest) = read_http_head(&mut s).await;
        assert!(rest.is_empty());
        assert!(header_of(&head, "sec-websocket-extensions")
            .expect("an offer")
            .starts_with("permessage-deflate"));
        let key = header_of(&head, "sec-websocket-key").expect("key");
        let resp = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
            accept_key(key)
        );
        s.write_all(resp.as_bytes()).await.expect("write response");
        s
    }

    #[tokio::test]
    async fn one_message_can_skip_compression() {
        let factory = WebSocketClientFactory::new("ws://127.0.0.1/").expect("url");
        let (tx, _events) = events();
        let (client_end, server_end) = in_memory_pair();
        let (conn, server_end) = tokio::join!(
            factory.connect_stream(client_end, |ch| Recorder::new(ch, tx)),
            answer_with_deflate(server_end)
        );
        let conn = conn.expect("opening handshake");
        let channel = conn.channel().clone();
        let _task = conn.spawn();
        let text = "compressible ".repeat(100);
        channel
            .send_message(text.clone(), false)
            .await
            .expect("send");
        channel
            .send_message_uncompressed(text.clone(), false)
            .await
            .expect("send");

        let mut reader = FrameReader::new(server_end, Vec::new());
        let compressed = bounded(reader.next()).await.expect("frame");
        assert_eq!(compressed.rsv, 4, "RSV1: compressed");
        assert!(compressed.payload.len() < text.len() / 4);
        let plain = bounded(reader.next()).await.expect("frame");
        assert_eq!(plain.rsv, 0, "no RSV1: sent as it is");
        assert_eq!(plain.payload, text.as_bytes());
    }
}

/// A prepared message to three clients that asked the server not to keep compression
/// context: compressed once, and every client inflates it.
#[cfg(feature = "deflate")]
mod prepared {
    use super::*;
    use autobahn::websocket::deflate::PerMessageDeflateOffer;
    use autobahn::websocket::options::ClientOptions;
    use autobahn::websocket::{PreparedMessage, WebSocketServerFactory};

    use common::{start_echo_server, Ev};

    #[tokio::test]
    async fn is_compressed_once_for_three_no_context_takeover_clients() {
        let (server, mut events) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let options = ClientOptions {
            // `server_no_context_takeover`: the server's compressor starts fresh each message.
            per_message_compression_offers: vec![
                PerMessageDeflateOffer::new(true, true, true, 0).expect("offer")
            ],
            ..ClientOptions::default()
        };
        let factory = WebSocketClientFactory::new(&server.url("/"))
            .expect("url")
            .with_protocol_options(options);
        let mut clients = Vec::new();
        let mut channels = Vec::new();
        for _ in 0..3 {
            clients.push(bounded(factory.connect_websocket()).await.expect("connect"));
            channels.push(events.open().await);
        }

        let text = "the same news for every client ".repeat(1_000);
        let news = PreparedMessage::new(text.clone(), false);
        channels[0].send_prepared(&news).await.expect("send");
        channels[1].try_send_prepared(&news).expect("room");
        channels[2].send_prepared(&news).await.expect("send");
        for client in &mut clients {
            let got = bounded(client.recv()).await.expect("a message");
            assert_eq!(got.as_text(), Some(text.as_str()));
        }
        assert_eq!(news.compressions(), 1, "compressed once for all three");

        // A connection that is gone hands the payload back.
        let _ = bounded(clients[1].close(Some(1000), None)).await;
        events
            .until(|e| matches!(e, Ev::Close { .. }).then_some(()))
            .await;
        match channels[1].try_send_prepared(&news) {
            Err(TrySendError::Closed(back)) => assert_eq!(back, text.as_bytes()),
            other => panic!("expected Closed, got {other:?}"),
        }
    }
}
