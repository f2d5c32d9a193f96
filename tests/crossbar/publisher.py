"""Publisher peer: publishes events to a topic when told (a line on stdin) or on a timer.

Usage: publisher.py URL SERIALIZER [--topic com.example.topic] [--count N] [--args JSON]
                    [--kwargs JSON] [--acknowledge] [--include-me] [--interval SECONDS]
                    [--codec] [auth options]

Prints ``ready`` once joined. Event i (counting from 0 over the whole run) carries --args and
--kwargs if given, else args [i] and kwargs {"seq": i}.
 * Without --interval: each stdin line publishes --count events (default 1); a line
   "publish K" publishes K. Exits when stdin closes.
 * With --interval S: publishes --count events (default 1), one every S seconds, then exits 0.
After each publish prints {"published": i} (after the router's acknowledgement with
--acknowledge; an error prints {"publish_error": {"error": uri, "args": [...]}}).
--codec encodes the payload with x_custom (_peer.XCustomCodec, payload transparency).
"""

import asyncio

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import PublishOptions

import _peer


def main():
    p = _peer.arg_parser(__doc__)
    p.add_argument("--topic", default="com.example.topic")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--args", default=None)
    p.add_argument("--kwargs", default=None)
    p.add_argument("--acknowledge", action="store_true")
    p.add_argument("--include-me", action="store_true", help="exclude_me=False")
    p.add_argument("--interval", type=float, default=None)
    _peer.add_codec_arg(p)
    args = p.parse_args()
    ev_args = _peer.parse_json_arg(args.args, None)
    ev_kwargs = _peer.parse_json_arg(args.kwargs, None)

    async def joined(session, details):
        _peer.use_codec(args, session)
        seq = {"i": 0}
        opts = PublishOptions(
            acknowledge=args.acknowledge,
            exclude_me=False if args.include_me else None,
        )

        async def publish_one():
            i = seq["i"]
            seq["i"] += 1
            a = ev_args if ev_args is not None else [i]
            kw = ev_kwargs if ev_kwargs is not None else {"seq": i}
            try:
                res = session.publish(args.topic, *a, options=opts, **kw)
                if args.acknowledge:
                    await res
            except ApplicationError as e:
                _peer.emit({"publish_error": {"error": e.error, "args": list(e.args)}})
                return
            _peer.emit({"published": i})

        _peer.ready()
        if args.interval is not None:
            for _ in range(args.count):
                await asyncio.sleep(args.interval)
                await publish_one()
            await _peer.leave_and_exit(session, 0)
            return

        async def commands():
            queue = _peer.stdin_lines(asyncio.get_running_loop())
            while True:
                line = await queue.get()
                if line is None:
                    await _peer.leave_and_exit(session, 0)
                if not line:
                    continue
                parts = line.split()
                n = int(parts[1]) if len(parts) > 1 else args.count
                for _ in range(n):
                    await publish_one()

        asyncio.ensure_future(commands())

    _peer.run(args, joined)


if __name__ == "__main__":
    main()
