//! WAMP end to end through a real Crossbar.io router: our client against Autobahn|Python's
//! (asyncio) in the same run, same router, same scenarios.
//!
//! Per transport (WebSocket + JSON, RawSocket + MessagePack) and per client (autobahn-rs,
//! autobahn-python):
//!
//! - `seq`: sequential calls of an echo procedure (one integer argument) from one session to
//!   a callee session: calls/s, p50/p99 latency;
//! - `par`: the same with 100 calls in flight: calls/s;
//! - `pub`: acknowledged publishes (100 in flight) from one session to a subscriber
//!   session: events/s from the first publish to the last event received.
//!
//! **Client CPU per call** is the CPU time of both client sessions (caller and callee, or
//! publisher and subscriber) divided by the calls (events). Ours run in this process on one
//! `current_thread` runtime (`getrusage(RUSAGE_SELF)`); each Python session is its own
//! process and reports `time.process_time()`. The router's CPU time (its node controller and
//! router worker, from `/proc`) is reported per call too, with how busy it was: a router at
//! ~100 % of a core is what limits calls/s.
//!
//! ```text
//! cargo bench --bench wamp_e2e                  # full (~2 min after the router is up)
//! BENCH_QUICK=1 cargo bench --bench wamp_e2e    # quick: small counts, for CI
//! cargo test --bench wamp_e2e                   # smoke: like quick
//! ```
//!
//! Needs Crossbar.io: installed on first use into `target/crossbar-venv` (or the venv named
//! by `AUTOBAHN_CROSSBAR_VENV`), as for the Crossbar tests. Exits non-zero if a scenario
//! fails. Knobs: `BENCH_SEQ`, `BENCH_PAR`, `BENCH_PUB` (counts),
//! `BENCH_CLIENTS=rust,python,floor`, `BENCH_TRANSPORTS=ws,rs`; for our client
//! `BENCH_KEEPALIVE=0` (default on: the `ApplicationRunner`'s keepalive, 10 s / 5 s)
//! and `BENCH_SEQ_IN=task` (sequential calls from a spawned task instead of the
//! `block_on` future); `BENCH_PAIRED` (rounds, default 10; 2 when quick) of
//! [`PAIRED_CALLS`] sequential calls of ours alternating with the floor's, run when
//! both `rust` and `floor` are selected: on a busy machine only neighbours in time
//! compare.
//!
//! `floor` (sequential calls only, over each selected transport) is the least CPU any
//! client can spend per sequential call here: caller and callee on one thread over
//! blocking sockets, one write and one read per message and nothing else
//! (`support/wamp_floor.rs`).

#[path = "../tests/common_crossbar/mod.rs"]
mod crossbar;
#[path = "support/wamp_floor.rs"]
mod floor;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use autobahn::rawsocket::handshake::SerializerId;
use autobahn::wamp::rawsocket_transport::{RawSocketOptions, RawSocketTransport};
use autobahn::wamp::session::{Lifecycle, SessionEvent};
use autobahn::wamp::websocket_transport::{WebSocketTransport, WebSocketTransportConfig};
use autobahn::wamp::{
    ApplicationRunner, CallOptions, CallResult, ComponentConfig, Dict, HelloDetails,
    PublishOptions, RegisterOptions, Session, SubscribeOptions, Value,
};
use autobahn::websocket::client::WebSocketClientFactory;
use crossbar::{Crossbar, Peer, REALM};

/// Calls (publishes) in flight in the `par` and `pub` scenarios.
const IN_FLIGHT: usize = 100;
/// Limit for one scenario.
const SCENARIO_LIMIT: Duration = Duration::from_secs(300);
/// Calls made (and not measured) before the measured ones.
const WARMUP: usize = 200;

#[derive(Clone, Copy, Debug)]
enum Transport {
    WebSocketJson,
    RawSocketMsgpack,
}

impl Transport {
    /// Its name in `BENCH_TRANSPORTS`.
    fn key(self) -> &'static str {
        match self {
            Transport::WebSocketJson => "ws",
            Transport::RawSocketMsgpack => "rs",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Transport::WebSocketJson => "WebSocket + JSON",
            Transport::RawSocketMsgpack => "RawSocket + MessagePack",
        }
    }

    fn url(self, cb: &Crossbar) -> String {
        match self {
            Transport::WebSocketJson => cb.ws_url.clone(),
            Transport::RawSocketMsgpack => cb.rs_url.clone(),
        }
    }

    fn serializer(self) -> &'static str {
        match self {
            Transport::WebSocketJson => "json",
            Transport::RawSocketMsgpack => "msgpack",
        }
    }
}

