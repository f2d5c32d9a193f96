//! The JavaScript side of the interop tests: pinned npm packages (Node.js 22 itself, `ws`,
//! `playwright-core`, `autobahn` with what its serializers need) installed under `<target dir>/node-peers`, Debian's Chromium for the
//! browser tests, and the scripts of this directory run with that Node.js.
//!
//! Setup failures fail the tests with what to do: they are never skipped.
#![allow(dead_code)] // each test binary uses a part

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

/// The npm packages we test against, pinned so a release cannot change a run unnoticed.
/// `node` is Node.js itself as an npm package (the system's may be older than 22).
/// `autobahn` (autobahn-js, for the JavaScript WAMP examples) needs Node.js >= 22; its
/// MessagePack and CBOR serializers use `msgpack5` and `cbor`, and progressive call results
/// need `when`: pinned here too, as npm would otherwise pick the newest in autobahn's ranges.
pub const PACKAGES: [&str; 7] = [
    "node@22.23.3",
    "ws@8.23.1",
    "playwright-core@1.65.2",
    "autobahn@26.3.1",
    "msgpack5@6.1.0",
    "cbor@9.0.2",
    "when@3.7.8",
];
/// Limit for `npm install` and for installing Chromium.
pub const SETUP_LIMIT: Duration = Duration::from_secs(600);
/// Limit for one step (a line from a script, one echo).
pub const STEP_LIMIT: Duration = Duration::from_secs(60);
/// Limit for one whole exchange.
pub const RUN_LIMIT: Duration = Duration::from_secs(300);
/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// `<target dir>/node-peers`, found from `<target dir>/tmp`, so it follows `CARGO_TARGET_DIR`.
fn peers_dir() -> PathBuf {
    process::target_dir("node-peers")
}

/// `<target dir>/node-peers/node_modules`: what `NODE_PATH` names for the scripts run with
/// [`node`].
pub fn node_modules() -> PathBuf {
    peers_dir().join("node_modules")
}

/// The pinned Node.js binary, with `ws` and `playwright-core` beside it; installed once.
pub fn node() -> &'static Path {
    static NODE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match NODE.get_or_init(install_packages) {
        Ok(p) => p,
        Err(e) => panic!(
            "the JavaScript interop tests need {PACKAGES:?} from npm under {} and could not \
             install them: {e}\n(needs `npm` on PATH and access to the npm registry)",
            peers_dir().display()
        ),
    }
}

fn install_packages() -> Result<PathBuf, String> {
    let dir = peers_dir();
    let marker = dir.join("autobahn-rs-node-peers.txt");
    let wanted = PACKAGES.join("\n");
    let node = dir.join("node_modules/node/bin/node");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return check_node(&node);
    }
    // Install in a private directory and rename it into place, so concurrent test processes
    // never use a half-installed tree.
    let parent = dir.parent().ok_or("target directory has no parent")?;
    std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    let tmp = parent.join(format!("node-peers.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    run_blocking(
        std::process::Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--prefix",
            ])
            .arg(&tmp)
            .args(PACKAGES),
        "npm install",
    )?;
    std::fs::write(tmp.join("autobahn-rs-node-peers.txt"), &wanted)
        .map_err(|e| format!("writing marker: {e}"))?;
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::rename(&tmp, &dir) {
            if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
                return Err(format!("moving {} into place: {e}", tmp.display()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    check_node(&node)
}

fn check_node(node: &Path) -> Result<PathBuf, String> {
    let out = std::process::Command::new(node)
        .arg("--version")
        .output()
        .map_err(|e| format!("running {}: {e}", node.display()))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || !version.starts_with("v22.") {
        return Err(format!(
            "{} reports {version:?}, want v22.x",
            node.display()
        ));
    }
    Ok(node.to_path_buf())
}

/// Debian's Chromium, installed with apt-get when it is missing (the tests run as root in
/// CI; elsewhere install the `chromium` package by hand).
pub fn chromium() -> &'static Path {
    static BROWSER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BROWSER.get_or_init(install_chromium) {
        Ok(p) => p,
        Err(e) => panic!(
            "the browser tests need Debian's Chromium at {CHROMIUM} and could not install it: \
             {e}\n(install it with `apt-get install chromium`)"
        ),
    }
}

fn install_chromium() -> Result<PathBuf, String> {
    let path = PathBuf::from(CHROMIUM);
    if !path.exists() {
        let install = || {
            run_blocking(
                std::process::Command::new("apt-get")
                    .args(["install", "-y", "--no-install-recommends", "chromium"])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
                "apt-get install chromium",
            )
        };
        // A new machine may have stale package lists: update them once and retry.
        if let Err(first) = install() {
            run_blocking(
                std::process::Command::new("apt-get")
                    .arg("update")
                    .env("DEBIAN_FRONTEND", "noninteractive"),
                "apt-get update",
            )
            .map_err(|e| format!("{first}; then {e}"))?;
            install()?;
        }
    }
    let out = std::process::Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| format!("running {CHROMIUM}: {e}"))?;
    if !String::from_utf8_lossy(&out.stdout).contains("Chromium") {
        return Err(format!(
            "{CHROMIUM} --version printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(path)
}

/// A script of this directory run with the pinned Node.js, its packages resolvable; killed
/// when dropped.
pub fn node_script(script: &str, args: &[String]) -> Command {
    let mut cmd = Command::new(node());
    cmd.arg(interop_dir().join(script))
        .args(args)
        .current_dir(interop_dir())
        .env("NODE_PATH", node_modules())
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

/// The next line the node script prints, within [`STEP_LIMIT`].
pub async fn next_line(lines: &mut tokio::io::Lines<BufReader<ChildStdout>>, what: &str) -> String {
    process::next_line(lines, "the node script", what, STEP_LIMIT).await
}
