"""Echo server on Python `websockets`, for the interop tests of autobahn-rs.

Listens on 127.0.0.1 (a free port), prints `PORT <n>`, then for each connection
the `EXT`/`PMD` lines of common.describe once the handshake is done, and echoes every message
with its type. Exits when stdin is closed (the test that started it is gone) or after
--timeout seconds.
"""

import argparse
import asyncio
import sys

from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

from common import MAX_SIZE, add_deflate_args, describe


async def echo(ws) -> None:
    header = ws.response.headers.get("Sec-WebSocket-Extensions")
    print(describe(ws, header), flush=True)
    async for message in ws:
        await ws.send(message)


async def stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_deflate_args(parser)
    args = parser.parse_args()

    kwargs = {}
    if args.compression == "default":
        kwargs["compression"] = "deflate"
    elif args.compression == "none":
        kwargs["compression"] = None
    else:
        kwargs["compression"] = None
        kwargs["extensions"] = [
            ServerPerMessageDeflateFactory(
                server_no_context_takeover=args.server_no_context_takeover,
                client_no_context_takeover=args.client_no_context_takeover,
                server_max_window_bits=args.server_max_window_bits,
                client_max_window_bits=args.client_max_window_bits,
            )
        ]

    async with serve(echo, "127.0.0.1", 0, max_size=MAX_SIZE, ping_interval=None, **kwargs) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        try:
            await asyncio.wait_for(stdin_closed(), args.timeout)
        except TimeoutError:
            print("server timeout reached", file=sys.stderr, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    # The executor thread may still block on stdin after a timeout; do not wait for it.
    sys.stdout.flush()
    import os

    os._exit(0)
