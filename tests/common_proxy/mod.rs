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

/// A plain TCP relay on a loopback port to `target`, whose links can be made to go
/// silent: [`Relay::freeze`] stops forwarding on every link open at the time, in both
/// directions, and leaves their sockets open (no FIN, no RST), as a dead NAT entry or a
/// vanished host would. Links accepted later forward normally. Stops when dropped.
pub struct Relay {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The number of each link it accepted (0, 1, ...), as it accepts it.
    pub accepted: mpsc::UnboundedReceiver<u64>,
    /// Links numbered below this value are frozen.
    frozen_below: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    next_link: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    /// Starts relaying 127.0.0.1:<some port> to `target`.
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, accepted) = mpsc::unbounded_channel();
        let frozen_below = std::sync::Arc::new(tokio::sync::watch::Sender::new(0u64));
        let next_link = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (frozen, next) = (frozen_below.clone(), next_link.clone());
        let task = tokio::spawn(async move {
            // Links live as long as the relay: aborting this task drops them.
            let mut links = tokio::task::JoinSet::new();
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(upstream) = TcpStream::connect(target).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let id = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = tx.send(id);
                let (cr, cw) = client.into_split();
                let (ur, uw) = upstream.into_split();
                links.spawn(forward(cr, uw, id, frozen.subscribe()));
                links.spawn(forward(ur, cw, id, frozen.subscribe()));
            }
        });
        Relay {
            addr,
            accepted,
            frozen_below,
            next_link,
            task,
        }
    }

    /// Silences every link open now; later links are not affected.
    pub fn freeze(&self) {
        let now = self.next_link.load(std::sync::atomic::Ordering::SeqCst);
        self.frozen_below.send_replace(now);
    }
}

/// Copies `from` to `to` until either ends or link `id` is frozen; a frozen link keeps
/// both sockets open, unread and unwritten, until the relay stops.
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    id: u64,
    mut frozen_below: tokio::sync::watch::Receiver<u64>,
) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 16 * 1024];
    let silenced = async move {
        let _ = frozen_below.wait_for(|below| id < *below).await;
    };
    tokio::pin!(silenced);
    loop {
        let n = tokio::select! {
            () = &mut silenced => break,
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
        };
        tokio::select! {
            () = &mut silenced => break,
            r = to.write_all(&buf[..n]) => if r.is_err() { return },
        }
    }
    // Frozen: hold both halves open until the relay is dropped.
    std::future::pending::<()>().await;
    drop((from, to));
}
