//! The Python side of the interop tests: a virtualenv with a pinned `websockets`, and
//! the scripts in this directory run with it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::process::{ChildStdout, Command};

#[path = "process.rs"]
mod process;
use process::interop_dir;
pub use process::stderr_of;

/// The `websockets` release we test against (pinned, so a new release cannot change a
/// passing run into a failing one unnoticed).
pub const WEBSOCKETS_VERSION: &str = "17.4";
/// Limit for creating the virtualenv and installing `websockets`.
pub const SETUP_LIMIT: Duration = Duration::from_secs(300);
/// Limit for one whole exchange (handshake, all messages, close).
pub const RUN_LIMIT: Duration = Duration::from_secs(180);
/// Limit for a single step (one echo, one line from a script).
pub const STEP_LIMIT: Duration = Duration::from_secs(30);

/// The virtualenv's Python interpreter, set up once per test process.
fn python() -> &'static Path {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(setup_venv) {
        Ok(p) => p,
        Err(e) => panic!(
            "interop tests need Python `websockets=={WEBSOCKETS_VERSION}` in a virtualenv and \
             could not set it up: {e}\n(needs `python3` with the venv module and access to \
             PyPI or a pip wheel cache; set PYTHON to choose the interpreter)"
        ),
    }
}

/// `<target dir>/interop-venv`, found from the test's temporary directory
/// (`<target dir>/tmp`), so it follows `CARGO_TARGET_DIR`.
fn venv_dir() -> PathBuf {
    process::target_dir("interop-venv")
}

fn setup_venv() -> Result<PathBuf, String> {
    let venv = venv_dir();
    let marker = venv.join("autobahn-rs-interop.txt");
    let wanted = format!("websockets=={WEBSOCKETS_VERSION}\n");
    let py = venv.join("bin").join("python");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        check_version(&py)?;
        return Ok(py);
    }
    // Build in a private directory and rename it into place, so concurrent test
    // processes never see (or use) a half-built environment.
    let parent = venv.parent().ok_or("target directory has no parent")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    let tmp = parent.join(format!("interop-venv.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    run_blocking(
        std::process::Command::new(&base)
            .arg("-m")
            .arg("venv")
            .arg(&tmp),
        "python3 -m venv",
    )?;
    let tmp_py = tmp.join("bin").join("python");
    run_blocking(
        std::process::Command::new(&tmp_py)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(format!("websockets=={WEBSOCKETS_VERSION}")),
        "pip install websockets",
    )?;
    std::fs::write(tmp.join("autobahn-rs-interop.txt"), &wanted)
        .map_err(|e| format!("writing marker: {e}"))?;
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        // An outdated or broken environment: replace it.
        let _ = std::fs::remove_dir_all(&venv);
        if let Err(e) = std::fs::rename(&tmp, &venv) {
            // Another process may have won the race; use its environment if complete.
            if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
                return Err(format!(
                    "moving the virtualenv into {}: {e}",
                    venv.display()
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    check_version(&py)?;
    Ok(py)
}

fn check_version(py: &Path) -> Result<(), String> {
    let out = std::process::Command::new(py)
        .args(["-c", "import websockets; print(websockets.__version__)"])
        .output()
        .map_err(|e| format!("running {}: {e}", py.display()))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || version != WEBSOCKETS_VERSION {
        return Err(format!(
            "{} reports websockets {version:?} (want {WEBSOCKETS_VERSION}): {}",
            py.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// A Python script of this directory started with the virtualenv's interpreter; killed when dropped.
pub fn python_script(script: &str, args: &[String]) -> Command {
    let mut cmd = Command::new(python());
    cmd.arg(interop_dir().join(script))
        .args(args)
        .current_dir(interop_dir())
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs a setup command to completion within [`SETUP_LIMIT`].
fn run_blocking(cmd: &mut std::process::Command, what: &str) -> Result<(), String> {
    process::run_blocking(cmd, what, SETUP_LIMIT)
}

/// The next line the Python script prints, within [`STEP_LIMIT`].
pub async fn next_line(lines: &mut tokio::io::Lines<BufReader<ChildStdout>>, what: &str) -> String {
    process::next_line(lines, "the Python script", what, STEP_LIMIT).await
}
