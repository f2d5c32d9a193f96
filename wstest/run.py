#!/usr/bin/env python3
"""Run the Autobahn WebSocket Testsuite (via kosoku) against autobahn-rs.

    python3 wstest/run.py server [options]   # kosoku drives our testee_server
    python3 wstest/run.py client [options]   # our testee_client drives kosoku

Stdlib only. kosoku==0.1.0 is installed into a venv at target/wstest-venv.
See wstest/README.md for the options, exit codes and kosoku's quirks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

KOSOKU_VERSION = "0.1.0"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_VENV = REPO / "target" / "wstest-venv"
DEFAULT_REPORTS = REPO / "target" / "wstest-reports"

# Cases whose verdict is INFORMATIONAL whatever the peer does (kosoku 0.1.0:
# case7_1_6.py, case7_13_1.py, case7_13_2.py set behavior and behaviorClose to
# INFORMATIONAL unconditionally). Only these may be accepted with --allow.
INFORMATIONAL_ONLY = ("7.1.6", "7.13.1", "7.13.2")

BEHAVIORS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")

CATEGORIES = {  # fallback if kosoku's own table cannot be read
    "1": "Framing", "2": "Pings/Pongs", "3": "Reserved Bits", "4": "Opcodes",
    "5": "Fragmentation", "6": "UTF-8 Handling", "7": "Close Handling",
    "9": "Limits/Performance", "10": "Misc",
    "12": "WebSocket Compression (different payloads)",
    "13": "WebSocket Compression (different parameters)",
}


class HarnessError(Exception):
    """A setup problem: printed without a traceback, exit status 2."""


def log(msg: str) -> None:
    print(f"[wstest] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- venv / kosoku


def ensure_kosoku(venv: Path) -> Path:
    """Create/reuse the venv and make sure kosoku==KOSOKU_VERSION is in it."""
    py = venv / "bin" / "python"
    if not py.exists():
        log(f"creating venv {venv}")
        r = subprocess.run([sys.executable, "-m", "venv", str(venv)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise HarnessError(
                f"could not create a venv at {venv} (is python3-venv installed?):\n"
                f"{r.stderr.strip()}")
    check = [str(py), "-c",
             "import importlib.metadata as m; print(m.version('kosoku'))"]
    r = subprocess.run(check, capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.strip() == KOSOKU_VERSION:
        return venv / "bin" / "kosoku"
    log(f"installing kosoku=={KOSOKU_VERSION} into {venv}")
    r = subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check",
                        "-q", f"kosoku=={KOSOKU_VERSION}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise HarnessError(
            f"could not install kosoku=={KOSOKU_VERSION} from PyPI into {venv} "
            f"(pip exit {r.returncode}); the run needs it:\n"
            f"{(r.stderr or r.stdout).strip()[-2000:]}")
    return venv / "bin" / "kosoku"


def kosoku_catalog(venv: Path) -> tuple[list[str], dict[str, str]]:
    """All case ids in kosoku's run order, and the category names."""
    code = (
        "import json, kosoku.cases as c\n"
        "try:\n"
        "    from kosoku._report_assets import CaseCategories as cat\n"
        "except Exception:\n"
        "    cat = {}\n"
        "print(json.dumps({'ids': list(c.CASES), 'cat': dict(cat)}))\n"
    )
    r = subprocess.run([str(venv / "bin" / "python"), "-c", code],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise HarnessError(f"could not list kosoku's cases:\n{r.stderr.strip()}")
    data = json.loads(r.stdout)
    cats = dict(CATEGORIES)
    cats.update({str(k): str(v) for k, v in data.get("cat", {}).items()})
    return list(data["ids"]), cats


def glob_re(pattern: str) -> re.Pattern[str]:
    """kosoku's case globs: only `*` is special, and it also matches dots."""
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


def select_cases(ids: list[str], include: list[str], exclude: list[str]) -> list[str]:
    inc = [glob_re(p) for p in include]
    exc = [glob_re(p) for p in exclude]
    return [c for c in ids
            if (not inc or any(r.match(c) for r in inc))
            and not any(r.match(c) for r in exc)]


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"{what} exited (status {proc.returncode}) before "
                               f"listening on 127.0.0.1:{port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise HarnessError(f"{what} did not accept TCP on 127.0.0.1:{port} within {timeout:.0f}s")


def start(cmd: list[str], logfile: Path) -> subprocess.Popen:
    """Start `cmd` in its own process group, output to `logfile`."""
    out = open(logfile, "wb")
    try:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                cwd=REPO)
    except OSError as e:
        raise HarnessError(f"cannot start {cmd[0]}: {e}") from e
    finally:
        out.close()


