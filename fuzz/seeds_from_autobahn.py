#!/usr/bin/env python3
"""Adds fuzz seeds made of the Autobahn Testsuite's own bytes to fuzz/seeds/.

Runs the Autobahn Testsuite (kosoku, through wstest/run.py) against our server
and client testees with the relay recording every connection, then turns what
the testsuite sent into inputs of the stream and handshake targets:

  server mode, client -> server   request head  -> ws_handshake_request
                                  masked frames -> ws_server_stream, or
                                                   ws_server_deflate_stream
  client mode, server -> client   response head -> ws_handshake_response
                                  frames        -> ws_client_stream, or
                                                   ws_client_deflate_stream

(deflate when the 101 response accepted permessage-deflate; the seed's deflate
byte carries the negotiated parameters). Each candidate gets its target's
configuration prefix (see the target's layout in fuzz/README.md) and is cut at
4 KiB. Then each target's libFuzzer `-merge=1` adds to fuzz/seeds/<target>/
only the candidates that reach coverage the seeds there do not.

    fuzz/seeds_from_autobahn.py [--venv target/wstest-venv] [--keep DIR]

Needs the fuzz build (fuzz/run-all.sh builds it; FUZZ_BUILD_ONLY=1 stops there)
and runs two full testsuite runs (about 10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CAP = 4 * 1024

# Prefixes (fuzz/README.md, "Targets and invariants"):
# streams  [max_msg=255 (64 KiB), max_frame=0 (none), flags=0 (strict), k=0]
# deflate  [max_msg, max_frame, flags, deflate byte, k=0]
# heads    [max_bytes=255 (8 KiB), max_headers=71, flags=0, k=0]
STREAM = bytes([255, 0, 0, 0])
HEAD = bytes([255, 71, 0, 0])


def deflate_byte(response_head: bytes) -> int | None:
    """The deflate parameter byte of fuzz_support::stream::deflate_params for the
    permessage-deflate a 101 response accepted, or None."""
    m = re.search(rb"(?im)^sec-websocket-extensions:\s*(.*?)\r?$", response_head)
    if not m or b"permessage-deflate" not in m.group(1):
        return None
    params = m.group(1).decode("latin-1").lower()
    bits = {"server": 15, "client": 15}
    for side in bits:
        w = re.search(side + r"_max_window_bits\s*=\s*\"?(\d+)", params)
        if w:
            bits[side] = min(15, max(8, int(w.group(1))))
    d = 0
    if "server_no_context_takeover" in params:
        d |= 1
    if "client_no_context_takeover" in params:
        d |= 2
    return d | (bits["server"] - 8) << 2 | (bits["client"] - 8) << 5


def split_head(data: bytes) -> tuple[bytes, bytes] | None:
    head, sep, rest = data.partition(b"\r\n\r\n")
    return (head + sep, rest) if sep else None


def record(mode: str, outdir: Path, venv: Path | None) -> None:
    cmd = [sys.executable, str(ROOT / "wstest" / "run.py"), mode, "--record", str(outdir),
           "--allow", "informational", "-o", str(outdir.parent / f"report-{mode}")]
    if venv:
        cmd += ["--venv", str(venv)]
    print("+", " ".join(cmd), file=sys.stderr)
    # The verdicts do not matter here, only the bytes.
    subprocess.run(cmd, check=False)
    if not any(outdir.glob("*.up")):
        sys.exit(f"no connection was recorded in {outdir}")


def candidates(rec: Path, mode: str, out: Path) -> None:
    stream_t, head_t = (("ws_server_stream", "ws_handshake_request") if mode == "server"
                        else ("ws_client_stream", "ws_handshake_response"))
    deflate_t = stream_t.replace("_stream", "_deflate_stream")
    for up in sorted(rec.glob("*.up")):
        sent, answer = up.read_bytes(), up.with_suffix(".down").read_bytes()
        # What the testsuite sent: client->server in server mode, the reverse else.
        theirs, ours = (sent, answer) if mode == "server" else (answer, sent)
        parts = split_head(theirs)
        if not parts:
            continue
        head, frames = parts
        if mode == "client" and b" 101 " not in head.split(b"\r\n", 1)[0]:
            continue  # /getCaseCount and /updateReports are plain HTTP
        write(out / head_t, HEAD + head)
        if not frames:
            continue
        response = head if mode == "client" else (split_head(ours) or (b"", b""))[0]
        d = deflate_byte(response)
        if d is None:
            write(out / stream_t, STREAM + frames[:CAP])
        else:
            write(out / deflate_t, STREAM[:3] + bytes([d, 0]) + frames[:CAP])


def write(directory: Path, data: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", type=Path, help="kosoku venv for wstest/run.py")
    ap.add_argument("--keep", type=Path, help="work directory to keep (default: a temporary one)")
    args = ap.parse_args()
    triple = subprocess.run(["rustc", "-vV"], capture_output=True, text=True,
                            check=True).stdout.split("host: ")[1].split()[0]
    bindir = FUZZ / "target" / triple / "release"
    work = args.keep or Path(tempfile.mkdtemp(prefix="autobahn-seeds-"))
    for mode in ("server", "client"):
        rec = work / f"rec-{mode}"
        if not any(rec.glob("*.up")):
            record(mode, rec, args.venv)
        candidates(rec, mode, work / "candidates")
    for cand in sorted((work / "candidates").iterdir()):
        target = cand.name
        binary = bindir / target
        if not binary.exists():
            sys.exit(f"{binary} is missing: build with FUZZ_BUILD_ONLY=1 fuzz/run-all.sh")
        seeds = FUZZ / "seeds" / target
        before = len(list(seeds.iterdir()))
        subprocess.run([str(binary), "-merge=1", f"-max_len={CAP + 8}", str(seeds), str(cand)],
                       check=True, capture_output=True)
        after = len(list(seeds.iterdir()))
        print(f"{target}: {len(list(cand.iterdir()))} candidates, {after - before} added "
              f"({after} seeds)")


if __name__ == "__main__":
    main()
