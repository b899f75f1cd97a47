"""Reads and writes history files: our JSON lines, and Jepsen's EDN.

Reading is strict and precise: a broken file is reported with its path, line
and what is wrong (BadHistoryFile), never with a traceback, so `harness check`
can say exactly where to look. Writing appends and flushes one event per line,
so a run that dies still leaves a checkable history.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, IO

from unkindness.checkers.history import EVENT_TYPES, NEMESIS, HistoryError, pair
from unkindness.harness.edn import EdnError, Keyword, Symbol, Tagged, iter_forms


class BadHistoryFile(ValueError):
    """A history file that cannot be read; the message names file and line."""


@dataclass
class LoadedHistory:
    """Events in design.md's format, plus where each came from."""

    events: list[dict]
    path: Path
    format: str  # "jsonl" | "edn"
    lines: dict[Any, int] = field(default_factory=dict)  # event index -> line

    def locate(self, err: HistoryError) -> str:
        """An error message naming the file line of the event it concerns."""
        line = self.lines.get(err.index)
        where = f"{self.path}:{line}" if line else str(self.path)
        return f"{where}: {err}"


def load(path: str | os.PathLike) -> LoadedHistory:
    """Loads a history: EDN for `.edn`, JSON lines for `.jsonl`/`.json`, else judged by content."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadHistoryFile(f"{p}: no such file") from None
    except IsADirectoryError:
        raise BadHistoryFile(f"{p}: is a folder, not a history file") from None
    except UnicodeDecodeError as e:
        raise BadHistoryFile(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise BadHistoryFile(f"{p}: cannot read: {e.strerror}") from None
    if not text.strip():
        raise BadHistoryFile(f"{p}: the file is empty, there is no history to check")
    if p.suffix == ".edn" or (p.suffix not in (".jsonl", ".json") and _looks_like_edn(text)):
        loaded = _load_edn(p, text)
    else:
        loaded = _load_jsonl(p, text)
    try:
        pair(loaded.events)
    except HistoryError as e:
        raise BadHistoryFile(loaded.locate(e)) from None
    return loaded


def _looks_like_edn(text: str) -> bool:
    head = text.lstrip()[:200]
    return head.startswith("[") or head.startswith("#") or head.startswith(";") or (
        head.startswith("{") and head[1:].lstrip().startswith(":")
    )


def _load_jsonl(p: Path, text: str) -> LoadedHistory:
    events: list[dict] = []
    lines: dict[Any, int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            ev = json.loads(raw)
        except json.JSONDecodeError as e:
            raise BadHistoryFile(f"{p}:{lineno}: not valid JSON ({e.msg} at column {e.colno})") from None
        where = f"{p}:{lineno}"
        ev = _validate(ev, where, len(events))
        lines.setdefault(ev["index"], lineno)
        events.append(ev)
    return LoadedHistory(events, p, "jsonl", lines)


def _load_edn(p: Path, text: str) -> LoadedHistory:
    events: list[dict] = []
    lines: dict[Any, int] = {}
    try:
        forms = list(iter_forms(text))
    except EdnError as e:
        raise BadHistoryFile(f"{p}: {e}") from None
    # Knossos style: one vector holding every op map.
    if len(forms) == 1 and isinstance(forms[0][0], list):
        forms = [(op, forms[0][1]) for op in forms[0][0]]
    for form, lineno in forms:
        where = f"{p}:{lineno}"
        if not isinstance(form, dict):
            raise BadHistoryFile(f"{where}: expected an op map like {{:type :invoke, :f :read, ...}}")
        ev = {str(k): _from_edn(v) for k, v in form.items()}
        ev = _validate(ev, where, len(events))
        lines.setdefault(ev["index"], lineno)
        events.append(ev)
    return LoadedHistory(events, p, "edn", lines)


def _from_edn(v: Any) -> Any:
    """EDN values as plain JSON-ready Python: keywords become strings, sets sorted lists."""
    if isinstance(v, (Keyword, Symbol)):
        return str(v)
    if isinstance(v, list):
        return [_from_edn(x) for x in v]
    if isinstance(v, tuple):
        return [_from_edn(x) for x in v]
    if isinstance(v, frozenset):
        items = [_from_edn(x) for x in v]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(v, dict):
        return {(k if isinstance(k, (str, int)) else json.dumps(_from_edn(k))): _from_edn(x) for k, x in v.items()}
    if isinstance(v, Tagged):
        return _from_edn(v.value)
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _validate(ev: Any, where: str, pos: int) -> dict:
    """Checks one event's shape; fills index (and, for EDN, a time) when absent."""
    if not isinstance(ev, dict):
        raise BadHistoryFile(f"{where}: expected a JSON object per line, got {type(ev).__name__}")
    typ = ev.get("type")
    if typ not in EVENT_TYPES:
        raise BadHistoryFile(f"{where}: \"type\" must be one of {', '.join(EVENT_TYPES)}, got {typ!r}")
    if "process" not in ev:
        raise BadHistoryFile(f"{where}: the event has no \"process\"")
    if ev["process"] is None or isinstance(ev["process"], (dict, list, bool)):
        raise BadHistoryFile(f"{where}: \"process\" must be a number or a name, got {ev['process']!r}")
    if ev["process"] != NEMESIS and not isinstance(ev.get("f"), (str, int)):
        raise BadHistoryFile(f"{where}: \"f\" must name the operation, got {ev.get('f')!r}")
    idx = ev.get("index")
    if idx is None:
        ev["index"] = idx = pos
    elif isinstance(idx, bool) or not isinstance(idx, int):
        raise BadHistoryFile(f"{where}: \"index\" must be an integer, got {idx!r}")
    t = ev.get("time")
    if t is None:
        # Without timestamps, real-time order is the order of the lines.
        ev["time"] = pos * 1000
    elif isinstance(t, bool) or not isinstance(t, (int, float)):
        raise BadHistoryFile(f"{where}: \"time\" must be a number of nanoseconds, got {t!r}")
    ev.setdefault("value", None)
    return ev


class HistoryWriter:
    """Appends events as JSON lines, flushed per event (a dying run leaves a checkable file)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._f: IO[str] = open(self.path, "a", encoding="utf-8")

    def write(self, event: dict) -> None:
        self._f.write(json.dumps(event, separators=(",", ":"), default=str) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "HistoryWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
