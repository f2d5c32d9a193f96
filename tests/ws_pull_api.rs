//! The pull API: a client connection as a value (`recv`/`send`/`close`, `Stream`/`Sink`)
//! against our callback server, over real sockets.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::{
    Message, WebSocketChannel, WebSocketClientFactory, WebSocketHandler, WebSocketServerFactory,
    WebSocketServerHandler,
};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};

use common::{bounded, start_server, TestServer};

/// Echoes; "bye" makes it close with 4000; after 3 pongs it says so.
struct Server {
    channel: WebSocketChannel,
    pongs: usize,
}

impl WebSocketHandler for Server {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        if &payload[..] == b"bye" {
            let _ = self.channel.send_close(Some(4000), Some("bye")).await;
            return;
        }
        let _ = self.channel.send_message(payload, is_binary).await;
    }

    async fn on_pong(&mut self, _payload: Bytes) {
        self.pongs += 1;
        if self.pongs == 3 {
            let _ = self.channel.send_text("3 pongs").await;
        }
    }
}

impl WebSocketServerHandler for Server {}

async fn server(options: ServerOptions) -> TestServer {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
    start_server(factory, |channel| Server { channel, pongs: 0 }).await
}

fn client(server: &TestServer) -> WebSocketClientFactory {
    WebSocketClientFactory::new(&server.url("/")).expect("url")
}

#[tokio::test]
async fn messages_of_every_length_encoding_echo_and_the_close_is_clean() {
    let server = server(ServerOptions::default()).await;
    let mut ws = bounded(client(&server).connect_websocket())
        .await
        .expect("connect");
    for size in [0, 1, 125, 126, 65535, 65536, 1 << 20] {
        let text: String = "é".repeat(size / 2);
        bounded(ws.send(text.clone())).await.expect("send text");
        assert_eq!(bounded(ws.recv()).await, Some(Message::from(text)));
        let binary: Vec<u8> = (0..size).map(|i| i as u8).collect();
        bounded(ws.send(binary.clone())).await.expect("send binary");
        assert_eq!(bounded(ws.recv()).await, Some(Message::from(binary)));
    }
    assert!(ws.close_info().is_none(), "still open");
    let info = bounded(ws.close(Some(1000), Some("done")))
        .await
        .expect("close");
    assert!(info.was_clean, "{info:?}");
    assert_eq!(info.code, Some(1000));
    assert_eq!(ws.recv().await, None);
    assert!(ws.send("late").await.is_err());
}

#[tokio::test]
async fn stream_and_sink() {
    let server = server(ServerOptions::default()).await;
    let mut ws = bounded(client(&server).connect_websocket())
        .await
        .expect("connect");
    for i in 0..10 {
        // `feed` queues without flushing; `send` flushes all.
        bounded(ws.feed(Message::from(format!("m{i}"))))
            .await
            .expect("feed");
    }
    bounded(SinkExt::send(&mut ws, Message::from("last")))
        .await
        .expect("send");
    let got: Vec<Message> = bounded(ws.by_ref().take(11).collect()).await;
    let want: Vec<Message> = (0..10)
        .map(|i| Message::from(format!("m{i}")))
        .chain([Message::from("last")])
        .collect();
    assert_eq!(got, want);
    bounded(SinkExt::close(&mut ws)).await.expect("sink close");
    assert_eq!(bounded(ws.next()).await, None, "the stream ends");
    assert_eq!(ws.close_info().map(|i| i.code), Some(Some(1000)));
}

#[tokio::test]
async fn the_peer_closing_ends_recv_with_its_code() {
    let server = server(ServerOptions::default()).await;
    let mut ws = bounded(client(&server).connect_websocket())
        .await
        .expect("connect");
    bounded(ws.send("bye")).await.expect("send");
    assert_eq!(bounded(ws.recv()).await, None);
    let info = ws.close_info().expect("closed");
    assert!(info.was_clean, "{info:?}");
    assert_eq!(
        (info.code, info.reason.as_deref()),
        (Some(4000), Some("bye"))
    );
}

#[tokio::test]
async fn pings_are_answered_while_recv_waits_and_can_be_seen() {
    let options = ServerOptions {
        auto_ping_interval: Some(Duration::from_millis(20)),
        auto_ping_timeout: Some(Duration::from_secs(30)),
        ..ServerOptions::default()
    };
    let server = server(options).await;
    // Control frames off: the pongs go out unseen, and the server counts them.
    let mut ws = bounded(client(&server).connect_websocket())
        .await
        .expect("connect");
    assert_eq!(bounded(ws.recv()).await, Some(Message::from("3 pongs")));
    // On: pings are handed out too (and still answered).
    let mut ws = bounded(client(&server).connect_websocket())
        .await
        .expect("connect");
    ws.receive_control_frames(true);
    let mut pings = 0;
    loop {
        match bounded(ws.recv()).await.expect("open") {
            Message::Ping(p) => {
                assert!(!p.is_empty(), "auto-ping payloads are random bytes");
                pings += 1;
            }
            m => {
                assert_eq!(m, Message::from("3 pongs"));
                break;
            }
        }
    }
    assert!(pings >= 3, "saw {pings} pings");
}

