"""Pairs a flat history of events into operations; shared by every checker.

A history is a list of event dicts in design.md's format:
``{"index", "time", "process", "type", "f", "value", "node", "error"}``.
An operation is one invoke and its completion by the same process. Checkers
reason about operations, so the pairing (and its errors) lives in one place.

Semantics (Jepsen's):
- ``ok``: happened, and its completion value is what it observed.
- ``fail``: certainly did not take effect.
- ``info``, or an invoke with no completion: may take effect at any point after
  its invocation, or never. Such an op is *indeterminate* and its ``end`` is
  ``None`` (it stays concurrent with everything after its invocation).
Nemesis events (process ``"nemesis"``) are kept apart from client operations.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

NEMESIS = "nemesis"
COMPLETION_TYPES = ("ok", "fail", "info")
EVENT_TYPES = ("invoke",) + COMPLETION_TYPES


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pauses the cyclic garbage collector (usable as a decorator).

    Why: a checker allocates millions of small records while the history, a
    few million dicts, is alive; every collection would traverse all of it,
    which made the checkers up to three times slower at 1M ops. They build
    no reference cycles, so nothing is left for the collector to reclaim.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class HistoryError(ValueError):
    """A history that cannot be interpreted; the message names the event.

    ``index`` is the offending event's index when known, so a caller that
    read the history from a file can name the line.
    """

    def __init__(self, message: str, index: Any = None) -> None:
        super().__init__(message)
        self.index = index


@dataclass(slots=True)
class Op:
    """One client operation: its invocation and (if any) completion."""

    id: int  # position among the paired ops, in invocation order
    process: Any
    f: str
    invoke_value: Any  # the value as invoked (reads often carry None)
    value: Any  # the completion's value; the invoke's when there is none
    type: str  # "ok" | "fail" | "info"; "info" also when never completed
    start: int  # invocation time, ns since the run started
    end: int | None  # completion time, ns; None when indeterminate
    invoke_index: int
    complete_index: int | None = None
    completed_at: int | None = None  # completion time even for info, for drawing
    node: Any = None
    error: Any = None
    extra: dict = field(default_factory=dict)  # any other keys of the completion (rarely any)

    @property
    def ok(self) -> bool:
        return self.type == "ok"

    @property
    def indeterminate(self) -> bool:
        return self.type == "info"

    def to_dict(self) -> dict:
        """A compact, JSON-ready description for evidence in results."""
        d = {
            "process": self.process,
            "type": self.type,
            "f": self.f,
            "value": self.value,
            "invoke_index": self.invoke_index,
            "complete_index": self.complete_index,
            "start": self.start,
            "end": self.end,
        }
        if self.node is not None:
            d["node"] = self.node
        if self.error is not None:
            d["error"] = self.error
        return d


@dataclass(slots=True)
class Paired:
    """The client operations of a history plus its nemesis events."""

    ops: list[Op]
    nemesis: list[dict]
    end_time: int  # time of the last event, ns


_KNOWN_KEYS = {"index", "time", "process", "type", "f", "value", "node", "error"}


def _time(ev: dict, pos: int) -> int:
    """The event's time as int ns; slow path for anything but a plain int."""
    t = ev.get("time")
    if t is None:
        return pos
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise HistoryError(f"event {ev.get('index', pos)}: time must be a number, got {t!r}", ev.get("index", pos))
    return int(t)


@gc_paused()
def pair(history: Iterable[dict]) -> Paired:
    """Pairs invokes with completions per process, in history order.

    Raises HistoryError for completions without an invoke, a second invoke on
    a process that is still busy, or events with a missing or unknown type.
    """
    ops: list[Op] = []
    nemesis: list[dict] = []
    pending: dict[Any, Op] = {}
    end_time = 0
    known = _KNOWN_KEYS
    for pos, ev in enumerate(history):
        if type(ev) is not dict and not isinstance(ev, dict):
            raise HistoryError(f"event {pos}: expected an object, got {type(ev).__name__}", pos)
        get = ev.get
        idx = get("index", pos)
        typ = get("type")
        t = get("time")
        if t is None:
            t = pos
        elif type(t) is not int:
            t = _time(ev, pos)
        if t > end_time:
            end_time = t
        proc = get("process")
        if proc == NEMESIS:
            if typ not in EVENT_TYPES:
                raise HistoryError(f"event {idx}: type must be one of {', '.join(EVENT_TYPES)}, got {typ!r}", idx)
            nemesis.append(ev)
            continue
        if proc is None or isinstance(proc, (dict, list)):
            raise HistoryError(f"event {idx}: process must be a number or name, got {proc!r}", idx)
        f = get("f")
        if typ == "invoke":
            if proc in pending:
                prev = pending[proc]
                raise HistoryError(
                    f"event {idx}: process {proc!r} invoked {f!r} while its {prev.f!r} "
                    f"(event {prev.invoke_index}) has not completed", idx,
                )
            value = get("value")
            op = Op(len(ops), proc, f, value, value, "info", t, None, idx, None, None, get("node"))
            ops.append(op)
            pending[proc] = op
            continue
        if typ not in COMPLETION_TYPES:
            raise HistoryError(f"event {idx}: type must be one of {', '.join(EVENT_TYPES)}, got {typ!r}", idx)
        op = pending.pop(proc, None)
        if op is None:
            raise HistoryError(f"event {idx}: {typ} of {f!r} by process {proc!r} has no invoke before it", idx)
        if f != op.f:
            raise HistoryError(
                f"event {idx}: completion f {f!r} does not match its invoke's f {op.f!r} "
                f"(event {op.invoke_index})", idx,
            )
        op.type = typ
        op.value = get("value")
        op.complete_index = idx
        op.end = None if typ == "info" else t
        op.completed_at = t
        node = get("node")
        if node is not None:
            op.node = node
        op.error = get("error")
        if len(ev) > len(known) or not known.issuperset(ev):
            extra = {k: v for k, v in ev.items() if k not in known}
            if extra:
                op.extra = extra
    return Paired(ops=ops, nemesis=nemesis, end_time=end_time)


def client_ops(history: Iterable[dict]) -> list[Op]:
    """The paired client operations only."""
    return pair(history).ops
