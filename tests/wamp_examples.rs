//! Runs every WAMP example pair against a real Crossbar.io router and checks what each one
//! prints (the counterpart of Autobahn|Python's `examples/run-all-examples.py`).
//!
//! The example binaries are not built by `cargo test --test wamp_examples`; build them first:
//!
//! ```text
//! cargo build --examples && cargo test --test wamp_examples
//! ```
//!
//! (A plain `cargo test` builds the examples too.) A missing or stale binary fails the test with
//! that hint. The pairs share one router and the same URIs (`com.myapp.topic1` ...), as in the
//! seed, so they run one at a time. Per pair: start the backend, wait for `backend ready`, run
//! the frontend to its exit (status 0 within a limit), check its lines (and the backend's where
//! the backend's output is part of the example), kill the backend.

#[path = "common_crossbar/mod.rs"]
mod crossbar;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbar::Crossbar;

/// From start to `backend ready` (connect + join + register/subscribe).
const READY_LIMIT: Duration = Duration::from_secs(30);
/// From start to exit for a frontend (the slowest pair needs ~7 s; a frontend gives up by
/// itself after 60 s).
const FRONTEND_LIMIT: Duration = Duration::from_secs(90);
/// Bound on waiting for the backend lines that follow the frontend's last request (they
/// are awaited, not given a fixed window: a loaded 2-core machine may print them late).
const BACKEND_LIMIT: Duration = Duration::from_secs(30);

/// The pairs share URIs, so only one runs at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// `target/<profile>/examples/<name>`, next to this test's `target/<profile>/deps/`.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps");
    let bin = profile_dir.join("examples").join(name);
    let hint = "run `cargo build --examples` (with the same profile and CARGO_TARGET_DIR) first";
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("example binary {} is missing: {hint}", bin.display()));
    // Cargo's dep-info file next to the binary lists every source file it was built from.
    let dep_info = std::fs::read_to_string(bin.with_extension("d")).unwrap_or_default();
    let sources = dep_info.split_once(": ").map_or("", |(_, deps)| deps);
    let newer = sources.split_whitespace().find(|src| {
        std::fs::metadata(src)
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > built)
    });
    if let Some(newer) = newer {
        panic!(
            "example binary {} is older than {newer}: {hint}",
            bin.display()
        );
    }
    bin
}

/// A running example process: its stdout lines arrive through a channel, its stderr is kept
/// for failure messages. Killed and reaped on drop.
struct Proc {
    label: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(example: &str, args: &[&str]) -> Proc {
        Proc::spawn_env(example, args, &[])
    }

    fn spawn_env(example: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let bin = example_binary(example);
        let mut child = Command::new(&bin)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Proc {
            label: format!("{example} {}", args.first().copied().unwrap_or("")),
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn context(&self) -> String {
        format!(
            "{}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.label,
            self.seen.join("\n"),
            self.stderr()
        )
    }

    /// Waits for a stdout line equal to `want`.
    fn wait_for_line(&mut self, want: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line == want;
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no line {want:?} within {limit:?}: {}", self.context())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "exited ({status:?}) before printing {want:?}: {}",
                        self.context()
                    )
                }
            }
        }
    }

    /// Collects lines until `done` holds for all lines seen so far (failing after `limit`).
    fn drain_until(&mut self, limit: Duration, done: impl Fn(&[String]) -> bool) -> &[String] {
        let deadline = Instant::now() + limit;
        while !done(&self.seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!("backend lines incomplete ({e:?}): {}", self.context()),
            }
        }
        &self.seen
    }

    /// Collects the lines that arrive within `wait`.
    fn drain(&mut self, wait: Duration) -> &[String] {
        let deadline = Instant::now() + wait;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line);
        }
        &self.seen
    }

    /// Waits for the process to exit (killing it after `limit`); returns its status and all of
    /// its stdout lines.
    fn finish(&mut self, limit: Duration) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    self.drain(Duration::from_millis(100));
                    panic!("still running after {limit:?}: {}", self.context());
                }
                Err(e) => panic!("waiting for {}: {e}", self.label),
            }
        };
        // The reader thread ends at EOF, which follows the exit.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, self.seen.clone())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs one pair: backend up, frontend to completion (must exit 0), then `check` with the
