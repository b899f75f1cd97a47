"""JSON on the server's hot paths: Raft frames and log entries, HTTP response bodies.

orjson encodes and decodes these several times faster than the standard library
(register through the harness: 1,289 -> 1,465 ops/s with it; see
benchmarks/harness_cluster.md), and reads them the same way, with two gaps
covered here so that no value changes on its way through the server:
- orjson refuses integers beyond 64 bits and strings with lone surrogates when
  encoding: those go through the standard library;
- orjson decodes an integer beyond 64 bits as a float, silently: text with a
  run of 19 or more digits goes through the standard library.
NaN and infinities never get here: the HTTP layer refuses them on the way in
(http/common.read_json).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # {1: x} -> {"1": x}, as json.dumps does
# A run of 19 digits, found by mapping every digit to "0" and searching for nineteen of them:
# ten times faster than the regular expression \d{19} (2 ms for a 230 KB page of documents).
_ZEROED_BYTES = bytes.maketrans(b"123456789", b"000000000")
_ZEROED_TEXT = str.maketrans("123456789", "000000000")
_RUN_BYTES, _RUN_TEXT = b"0" * 19, "0" * 19


def dumps(obj: Any) -> str:
    """Compact JSON text for ``obj``."""
    try:
        return orjson.dumps(obj, option=_OPTIONS).decode()
    except TypeError:
        return json.dumps(obj, separators=(",", ":"))


def loads(data: str | bytes) -> Any:
    """Parse JSON text (or UTF-8 bytes); a ValueError (json.JSONDecodeError) when it is not JSON."""
    if isinstance(data, (bytes, bytearray)):
        long_digits = _RUN_BYTES in data.translate(_ZEROED_BYTES)
    else:
        long_digits = _RUN_TEXT in data.translate(_ZEROED_TEXT)
    if not long_digits:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the standard library's verdict and message
    return json.loads(data)
