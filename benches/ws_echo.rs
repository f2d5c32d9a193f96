//! WebSocket echo servers side by side: autobahn-rs (callback API `autobahn`, pull API
//! `autobahn-pull`) against fastwebsockets, tokio-websockets and tokio-tungstenite, plus
//! `floor`, a plain TCP echo on the same runtime (no WebSocket work): the least CPU per
//! message any tokio server can reach. In axum: our `WebSocketUpgrade` extractor
//! (`axum-ours`, feature `axum`) against axum's own `axum::extract::ws` (`axum-own`).
//! In the compressed cells, python-websockets and node `ws` (`tests/interop/`'s echo
//! scripts, installed under target/ as the interop tests do; each its own process).
//!
//! Each server runs on a current_thread tokio runtime in its own thread pinned to core 0;
//! one load generator (this thread, its own current_thread runtime) runs on core 1. The
//! generator does the HTTP upgrade itself, sends pre-encoded masked frames, keeps `D`
//! messages in flight per connection and parses the echoed frame headers minimally.
//! Per cell we measure messages/s and the server thread's CPU time per message
//! (`CLOCK_THREAD_CPUTIME_ID` of the server thread), repeat, and print medians.
//!
//! ```text
//! cargo bench --features axum --bench ws_echo  # full: 5 repetitions, 2 s per sample
//! BENCH_QUICK=1 cargo bench --bench ws_echo    # quick: 1 repetition, 0.25 s per sample
//! cargo test --bench ws_echo                   # smoke: the first cell, quick
//! ```
//!
//! The run exits non-zero if any sample failed (a server closed a connection, an echo
//! had the wrong length or type).
//!
//! Other knobs: `BENCH_REPS`, `BENCH_SECS` (measured seconds per sample),
//! `BENCH_SERVERS=autobahn,fastwebsockets,floor` (subset), `BENCH_CELLS=16 B` (substring match on
//! the cell name).

use std::cell::Cell as StdCell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

// ---------------------------------------------------------------------------------------
// Threads: pinning and CPU clocks.

#[path = "support/os.rs"]
mod os;
use os::{clock_ns, load_average, pin_to, this_thread_cpu_clock};

// ---------------------------------------------------------------------------------------
// The servers (what each one runs: `support/echo_servers.rs`).

#[path = "support/echo_parser.rs"]
mod echo_parser;

#[path = "support/raw_upgrade.rs"]
mod raw_upgrade;
use echo_parser::EchoParser;

// The compressed echo's peers: the interop tests' scripts, installed as those tests do.
// Each brings its own copy of tests/interop/process.rs (clippy's duplicate_mod).
#[allow(unused_imports, clippy::duplicate_mod)]
#[path = "../tests/interop/node.rs"]
mod node;
#[allow(dead_code, unused_imports, clippy::duplicate_mod)]
#[path = "../tests/interop/python.rs"]
mod python;

#[path = "support/echo_servers.rs"]
mod echo_servers;
use echo_servers::serve;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    /// Ours, the callback API: the factory and a handler.
    Autobahn,
    /// Ours, the pull API: `WebSocket::recv`/`send` in a loop.
    AutobahnPull,
    /// Ours inside axum: our `WebSocketUpgrade` extractor, the pull API after it.
    #[cfg(feature = "axum")]
    AxumOurs,
    /// axum's own `axum::extract::ws` (tungstenite underneath): not counted as a peer, the
    /// reference for `AxumOurs`.
    AxumOwn,
    Fastwebsockets,
    TokioWebsockets,
    TokioTungstenite,
    /// Not a WebSocket server: the floor (see `serve_floor`).
    Floor,
    /// Python `websockets` (pinned, in a virtualenv under target/, as the interop tests
    /// install it): compressed cells only, its own process.
    PythonWebsockets,
    /// node `ws` (pinned, with Node.js 22 from npm under target/, as the interop tests
    /// install them): compressed cells only, its own process.
    NodeWs,
}

