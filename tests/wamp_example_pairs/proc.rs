//! A WAMP example run as a process by a test: its stdout lines arrive through a channel, its
//! stderr is kept for failure messages, and it is killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// From start to `backend ready` (connect + join + register/subscribe).
pub const READY_LIMIT: Duration = Duration::from_secs(30);
/// From start to exit for a frontend (the slowest pair needs ~7 s; a frontend gives up by
/// itself after 60 s).
pub const FRONTEND_LIMIT: Duration = Duration::from_secs(90);
/// Bound on waiting for the backend lines that follow the frontend's last request (they
/// are awaited, not given a fixed window: a loaded 2-core machine may print them late).
pub const BACKEND_LIMIT: Duration = Duration::from_secs(30);

#[path = "../common_example/binary.rs"]
mod binary;
pub use binary::example_binary;

/// A running example process: its stdout lines arrive through a channel, its stderr is kept
/// for failure messages. Killed and reaped on drop.
pub struct Proc {
    /// What the process is, for failure messages.
    pub label: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    /// Starts the example binary `example` with `args`.
    pub fn spawn(example: &str, args: &[&str]) -> Proc {
        Proc::spawn_env(example, args, &[])
    }

    /// Starts the example binary `example` with `args` and the environment variables `env`.
    pub fn spawn_env(example: &str, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let label = format!("{example} {}", args.first().copied().unwrap_or(""));
        let mut cmd = Command::new(example_binary(example));
        cmd.args(args).envs(env.iter().copied());
        Proc::spawn_command(label, &mut cmd)
    }

    /// Starts `cmd` (stdin closed, stdout and stderr captured), named `label` in failures.
    pub fn spawn_command(label: String, cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {label}: {e}"));
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
            label,
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// All it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Its label, stdout lines seen and stderr, for a failure message.
    pub fn context(&self) -> String {
        format!(
            "{}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.label,
            self.seen.join("\n"),
            self.stderr()
        )
    }

    /// Waits for a stdout line equal to `want`.
    pub fn wait_for_line(&mut self, want: &str, limit: Duration) {
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
    pub fn drain_until(&mut self, limit: Duration, done: impl Fn(&[String]) -> bool) -> &[String] {
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
    pub fn drain(&mut self, wait: Duration) -> &[String] {
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
    pub fn finish(&mut self, limit: Duration) -> (ExitStatus, Vec<String>) {
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
