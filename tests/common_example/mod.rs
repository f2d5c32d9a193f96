//! An example's server run as a process by a test: started from `target/<profile>/examples`,
//! its `listening on HOST:PORT` line read, its memory read from /proc, killed when dropped.
#![allow(dead_code)]

use std::time::Duration;

mod binary;
pub use binary::example_binary;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::timeout;

/// The example's server process, killed when dropped.
pub struct ExampleServer {
    child: tokio::process::Child,
    /// `HOST:PORT` it listens on.
    pub addr: String,
    /// Kept open: a closed pipe would fail the example's prints.
    _stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl ExampleServer {
    /// Starts `examples/<name>` (see [`example_binary`]) with `args`, and waits up to
    /// `deadline` for its address.
    pub async fn start(name: &str, args: &[&str], deadline: Duration) -> Self {
        let binary = example_binary(name);
        let mut child = tokio::process::Command::new(&binary)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start examples/{name}: {e}"));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = timeout(deadline, lines.next_line())
            .await
            .expect("the server prints its address")
            .expect("read")
            .expect("a line");
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the server printed {line:?}"))
            .to_string();
        ExampleServer {
            child,
            addr,
            _stdout: lines,
        }
    }

    /// Memory of the server process from /proc: `VmRSS` (resident now) or `VmHWM` (the
    /// peak resident).
    pub fn memory_bytes(&self, field: &str) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{field} in kB"))
            * 1024
    }
}