/// frontend's lines and the backend (still running).
fn run_pair(example: &str, check: impl FnOnce(&[String], &mut Proc)) {
    let cb = Crossbar::shared();
    run_pair_over(example, &cb.ws_url, None, check);
}

/// The transports the examples are run over, by the URL that picks each.
fn transports(cb: &Crossbar) -> [(&'static str, String); 2] {
    [
        ("websocket", cb.ws_url.clone()),
        ("rawsocket", cb.rs_url.clone()),
    ]
}

/// Runs one pair over `url`, both sides with `--serializer serializer` when given (and
/// then checks from their debug log that it is the serializer in use); see [`run_pair`].
fn run_pair_over(
    example: &str,
    url: &str,
    serializer: Option<&str>,
    check: impl FnOnce(&[String], &mut Proc),
) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let mut args = vec![url, crossbar::REALM];
    if let Some(s) = serializer {
        args.extend(["--serializer", s]);
    }
    let env: &[(&str, &str)] = match serializer {
        Some(_) => &[("RUST_LOG", "autobahn=debug"), ("NO_COLOR", "1")],
        None => &[],
    };
    let role = |r: &'static str| [&[r][..], &args].concat();
    let mut backend = Proc::spawn_env(example, &role("backend"), env);
    backend.wait_for_line("backend ready", READY_LIMIT);
    let mut frontend = Proc::spawn_env(example, &role("frontend"), env);
    let (status, lines) = frontend.finish(FRONTEND_LIMIT);
    if let Some(s) = serializer {
        for side in [&frontend, &backend] {
            let log = side.stderr();
            let negotiated = [
                format!("subprotocol=wamp.2.{s}"),
                format!("serializer=\"{s}\""),
            ];
            assert!(
                negotiated.iter().any(|n| log.contains(n.as_str())),
                "{} did not connect with {s}: {}",
                side.label,
                side.context()
            );
        }
    }
    assert!(
        status.success(),
        "frontend failed ({status}): {}\n=== backend: {}",
        frontend.context(),
        backend.context()
    );
    let context = format!("{}\n=== backend: {}", frontend.context(), backend.context());
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&lines, &mut backend)));
    if let Err(panic) = result {
        eprintln!("=== frontend: {context}");
        std::panic::resume_unwind(panic);
    }
    // Shown with --nocapture: what a user running the pair would see.
    eprintln!(
        "{example} over {url} ({}): ok in {:.1} s; the frontend printed:\n    {}",
        serializer.unwrap_or("default serializers"),
        started.elapsed().as_secs_f64(),
        lines.join("\n    ")
    );
}

/// The lines starting with `prefix`, with the prefix removed.
fn after<'a>(lines: &'a [String], prefix: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix))
        .collect()
}

fn index_of(lines: &[String], pred: impl Fn(&str) -> bool) -> usize {
    lines
        .iter()
        .position(|l| pred(l))
        .unwrap_or_else(|| panic!("no matching line in {lines:#?}"))
}

fn ints(values: &[&str]) -> Vec<i64> {
    values
        .iter()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("not an integer: {v:?}"))
        })
        .collect()
}

#[test]
fn usage_without_a_role() {
    let out = Command::new(example_binary("wamp_rpc_timeservice"))
        .output()
        .expect("running the example");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("usage: "), "{err}");
    assert!(err.contains("--serializer"), "{err}");
    assert!(out.stdout.is_empty());
    for bad in [
        &["frontend", "--serializer", "ubjson"][..],
        &["frontend", "--keepalive", "soon"],
        &["frontend", "--transport=rawsocket"],
    ] {
        let out = Command::new(example_binary("wamp_rpc_timeservice"))
            .args(bad)
            .output()
            .expect("running the example");
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage: "), "{bad:?}: {err}");
    }
}