def stop(proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    """SIGTERM the process group (kosoku ignores SIGINT), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + ln for ln in text[-lines:])


def build_testee(example: str) -> Path:
    """cargo build --release --example <example>; returns the binary path."""
    cmd = ["cargo", "build", "--release", "--example", example,
           "--message-format=json-render-diagnostics"]
    log(" ".join(cmd[:5]))
    try:
        r = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    except OSError as e:
        raise HarnessError(f"cannot run cargo: {e}") from e
    if r.returncode != 0:
        raise HarnessError(f"cargo build of example {example} failed")
    for line in r.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if (msg.get("reason") == "compiler-artifact" and msg.get("executable")
                and msg.get("target", {}).get("name") == example):
            return Path(msg["executable"])
    return default_testee(example)


def default_testee(example: str) -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    return target / "release" / "examples" / example


# ---------------------------------------------------------------- relay


@dataclass
class Conn:
    num: int
    opened: float
    closed: float | None = None
    request: str = ""  # first request line (client mode: /runCase?case=N...)
    up: int = 0  # octets from the connecting side
    down: int = 0
    head: bytearray = field(default_factory=bytearray)
    # With --record: the first RECORD_CAP octets each way.
    rec_up: bytearray = field(default_factory=bytearray)
    rec_down: bytearray = field(default_factory=bytearray)


RECORD_CAP = 1 << 20


class Relay:
    """Loopback TCP relay in front of the peer that is connected to.

    It watches traffic (for stall detection) and numbers connections (to
    name the case that hangs). It forwards half-closes (FIN) as such and
    resets as resets, so closing-handshake verdicts are unchanged.
    """

    def __init__(self, upstream_port: int, record: Path | None = None):
        self.upstream = upstream_port
        self.record = record
        if record:
            record.mkdir(parents=True, exist_ok=True)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns: list[Conn] = []
        self.socks: list[socket.socket] = []
        self.last = time.monotonic()
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def touch(self) -> None:
        self.last = time.monotonic()

    def open_conns(self) -> list[Conn]:
        with self.lock:
            return [c for c in self.conns if c.closed is None]

    def close(self) -> None:
        """Stop accepting and drop every relayed connection."""
        self.closing = True
        try:
            # close() alone does not wake a thread blocked in accept(); it
            # could then accept on a reused descriptor number.
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            socks = list(self.socks)
        for s in socks:  # wake the pumps; they close their sockets
            _linger0(s)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if self.closing:
                _abort(client)
                return
            with self.lock:
                self.socks.append(client)
                conn = Conn(num=len(self.conns) + 1, opened=time.monotonic())
                self.conns.append(conn)
            self.touch()
            threading.Thread(target=self._serve, args=(client, conn), daemon=True).start()

    def _serve(self, client: socket.socket, conn: Conn) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            _abort(client)
            conn.closed = time.monotonic()
            return
        with self.lock:
            self.socks.append(upstream)
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        state = {"ended": 0, "reset": False}
        lock = threading.Lock()

        def finish(reset: bool) -> None:
            # Never close a socket another pump may still block on: its fd
            # number could be reused by a new connection and the stale thread
            # would read that connection's data. On an error, shutdown() wakes
            # the other pump; the last pump out closes both (RST if reset).
            with lock:
                state["ended"] += 1
                if reset and not state["reset"]:
                    state["reset"] = True
                    for s in (client, upstream):
                        _linger0(s)
                        try:
                            s.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                last = state["ended"] == 2
            if not last:
                return
            with self.lock:
                for s in (client, upstream):
                    if s in self.socks:
                        self.socks.remove(s)
            for s in (client, upstream):
                s.close()
            if self.record:
                # Connection N, each direction: the fuzz seed harvest reads these
                # (fuzz/seeds_from_autobahn.py).
                stem = self.record / f"{conn.num:04d}"
                stem.with_suffix(".up").write_bytes(conn.rec_up)
                stem.with_suffix(".down").write_bytes(conn.rec_down)
            conn.closed = time.monotonic()
            self.touch()

        def pump(src: socket.socket, dst: socket.socket, upward: bool) -> None:
            reset = False
            try:
                while True:
                    data = src.recv(262144)
                    if not data:
                        if not state["reset"]:
                            dst.shutdown(socket.SHUT_WR)
                        break
                    if self.record:
                        rec = conn.rec_up if upward else conn.rec_down
                        rec += data[:max(0, RECORD_CAP - len(rec))]
                    if upward:
                        conn.up += len(data)
                        if len(conn.head) < 4096 and not conn.request:
                            conn.head += data[:4096]
                            line, sep, _ = bytes(conn.head).partition(b"\r\n")
                            if sep:
                                conn.request = line.decode("latin-1")
                    else:
                        conn.down += len(data)
                    self.touch()
                    dst.sendall(data)
                    self.touch()
            except OSError:
                reset = True
            finish(reset)

        threading.Thread(target=pump, args=(upstream, client, False), daemon=True).start()
        pump(client, upstream, True)


def _linger0(s: socket.socket) -> None:
    """Make close() send RST, mirroring an aborted connection."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


def _abort(s: socket.socket) -> None:
    """Close with RST (only for sockets no other thread uses)."""
    _linger0(s)
    try:
        s.close()
    except OSError:
        pass


# ---------------------------------------------------------------- one attempt


@dataclass
class Attempt:
    report: dict | None  # index.json content, None if no report
    hung: list[str]  # cases found hanging (to exclude on a retry)
    problem: str = ""


def case_of(conn: Conn, selected: list[str], mode: str) -> str | None:
    """Which case a relayed connection belongs to."""
    if mode == "client":
        m = re.search(r"/runCase\?(?:\S*&)?case=(\d+)", conn.request)
        if not m:
            return None
        idx = int(m.group(1))
    else:
        idx = conn.num  # kosoku opens one connection per case, in order
    return selected[idx - 1] if 1 <= idx <= len(selected) else None


def describe(conn: Conn, selected: list[str], mode: str, now: float) -> str:
    case = case_of(conn, selected, mode)
    what = f"case {case}" if case else (conn.request or "(no request yet)")
    if mode == "server" and case:
        what += " (by connection order)"
    return (f"connection #{conn.num}: {what}, open {now - conn.opened:.0f}s, "
            f"{conn.up} octets up / {conn.down} down")


def run_attempt(args: argparse.Namespace, kosoku: Path, selected: list[str],
                excludes: list[str], outdir: Path) -> Attempt:
    mode = args.mode
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    sel_args: list[str] = []
    for g in args.include:
        sel_args += ["-i", g]
    for g in excludes:
        sel_args += ["-x", g]

    testee = kos = relay = None
    try:
        if mode == "server":
            port = free_port()
            cmd = fill(args.server_cmd, port=port, addr=f"127.0.0.1:{port}",
                       host="127.0.0.1", testee=str(args.testee))
            log("testee: " + shlex.join(cmd))
            testee = start(cmd, outdir / "testee.log")
            wait_for_port(port, testee, "testee server", args.startup_timeout)
            target = port
            if not args.no_relay:
                relay = Relay(port, args.record)
                target = relay.port
            kcmd = [str(kosoku), "-m", "fuzzingclient", f"127.0.0.1:{target}",
                    "-o", str(outdir), "-p", str(args.parallel)] + sel_args
            log("kosoku: " + shlex.join(kcmd))
            kos = start(kcmd, outdir / "kosoku.log")
        else:
            port = free_port()
            kcmd = [str(kosoku), "-m", "fuzzingserver", f"127.0.0.1:{port}",
                    "-o", str(outdir)] + sel_args
            log("kosoku: " + shlex.join(kcmd))
            kos = start(kcmd, outdir / "kosoku.log")
            wait_for_port(port, kos, "kosoku fuzzingserver", args.startup_timeout)
            target = port
            if not args.no_relay:
                relay = Relay(port, args.record)
                target = relay.port
            url = f"ws://127.0.0.1:{target}"
            cmd = fill(args.client_cmd, url=url, agent=args.agent, testee=str(args.testee))
            log("testee: " + shlex.join(cmd))
            testee = start(cmd, outdir / "testee.log")
        return watch(args, kos, testee, relay, selected, outdir)
    finally:
        stop(kos)
        stop(testee)
        if relay:
            relay.close()


def fill(template: str, **values: str | int) -> list[str]:
    try:
        return [tok.format(**values) for tok in shlex.split(template)]
    except (KeyError, IndexError, ValueError) as e:
        raise HarnessError(f"bad command template {template!r}: {e}") from e


def watch(args: argparse.Namespace, kos: subprocess.Popen, testee: subprocess.Popen,
          relay: Relay | None, selected: list[str], outdir: Path) -> Attempt:
    """Wait for kosoku under the watchdog; returns the attempt's outcome."""
    mode = args.mode
    t0 = time.monotonic()
    testee_exit_at = None
    while True:
        now = time.monotonic()
        if kos.poll() is not None:
            break
        if testee.poll() is not None and testee_exit_at is None:
            testee_exit_at = now
            log(f"testee exited with status {testee.returncode}")
        # Client mode: after /updateReports kosoku writes the report and exits;
        # if the client died without it, kosoku would wait forever.
        if mode == "client" and testee_exit_at is not None and now - testee_exit_at > args.grace:
            started = [case_of(c, selected, mode) for c in relay.conns] if relay else []
            started = [c for c in started if c]
            last = f"; last case started: {started[-1]}" if started else ""
            return Attempt(None, [], f"testee client exited (status {testee.returncode}) "
                           f"and kosoku wrote no report within {args.grace:.0f}s "
                           f"(no /updateReports?){last}")
        if mode == "server" and testee_exit_at is not None:
            return Attempt(None, [], f"testee server died (status {testee.returncode}) "
                           "during the run")
        if now - t0 > args.timeout:
            return stalled(args, relay, selected, now,
                           f"overall timeout of {args.timeout:.0f}s reached")
        if relay and args.stall > 0 and now - relay.last > args.stall:
            return stalled(args, relay, selected, now,
                           f"no traffic for {args.stall:.0f}s (stalled case)")
        time.sleep(0.25)

    rc = kos.returncode
    index = outdir / "index.json"
    if not index.exists():
        return Attempt(None, [], f"kosoku exited with status {rc} and wrote no index.json:\n"
                       + tail(outdir / "kosoku.log"))
    try:
        return Attempt(json.loads(index.read_text()), [])
    except ValueError as e:
        return Attempt(None, [], f"unreadable {index}: {e}")


def stalled(args: argparse.Namespace, relay: Relay | None, selected: list[str],
            now: float, why: str) -> Attempt:
    lines = [f"{why}; stopping kosoku (SIGTERM): it writes no report when stopped"]
    hung: list[str] = []
    if relay:
        open_ = relay.open_conns()
        for c in open_:
            lines.append("  open " + describe(c, selected, args.mode, now))
            case = case_of(c, selected, args.mode)
            if case:
                hung.append(case)
        started = {case_of(c, selected, args.mode) for c in relay.conns}
        missing = [c for c in selected if c not in started]
        if not open_:
            lines.append(f"  no connection is open ({len(relay.conns)} seen"
                         + (f", last: {relay.conns[-1].request or '(no request)'})"
                            if relay.conns else ")"))
            if args.mode == "client":
                # The client runs cases one by one: it is stuck in or right
                # after the last case it started.
                last = [c for c in (case_of(c, selected, "client") for c in relay.conns) if c]
                if last:
                    lines.append(f"  the client is stuck in or after case {last[-1]}")
                    hung.append(last[-1])
        lines.append(f"  {len(selected) - len(missing)} of {len(selected)} cases started"
                     + (f"; not started: {compact(missing)}" if missing else ""))
    else:
        lines.append("  (relay disabled: cannot tell which case hangs)")
    return Attempt(None, hung, "\n".join(lines))


def compact(ids: list[str], limit: int = 12) -> str:
    return ", ".join(ids[:limit]) + (f", ... ({len(ids) - limit} more)" if len(ids) > limit else "")


# ---------------------------------------------------------------- summary


def summarize(args: argparse.Namespace, report: dict | None, selected: list[str],
              hung: list[str], cats: dict[str, str], outdir: Path) -> int:
    results: dict[str, dict] = {}
    agent = args.agent if args.mode == "client" else "autobahn-rs"
    if report:
        if len(report) > 1:
            log(f"report has several agents: {', '.join(report)}; merging")
        for name, cases in report.items():
            agent = name
            results.update(cases)
    allowed = allowed_cases(args.allow)

    beh: dict[str, int] = {}
    close: dict[str, int] = {}
    groups: dict[str, dict[str, int]] = {}
    bad: list[str] = []
    for case in selected:
        r = results.get(case)
        if r is None:
            b = c = "HUNG" if case in hung else "MISSING"
        else:
            b, c = str(r.get("behavior")), str(r.get("behaviorClose"))
        beh[b] = beh.get(b, 0) + 1
        close[c] = close.get(c, 0) + 1
        g = groups.setdefault(case.split(".")[0], {})
        g[b] = g.get(b, 0) + 1
        ok = (b == "OK" and c == "OK") or (
            case in allowed and b in ("OK", "INFORMATIONAL") and c in ("OK", "INFORMATIONAL"))
        if not ok:
            bad.append(case)
        elif b != "OK" or c != "OK":
            bad.append(case + " (allowed)")

    def counts(d: dict[str, int]) -> str:
        keys = list(BEHAVIORS) + sorted(k for k in d if k not in BEHAVIORS)
        return " / ".join(f"{k} {d.get(k, 0)}" for k in keys if k in BEHAVIORS or d.get(k))

    print(f"\nAutobahn Testsuite (kosoku {KOSOKU_VERSION}), {args.mode} mode, report: {outdir}")
    print("per group (behavior):")
    for g in sorted(groups, key=int):
        d = groups[g]
        n = sum(d.values())
        rest = ", ".join(f"{k} {v}" for k, v in sorted(d.items()) if k != "OK")
        print(f"  {g:>3} {cats.get(g, ''):<48} {n:4} cases, OK {d.get('OK', 0)}"
              + (f", {rest}" if rest else ""))
    print("behaviorClose: " + ", ".join(f"{k} {v}" for k, v in sorted(close.items())))
    if bad:
        print("cases not OK:")
        if not report:
            # No report at all: list the hung cases, summarize the rest.
            bad = [c for c in bad if c in hung]
            print(f"  no report: {len(selected) - len(bad)} cases have no result")
        for entry in bad:
            case = entry.split(" ")[0]
            print("  " + explain(case, results.get(case), entry, outdir, case in hung))
    print(f"{agent} {args.mode}: {len(selected)} cases, {counts(beh)}")
    failed = [b for b in bad if not b.endswith("(allowed)")]
    return 1 if failed or not report else 0


def explain(case: str, r: dict | None, label: str, outdir: Path, hung: bool) -> str:
    if r is None:
        if hung:
            return f"{label}: HUNG (no traffic; kosoku stopped, case excluded on retry)"
        return f"{label}: MISSING (no result in the report)"
    text = f"{label}: behavior={r.get('behavior')} close={r.get('behaviorClose')}"
    if r.get("remoteCloseCode") is not None:
        text += f" remoteCloseCode={r.get('remoteCloseCode')}"
    try:
        detail = json.loads((outdir / r["reportfile"]).read_text())
        why = [w for w in (detail.get("result"), detail.get("resultClose")) if w]
        text += " — " + "; ".join(dict.fromkeys(why))
    except (OSError, KeyError, ValueError, TypeError):
        pass
    return text


def allowed_cases(patterns: list[str]) -> set[str]:
    out: set[str] = set()
    for p in patterns:
        if p == "informational":
            out.update(INFORMATIONAL_ONLY)
            continue
        hits = [c for c in INFORMATIONAL_ONLY if glob_re(p).match(c)]
        if not hits:
            raise HarnessError(
                f"--allow {p}: matches no case that is INFORMATIONAL by definition "
                f"({', '.join(INFORMATIONAL_ONLY)}); other cases must be OK")
        out.update(hits)
    return out


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description="Run the Autobahn Testsuite (kosoku) against autobahn-rs testees.")
    ap.add_argument("mode", choices=("server", "client", "install"),
                    help="server: kosoku tests our server; client: kosoku serves our client; "
                         "install: only install kosoku into the venv")
    ap.add_argument("-i", "--include", action="append", default=[], metavar="GLOB",
                    help="case id or glob to run (repeatable; `*` matches anything)")
    ap.add_argument("-x", "--exclude", action="append", default=[], metavar="GLOB",
                    help="case id or glob to skip (repeatable)")
    ap.add_argument("-p", "--parallel", type=int, default=1, metavar="N",
                    help="cases run in parallel (server mode only; default 1)")
    ap.add_argument("--timeout", type=float, default=1800, metavar="SECONDS",
                    help="overall limit per kosoku run (default 1800)")
    ap.add_argument("--stall", type=float, default=60, metavar="SECONDS",
                    help="stop a run with no traffic for this long (default 60; 0 = off)")
    ap.add_argument("--retries", type=int, default=2, metavar="N",
                    help="after a stall, rerun without the hung cases up to N times (default 2)")
    ap.add_argument("--api", choices=("handlers", "pull"), default="handlers",
                    help="which testees: handlers = testee_{server,client} (the handler API), "
                         "pull = testee_pull_{server,client} (the pull API); default handlers")
    ap.add_argument("--testee", type=Path, metavar="PATH",
                    help="testee binary (default: target/release/examples/testee_[pull_]{server,client})")
    ap.add_argument("--no-build", action="store_true", help="do not run cargo build")
    ap.add_argument("--server-cmd", default="{testee} {addr}", metavar="TEMPLATE",
                    help="server testee command; placeholders {testee} {addr} {host} {port}")
    ap.add_argument("--client-cmd", default="{testee} {url} {agent}", metavar="TEMPLATE",
                    help="client testee command; placeholders {testee} {url} {agent}")
    ap.add_argument("--agent", default=None,
                    help="client agent name (client mode; default autobahn-rs, or "
                         "autobahn-rs-pull with --api pull)")
    ap.add_argument("--allow", action="append", default=[], metavar="CASE",
                    help="accept INFORMATIONAL for these cases; only cases that are "
                    "INFORMATIONAL by definition qualify ('informational' = all of them)")
    ap.add_argument("-o", "--report-dir", type=Path, metavar="DIR",
                    help="report directory (default target/wstest-reports/<mode>)")
    ap.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="venv for kosoku")
    ap.add_argument("--record", type=Path, metavar="DIR",
                    help="write each relayed connection's bytes (first 1 MiB each way) "
                         "to DIR/NNNN.up and DIR/NNNN.down")
    ap.add_argument("--no-relay", action="store_true",
                    help="connect kosoku and testee directly (no stall detection)")
    ap.add_argument("--grace", type=float, default=20, metavar="SECONDS",
                    help="client mode: wait this long for kosoku's report after the client exits")
    ap.add_argument("--startup-timeout", type=float, default=30, metavar="SECONDS")
    args = ap.parse_args(argv)
    if args.agent is None:
        args.agent = "autobahn-rs-pull" if args.api == "pull" else "autobahn-rs"
    if args.parallel < 1:
        ap.error("--parallel must be >= 1")
    if args.mode == "client" and args.parallel != 1:
        log("--parallel applies to server mode only; ignored")
        args.parallel = 1
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    allowed_cases(args.allow)  # validate early
    kosoku = ensure_kosoku(args.venv if args.venv.is_absolute() else REPO / args.venv)
    if args.mode == "install":
        return 0
    venv = kosoku.parent.parent
    ids, cats = kosoku_catalog(venv)
    selected = select_cases(ids, args.include, args.exclude)
    if not selected:
        raise HarnessError("the include/exclude globs select no case")

    example = f"testee_pull_{args.mode}" if args.api == "pull" else f"testee_{args.mode}"
    custom_cmd = (args.server_cmd if args.mode == "server" else args.client_cmd)
    uses_testee = "{testee}" in custom_cmd
    if args.testee is None:
        if uses_testee and not args.no_build:
            args.testee = build_testee(example)
        else:
            args.testee = default_testee(example)
    if uses_testee and not args.testee.exists():
        raise HarnessError(f"testee binary {args.testee} does not exist "
                           "(build it, or pass --testee / --server-cmd / --client-cmd)")

    outdir = args.report_dir or DEFAULT_REPORTS / (
        f"pull-{args.mode}" if args.api == "pull" else args.mode)
    outdir = outdir if outdir.is_absolute() else Path.cwd() / outdir
    if outdir.exists() and any(outdir.iterdir()) and not (outdir / "kosoku.log").exists() \
            and not (outdir / "index.json").exists():
        raise HarnessError(f"{outdir} exists and is not a report directory; not clearing it")

    log(f"{len(selected)} cases selected")
    excludes = list(args.exclude)
    hung: list[str] = []
    t0 = time.monotonic()
    for attempt in range(args.retries + 1):
        res = run_attempt(args, kosoku, [c for c in selected if c not in hung],
                          excludes, outdir)
        if res.report is not None:
            break
        log(res.problem)
        new = [c for c in res.hung if c not in hung]
        if not new or attempt == args.retries:
            log("kosoku produced no report")
            summarize(args, None, selected, hung + new, cats, outdir)
            return 2
        hung += new
        excludes += new
        log(f"retrying without {', '.join(new)} (attempt {attempt + 2})")
    log(f"kosoku finished in {time.monotonic() - t0:.1f}s")
    return summarize(args, res.report, selected, hung, cats, outdir)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except HarnessError as e:
        log(f"error: {e}")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
