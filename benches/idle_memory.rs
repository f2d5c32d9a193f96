//! Memory per idle WebSocket connection of our server.
//!
//! `cargo bench --bench idle_memory` (IDLE_CONNS=N to change the default of 10 000
//! connections; run as a test, e.g. by `cargo test --benches`, it opens 50).
//!
//! For each mode (no compression, with a handler and with the pull API; permessage-deflate
//! with context takeover; without context takeover in either direction; with the smallest
//! window and memLevel) the bench re-executes itself as an echo server in a child process,
//! samples the child, opens N connections from this process (raw TCP, a hand-built
//! handshake, one small message echoed, then idle), samples again, closes them, samples,
//! opens N again and samples.
//!
//! A sample is the child's `VmRSS` (from `/proc/<pid>/status`) and its live heap bytes,
//! counted by a global allocator wrapper in the child (asked over its stdin). RSS is what
//! the machine pays, heap is what our code holds: RSS includes allocator overhead and
//! pages the allocator keeps after frees; it does not include kernel socket buffers.
//!
//! Columns: per idle connection, RSS and heap growth over the baseline (taken after a
//! warm-up); heap left after closing every connection (should be ~0: else a leak); RSS
//! after closing, and with N new connections (reuse of freed memory); time to open N.
//! All connections come from 127.0.0.1 to one port, so 2·N must fit in the ephemeral port
//! range (closed sockets linger in TIME_WAIT). Linux only (it reads `/proc`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use autobahn::websocket::deflate::{
    PerMessageDeflate, PerMessageDeflateOffer, PerMessageDeflateOfferAccept,
    PerMessageDeflateParams,
};
use autobahn::websocket::options::ServerOptions;
use autobahn::websocket::{
    WebSocketChannel, WebSocketHandler, WebSocketServerFactory, WebSocketServerHandler,
};
use bytes::Bytes;

/// The argument that makes this binary the server child.
#[path = "support/os.rs"]
mod os;
use os::raise_nofile_limit;

const SERVER_ARG: &str = "__idle_memory_server";
/// Default number of connections for a bench run.
const DEFAULT_CONNS: usize = 10_000;
/// Default number of connections when run as a test (no `--bench` argument).
const TEST_CONNS: usize = 50;
/// Connections opened and closed before the baseline, so one-time allocations (runtime
/// threads, first-use buffers) are in it.
const WARMUP_CONNS: usize = 32;
/// Open files the server child has with no client connected (stdio, listener, epoll,
/// runtime) are far fewer than this.
const FDS_AT_REST: usize = 64;
/// How long connections stay idle before they are measured: past the 1–2 s after which the
/// server parks a compressed connection's zlib state.
const IDLE_PARK_WAIT: Duration = Duration::from_secs(3);
/// Limit for each socket operation.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The message every connection sends: "Hello".
const HELLO: &[u8] = b"Hello";
/// "Hello" compressed as in RFC 7692 §7.2.3.1 (tail `00 00 ff ff` removed).
const HELLO_DEFLATED: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// The sample key of RFC 6455 §1.3 and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only a counter is updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No extension.
    Plain,
    /// No extension, the pull API: `start_websocket` and a `recv`/`send` loop per
    /// connection instead of a handler.
    PlainPull,
    /// permessage-deflate as our server accepts the usual offer: context takeover both ways.
    Deflate,
    /// permessage-deflate with server_ and client_no_context_takeover.
    DeflateNoContextTakeover,
    /// permessage-deflate with the smallest tuning: our window 9 bits (8 is run as 9),
    /// mem_level 1, the client's window limited to 9 bits.
    DeflateSmall,
}

impl Mode {
    const ALL: [Mode; 5] = [
        Mode::Plain,
        Mode::PlainPull,
        Mode::Deflate,
        Mode::DeflateNoContextTakeover,
        Mode::DeflateSmall,
    ];

    fn name(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::PlainPull => "plain-pull",
            Mode::Deflate => "deflate",
            Mode::DeflateNoContextTakeover => "deflate-no-context-takeover",
            Mode::DeflateSmall => "deflate-window9-memlevel1",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    fn deflate(self) -> bool {
        !matches!(self, Mode::Plain | Mode::PlainPull)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(SERVER_ARG) {
        let mode = args
            .get(2)
            .and_then(|m| Mode::from_name(m))
            .expect("server mode");
        server_child(mode);
        return;
    }
    let bench = args.iter().any(|a| a == "--bench");
    let n = match std::env::var("IDLE_CONNS") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("IDLE_CONNS={v:?} is not a number")),
        Err(_) if bench => DEFAULT_CONNS,
        Err(_) => TEST_CONNS,
    };
    let limit = raise_nofile_limit();
    // This process holds N sockets, the child N more, plus a few files each.
    let needed = (n + WARMUP_CONNS + 64) as u64;
    assert!(
        limit >= needed,
        "{n} connections need about {needed} open files per process, but RLIMIT_NOFILE's hard \
         limit is {limit}; raise it (ulimit -Hn) or lower IDLE_CONNS"
    );

