"""Subscriber peer: subscribes to a topic and reports every event.

Usage: subscriber.py URL SERIALIZER [--topic com.example.topic] [--match exact|prefix|wildcard]
                     [--count N] [--call-back PROCEDURE] [--get-retained] [--codec]
                     [auth options]

Prints {"joined": {"session", "authid", "authrole"}} and ``ready`` once subscribed, then per
event
  {"event": {"topic": "...", "args": [...], "kwargs": {...}, "publisher": id-or-null,
             "publisher_authid": ..., "publisher_authrole": ..., "retained": bool,
             "enc_algo": str-or-null}}
--get-retained asks for the retained event; --codec decodes x_custom payloads (_peer.XCustomCodec).
With --call-back, also calls PROCEDURE with the event's args and kwargs (and prints
{"called_back": {"args": [...], "kwargs": {...}}} with its result, or {"call_back_error": ...}).
With --count N, leaves and exits 0 after N events; otherwise exits when stdin closes.
"""

import asyncio

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallResult, SubscribeOptions

import _peer

DETAILS = "cb_details"


def main():
    p = _peer.arg_parser(__doc__)
    p.add_argument("--topic", default="com.example.topic")
    p.add_argument("--match", default="exact", choices=["exact", "prefix", "wildcard"])
    p.add_argument("--count", type=int, default=None)
    p.add_argument("--call-back", default=None)
    p.add_argument("--get-retained", action="store_true")
    _peer.add_codec_arg(p)
    args = p.parse_args()

    async def joined(session, details):
        _peer.use_codec(args, session)
        _peer.emit_joined(details)
        seen = {"n": 0}

        async def on_event(*a, **kw):
            details = kw.pop(DETAILS)
            _peer.emit(
                {
                    "event": {
                        "topic": details.topic or args.topic,
                        "args": list(a),
                        "kwargs": kw,
                        "publisher": details.publisher,
                        "publisher_authid": details.publisher_authid,
                        "publisher_authrole": details.publisher_authrole,
                        "retained": bool(details.retained),
                        "enc_algo": details.enc_algo,
                    }
                }
            )
            if args.call_back:
                try:
                    res = await session.call(args.call_back, *a, **kw)
                    if isinstance(res, CallResult):
                        out = {"args": list(res.results), "kwargs": dict(res.kwresults)}
                    else:
                        out = {"args": [] if res is None else [res], "kwargs": {}}
                    _peer.emit({"called_back": out})
                except ApplicationError as e:
                    _peer.emit({"call_back_error": {"error": e.error, "args": list(e.args)}})
            seen["n"] += 1
            if args.count is not None and seen["n"] >= args.count:
                await _peer.leave_and_exit(session, 0)

        await session.subscribe(
            on_event,
            args.topic,
            options=SubscribeOptions(
                match=args.match,
                details_arg=DETAILS,
                get_retained=True if args.get_retained else None,
            ),
        )
        _peer.ready()
        asyncio.ensure_future(_peer.exit_on_eof(_peer.stdin_lines(asyncio.get_running_loop()), session))

    _peer.run(args, joined)


if __name__ == "__main__":
    main()
