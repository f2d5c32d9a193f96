//! Client ↔ server over real loopback TCP: echo, subprotocols, headers, closing
//! handshake, permessage-deflate negotiation, the streaming send API, and a slow handler.

mod common;

use std::sync::Arc;

use autobahn::websocket::options::{ClientOptions, ServerOptions};
use autobahn::websocket::types::{ConnectionAccept, ConnectionDeny};
use autobahn::websocket::{Error, WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;
use tokio::sync::{mpsc, Mutex};

/// Connects a recording (non-echoing) client to `url`; returns its channel (after
/// `on_open`), its events and the join handle of its connection task.
async fn client(
    factory: &WebSocketClientFactory,
) -> (
    autobahn::websocket::WebSocketChannel,
    Events,
    autobahn::websocket::types::ConnectionResponse,
    tokio::task::JoinHandle<(Recorder, autobahn::websocket::CloseInfo)>,
) {
    let (tx, mut rx) = events();
    let conn = factory
        .connect(|ch| Recorder::new(ch, tx))
        .await
        .expect("connect");
    let response = conn.response().clone();
    let task = conn.spawn();
    let ch = rx.open().await;
    (ch, rx, response, task)
}

#[tokio::test]
async fn echo_text_and_binary_all_sizes() {
    init_tracing();
    bounded(async {
        let (server, _sev) = start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let factory = WebSocketClientFactory::new(&server.url("/echo")).unwrap();
        let (ch, mut rx, resp, _task) = client(&factory).await;
        assert!(
            resp.extensions
                .iter()
                .any(|e| e.name == "permessage-deflate"),
            "deflate is negotiated by default: {:?}",
            resp.extensions
        );
        let sizes = [0usize, 1, 125, 126, 127, 65535, 65536, 1 << 20, 4 << 20];
        for (i, &n) in sizes.iter().enumerate() {
            let text: String = (0..n)
                .map(|j| char::from(b'a' + ((i + j) % 26) as u8))
                .collect();
            ch.send_text(text.clone()).await.unwrap();
            let (p, is_binary) = rx.message().await;
            assert!(!is_binary);
            assert_eq!(p.len(), n);
            assert!(p == text.as_bytes(), "text of {n} bytes differs");

            let bin = noise(n, i as u64);
            ch.send_message(bin.clone(), true).await.unwrap();
            let (p, is_binary) = rx.message().await;
            assert!(is_binary);
            assert!(p == bin, "binary of {n} bytes differs");
        }
        // Multi-byte UTF-8 text round-trips unchanged.
        ch.send_text("héllo wörld ✓ 😀").await.unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("héllo wörld ✓ 😀"));
    })
    .await;
}

#[tokio::test]
async fn many_messages_in_flight_arrive_in_order() {
    bounded(async {
        let (server, _sev) = start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let factory = WebSocketClientFactory::new(&server.url("/")).unwrap();
        let (ch, mut rx, _resp, _task) = client(&factory).await;
        const N: usize = 2000;
        // Send from several tasks at once through clones of the channel, without
        // waiting for echoes, then check every message came back.
        let mut senders = Vec::new();
        for t in 0..4 {
            let ch = ch.clone();
            senders.push(tokio::spawn(async move {
                for k in 0..N / 4 {
                    ch.send_message(format!("{t}:{k}:{}", "x".repeat(k % 300)), k % 2 == 0)
                        .await
                        .unwrap();
                }
            }));
        }
        let mut next = [0usize; 4];
        for _ in 0..N {
            let (p, is_binary) = rx.message().await;
            let s = std::str::from_utf8(&p).unwrap();
            let mut parts = s.splitn(3, ':');
            let t: usize = parts.next().unwrap().parse().unwrap();
            let k: usize = parts.next().unwrap().parse().unwrap();
            assert_eq!(k, next[t], "per-sender order kept");
            assert_eq!(is_binary, k.is_multiple_of(2));
            assert_eq!(parts.next().unwrap().len(), k % 300);
            next[t] += 1;
        }
        for s in senders {
            s.await.unwrap();
        }
        assert_eq!(next, [N / 4; 4]);
    })
    .await;
}

