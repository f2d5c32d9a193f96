#!/usr/bin/env python3
"""Install Crossbar.io and Autobahn|Python into a venv, once per machine.

    python3 tests/crossbar/install.py [VENV]

VENV defaults to $AUTOBAHN_CROSSBAR_VENV, else <cargo target dir>/crossbar-venv
($CARGO_TARGET_DIR, else target/). The Rust harness (tests/common_crossbar/install.rs)
runs this before the first router starts; wstest/all.sh runs it in the background at the
start of CI so that the install overlaps compiling. Stdlib only.

A marker file in the venv holds requirements.txt and constraints.txt; while it matches,
nothing is done. Concurrent runs take turns on an flock of <VENV>.lock, which the kernel
releases when its holder dies, so a killed install leaves no stale lock behind.

Prints `reused` or `installed in <seconds> s` on stdout; on failure prints the end of the
install log (<venv's parent>/crossbar-install.log) on stderr and exits 1.
"""

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MARKER = ".autobahn-rs-crossbar"
INSTALL_LIMIT = 30 * 60  # seconds; a cold install measured ~3 min here


def default_venv() -> Path:
    if os.environ.get("AUTOBAHN_CROSSBAR_VENV"):
        return Path(os.environ["AUTOBAHN_CROSSBAR_VENV"])
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    return Path(target) / "crossbar-venv"


def wanted_marker() -> str:
    req = (HERE / "requirements.txt").read_text()
    cons = (HERE / "constraints.txt").read_text()
    return f"{req}\n---\n{cons}"


def ready(venv: Path, wanted: str) -> bool:
    try:
        marker = (venv / MARKER).read_text()
    except OSError:
        return False
    return marker == wanted and (venv / "bin" / "crossbar").exists()


def run(cmd: list, what: str, log_path: Path) -> None:
    with open(log_path, "a") as log:
        log.write(f"\n$ {' '.join(map(str, cmd))}\n")
        log.flush()
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                           check=True, timeout=INSTALL_LIMIT)
        except (OSError, subprocess.SubprocessError) as e:
            lines = log_path.read_text(errors="replace").splitlines()[-40:]
            raise SystemExit(f"{what} failed ({e}); end of {log_path}:\n" + "\n".join(lines))


def install(venv: Path) -> str:
    wanted = wanted_marker()
    if ready(venv, wanted):
        return "reused"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.with_name(venv.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready(venv, wanted):
            return "reused"  # another process installed while we waited
        started = time.monotonic()
        log_path = venv.parent / "crossbar-install.log"
        print(f"crossbar harness: installing Crossbar.io into {venv} (log: {log_path}); "
              "this takes minutes", file=sys.stderr, flush=True)
        (venv / MARKER).unlink(missing_ok=True)
        python = venv / "bin" / "python"
        works = python.exists() and subprocess.run(
            [python, "-c", "import sys; assert sys.version_info >= (3, 11)"],
            stdin=subprocess.DEVNULL, capture_output=True).returncode == 0
        if not works:
            shutil.rmtree(venv, ignore_errors=True)
            base = os.environ.get("PYTHON", "python3")
            run([base, "-m", "venv", venv], f"{base} -m venv", log_path)
        # On an existing venv pip only changes what differs from the pins.
        run([python, "-m", "pip", "install", "--disable-pip-version-check",
             "-r", HERE / "requirements.txt", "-c", HERE / "constraints.txt"],
            "pip install crossbar", log_path)
        run([venv / "bin" / "crossbar", "version"], "crossbar version", log_path)
        took = time.monotonic() - started
        (venv / MARKER).write_text(wanted)
        (venv / ".autobahn-rs-install-seconds").write_text(f"{took:.1f}\n")
        return f"installed in {took:.1f} s"


def main() -> None:
    venv = Path(sys.argv[1]) if len(sys.argv) > 1 else default_venv()
    print(install(venv.absolute()))


if __name__ == "__main__":
    main()
