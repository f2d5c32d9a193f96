//! Receive streaming over real sockets: the pull API's `recv` and `recv_streaming` in
//! streaming mode against a raw server writing frames by hand, and the callback API's
//! frame-based and streaming hooks against a raw client.

mod common;

use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::{
    Delivery, Message, WebSocketChannel, WebSocketClientFactory, WebSocketHandler,
    WebSocketServerFactory, WebSocketServerHandler,
};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use common::{bounded, frame, raw_accept, raw_connect, FrameReader};

const MASK: Option<[u8; 4]> = Some([1, 2, 3, 4]);
const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CONTINUATION: u8 = 0;
const CLOSE: u8 = 8;
const PING: u8 = 9;

/// A raw server that writes `writes` (each flushed on its own) after the handshake, then
/// hands its frame reader to `then`.
async fn raw_server<F, Fut>(writes: Vec<Vec<u8>>, then: F) -> String
where
    F: FnOnce(FrameReader) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut stream = raw_accept(&listener).await;
        for w in writes {
            stream.write_all(&w).await.expect("write");
            stream.flush().await.expect("flush");
        }
        then(FrameReader::new(stream, Vec::new())).await;
    });
    url
}

/// Answers the client's close with an empty close frame.
async fn answer_close(mut reader: FrameReader) {
    while let Some(f) = reader.next().await {
        if f.opcode == CLOSE {
            reader.send(&frame(true, CLOSE, &[], None)).await;
            return;
        }
    }
}

#[tokio::test]
async fn recv_reassembles_streamed_messages() {
    bounded(async {
        let big: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let mut close = frame(true, CLOSE, &1000u16.to_be_bytes(), None);
        let writes = vec![
            frame(false, TEXT, b"Hel", None),
            frame(true, PING, b"p", None),
            frame(true, CONTINUATION, "lo κόσμε".as_bytes(), None),
            frame(true, BINARY, &big, None),
            std::mem::take(&mut close),
        ];
        // The server reads until the client goes (closing with the client's pong unread
        // would reset the connection).
        let url = raw_server(writes, |mut reader| async move {
            while reader.next().await.is_some() {}
        })
        .await;
        let mut ws = WebSocketClientFactory::new(&url)
            .expect("url")
            .connect_websocket()
            .await
            .expect("connect");
        ws.receive_streaming(true);
        assert_eq!(ws.recv().await, Some(Message::from("Hello κόσμε")));
        let second = ws.recv().await;
        assert!(
            second == Some(Message::Binary(big.into())),
            "the binary message: {:?}",
            second.map(|m| m.payload().len())
        );
        assert_eq!(ws.recv().await, None);
        assert_eq!(ws.close_info().and_then(|c| c.code), Some(1000));
    })
    .await;
}

#[tokio::test]
async fn a_reader_hands_out_pieces_and_a_dropped_one_skips_the_rest() {
    bounded(async {
        let writes = vec![
            frame(false, BINARY, &[b'a'; 10], None),
            frame(false, CONTINUATION, &[b'b'; 10], None),
            frame(true, CONTINUATION, &[b'c'; 10], None),
            frame(true, TEXT, b"next", None),
            frame(false, BINARY, &[1; 1000], None),
            frame(true, CONTINUATION, &[2; 3 << 20], None),
        ];
        let url = raw_server(writes, answer_close).await;
        let mut ws = WebSocketClientFactory::new(&url)
            .expect("url")
            .connect_websocket()
            .await
            .expect("connect");
        ws.receive_streaming(true);
        let mut first = ws.recv_streaming().await.expect("a message");
        assert!(first.is_binary());
        let piece = first.chunk().await.expect("a piece").expect("not the end");
        assert_eq!(&piece[..], &[b'a'; 10]);
        drop(first);
        assert_eq!(ws.recv().await, Some(Message::from("next")));

        // The whole of the third message through `AsyncRead`, then its end.
        let mut third = ws.recv_streaming().await.expect("a message");
        let mut copied = Vec::new();
        tokio::io::copy(&mut third, &mut copied)
            .await
            .expect("copy");
        assert_eq!(copied.len(), 1000 + (3 << 20));
        assert!(copied[..1000].iter().all(|&b| b == 1));
        assert!(copied[1000..].iter().all(|&b| b == 2));
        assert_eq!(third.chunk().await.expect("the end"), None);
        drop(third);
        let info = ws.close(Some(1000), None).await.expect("close");
        assert!(info.was_clean, "{info:?}");
    })
    .await;
}

