//! WebSocket over a Unix domain socket (`serve_unix` / `connect_unix`).
#![cfg(unix)]

mod common;

use std::path::PathBuf;

use autobahn::websocket::{WebSocketClientFactory, WebSocketServerFactory};
use bytes::Bytes;
use common::*;
use tokio::net::UnixListener;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "autobahn-itest-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn unix_socket_echo_and_close() {
    bounded(async {
        let dir = TempDir::new("unix");
        let path = dir.0.join("ws.sock");
        let listener = UnixListener::bind(&path).expect("bind unix socket");
        let (tx, mut sev) = events();
        let factory = WebSocketServerFactory::new("ws://localhost");
        let server = tokio::spawn(async move {
            let _ = factory
                .serve_unix(listener, move |ch| Recorder::echo(ch, tx.clone()))
                .await;
        });

        let client = WebSocketClientFactory::new("ws://localhost/unix-path?x=1").unwrap();
        let (ctx, mut rx) = events();
        let conn = client
            .connect_unix(&path, |ch| Recorder::new(ch, ctx))
            .await
            .expect("connect_unix");
        let task = conn.spawn();
        let ch = rx.open().await;
        let req = sev.request().await;
        assert_eq!(req.path, "/unix-path");
        assert_eq!(
            req.params.get("x").map(Vec::as_slice),
            Some(&["1".to_string()][..])
        );
        assert!(req.peer.starts_with("unix"), "peer {:?}", req.peer);

        ch.send_text("over a unix socket").await.unwrap();
        assert_eq!(
            rx.message().await,
            (Bytes::from("over a unix socket"), false)
        );
        let big = noise(2 << 20, 5);
        ch.send_message(big.clone(), true).await.unwrap();
        assert!(rx.message().await.0 == big);

        ch.send_close(Some(1000), Some("done")).await.unwrap();
        let (clean, code, _) = rx.close().await;
        assert!(clean);
        assert_eq!(code, Some(1000));
        let (clean, code, reason) = sev.close().await;
        assert!(clean);
        assert_eq!(code, Some(1000));
        assert_eq!(reason.as_deref(), Some("done"));
        assert!(task.await.unwrap().1.was_clean);
        server.abort();
    })
    .await;
}
