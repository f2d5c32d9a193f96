//! Shared helpers for the WebSocket integration tests: a recording/echoing handler,
//! server start-up on a loopback port or over an in-memory stream, a raw (hand-rolled)
//! WebSocket peer for protocol-level tests, and a time bound for every test.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use autobahn::websocket::handshake::accept_key;
use autobahn::websocket::handshake::client::ClientHandshake;
use autobahn::websocket::types::{
    ConnectionAccept, ConnectionDeny, ConnectionRequest, ConnectionResponse,
};
use autobahn::websocket::{
    CloseInfo, WebSocketChannel, WebSocketClientFactory, WebSocketClientHandler,
    WebSocketConnection, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;

/// Upper bound for any single test (in the runtime's clock: virtual for paused tests).
///
/// A paused clock jumps ahead whenever every task waits, including while the kernel
/// has not yet delivered bytes on a real socket; so paused-clock tests use only
/// in-memory streams ([`in_memory_pair`]), where "every task waits" means "blocked".
pub const TEST_BOUND: Duration = Duration::from_secs(60);
/// Upper bound for waiting on one event.
pub const EVENT_BOUND: Duration = Duration::from_secs(30);

/// Runs `fut`, failing the test if it does not finish within [`TEST_BOUND`].
pub async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(TEST_BOUND, fut).await {
        Ok(v) => v,
        Err(_) => panic!("test did not finish within {TEST_BOUND:?}"),
    }
}

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Something that happened on one side of a connection.
#[derive(Debug, Clone)]
pub enum Ev {
    /// Server: a connection request reached `on_connect`.
    Request(Box<ConnectionRequest>),
    /// Client: the server's response reached `on_connect`.
    Response(Box<ConnectionResponse>),
    /// `on_open`, with the side's channel.
    Open(WebSocketChannel),
    /// `on_message`.
    Message(Bytes, bool),
    /// `on_ping`.
    Ping(Bytes),
    /// `on_pong`.
    Pong(Bytes),
    /// `on_close`.
    Close {
        was_clean: bool,
        code: Option<u16>,
        reason: Option<String>,
    },
    /// A slow handler entered its blocking wait.
    Blocked,
}

/// Decides on a connection request (server side).
pub type Decide =
    Arc<dyn Fn(&ConnectionRequest) -> Result<ConnectionAccept, ConnectionDeny> + Send + Sync>;

/// A handler for both sides: reports every hook on `events`; servers echo messages
/// when `echo` is set; a message `"close:<code>"` makes it start the closing handshake;
/// a message `"block"` makes it wait for the next gate opener.
pub struct Recorder {
    pub channel: WebSocketChannel,
    pub events: mpsc::UnboundedSender<Ev>,
    pub echo: bool,
    pub decide: Option<Decide>,
    pub gate: Option<Arc<Mutex<mpsc::UnboundedReceiver<()>>>>,
}

impl Recorder {
    /// A recorder that does not echo.
    pub fn new(channel: WebSocketChannel, events: mpsc::UnboundedSender<Ev>) -> Self {
        Self {
            channel,
            events,
            echo: false,
            decide: None,
            gate: None,
        }
    }

    /// An echoing recorder.
    pub fn echo(channel: WebSocketChannel, events: mpsc::UnboundedSender<Ev>) -> Self {
        Self {
            echo: true,
            ..Self::new(channel, events)
        }
    }
}

