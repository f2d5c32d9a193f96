//! Installing Crossbar.io into a virtualenv, once per machine, serialized across test processes.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// How long `pip install` may take (a cold install measured ~3 min here).
const INSTALL_LIMIT: Duration = Duration::from_secs(30 * 60);
/// How long to wait for another process's install lock.
const LOCK_WAIT_LIMIT: Duration = Duration::from_secs(35 * 60);
/// A lock file older than this is taken to be left behind by a killed install.
const LOCK_STALE_AGE: Duration = Duration::from_secs(40 * 60);

/// A ready virtualenv with Crossbar.io and Autobahn|Python.
#[derive(Debug, Clone)]
pub struct Installation {
    /// The virtualenv's directory.
    pub venv: PathBuf,
    /// Its Python interpreter.
    pub python: PathBuf,
    /// Its `crossbar` executable.
    pub crossbar: PathBuf,
    /// How long installing took in this process, or `None` if an earlier install was reused.
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

/// What the marker file must hold for the venv to be reused without asking pip.
fn wanted_marker() -> Result<String, String> {
    let read = |name: &str| {
        let p = crossbar_dir().join(name);
        fs::read_to_string(&p).map_err(|e| format!("reading {}: {e}", p.display()))
    };
    Ok(format!(
        "{}\n---\n{}",
        read("requirements.txt")?,
        read("constraints.txt")?
    ))
}

fn install() -> Result<Installation, String> {
    let venv = venv_dir();
    let marker = venv.join(".autobahn-rs-crossbar");
    let wanted = wanted_marker()?;
    let done = |install_time| Installation {
        python: venv.join("bin").join("python"),
        crossbar: venv.join("bin").join("crossbar"),
        venv: venv.clone(),
        install_time,
    };
    let ready = || {
        fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str())
            && venv.join("bin").join("crossbar").exists()
    };
    if ready() {
        return Ok(done(None));
    }
    let parent = venv.parent().ok_or("the venv directory has no parent")?;
    fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    let _lock = InstallLock::acquire(&lock_path(&venv))?;
    if ready() {
        // another process installed while we waited for the lock
        return Ok(done(None));
    }
    let started = Instant::now();
    let log_path = parent.join("crossbar-install.log");
    eprintln!(
        "crossbar harness: installing Crossbar.io into {} (log: {}); this takes minutes",
        venv.display(),
        log_path.display()
    );
    let _ = fs::remove_file(&marker);
    let python = venv.join("bin").join("python");
    let venv_works = Command::new(&python)
        .args(["-c", "import sys; assert sys.version_info >= (3, 11)"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !venv_works {
        let _ = fs::remove_dir_all(&venv);
        let base = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
        run_logged(
            Command::new(&base).arg("-m").arg("venv").arg(&venv),
            &format!("{base} -m venv"),
            &log_path,
        )?;
    }
    // On an existing venv pip only changes what differs from the pins.
    run_logged(
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
            .arg(crossbar_dir().join("requirements.txt"))
            .arg("-c")
            .arg(crossbar_dir().join("constraints.txt")),
        "pip install crossbar",
        &log_path,
    )?;
    run_logged(
        Command::new(venv.join("bin").join("crossbar")).arg("version"),
        "crossbar version",
        &log_path,
    )?;
    let took = started.elapsed();
    fs::write(&marker, &wanted).map_err(|e| format!("writing {}: {e}", marker.display()))?;
    let _ = fs::write(
        venv.join(".autobahn-rs-install-seconds"),
        format!("{:.1}\n", took.as_secs_f64()),
    );
    eprintln!("crossbar harness: installed in {:.1} s", took.as_secs_f64());
    Ok(done(Some(took)))
}

fn lock_path(venv: &Path) -> PathBuf {
    let mut name = venv.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    venv.with_file_name(name)
}

/// Runs a setup command within [`INSTALL_LIMIT`], appending its output to the install log.
fn run_logged(cmd: &mut Command, what: &str, log_path: &Path) -> Result<(), String> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|e| format!("opening {}: {e}", log_path.display()))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("opening {}: {e}", log_path.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    let deadline = Instant::now() + INSTALL_LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what}: not done after {INSTALL_LIMIT:?}"));
            }
            Err(e) => return Err(format!("{what}: {e}")),
        }
    };
    if status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({status}); end of {}:\n{}",
        log_path.display(),
        super::tail(&fs::read_to_string(log_path).unwrap_or_default(), 40)
    ))
}

/// An exclusive lock held by creating a file (`create_new`) and released by deleting it.
///
/// A lock whose holder is gone (its pid no longer runs) or that is older than
/// [`LOCK_STALE_AGE`] is removed. That check-then-remove can race with a second waiter doing the
/// same; stale locks only appear after a killed install, so that is accepted here.
struct InstallLock {
    path: PathBuf,
}

impl InstallLock {
    fn acquire(path: &Path) -> Result<InstallLock, String> {
        let started = Instant::now();
        let mut told = false;
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(InstallLock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(path).unwrap_or_default();
                    if lock_is_stale(path, &holder) {
                        eprintln!(
                            "crossbar harness: removing stale lock {} (holder {:?})",
                            path.display(),
                            holder.trim()
                        );
                        let _ = fs::remove_file(path);
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT_LIMIT {
                        return Err(format!(
                            "{} still held by pid {} after {LOCK_WAIT_LIMIT:?}",
                            path.display(),
                            holder.trim()
                        ));
                    }
                    if !told {
                        eprintln!(
                            "crossbar harness: waiting for pid {} to finish installing",
                            holder.trim()
                        );
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(format!("creating {}: {e}", path.display())),
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn lock_is_stale(path: &Path, holder: &str) -> bool {
    let age = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    if age.is_some_and(|a| a > LOCK_STALE_AGE) {
        return true;
    }
    match holder.trim().parse::<u32>() {
        Ok(pid) => !super::pid_alive(pid),
        // Written between create_new and writeln: give the holder a moment.
        Err(_) => age.is_some_and(|a| a > Duration::from_secs(10)),
    }
}
