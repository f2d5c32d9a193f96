"""Decodes and re-encodes WAMP UBJSON payloads with the Python codecs Autobahn uses.

Reads lines `<dialect> <hex>` on stdin (dialect `bjdata`: the `bjdata` package, as
Autobahn|Python 26 and Crossbar.io 26 use it; `draft12`: py-ubjson). For each, prints one
JSON line: `view`, the decoded value as JSON (bytes as {"$bytes": base64}, high-precision
numbers as int or float), and `hex`, the same value encoded again by that codec. Used by
tests/ubjson_python.rs.
"""

import base64
import decimal
import json
import sys

import bjdata
import ubjson

CODECS = {"bjdata": bjdata, "draft12": ubjson}


def view(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, list):
        return [view(x) for x in v]
    if isinstance(v, dict):
        return {k: view(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise TypeError(f"unexpected decoded type {type(v).__name__}: {v!r}")


for line in sys.stdin:
    dialect, payload = line.split()
    codec = CODECS[dialect]
    value = codec.loadb(bytes.fromhex(payload))
    print(json.dumps({"view": view(value), "hex": codec.dumpb(value).hex()}), flush=True)