#[tokio::test]
async fn subprotocol_from_server_list() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1").protocols(["b", "c"]))
                .await;
        let factory = WebSocketClientFactory::new(&server.url("/"))
            .unwrap()
            .protocols(["a", "c", "b"]);
        let (_ch, _rx, resp, _task) = client(&factory).await;
        // The first protocol the client announced that the server speaks.
        assert_eq!(resp.protocol.as_deref(), Some("c"));
        let req = sev.request().await;
        assert_eq!(req.protocols, ["a", "c", "b"]);

        // No common protocol: the connection is accepted without one.
        let factory = WebSocketClientFactory::new(&server.url("/"))
            .unwrap()
            .protocols(["x"]);
        let (_ch, _rx, resp, _task) = client(&factory).await;
        assert_eq!(resp.protocol, None);
    })
    .await;
}

#[tokio::test]
async fn on_connect_chooses_protocol_adds_headers_or_denies() {
    bounded(async {
        let (tx, mut sev) = events();
        let decide: Decide = Arc::new(|req| {
            if req.path == "/deny" {
                return Err(ConnectionDeny::new(
                    ConnectionDeny::NOT_FOUND,
                    Some("no such thing"),
                ));
            }
            if req.params.get("who").map(|v| v.as_slice()) == Some(&["me".to_string()][..]) {
                return Ok(ConnectionAccept::with_subprotocol("a").header("X-Chosen", "by-handler"));
            }
            Ok(ConnectionAccept::new()
                .header("Set-Cookie", "k=v")
                .header("Set-Cookie", "k2=v2"))
        });
        let server = start_server(
            WebSocketServerFactory::new("ws://127.0.0.1").protocols(["b"]),
            move |ch| {
                let mut r = Recorder::echo(ch, tx.clone());
                r.decide = Some(decide.clone());
                r
            },
        )
        .await;

        // on_connect overrides the server's list: "a" although the server lists only "b".
        let factory = WebSocketClientFactory::new(&server.url("/p?who=me"))
            .unwrap()
            .protocols(["b", "a"]);
        let (ch, mut rx, resp, _task) = client(&factory).await;
        assert_eq!(resp.protocol.as_deref(), Some("a"));
        assert_eq!(resp.headers.get("x-chosen"), Some("by-handler"));
        let req = sev.request().await;
        assert_eq!(req.path, "/p");
        ch.send_text("hi").await.unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("hi"));

        // Extra headers, repeated ones kept.
        let factory = WebSocketClientFactory::new(&server.url("/other")).unwrap();
        let (_ch, _rx, resp, _task) = client(&factory).await;
        assert_eq!(
            resp.headers.get_all("set-cookie").collect::<Vec<_>>(),
            ["k=v", "k2=v2"]
        );

        // Denied: the client gets the HTTP status.
        let factory = WebSocketClientFactory::new(&server.url("/deny")).unwrap();
        let (ctx, _crx) = events();
        match factory.connect(|ch| Recorder::new(ch, ctx)).await {
            Err(Error::HttpStatus { status, .. }) => assert_eq!(status, 404),
            Err(e) => panic!("expected HttpStatus, got {e}"),
            Ok(_) => panic!("expected a denial"),
        }
    })
    .await;
}