const SERVERS: &[Server] = &[
    Server::Autobahn,
    Server::AutobahnPull,
    #[cfg(feature = "axum")]
    Server::AxumOurs,
    Server::AxumOwn,
    Server::Fastwebsockets,
    Server::TokioWebsockets,
    Server::TokioTungstenite,
    Server::Floor,
    Server::PythonWebsockets,
    Server::NodeWs,
];

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Autobahn => "autobahn",
            Server::AutobahnPull => "autobahn-pull",
            #[cfg(feature = "axum")]
            Server::AxumOurs => "axum-ours",
            Server::AxumOwn => "axum-own",
            Server::Fastwebsockets => "fastwebsockets",
            Server::TokioWebsockets => "tokio-websockets",
            Server::TokioTungstenite => "tokio-tungstenite",
            Server::Floor => "floor",
            Server::PythonWebsockets => "python-websockets",
            Server::NodeWs => "node-ws",
        }
    }

    /// Ours, in either API, on our own listener (the servers the targets are about).
    fn is_ours(self) -> bool {
        matches!(self, Server::Autobahn | Server::AutobahnPull)
    }

    /// The other WebSocket libraries' own servers: what `vs best peer` compares with.
    fn is_peer(self) -> bool {
        matches!(
            self,
            Server::Fastwebsockets | Server::TokioWebsockets | Server::TokioTungstenite
        )
    }

    /// The servers in other languages, the compressed echo's peers (scripts of
    /// tests/interop/, each in its own process).
    fn is_script(self) -> bool {
        matches!(self, Server::PythonWebsockets | Server::NodeWs)
    }

    /// Of the Rust libraries only we implement permessage-deflate; the axum pair runs the
    /// plain cells, the scripts the compressed ones.
    fn runs(self, cell: &BenchCell) -> bool {
        if self.is_script() {
            cell.deflate
        } else {
            !cell.deflate || self.is_ours()
        }
    }
}

type ScriptLines = tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>;

struct RunningServer {
    port: u16,
    cpu_clock: libc::clockid_t,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// A script's process (killed when dropped) and its stdout.
    _script: Option<(tokio::process::Child, ScriptLines)>,
}