#[derive(Clone, Copy)]
struct Counts {
    seq: usize,
    par: usize,
    publ: usize,
}

/// One scenario's result.
#[derive(Clone, Copy, Default)]
struct Outcome {
    /// Calls or events per second.
    rate: f64,
    /// Client CPU (both sessions) per call or event, µs.
    client_us: f64,
    /// Router CPU per call or event, µs.
    router_us: f64,
    /// Router CPU time / wall time.
    router_busy: f64,
    /// Latency percentiles (sequential calls only), µs.
    p50_us: f64,
    p99_us: f64,
}

struct Row {
    transport: Transport,
    client: &'static str,
    seq: Outcome,
    par: Outcome,
    publ: Outcome,
    /// Paired rounds of sequential calls (ours, then the floor's, or the other way
    /// round): client CPU µs per call of each.
    paired: Vec<(f64, f64)>,
}

// ---------------------------------------------------------------------------------------
// CPU clocks.

/// CPU time (user + system) of this process, seconds.
fn process_cpu() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut ru), 0);
        ru
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU time (user + system, seconds) of the router: its node controller (pid in
/// `node.pid`) and every descendant (the router worker), read from `/proc`.
fn router_cpu(cb: &Crossbar) -> f64 {
    let Some(root) = std::fs::read_to_string(cb.node_dir.join("node.pid"))
        .ok()
        .and_then(|t| {
            let rest = &t[t.find("\"pid\"")? + 5..];
            let digits: String = rest
                .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u32>().ok()
        })
    else {
        return f64::NAN;
    };
    let ticks = {
        // SAFETY: sysconf has no preconditions.
        let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if t > 0 {
            t as f64
        } else {
            100.0
        }
    };
    let mut total = 0.0;
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // Fields after the command (which may contain spaces) in parentheses.
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
                if let (Some(u), Some(s)) = (f.get(11), f.get(12)) {
                    total +=
                        (u.parse::<f64>().unwrap_or(0.0) + s.parse::<f64>().unwrap_or(0.0)) / ticks;
                }
            }
        }
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                if let Ok(children) = std::fs::read_to_string(t.path().join("children")) {
                    todo.extend(
                        children
                            .split_whitespace()
                            .filter_map(|c| c.parse::<u32>().ok()),
                    );
                }
            }
        }
    }
    total
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((q * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1);
    sorted[i]
}

// ---------------------------------------------------------------------------------------
// Our client.

/// How our client runs: with the keepalive `ApplicationRunner` turns on by default
/// (`BENCH_KEEPALIVE`, default on) and where its sequential calls are made from
/// (`BENCH_SEQ_IN=block_on`, the default, or `task`).
#[derive(Clone, Copy)]
struct RustClient {
    keepalive: bool,
    seq_in_task: bool,
    /// Rounds of [`PAIRED_CALLS`] sequential calls alternating with the floor's.
    paired_rounds: usize,
}

/// Calls per client in one paired round.
const PAIRED_CALLS: usize = 300;

impl RustClient {
    fn from_env() -> Self {
        Self {
            keepalive: std::env::var("BENCH_KEEPALIVE").map_or(true, |v| v != "0"),
            seq_in_task: std::env::var("BENCH_SEQ_IN").is_ok_and(|v| v == "task"),
            paired_rounds: 0,
        }
    }
}

async fn joined(cb: &Crossbar, transport: Transport, keepalive: bool) -> (Session, Lifecycle) {
    let url = transport.url(cb);
    let config = ComponentConfig::new(REALM);
    let (session, mut life) = match transport {
        Transport::WebSocketJson => {
            let ws = WebSocketTransportConfig::with_subprotocols(["wamp.2.json".to_string()]);
            let mut factory = WebSocketClientFactory::new(&url)
                .unwrap_or_else(|e| panic!("WebSocket URL {url}: {e}"));
            if keepalive {
                *factory.options_mut() = ApplicationRunner::default_websocket_options();
            }
            let t = WebSocketTransport::connect_with_factory(factory, &ws)
                .await
                .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
            Session::start(t, config)
        }
        Transport::RawSocketMsgpack => {
            let base = if keepalive {
                ApplicationRunner::default_rawsocket_options()
            } else {
                RawSocketOptions::default()
            };
            let options = RawSocketOptions {
                serializer: SerializerId::MSGPACK,
                ..base
            };
            let t = RawSocketTransport::connect(&url, &options)
                .await
                .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
            Session::start(t, config)
        }
    };
    session
        .join(HelloDetails::new(REALM))
        .await
        .expect("HELLO queued");
    match tokio::time::timeout(Duration::from_secs(30), life.next()).await {
        Ok(Some(SessionEvent::Joined(_))) => {}
        other => panic!("joining over {url}: {other:?}"),
    }
    (session, life)
}

