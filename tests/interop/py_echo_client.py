"""Client on Python `websockets` that checks an echo server (autobahn-rs' in the tests).

Connects to --url, prints the `EXT`/`PMD` lines of common.describe, sends every message of
messages.py --rounds times (repeats exercise context takeover), checks that each echo
has the same type and the same bytes, closes with 1000 and prints `OK <count>`.
Exits 1 on the first mismatch (with a description on stderr), 2 on any other failure.
"""

import argparse
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from common import MAX_SIZE, add_deflate_args, describe
from messages import messages


class Mismatch(Exception):
    pass


def first_difference(a, b) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


async def run(args) -> int:
    kwargs = {}
    if args.compression == "default":
        kwargs["compression"] = "deflate"
    elif args.compression == "none":
        kwargs["compression"] = None
    else:
        kwargs["compression"] = None
        cmwb = args.client_max_window_bits
        kwargs["extensions"] = [
            ClientPerMessageDeflateFactory(
                server_no_context_takeover=args.server_no_context_takeover,
                client_no_context_takeover=args.client_no_context_takeover,
                server_max_window_bits=args.server_max_window_bits,
                # Offer client_max_window_bits (no value) unless a value is given.
                client_max_window_bits=True if cmwb is None else cmwb,
            )
        ]

    count = 0
    async with connect(args.url, max_size=MAX_SIZE, ping_interval=None, **kwargs) as ws:
        header = ws.response.headers.get("Sec-WebSocket-Extensions")
        print(describe(ws, header), flush=True)
        for round_ in range(args.rounds):
            for label, payload in messages():
                await ws.send(payload)
                echo = await ws.recv()
                if type(echo) is not type(payload):
                    raise Mismatch(f"round {round_} {label}: sent {type(payload).__name__}, got {type(echo).__name__}")
                if echo != payload:
                    a = payload.encode() if isinstance(payload, str) else payload
                    b = echo.encode() if isinstance(echo, str) else echo
                    raise Mismatch(
                        f"round {round_} {label}: echo differs (sent {len(a)} bytes, got {len(b)}, "
                        f"first difference at byte {first_difference(a, b)})"
                    )
                count += 1
        await ws.close(1000)
        if ws.close_code != 1000:
            raise Mismatch(f"server replied to our close with code {ws.close_code}")
    print(f"OK {count}", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    add_deflate_args(parser)
    args = parser.parse_args()
    try:
        return asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except Mismatch as e:
        print(f"MISMATCH {e}", file=sys.stderr, flush=True)
        return 1
    except Exception as e:  # noqa: BLE001 - any failure is a test failure, say which
        print(f"FAILED {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
