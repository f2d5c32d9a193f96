"""Helpers shared by the interop scripts (not a test by itself)."""

import argparse
from websockets.extensions.permessage_deflate import PerMessageDeflate

# Largest message either side accepts: above the 1 MiB test message (websockets' default
# limit is exactly 1 MiB).
MAX_SIZE = 16 << 20


def add_deflate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--compression",
        choices=["default", "custom", "none"],
        default="default",
        help="default: websockets' compression='deflate'; custom: the factory built from "
        "the flags below; none: no permessage-deflate",
    )
    parser.add_argument("--server-no-context-takeover", action="store_true")
    parser.add_argument("--client-no-context-takeover", action="store_true")
    parser.add_argument("--server-max-window-bits", type=int, default=None)
    parser.add_argument("--client-max-window-bits", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=60.0, help="overall limit, seconds")


def describe(connection, header: str | None) -> str:
    """Two lines: `EXT <Sec-WebSocket-Extensions header or ->` and `PMD <parameters
    websockets uses, or none>`, e.g. `PMD local_no_context_takeover=false
    remote_no_context_takeover=true local_max_window_bits=15 remote_max_window_bits=10`
    (local: our compressor; remote: the peer's)."""
    pmd = "none"
    for ext in connection.protocol.extensions:
        if isinstance(ext, PerMessageDeflate):
            pmd = (
                f"local_no_context_takeover={str(ext.local_no_context_takeover).lower()} "
                f"remote_no_context_takeover={str(ext.remote_no_context_takeover).lower()} "
                f"local_max_window_bits={ext.local_max_window_bits} "
                f"remote_max_window_bits={ext.remote_max_window_bits}"
            )
    return f"EXT {header if header is not None else '-'}\nPMD {pmd}"
