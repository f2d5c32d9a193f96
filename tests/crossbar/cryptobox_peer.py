"""Cryptobox peer: an Autobahn|Python session with its own WAMP-cryptobox KeyRing.

Usage: cryptobox_peer.py URL SERIALIZER --prefix PRE --private B64 --rust-public B64
                         [--no-keyring]

Keys (Autobahn's cryptobox.Key), this peer's private key and the Rust peer's public key:
  PRE.py.  this peer responds (callee, subscriber): Key(originator_pub=RUST, responder_priv=OURS)
  PRE.rs.  this peer originates (caller, publisher): Key(originator_priv=OURS, responder_pub=RUST)
--no-keyring runs without a payload codec (an unencrypted peer).

Registers PRE.py.echo (returns its args and kwargs) and PRE.py.fail (raises
ApplicationError("PRE.py.error.custom", *args, **kwargs)), subscribes PRE.py.topic, prints
``ready``, then one JSON line per
  invocation: {"invocation": {"procedure", "args", "kwargs", "enc_algo"}}
  event:      {"event": {"topic", "args", "kwargs", "enc_algo"}}
and runs commands, one JSON object per stdin line:
  {"call": PROCEDURE, "args": [...], "kwargs": {...}}
      -> {"result": {"args", "kwargs"}} or {"error": {"error", "args", "kwargs", "enc_algo"}}
  {"publish": TOPIC, "args": [...], "kwargs": {...}}  (acknowledged) -> {"published": TOPIC}
Binary values use the ``$bytes`` tag both ways (_peer). Exits when stdin closes.
"""

import asyncio
import json

import _peer  # first: it selects txaio's asyncio framework, which cryptobox's imports need

from autobahn.wamp.cryptobox import Key, KeyRing  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.types import (  # noqa: E402
    CallResult,
    PublishOptions,
    RegisterOptions,
    SubscribeOptions,
)

DETAILS = "cb_details"


def keyring(prefix, private, rust_public):
    ring = KeyRing()
    ring.set_key(f"{prefix}.py.", Key(originator_pub=rust_public, responder_priv=private))
    ring.set_key(f"{prefix}.rs.", Key(originator_priv=private, responder_pub=rust_public))
    return ring


def main():
    p = _peer.arg_parser(__doc__)
    p.add_argument("--prefix", required=True)
    p.add_argument("--private", required=True)
    p.add_argument("--rust-public", required=True)
    p.add_argument("--no-keyring", action="store_true")
    args = p.parse_args()
    pre = args.prefix

    async def joined(session, details):
        if not args.no_keyring:
            session.set_payload_codec(keyring(pre, args.private, args.rust_public))

        def echo(*a, **kw):
            d = kw.pop(DETAILS)
            _peer.emit({"invocation": {"procedure": f"{pre}.py.echo", "args": list(a),
                                       "kwargs": kw, "enc_algo": d.enc_algo}})
            return CallResult(*a, **kw)

        def fail(*a, **kw):
            d = kw.pop(DETAILS)
            _peer.emit({"invocation": {"procedure": f"{pre}.py.fail", "args": list(a),
                                       "kwargs": kw, "enc_algo": d.enc_algo}})
            raise ApplicationError(f"{pre}.py.error.custom", *a, **kw)

        def on_event(*a, **kw):
            d = kw.pop(DETAILS)
            _peer.emit({"event": {"topic": d.topic or f"{pre}.py.topic", "args": list(a),
                                  "kwargs": kw, "enc_algo": d.enc_algo}})

        opts = RegisterOptions(details_arg=DETAILS)
        await session.register(echo, f"{pre}.py.echo", options=opts)
        await session.register(fail, f"{pre}.py.fail", options=opts)
        await session.subscribe(on_event, f"{pre}.py.topic",
                                options=SubscribeOptions(details_arg=DETAILS))
        _peer.ready()
        asyncio.ensure_future(commands(session))

    async def commands(session):
        lines = _peer.stdin_lines(asyncio.get_running_loop())
        while True:
            line = await lines.get()
            if line is None:
                await _peer.leave_and_exit(session, 0)
            if not line:
                continue
            cmd = json.loads(line)
            a = _peer.from_json(cmd.get("args", []))
            kw = _peer.from_json(cmd.get("kwargs", {}))
            if "call" in cmd:
                try:
                    res = await session.call(cmd["call"], *a, **kw)
                except ApplicationError as e:
                    _peer.emit({"error": {"error": e.error, "args": list(e.args),
                                          "kwargs": e.kwargs or {},
                                          "enc_algo": e.enc_algo}})
                    continue
                if isinstance(res, CallResult):
                    out = {"args": list(res.results), "kwargs": dict(res.kwresults)}
                else:
                    out = {"args": [] if res is None else [res], "kwargs": {}}
                _peer.emit({"result": out})
            elif "publish" in cmd:
                await session.publish(cmd["publish"], *a,
                                      options=PublishOptions(acknowledge=True), **kw)
                _peer.emit({"published": cmd["publish"]})

    _peer.run(args, joined)


if __name__ == "__main__":
    main()
