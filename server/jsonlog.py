"""Structured logs: one JSON object per line (or a readable text line), so a
harness can collect and search node logs after a run."""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from typing import Any, TextIO


class Log:
    def __init__(self, stream: TextIO | None = None, fmt: str = "json", tag: str = "?",
                 clock_ms=None) -> None:
        self.stream = stream or sys.stderr
        self.fmt = fmt
        self.tag = tag
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.Lock()

    def _emit(self, level: str, msg: str, fields: dict[str, Any]) -> None:
        ts = self._clock_ms()
        if self.fmt == "json":
            line = json.dumps({"ts_ms": ts, "level": level, "node": self.tag, "msg": msg, **fields},
                              default=str, ensure_ascii=False)
        else:
            extra = " ".join(f"{k}={v}" for k, v in fields.items())
            line = f"{time.strftime('%H:%M:%S', time.gmtime(ts / 1000))} {level.upper():7} [{self.tag}] {msg} {extra}"
        with self._lock:
            try:
                self.stream.write(line.rstrip() + "\n")
                self.stream.flush()
            except (ValueError, OSError):  # stream closed at shutdown
                pass

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