impl WebSocketHandler for Recorder {
    async fn on_open(&mut self) {
        let _ = self.events.send(Ev::Open(self.channel.clone()));
    }

    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.events.send(Ev::Message(payload.clone(), is_binary));
        if !is_binary {
            if let Some(code) = payload.strip_prefix(b"close:") {
                let code = std::str::from_utf8(code).ok().and_then(|c| c.parse().ok());
                self.channel
                    .send_close(code, Some("server says bye"))
                    .await
                    .expect("send_close");
                return;
            }
            if &payload[..] == b"block" {
                if let Some(gate) = &self.gate {
                    let _ = self.events.send(Ev::Blocked);
                    let _ = gate.lock().await.recv().await;
                }
            }
        }
        if self.echo {
            // The peer may be gone by now (closing tests); that is not this handler's error.
            let _ = self.channel.send_message(payload, is_binary).await;
        }
    }

    async fn on_ping(&mut self, payload: Bytes) {
        let _ = self.events.send(Ev::Ping(payload));
    }

    async fn on_pong(&mut self, payload: Bytes) {
        let _ = self.events.send(Ev::Pong(payload));
    }

    async fn on_close(&mut self, was_clean: bool, code: Option<u16>, reason: Option<String>) {
        let _ = self.events.send(Ev::Close {
            was_clean,
            code,
            reason,
        });
    }
}

impl WebSocketServerHandler for Recorder {
    async fn on_connect(
        &mut self,
        request: &ConnectionRequest,
    ) -> Result<ConnectionAccept, ConnectionDeny> {
        let _ = self.events.send(Ev::Request(Box::new(request.clone())));
        match &self.decide {
            Some(d) => d(request),
            None => Ok(ConnectionAccept::default()),
        }
    }
}

impl WebSocketClientHandler for Recorder {
    async fn on_connect(&mut self, response: &ConnectionResponse) {
        let _ = self.events.send(Ev::Response(Box::new(response.clone())));
    }
}

/// The receiving end of a [`Recorder`]'s events.
pub struct Events {
    pub rx: mpsc::UnboundedReceiver<Ev>,
}

/// A fresh event channel.
pub fn events() -> (mpsc::UnboundedSender<Ev>, Events) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Events { rx })
}

impl Events {
    /// The next event (fails the test after [`EVENT_BOUND`] or if all senders are gone).
    pub async fn next(&mut self) -> Ev {
        match tokio::time::timeout(EVENT_BOUND, self.rx.recv()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => panic!("event channel closed"),
            Err(_) => panic!("no event within {EVENT_BOUND:?}"),
        }
    }

    /// Skips events until `f` picks one.
    pub async fn until<T>(&mut self, mut f: impl FnMut(Ev) -> Option<T>) -> T {
        loop {
            if let Some(t) = f(self.next().await) {
                return t;
            }
        }
    }

    /// Waits for `on_open`; returns the channel.
    pub async fn open(&mut self) -> WebSocketChannel {
        self.until(|e| match e {
            Ev::Open(ch) => Some(ch),
            _ => None,
        })
        .await
    }

    /// Waits for the next message.
    pub async fn message(&mut self) -> (Bytes, bool) {
        self.until(|e| match e {
            Ev::Message(p, b) => Some((p, b)),
            _ => None,
        })
        .await
    }

    /// Waits for `on_close`.
    pub async fn close(&mut self) -> (bool, Option<u16>, Option<String>) {
        self.until(|e| match e {
            Ev::Close {
                was_clean,
                code,
                reason,
            } => Some((was_clean, code, reason)),
            _ => None,
        })
        .await
    }

    /// Waits for a connection request (server side).
    pub async fn request(&mut self) -> ConnectionRequest {
        self.until(|e| match e {
            Ev::Request(r) => Some(*r),
            _ => None,
        })
        .await
    }

    /// True if no event is queued right now (consumes one if there is).
    pub fn is_empty(&mut self) -> bool {
        self.rx.try_recv().is_err()
    }
}

/// A server running on a loopback port; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// `ws://127.0.0.1:<port>/` plus `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }
}

/// Starts `factory` on 127.0.0.1:0 with handlers from `make`.
pub async fn start_server<H, F>(factory: WebSocketServerFactory, make: F) -> TestServer
where
    H: WebSocketServerHandler,
    F: Fn(WebSocketChannel) -> H + Send + Sync + 'static,
{
    let listener = factory.listen("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = factory.serve(listener, make).await;
    });
    TestServer { addr, task }
}

/// Starts an echoing [`Recorder`] server; returns it and its events.
pub async fn start_echo_server(factory: WebSocketServerFactory) -> (TestServer, Events) {
    let (tx, rx) = events();
    let server = start_server(factory, move |ch| Recorder::echo(ch, tx.clone())).await;
    (server, rx)
}

