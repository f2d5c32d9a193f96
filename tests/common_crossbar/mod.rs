//! A real Crossbar.io router and Autobahn|Python peers for integration tests.
//!
//! Include it from an integration test with
//! `#[path = "common_crossbar/mod.rs"] mod crossbar;`, then:
//!
//! ```ignore
//! let cb = crossbar::Crossbar::start();          // or Crossbar::shared()
//! let mut callee = cb.peer("callee.py", &[&cb.ws_url, "json"]);
//! callee.wait_ready();
//! // ... connect the Rust client to cb.ws_url / cb.rs_url / cb.unix_path ...
//! ```
//!
//! The first use on a machine installs Crossbar.io (pinned in `tests/crossbar/requirements.txt`
//! and `constraints.txt`) into `<target dir>/crossbar-venv`, which takes minutes; later uses reuse
//! it. Every router runs in its own node directory under `<target dir>/crossbar-nodes/` on fresh
//! loopback ports. Routers and peers stop when dropped, and also when the test process dies (they
//! watch their stdin), so none outlives the test run. See `tests/crossbar/README.md`.

#![allow(dead_code)] // each test binary uses a different part of this module

mod install;
mod peer;

pub use install::{installation, Installation};
pub use peer::Peer;

use std::fs::{self, File};
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a router may take from spawn to accepting WAMP sessions on all transports.
pub const START_LIMIT: Duration = Duration::from_secs(90);
/// How long [`Crossbar`]'s drop waits for the router to shut down before killing it.
const STOP_LIMIT: Duration = Duration::from_secs(15);
/// How many times a start is retried when the router could not bind its ports (another process
/// took a free port between our probe and the router's bind).
const START_ATTEMPTS: usize = 3;

/// The realm every transport serves.
pub const REALM: &str = "realm1";
/// The serializers every transport accepts, as the peer scripts name them.
pub const SERIALIZERS: [&str; 3] = ["json", "msgpack", "cbor"];

/// Test-only credentials configured on the `/auth` WebSocket path (`tests/crossbar/config.json`).
/// All of them get the role `authenticated`.
pub mod creds {
    /// WAMP-Ticket authid.
    pub const TICKET_AUTHID: &str = "ticketuser";
    /// WAMP-Ticket ticket.
    pub const TICKET: &str = "secret123";
    /// WAMP-CRA authid (unsalted secret).
    pub const CRA_AUTHID: &str = "crauser";
    /// WAMP-CRA secret.
    pub const CRA_SECRET: &str = "crasecret";
    /// WAMP-CRA authid whose secret the router salts (PBKDF2) before use.
    pub const CRA_SALTED_AUTHID: &str = "crasalted";
    /// That user's secret (the client derives the key from it with the challenge's parameters).
    pub const CRA_SALTED_SECRET: &str = "crasaltedsecret";
    /// The salt the router sends in the challenge.
    pub const CRA_SALT: &str = "salt123";
    /// PBKDF2 iterations the router sends in the challenge.
    pub const CRA_ITERATIONS: u32 = 100;
    /// Derived key length the router sends in the challenge.
    pub const CRA_KEYLEN: u32 = 32;
    /// WAMP-Cryptosign authid.
    pub const CRYPTOSIGN_AUTHID: &str = "cryptouser";
    /// TEST ONLY Ed25519 private key seed (32 bytes, hex), = SHA-256 of
    /// "autobahn-rs crossbar TEST ONLY cryptosign key".
    pub const CRYPTOSIGN_SEED_HEX: &str =
        "8965cbbd80c91aa1042a77d15fbb0c6a91c63d0bfd470f7131dea65bdccffda4";
    /// Its public key (hex), the one authorized on the router.
    pub const CRYPTOSIGN_PUBKEY_HEX: &str =
        "b60259bbae3b43e4552ec976f00214d821a0de90514b8dba4cd42da1b090342e";
    /// The role all of the users above get.
    pub const AUTHROLE: &str = "authenticated";
}