#[tokio::test]
async fn client_initiated_close_is_clean_on_both_sides() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let factory = WebSocketClientFactory::new(&server.url("/")).unwrap();
        let (ch, mut rx, _resp, task) = client(&factory).await;
        ch.send_close(Some(1000), Some("bye")).await.unwrap();
        assert!(!ch.is_open());
        let (clean, code, _reason) = rx.close().await;
        assert!(clean, "client side clean");
        assert_eq!(code, Some(1000));
        let (clean, code, reason) = sev.close().await;
        assert!(clean, "server side clean");
        assert_eq!(code, Some(1000));
        assert_eq!(reason.as_deref(), Some("bye"));
        let (_h, info) = task.await.unwrap();
        assert!(info.was_clean);
        // Sending on a closed connection is an error, not a hang.
        assert!(matches!(
            ch.send_text("late").await,
            Err(Error::ConnectionClosed)
        ));
        // Invalid close codes are refused locally.
        let (ch2, _rx2, _r, _t) = client(&factory).await;
        assert!(ch2.send_close(Some(1006), None).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn server_initiated_close_is_clean_on_both_sides() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let factory = WebSocketClientFactory::new(&server.url("/")).unwrap();
        let (ch, mut rx, _resp, task) = client(&factory).await;
        ch.send_text("close:3001").await.unwrap();
        let (clean, code, reason) = rx.close().await;
        assert!(clean);
        assert_eq!(code, Some(3001));
        assert_eq!(reason.as_deref(), Some("server says bye"));
        let (clean, code, _) = sev.close().await;
        assert!(clean);
        assert_eq!(
            code,
            Some(1000),
            "the client replies 1000 (echo_close_code_reason is off)"
        );
        let (_h, info) = task.await.unwrap();
        assert!(info.was_clean);
    })
    .await;
}

#[tokio::test]
async fn compression_off_on_either_side() {
    bounded(async {
        // Server declines deflate.
        let options = ServerOptions {
            per_message_compression_accept: None,
            ..ServerOptions::default()
        };
        let (server, _sev) = start_echo_server(
            WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options),
        )
        .await;
        let factory = WebSocketClientFactory::new(&server.url("/")).unwrap();
        let (ch, mut rx, resp, _task) = client(&factory).await;
        assert!(resp.extensions.is_empty(), "{:?}", resp.extensions);
        assert!(resp.headers.get("sec-websocket-extensions").is_none());
        let big = "z".repeat(100_000);
        ch.send_text(big.clone()).await.unwrap();
        assert!(rx.message().await.0 == big.as_bytes());

        // Client offers nothing.
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let options = ClientOptions {
            per_message_compression_offers: Vec::new(),
            ..ClientOptions::default()
        };
        let factory = WebSocketClientFactory::new(&server.url("/"))
            .unwrap()
            .with_protocol_options(options);
        let (ch, mut rx, resp, _task) = client(&factory).await;
        assert!(resp.extensions.is_empty());
        assert!(sev.request().await.extensions.is_empty());
        ch.send_message(noise(70_000, 3), true).await.unwrap();
        assert!(rx.message().await.0 == noise(70_000, 3));
    })
    .await;
}

