//! Fan-out: one message to 1, 100, 1,000 and 10,000 connected clients, server CPU per
//! delivered message. Ours (a `PreparedMessage` queued on every channel) against
//! fastwebsockets, tokio-websockets and tokio-tungstenite (a `Bytes` clone handed to each
//! connection's task), plain and, ours only, compressed (permessage-deflate without server
//! context takeover: the message is compressed once for all clients).
//!
//! The server runs in a child process (this binary with `__fanout_server`): 10,000 clients
//! and their 10,000 server sockets do not fit one process's open-file limit. It runs a
//! current_thread tokio runtime pinned to core 0; the clients run here, on a current_thread
//! runtime pinned to core 1. Over a control connection this process tells the server how
//! many rounds to send (one round: the message once to every client), keeping a few rounds
//! in flight, and counts what the clients receive. **Server CPU per delivered message** =
//! the child process's CPU time (`clock_getcpuclockid`) over the measured rounds / (rounds
//! × clients).
//!
//! ```text
//! cargo bench --bench fanout                 # 5 repetitions of ~200,000 messages per cell
//! BENCH_QUICK=1 cargo bench --bench fanout   # 1 repetition of ~20,000
//! cargo test --bench fanout                  # smoke: 100 clients, 16 B, quick
//! ```
//!
//! Knobs: `BENCH_REPS`, `BENCH_MESSAGES` (delivered messages per sample),
//! `BENCH_SERVERS=autobahn,fastwebsockets` (subset), `BENCH_CELLS=<substring of a cell name>`,
//! `FANOUT_CLIENTS=1,100` (client counts), `FANOUT_WINDOW=1` (rounds in flight; default
//! 100,000 / clients within 4..=32, refilled half a window at a time; 1: every round is
//! sent alone and waited for, so no server can batch writes).

use std::io::{self, BufRead};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

#[path = "support/os.rs"]
mod os;
use os::{clock_ns, load_average, pin_to, process_cpu_clock, raise_nofile_limit};

#[path = "support/echo_parser.rs"]
mod echo_parser;

#[path = "support/raw_upgrade.rs"]
mod raw_upgrade;
use echo_parser::EchoParser;

#[path = "support/fanout_servers.rs"]
mod fanout_servers;
use fanout_servers::Fanout;

const SERVER_ARG: &str = "__fanout_server";
/// How long the clients may take to receive what was sent before a sample fails.
const DEADLINE: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FanoutServer {
    Autobahn,
    Fastwebsockets,
    TokioWebsockets,
    TokioTungstenite,
}

const SERVERS: [FanoutServer; 4] = [
    FanoutServer::Autobahn,
    FanoutServer::Fastwebsockets,
    FanoutServer::TokioWebsockets,
    FanoutServer::TokioTungstenite,
];

impl FanoutServer {
    fn name(self) -> &'static str {
        match self {
            FanoutServer::Autobahn => "autobahn",
            FanoutServer::Fastwebsockets => "fastwebsockets",
            FanoutServer::TokioWebsockets => "tokio-websockets",
            FanoutServer::TokioTungstenite => "tokio-tungstenite",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        SERVERS.into_iter().find(|s| s.name() == name)
    }

    /// Only we implement permessage-deflate.
    fn runs(self, cell: &Cell) -> bool {
        !cell.deflate || self == FanoutServer::Autobahn
    }
}

// ---------------------------------------------------------------------------------------
// The server process.

/// The child: serves `kind` and obeys its control connection (`w N`: answer once N clients
/// joined; `r K`: send K rounds); exits when the control connection closes.
fn server_child(kind: FanoutServer, deflate: bool, payload: Vec<u8>) {
    pin_to(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("server runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let control = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind control");
        let port = listener.local_addr().expect("local addr").port();
        let control_port = control.local_addr().expect("local addr").port();
        println!("ports {port} {control_port}");
        let (control, _) = control.accept().await.expect("control connection");
        let fanout = Fanout::new(kind);
        tokio::select! {
            _ = fanout.serve(kind, listener, port, deflate) => {}
            result = obey(control, &fanout, &payload) => result.expect("control connection"),
        }
    });
}

async fn obey(control: TcpStream, fanout: &Fanout, payload: &[u8]) -> io::Result<()> {
    let (read, mut write) = control.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let (command, n) = line.split_once(' ').unwrap_or((&line, "0"));
        let n: usize = n.parse().map_err(io::Error::other)?;
        match command {
            "w" => {
                fanout.wait_for(n).await;
                write.write_all(b"ok\n").await?;
            }
            "r" => {
                for _ in 0..n {
                    fanout.broadcast(payload).await;
                }
            }
            _ => return Err(io::Error::other(format!("unknown command {line:?}"))),
        }
    }
    Ok(())
}

