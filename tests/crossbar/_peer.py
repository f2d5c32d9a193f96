"""Shared plumbing for the Autobahn|Python test peers in this directory.

Every peer script takes the router URL and the serializer as its first two arguments, prints the
line ``ready`` on stdout once it has joined (and finished registering / subscribing), prints one
JSON object per line for everything a test may want to observe, and exits when its stdin is closed
(so a peer never outlives the Rust test process that started it).

Binary values cannot travel through JSON on stdout or argv, so both directions use the tag
``{"$bytes": "<base64>"}`` for a ``bytes`` value.
"""

import argparse
import asyncio
import base64
import json
import os
import sys
import threading
import traceback

import txaio

txaio.use_asyncio()

from autobahn.asyncio.rawsocket import WampRawSocketClientFactory  # noqa: E402
from autobahn.asyncio.wamp import Session  # noqa: E402
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.rawsocket.util import parse_url as parse_rs_url  # noqa: E402
from autobahn.wamp.auth import create_authenticator  # noqa: E402
from autobahn.wamp.interfaces import IPayloadCodec  # noqa: E402
from autobahn.wamp.serializer import SERID_TO_SER  # noqa: E402
from autobahn.wamp.types import ComponentConfig, EncodedPayload  # noqa: E402
from autobahn.websocket.util import parse_url as parse_ws_url  # noqa: E402


def arg_parser(description):
    """An argparse parser with the arguments every peer understands."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "url",
        help="ws://127.0.0.1:PORT/ws, rs://127.0.0.1:PORT or rs://unix:/path/to/socket",
    )
    p.add_argument("serializer", choices=["json", "msgpack", "cbor", "ubjson"])
    p.add_argument("--realm", default="realm1")
    p.add_argument(
        "--authmethod",
        choices=["anonymous", "ticket", "wampcra", "cryptosign"],
        default="anonymous",
    )
    p.add_argument("--authid", default=None)
    p.add_argument(
        "--secret",
        default=None,
        help="the ticket, the WAMP-CRA secret, or the hex Ed25519 seed for cryptosign",
    )
    return p


def from_json(value):
    """Decodes the ``$bytes`` tag (recursively) in a value parsed from JSON."""
    if isinstance(value, dict):
        if len(value) == 1 and "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def to_json(value):
    """Makes a WAMP payload JSON-printable: bytes become the ``$bytes`` tag, tuples lists."""
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def parse_json_arg(text, default):
    """Parses a JSON command-line argument (with ``$bytes`` tags), or returns the default."""
    if text is None:
        return default
    return from_json(json.loads(text))


class XCustomCodec(IPayloadCodec):
    """The test payload codec (payload transparency), scheme ``x_custom``: the payload is the
    JSON text of {"uri", "args", "kwargs"} as bytes (binary values with the ``$bytes`` tag).
    The Rust tests implement the same codec."""

    ALGO = "x_custom"

    def encode(self, is_originating, uri, args=None, kwargs=None):
        doc = {"uri": uri, "args": to_json(list(args or [])), "kwargs": to_json(kwargs or {})}
        return EncodedPayload(json.dumps(doc, sort_keys=True).encode("utf8"), self.ALGO, "json")

    def decode(self, is_originating, uri, encoded_payload):
        if encoded_payload.enc_algo != self.ALGO:
            raise Exception(f"unknown enc_algo {encoded_payload.enc_algo}")
        payload = encoded_payload.payload
        if isinstance(payload, str):
            payload = payload.encode("utf8")
        doc = json.loads(payload.decode("utf8"))
        return doc["uri"], from_json(doc["args"]), from_json(doc["kwargs"])


def add_codec_arg(p):
    """Adds --codec (use XCustomCodec for payload transparency)."""
    p.add_argument("--codec", action="store_true", help="payload transparency with x_custom")


def use_codec(args, session):
    """Sets XCustomCodec on the session if --codec was given."""
    if getattr(args, "codec", False):
        session.set_payload_codec(XCustomCodec())


def emit_joined(details):
    """Prints {"joined": {"session", "authid", "authrole"}} (for tests that address this peer)."""
    emit({"joined": {"session": details.session, "authid": details.authid, "authrole": details.authrole}})


def emit(obj):
    """Prints one JSON object as a line on stdout, flushed at once."""
    sys.stdout.write(json.dumps(to_json(obj), sort_keys=True) + "\n")
    sys.stdout.flush()


def ready():
    """Tells the test that this peer has joined and set itself up."""
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def hard_exit(code=0):
    """Leaves the process at once (after flushing), whatever the event loop is doing."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def stdin_lines(loop):
    """An asyncio.Queue fed with stdin's lines by a thread; ``None`` marks EOF."""
    queue = asyncio.Queue()

    def pump():
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.strip())
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, daemon=True).start()
    return queue