#[test]
fn frontend_fails_without_a_router() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("ws://127.0.0.1:{port}/ws");
    let mut p = Proc::spawn("wamp_rpc_timeservice", &["frontend", &url]);
    let (status, lines) = p.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{}", p.context());
    assert!(lines.is_empty(), "{lines:?}");
}

#[test]
fn pubsub_basic() {
    run_pair("wamp_pubsub_basic", check_pubsub_basic);
}

fn check_pubsub_basic(lines: &[String], backend: &mut Proc) {
    let counters = ints(&after(lines, "Got event: "));
    assert_eq!(counters.len(), 5, "{lines:?}");
    assert!(
        counters.windows(2).all(|w| w[1] == w[0] + 1),
        "events out of order or missing: {counters:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("Received 5 events, leaving")
    );
    // The backend published what the frontend received.
    let last = format!("Published event {}", counters[4]);
    backend.drain_until(BACKEND_LIMIT, |out| out.contains(&last));
}

#[test]
fn rpc_timeservice() {
    run_pair("wamp_rpc_timeservice", |lines, _backend| {
        let now = after(lines, "Current time from time service: ");
        assert_eq!(now.len(), 1, "{lines:?}");
        // YYYY-MM-DDTHH:MM:SSZ
        let shape: String = now[0]
            .chars()
            .map(|c| if c.is_ascii_digit() { 'd' } else { c })
            .collect();
        assert_eq!(shape, "dddd-dd-ddTdd:dd:ddZ", "{}", now[0]);
    });
}

#[test]
fn pubsub_complex() {
    run_pair("wamp_pubsub_complex", |lines, _backend| {
        let events = after(lines, "Got event: ");
        assert_eq!(events.len(), 5, "{lines:?}");
        let mut counters = Vec::new();
        for e in &events {
            // `<0..100> "Hello, world!" c="Hello" d=Counter { counter: N, foo: [1, 2, 3] }`
            let (number, rest) = e.split_once(' ').expect("a space");
            let n: u32 = number.parse().expect("a number");
            assert!(n < 100, "{e}");
            let counter = rest
                .strip_prefix(r#""Hello, world!" c="Hello" d=Counter { counter: "#)
                .and_then(|r| r.strip_suffix(", foo: [1, 2, 3] }"))
                .unwrap_or_else(|| panic!("unexpected event line {e:?}"));
            counters.push(counter.parse::<i64>().expect("a counter"));
        }
        assert!(
            counters.windows(2).all(|w| w[1] == w[0] + 1),
            "{counters:?}"
        );
        let beats = after(lines, "Got heartbeat (publication ID ");
        assert!(!beats.is_empty(), "no heartbeat: {lines:?}");
        for b in beats {
            let id = b.strip_suffix(')').expect("closing parenthesis");
            assert!(id.parse::<u64>().is_ok(), "{b}");
        }
        assert_eq!(
            lines.last().map(String::as_str),
            Some("Received 5 events, leaving")
        );
    });
}

#[test]
fn pubsub_options() {
    run_pair("wamp_pubsub_options", |lines, backend| {
        // `Got event, publication ID P, publisher S: N`: the publisher is disclosed.
        let events = after(lines, "Got event, publication ID ");
        assert_eq!(events.len(), 5, "{lines:?}");
        let mut publishers = Vec::new();
        let mut publications = Vec::new();
        for e in &events {
            let (publication, rest) = e.split_once(", publisher ").expect("publisher");
            let (publisher, _value) = rest.split_once(": ").expect("value");
            publications.push(publication.parse::<u64>().expect("publication ID"));
            publishers.push(publisher.parse::<u64>().expect("publisher session ID"));
        }
        assert!(
            publishers.windows(2).all(|w| w[0] == w[1]),
            "{publishers:?}"
        );
        // The backend got its publication IDs from acknowledgements, and (exclude_me: false)
        // received its own events.
        let acked = |out: &[String]| -> Vec<u64> {
            ints(&after(out, "Event published with publication ID "))
                .into_iter()
                .map(|i| i as u64)
                .collect()
        };
        backend.drain_until(BACKEND_LIMIT, |out| {
            let acked = acked(out);
            publications.iter().all(|p| acked.contains(p)) && after(out, "Got event: ").len() >= 5
        });
    });
}

#[test]
fn pubsub_unsubscribe() {
    run_pair("wamp_pubsub_unsubscribe", |lines, _backend| {
        let subscribed = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with("Subscribed with subscription ID "))
            .map(|(i, _)| i)
            .collect::<Vec<_>>();
        assert_eq!(subscribed.len(), 2, "{lines:?}");
        let paused = index_of(lines, |l| l == "Unsubscribed .. continue in 2s ..");
        assert!(
            subscribed[0] < paused && paused < subscribed[1],
            "{lines:?}"
        );
        let first = ints(&after(&lines[subscribed[0]..paused], "Got event: "));
        // The handler may print the new subscription's first event before `subscribe`
        // returns and the frontend prints "Subscribed": count from the pause.
        let second = ints(&after(&lines[paused..], "Got event: "));
        assert!(first.len() >= 5 && second.len() >= 5, "{lines:?}");
        // Publishing went on during the 2 s pause (every 0.5 s): those events were missed
        // (an event delivered while unsubscribed would close the gap).
        let (last, next) = (first[first.len() - 1], second[0]);
        assert!(
            next >= last + 3,
            "no gap between {last} and {next}: {lines:?}"
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("Received 10 events, leaving")
        );
    });
}