/// The server child of one sample; killed when dropped.
struct ServerProcess {
    child: Child,
    port: u16,
    control_reply: BufReader<tokio::net::tcp::OwnedReadHalf>,
    control_write: tokio::net::tcp::OwnedWriteHalf,
    cpu_clock: libc::clockid_t,
}

impl ServerProcess {
    async fn start(kind: FanoutServer, cell: &Cell) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("current exe"))
            .args([
                SERVER_ARG,
                kind.name(),
                if cell.deflate { "deflate" } else { "plain" },
                &cell.payload.to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the server process");
        let mut line = String::new();
        io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server ports");
        let mut ports = line
            .strip_prefix("ports ")
            .unwrap_or_else(|| panic!("server said {line:?}"))
            .split_whitespace()
            .map(|p| p.parse::<u16>().expect("port"));
        let (port, control_port) = (ports.next().expect("port"), ports.next().expect("port"));
        let control = TcpStream::connect(("127.0.0.1", control_port))
            .await
            .expect("control connection");
        control.set_nodelay(true).expect("nodelay");
        let (read, write) = control.into_split();
        Self {
            cpu_clock: process_cpu_clock(child.id()),
            child,
            port,
            control_reply: BufReader::new(read),
            control_write: write,
        }
    }

    fn cpu_ns(&self) -> u64 {
        clock_ns(self.cpu_clock)
    }

    async fn command(&mut self, command: &str, n: u64) {
        self.control_write
            .write_all(format!("{command} {n}\n").as_bytes())
            .await
            .expect("control write");
    }

    /// Waits until the server registered `n` clients.
    async fn wait_for_clients(&mut self, n: usize) {
        self.command("w", n as u64).await;
        let mut reply = String::new();
        let read = self.control_reply.read_line(&mut reply);
        tokio::time::timeout(DEADLINE, read)
            .await
            .expect("clients registered in time")
            .expect("control reply");
        assert_eq!(reply.trim(), "ok");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// The clients.

/// What the clients received so far, and a signal when it reaches a target.
struct Progress {
    delivered: AtomicU64,
    target: AtomicU64,
    failed: std::sync::atomic::AtomicBool,
    reached: Notify,
}

impl Progress {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            delivered: AtomicU64::new(0),
            target: AtomicU64::new(u64::MAX),
            failed: Default::default(),
            reached: Notify::new(),
        })
    }

    fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    fn add(&self, messages: u64) {
        let now = self.delivered.fetch_add(messages, Ordering::Relaxed) + messages;
        if now >= self.target.load(Ordering::Relaxed) {
            self.reached.notify_one();
        }
    }

    fn fail(&self, e: io::Error) {
        eprintln!("client failed: {e}");
        self.failed.store(true, Ordering::Relaxed);
        self.reached.notify_one();
    }

    /// Waits until `total` messages were delivered (panics if a client failed or the
    /// deadline passed).
    async fn wait_for(&self, total: u64) {
        let wait = async {
            loop {
                let reached = self.reached.notified();
                self.target.store(total, Ordering::Relaxed);
                assert!(!self.failed.load(Ordering::Relaxed), "a client failed");
                if self.delivered() >= total {
                    self.target.store(u64::MAX, Ordering::Relaxed);
                    return;
                }
                reached.await;
            }
        };
        if tokio::time::timeout(DEADLINE, wait).await.is_err() {
            panic!(
                "clients received {} of {total} messages in {DEADLINE:?}",
                self.delivered()
            );
        }
    }
}

/// A compressed cell asks for no context takeover both ways: every client can then share
/// one compression of a message.
async fn connect(port: u16, deflate: bool) -> io::Result<(TcpStream, Vec<u8>)> {
    if deflate {
        raw_upgrade::upgrade(
            port,
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            Some("server_no_context_takeover"),
        )
        .await
    } else {
        raw_upgrade::upgrade(port, None, None).await
    }
}

