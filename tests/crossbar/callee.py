"""Callee peer: registers the test procedures under a prefix (default ``com.example``).

Usage: callee.py URL SERIALIZER [--prefix com.example] [--invoke POLICY] [--codec]
                 [auth options]

Procedures (PREFIX.<name>):
  add2(a, b)          -> a + b
  echo(*args, **kw)   -> the same args and kwargs (bytes included)
  progress(n=3)       -> progressive results 0..n-1 (if the caller asked for them), then n
  fail(*args, **kw)   -> raises ApplicationError("com.example.error.custom", *args, **kw)
  slow(seconds=5)     -> sleeps, prints {"finished": ...}, returns seconds; on INTERRUPT
                         prints {"cancelled": ...} instead

--invoke registers them all as shared registrations with that policy (roundrobin ...);
--codec uses the x_custom payload codec (_peer.XCustomCodec, payload transparency).
Prints ``ready`` once all are registered, then one line per invocation:
  {"invocation": {"procedure", "args", "kwargs", "caller", "caller_authid", "caller_authrole"}}
Exits when stdin closes.
"""

import asyncio

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallResult, RegisterOptions

import _peer

DETAILS = "cb_details"  # an unlikely kwarg name, so echo's own kwargs are never shadowed


def main():
    p = _peer.arg_parser(__doc__)
    p.add_argument("--prefix", default="com.example")
    p.add_argument("--invoke", default=None)
    _peer.add_codec_arg(p)
    args = p.parse_args()

    def log(procedure, a, kw, details):
        _peer.emit(
            {
                "invocation": {
                    "procedure": procedure,
                    "args": list(a),
                    "kwargs": kw,
                    "caller": details.caller,
                    "caller_authid": details.caller_authid,
                    "caller_authrole": details.caller_authrole,
                    "enc_algo": details.enc_algo,
                }
            }
        )

    async def joined(session, details):
        _peer.use_codec(args, session)
        _peer.emit_joined(details)
        pre = args.prefix

        def add2(a, b, **kw):
            log(f"{pre}.add2", [a, b], {}, kw[DETAILS])
            return a + b

        def echo(*a, **kw):
            details = kw.pop(DETAILS)
            log(f"{pre}.echo", a, kw, details)
            return CallResult(*a, **kw)

        async def progress(n=3, **kw):
            details = kw.pop(DETAILS)
            log(f"{pre}.progress", [n], kw, details)
            for i in range(n):
                if details.progress:
                    details.progress(i)
                await asyncio.sleep(0.01)
            return n

        def fail(*a, **kw):
            details = kw.pop(DETAILS)
            log(f"{pre}.fail", a, kw, details)
            raise ApplicationError("com.example.error.custom", *a, **kw)

        async def slow(seconds=5.0, **kw):
            details = kw.pop(DETAILS)
            log(f"{pre}.slow", [seconds], kw, details)
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                _peer.emit({"cancelled": f"{pre}.slow"})
                raise
            _peer.emit({"finished": f"{pre}.slow"})
            return seconds

        opts = RegisterOptions(details_arg=DETAILS, invoke=args.invoke)
        for name, fn in [
            ("add2", add2),
            ("echo", echo),
            ("progress", progress),
            ("fail", fail),
            ("slow", slow),
        ]:
            await session.register(fn, f"{pre}.{name}", options=opts)
        _peer.ready()
        asyncio.ensure_future(_peer.exit_on_eof(_peer.stdin_lines(asyncio.get_running_loop()), session))

    _peer.run(args, joined)


if __name__ == "__main__":
    main()
