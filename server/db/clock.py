"""The node's wall clock, shifted by ``--clock-offset-ms``.

Everything the server stamps (``@last-modified``, tombstones) reads this clock,
so an offset has its real effect on "latest wins" conflict resolution.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone


class Clock:
    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        """Milliseconds since the epoch, offset applied."""
        return time.time_ns() // 1_000_000 + self.offset_ms

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ms * 1_000_000

    def iso(self) -> str:
        """RavenDB's ``@last-modified`` format: 7 fractional digits and ``Z``."""
        return format_iso(self.now_ns())


# (seconds, formatted seconds): every write stamps the time, mostly within the
# same second, and strftime is the costly part. One tuple, swapped whole, so
# threads never see a half-updated pair.
_last_second: tuple[int, str] = (-1, "")


def format_iso(ns: int) -> str:
    global _last_second
    seconds, rest = divmod(ns, 1_000_000_000)
    cached_seconds, base = _last_second
    if cached_seconds != seconds:
        base = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        _last_second = (seconds, base)
    return f"{base}.{rest // 100:07d}Z"


def parse_iso_ms(text: str) -> int:
    """Milliseconds since the epoch from an ``@last-modified`` stamp (any fraction length)."""
    text = text.rstrip("Z")
    main, _, frac = text.partition(".")
    dt = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1000 + int((frac + "000")[:3] or 0)