/// A split connection's reading half streams a message in pieces while its writing half
/// sends, and `into_message` collects what a reader has left.
#[tokio::test]
async fn a_split_reader_streams_while_the_writer_sends() {
    bounded(async {
        let writes = vec![
            frame(false, BINARY, &[1; 100_000], None),
            frame(true, CONTINUATION, &[2; 2 << 20], None),
            frame(false, TEXT, b"first ", None),
            frame(true, CONTINUATION, b"second", None),
        ];
        let (got_tx, mut got) = mpsc::unbounded_channel();
        let url = raw_server(writes, move |mut reader| async move {
            while let Some(f) = reader.next().await {
                let _ = got_tx.send(f.opcode);
                if f.opcode == CLOSE {
                    reader.send(&frame(true, CLOSE, &[], None)).await;
                    return;
                }
            }
        })
        .await;
        let ws = WebSocketClientFactory::new(&url)
            .expect("url")
            .connect_websocket()
            .await
            .expect("connect");
        let (mut reader, mut writer) = ws.split();
        reader.receive_streaming(true);
        let sending = tokio::spawn(async move {
            for i in 0..20 {
                writer.send(format!("tick {i}")).await.expect("send");
            }
            writer
        });
        let mut message = reader.recv_streaming().await.expect("a message");
        assert!(message.is_binary());
        let (mut len, mut pieces) = (0, 0);
        while let Some(piece) = message.chunk().await.expect("a piece") {
            len += piece.len();
            pieces += 1;
        }
        assert_eq!(len, 100_000 + (2 << 20));
        assert!(pieces > 1, "streamed in pieces, not whole");

        drop(message);
        let second = reader.recv_streaming().await.expect("a message");
        assert_eq!(
            second.into_message().await.expect("whole"),
            Message::from("first second")
        );
        let mut writer = sending.await.expect("the writer");
        // The writer alone completes the close. It used to sleep until some timer woke it
        // (`message_timeout`, 60 s) when the poll that ended the connection was its own;
        // the deadline is checked first, so such a late wake-up fails here.
        let info = tokio::select! {
            biased;
            _ = tokio::time::sleep(Duration::from_secs(20)) => {
                panic!("the close did not complete without the reader")
            }
            info = writer.close(Some(1000), None) => info.expect("close"),
        };
        assert!(info.was_clean, "{info:?}");
        for _ in 0..20 {
            assert_eq!(got.recv().await, Some(TEXT), "the writer's messages arrive");
        }
        assert_eq!(got.recv().await, Some(CLOSE));
    })
    .await;
}

#[tokio::test]
async fn invalid_text_ends_the_reader_with_an_error_and_the_connection_with_1007() {
    bounded(async {
        let (codes_tx, mut codes) = mpsc::unbounded_channel();
        let writes = vec![
            frame(false, TEXT, b"fine so far", None),
            frame(true, CONTINUATION, b"then \xff", None),
        ];
        let url = raw_server(writes, move |mut reader| async move {
            while let Some(f) = reader.next().await {
                if f.opcode == CLOSE {
                    let _ = codes_tx.send(f.close_code());
                    return; // and drop the connection
                }
            }
        })
        .await;
        let mut ws = WebSocketClientFactory::new(&url)
            .expect("url")
            .connect_websocket()
            .await
            .expect("connect");
        ws.receive_streaming(true);
        let mut message = ws.recv_streaming().await.expect("a message");
        assert!(!message.is_binary());
        let piece = message
            .chunk()
            .await
            .expect("a piece")
            .expect("not the end");
        assert_eq!(&piece[..], b"fine so far");
        assert!(
            message.chunk().await.is_err(),
            "the reader ends with an error"
        );
        drop(message);
        assert_eq!(codes.recv().await, Some(Some(1007)));
    })
    .await;
}

