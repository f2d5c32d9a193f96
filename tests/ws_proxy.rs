//! Through an HTTP CONNECT proxy written here: a tunnel that splices both ways, and a
//! proxy that refuses.

mod common;

use std::net::SocketAddr;

use autobahn::websocket::{Error, Proxy, WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A minimal CONNECT proxy on a loopback port. Each CONNECT target is reported on the
/// returned receiver. With `refuse`, it answers `403 Forbidden` instead of tunnelling.
async fn start_proxy(
    refuse: bool,
) -> (
    SocketAddr,
    mpsc::UnboundedReceiver<String>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (head, rest) = read_http_head(&mut client).await;
                let mut words = head.split_whitespace();
                let (method, target) = (
                    words.next().unwrap_or(""),
                    words.next().unwrap_or("").to_string(),
                );
                let _ = tx.send(head.clone());
                if refuse || method != "CONNECT" {
                    let _ = client
                        .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                        .await;
                    return;
                }
                let Ok(mut upstream) = TcpStream::connect(target.as_str()).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                // A client must not send before the 200, but forward anything that came.
                upstream.write_all(&rest).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, rx, task)
}

#[tokio::test]
async fn echo_through_connect_proxy() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let (proxy_addr, mut seen, proxy) = start_proxy(false).await;
        let mut proxy_cfg = Proxy::new("127.0.0.1", proxy_addr.port());
        proxy_cfg
            .headers
            .append("Proxy-Authorization", "Basic dGVzdDp0ZXN0");
        let factory = WebSocketClientFactory::new(&server.url("/via-proxy"))
            .unwrap()
            .proxy(proxy_cfg);
        let (tx, mut rx) = events();
        let conn = factory
            .connect(|ch| Recorder::new(ch, tx))
            .await
            .expect("connect via proxy");
        let task = conn.spawn();
        let ch = rx.open().await;

        let head = seen.recv().await.unwrap();
        let target = server.addr.to_string();
        assert!(
            head.starts_with(&format!("CONNECT {target} HTTP/1.1\r\n")),
            "{head}"
        );
        assert_eq!(header_of(&head, "host"), Some(target.as_str()));
        assert_eq!(
            header_of(&head, "proxy-authorization"),
            Some("Basic dGVzdDp0ZXN0")
        );
        assert_eq!(sev.request().await.path, "/via-proxy");

        ch.send_text("through the tunnel").await.unwrap();
        assert_eq!(rx.message().await.0, Bytes::from("through the tunnel"));
        let big = noise(1 << 20, 11);
        ch.send_message(big.clone(), true).await.unwrap();
        assert!(rx.message().await.0 == big);
        ch.send_close(Some(1000), None).await.unwrap();
        assert!(rx.close().await.0);
        assert!(task.await.unwrap().1.was_clean);
        proxy.abort();
    })
    .await;
}

#[tokio::test]
async fn refusing_proxy_gives_proxy_error() {
    bounded(async {
        let (server, mut sev) =
            start_echo_server(WebSocketServerFactory::new("ws://127.0.0.1")).await;
        let (proxy_addr, mut seen, proxy) = start_proxy(true).await;
        let factory = WebSocketClientFactory::new(&server.url("/"))
            .unwrap()
            .proxy(Proxy::new("127.0.0.1", proxy_addr.port()));
        let (tx, _rx) = events();
        match factory.connect(|ch| Recorder::new(ch, tx)).await {
            Err(Error::Proxy { proxy, source }) => {
                assert_eq!(proxy, format!("127.0.0.1:{}", proxy_addr.port()));
                assert!(source.to_string().contains("403"), "{source}");
            }
            Err(e) => panic!("expected a proxy error, got {e}"),
            Ok(_) => panic!("connected through a refusing proxy"),
        }
        assert!(seen.recv().await.unwrap().starts_with("CONNECT "));
        // The WebSocket server never saw the client.
        assert!(sev.is_empty());
        proxy.abort();
    })
    .await;
}

#[tokio::test]
async fn proxy_that_hangs_up_gives_proxy_error() {
    bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hangup = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = read_http_head(&mut s).await;
            // Dropped: EOF without an answer.
        });
        let factory = WebSocketClientFactory::new("ws://127.0.0.1:9/")
            .unwrap()
            .proxy(Proxy::new("127.0.0.1", addr.port()));
        let (tx, _rx) = events();
        assert!(matches!(
            factory.connect(|ch| Recorder::new(ch, tx)).await,
            Err(Error::Proxy { .. })
        ));
        hangup.await.unwrap();
    })
    .await;
}