#[tokio::test]
async fn a_channel_sends_from_another_task_while_recv_waits() {
    let server = server(ServerOptions::default()).await;
    let mut ws = bounded(client(&server).connect_websocket())
        .await
        .expect("connect");
    let channel = ws.channel().clone();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        for i in 0..5 {
            channel
                .send_text(format!("from a task {i}"))
                .await
                .expect("send");
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    for i in 0..5 {
        assert_eq!(
            bounded(ws.recv()).await,
            Some(Message::from(format!("from a task {i}")))
        );
    }
    assert_eq!(sent.load(Ordering::SeqCst), 5);
    let channel = ws.channel().clone();
    drop(ws);
    assert!(
        channel.send_text("after drop").await.is_err(),
        "a dropped connection refuses sends"
    );
}

#[cfg(feature = "deflate")]
#[tokio::test]
async fn compressed_messages_round_trip() {
    let server = server(ServerOptions::default()).await;
    let mut ws = bounded(client(&server).connect_websocket())
        .await
        .expect("connect");
    for round in 0..3 {
        let text = format!("{round}: ") + &"compressible text ".repeat(1000);
        bounded(ws.send(text.clone())).await.expect("send");
        assert_eq!(bounded(ws.recv()).await, Some(Message::from(text)));
    }
    bounded(ws.close(None, None)).await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_on_two_tasks() {
    let server = server(ServerOptions::default()).await;
    let ws = bounded(client(&server).connect_websocket())
        .await
        .expect("connect");
    let (mut reader, mut writer) = ws.split();
    // The reader waits first, so the writer's polls come after its registration: a
    // waker lost to the writer would leave the reader asleep with echoes waiting.
    let reading = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(message) = reader.recv().await {
            got.push(message);
        }
        (got, reader.close_info())
    });
    let writing = tokio::spawn(async move {
        for i in 0..200 {
            writer.send(format!("n{i}")).await.expect("send");
        }
        // Sink and channel work on the writing half too.
        SinkExt::send(&mut writer, Message::from("sink"))
            .await
            .expect("sink");
        writer
            .channel()
            .send_text("channel")
            .await
            .expect("channel");
        writer.close(Some(1000), Some("done")).await.expect("close")
    });
    let close = bounded(writing).await.expect("writer task");
    assert_eq!(close.code, Some(1000));
    let (got, reader_close) = bounded(reading).await.expect("reader task");
    let want: Vec<Message> = (0..200)
        .map(|i| Message::from(format!("n{i}")))
        .chain([Message::from("sink"), Message::from("channel")])
        .collect();
    assert_eq!(got, want);
    assert_eq!(reader_close.and_then(|c| c.code), Some(1000));
}

/// Answers every message with a text frame that is not UTF-8 (`a`, 0xff, 0xfe, `é`).
struct InvalidText(WebSocketChannel);

impl WebSocketHandler for InvalidText {
    async fn on_message(&mut self, _payload: Bytes, _is_binary: bool) {
        let invalid = Bytes::from_static(b"a\xff\xfe\xc3\xa9");
        let _ = self.0.send_message(invalid, false).await;
    }
}

impl WebSocketServerHandler for InvalidText {}

/// `recv` builds its `Utf8Bytes` trusting the receiver's validation: invalid text must
/// fail the connection (1007) when it validates, and come out with U+FFFD when it does
/// not, whole, in fragments split inside a character, and streamed.
#[tokio::test]
async fn invalid_text_never_becomes_a_text_message() {
    for fragment in [0, 2] {
        let options = ServerOptions {
            auto_fragment_size: fragment,
            ..ServerOptions::default()
        };
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
        let server = start_server(factory, InvalidText).await;
        for streaming in [false, true] {
            let case = format!("fragments of {fragment}, streaming {streaming}");
            let mut ws = bounded(client(&server).connect_websocket())
                .await
                .expect("connect");
            ws.receive_streaming(streaming);
            bounded(ws.send("go")).await.expect("send");
            assert_eq!(bounded(ws.recv()).await, None, "{case}");
            let info = ws.close_info().expect("closed");
            assert!(!info.was_clean, "{case}: {info:?}");

            let unchecked = ClientOptions {
                utf8_validate_incoming: false,
                ..ClientOptions::default()
            };
            let mut ws = bounded(
                client(&server)
                    .with_protocol_options(unchecked)
                    .connect_websocket(),
            )
            .await
            .expect("connect");
            ws.receive_streaming(streaming);
            bounded(ws.send("go")).await.expect("send");
            let got = bounded(ws.recv()).await.expect("a message");
            assert_eq!(got.as_text(), Some("a\u{fffd}\u{fffd}é"), "{case}");
        }
    }
}