    if let Ok(range) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") {
        let mut it = range
            .split_whitespace()
            .filter_map(|p| p.parse::<usize>().ok());
        if let (Some(lo), Some(hi)) = (it.next(), it.next()) {
            let ports = hi.saturating_sub(lo) + 1;
            assert!(
                2 * (n + WARMUP_CONNS) <= ports,
                "{n} connections twice (with TIME_WAIT) need {} ephemeral ports, {ports} are \
                 configured; lower IDLE_CONNS",
                2 * (n + WARMUP_CONNS)
            );
        }
    }
    println!("idle_memory: {n} idle connections per mode (RLIMIT_NOFILE {limit})");
    println!(
        "{:<28} {:>9} {:>9} {:>10} {:>10} {:>10} {:>8}",
        "mode", "RSS KiB/c", "heap B/c", "heap left", "closed RSS", "again RSS", "setup s"
    );
    for mode in Mode::ALL {
        let r = measure(mode, n);
        let per = |a: usize, b: usize| (a as f64 - b as f64) / n as f64;
        println!(
            "{:<28} {:>9.2} {:>9.0} {:>10} {:>10} {:>10} {:>8.2}",
            mode.name(),
            per(r.idle.rss_kib, r.base.rss_kib),
            per(r.idle.heap, r.base.heap),
            r.closed.heap as i64 - r.base.heap as i64,
            r.closed.rss_kib,
            r.again.rss_kib,
            r.setup.as_secs_f64()
        );
    }
}

// ---------------------------------------------------------------------------------------
// The server child

/// Echo handler.
struct Echo {
    channel: WebSocketChannel,
    _live: Live,
}

/// Connections whose handler exists (the connection task has not ended).
static LIVE_CONNS: AtomicUsize = AtomicUsize::new(0);

/// Counts one connection in [`LIVE_CONNS`] while it lives.
struct Live;

