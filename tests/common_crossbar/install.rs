//! Installing Crossbar.io into a virtualenv, once per machine: `tests/crossbar/install.py`
//! does it (and serializes concurrent installs); this runs it once per test process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// A ready virtualenv with Crossbar.io and Autobahn|Python.
#[derive(Debug, Clone)]
pub struct Installation {
    /// The virtualenv's directory.
    pub venv: PathBuf,
    /// Its Python interpreter.
    pub python: PathBuf,
    /// Its `crossbar` executable.
    pub crossbar: PathBuf,
    /// How long installing took in this process, or `None` if an earlier install was reused
    /// (by another process too, e.g. `wstest/all.sh` installing in the background).
    pub install_time: Option<Duration>,
}

/// `tests/crossbar` in the repository.
pub fn crossbar_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("crossbar")
}

/// Cargo's target directory (follows `CARGO_TARGET_DIR`): the parent of `CARGO_TARGET_TMPDIR`.
pub fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// `<target dir>/crossbar-venv`, or `$AUTOBAHN_CROSSBAR_VENV`.
pub fn venv_dir() -> PathBuf {
    match std::env::var_os("AUTOBAHN_CROSSBAR_VENV") {
        Some(dir) => PathBuf::from(dir),
        None => target_dir().join("crossbar-venv"),
    }
}

/// The installation, installing it first if needed. Panics (never skips) if that fails.
pub fn installation() -> &'static Installation {
    static INSTALL: OnceLock<Result<Installation, String>> = OnceLock::new();
    match INSTALL.get_or_init(install) {
        Ok(i) => i,
        Err(e) => panic!(
            "the Crossbar.io test harness could not install its router: {e}\n\
             (needs python3.11 with venv+pip and access to PyPI or a pip cache; \
             PYTHON chooses the interpreter, AUTOBAHN_CROSSBAR_VENV the venv directory)"
        ),
    }
}

fn install() -> Result<Installation, String> {
    let venv = venv_dir();
    let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = crossbar_dir().join("install.py");
    // The script reports progress on stderr (inherited) and its result on stdout.
    let out = Command::new(&base)
        .arg(&script)
        .arg(&venv)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {base} {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}), see its message above",
            script.display(),
            out.status
        ));
    }
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let install_time = said
        .strip_prefix("installed in ")
        .and_then(|rest| rest.strip_suffix(" s"))
        .and_then(|secs| secs.parse::<f64>().ok())
        .map(Duration::from_secs_f64);
    if install_time.is_some() {
        eprintln!("crossbar harness: {said}");
    } else if said != "reused" {
        return Err(format!("{} said {said:?}", script.display()));
    }
    Ok(Installation {
        python: venv.join("bin").join("python"),
        crossbar: venv.join("bin").join("crossbar"),
        venv,
        install_time,
    })
}
