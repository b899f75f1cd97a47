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
from unkindness.harness.history.edn import EdnError, Keyword, Symbol, Tagged, iter_forms


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
    """Loads a history: EDN for `.edn`, JSON lines for `.jsonl`/`.json`, else judged by content.

    JSON lines are read line by line, so a history of hundreds of MB is held once, as its
    events; EDN is read as one text. Whatever the bytes, a bad file is a BadHistoryFile
    naming the place, never a traceback.
    """
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        raise BadHistoryFile(f"{p}: no such file") from None
    except IsADirectoryError:
        raise BadHistoryFile(f"{p}: is a folder, not a history file") from None
    except OSError as e:
        raise BadHistoryFile(f"{p}: cannot read: {e.strerror}") from None
    if b"\x00" in head:
        raise BadHistoryFile(f"{p}: a binary file (it holds NUL bytes), not a history")
    try:
        sniff = head.decode("utf-8", errors="strict") if len(head) < 4096 else head[:4000].decode("utf-8", "ignore")
    except UnicodeDecodeError as e:
        raise BadHistoryFile(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not sniff.strip() and p.stat().st_size == len(head):
        raise BadHistoryFile(f"{p}: the file is empty, there is no history to check")
    if p.suffix == ".edn" or (p.suffix not in (".jsonl", ".json") and _looks_like_edn(sniff)):
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise BadHistoryFile(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
        loaded = _load_edn(p, text)
        del text
    else:
        loaded = _load_jsonl(p)
    if not loaded.events:
        raise BadHistoryFile(f"{p}: the file is empty, there is no history to check")
    try:
        pair(loaded.events)
    except HistoryError as e:
        raise BadHistoryFile(loaded.locate(e)) from None
    return loaded


MAX_DEPTH = 200  # as harness/history/edn.py: op values nest a few levels; deeper ones are refused


def _too_deep(v: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a decoded value nests more than `limit` levels (checked without recursion)."""
    stack = [(v, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, dict):
            x = list(x.values())
        if isinstance(x, list):
            if d > limit:
                return True
            stack.extend((y, d + 1) for y in x if isinstance(y, (list, dict)))
    return False


def _looks_like_edn(text: str) -> bool:
    head = text.lstrip()[:200]
    return head.startswith("[") or head.startswith("#") or head.startswith(";") or (
        head.startswith("{") and head[1:].lstrip().startswith(":")
    )


def _load_jsonl(p: Path) -> LoadedHistory:
    events: list[dict] = []
    lines: dict[Any, int] = {}
    with open(p, encoding="utf-8", newline="") as f:
        lineno = 0
        while True:
            try:
                raw = f.readline()
            except UnicodeDecodeError as e:
                raise BadHistoryFile(f"{p}:{lineno + 1}: not UTF-8 text ({e.reason})") from None
            if not raw:
                break
            lineno += 1
            if not raw.strip():
                continue
            try:
                ev = json.loads(raw)
            except json.JSONDecodeError as e:
                raise BadHistoryFile(f"{p}:{lineno}: not valid JSON ({e.msg} at column {e.colno})") from None
            except RecursionError:
                ev = None
            except ValueError as e:  # e.g. an integer of more digits than Python converts
                raise BadHistoryFile(f"{p}:{lineno}: not a usable JSON value ({str(e)[:120]})") from None
            if ev is None and raw.strip() != "null" or _too_deep(ev):
                raise BadHistoryFile(f"{p}:{lineno}: nested more than {MAX_DEPTH} levels deep; a history's "
                                     "events never are")
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


EDN_KEYS = ("index", "time", "process", "type", "f", "value", "node", "error")


def event_to_edn(ev: dict) -> str:
    """One event as a Jepsen op map: :type, :f and the nemesis process as keywords, a list-append
    txn's micro-op names as keywords ([:append k v], [:r k [...]]), other values as they are."""
    from unkindness.harness.history.edn import Keyword, dumps

    op: dict[str, Any] = {}
    for k in EDN_KEYS:
        if k not in ev:
            continue
        v = ev[k]
        if k == "type" or (k == "f" and isinstance(v, str)) or (k == "process" and v == NEMESIS):
            v = Keyword(v)
        elif k == "value" and ev.get("f") == "txn" and isinstance(v, list):
            v = [[Keyword(m[0]), *m[1:]] if isinstance(m, list) and m and m[0] in ("append", "r") else m for m in v]
        op[k] = v
    return dumps(op)


def write_edn(jsonl: str | os.PathLike, edn: str | os.PathLike) -> Path:
    """history.edn beside history.jsonl, one op map per line (Jepsen's store format), streamed."""
    out = Path(edn)
    tmp = out.with_suffix(".edn.tmp")
    with open(jsonl, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
        for line in src:
            if line.strip():
                dst.write(event_to_edn(json.loads(line)) + "\n")
    os.replace(tmp, out)
    return out


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