/// Bytes an in-memory stream buffers in each direction before a writer waits (the
/// stand-in for kernel socket buffers).
pub const IN_MEMORY_BUFFER: usize = 64 * 1024;

/// The address in `Host` of requests sent over an in-memory stream (nothing listens).
pub const IN_MEMORY_ADDR: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::LOCALHOST,
    80,
));

/// Two connected in-memory stream ends (no sockets: safe under a paused clock).
pub fn in_memory_pair() -> (DuplexStream, DuplexStream) {
    tokio::io::duplex(IN_MEMORY_BUFFER)
}

/// Runs one connection of `factory` over an in-memory stream with an echoing
/// [`Recorder`]; returns the peer's end of the stream, the server's events and the
/// connection task (its result is what `accept_stream` returned).
pub fn serve_in_memory(
    factory: WebSocketServerFactory,
) -> (
    DuplexStream,
    Events,
    JoinHandle<Result<CloseInfo, autobahn::websocket::Error>>,
) {
    let (tx, rx) = events();
    let (peer, server_end) = in_memory_pair();
    let task = tokio::spawn(async move {
        factory
            .accept_stream(server_end, "memory".into(), move |ch| {
                Recorder::echo(ch, tx)
            })
            .await
    });
    (peer, rx, task)
}

/// Connects a recording client of `factory` over an in-memory stream to a raw server
/// that answers the opening handshake and nothing else; returns the connection (not
/// yet running), the client's events and the raw server's end.
pub async fn connect_to_raw_server(
    factory: &WebSocketClientFactory,
) -> (
    WebSocketConnection<DuplexStream, Recorder>,
    Events,
    DuplexStream,
) {
    let (tx, rx) = events();
    let (client_end, server_end) = in_memory_pair();
    let (conn, server_end) = tokio::join!(
        factory.connect_stream(client_end, |ch| Recorder::new(ch, tx)),
        raw_answer(server_end)
    );
    (conn.expect("opening handshake"), rx, server_end)
}

// ---------------------------------------------------------------------------------
// A raw peer: hand-written frames, for protocol-level tests.
// ---------------------------------------------------------------------------------

/// Reads an HTTP head (up to the blank line) from `s`; returns (status line + headers,
/// bytes read past the head). Fails on EOF before the end of the head.
pub async fn read_http_head<S: AsyncRead + Unpin>(s: &mut S) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
            return (head, buf[end + 4..].to_vec());
        }
        let n = s.read(&mut chunk).await.expect("read HTTP head");
        assert!(
            n > 0,
            "EOF before end of HTTP head; got {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The status code of an HTTP head.
pub fn status_of(head: &str) -> u16 {
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

/// The value of header `name` in an HTTP head.
pub fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Sends raw bytes to `addr` and reads everything until EOF.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// A client handshake request for `addr` (no extensions offered, so frames are plain).
pub fn raw_request(addr: SocketAddr) -> (Vec<u8>, String) {
    let hs = ClientHandshake::new(addr.ip().to_string(), addr.port(), false);
    hs.build_request().expect("build request")
}

/// Connects to `addr` and completes the opening handshake by hand; returns the stream
/// and any bytes that came after the response head.
pub async fn raw_connect(addr: SocketAddr) -> (TcpStream, Vec<u8>) {
    let s = TcpStream::connect(addr).await.expect("connect");
    raw_open(s, addr).await
}

/// Completes the opening handshake by hand over `s`, with `addr` in the request's
/// `Host`; returns the stream and any bytes that came after the response head.
pub async fn raw_open<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    addr: SocketAddr,
) -> (S, Vec<u8>) {
    let (req, key) = raw_request(addr);
    s.write_all(&req).await.expect("write request");
    let (head, rest) = read_http_head(&mut s).await;
    assert_eq!(status_of(&head), 101, "{head}");
    assert_eq!(
        header_of(&head, "sec-websocket-accept"),
        Some(accept_key(&key).as_str())
    );
    (s, rest)
}

/// Accepts one raw connection on `listener` and answers its opening handshake by hand
/// (a server that does nothing else unless the test makes it).
pub async fn raw_accept(listener: &tokio::net::TcpListener) -> TcpStream {
    let (s, _) = listener.accept().await.expect("accept");
    raw_answer(s).await
}

/// Answers the opening handshake arriving on `s` by hand.
pub async fn raw_answer<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) -> S {
    let (head, rest) = read_http_head(&mut s).await;
    assert!(rest.is_empty());
    let key = header_of(&head, "sec-websocket-key").expect("key");
    let resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    s.write_all(resp.as_bytes()).await.expect("write response");
    s
}