async def leave_and_exit(session, code=0):
    """Says GOODBYE (bounded in time) and exits the process."""
    try:
        if session is not None and session.is_attached():
            await asyncio.wait_for(session.leave(), 3.0)
    except Exception as e:  # the exit code tells what matters; this is just noise
        print(f"leave failed: {e!r}", file=sys.stderr)
    hard_exit(code)


async def exit_on_eof(queue, session):
    """Ignores stdin lines until EOF, then leaves and exits (for peers that take no commands)."""
    while True:
        line = await queue.get()
        if line is None:
            await leave_and_exit(session, 0)


class _PeerSession(Session):
    """Runs the script's on_join hook; turns leaving / disconnecting into the process' exit code."""

    def __init__(self, config, on_join, done):
        super().__init__(config)
        self._peer_on_join = on_join
        self._peer_done = done
        self._peer_joined = False
        self._peer_code = 1

    async def onJoin(self, details):
        self._peer_joined = True
        try:
            await self._peer_on_join(self, details)
        except Exception:
            traceback.print_exc()
            emit({"failed": {"error": "on_join raised", "leave": {}}})
            hard_exit(1)

    def onLeave(self, details):
        normal = details.reason in ("wamp.close.normal", "wamp.close.goodbye_and_out")
        if self._peer_joined and normal:
            self._peer_code = 0
        else:
            print(f"session left: {details.reason} {details.message}", file=sys.stderr)
            emit(
                {
                    "failed": {
                        "error": "left",
                        "leave": {"reason": details.reason, "message": details.message},
                    }
                }
            )
        self.disconnect()

    def onDisconnect(self):
        if not self._peer_done.done():
            self._peer_done.set_result(self._peer_code)


def run(args, on_join):
    """Connects once (no retries: a test wants to see a failure), joins, runs on_join(session,
    details), and exits: 0 after a normal leave, 1 if the connection or the join failed."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    txaio.config.loop = loop
    done = loop.create_future()

    def make_session():
        session = _PeerSession(ComponentConfig(args.realm), on_join, done)
        if args.authmethod == "ticket":
            session.add_authenticator(
                create_authenticator("ticket", authid=args.authid, ticket=args.secret)
            )
        elif args.authmethod == "wampcra":
            session.add_authenticator(
                create_authenticator("wampcra", authid=args.authid, secret=args.secret)
            )
        elif args.authmethod == "cryptosign":
            kw = {"privkey": args.secret}
            if args.authid is not None:
                kw["authid"] = args.authid
            session.add_authenticator(create_authenticator("cryptosign", **kw))
        return session

    serializer = SERID_TO_SER[args.serializer]()
    if args.url.startswith("rs"):
        _secure, host, port = parse_rs_url(args.url)
        factory = WampRawSocketClientFactory(make_session, serializer=serializer)
        if host == "unix":
            connect = loop.create_unix_connection(factory, port)
        else:
            connect = loop.create_connection(factory, host, port)
    else:
        _secure, host, port, _resource, _path, _params = parse_ws_url(args.url)
        factory = WampWebSocketClientFactory(make_session, url=args.url, serializers=[serializer])
        connect = loop.create_connection(factory, host, port)
    try:
        loop.run_until_complete(asyncio.wait_for(connect, 10.0))
    except Exception as e:
        print(f"connecting to {args.url} failed: {e!r}", file=sys.stderr)
        emit({"failed": {"error": f"connect: {e!r}", "leave": {}}})
        hard_exit(1)
    hard_exit(loop.run_until_complete(done))
