"""Test messages shared by the interop scripts (not a test by itself).

Sizes cover the WebSocket length encodings (7-bit, 16-bit at 126 and 65535, 64-bit at
65536) plus empty, one byte and 1 MiB; each size comes as text and binary, random
(incompressible) and compressible. Text sizes are UTF-8 byte lengths.
"""

import random

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]

# Code points of 1, 2, 3 and 4 UTF-8 bytes, so text crosses multi-byte boundaries.
_CHARS = ["a", "Z", "7", " ", "\u00e9", "\u03a9", "\u20ac", "\u4e2d", "\U0001f600", "\U00010348"]

_PHRASE = "WAMP call com.example.add2 args=[1, 2] kwargs={'unit': 'cm'}; "


def _random_text(rng: random.Random, size: int) -> str:
    parts = []
    left = size
    while left > 0:
        ch = rng.choice(_CHARS)
        n = len(ch.encode("utf-8"))
        if n > left:
            ch, n = "x", 1
        parts.append(ch)
        left -= n
    return "".join(parts)


def _compressible_text(size: int) -> str:
    # ASCII only, so characters == bytes and cutting anywhere keeps it valid UTF-8.
    reps = size // len(_PHRASE) + 1
    return (_PHRASE * reps)[:size]


def messages(seed: int = 6455):
    """Yields (label, payload) pairs; payload is str (text) or bytes (binary)."""
    rng = random.Random(seed)
    for size in SIZES:
        yield f"text/random/{size}", _random_text(rng, size)
        yield f"text/compressible/{size}", _compressible_text(size)
        yield f"binary/random/{size}", rng.randbytes(size)
        yield f"binary/compressible/{size}", _compressible_text(size).encode("ascii")
