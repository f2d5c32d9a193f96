"""Caller peer: calls one procedure and prints what came back.

Usage: caller.py URL SERIALIZER PROCEDURE [--args JSON] [--kwargs JSON] [--progress]
                 [--timeout N] [--cancel-after SECONDS] [--cancel-mode kill|killnowait|skip]
                 [--repeat N] [auth options]

Prints ``ready`` once joined, then (per call) one line per progressive result
  {"progress": {"args": [...], "kwargs": {...}}}
and finally one of
  {"result": {"args": [...], "kwargs": {...}}}
  {"error": {"error": "uri", "args": [...], "kwargs": {...}}}
or, after --cancel-after, {"cancelled": "PROCEDURE"} (autobahn fails the call future locally).
A result of None is printed as args [], a single plain value v as args [v].
Binary values use {"$bytes": "<base64>"} in both --args/--kwargs and the output.
Exits 0 after the call(s), whether the call succeeded or returned an error.
"""

import asyncio

from autobahn.wamp import message
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, CallResult

import _peer


def result_parts(res):
    if isinstance(res, CallResult):
        return list(res.results), dict(res.kwresults)
    if res is None:
        return [], {}
    return [res], {}


def use_cancel_mode(default_mode):
    """autobahn's canceller sends CANCEL without a mode; make this process's CANCELs carry one."""
    orig = message.Cancel

    class CancelWithMode(orig):
        def __init__(self, request=None, mode=None, **kw):
            super().__init__(request, mode=mode if mode is not None else default_mode, **kw)

    message.Cancel = CancelWithMode


def main():
    p = _peer.arg_parser(__doc__)
    p.add_argument("procedure")
    p.add_argument("--args", default=None)
    p.add_argument("--kwargs", default=None)
    p.add_argument("--progress", action="store_true", help="ask for progressive results")
    p.add_argument(
        "--timeout",
        type=int,
        default=None,
        help="CALL.Options.timeout as sent (Autobahn|Python and Crossbar.io read seconds)",
    )
    p.add_argument("--cancel-after", type=float, default=None)
    p.add_argument("--cancel-mode", default=None, choices=["kill", "killnowait", "skip"])
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    call_args = _peer.parse_json_arg(args.args, [])
    call_kwargs = _peer.parse_json_arg(args.kwargs, {})
    if args.cancel_mode is not None:
        use_cancel_mode(args.cancel_mode)

    async def one_call(session):
        def on_progress(*a, **kw):
            _peer.emit({"progress": {"args": list(a), "kwargs": kw}})

        opts = CallOptions(
            on_progress=on_progress if args.progress else None,
            timeout=args.timeout,
        )
        fut = session.call(args.procedure, *call_args, options=opts, **call_kwargs)
        if args.cancel_after is not None:
            await asyncio.sleep(args.cancel_after)
            fut.cancel()
        try:
            res = await fut
        except ApplicationError as e:
            _peer.emit({"error": {"error": e.error, "args": list(e.args), "kwargs": e.kwargs or {}}})
            return
        except asyncio.CancelledError:
            # autobahn fails the call future at once; the router's ERROR is dropped
            _peer.emit({"cancelled": args.procedure})
            return
        a, kw = result_parts(res)
        _peer.emit({"result": {"args": a, "kwargs": kw}})

    async def run_calls(session, details):
        _peer.ready()
        for _ in range(args.repeat):
            await one_call(session)
        await _peer.leave_and_exit(session, 0)

    _peer.run(args, run_calls)


if __name__ == "__main__":
    main()