async fn call_echo(session: &Session, uri: &str, i: usize) {
    let r = session
        .call(
            uri,
            vec![Value::from(i as u64)],
            Dict::new(),
            CallOptions::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("calling {uri}: {e}"));
    assert_eq!(r.args, vec![Value::from(i as u64)], "echo of {i}");
}

/// `n` sequential calls; their latencies, µs.
async fn sequential_calls(caller: &Session, uri: &str, n: usize) -> Vec<f64> {
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let s = Instant::now();
        call_echo(caller, uri, i).await;
        lat.push(s.elapsed().as_secs_f64() * 1e6);
    }
    lat
}

/// `n` calls with `k` in flight (tasks sharing a counter).
async fn calls_in_flight(caller: &Session, uri: &str, n: usize, k: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(k);
    for _ in 0..k {
        let (caller, uri, next) = (caller.clone(), uri.to_string(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                call_echo(&caller, &uri, i).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("caller task");
    }
}

fn run_rust(cb: &Crossbar, transport: Transport, counts: Counts, client: RustClient) -> Row {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let uri = crossbar::unique_uri("bench.rs.echo");
    let topic = crossbar::unique_uri("bench.rs.topic");
    rt.block_on(async {
        let (callee, _callee_life) = joined(cb, transport, client.keepalive).await;
        let (caller, _caller_life) = joined(cb, transport, client.keepalive).await;
        let _reg = callee
            .register(
                &uri,
                |args, _kwargs, _details| async move { Ok(CallResult::with_args(args)) },
                RegisterOptions::default(),
            )
            .await
            .expect("register");
        for i in 0..WARMUP {
            call_echo(&caller, &uri, i).await;
        }

        // Sequential: from this future (which `block_on` polls after waking its
        // thread through the driver: an `eventfd` write and an `epoll_wait` per call),
        // or from a task (woken in place), as an application's code may run.
        let (c0, r0, t0) = (process_cpu(), router_cpu(cb), Instant::now());
        let mut lat = if client.seq_in_task {
            let (caller, uri, n) = (caller.clone(), uri.clone(), counts.seq);
            tokio::spawn(async move { sequential_calls(&caller, &uri, n).await })
                .await
                .expect("sequential caller task")
        } else {
            sequential_calls(&caller, &uri, counts.seq).await
        };
        let seq = outcome(counts.seq, t0, c0, r0, cb);

        // Paired rounds with the floor: on a busy machine the client CPU per call of
        // two runs minutes apart differs by 2x or more, so each round compares
        // neighbours in time. The floor blocks this thread: our sessions are idle.
        let mut paired = Vec::with_capacity(client.paired_rounds);
        let (addr, wire) = match transport {
            Transport::WebSocketJson => (cb.ws_addr, floor::Wire::WebSocketJson),
            Transport::RawSocketMsgpack => (cb.rs_addr, floor::Wire::RawSocketMsgpack),
        };
        let floor_round = || {
            let uri = crossbar::unique_uri("bench.floor.echo");
            let (_, cpu) =
                floor::sequential_calls(addr, wire, REALM, &uri, 50, PAIRED_CALLS, process_cpu);
            cpu / PAIRED_CALLS as f64 * 1e6
        };
        for round in 0..client.paired_rounds {
            let floor_first = round % 2 == 1;
            let floor_us = if floor_first { floor_round() } else { 0.0 };
            let c0 = process_cpu();
            if client.seq_in_task {
                let (caller, uri) = (caller.clone(), uri.clone());
                tokio::spawn(async move { sequential_calls(&caller, &uri, PAIRED_CALLS).await })
                    .await
                    .expect("sequential caller task");
            } else {
                sequential_calls(&caller, &uri, PAIRED_CALLS).await;
            }
            let ours_us = (process_cpu() - c0) / PAIRED_CALLS as f64 * 1e6;
            let floor_us = if floor_first { floor_us } else { floor_round() };
            paired.push((ours_us, floor_us));
        }
        lat.sort_by(f64::total_cmp);
        let seq = Outcome {
            p50_us: percentile(&lat, 0.5),
            p99_us: percentile(&lat, 0.99),
            ..seq
        };

        // In flight.
        let (c0, r0, t0) = (process_cpu(), router_cpu(cb), Instant::now());
        calls_in_flight(&caller, &uri, counts.par, IN_FLIGHT).await;
        let par = outcome(counts.par, t0, c0, r0, cb);

        // Publish -> event.
        let (subscriber, _sub_life) = joined(cb, transport, client.keepalive).await;
        let received = Arc::new(AtomicUsize::new(0));
        let last = Arc::new(Mutex::new(None::<Instant>));
        let all_in = Arc::new(tokio::sync::Notify::new());
        let target = counts.publ;
        let _sub = {
            let (received, last, all_in) = (received.clone(), last.clone(), all_in.clone());
            subscriber
                .subscribe(
                    &topic,
                    move |_args, _kwargs, _details| {
                        let n = received.fetch_add(1, Ordering::Relaxed) + 1;
                        if n == target {
                            *last.lock().expect("lock") = Some(Instant::now());
                            all_in.notify_one();
                        }
                        async { Ok(()) }
                    },
                    SubscribeOptions::default(),
                )
                .await
                .expect("subscribe")
        };
        let (c0, r0, t0) = (process_cpu(), router_cpu(cb), Instant::now());
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..IN_FLIGHT {
            let (publisher, topic, next) = (caller.clone(), topic.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let ack = PublishOptions {
                    acknowledge: true,
                    ..PublishOptions::default()
                };
                while next.fetch_add(1, Ordering::Relaxed) < target {
                    publisher
                        .publish(&topic, vec![Value::from(1u64)], Dict::new(), ack.clone())
                        .await
                        .expect("publish");
                }
            }));
        }
        for t in tasks {
            t.await.expect("publisher task");
        }
        if tokio::time::timeout(SCENARIO_LIMIT, all_in.notified())
            .await
            .is_err()
            && received.load(Ordering::Relaxed) < target
        {
            panic!(
                "{}: {} of {target} events arrived",
                transport.name(),
                received.load(Ordering::Relaxed)
            );
        }
        let end = last.lock().expect("lock").unwrap_or_else(Instant::now);
        let wall = (end - t0).as_secs_f64();
        let (c1, r1) = (process_cpu(), router_cpu(cb));
        let publ = Outcome {
            rate: target as f64 / wall,
            client_us: (c1 - c0) / target as f64 * 1e6,
            router_us: (r1 - r0) / target as f64 * 1e6,
            router_busy: (r1 - r0) / wall,
            ..Outcome::default()
        };
        for s in [&callee, &caller, &subscriber] {
            s.disconnect().await;
        }
        Row {
            transport,
            client: "autobahn-rs",
            seq,
            par,
            publ,
            paired,
        }
    })
}