#[tokio::test]
async fn streaming_api_arrives_as_one_message() {
    bounded(async {
        for deflate in [true, false] {
            let mut options = ClientOptions::default();
            if !deflate {
                options.per_message_compression_offers.clear();
            }
            let (server, _sev) =
                start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
            let factory = WebSocketClientFactory::new(&server.url("/"))
                .unwrap()
                .with_protocol_options(options);
            let (ch, mut rx, _resp, _task) = client(&factory).await;

            // Whole frames.
            ch.begin_message(false, false).await.unwrap();
            ch.send_message_frame("Hello, ").await.unwrap();
            ch.send_message_frame("").await.unwrap();
            ch.send_message_frame("streaming ").await.unwrap();
            ch.send_message_frame("world").await.unwrap();
            ch.end_message().await.unwrap();
            let (p, b) = rx.message().await;
            assert!(!b);
            assert_eq!(
                p,
                Bytes::from("Hello, streaming world"),
                "deflate={deflate}"
            );

            // Frames whose payload is given in pieces. Their length is fixed upfront, so
            // on a deflate connection this needs an uncompressed message.
            if deflate {
                ch.begin_message(true, false).await.unwrap();
                assert!(matches!(
                    ch.begin_message_frame(10).await,
                    Err(Error::Send(
                        autobahn::websocket::protocol::SendError::CompressedFrameStreaming
                    ))
                ));
                ch.end_message().await.unwrap();
                assert_eq!(rx.message().await, (Bytes::new(), true));
            }
            let data = noise(300_000, 9);
            ch.begin_message(true, deflate).await.unwrap();
            for part in data.chunks(100_000) {
                ch.begin_message_frame(part.len() as u64).await.unwrap();
                let mut left = part.len() as u64;
                for piece in part.chunks(7_000) {
                    let rest = ch.send_message_frame_data(piece).await.unwrap();
                    left -= piece.len() as u64;
                    assert_eq!(rest, left);
                }
            }
            ch.end_message().await.unwrap();
            let (p, b) = rx.message().await;
            assert!(b);
            assert!(p == data, "deflate={deflate}");

            // An uncompressed message on a deflate connection.
            ch.begin_message(false, true).await.unwrap();
            ch.send_message_frame("plain").await.unwrap();
            ch.end_message().await.unwrap();
            assert_eq!(rx.message().await.0, Bytes::from("plain"));

            // Sending a whole message in the middle of a streamed one is refused.
            ch.begin_message(false, false).await.unwrap();
            assert!(ch.send_text("interleaved").await.is_err());
            ch.end_message().await.unwrap();
            assert_eq!(rx.message().await.0, Bytes::new());
            // The connection still works.
            ch.send_text("after").await.unwrap();
            assert_eq!(rx.message().await.0, Bytes::from("after"));
        }
    })
    .await;
}

#[tokio::test]
async fn slow_handler_still_answers_pings_and_other_connections_are_served() {
    bounded(async {
        let (gate_tx, gate_rx) = mpsc::unbounded_channel::<()>();
        let gate = Arc::new(Mutex::new(gate_rx));
        let (tx, mut sev) = events();
        let server = start_server(WebSocketServerFactory::new("ws://127.0.0.1"), move |ch| {
            let mut r = Recorder::echo(ch, tx.clone());
            r.gate = Some(gate.clone());
            r
        })
        .await;
        let factory = WebSocketClientFactory::new(&server.url("/")).unwrap();
        let (ch, mut rx, _resp, _task) = client(&factory).await;
        ch.send_text("block").await.unwrap();
        sev.until(|e| matches!(e, Ev::Blocked).then_some(())).await;

        // The server's handler is stuck in on_message; its connection still answers pings.
        ch.send_ping("are you there").await.unwrap();
        let pong = rx
            .until(|e| match e {
                Ev::Pong(p) => Some(p),
                Ev::Message(..) => panic!("echo arrived before the handler was released"),
                _ => None,
            })
            .await;
        assert_eq!(pong, Bytes::from("are you there"));
        // Messages sent meanwhile are queued, not lost.
        ch.send_text("queued").await.unwrap();

        // Another connection is served meanwhile.
        let (ch2, mut rx2, _r, _t) = client(&factory).await;
        ch2.send_text("other").await.unwrap();
        assert_eq!(rx2.message().await.0, Bytes::from("other"));

        // Release the handler: the blocked echo and the queued message follow, in order.
        gate_tx.send(()).unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("block"));
        assert_eq!(rx.message().await.0, Bytes::from("queued"));
    })
    .await;
}

#[tokio::test]
async fn client_can_send_as_soon_as_connect_returns() {
    bounded(async {
        let (server, _sev) = start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let factory = WebSocketClientFactory::new(&server.url("/")).unwrap();
        let (tx, mut rx) = events();
        let conn = factory.connect(|ch| Recorder::new(ch, tx)).await.unwrap();
        // The opening handshake is done: sending must not depend on whether the
        // connection's task has been scheduled yet.
        let ch = conn.channel().clone();
        assert!(ch.is_open());
        ch.send_text("before run").await.unwrap();
        let _task = conn.spawn();
        ch.send_text("right after spawn").await.unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("before run"));
        assert_eq!(rx.message().await.0, Bytes::from("right after spawn"));
    })
    .await;
}

