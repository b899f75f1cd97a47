"""Histories as pandas DataFrames (`unkindness.load_history`): one row per operation.

pandas is imported here only, so neither the checkers nor the reports pay
for it. Columns: process, f, type (ok / fail / info; info also when the op
never completed), invoke_index, complete_index, invoke_time and
complete_time (seconds since the run started), latency (seconds; NaN for
info), node, value (the completion's, the invocation's when there is none),
invoke_value, error. Nemesis events are left out; `load_faults(path)` gives
a results folder's fault intervals.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

NS = 1e9


def _history_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.is_dir():
        if (p / "latest").is_dir() and not (p / "history.jsonl").exists():
            p = (p / "latest").resolve()
        p = p / "history.jsonl"
    return p


def load_history(path: str | os.PathLike) -> Any:
    """A JSON-lines history, a Jepsen EDN history, or a results folder, as a DataFrame."""
    import pandas as pd

    from unkindness.checkers.history import pair
    from unkindness.harness.history.files import load

    ops = pair(load(_history_path(path)).events).ops
    rows = [{
        "process": op.process, "f": op.f, "type": op.type,
        "invoke_index": op.invoke_index, "complete_index": op.complete_index,
        "invoke_time": op.start / NS,
        "complete_time": None if op.completed_at is None else op.completed_at / NS,
        "latency": None if op.end is None else (op.end - op.start) / NS,
        "node": op.node, "value": op.value, "invoke_value": op.invoke_value, "error": op.error,
    } for op in ops]
    frame = pd.DataFrame(rows, columns=["process", "f", "type", "invoke_index", "complete_index", "invoke_time",
                                        "complete_time", "latency", "node", "value", "invoke_value", "error"])
    return frame.astype({"latency": "float64", "complete_time": "float64"})


def load_faults(path: str | os.PathLike) -> Any:
    """A results folder's faults (faults.jsonl) as a DataFrame: kind, start, end (seconds), nodes, description."""
    import pandas as pd

    from unkindness.nemeses.journal import read_faults

    folder = _history_path(path).parent
    rows = [{"kind": f.get("kind"), "start": (f.get("applied_at") or 0) / NS,
             "end": None if f.get("healed_at") is None else f["healed_at"] / NS,
             "nodes": f.get("nodes"), "description": f.get("description")} for f in read_faults(folder / "faults.jsonl")]
    return pd.DataFrame(rows, columns=["kind", "start", "end", "nodes", "description"]).astype({"end": "float64"})