fn outcome(n: usize, t0: Instant, c0: f64, r0: f64, cb: &Crossbar) -> Outcome {
    let wall = t0.elapsed().as_secs_f64();
    let (c1, r1) = (process_cpu(), router_cpu(cb));
    Outcome {
        rate: n as f64 / wall,
        client_us: (c1 - c0) / n as f64 * 1e6,
        router_us: (r1 - r0) / n as f64 * 1e6,
        router_busy: (r1 - r0) / wall,
        ..Outcome::default()
    }
}

// ---------------------------------------------------------------------------------------
// Autobahn|Python (tests/crossbar/bench_peer.py).

fn ask(peer: &mut Peer, command: &str, key: &str) -> serde_json::Value {
    peer.send_line(command);
    peer.wait_for_json(SCENARIO_LIMIT, key)
}

fn num(v: &serde_json::Value, key: &str) -> f64 {
    v.get(key)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or_else(|| panic!("no number {key} in {v}"))
}

fn run_python(cb: &Crossbar, transport: Transport, counts: Counts) -> Row {
    let url = transport.url(cb);
    let prefix = crossbar::unique_uri("bench.py");
    let ser = transport.serializer();
    let peer = |extra: &[&str]| {
        let mut args = vec![url.as_str(), ser, "--prefix", prefix.as_str()];
        args.extend_from_slice(extra);
        let mut p = cb.peer("bench_peer.py", &args);
        p.wait_ready();
        p
    };
    let mut callee = peer(&["--register"]);
    let mut caller = peer(&[]);
    ask(&mut caller, &format!("par {WARMUP} 1"), "par");

    let cpu = |p: &mut Peer| {
        ask(p, "cpu", "cpu")
            .as_f64()
            .expect("cpu time from the peer")
    };
    let (e0, r0, t0) = (cpu(&mut callee), router_cpu(cb), Instant::now());
    let v = ask(&mut caller, &format!("seq {}", counts.seq), "seq");
    let (e1, r1, wall_all) = (cpu(&mut callee), router_cpu(cb), t0.elapsed());
    let wall = num(&v, "wall");
    let n = counts.seq as f64;
    let seq = Outcome {
        rate: n / wall,
        client_us: (num(&v, "cpu") + e1 - e0) / n * 1e6,
        router_us: (r1 - r0) / n * 1e6,
        router_busy: (r1 - r0) / wall_all.as_secs_f64(),
        p50_us: num(&v, "p50_us"),
        p99_us: num(&v, "p99_us"),
    };

    let (e0, r0, t0) = (cpu(&mut callee), router_cpu(cb), Instant::now());
    let v = ask(
        &mut caller,
        &format!("par {} {IN_FLIGHT}", counts.par),
        "par",
    );
    let (e1, r1, wall_all) = (cpu(&mut callee), router_cpu(cb), t0.elapsed());
    let wall = num(&v, "wall");
    let n = counts.par as f64;
    let par = Outcome {
        rate: n / wall,
        client_us: (num(&v, "cpu") + e1 - e0) / n * 1e6,
        router_us: (r1 - r0) / n * 1e6,
        router_busy: (r1 - r0) / wall_all.as_secs_f64(),
        ..Outcome::default()
    };
    drop(callee);

    let mut subscriber = peer(&["--subscribe"]);
    let (s0, r0, t0) = (cpu(&mut subscriber), router_cpu(cb), Instant::now());
    let p = ask(
        &mut caller,
        &format!("pub {} {IN_FLIGHT}", counts.publ),
        "pub",
    );
    let w = ask(&mut subscriber, &format!("wait {}", counts.publ), "wait");
    let (r1, wall_all) = (router_cpu(cb), t0.elapsed());
    let events = num(&w, "events");
    assert_eq!(
        events as usize,
        counts.publ,
        "{}: Python subscriber got {events} of {} events",
        transport.name(),
        counts.publ
    );
    let wall = num(&w, "last") - num(&p, "start");
    let n = counts.publ as f64;
    let publ = Outcome {
        rate: n / wall,
        client_us: (num(&p, "cpu") + num(&w, "cpu") - s0) / n * 1e6,
        router_us: (r1 - r0) / n * 1e6,
        router_busy: (r1 - r0) / wall_all.as_secs_f64(),
        ..Outcome::default()
    };
    Row {
        transport,
        client: "autobahn-python",
        seq,
        par,
        publ,
        paired: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------

/// The row of `client` over `transport`, if that pair ran.
fn row<'a>(rows: &'a [Row], client: &str, transport: Transport) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.client == client && r.transport.name() == transport.name())
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let smoke = !std::env::args().any(|a| a == "--bench");
    let quick = smoke || std::env::var("BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
    let counts = Counts {
        seq: env_usize("BENCH_SEQ").unwrap_or(if quick { 300 } else { 3000 }),
        par: env_usize("BENCH_PAR").unwrap_or(if quick { 2000 } else { 20000 }),
        publ: env_usize("BENCH_PUB").unwrap_or(if quick { 2000 } else { 20000 }),
    };
    let clients = std::env::var("BENCH_CLIENTS").unwrap_or_else(|_| "rust,python,floor".into());
    let started = Instant::now();
    let cb = Crossbar::start();
    eprintln!(
        "wamp_e2e: Crossbar up in {:.1} s; seq {} / par {} / pub {}; load average {}",
        cb.start_time.as_secs_f64(),
        counts.seq,
        counts.par,
        counts.publ,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let rust_client = RustClient {
        paired_rounds: if clients.contains("floor") {
            env_usize("BENCH_PAIRED").unwrap_or(if quick { 2 } else { 10 })
        } else {
            0
        },
        ..RustClient::from_env()
    };
    if clients.contains("rust") {
        eprintln!(
            "  autobahn-rs: keepalive {}, sequential calls from {}",
            if rust_client.keepalive {
                "on (the runner's 10 s / 5 s)"
            } else {
                "off"
            },
            if rust_client.seq_in_task {
                "a task"
            } else {
                "the block_on future"
            }
        );
    }
    let mut rows = Vec::new();
    let transports = std::env::var("BENCH_TRANSPORTS").unwrap_or_else(|_| "ws,rs".into());
    for transport in [Transport::WebSocketJson, Transport::RawSocketMsgpack] {
        if !transports.split(',').any(|t| t.trim() == transport.key()) {
            continue;
        }
        if clients.contains("rust") {
            eprintln!("  {}: autobahn-rs", transport.name());
            rows.push(run_rust(&cb, transport, counts, rust_client));
        }
        if clients.contains("python") {
            eprintln!("  {}: autobahn-python", transport.name());
            rows.push(run_python(&cb, transport, counts));
        }
    }

    println!();
    println!(
        "Client CPU = CPU time of both client sessions per call (event); router CPU likewise; \
         router busy = router CPU time / wall time."
    );
    println!();
    println!(
        "| transport | client | sequential calls/s | p50 µs | p99 µs | client CPU µs/call | router CPU µs/call | \
         {IN_FLIGHT} in flight calls/s | client CPU µs/call | router busy | \
         publish→event events/s | client CPU µs/event | router busy |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} | {:.1} | {:.0} % | {:.0} | {:.1} | {:.0} % |",
            r.transport.name(),
            r.client,
            r.seq.rate,
            r.seq.p50_us,
            r.seq.p99_us,
            r.seq.client_us,
            r.seq.router_us,
            r.par.rate,
            r.par.client_us,
            r.par.router_busy * 100.0,
            r.publ.rate,
            r.publ.client_us,
            r.publ.router_busy * 100.0,
        );
    }
    println!();
    for t in [Transport::WebSocketJson, Transport::RawSocketMsgpack] {
        let find = |c: &str| row(&rows, c, t);
        if let (Some(rs), Some(py)) = (find("autobahn-rs"), find("autobahn-python")) {
            println!(
                "{}: client CPU autobahn-rs / autobahn-python: sequential {:.3}, {IN_FLIGHT} in flight {:.3}, publish→event {:.3}",
                t.name(),
                rs.seq.client_us / py.seq.client_us,
                rs.par.client_us / py.par.client_us,
                rs.publ.client_us / py.publ.client_us,
            );
        }
    }
    if clients.contains("floor") {
        for transport in [Transport::WebSocketJson, Transport::RawSocketMsgpack] {
            if !transports.split(',').any(|t| t.trim() == transport.key()) {
                continue;
            }
            let (addr, wire) = match transport {
                Transport::WebSocketJson => (cb.ws_addr, floor::Wire::WebSocketJson),
                Transport::RawSocketMsgpack => (cb.rs_addr, floor::Wire::RawSocketMsgpack),
            };
            let uri = crossbar::unique_uri("bench.floor.echo");
            let (wall, cpu) =
                floor::sequential_calls(addr, wire, REALM, &uri, WARMUP, counts.seq, process_cpu);
            let floor_us = cpu / counts.seq as f64 * 1e6;
            println!(
                "floor ({}, blocking sockets, one thread): sequential {:.0} calls/s, \
                 client CPU {floor_us:.1} µs/call",
                transport.name(),
                counts.seq as f64 / wall
            );
            let find = |c: &str| row(&rows, c, transport);
            if let Some(py) = find("autobahn-python") {
                println!(
                    "  floor / autobahn-python: {:.3} (the sequential target, 0.1, is below the floor if this is above it)",
                    floor_us / py.seq.client_us
                );
            }
            if let Some(rs) = find("autobahn-rs") {
                println!("  autobahn-rs / floor: {:.2}", rs.seq.client_us / floor_us);
                if !rs.paired.is_empty() {
                    let median = |mut v: Vec<f64>| {
                        v.sort_by(f64::total_cmp);
                        percentile(&v, 0.5)
                    };
                    let ratios: Vec<f64> = rs.paired.iter().map(|(o, f)| o / f).collect();
                    let (lo, hi) = ratios
                        .iter()
                        .fold((f64::INFINITY, 0.0f64), |(l, h), r| (l.min(*r), h.max(*r)));
                    println!(
                        "  paired rounds ({} × {PAIRED_CALLS} calls each): autobahn-rs median {:.1} µs/call, \
                         floor median {:.1} µs/call, autobahn-rs / floor median {:.2} (rounds {lo:.2}–{hi:.2})",
                        rs.paired.len(),
                        median(rs.paired.iter().map(|p| p.0).collect()),
                        median(rs.paired.iter().map(|p| p.1).collect()),
                        median(ratios.clone()),
                    );
                }
            }
        }
    }
    println!(
        "load average after the run: {}; total {:.0} s",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        started.elapsed().as_secs_f64()
    );
}