#[tokio::test]
async fn sends_fail_once_an_unrun_connection_is_dropped() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let factory = WebSocketClientFactory::new(&server.url("/")).unwrap();
        let (tx, _rx) = events();
        let conn = factory.connect(|ch| Recorder::new(ch, tx)).await.unwrap();
        let ch = conn.channel().clone();
        drop(conn);
        assert!(!ch.is_open());
        assert!(matches!(
            ch.send_text("nobody runs this").await,
            Err(Error::ConnectionClosed)
        ));
        // The server sees the TCP connection go away.
        let (clean, code, _) = sev.close().await;
        assert!(!clean);
        assert_eq!(code, Some(1006));
    })
    .await;
}

/// A peer that does not read makes senders wait (bounded memory) instead of queueing
/// without limit; once it reads, the waiting send completes. The paused clock turns
/// "still pending after a virtual second of idleness" into a deterministic check; the
/// peer is in memory, so idleness means blocked, not bytes still in the kernel.
#[tokio::test(start_paused = true)]
async fn senders_wait_while_the_peer_does_not_read() {
    bounded(async {
        let options = ClientOptions {
            per_message_compression_offers: Vec::new(),
            ..Default::default()
        };
        let factory = WebSocketClientFactory::new("ws://127.0.0.1/")
            .unwrap()
            .with_protocol_options(options);
        let (conn, _rx, server_side) = connect_to_raw_server(&factory).await;
        let ch = conn.channel().clone();
        let _task = conn.spawn();
        let chunk = Bytes::from(vec![0u8; 256 * 1024]);
        // The queue's megabyte, the chunk that crossed it, the one being written and
        // the in-memory buffer (1.5 MiB today) stay under twice the queue's megabyte.
        const MOST_BUFFERED: usize = 2 << 20;
        let mut sent = 0usize;
        let blocked = loop {
            let send = ch.send_message(chunk.clone(), true);
            let mut send = Box::pin(send);
            match tokio::time::timeout(std::time::Duration::from_secs(1), &mut send).await {
                Ok(r) => {
                    r.unwrap();
                    sent += chunk.len();
                    assert!(
                        sent <= MOST_BUFFERED,
                        "sent {sent} bytes to a peer that reads nothing"
                    );
                }
                Err(_) => break send,
            }
        };
        // Our queue holds about a megabyte before senders wait.
        assert!(sent >= 1 << 20, "blocked early, after {sent} bytes");
        // Now the peer reads: the blocked send completes.
        let reader = tokio::spawn(async move {
            let mut peer = FrameReader::new(server_side, Vec::new());
            let mut n = 0usize;
            while n <= sent {
                let f = peer.next().await.expect("a frame");
                n += f.payload.len();
            }
            n
        });
        blocked.await.unwrap();
        assert!(reader.await.unwrap() > sent);
    })
    .await;
}

/// Every accepted connection is one task holding `accept_tcp`'s future for its whole
/// life, so that future's size is idle memory per connection (3,048 B on 2026-12-07; an
/// 8 KiB buffer held across an `.await` once tripled it unnoticed).
#[tokio::test]
async fn connection_task_future_stays_small() {
    let factory = WebSocketServerFactory::new("ws://127.0.0.1");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let addr = tcp.local_addr().unwrap();
    let (tx, _rx) = events();
    let task = factory.accept_tcp(tcp, addr, move |ch| Recorder::echo(ch, tx));
    let size = std::mem::size_of_val(&task);
    assert!(
        size <= 4096,
        "a connection task's future takes {size} bytes"
    );
}