/// Encodes one frame. `mask` is applied (and sent) when given.
pub fn frame(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A masked frame (what a client sends).
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(true, opcode, payload, Some([0x37, 0xfa, 0x21, 0x3d]))
}

/// A frame read from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// Close code and reason of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, 8, "not a close frame: {self:?}");
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// A reader of frames from a raw stream (a socket or an in-memory end), with what was
/// already read.
pub struct FrameReader<S = TcpStream> {
    pub stream: S,
    pub buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> FrameReader<S> {
    pub fn new(stream: S, leftover: Vec<u8>) -> Self {
        Self {
            stream,
            buf: leftover,
        }
    }

    async fn fill(&mut self, n: usize) -> bool {
        let mut chunk = vec![0u8; 64 * 1024];
        while self.buf.len() < n {
            let got = self.stream.read(&mut chunk).await.unwrap_or(0);
            if got == 0 {
                return false;
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
        true
    }

    /// The next frame, or `None` at EOF (or a reset) on a frame boundary.
    pub async fn next(&mut self) -> Option<RawFrame> {
        if !self.fill(2).await {
            assert!(self.buf.is_empty(), "EOF inside a frame header");
            return None;
        }
        let (b0, b1) = (self.buf[0], self.buf[1]);
        let masked = b1 & 0x80 != 0;
        let (len, mut at) = match b1 & 0x7f {
            126 => {
                assert!(self.fill(4).await);
                (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
            }
            127 => {
                assert!(self.fill(10).await);
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.buf[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (n as usize, 2),
        };
        let mut key = None;
        if masked {
            assert!(self.fill(at + 4).await);
            key = Some([
                self.buf[at],
                self.buf[at + 1],
                self.buf[at + 2],
                self.buf[at + 3],
            ]);
            at += 4;
        }
        assert!(self.fill(at + len).await, "EOF inside a frame payload");
        let mut payload: Vec<u8> = self.buf[at..at + len].to_vec();
        if let Some(k) = key {
            payload
                .iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b ^= k[i % 4]);
        }
        self.buf.drain(..at + len);
        Some(RawFrame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            opcode: b0 & 0x0f,
            payload,
        })
    }

    /// Writes raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("raw write");
    }

    /// Waits for EOF (or a reset), failing on any further data.
    pub async fn expect_eof(&mut self) {
        if let Some(f) = self.next().await {
            panic!("expected EOF, got frame {f:?}");
        }
    }
}

/// A oneshot pair, re-exported for brevity.
pub fn once<T>() -> (oneshot::Sender<T>, oneshot::Receiver<T>) {
    oneshot::channel()
}

/// Deterministic pseudo-random bytes.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// An error and all its sources, `": "`-separated, as an error reporter prints them.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// Waits until a flooding writer has sent `total` (its count in `sent`) or made no
/// progress for a second, i.e. the reader's backpressure stopped it; returns the count.
/// (Polling a counter: "the peer stopped reading" is the absence of an event.)
pub async fn until_stalled(sent: &std::sync::atomic::AtomicUsize, total: usize) -> usize {
    let (mut last, mut quiet) = (usize::MAX, 0);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = sent.load(std::sync::atomic::Ordering::Relaxed);
        if now >= total {
            return now;
        }
        if now == last {
            quiet += 1;
            if quiet == 10 {
                return now;
            }
        } else {
            (last, quiet) = (now, 0);
        }
    }
}
