"""Benchmark peer for benches/wamp_e2e.rs: the Autobahn|Python side of the end-to-end runs.

Usage: bench_peer.py URL SERIALIZER [--register] [--subscribe] [--prefix bench]

With --register it registers PREFIX.echo (returns its positional arguments); with --subscribe it
subscribes to PREFIX.topic and counts the events. Prints ``ready`` once set up, then answers each
command read from stdin with one JSON line, an object under the command's name (times in
seconds; ``cpu`` is time.process_time(), the process' own CPU time):

  cpu              {"cpu": c}
  seq N            N sequential calls of PREFIX.echo(i):
                   {"seq": {"calls": N, "wall": w, "cpu": c, "p50_us": .., "p99_us": ..}}
  par N K          N calls, K in flight:   {"par": {"calls": N, "wall": w, "cpu": c}}
  pub N K          N acknowledged publishes to PREFIX.topic, K in flight:
                   {"pub": {"published": N, "start": t0, "wall": w, "cpu": c}}  (time.monotonic())
  wait N           waits (up to 60 s) until N events arrived since the last ``wait``:
                   {"wait": {"events": n, "first": t, "last": t, "cpu": c}}     (time.monotonic())

Exits when stdin closes.
"""

import asyncio
import time

from autobahn.wamp.types import PublishOptions

import _peer


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


def main():
    p = _peer.arg_parser(__doc__)
    p.add_argument("--register", action="store_true")
    p.add_argument("--subscribe", action="store_true")
    p.add_argument("--prefix", default="bench")
    args = p.parse_args()
    echo_uri = f"{args.prefix}.echo"
    topic = f"{args.prefix}.topic"

    events = {"n": 0, "first": None, "last": None}
    arrived = asyncio.Event()

    async def joined(session, details):
        if args.register:

            def echo(*a):
                return a[0] if len(a) == 1 else list(a)

            await session.register(echo, echo_uri)
        if args.subscribe:

            def on_event(*a, **kw):
                now = time.monotonic()
                if events["first"] is None:
                    events["first"] = now
                events["last"] = now
                events["n"] += 1
                arrived.set()

            await session.subscribe(on_event, topic)
        _peer.ready()
        asyncio.ensure_future(commands(session))

    async def seq(session, n):
        lat = []
        c0, t0 = time.process_time(), time.monotonic()
        for i in range(n):
            s = time.monotonic()
            await session.call(echo_uri, i)
            lat.append(time.monotonic() - s)
        wall, cpu = time.monotonic() - t0, time.process_time() - c0
        lat.sort()
        return {
            "calls": n,
            "wall": wall,
            "cpu": cpu,
            "p50_us": percentile(lat, 0.50) * 1e6,
            "p99_us": percentile(lat, 0.99) * 1e6,
        }

    async def in_flight(n, k, one):
        todo = iter(range(n))

        async def worker():
            for i in todo:
                await one(i)

        c0, t0 = time.process_time(), time.monotonic()
        await asyncio.gather(*[worker() for _ in range(k)])
        return t0, time.monotonic() - t0, time.process_time() - c0

    async def wait_events(n):
        deadline = time.monotonic() + 60.0
        while events["n"] < n and time.monotonic() < deadline:
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
        reply = {
            "events": events["n"],
            "first": events["first"],
            "last": events["last"],
            "cpu": time.process_time(),
        }
        events.update(n=0, first=None, last=None)
        return reply

    async def commands(session):
        queue = _peer.stdin_lines(asyncio.get_running_loop())
        ack = PublishOptions(acknowledge=True)
        while True:
            line = await queue.get()
            if line is None:
                await _peer.leave_and_exit(session, 0)
                return
            words = line.split()
            if not words:
                continue
            cmd, nums = words[0], [int(w) for w in words[1:]]
            if cmd == "cpu":
                _peer.emit({"cpu": time.process_time()})
            elif cmd == "seq":
                _peer.emit({"seq": await seq(session, nums[0])})
            elif cmd == "par":

                async def call(i):
                    await session.call(echo_uri, i)

                _t0, wall, cpu = await in_flight(nums[0], nums[1], call)
                _peer.emit({"par": {"calls": nums[0], "wall": wall, "cpu": cpu}})
            elif cmd == "pub":

                async def publish(i):
                    await session.publish(topic, i, options=ack)

                t0, wall, cpu = await in_flight(nums[0], nums[1], publish)
                _peer.emit({"pub": {"published": nums[0], "start": t0, "wall": wall, "cpu": cpu}})
            elif cmd == "wait":
                _peer.emit({"wait": await wait_events(nums[0])})
            else:
                _peer.emit({"failed": {"error": f"unknown command {line!r}", "leave": {}}})

    _peer.run(args, joined)


if __name__ == "__main__":
    main()