impl Live {
    fn new() -> Self {
        LIVE_CONNS.fetch_add(1, Ordering::SeqCst);
        Live
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        LIVE_CONNS.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WebSocketHandler for Echo {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

impl WebSocketServerHandler for Echo {}

/// Serves echo on 127.0.0.1 (free port, printed as `PORT <n>`); answers each line on
/// stdin with `HEAP <live heap bytes> <live connections>`; exits when stdin closes.
fn server_child(mode: Mode) {
    let mut options = ServerOptions::default();
    options.per_message_compression_accept = match mode {
        Mode::Plain | Mode::PlainPull => None,
        Mode::Deflate => options.per_message_compression_accept,
        Mode::DeflateNoContextTakeover => Some(std::sync::Arc::new(
            |offers: &[PerMessageDeflateOffer]| {
                let offer = *offers.first()?;
                PerMessageDeflateOfferAccept::with_params(offer, true, 0, Some(true), None, None)
                    .ok()
            },
        )),
        Mode::DeflateSmall => Some(std::sync::Arc::new(
            |offers: &[PerMessageDeflateOffer]| {
                let offer = *offers.first()?;
                PerMessageDeflateOfferAccept::with_params(offer, false, 9, None, Some(9), Some(1))
                    .ok()
            },
        )),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let factory = WebSocketServerFactory::new("ws://127.0.0.1").with_protocol_options(options);
        let listener = factory
            .listen("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        println!("PORT {port}");
        std::io::stdout().flush().expect("stdout");
        if mode == Mode::PlainPull {
            // The server runs on its own task; the handle is not needed.
            let _server = factory.start_websocket(listener, |mut ws| async move {
                let _live = Live::new();
                while let Some(message) = ws.recv().await {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
        } else {
            tokio::spawn(factory.serve(listener, |channel| Echo {
                channel,
                _live: Live::new(),
            }));
        }
        // The parent asks over stdin, and closes it when done (or dies).
        let _ = tokio::task::spawn_blocking(|| {
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
                println!(
                    "HEAP {} {}",
                    LIVE_BYTES.load(Ordering::Relaxed),
                    LIVE_CONNS.load(Ordering::SeqCst)
                );
                let _ = std::io::stdout().flush();
            }
        })
        .await;
    });
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------
// The parent: clients and measurements

/// The server child's memory at one moment.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kib: usize,
    heap: usize,
    conns: usize,
}

struct Figures {
    base: Sample,
    idle: Sample,
    closed: Sample,
    again: Sample,
    setup: Duration,
}

/// The server child; killed if a measurement panics.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start(mode: Mode) -> (Self, u16) {
        let exe = std::env::current_exe().expect("current_exe");
        let mut child = Command::new(exe)
            .arg(SERVER_ARG)
            .arg(mode.name())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the server child");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut server = Self {
            child,
            stdin,
            stdout,
        };
        let line = server.line();
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("server child printed {line:?}, not `PORT <n>`"));
        (server, port)
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("reading from the server child");
        line.trim().to_string()
    }

    fn sample(&mut self) -> Sample {
        let stdin = self.stdin.as_mut().expect("server stdin");
        writeln!(stdin, "heap")
            .and_then(|()| stdin.flush())
            .expect("asking the server child");
        let line = self.line();
        let (heap, conns) = line
            .strip_prefix("HEAP ")
            .and_then(|h| h.split_once(' '))
            .and_then(|(h, c)| Some((h.parse().ok()?, c.parse().ok()?)))
            .unwrap_or_else(|| panic!("server child printed {line:?}, not `HEAP <n> <c>`"));
        Sample {
            rss_kib: vm_rss_kib(self.child.id()),
            heap,
            conns,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn measure(mode: Mode, n: usize) -> Figures {
    let (mut server, port) = Server::start(mode);
    let pid = server.child.id();

    let base = close_all(
        &mut server,
        (0..WARMUP_CONNS).map(|_| open(port, mode)).collect(),
    );

    let start = Instant::now();
    let conns: Vec<TcpStream> = (0..n).map(|_| open(port, mode)).collect();
    let setup = start.elapsed();
    // Every connection has echoed: the server holds all of them, idle. A compressed
    // connection parks its zlib state after one to two seconds without traffic: measure it
    // idle, not just opened.
    std::thread::sleep(IDLE_PARK_WAIT);
    let idle = server.sample();
    assert_eq!(idle.conns, n, "{}: live connections", mode.name());

    let closed = close_all(&mut server, conns);
    let fds = open_fds(pid);
    assert!(
        fds < FDS_AT_REST,
        "{}: the server still has {fds} open files after all {n} connections ended",
        mode.name()
    );

    let conns: Vec<TcpStream> = (0..n).map(|_| open(port, mode)).collect();
    let again = server.sample();
    close_all(&mut server, conns);
    Figures {
        base,
        idle,
        closed,
        again,
        setup,
    }
}

/// Closes the connections and waits until every connection task of the server child
/// has ended (fails after 10 s); returns the sample that saw it.
fn close_all(server: &mut Server, conns: Vec<TcpStream>) -> Sample {
    let n = conns.len();
    for s in &conns {
        let _ = s.shutdown(Shutdown::Both);
    }
    drop(conns);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let sample = server.sample();
        if sample.conns == 0 {
            return sample;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} connections still live 10 s after their clients closed",
            sample.conns
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Opens one connection: handshake, "Hello" echoed; returns the idle socket.
fn open(port: u16, mode: Mode) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server child");
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
    s.set_write_timeout(Some(IO_TIMEOUT))
        .expect("write timeout");
    s.set_nodelay(true).expect("nodelay");
    let ext = if mode.deflate() {
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    } else {
        ""
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
    );
    s.write_all(request.as_bytes()).expect("send handshake");
    let head = read_head(&mut s);
    assert!(
        head.starts_with("HTTP/1.1 101"),
        "handshake refused: {head}"
    );
    assert!(head.contains(ACCEPT), "wrong Sec-WebSocket-Accept: {head}");
    let negotiated = head.to_ascii_lowercase().contains("permessage-deflate");
    assert_eq!(
        negotiated,
        mode.deflate(),
        "permessage-deflate negotiation in {head}"
    );
    if mode == Mode::DeflateNoContextTakeover {
        assert!(head.contains("server_no_context_takeover"), "{head}");
    }

    // One masked text frame, compressed (RSV1) on deflate connections.
    let (first, payload): (u8, &[u8]) = if mode.deflate() {
        (0xc1, &HELLO_DEFLATED)
    } else {
        (0x81, HELLO)
    };
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&frame).expect("send message");

    // The echo: one unmasked frame of under 126 bytes.
    let mut header = [0u8; 2];
    s.read_exact(&mut header).expect("read echo header");
    assert_eq!(header[0], first, "echo frame's first byte");
    assert!(
        header[1] < 126,
        "echo frame masked or long: {:#04x}",
        header[1]
    );
    let mut echo = vec![0u8; usize::from(header[1])];
    s.read_exact(&mut echo).expect("read echo payload");
    if mode.deflate() {
        let mut out = Vec::new();
        PerMessageDeflate::new(false, PerMessageDeflateParams::default())
            .decompress_message(&echo, &mut out, 1024)
            .expect("inflate echo");
        echo = out;
    }
    assert_eq!(echo, HELLO, "echoed payload");
    s
}

/// Reads the response head (up to the empty line) byte by byte: nothing after it may be
/// consumed, and it is short.
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("read handshake response");
        head.push(byte[0]);
        assert!(head.len() < 16 * 1024, "handshake response too long");
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Number of open file descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/fd: {e}"))
}

/// `VmRSS` of process `pid`, in KiB.
fn vm_rss_kib(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/status (Linux only): {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}
