//! A running Autobahn|Python peer script and the lines it prints.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ExitStatus};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Default limit for one step of a peer (starting and joining, one reply).
pub const STEP_LIMIT: Duration = Duration::from_secs(30);
/// How long drop waits for a peer to leave after its stdin closed before killing it.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// A peer script (`tests/crossbar/*.py`) run by [`super::Crossbar::peer`]. Its stdout lines are
/// read by a thread; the methods here wait for them with a timeout and panic with the peer's
/// output and stderr when it does not come. Dropping it closes its stdin (the scripts then leave
/// and exit) and kills it if it has not exited shortly after.
///
/// Every method has a blocking form and an `_async` form; use the async one inside a tokio
/// test whose Rust side must keep running while the test waits for the peer.
#[derive(Debug)]
pub struct Peer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr_path: PathBuf,
    /// Every line received so far, for failure messages.
    seen: Vec<String>,
    eof: bool,
}

impl Peer {
    pub(super) fn new(name: &str, mut child: Child, stderr_path: PathBuf) -> Peer {
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Peer {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr_path,
            seen: Vec::new(),
            eof: false,
        }
    }

    /// The OS process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to [`STEP_LIMIT`]) for the `ready` line the scripts print once joined and set up.
    pub fn wait_ready(&mut self) -> &mut Peer {
        self.wait_for_line(STEP_LIMIT, |l| l == "ready");
        self
    }

    /// Async form of [`Peer::wait_ready`].
    pub async fn wait_ready_async(&mut self) -> &mut Peer {
        self.wait_for_line_async(STEP_LIMIT, |l| l == "ready").await;
        self
    }

    /// The next line, or `None` if none came within `timeout` or the peer closed its stdout.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        if self.eof {
            return None;
        }
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(line)
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                None
            }
        }
    }

    /// Async form of [`Peer::next_line`].
    pub async fn next_line_async(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        while !self.eof {
            match self.lines.try_recv() {
                Ok(line) => {
                    self.seen.push(line.clone());
                    return Some(line);
                }
                Err(TryRecvError::Disconnected) => self.eof = true,
                Err(TryRecvError::Empty) if Instant::now() >= deadline => return None,
                Err(TryRecvError::Empty) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        None
    }

    /// Skips lines until one satisfies `pred` and returns it; panics after `timeout`.
    pub fn wait_for_line(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_line(left) {
                Some(line) if pred(&line) => return line,
                Some(_) => {}
                None => self.fail(&format!("the awaited line within {timeout:?}")),
            }
        }
    }

    /// Async form of [`Peer::wait_for_line`].
    pub async fn wait_for_line_async(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_line_async(left).await {
                Some(line) if pred(&line) => return line,
                Some(_) => {}
                None => self.fail(&format!("the awaited line within {timeout:?}")),
            }
        }
    }

    /// Waits for a JSON line that is an object with the top-level key `key` (e.g. `"result"`,
    /// `"error"`, `"event"`, `"invocation"`) and returns the value under it. Panics after
    /// `timeout`, or at once if the peer reports `{"failed": ...}` (it could not connect or join).
    pub fn wait_for_json(&mut self, timeout: Duration, key: &str) -> Value {
        let line = self.wait_for_line(timeout, |l| json_has(l, key) || json_has(l, "failed"));
        self.json_value(&line, key)
    }

    /// Async form of [`Peer::wait_for_json`].
    pub async fn wait_for_json_async(&mut self, timeout: Duration, key: &str) -> Value {
        let line = self
            .wait_for_line_async(timeout, |l| json_has(l, key) || json_has(l, "failed"))
            .await;
        self.json_value(&line, key)
    }

    fn json_value(&self, line: &str, key: &str) -> Value {
        let mut v: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        match v.get_mut(key) {
            Some(inner) => inner.take(),
            None => self.fail(&format!("{key:?}, but it reported a failure")),
        }
    }

    /// Writes one line to the peer's stdin (the publisher takes `publish [N]` commands).
    pub fn send_line(&mut self, line: &str) {
        let name = self.name.clone();
        let stdin = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("{name}: stdin already closed"));
        if let Err(e) = writeln!(stdin, "{line}").and_then(|()| stdin.flush()) {
            self.fail(&format!("to accept a line on stdin ({e})"));
        }
    }

    /// Closes the peer's stdin: the scripts then leave the realm and exit.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Waits for the process to exit (it exits by itself after `--count` events, after its calls,
    /// or once stdin is closed). Panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => self.fail(&format!("to exit within {timeout:?}")),
                Err(e) => self.fail(&format!("to exit ({e})")),
            }
        }
    }

    /// Async form of [`Peer::wait_exit`].
    pub async fn wait_exit_async(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Ok(None) => self.fail(&format!("to exit within {timeout:?}")),
                Err(e) => self.fail(&format!("to exit ({e})")),
            }
        }
    }

    /// What the peer wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// All stdout lines received so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    fn fail(&self, wanted: &str) -> ! {
        panic!(
            "peer {} (pid {}) did not give {wanted}{}\n--- its stdout so far:\n{}\n--- its stderr:\n{}",
            self.name,
            self.child.id(),
            if self.eof { " (its stdout is closed)" } else { "" },
            self.seen.join("\n"),
            super::tail(&self.stderr(), 60)
        )
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.close_stdin();
        let deadline = Instant::now() + EXIT_GRACE;
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

/// Whether `line` is a JSON object with the top-level key `key`.
fn json_has(line: &str, key: &str) -> bool {
    line.starts_with('{')
        && serde_json::from_str::<Value>(line)
            .ok()
            .is_some_and(|v| v.get(key).is_some())
}