#[test]
fn rpc_slowsquare() {
    run_pair("wamp_rpc_slowsquare", |lines, _backend| {
        let quick = index_of(lines, |l| l.starts_with("Quick Square: 9 in "));
        let slow = index_of(lines, |l| l.starts_with("Slow Square: 9 in "));
        // Both calls were in flight together: the quick one came back first.
        assert!(quick < slow, "{lines:?}");
        let ms = |l: &str| -> u64 {
            let tail = l.rsplit_once(" in ").expect("duration").1;
            tail.strip_suffix(" ms")
                .expect("ms")
                .parse()
                .expect("a number")
        };
        let (quick_ms, slow_ms) = (ms(&lines[quick]), ms(&lines[slow]));
        assert!(slow_ms >= 1000, "{lines:?}");
        assert!(quick_ms < slow_ms, "{lines:?}");
        assert_eq!(lines.last().map(String::as_str), Some("All finished."));
    });
}

#[test]
fn rpc_arguments() {
    run_pair("wamp_rpc_arguments", check_rpc_arguments);
}

/// The arguments pair (values checked exactly) and the basic PubSub pair over both
/// transports with each serializer, chosen on the command line.
#[test]
fn pairs_over_every_transport_and_serializer() {
    let cb = Crossbar::shared();
    for (transport, url) in transports(cb) {
        for serializer in crossbar::SERIALIZERS {
            eprintln!("--- {transport}, {serializer}");
            run_pair_over(
                "wamp_rpc_arguments",
                &url,
                Some(serializer),
                check_rpc_arguments,
            );
            run_pair_over(
                "wamp_pubsub_basic",
                &url,
                Some(serializer),
                check_pubsub_basic,
            );
        }
    }
}

fn check_rpc_arguments(lines: &[String], _backend: &mut Proc) {
    let products = |n: usize| {
        let names: Vec<String> = (0..n).map(|i| format!("\"Product {i}\"")).collect();
        format!("[{}]", names.join(", "))
    };
    let want = [
        "Pinged!".to_owned(),
        "Add2: 5".into(),
        "Starred 1: somebody starred 0x".into(),
        "Starred 2: Homer starred 0x".into(),
        "Starred 3: somebody starred 5x".into(),
        "Starred 4: Homer starred 5x".into(),
        format!("Orders 1: {}", products(5)),
        format!("Orders 2: {}", products(10)),
        "Arglen 1: [0, 0]".into(),
        "Arglen 2: [3, 0]".into(),
        "Arglen 3: [0, 3]".into(),
        "Arglen 4: [3, 3]".into(),
    ];
    assert_eq!(lines, want);
}