/// A running Crossbar.io node (one router worker); stopped and reaped when dropped.
#[derive(Debug)]
pub struct Crossbar {
    /// Anonymous WebSocket transport: `ws://127.0.0.1:<port>/ws` (json, msgpack, cbor).
    pub ws_url: String,
    /// Authenticating WebSocket transport: `ws://127.0.0.1:<port>/auth` (ticket, wampcra,
    /// cryptosign; see [`creds`]).
    pub auth_ws_url: String,
    /// The WebSocket transport's address.
    pub ws_addr: SocketAddr,
    /// Anonymous RawSocket over TCP: `rs://127.0.0.1:<port2>`.
    pub rs_url: String,
    /// The RawSocket transport's address.
    pub rs_addr: SocketAddr,
    /// Anonymous RawSocket over a Unix socket at this path.
    pub unix_path: PathBuf,
    /// `rs://unix:<unix_path>`, the form the Python peers take.
    pub unix_url: String,
    /// The node directory (config, keys, `node.log`, peers' stderr logs).
    pub node_dir: PathBuf,
    /// How long the node took from spawn to ready.
    pub start_time: Duration,
    guard: Child,
    guard_stdin: Option<ChildStdin>,
    peers_started: AtomicUsize,
}

impl Crossbar {
    /// Starts a new router (installing Crossbar.io first if needed) and waits until all its
    /// transports accept connections. Panics with the node log if it does not come up within
    /// [`START_LIMIT`].
    pub fn start() -> Crossbar {
        let inst = installation();
        let mut last_log = String::new();
        for attempt in 1..=START_ATTEMPTS {
            match Crossbar::try_start(inst) {
                Ok(cb) => return cb,
                Err(StartError::PortTaken(log)) if attempt < START_ATTEMPTS => {
                    eprintln!("crossbar harness: a port was taken, retrying with new ones");
                    last_log = log;
                }
                Err(StartError::PortTaken(log)) | Err(StartError::Failed(log)) => {
                    last_log = log;
                    break;
                }
            }
        }
        panic!("Crossbar.io did not start:\n{last_log}");
    }

