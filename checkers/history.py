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

Two ways to pair, with the same rules and the same ``HistoryError`` messages:
``pair`` builds an ``Op`` for every operation (what the linearizability and
cycle checkers search); ``scan_ops`` yields the raw events of the operations
of the kinds asked for, because building a million ``Op`` objects costs
seconds and the linear checkers (bank, sets, convergence, cart, stats) each
need a few kinds only; ``make_op`` builds the ``Op`` of one raw operation that
ends up as evidence, so evidence always uses ``Op.to_dict()``.
"""

from __future__ import annotations

import functools
import gc
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Callable, Collection, Iterable, Iterator, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

NEMESIS = "nemesis"
COMPLETION_TYPES = ("ok", "fail", "info")
EVENT_TYPES = ("invoke",) + COMPLETION_TYPES


class GcPause:
    """Pauses the cyclic garbage collector: ``with gc_paused():`` or ``@gc_paused()``.

    Why: a checker allocates millions of small records while the history, a
    few million dicts, is alive; every collection would traverse all of it,
    which made the checkers up to three times slower at 1M ops. They build
    no reference cycles, so nothing is left for the collector to reclaim.
    A class, not ``contextlib.contextmanager``: as a decorator that built a
    generator per call, a few microseconds that small checks felt.
    """

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def paused(*args: P.args, **kwargs: P.kwargs) -> R:
            if not gc.isenabled():
                return fn(*args, **kwargs)
            gc.disable()
            try:
                return fn(*args, **kwargs)
            finally:
                gc.enable()
        return paused


def gc_paused() -> GcPause:
    return GcPause()


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
    extra: dict | None = None  # any other keys of the completion (rarely any)

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
_FIELDS = itemgetter("type", "time", "process", "f", "value", "index", "node", "error")


def _time(t: Any, idx: Any, pos: int) -> int:
    """An event's time as int ns; slow path for anything but a plain int."""
    if t is None:
        return pos
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise HistoryError(f"event {idx}: time must be a number, got {t!r}", idx)
    return int(t)


def _bad_completion(typ: Any, f: Any, proc: Any, idx: Any, invoke: tuple | None) -> None:
    """Raises the HistoryError that says what is wrong with a completion event."""
    if typ not in COMPLETION_TYPES:
        raise HistoryError(f"event {idx}: type must be one of {', '.join(EVENT_TYPES)}, got {typ!r}", idx)
    if invoke is None:
        raise HistoryError(f"event {idx}: {typ} of {f!r} by process {proc!r} has no invoke before it", idx)
    raise HistoryError(
        f"event {idx}: completion f {f!r} does not match its invoke's f {invoke[1]!r} (event {invoke[4]})", idx)


@gc_paused()
def pair(history: Iterable[dict]) -> Paired:
    """Pairs invokes with completions per process, in history order.

    Raises HistoryError for completions without an invoke, a second invoke on
    a process that is still busy, or events with a missing or unknown type.
    """
    ops: list[Op] = []
    nemesis: list[dict] = []
    pending: dict[Any, tuple] = {}  # process -> (slot, f, value, time, index, node) of its open invoke
    end_time = 0
    known, fields = _KNOWN_KEYS, _FIELDS
    for pos, ev in enumerate(history):
        if type(ev) is not dict and not isinstance(ev, dict):
            raise HistoryError(f"event {pos}: expected an object, got {type(ev).__name__}", pos)
        try:  # one C call for the eight fields; the rare event missing a key takes the defaults
            typ, t, proc, f, value, idx, node, err = fields(ev)
            partial = False
        except KeyError:
            typ, t, proc, f, value, idx, node, err = fields(
                {"index": pos, "time": pos, "process": None, "type": None, "f": None, "value": None, "node": None,
                 "error": None, **ev})
            partial = True
        if type(t) is not int:
            t = _time(t, idx, pos)
        if t > end_time:
            end_time = t
        if type(proc) is not int:
            if proc == NEMESIS:
                if typ not in EVENT_TYPES:
                    raise HistoryError(f"event {idx}: type must be one of {', '.join(EVENT_TYPES)}, got {typ!r}", idx)
                nemesis.append(ev)
                continue
            if proc is None or isinstance(proc, (dict, list)):
                raise HistoryError(f"event {idx}: process must be a number or name, got {proc!r}", idx)
        if typ == "invoke":
            if proc in pending:
                prev = pending[proc]
                raise HistoryError(
                    f"event {idx}: process {proc!r} invoked {f!r} while its {prev[1]!r} "
                    f"(event {prev[4]}) has not completed", idx,
                )
            # The op is built once, at its completion (fewer attribute writes); its slot keeps invocation order.
            pending[proc] = (len(ops), f, value, t, idx, node)
            ops.append(None)  # type: ignore[arg-type]
            continue
        p = pending.pop(proc, None)
        if p is None or typ not in COMPLETION_TYPES or f != p[1]:
            _bad_completion(typ, f, proc, idx, p)
        i, _, inv, start, inv_idx, inv_node = p
        extra = None
        if len(ev) > 8 or partial:  # all eight keys present: anything more is extra
            extra = {k: v for k, v in ev.items() if k not in known} or None
        ops[i] = Op(i, proc, f, inv, value, typ, start, None if typ == "info" else t, inv_idx, idx, t,
                    inv_node if node is None else node, err, extra)
    for proc, (i, f, inv, start, inv_idx, inv_node) in pending.items():  # never completed: indeterminate
        ops[i] = Op(i, proc, f, inv, inv, "info", start, None, inv_idx, None, None, inv_node)
    return Paired(ops=ops, nemesis=nemesis, end_time=end_time)


