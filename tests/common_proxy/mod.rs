//! A minimal HTTP CONNECT proxy on a loopback port, for tests: it tunnels, refuses, or
//! demands credentials. Include with `#[path = "common_proxy/mod.rs"] mod test_proxy;`
//! next to `mod common;`.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::net::SocketAddr;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::common::{header_of, read_http_head};

/// What the proxy does with a `CONNECT`.
#[derive(Debug, Clone, Copy)]
pub enum ProxyMode {
    /// Tunnels to the target.
    Tunnel,
    /// Answers `403 Forbidden`.
    Refuse,
    /// Tunnels only with this exact `Proxy-Authorization` value; answers `407` without it.
    RequireAuth(&'static str),
}

/// A running proxy; stops when dropped.
pub struct TestProxy {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Each request head it received, in order.
    pub seen: mpsc::UnboundedReceiver<String>,
    task: JoinHandle<()>,
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestProxy {
    /// Starts a proxy on 127.0.0.1 behaving as `mode`.
    pub async fn start(mode: ProxyMode) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, seen) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(serve(client, mode, tx.clone()));
            }
        });
        TestProxy { addr, seen, task }
    }

    /// The autobahn proxy configuration reaching it.
    pub fn config(&self) -> autobahn::websocket::Proxy {
        autobahn::websocket::Proxy::new("127.0.0.1", self.addr.port())
    }
}

async fn serve(mut client: TcpStream, mode: ProxyMode, seen: mpsc::UnboundedSender<String>) {
    let (head, rest) = read_http_head(&mut client).await;
    let mut words = head.split_whitespace();
    let (method, target) = (
        words.next().unwrap_or("").to_owned(),
        words.next().unwrap_or("").to_owned(),
    );
    let authorization = header_of(&head, "proxy-authorization").map(str::to_owned);
    let _ = seen.send(head);
    let refusal: Option<&[u8]> = match mode {
        _ if method != "CONNECT" => {
            Some(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        }
        ProxyMode::Refuse => Some(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
        ProxyMode::RequireAuth(expected) if authorization.as_deref() != Some(expected) => Some(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
        ),
        ProxyMode::Tunnel | ProxyMode::RequireAuth(_) => None,
    };
    if let Some(answer) = refusal {
        let _ = client.write_all(answer).await;
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(target.as_str()).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    // A client must not send before the 200, but forward anything that came.
    if upstream.write_all(&rest).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
