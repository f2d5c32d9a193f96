//! Memory per idle WebSocket connection of our server.
//!
//! `cargo bench --bench idle_memory` (IDLE_CONNS=N to change the default of 10 000
//! connections; run as a test, e.g. by `cargo test --benches`, it opens 50).
//!
//! For each mode (no compression; permessage-deflate with context takeover;
//! permessage-deflate without context takeover in either direction) the bench re-executes
//! itself as an echo server in a child process, reads the child's `VmRSS` from
//! `/proc/<pid>/status`, opens N connections from this process (raw TCP, a hand-built
//! handshake, one small message echoed, then idle), reads `VmRSS` again and prints the
//! difference per connection. Then it closes the connections and reads `VmRSS` once more
//! ("closed": what the allocator kept), and opens N connections again ("again": well above
//! "idle" would mean the first batch leaked). Linux only (it reads `/proc`).
//!
//! Columns: RSS of the server before (after a warm-up), with N idle connections, after
//! closing them, with N new ones; KiB per connection = (idle − base) / N; time to open N.
//! Kernel socket buffers are not in the process's RSS. All connections come from
//! 127.0.0.1 to one port, so 2·N must fit in the ephemeral port range (closed sockets
//! linger in TIME_WAIT).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
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
const SERVER_ARG: &str = "__idle_memory_server";
/// Default number of connections for a bench run.
const DEFAULT_CONNS: usize = 10_000;
/// Default number of connections when run as a test (no `--bench` argument).
const TEST_CONNS: usize = 50;
/// Connections opened and closed before the baseline, so one-time allocations (runtime
/// threads, first-use buffers) are in it.
const WARMUP_CONNS: usize = 32;
/// Time for the server to settle before reading its RSS.
const SETTLE: Duration = Duration::from_millis(500);
/// Limit for each socket operation.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The message every connection sends: "Hello".
const HELLO: &[u8] = b"Hello";
/// "Hello" compressed as in RFC 7692 §7.2.3.1 (tail `00 00 ff ff` removed).
const HELLO_DEFLATED: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// The sample key of RFC 6455 §1.3 and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No extension.
    Plain,
    /// permessage-deflate as our server accepts the usual offer: context takeover both ways.
    Deflate,
    /// permessage-deflate with server_ and client_no_context_takeover.
    DeflateNoContextTakeover,
    /// permessage-deflate with the smallest tuning: our window 9 bits (8 is run as 9),
    /// mem_level 1, the client's window limited to 9 bits.
    DeflateSmall,
}

impl Mode {
    const ALL: [Mode; 4] = [
        Mode::Plain,
        Mode::Deflate,
        Mode::DeflateNoContextTakeover,
        Mode::DeflateSmall,
    ];

    fn name(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::Deflate => "deflate",
            Mode::DeflateNoContextTakeover => "deflate-no-context-takeover",
            Mode::DeflateSmall => "deflate-window9-memlevel1",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    fn deflate(self) -> bool {
        self != Mode::Plain
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
        "{:<28} {:>10} {:>10} {:>9} {:>10} {:>10} {:>8}",
        "mode", "base KiB", "idle KiB", "KiB/conn", "closed KiB", "again KiB", "setup s"
    );
    for mode in Mode::ALL {
        let r = measure(mode, n);
        println!(
            "{:<28} {:>10} {:>10} {:>9.2} {:>10} {:>10} {:>8.2}",
            mode.name(),
            r.base_kib,
            r.idle_kib,
            (r.idle_kib as f64 - r.base_kib as f64) / n as f64,
            r.closed_kib,
            r.reopened_kib,
            r.setup.as_secs_f64()
        );
    }
}

// ---------------------------------------------------------------------------------------
// The server child

/// Echo handler.
struct Echo {
    channel: WebSocketChannel,
}

impl WebSocketHandler for Echo {
    async fn on_message(&mut self, payload: Bytes, is_binary: bool) {
        let _ = self.channel.send_message(payload, is_binary).await;
    }
}

impl WebSocketServerHandler for Echo {}

/// Serves echo on 127.0.0.1 (free port, printed as `PORT <n>`) until stdin closes.
fn server_child(mode: Mode) {
    let mut options = ServerOptions::default();
    options.per_message_compression_accept = match mode {
        Mode::Plain => None,
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
        tokio::spawn(factory.serve(listener, |channel| Echo { channel }));
        // The parent closes our stdin when done (or dies).
        let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    });
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------
// The parent: clients and measurements

struct Figures {
    base_kib: u64,
    idle_kib: u64,
    closed_kib: u64,
    reopened_kib: u64,
    setup: Duration,
}

/// Kills the server child if a measurement panics.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn measure(mode: Mode, n: usize) -> Figures {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = ChildGuard(
        Command::new(exe)
            .arg(SERVER_ARG)
            .arg(mode.name())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the server child"),
    );
    let pid = child.0.id();
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("reading the server's port");
    let port: u16 = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("server child printed {line:?}, not `PORT <n>`"));

    let warm: Vec<TcpStream> = (0..WARMUP_CONNS).map(|_| open(port, mode)).collect();
    for s in &warm {
        let _ = s.shutdown(Shutdown::Both);
    }
    drop(warm);
    std::thread::sleep(SETTLE);
    let base_kib = vm_rss_kib(pid);

    let start = Instant::now();
    let conns: Vec<TcpStream> = (0..n).map(|_| open(port, mode)).collect();
    let setup = start.elapsed();
    std::thread::sleep(SETTLE);
    let idle_kib = vm_rss_kib(pid);

    close_all(conns);
    let closed_kib = vm_rss_kib(pid);

    // The same again: RSS growing much beyond `idle_kib` would mean the first batch
    // leaked rather than stayed in the allocator.
    let conns: Vec<TcpStream> = (0..n).map(|_| open(port, mode)).collect();
    std::thread::sleep(SETTLE);
    let reopened_kib = vm_rss_kib(pid);
    close_all(conns);
    drop(child);
    Figures {
        base_kib,
        idle_kib,
        closed_kib,
        reopened_kib,
        setup,
    }
}

/// Closes the connections and gives the server time to notice.
fn close_all(conns: Vec<TcpStream>) {
    for s in &conns {
        let _ = s.shutdown(Shutdown::Both);
    }
    drop(conns);
    std::thread::sleep(SETTLE * 2);
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

/// `VmRSS` of process `pid`, in KiB.
fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/status (Linux only): {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (inherited by the server child);
/// returns the new soft limit.
fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            panic!("getrlimit: {}", std::io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    lim.rlim_cur as u64
}