def client_ops(history: Iterable[dict]) -> list[Op]:
    """The paired client operations only."""
    return pair(history).ops


# (f, type, invoke_index, invoke_event, completion_index_or_None, completion_event_or_None)
RawOp = tuple[Any, str, int, dict, "int | None", "dict | None"]


def brief(value: Any, limit: int = 200) -> str:
    """``repr`` cut to ``limit`` characters, for error messages about huge values."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _bad_event(ev: Any, pos: int) -> HistoryError:
    if not isinstance(ev, dict):
        return HistoryError(f"event {pos}: expected an object, got {type(ev).__name__}")
    idx = ev.get("index", pos)
    typ = ev.get("type")
    if typ not in EVENT_TYPES:
        return HistoryError(f"event {idx}: type must be one of {', '.join(EVENT_TYPES)}, got {typ!r}")
    t = ev.get("time")
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))):
        return HistoryError(f"event {idx}: time must be a number, got {t!r}")
    return HistoryError(f"event {idx}: process must be a number or name, got {ev.get('process')!r}")


def scan_ops(history: Iterable[dict], fs: Collection[str] | None = None) -> Iterator[RawOp]:
    """Yields the operations whose f is in ``fs`` (all when None), as raw events.

    An operation is yielded when it completes, and ops never completed are
    yielded (with completion None) after the last event. Raises HistoryError
    exactly where ``history.pair`` would.
    """
    pending: dict[Any, tuple[int, dict]] = {}
    pos = -1
    for pos, ev in enumerate(history):
        try:
            typ = ev["type"]
            proc = ev["process"]
            t = ev.get("time", pos)
            if t.__class__ is not int and t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))):
                raise _bad_event(ev, pos)
            if typ not in EVENT_TYPES or proc is None:
                raise _bad_event(ev, pos)
            if proc == NEMESIS:
                continue
            if typ == "invoke":
                if proc in pending:
                    prev = pending[proc][1]
                    raise HistoryError(
                        f"event {ev.get('index', pos)}: process {proc!r} invoked {ev.get('f')!r} while its "
                        f"{prev.get('f')!r} (event {prev.get('index', pending[proc][0])}) has not completed"
                    )
                pending[proc] = (pos, ev)
                continue
            inv = pending.pop(proc, None)
        except (KeyError, TypeError, AttributeError):
            raise _bad_event(ev, pos) from None
        f = ev.get("f")
        if inv is None:
            raise HistoryError(f"event {ev.get('index', pos)}: {typ} of {f!r} by process {proc!r} has no invoke before it")
        ipos, iev = inv
        if f != iev.get("f"):
            raise HistoryError(
                f"event {ev.get('index', pos)}: completion f {f!r} does not match its invoke's f "
                f"{iev.get('f')!r} (event {iev.get('index', ipos)})"
            )
        if fs is None or f in fs:
            yield f, typ, ipos, iev, pos, ev
    for ipos, iev in pending.values():
        f = iev.get("f")
        if fs is None or f in fs:
            yield f, "info", ipos, iev, None, None


def event_time(ev: dict, pos: int) -> int:
    """An event's time in ns (its position when it has none), as ``pair`` reads it."""
    t = ev.get("time")
    return pos if t is None else int(t)


def make_op(raw: RawOp) -> Op:
    """The ``Op`` that ``history.pair`` would build for one raw operation.

    Its ``id`` is the invoke's position in the history (pair numbers ops
    instead); ``to_dict()``, which evidence uses, is identical.
    """
    f, typ, ipos, iev, cpos, cev = raw
    op = Op(
        id=ipos, process=iev.get("process"), f=f, invoke_value=iev.get("value"),
        value=iev.get("value"), type=typ, start=event_time(iev, ipos), end=None,
        invoke_index=iev.get("index", ipos), node=iev.get("node"),
    )
    if cev is not None:
        op.value = cev.get("value")
        op.complete_index = cev.get("index", cpos)
        op.completed_at = event_time(cev, cpos)
        op.end = None if typ == "info" else op.completed_at
        if cev.get("node") is not None:
            op.node = cev.get("node")
        op.error = cev.get("error")
    return op
