//! What the Node.js and Python peers share: this directory, setup commands run to
//! completion within a limit, and reading a peer script's stdout and stderr.
#![allow(dead_code)] // each peer uses a part

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout};
use tokio::time::timeout;

/// `tests/interop`: the peer scripts.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("interop")
}

/// `<target dir>/<name>`, found from the tests' temporary directory (`<target dir>/tmp`),
/// so it follows `CARGO_TARGET_DIR`.
pub fn target_dir(name: &str) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join(name)
}

/// Runs a setup command to completion within `limit`; on failure, the end of its output.
pub fn run_blocking(
    cmd: &mut std::process::Command,
    what: &str,
    limit: Duration,
) -> Result<(), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what}: no result after {limit:?}"));
            }
            Err(e) => return Err(format!("{what}: {e}")),
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        let tail = |b: &[u8]| {
            let s = String::from_utf8_lossy(b);
            let skip = s.chars().count().saturating_sub(2000);
            s.chars().skip(skip).collect::<String>()
        };
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            tail(&out.stdout),
            tail(&out.stderr)
        ));
    }
    Ok(())
}

/// The next line `peer` prints, within `limit`; panics naming `what` was awaited.
pub async fn next_line(
    lines: &mut tokio::io::Lines<BufReader<ChildStdout>>,
    peer: &str,
    what: &str,
    limit: Duration,
) -> String {
    match timeout(limit, lines.next_line()).await {
        Ok(Ok(Some(line))) => line,
        Ok(Ok(None)) => panic!("{peer} ended before printing {what}"),
        Ok(Err(e)) => panic!("reading {what} from {peer}: {e}"),
        Err(_) => panic!("{peer} printed no {what} within {limit:?}"),
    }
}

/// What a peer script wrote to stderr (for a failure message).
pub async fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = timeout(Duration::from_secs(2), err.read_to_string(&mut s)).await;
    }
    s
}