/// What the callback API's hooks saw.
#[derive(Debug, PartialEq)]
enum Hook {
    Begin(bool),
    FrameBegin(u64),
    Data(Vec<u8>),
    FrameEnd,
    Frame(Vec<u8>),
    End,
    Ping,
}

struct Recording {
    delivery: Delivery,
    hooks: mpsc::UnboundedSender<Hook>,
}

impl WebSocketServerHandler for Recording {}

impl WebSocketHandler for Recording {
    fn delivery(&self) -> Delivery {
        self.delivery
    }
    async fn on_message_begin(&mut self, is_binary: bool) {
        let _ = self.hooks.send(Hook::Begin(is_binary));
    }
    async fn on_message_frame_begin(&mut self, length: u64) {
        let _ = self.hooks.send(Hook::FrameBegin(length));
    }
    async fn on_message_frame_data(&mut self, payload: Bytes) {
        let _ = self.hooks.send(Hook::Data(payload.to_vec()));
    }
    async fn on_message_frame_end(&mut self) {
        let _ = self.hooks.send(Hook::FrameEnd);
    }
    async fn on_message_frame(&mut self, payload: Vec<Bytes>) {
        let _ = self.hooks.send(Hook::Frame(payload.concat()));
    }
    async fn on_message_end(&mut self) {
        let _ = self.hooks.send(Hook::End);
    }
    async fn on_ping(&mut self, _payload: Bytes) {
        let _ = self.hooks.send(Hook::Ping);
    }
}

/// The hooks a server with `delivery` calls for a fragmented text message with a ping
/// in the middle (pieces of one frame merged, however the reads cut them).
async fn hooks_for(delivery: Delivery) -> Vec<Hook> {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1")
        .with_protocol_options(ServerOptions::default());
    let listener = factory.listen("127.0.0.1:0").await.expect("listen");
    let addr = listener.local_addr().expect("addr");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _server = factory.start(listener, move |_: WebSocketChannel| Recording {
        delivery,
        hooks: tx.clone(),
    });
    let (mut stream, _) = raw_connect(addr).await;
    for f in [
        frame(false, TEXT, b"Hel", MASK),
        frame(true, PING, b"p", MASK),
        frame(true, CONTINUATION, b"lo", MASK),
    ] {
        stream.write_all(&f).await.expect("write");
    }
    let mut hooks: Vec<Hook> = Vec::new();
    while hooks.last() != Some(&Hook::End) {
        let hook = rx.recv().await.expect("a hook");
        match (hooks.last_mut(), hook) {
            (Some(Hook::Data(a)), Hook::Data(b)) => a.extend(b),
            (_, hook) => hooks.push(hook),
        }
    }
    hooks
}

#[tokio::test]
async fn the_streaming_hooks_see_each_frame_as_it_arrives() {
    let hooks = bounded(hooks_for(Delivery::Streaming)).await;
    assert_eq!(
        hooks,
        [
            Hook::Begin(false),
            Hook::FrameBegin(3),
            Hook::Data(b"Hel".to_vec()),
            Hook::FrameEnd,
            Hook::Ping,
            Hook::FrameBegin(2),
            Hook::Data(b"lo".to_vec()),
            Hook::FrameEnd,
            Hook::End,
        ]
    );
}

#[tokio::test]
async fn the_frame_based_hooks_see_each_frame_whole() {
    let hooks = bounded(hooks_for(Delivery::Frames)).await;
    assert_eq!(
        hooks,
        [
            Hook::Begin(false),
            Hook::Frame(b"Hel".to_vec()),
            Hook::Ping,
            Hook::Frame(b"lo".to_vec()),
            Hook::End,
        ]
    );
}
