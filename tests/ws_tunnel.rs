//! `ByteStream`: a byte stream over a WebSocket (the tunnel subprotocol), first over
//! in-memory pipes in both roles, then as a TCP tunnel through `wss://` on loopback (64 MiB
//! of random bytes echoed byte for byte, HTTP through hyper, half-close, a far end that
//! closes early), then the `tunnel` example's processes.
//!
//! The example test needs the example built: `cargo build --all-features --example tunnel`
//! (a plain `cargo test --all-features` builds it too).

mod common;

#[path = "ws_tunnel/example.rs"]
mod example;
#[path = "ws_tunnel/in_memory.rs"]
mod in_memory;
#[path = "ws_tunnel/wss.rs"]
mod wss;

use std::io;
use std::net::SocketAddr;

use autobahn::websocket::CloseInfo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

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

/// A TCP server on loopback (what a tunnel forwards to): each connection is served by
/// `serve` on a task of its own.
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
