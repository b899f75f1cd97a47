"""Reads one results folder into plain data for the report, tolerating gaps.

A report is most needed when a run went wrong, so nothing here may stop it:
a missing or broken file becomes a note shown in the report ("not recorded",
"could not be read: ...") instead of an exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from unkindness.checkers.history import HistoryError, Op, pair
from unkindness.harness.history.files import BadHistoryFile, load

HISTORY_NAMES = ("history.jsonl", "history.json", "history.edn")


@dataclass
class Fault:
    """One fault interval, in ns since the run started; ``end`` None = never healed."""

    kind: str
    start: int
    end: int | None
    nodes: Any = None
    id: Any = None
    detail: Any = None


@dataclass
class RunData:
    run_dir: Path
    test: dict = field(default_factory=dict)
    results: dict | None = None
    events: list[dict] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    nemesis: list[dict] = field(default_factory=list)
    end_time: int = 0
    faults: list[Fault] = field(default_factory=list)
    node_logs: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # problems reading the folder, shown in the report
    history_path: Path | None = None


def _read_json(path: Path, notes: list[str]) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        notes.append(f"{path.name} could not be read: {e}")
        return None


def find_history(run_dir: Path) -> Path | None:
    for name in HISTORY_NAMES:
        if (run_dir / name).is_file():
            return run_dir / name
    return None


def wall_start(test: dict) -> float | None:
    """The run's start as unix seconds, from test.json's start_time (number or ISO text)."""
    return to_unix(test.get("start_time"))


def to_unix(ts: Any) -> float | None:
    """Unix seconds from a number (s, ms or ns by magnitude) or an ISO-8601 string; None if unreadable."""
    if isinstance(ts, bool):
        return None
    if isinstance(ts, (int, float)):
        t = float(ts)
        if t > 1e17:
            return t / 1e9
        if t > 1e14:
            return t / 1e6
        if t > 1e11:
            return t / 1e3
        return t
    if isinstance(ts, str):
        s = ts.strip()
        try:
            return to_unix(float(s))
        except ValueError:
            pass
        try:
            d = datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            return None
        if d.tzinfo is None:
            d = d.replace(tzinfo=timezone.utc)
        return d.timestamp()
    return None


def _int_or_none(v: Any) -> int | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return int(v)


def read_faults(path: Path, notes: list[str]) -> list[Fault] | None:
    """faults.jsonl as intervals; None when the file is absent."""
    if not path.is_file():
        return None
    faults: list[Fault] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        notes.append(f"faults.jsonl could not be read: {e}")
        return None
    by_id: dict[Any, Fault] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            notes.append(f"faults.jsonl line {lineno} is not JSON ({e.msg}); skipped")
            continue
        if not isinstance(rec, dict):
            continue
        start = _int_or_none(rec.get("applied_at"))
        fid = rec.get("id")
        if start is None:
            # A journal may append a separate "healed" record for an earlier fault.
            healed = _int_or_none(rec.get("healed_at"))
            if fid in by_id and healed is not None:
                by_id[fid].end = healed
            continue
        fault = Fault(
            kind=str(rec.get("kind") or rec.get("f") or "fault"),
            start=start,
            end=_int_or_none(rec.get("healed_at")),
            nodes=rec.get("nodes", rec.get("grudge")),
            id=fid,
            detail={k: v for k, v in rec.items() if k not in ("applied_at", "healed_at")},
        )
        if fid is not None and fid in by_id and by_id[fid].start == start:
            if fault.end is not None:
                by_id[fid].end = fault.end
            continue
        if fid is not None:
            by_id[fid] = fault
        faults.append(fault)
    return faults


_STOP_FOR = {"start-partition": "stop-partition", "kill": "start", "pause": "resume",
             "start-clock": "stop-clock", "bump-clock": "reset-clock", "strobe-clock": "reset-clock"}


def faults_from_nemesis(nemesis: list[dict], end_time: int) -> list[Fault]:
    """Fault intervals derived from nemesis events when faults.jsonl is absent.

    ``start-X``/``stop-X`` pairs bracket a fault; known pairs (kill/start,
    pause/resume) too. A fault never stopped lasts to the end of the run.
    """
    open_: dict[str, Fault] = {}
    out: list[Fault] = []
    for ev in nemesis:
        if ev.get("type") not in ("info", "ok"):
            # Use the completion: that is when the fault is in place.
            if ev.get("type") == "invoke":
                continue
        f = str(ev.get("f"))
        t = _int_or_none(ev.get("time")) or 0
        closes = [k for k, stop in _STOP_FOR.items() if stop == f]
        if f.startswith("stop-"):
            closes.append("start-" + f[6:])
        closed = False
        for k in closes:
            if k in open_:
                open_.pop(k).end = t
                closed = True
                break
        if closed:
            continue
        if f in _STOP_FOR or f.startswith("start-"):
            kind = f[6:] if f.startswith("start-") else f
            fault = Fault(kind=kind, start=t, end=None, nodes=ev.get("value"), detail=ev.get("value"))
            open_[f] = fault
            out.append(fault)
    for fault in open_.values():
        fault.end = None
    return out


def read_run(run_dir: Path) -> RunData:
    """Everything the report shows about one run; never raises for a bad folder content."""
    rd = RunData(run_dir=run_dir)
    test = _read_json(run_dir / "test.json", rd.notes)
    rd.test = test if isinstance(test, dict) else {}
    results = _read_json(run_dir / "results.json", rd.notes)
    rd.results = results if isinstance(results, dict) else None
    hp = find_history(run_dir)
    rd.history_path = hp
    if hp is None:
        rd.notes.append("No history file (history.jsonl) in this folder: no timeline or latency charts.")
    else:
        try:
            loaded = load(hp)
            rd.events = loaded.events
            paired = pair(rd.events)
            rd.ops, rd.nemesis, rd.end_time = paired.ops, paired.nemesis, paired.end_time
        except (BadHistoryFile, HistoryError) as e:
            rd.notes.append(f"The history could not be read: {e}")
    faults = read_faults(run_dir / "faults.jsonl", rd.notes)
    rd.faults = faults if faults is not None else faults_from_nemesis(rd.nemesis, rd.end_time)
    for f in rd.faults:
        rd.end_time = max(rd.end_time, f.start, f.end or 0)
    nodes_dir = run_dir / "nodes"
    if nodes_dir.is_dir():
        for d in sorted(nodes_dir.iterdir()):
            if d.is_dir():
                logs = sorted(d.glob("*.log"))
                if logs:
                    rd.node_logs[d.name] = (d / "server.log") if (d / "server.log").is_file() else logs[0]
    return rd
