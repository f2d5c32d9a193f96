"""Runs a Crossbar.io node and stops it when the test process that started us goes away.

Usage: node_guard.py CROSSBAR_EXECUTABLE CBDIR

The Rust harness keeps our stdin open for as long as it wants the router. When stdin closes
(the harness dropped it, or the test process exited or was killed), we SIGTERM the node, wait up
to 10 s, then SIGKILL it. The node's workers exit with their controller. A SIGTERM to us does the
same. The node's output goes to our stdout/stderr (the harness points both at the node log).
"""

import os
import signal
import subprocess
import sys
import threading

STOP_GRACE_SECONDS = 10.0


def main():
    crossbar, cbdir = sys.argv[1], sys.argv[2]
    node = subprocess.Popen(
        [crossbar, "start", "--cbdir", cbdir, "--loglevel", "info", "--color", "false"],
        stdin=subprocess.DEVNULL,
    )
    stopping = threading.Lock()

    def stop(*_):
        if not stopping.acquire(blocking=False):
            return
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                print("node_guard: node ignored SIGTERM, killing it", flush=True)
                node.kill()

    def watch_stdin():
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        stop()

    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop).start())
    threading.Thread(target=watch_stdin, daemon=True).start()
    code = node.wait()
    # the node can be gone before any stop (a failed start); nothing else to clean up then
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
