"""Structured logs: one JSON object per line (or a readable text line), so a
harness can collect and search node logs after a run.

One logger for the whole node: the node's own log (stderr or ``--log-file``)
and the Raft event log (``raft.jsonl``, read back by tests to check, for
example, that no term had two leaders) are both ``Log``s.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from typing import Any, Callable, TextIO


class Log:
    def __init__(self, stream: TextIO | None = None, fmt: str = "json", tag: str = "?",
                 clock_ms: Callable[[], int] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.fmt = fmt
        self.tag = tag
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()
        self._owned: TextIO | None = None

    @classmethod
    def to_file(cls, path: str, tag: str = "?") -> "Log":
        """A JSON log appending to ``path``; every record is flushed as written (kill -9 loses none)."""
        f = open(path, "a", encoding="utf-8")
        log = cls(f, "json", tag)
        log._owned = f
        return log

    def close(self) -> None:
        """Closes the file ``to_file`` opened (a no-op for a stream passed in)."""
        if self._owned is not None:
            with self._lock:
                self._owned.close()
                self._owned = None

    def _emit(self, level: str, msg: str | None, fields: dict[str, Any]) -> None:
        ts = self._clock_ms()
        if self.fmt == "json":
            head = {"ts_ms": ts, "level": level, "node": self.tag}
            if msg is not None:
                head["msg"] = msg
            line = json.dumps({**head, **fields}, default=str, ensure_ascii=False)
        else:
            extra = " ".join(f"{k}={v}" for k, v in fields.items())
            line = f"{time.strftime('%H:%M:%S', time.gmtime(ts / 1000))} {level.upper():7} [{self.tag}] {msg or ''} {extra}"
        with self._lock:
            try:
                self.stream.write(line.rstrip() + "\n")
                self.stream.flush()
            except (ValueError, OSError):  # stream closed at shutdown
                pass

    def record(self, fields: dict[str, Any], level: str = "info") -> None:
        """An event that is all fields and no message (Raft's ``{"event": "became_leader", ...}``)."""
        self._emit(level, None, fields)

    def debug(self, msg: str, **fields: Any) -> None:
        self._emit("debug", msg, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._emit("info", msg, fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self._emit("warning", msg, fields)

    def error(self, msg: str, **fields: Any) -> None:
        self._emit("error", msg, fields)

    def exception(self, msg: str, **fields: Any) -> None:
        self._emit("error", msg, {**fields, "traceback": traceback.format_exc()})


def read_records(path: str) -> list[dict]:
    """The records of a JSON log, skipping a torn last line left by kill -9."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
