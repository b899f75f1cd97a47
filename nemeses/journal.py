"""faults.jsonl: every fault is written before it is applied, and again when healed.

Each line is the fault's whole current record; readers group by "id" and the
last line wins. A fault whose last record has no "healed_at" was never healed:
the end of a run, Ctrl-C and `harness clean` heal those.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class FaultJournal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._next = 1
        self.faults: dict[int, dict] = {}

    def _write(self, record: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def applying(self, kind: str, at_ns: int, **details: Any) -> dict:
        """Journals a fault about to be applied; returns its record."""
        with self._lock:
            record = {"id": self._next, "kind": kind, "applied_at": at_ns, "healed_at": None, **details}
            self._next += 1
            self.faults[record["id"]] = record
            self._write(record)
        return record

    def healed(self, record: dict, at_ns: int) -> None:
        with self._lock:
            record["healed_at"] = at_ns
            self._write(record)

    def unhealed(self) -> list[dict]:
        with self._lock:
            return [r for r in self.faults.values() if r["healed_at"] is None]


def read_faults(path: str | Path) -> list[dict]:
    """The faults of a run, last record per id, in order of application."""
    latest: dict[Any, dict] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "id" in rec:
            latest[rec["id"]] = rec
    return sorted(latest.values(), key=lambda r: (r.get("applied_at") or 0, str(r["id"])))
