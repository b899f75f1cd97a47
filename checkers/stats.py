"""Operation statistics.

Stats (Jepsen's ``stats`` checker): operations per ``f`` and per completion
type (``ok``/``fail``/``info``; an invoke that never completed counts as
``info``), and the fraction that were ok. The history is invalid when some
``f`` never succeeded at all: a workload whose reads never succeed makes every
other checker's "no anomaly" meaningless. Nemesis events are counted apart and
do not affect the verdict.
"""

from __future__ import annotations

from typing import Any, Iterable

from .history import COMPLETION_TYPES, NEMESIS, gc_paused, scan_ops

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
