"""Operation statistics, and the single fast pass the linear checkers share.

Why a second pass next to ``history.pair``: pairing every event into an ``Op``
object costs several seconds on a million-operation history, and the linear
checkers (bank, sets, convergence, cart, stats) each need only a few kinds of
operation. ``scan_ops`` pairs invokes with completions with the same rules and
the same ``HistoryError`` messages as ``pair``, but yields the raw events of the
operations asked for; ``make_op`` builds a real ``Op`` for the few that end up
as evidence, so evidence always uses ``Op.to_dict()``.

Stats (Jepsen's ``stats`` checker): operations per ``f`` and per completion
type (``ok``/``fail``/``info``; an invoke that never completed counts as
``info``), and the fraction that were ok. The history is invalid when some
``f`` never succeeded at all: a workload whose reads never succeed makes every
other checker's "no anomaly" meaningless. Nemesis events are counted apart and
do not affect the verdict.
"""

from __future__ import annotations

from typing import Any, Collection, Iterable, Iterator

from .history import COMPLETION_TYPES, EVENT_TYPES, NEMESIS, HistoryError, Op, gc_paused

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


def _fmt_f(f: Any) -> str:
    return f if isinstance(f, str) else repr(f)


@gc_paused()
def check_stats(history: Iterable[dict]) -> dict:
    """Counts ops per f and completion type; invalid when an f never succeeded.

    Result: ``{"valid", "count", "ok_count", "fail_count", "info_count",
    "ok_fraction", "by_f": {f: {"count", "ok", "fail", "info", "ok_fraction"}},
    "never_ok": [f, ...], "nemesis_events", "summary"[, "explanation"]}``.
    A history with no client operations is ``"unknown"``.
    """
    by_f: dict[str, list[int]] = {}
    slot = {"ok": 0, "fail": 1, "info": 2}
    nemesis = 0
    history = list(history) if not isinstance(history, list) else history
    for ev in history:
        if isinstance(ev, dict) and ev.get("process") == NEMESIS and ev.get("type") in COMPLETION_TYPES + ("invoke",):
            nemesis += 1
    for f, typ, *_ in scan_ops(history):
        key = _fmt_f(f)
        counts = by_f.get(key)
        if counts is None:
            counts = by_f[key] = [0, 0, 0]
        counts[slot[typ]] += 1
    out_by_f = {}
    for f in sorted(by_f):
        ok, fail, info = by_f[f]
        n = ok + fail + info
        out_by_f[f] = {"count": n, "ok": ok, "fail": fail, "info": info, "ok_fraction": round(ok / n, 6)}
    total = sum(v["count"] for v in out_by_f.values())
    oks = sum(v["ok"] for v in out_by_f.values())
    never_ok = [f for f, v in out_by_f.items() if v["ok"] == 0]
    result: dict[str, Any] = {
        "count": total,
        "ok_count": oks,
        "fail_count": sum(v["fail"] for v in out_by_f.values()),
        "info_count": sum(v["info"] for v in out_by_f.values()),
        "ok_fraction": round(oks / total, 6) if total else None,
        "by_f": out_by_f,
        "never_ok": never_ok,
        "nemesis_events": nemesis,
    }
    if total == 0:
        result["valid"] = "unknown"
        result["summary"] = "The history has no client operations, so there is nothing to judge."
    elif never_ok:
        result["valid"] = False
        result["summary"] = f"No {', '.join(repr(f) for f in never_ok)} operation ever succeeded."
        result["explanation"] = (
            "Every " + " / ".join(repr(f) for f in never_ok) + " operation failed or timed out, so the "
            "other checkers never saw one succeed; their verdicts say little about the system. "
            "Usually the cluster was unreachable or the client misconfigured."
        )
    else:
        result["valid"] = True
        result["summary"] = (
            f"{total} operations, {oks} ok ({100 * oks / total:.1f}%); every kind of operation succeeded at least once."
        )
    return {"valid": result.pop("valid"), **result}
