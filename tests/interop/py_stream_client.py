"""Client on Python `websockets` that sends large messages to a hashing server.

Usage: py_stream_client.py URL plain|deflate SPEC...
SPEC is `fragments:COUNT:SIZE` (one message of COUNT frames of SIZE bytes, sent from an
async iterator so the client never holds it whole) or `frame:SIZE` (one message in one
frame). For each message the server answers the lowercase hex SHA-256 of its payload;
the client compares it with its own and prints `OK SPEC SECONDS`. Exits 1 on a wrong
digest (with both on stderr), 2 on any other failure.
"""

import asyncio
import hashlib
import sys
import time

from websockets.asyncio.client import connect

BLOCK = bytes(range(256)) * 4096  # 1 MiB


def piece(i: int, size: int) -> bytes:
    """The i-th piece of a message: a counter, then a repeating pattern."""
    head = i.to_bytes(8, "big")
    body = (BLOCK * (size // len(BLOCK) + 1))[: max(size - 8, 0)]
    return (head + body)[:size]


async def send_spec(ws, spec: str) -> str:
    kind, *numbers = spec.split(":")
    digest = hashlib.sha256()
    if kind == "fragments":
        count, size = int(numbers[0]), int(numbers[1])

        async def fragments():
            for i in range(count):
                p = piece(i, size)
                digest.update(p)
                yield p

        await ws.send(fragments())
    elif kind == "frame":
        size = int(numbers[0])
        whole = piece(0, size)
        digest.update(whole)
        await ws.send(whole)
        del whole
    else:
        raise ValueError(f"unknown spec {spec!r}")
    return digest.hexdigest()


async def main() -> int:
    url, compression, *specs = sys.argv[1:]
    async with connect(
        url,
        compression="deflate" if compression == "deflate" else None,
        max_size=None,
        ping_interval=None,
        close_timeout=60,
    ) as ws:
        for spec in specs:
            start = time.monotonic()
            expected = await send_spec(ws, spec)
            answer = await ws.recv()
            if answer != expected:
                print(f"{spec}: server said {answer!r}, expected {expected!r}", file=sys.stderr)
                return 1
            print(f"OK {spec} {time.monotonic() - start:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except Exception as e:  # noqa: BLE001 - any failure is reported as such
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