#[test]
fn rpc_complex() {
    run_pair("wamp_rpc_complex", |lines, _backend| {
        assert_eq!(
            lines,
            ["Result: 6 + 8i", "Forename: Homer, Surname: Simpson"]
        );
    });
}

#[test]
fn rpc_errors() {
    run_pair("wamp_rpc_errors", |lines, _backend| {
        let length =
            r#"Error: com.myapp.error.invalid_length args=[] kwargs={"max": 10, "min": 3}"#;
        assert_eq!(
            lines,
            [
                "Result: 1.4142135623730951",
                "Error: wamp.error.runtime_error: don't ask foolish questions ;)",
                "Error: wamp.error.runtime_error: math domain error",
                "Error: com.myapp.error.reserved args=[] kwargs={}",
                length,
                length,
                r#"Error: com.myapp.error.mixed_case args=["hello", "HELLO"] kwargs={}"#,
                "Compare Error: AppError1(14)",
            ]
        );
    });
}

#[test]
fn rpc_progress() {
    run_pair("wamp_rpc_progress", |lines, _backend| {
        assert_eq!(
            lines,
            [
                "Progress: 0",
                "Progress: 1",
                "Progress: 2",
                "Final: 3",
                "Stream progress: 0",
                "Stream progress: 1",
                "Stream final: 2",
            ]
        );
    });
}

#[test]
fn rpc_options() {
    run_pair("wamp_rpc_options", |lines, backend| {
        for want in ["Squared 2 = 4", "Squared 0 = 0", "Squared -2 = 4"] {
            assert!(lines.iter().any(|l| l == want), "no {want:?}: {lines:?}");
        }
        // Told about -2, not about 0 (the caller was excluded from that one).
        let events = after(lines, "Someone requested to square non-positive: ");
        assert_eq!(events, ["-2"], "{lines:?}");
        // The dealer disclosed the caller to the callee, for each of the three calls.
        let out = backend.drain_until(BACKEND_LIMIT, |out| {
            after(out, "square called from: ").len() >= 3
        });
        let callers = after(out, "square called from: ");
        assert_eq!(callers.len(), 3, "{out:?}");
        for c in callers {
            assert!(c.parse::<u64>().is_ok(), "caller not disclosed: {out:?}");
        }
    });
}

/// Each authentication example joins the router's `/auth` WebSocket path and its RawSocket
/// transport with the test users, and reports the router's refusal of a wrong secret.
#[test]
fn auth_examples() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cb = Crossbar::shared();
    let cases = [
        ("wamp_auth_ticket", "ticketuser", "ticket", vec![]),
        ("wamp_auth_wampcra", "crauser", "wampcra", vec![]),
        (
            "wamp_auth_wampcra",
            "crasalted",
            "wampcra",
            vec![
                ("WAMP_AUTHID", "crasalted"),
                ("WAMP_SECRET", "crasaltedsecret"),
            ],
        ),
        ("wamp_auth_cryptosign", "cryptouser", "cryptosign", vec![]),
        ("wamp_auth_scram", "scramuser", "scram", vec![]),
    ];
    for url in [cb.auth_ws_url.as_str(), cb.rs_url.as_str()] {
        for (example, authid, method, env) in &cases {
            let mut p = Proc::spawn_env(example, &[url, crossbar::REALM], env);
            let (status, lines) = p.finish(FRONTEND_LIMIT);
            assert!(status.success(), "{example} over {url}: {}", p.context());
            let want =
                format!("joined realm1 as {authid} (authmethod {method}, authrole authenticated)");
            assert!(lines.contains(&want), "{example}: {lines:?}");
            eprintln!("{example} over {url}: {}", lines.join(" | "));
        }
        let mut p = Proc::spawn_env(
            "wamp_auth_ticket",
            &[url, crossbar::REALM],
            &[("WAMP_SECRET", "wrong")],
        );
        let (status, _) = p.finish(FRONTEND_LIMIT);
        assert!(!status.success());
        let err = p.stderr();
        assert!(
            err.contains("not joined: wamp.error.not_authorized: ticket in static WAMP-Ticket authentication is invalid"),
            "{err}"
        );
    }
}
