"""Records a run's events into the history as they happen.

One recorder per run, shared by every worker thread and the nemesis: it
assigns each event its index and its time (ns since the run started), appends
it to history.jsonl and flushes, so a run that dies still leaves a checkable
history. It also keeps the counts that the live progress line shows.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from unkindness.harness.history.files import HistoryWriter


class Recorder:
    def __init__(self, path: str | Path, start_ns: int | None = None) -> None:
        self._writer = HistoryWriter(path)
        self._lock = threading.Lock()
        self._index = 0
        self.start_ns = time.monotonic_ns() if start_ns is None else start_ns
        self.counts: Counter[str] = Counter()  # completion types of client ops

    def now(self) -> int:
        """Nanoseconds since the run started."""
        return time.monotonic_ns() - self.start_ns

    def record(self, process: Any, type_: str, f: str, value: Any = None,
               node: Any = None, error: Any = None) -> dict:
        """Appends one event; returns it with its index and time filled in."""
        with self._lock:
            ev = {"index": self._index, "time": time.monotonic_ns() - self.start_ns,
                  "process": process, "type": type_, "f": f, "value": value,
                  "node": node, "error": error}
            self._index += 1
            self._writer.write(ev)
            if type_ != "invoke" and process != "nemesis":
                self.counts[type_] += 1
        return ev

    @property
    def events(self) -> int:
        return self._index

    def close(self) -> None:
        with self._lock:
            self._writer.close()