impl RunningServer {
    /// Starts `kind` on a fresh pinned thread; returns once it listens.
    fn start(kind: Server, deflate: bool) -> Self {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("srv-{}", kind.name()))
            .spawn(move || {
                pin_to(0);
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(async move {
                    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                    let port = listener.local_addr().expect("local addr").port();
                    ready_tx
                        .send((port, this_thread_cpu_clock()))
                        .expect("report ready");
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = serve(kind, listener, port, deflate) => {}
                    }
                });
                // Dropping the runtime drops every connection task.
            })
            .expect("spawn server thread");
        let (port, cpu_clock) = ready_rx.recv().expect("server started");
        Self {
            port,
            cpu_clock,
            stop: Some(stop_tx),
            thread: Some(thread),
            _script: None,
        }
    }

    /// Starts a script server (its default permessage-deflate settings) in its own process
    /// pinned to core 0; returns once it listens. Its CPU is the whole process's: every
    /// thread (node compresses on libuv's pool).
    fn start_script(rt: &tokio::runtime::Runtime, kind: Server) -> io::Result<Self> {
        use tokio::io::AsyncBufReadExt;
        let mut command = match kind {
            Server::PythonWebsockets => python::python_script("py_echo_server.py", &[]),
            Server::NodeWs => node::node_script(
                "node_ws_echo_server.cjs",
                &["--deflate=default".to_string()],
            ),
            _ => unreachable!("not a script: {kind:?}"),
        };
        // SAFETY: between fork and exec the closure only calls sched_setaffinity on the
        // child itself (async-signal-safe) and touches no locks or allocations.
        unsafe {
            command.pre_exec(|| {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(0, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                Ok(())
            });
        }
        rt.block_on(async {
            let mut child = command.spawn()?;
            let stdout = child.stdout.take().expect("piped stdout");
            // Kept open, not read: a line per connection stays far below a pipe's buffer.
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .map_err(|_| io::Error::other(format!("{} did not start", kind.name())))??
                .unwrap_or_default();
            let port = first
                .strip_prefix("PORT ")
                .and_then(|p| p.trim().parse().ok())
                .ok_or_else(|| io::Error::other(format!("{} said {first:?}", kind.name())))?;
            let pid = child
                .id()
                .ok_or_else(|| io::Error::other("script exited"))?;
            Ok(Self {
                port,
                cpu_clock: os::process_cpu_clock(pid),
                stop: None,
                thread: None,
                _script: Some((child, lines)),
            })
        })
    }

    fn cpu_ns(&self) -> u64 {
        clock_ns(self.cpu_clock)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------
// The load generator.

/// A compressed cell offers permessage-deflate with `client_no_context_takeover`, so the
/// one pre-compressed frame is valid every time it is sent.
async fn connect(port: u16, deflate: bool) -> io::Result<(TcpStream, Vec<u8>)> {
    if deflate {
        raw_upgrade::upgrade(
            port,
            Some("permessage-deflate; client_no_context_takeover"),
            Some("permessage-deflate"),
        )
        .await
    } else {
        raw_upgrade::upgrade(port, None, None).await
    }
}

/// A masked client frame; `compressed` sets RSV1 (the payload is already deflated).
fn encode_frame(payload: &[u8], text: bool, compressed: bool, key: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 14);
    f.push(0x80 | if compressed { 0x40 } else { 0 } | if text { 0x1 } else { 0x2 });
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// JSON-like text of exactly `len` bytes: records whose numbers and names vary, as an
/// API's messages do (compresses about 4:1, not the 100:1 of a repeated sentence).
fn make_json(len: usize) -> Vec<u8> {
    let mut s = String::with_capacity(len + 128);
    s.push('[');
    let mut i: u64 = 0;
    while s.len() < len {
        let x = i.wrapping_mul(2_654_435_761) % 100_000;
        s += &format!(
            "{{\"id\":{i},\"user\":\"user-{x:05}\",\"score\":{}.{:02},\"active\":{},\"tags\":[\"t{}\",\"t{}\"]}},",
            x % 997,
            x % 100,
            x.is_multiple_of(3),
            x % 17,
            x % 29
        );
        i += 1;
    }
    s.truncate(len);
    s.into_bytes()
}

/// Deflates `payload` as a client whose every message starts a fresh DEFLATE context.
#[cfg(feature = "deflate")]
fn deflate_payload(payload: &[u8]) -> Vec<u8> {
    use autobahn::websocket::deflate::{PerMessageDeflate, PerMessageDeflateParams};
    let params = PerMessageDeflateParams {
        client_no_context_takeover: true,
        ..PerMessageDeflateParams::default()
    };
    let mut out = Vec::new();
    PerMessageDeflate::new(false, params)
        .compress_message(payload, &mut out)
        .expect("deflate the payload");
    out
}

#[cfg(not(feature = "deflate"))]
fn deflate_payload(_: &[u8]) -> Vec<u8> {
    unreachable!("compressed cells need the deflate feature")
}

/// A payload of exactly `len` bytes; text is valid UTF-8 with some multi-byte characters.
fn make_payload(len: usize, text: bool) -> Vec<u8> {
    if !text {
        return (0..len).map(|i| (i * 31 + 7) as u8).collect();
    }
    let pattern = "The quick brown fox jumps over the lazy dog; Grüße, naïve café, €5, 😀. ";
    let mut s = String::with_capacity(len + 8);
    while s.len() < len {
        for ch in pattern.chars() {
            if s.len() + ch.len_utf8() > len {
                break;
            }
            s.push(ch);
        }
        if s.len() + 4 > len {
            while s.len() < len {
                s.push('.');
            }
        }
    }
    debug_assert_eq!(s.len(), len);
    s.into_bytes()
}

/// What every connection of one sample sends and expects.
#[derive(Clone)]
struct Load {
    /// `inflight` copies of the masked frame, back to back.
    frames: Rc<Vec<u8>>,
    frame_len: usize,
    inflight: usize,
    payload_len: usize,
    text: bool,
    deflate: bool,
    /// Messages echoed so far, all connections.
    counter: Rc<StdCell<u64>>,
}

/// One connection of the generator: keeps `inflight` messages outstanding.
async fn drive(mut stream: TcpStream, leftover: Vec<u8>, load: Load) -> io::Result<()> {
    let expect_len = if load.deflate { 0 } else { load.payload_len };
    let mut parser = EchoParser::new(expect_len, load.text);
    let mut buf = vec![0u8; 256 * 1024];
    stream
        .write_all(&load.frames[..load.inflight * load.frame_len])
        .await?;
    let mut done = parser.feed(&leftover)?;
    loop {
        if done > 0 {
            load.counter.set(load.counter.get() + done as u64);
            // At most `inflight` messages are outstanding, so `done <= inflight`.
            stream
                .write_all(&load.frames[..done * load.frame_len])
                .await?;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::Error::other("server closed the connection"));
        }
        done = parser.feed(&buf[..n])?;
    }
}

// ---------------------------------------------------------------------------------------
// Cells, samples, the table.

#[derive(Debug, Clone)]
struct BenchCell {
    payload: usize,
    text: bool,
    conns: usize,
    inflight: usize,
    /// permessage-deflate, JSON-like text: only autobahn runs these cells.
    deflate: bool,
}

impl BenchCell {
    fn name(&self) -> String {
        let size = match self.payload {
            n if n >= 1 << 20 => format!("{} MiB", n >> 20),
            n if n >= 1 << 10 => format!("{} KiB", n >> 10),
            n => format!("{n} B"),
        };
        format!(
            "{} {size}, {} conn, {} in flight",
            match (self.text, self.deflate) {
                (true, true) => "deflate JSON",
                (true, false) => "text",
                _ => "binary",
            },
            self.conns,
            self.inflight
        )
    }
}

fn cells() -> Vec<BenchCell> {
    let mut v = Vec::new();
    let cell = |payload, text, conns, inflight| BenchCell {
        payload,
        text,
        conns,
        inflight,
        deflate: false,
    };
    for payload in [16, 1024] {
        for conns in [1, 64] {
            for inflight in [1, 16] {
                v.push(cell(payload, false, conns, inflight));
            }
        }
    }
    for conns in [1, 64] {
        v.push(cell(64 << 10, false, conns, 1));
    }
    for conns in [1, 16] {
        v.push(cell(1 << 20, false, conns, 1));
    }
    for payload in [1024, 64 << 10] {
        for conns in [1, 64] {
            v.push(cell(payload, true, conns, 1));
        }
    }
    if cfg!(feature = "deflate") {
        for (payload, conns) in [(1024, 1), (1024, 64), (64 << 10, 1)] {
            v.push(BenchCell {
                deflate: true,
                ..cell(payload, true, conns, 1)
            });
        }
    }
    v
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    msgs_per_s: f64,
    server_us_per_msg: f64,
    server_busy: f64,
    gen_busy: f64,
    /// Messages echoed over the whole sample, warm-up included (to relate to syscall
    /// counts from `perf trace -s`).
    total_msgs: u64,
}

fn run_sample(
    rt: &tokio::runtime::Runtime,
    kind: Server,
    cell: &BenchCell,
    warmup: Duration,
    measure: Duration,
) -> io::Result<Sample> {
    let server = if kind.is_script() {
        RunningServer::start_script(rt, kind)?
    } else {
        RunningServer::start(kind, cell.deflate)
    };
    let port = server.port;
    let local = tokio::task::LocalSet::new();
    let payload = if cell.deflate {
        deflate_payload(&make_json(cell.payload))
    } else {
        make_payload(cell.payload, cell.text)
    };
    let one = encode_frame(&payload, cell.text, cell.deflate, [0x37, 0xfa, 0x21, 0x3d]);
    let frame_len = one.len();
    let counter = Rc::new(StdCell::new(0u64));
    let load = Load {
        frames: Rc::new(one.repeat(cell.inflight)),
        frame_len,
        inflight: cell.inflight,
        payload_len: cell.payload,
        text: cell.text,
        deflate: cell.deflate,
        counter: counter.clone(),
    };
    let gen_clock = this_thread_cpu_clock();
    local.block_on(rt, async {
        let mut tasks = Vec::with_capacity(cell.conns);
        for _ in 0..cell.conns {
            let (stream, leftover) = connect(port, cell.deflate).await?;
            tasks.push(tokio::task::spawn_local(drive(
                stream,
                leftover,
                load.clone(),
            )));
        }
        tokio::time::sleep(warmup).await;
        let (c0, s0, g0, t0) = (
            counter.get(),
            server.cpu_ns(),
            clock_ns(gen_clock),
            Instant::now(),
        );
        tokio::time::sleep(measure).await;
        let (c1, s1, g1, t1) = (
            counter.get(),
            server.cpu_ns(),
            clock_ns(gen_clock),
            Instant::now(),
        );
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            match t.await {
                Ok(Err(e)) => return Err(e),
                Ok(Ok(())) => return Err(io::Error::other("driver ended")),
                Err(_) => {} // aborted, as it should be
            }
        }
        let msgs = (c1 - c0) as f64;
        if msgs == 0.0 {
            return Err(io::Error::other("no message echoed"));
        }
        let wall = (t1 - t0).as_secs_f64();
        Ok(Sample {
            msgs_per_s: msgs / wall,
            server_us_per_msg: (s1 - s0) as f64 / 1e3 / msgs,
            server_busy: (s1 - s0) as f64 / 1e9 / wall,
            gen_busy: (g1 - g0) as f64 / 1e9 / wall,
            total_msgs: counter.get(),
        })
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A table number, or `–` where a server did not run the cell (or there is no ratio).
fn shown(x: f64, decimals: usize) -> String {
    if x.is_finite() && x != 0.0 {
        format!("{x:.decimals$}")
    } else {
        "–".into()
    }
}

/// A ratio as `0.95×`, or `–` where there is none.
fn times(x: f64) -> String {
    let n = shown(x, 2);
    if n == "–" {
        n
    } else {
        format!("{n}×")
    }
}

fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The issue #15 targets for our servers' CPU per message: with one message in flight at
/// most 1.05× the least of the floor and the peers; with 16 in flight at most 0.35× the
/// best peer. `None` where the cell has no such target (compressed: no peer runs it).
fn target(cell: &BenchCell, best_peer: f64, floor: f64) -> Option<(f64, f64)> {
    if cell.deflate || !best_peer.is_finite() {
        return None;
    }
    match cell.inflight {
        1 => Some((best_peer.min(floor), 1.05)),
        16 => Some((best_peer, 0.35)),
        _ => None,
    }
}

/// `ratio× ✓` or `ratio× ✗` against a target; `–` without one.
fn against(ours: f64, target: Option<(f64, f64)>) -> String {
    match target {
        Some((base, limit)) if ours.is_finite() && ours != 0.0 => {
            let ratio = ours / base;
            let mark = if ratio <= limit { "✓" } else { "✗" };
            format!("{ratio:.2}× {mark}")
        }
        _ => "–".into(),
    }
}

/// Two markdown tables on stdout: server CPU per message with the targets, then messages/s.
fn print_tables(
    servers: &[Server],
    cells: &[BenchCell],
    results: &[Vec<Vec<Sample>>],
    reps: usize,
) {
    let index = |kind: Server| servers.iter().position(|s| *s == kind);
    let ours: Vec<usize> = (0..servers.len())
        .filter(|&i| servers[i].is_ours())
        .collect();
    let floor = index(Server::Floor);
    #[cfg(feature = "axum")]
    let axum_pair = index(Server::AxumOurs).zip(index(Server::AxumOwn));
    #[cfg(not(feature = "axum"))]
    let axum_pair: Option<(usize, usize)> = None;
    let medians = |ci: usize, of: fn(&Sample) -> f64| -> Vec<f64> {
        (0..servers.len())
            .map(|si| median(results[ci][si].iter().map(of).collect()))
            .collect()
    };
    let best_peer = |v: &[f64], better: fn(f64, f64) -> f64| {
        (0..servers.len())
            .filter(|&i| servers[i].is_peer())
            .map(|i| v[i])
            .filter(|x| x.is_finite())
            .reduce(better)
            .unwrap_or(f64::NAN)
    };
    let header = |unit: &str, extra: &[String]| {
        let mut head = String::from("| cell |");
        let mut rule = String::from("|---|");
        for s in servers {
            head += &format!(" {} {unit} |", s.name());
            rule += "---:|";
        }
        for e in extra {
            head += &format!(" {e} |");
            rule += "---:|";
        }
        println!("{head}\n{rule}");
    };

    println!();
    println!(
        "Server CPU time per message (µs, median of {reps}; lower is better). `vs target`: \
         with 1 in flight, / the least of `floor` and the peers (target ≤ 1.05×); with 16 in \
         flight, / the best peer (target ≤ 0.35×). Peers: fastwebsockets, tokio-websockets, \
         tokio-tungstenite; `floor` is a plain TCP echo, the least a tokio server can spend."
    );
    println!();
    let mut extra: Vec<String> = ours
        .iter()
        .map(|&o| format!("{} vs target", servers[o].name()))
        .collect();
    if floor.is_some() {
        extra.push("floor vs best peer".into());
    }
    if axum_pair.is_some() {
        extra.push("axum-ours / axum-own".into());
    }
    // The compressed echo's targets: ours ≤ 0.5× python-websockets and ≤ 1× node ws.
    let autobahn = index(Server::Autobahn);
    let script_targets: Vec<(usize, f64)> =
        [(Server::PythonWebsockets, 0.5), (Server::NodeWs, 1.0)]
            .into_iter()
            .filter_map(|(kind, target)| index(kind).map(|i| (i, target)))
            .filter(|_| autobahn.is_some())
            .collect();
    for &(i, target) in &script_targets {
        extra.push(format!("autobahn / {} (≤ {target}×)", servers[i].name()));
    }
    header("µs/msg", &extra);
    for (ci, cell) in cells.iter().enumerate() {
        let cpu = medians(ci, |s| s.server_us_per_msg);
        let best = best_peer(&cpu, f64::min);
        let floor_cpu = floor.map_or(f64::INFINITY, |f| cpu[f]);
        let mut line = format!("| {} |", cell.name());
        for c in &cpu {
            line += &format!(" {} |", shown(*c, 2));
        }
        for &o in &ours {
            line += &format!(" {} |", against(cpu[o], target(cell, best, floor_cpu)));
        }
        if let Some(f) = floor {
            line += &format!(" {} |", times(cpu[f] / best));
        }
        if let Some((a, b)) = axum_pair {
            line += &format!(" {} |", times(cpu[a] / cpu[b]));
        }
        for &(i, target) in &script_targets {
            let ours = autobahn.map_or(f64::NAN, |a| cpu[a]);
            let peer = Some((cpu[i], target)).filter(|(p, _)| p.is_finite());
            line += &format!(" {} |", against(ours, peer));
        }
        println!("{line}");
    }

    println!();
    println!(
        "Messages/s (median of {reps}; higher is better; also limited by the generator and \
         whatever else runs on the two cores)."
    );
    println!();
    let extra: Vec<String> = ours
        .iter()
        .map(|&o| format!("{} vs best peer", servers[o].name()))
        .collect();
    header("msg/s", &extra);
    for (ci, cell) in cells.iter().enumerate() {
        let rate = medians(ci, |s| s.msgs_per_s);
        let best = best_peer(&rate, f64::max);
        let mut line = format!("| {} |", cell.name());
        for r in &rate {
            line += &format!(" {} |", shown(*r, 0));
        }
        for &o in &ours {
            line += &format!(" {} |", times(rate[o] / best));
        }
        println!("{line}");
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) run a smoke test:
    // one short cell per server.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let quick = smoke || std::env::var("BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let reps = env_f64("BENCH_REPS").map_or(if quick { 1 } else { 5 }, |r| r as usize);
    let measure =
        Duration::from_secs_f64(env_f64("BENCH_SECS").unwrap_or(if quick { 0.25 } else { 2.0 }));
    let warmup = if quick {
        Duration::from_millis(50)
    } else {
        Duration::from_millis(500)
    };
    let servers: Vec<Server> = match std::env::var("BENCH_SERVERS") {
        Ok(list) => SERVERS
            .iter()
            .copied()
            .filter(|s| list.split(',').any(|n| n.trim() == s.name()))
            .collect(),
        Err(_) => SERVERS.to_vec(),
    };
    let cells: Vec<BenchCell> = match std::env::var("BENCH_CELLS") {
        Ok(f) => cells()
            .into_iter()
            .filter(|c| c.name().contains(&f))
            .collect(),
        Err(_) if smoke => cells().into_iter().take(1).collect(),
        Err(_) => cells(),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        eprintln!("warning: fewer than 2 cores; server and generator share core 0");
    }
    pin_to(if cores >= 2 { 1 } else { 0 });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("generator runtime");

    let started = Instant::now();
    eprintln!(
        "ws_echo: {} cells x {} servers x {reps} reps, {:.2} s per sample; load average {}",
        cells.len(),
        servers.len(),
        measure.as_secs_f64(),
        load_average()
    );
    // results[cell][server] = samples
    let mut results: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); servers.len()]; cells.len()];
    let mut failures = 0;
    for (ci, cell) in cells.iter().enumerate() {
        for rep in 0..reps {
            // Rotate the order so no server always runs first (or last) in a round.
            for k in 0..servers.len() {
                let si = (k + rep + ci) % servers.len();
                let kind = servers[si];
                if !kind.runs(cell) {
                    continue;
                }
                match run_sample(&rt, kind, cell, warmup, measure) {
                    Ok(s) => {
                        eprintln!(
                            "  {:<40} {:<18} rep {rep}: {:>10.0} msg/s {:>9.2} us/msg  server {:>3.0}%  generator {:>3.0}%  ({} msgs in all)",
                            cell.name(),
                            kind.name(),
                            s.msgs_per_s,
                            s.server_us_per_msg,
                            s.server_busy * 100.0,
                            s.gen_busy * 100.0,
                            s.total_msgs
                        );
                        results[ci][si].push(s);
                    }
                    Err(e) => {
                        failures += 1;
                        eprintln!("  {} {} rep {rep}: FAILED: {e}", cell.name(), kind.name());
                    }
                }
            }
        }
    }

    print_tables(&servers, &cells, &results, reps);
    println!();
    println!(
        "load average after the run: {}; total {:.0} s",
        load_average(),
        started.elapsed().as_secs_f64()
    );
    if failures > 0 {
        eprintln!("{failures} samples failed");
        std::process::exit(1);
    }
}