    /// One router for the whole test binary, started on first use. It is never dropped; it stops
    /// when the test process exits (its guard sees stdin close). Tests sharing it should use
    /// distinct URIs ([`unique_uri`]).
    pub fn shared() -> &'static Crossbar {
        static SHARED: OnceLock<Crossbar> = OnceLock::new();
        SHARED.get_or_init(Crossbar::start)
    }

    fn try_start(inst: &Installation) -> Result<Crossbar, StartError> {
        let nodes = install::target_dir().join("crossbar-nodes");
        let _ = fs::create_dir_all(&nodes);
        remove_old_node_dirs(&nodes);
        let node_dir = nodes.join(unique_name());
        fs::create_dir_all(&node_dir)
            .map_err(|e| StartError::Failed(format!("creating {}: {e}", node_dir.display())))?;
        let (ws_port, rs_port) = free_ports();
        let mut unix_path = node_dir.join("router.sock");
        if unix_path.as_os_str().len() > 100 {
            // sun_path holds 108 bytes; fall back to a short path
            unix_path = std::env::temp_dir().join(format!("cb-{}.sock", unique_name()));
        }
        let template = fs::read_to_string(install::crossbar_dir().join("config.json"))
            .map_err(|e| StartError::Failed(format!("reading config.json: {e}")))?;
        let unix_str = unix_path
            .to_str()
            .ok_or_else(|| StartError::Failed(format!("non-UTF-8 path {}", unix_path.display())))?;
        let config = template
            .replace("\"@WS_PORT@\"", &ws_port.to_string())
            .replace("\"@RS_PORT@\"", &rs_port.to_string())
            .replace("@UNIX_PATH@", unix_str);
        fs::write(node_dir.join("config.json"), config)
            .map_err(|e| StartError::Failed(format!("writing config.json: {e}")))?;

        let started = Instant::now();
        let mut guard = spawn_guard(inst, &node_dir)?;
        let guard_stdin = guard.stdin.take();
        let ws_addr = SocketAddr::from(([127, 0, 0, 1], ws_port));
        let rs_addr = SocketAddr::from(([127, 0, 0, 1], rs_port));
        let mut cb = Crossbar {
            ws_url: format!("ws://127.0.0.1:{ws_port}/ws"),
            auth_ws_url: format!("ws://127.0.0.1:{ws_port}/auth"),
            ws_addr,
            rs_url: format!("rs://127.0.0.1:{rs_port}"),
            rs_addr,
            unix_url: format!("rs://unix:{unix_str}"),
            unix_path,
            node_dir,
            start_time: Duration::ZERO,
            guard,
            guard_stdin,
            peers_started: AtomicUsize::new(0),
        };
        // on failure `cb` is dropped here, which stops whatever did start
        cb.start_time = cb.wait_ready(started)?;
        Ok(cb)
    }

    /// Stops the router (as a crash or an operator would) and starts it again on the same
    /// ports and Unix socket, waiting until it is ready: for reconnect tests.
    pub fn restart(&mut self) {
        self.stop_node();
        if !self.unix_path.starts_with(&self.node_dir) {
            let _ = fs::remove_file(&self.unix_path);
        }
        // The new node appends to the same log; readiness must look at its own output.
        let _ = fs::rename(
            self.node_dir.join("node.log"),
            self.node_dir.join("node.before-restart.log"),
        );
        let started = Instant::now();
        let mut guard = match spawn_guard(installation(), &self.node_dir) {
            Ok(g) => g,
            Err(StartError::PortTaken(e) | StartError::Failed(e)) => {
                panic!("restarting crossbar: {e}")
            }
        };
        self.guard_stdin = guard.stdin.take();
        self.guard = guard;
        match self.wait_ready(started) {
            Ok(t) => self.start_time = t,
            Err(StartError::PortTaken(log)) | Err(StartError::Failed(log)) => {
                panic!("Crossbar.io did not restart:\n{log}")
            }
        }
    }

    /// Stops the node process (SIGTERM through the guard, SIGKILL if it lingers).
    fn stop_node(&mut self) {
        // Closing the guard's stdin makes it SIGTERM the node (SIGKILL after 10 s) and exit.
        drop(self.guard_stdin.take());
        let deadline = Instant::now() + STOP_LIMIT;
        let stopped = loop {
            match self.guard.try_wait() {
                Ok(Some(_)) => break true,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => break false,
            }
        };
        if !stopped {
            eprintln!("crossbar harness: node did not stop within {STOP_LIMIT:?}, killing it");
            if let Some(pid) = node_pid(&self.node_dir) {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
            }
            let _ = self.guard.kill();
            let _ = self.guard.wait();
        }
    }

    /// Polls until the node has booted and every transport accepts a connection.
    fn wait_ready(&mut self, started: Instant) -> Result<Duration, StartError> {
        loop {
            if let Ok(Some(status)) = self.guard.try_wait() {
                let log = self.log();
                let msg = format!(
                    "crossbar exited ({status}) while starting; node log:\n{}",
                    tail(&log, 150)
                );
                return Err(
                    if log.contains("Address already in use") || log.contains("Couldn't listen") {
                        StartError::PortTaken(msg)
                    } else {
                        StartError::Failed(msg)
                    },
                );
            }
            if self.is_ready() {
                return Ok(started.elapsed());
            }
            if started.elapsed() > START_LIMIT {
                return Err(StartError::Failed(format!(
                    "crossbar not ready after {START_LIMIT:?}; node log:\n{}",
                    tail(&self.log(), 150)
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn is_ready(&self) -> bool {
        let t = Duration::from_millis(250);
        self.log().contains("NODE_BOOT_COMPLETE")
            && TcpStream::connect_timeout(&self.ws_addr, t).is_ok()
            && TcpStream::connect_timeout(&self.rs_addr, t).is_ok()
            && UnixStream::connect(&self.unix_path).is_ok()
    }

    /// The node's log so far (Crossbar's controller and router output).
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(self.node_dir.join("node.log")) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Starts `tests/crossbar/<script>` with the venv's Python: stdin and stdout piped, stderr to
    /// a file in the node directory. The script exits when its stdin closes. Prefer
    /// [`Crossbar::peer`], which reads the stdout lines for you and kills the process on drop.
    pub fn python(&self, script: &str, args: &[&str]) -> Child {
        self.spawn_python(script, args).0
    }

    /// Starts a peer script (see [`Crossbar::python`]) wrapped in a [`Peer`].
    pub fn peer(&self, script: &str, args: &[&str]) -> Peer {
        let (child, stderr_path) = self.spawn_python(script, args);
        Peer::new(script, child, stderr_path)
    }

    fn spawn_python(&self, script: &str, args: &[&str]) -> (Child, PathBuf) {
        let inst = installation();
        let n = self.peers_started.fetch_add(1, Ordering::Relaxed);
        let stderr_path = self.node_dir.join(format!("peer-{n}-{script}.stderr.log"));
        let stderr = File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", stderr_path.display()));
        let child = Command::new(&inst.python)
            .arg("-u")
            .arg(install::crossbar_dir().join(script))
            .args(args)
            .current_dir(install::crossbar_dir())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {script}: {e}"));
        (child, stderr_path)
    }
}

impl Drop for Crossbar {
    fn drop(&mut self) {
        self.stop_node();
        if !self.unix_path.starts_with(&self.node_dir) {
            let _ = fs::remove_file(&self.unix_path);
        }
        // Keep the node directory (logs) of a failed test for inspection.
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.node_dir);
        }
    }
}

enum StartError {
    /// The router could not bind a port; worth retrying with other ports.
    PortTaken(String),
    Failed(String),
}

/// A URI under `base` that no other test in any process on this machine uses.
/// Spawns `node_guard.py` running `crossbar start` in `node_dir` (whose config.json is
/// written), logging to `node_dir/node.log`.
fn spawn_guard(inst: &Installation, node_dir: &std::path::Path) -> Result<Child, StartError> {
    let log_path = node_dir.join("node.log");
    let log = File::create(&log_path)
        .map_err(|e| StartError::Failed(format!("creating {}: {e}", log_path.display())))?;
    let log_err = log
        .try_clone()
        .map_err(|e| StartError::Failed(format!("{e}")))?;
    Command::new(&inst.python)
        .arg(install::crossbar_dir().join("node_guard.py"))
        .arg(&inst.crossbar)
        .arg(node_dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| StartError::Failed(format!("spawning crossbar: {e}")))
}

pub fn unique_uri(base: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{base}.p{}n{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Two distinct free loopback ports (both held while probing, so they differ).
fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("binding a probe port");
    let b = TcpListener::bind("127.0.0.1:0").expect("binding a probe port");
    let ports = (
        a.local_addr().expect("probe address").port(),
        b.local_addr().expect("probe address").port(),
    );
    drop((a, b));
    ports
}

fn unique_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!(
        "{}-{}-{ms}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The node controller's pid from the `node.pid` file Crossbar writes (JSON, `"pid": N`).
fn node_pid(node_dir: &Path) -> Option<u32> {
    let text = fs::read_to_string(node_dir.join("node.pid")).ok()?;
    let rest = &text[text.find("\"pid\"")? + 5..];
    let digits: String = rest
        .trim_start_matches(|c: char| c == ':' || c.is_whitespace())
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Whether a process with this pid exists (Linux: /proc; elsewhere assume it does).
fn pid_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Node directories left by killed test runs (or by [`Crossbar::shared`], never dropped): removed
/// once older than 10 minutes and their node is no longer running.
fn remove_old_node_dirs(nodes: &Path) {
    let Ok(entries) = fs::read_dir(nodes) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if old && !node_pid(&path).is_some_and(pid_alive) {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