/// One client: connects (at most `connecting` at a time), then counts the messages it
/// receives, checking their type, length (plain) and RSV1 (set exactly when compressed).
async fn client(
    port: u16,
    cell: Cell,
    connecting: Arc<Semaphore>,
    progress: Arc<Progress>,
) -> io::Result<()> {
    let permit = connecting.acquire_owned().await.map_err(io::Error::other)?;
    let (mut stream, leftover) = connect(port, cell.deflate).await?;
    drop(permit);
    let mut parser = EchoParser::new(if cell.deflate { 0 } else { cell.payload }, false);
    let mut first = true;
    // The bytes read past the handshake (at most one 512-byte read) count as a first read.
    let mut buf = vec![0u8; 16 * 1024];
    let mut pending = leftover.len();
    buf[..pending].copy_from_slice(&leftover);
    loop {
        if pending > 0 {
            if first {
                first = false;
                if (buf[0] & 0x40 != 0) != cell.deflate {
                    return Err(io::Error::other("RSV1 does not match the cell"));
                }
            }
            let done = parser.feed(&buf[..pending])?;
            if done > 0 {
                progress.add(done as u64);
            }
        }
        pending = stream.read(&mut buf).await?;
        if pending == 0 {
            return Err(io::Error::other("server closed the connection"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cells, samples and the table.

#[derive(Debug, Clone, Copy)]
struct Cell {
    payload: usize,
    clients: usize,
    /// permessage-deflate without context takeover; only ours runs these cells.
    deflate: bool,
}

impl Cell {
    fn name(&self) -> String {
        let size = if self.payload >= 1024 {
            format!("{} KiB", self.payload / 1024)
        } else {
            format!("{} B", self.payload)
        };
        let kind = if self.deflate { "deflate" } else { "binary" };
        format!("{kind} {size}, {} clients", self.clients)
    }
}

fn cells(clients: &[usize]) -> Vec<Cell> {
    let mut cells = Vec::new();
    for deflate in [false, true] {
        if deflate && !cfg!(feature = "deflate") {
            continue;
        }
        for payload in [16, 1024] {
            for &clients in clients {
                cells.push(Cell {
                    payload,
                    clients,
                    deflate,
                });
            }
        }
    }
    cells
}

/// The message: JSON-like bytes (so the compressed cells have something to compress),
/// sent as a binary message.
fn payload(len: usize) -> Vec<u8> {
    let mut m = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while m.len() < len {
        i += 1;
        let k = i.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1) >> 33;
        m.extend_from_slice(
            format!(
                r#"{{"seq":{i},"price":{}.{:02},"qty":{}}},"#,
                k % 5000,
                k % 100,
                k % 997
            )
            .as_bytes(),
        );
    }
    m.truncate(len);
    m
}

/// Sends `rounds` rounds to `n` clients, at most `window` rounds ahead of the slowest
/// count, refilled half a window at a time (one control message per `window / 2` rounds).
async fn run_rounds(
    server: &mut ServerProcess,
    progress: &Progress,
    rounds: u64,
    n: u64,
    window: u64,
) {
    let base = progress.delivered();
    let mut issued = 0;
    while issued < rounds {
        let done = (progress.delivered() - base) / n;
        let allowed = (done + window).min(rounds);
        if allowed > issued && (allowed - issued >= window / 2 || allowed == rounds) {
            server.command("r", allowed - issued).await;
            issued = allowed;
        } else {
            let done_enough = (issued + window / 2).saturating_sub(window).max(done + 1);
            progress.wait_for(base + done_enough * n).await;
        }
    }
    progress.wait_for(base + rounds * n).await;
}

/// One server on one cell: connects the clients, warms up, then measures `reps` times.
/// Returns the server's CPU µs per delivered message of each repetition.
async fn measure(kind: FanoutServer, cell: Cell, reps: usize, messages: u64) -> Vec<f64> {
    let mut server = ServerProcess::start(kind, &cell).await;
    let progress = Progress::new();
    let connecting = Arc::new(Semaphore::new(128));
    let mut clients = JoinSet::new();
    for _ in 0..cell.clients {
        let (connecting, progress) = (connecting.clone(), progress.clone());
        let port = server.port;
        clients.spawn(async move {
            if let Err(e) = client(port, cell, connecting, progress.clone()).await {
                progress.fail(e);
            }
        });
    }
    server.wait_for_clients(cell.clients).await;
    let n = cell.clients as u64;
    let rounds = (messages / n).max(20);
    let window = env_usize("FANOUT_WINDOW").map_or((100_000 / n).clamp(4, 32), |w| w.max(1) as u64);
    run_rounds(&mut server, &progress, (rounds / 10).max(window), n, window).await;
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        let before = server.cpu_ns();
        run_rounds(&mut server, &progress, rounds, n, window).await;
        let cpu = server.cpu_ns() - before;
        samples.push(cpu as f64 / 1e3 / (rounds * n) as f64);
    }
    clients.abort_all();
    samples
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn shown(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "–".into()
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(SERVER_ARG) {
        let kind = FanoutServer::from_name(&args[2]).expect("server name");
        let len: usize = args[4].parse().expect("payload length");
        server_child(kind, args[3] == "deflate", payload(len));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) a smoke run.
    let smoke = !args.iter().any(|a| a == "--bench");
    let quick = smoke || std::env::var("BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let reps = env_usize("BENCH_REPS").unwrap_or(if quick { 1 } else { 5 });
    let messages =
        env_usize("BENCH_MESSAGES").unwrap_or(if quick { 20_000 } else { 200_000 }) as u64;
    let clients: Vec<usize> = match std::env::var("FANOUT_CLIENTS") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("FANOUT_CLIENTS: numbers"))
            .collect(),
        Err(_) if smoke => vec![100],
        Err(_) => vec![1, 100, 1000, 10_000],
    };
    let servers: Vec<FanoutServer> = match std::env::var("BENCH_SERVERS") {
        Ok(list) => SERVERS
            .into_iter()
            .filter(|s| list.split(',').any(|n| n.trim() == s.name()))
            .collect(),
        Err(_) => SERVERS.to_vec(),
    };
    let cells: Vec<Cell> = match std::env::var("BENCH_CELLS") {
        Ok(f) => cells(&clients)
            .into_iter()
            .filter(|c| c.name().contains(&f))
            .collect(),
        Err(_) if smoke => cells(&clients).into_iter().take(1).collect(),
        Err(_) => cells(&clients),
    };
    let limit = raise_nofile_limit();
    let most = cells.iter().map(|c| c.clients).max().unwrap_or(0);
    assert!(
        limit >= (most + 64) as u64,
        "{most} clients need about {} open files per process, but RLIMIT_NOFILE's hard limit \
         is {limit}; raise it (ulimit -Hn) or lower FANOUT_CLIENTS",
        most + 64
    );
    pin_to(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let started = std::time::Instant::now();
    eprintln!(
        "fanout: {} cells x {} servers x {reps} reps of ~{messages} messages; load average {}",
        cells.len(),
        servers.len(),
        load_average()
    );
    // results[cell][server]: µs per delivered message (median).
    let mut results = vec![vec![f64::NAN; servers.len()]; cells.len()];
    for (ci, cell) in cells.iter().enumerate() {
        for k in 0..servers.len() {
            // Rotate the order so no server always runs first.
            let si = (k + ci) % servers.len();
            let kind = servers[si];
            if !kind.runs(cell) {
                continue;
            }
            let samples = rt.block_on(measure(kind, *cell, reps, messages));
            eprintln!(
                "{:<28} {:<18} {:?} µs/msg; load average {}",
                cell.name(),
                kind.name(),
                samples
                    .iter()
                    .map(|s| format!("{s:.3}"))
                    .collect::<Vec<_>>(),
                load_average()
            );
            results[ci][si] = median(samples);
        }
    }
    print_table(&cells, &servers, &results);
    eprintln!(
        "fanout: {:.0} s; load average {}",
        started.elapsed().as_secs_f64(),
        load_average()
    );
}

fn print_tables_header(servers: &[FanoutServer]) {
    let names: Vec<&str> = servers.iter().map(|s| s.name()).collect();
    println!(
        "| cell (server CPU µs per delivered message) | {} | ours vs best peer (≤ 0.5×) | compressed vs plain (≤ 1.2×) |",
        names.join(" | ")
    );
    println!("|---|{}---:|---:|", "---:|".repeat(servers.len()));
}

/// The table: server CPU µs per delivered message; ours against the best peer (target
/// ≤ 0.5×), and a compressed cell against our plain one of the same size and clients
/// (target ≤ 1.2×).
fn print_table(cells: &[Cell], servers: &[FanoutServer], results: &[Vec<f64>]) {
    print_tables_header(servers);
    let ours = servers.iter().position(|s| *s == FanoutServer::Autobahn);
    let ratio = |x: f64, of: f64, target: f64| {
        if x.is_finite() && of.is_finite() {
            let r = x / of;
            format!("{r:.2}× {}", if r <= target { "✓" } else { "✗" })
        } else {
            "–".into()
        }
    };
    for (ci, cell) in cells.iter().enumerate() {
        let row = &results[ci];
        let our = ours.map_or(f64::NAN, |i| row[i]);
        let best_peer = servers
            .iter()
            .zip(row)
            .filter(|(s, _)| **s != FanoutServer::Autobahn)
            .map(|(_, x)| *x)
            .filter(|x| x.is_finite())
            .fold(f64::INFINITY, f64::min);
        let plain = cells
            .iter()
            .position(|c| !c.deflate && c.payload == cell.payload && c.clients == cell.clients)
            .and_then(|pi| ours.map(|i| results[pi][i]))
            .unwrap_or(f64::NAN);
        println!(
            "| {} | {} | {} | {} |",
            cell.name(),
            row.iter()
                .map(|x| shown(*x))
                .collect::<Vec<_>>()
                .join(" | "),
            if cell.deflate {
                "–".into()
            } else {
                ratio(our, best_peer, 0.5)
            },
            if cell.deflate {
                ratio(our, plain, 1.2)
            } else {
                "–".into()
            },
        );
    }
}
