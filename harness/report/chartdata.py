"""Packs the operations into compact columns that the report's JavaScript draws.

Why columns of base64 little-endian integers: a 100,000-op history must fit
in a few megabytes and parse in milliseconds. JSON objects per op would be
~10x larger and slow to parse; typed arrays decode at memory speed and let
the canvas code loop without allocating. Op values are shortened, deduplicated
strings under a total size budget (the full op is in history.jsonl; the
tooltip names its event index).
"""

from __future__ import annotations

import base64
import json
import sys
from array import array
from typing import Any, Iterable

from unkindness.checkers.history import Op

from .rundata import Fault, RunData

TYPE_CODES = {"ok": 0, "fail": 1, "info": 2}
VALUE_BUDGET_CHARS = 3_000_000  # total characters of op values embedded
MAX_VALUE_CHARS = 80
INT32_MAX = 2**31 - 1


def b64_ints(values: Iterable[int], code: str = "i") -> str:
    """Base64 of a little-endian typed array (JS: new Int32Array / Uint8Array)."""
    a = array(code, values)
    if sys.byteorder != "little":
        a.byteswap()
    return base64.b64encode(a.tobytes()).decode("ascii")


def choose_scale(end_time: int) -> int:
    """ns per stored time unit: microseconds when the run fits int32, else coarser."""
    scale = 1000
    while end_time // scale > INT32_MAX:
        scale *= 10
    return scale


def _short(v: Any, limit: int) -> str:
    try:
        s = json.dumps(v, separators=(",", ":"), default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= limit else s[: max(0, limit - 1)] + "\u2026"


def describe_value(op: Op, limit: int) -> str:
    """The op's value as one short line: invoked value, then what it returned (and error)."""
    if limit <= 0:
        return ""
    if op.complete_index is None or op.invoke_value == op.value:
        s = _short(op.value, limit)
    elif op.invoke_value is None:
        s = "\u2192 " + _short(op.value, limit)
    else:
        s = _short(op.invoke_value, limit // 2) + " \u2192 " + _short(op.value, limit // 2)
    if op.error is not None:
        s += " (error: " + _short(op.error, 40) + ")"
    return s


def _label(p: Any) -> str:
    return p if isinstance(p, str) else json.dumps(p)


def _lane_key(p: Any) -> tuple:
    return (0, p, "") if isinstance(p, (int, float)) and not isinstance(p, bool) else (1, 0, str(p))


def fault_dicts(faults: list[Fault], end_time: int, scale: int) -> list[dict]:
    out = []
    for f in faults:
        nodes = f.nodes
        if isinstance(nodes, dict):
            label = "; ".join(f"{k} drops {', '.join(map(str, v)) if isinstance(v, list) else v}"
                              for k, v in list(nodes.items())[:6])
        elif isinstance(nodes, list):
            label = ", ".join(map(str, nodes[:10]))
        else:
            label = "" if nodes is None else str(nodes)
        out.append({
            "kind": f.kind,
            "s": f.start // scale,
            "e": (f.end if f.end is not None else end_time) // scale,
            "healed": f.end is not None,
            "nodes": label[:200],
        })
    return out


def pack(rd: RunData) -> dict:
    """The JSON-ready data block for the timeline and latency/throughput charts."""
    ops = rd.ops
    end_time = max([rd.end_time] + [o.completed_at or o.start for o in ops[-1:]])
    scale = choose_scale(end_time)
    lanes = sorted({o.process for o in ops}, key=_lane_key)
    lane_of = {p: i for i, p in enumerate(lanes)}
    fs: dict[str, int] = {}
    nodes: dict[str, int] = {}
    vals: dict[str, int] = {}
    limit = min(MAX_VALUE_CHARS, VALUE_BUDGET_CHARS // max(1, len(ops)))
    if limit < 8:
        limit = 0
    starts, ends, lane, typ, fi, ni, vi, idx = ([] for _ in range(8))
    for o in ops:
        starts.append(o.start // scale)
        done = o.end if o.end is not None else o.completed_at
        # An op that never completed is drawn to the end of the run (it may still take effect).
        ends.append((done if done is not None else end_time) // scale)
        lane.append(lane_of[o.process])
        typ.append(TYPE_CODES.get(o.type, 2) + (0 if done is not None else 1 if o.type == "info" else 0))
        fi.append(fs.setdefault(str(o.f), len(fs)))
        ni.append(-1 if o.node is None else nodes.setdefault(str(o.node), len(nodes)))
        vi.append(vals.setdefault(describe_value(o, limit), len(vals)))
        idx.append(o.invoke_index if isinstance(o.invoke_index, int) else -1)
    # type code 3 = never completed (drawn open-ended)
    return {
        "scale": scale,
        "n": len(ops),
        "end": end_time // scale,
        "lanes": [_label(p) for p in lanes],
        "fs": list(fs),
        "nodes": list(nodes),
        "vals": list(vals),
        "valuesShortenedTo": limit,
        "start": b64_ints(starts),
        "stop": b64_ints(ends),
        "lane": b64_ints(lane),
        "type": b64_ints(typ, "b"),
        "f": b64_ints(fi),
        "node": b64_ints(ni),
        "val": b64_ints(vi),
        "idx": b64_ints(idx),
        "faults": fault_dicts(rd.faults, end_time, scale),
    }
