"""The picture of a linearizability failure: Knossos's linear.svg, made readable.

One lane per process, ops as bars from invoke to completion on a shared time
axis; the ops of the longest linearizable prefix are numbered in the order
they linearize, with the model state after each; the op that cannot be
linearized is red and outlined. A newcomer reads it left to right.
"""

from __future__ import annotations

from typing import Any

from . import svg as S
from .ops import short_json


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _key(op: dict) -> Any:
    return (op.get("invoke_index"), op.get("process"), op.get("start"))


PREFIX_DRAWN = 8  # the last steps of the prefix drawn; the table lists more


def draw(failing: dict | None, prefix: list[dict], concurrent: list[dict], width: int = 1000,
         first_step: int = 1) -> str:
    """SVG of the failing window; '' when the ops carry no times.

    Draws the failing op, the ops concurrent with it, and the last steps of the
    prefix (numbered from ``first_step`` for the first entry of ``prefix``).
    """
    steps: dict[Any, tuple[int, Any]] = {}
    ops: dict[Any, dict] = {}
    skip = max(0, len(prefix) - PREFIX_DRAWN)
    for n, item in enumerate(prefix[skip:], first_step + skip):
        op = item.get("op") if isinstance(item, dict) and "op" in item else item
        if isinstance(op, dict):
            steps[_key(op)] = (n, item.get("state") if isinstance(item, dict) else None)
            ops[_key(op)] = op
    for op in concurrent:
        if isinstance(op, dict):
            ops.setdefault(_key(op), op)
    if isinstance(failing, dict):
        ops[_key(failing)] = failing
    timed = [o for o in ops.values() if _num(o.get("start")) is not None]
    if not timed:
        return ""
    # The window: from the earliest drawn prefix step (or the failing op) to the failing op's end;
    # long ops (e.g. ones that never completed) are clipped to it.
    anchor = [o for o in timed if _key(o) in steps or (isinstance(failing, dict) and _key(o) == _key(failing))] or timed
    t0 = min(_num(o["start"]) for o in anchor)
    ends = [_num(o.get("end")) for o in anchor if _num(o.get("end")) is not None] + \
           [_num(o["start"]) for o in timed]
    t1 = max(ends)
    t1 = t1 + (t1 - t0) * 0.12 + 1
    timed = [o for o in timed if _num(o["start"]) <= t1 and (_num(o.get("end")) is None or _num(o["end"]) >= t0)]
    procs = sorted({o.get("process") for o in timed}, key=lambda p: (isinstance(p, str), str(p) if isinstance(p, str) else p))
    lane = {p: i for i, p in enumerate(procs)}
    LEFT, RIGHT, TOP, LH = 90, 20, 30, 44
    height = TOP + LH * len(procs) + 36
    k = (width - LEFT - RIGHT) / (t1 - t0)
    body: list[str] = [S.text(LEFT, 16, "time \u2192", 11, fill="#666")]
    for tick in S.nice_ticks(t0, t1, 6):  # run time, so it matches the timeline below
        x = LEFT + (tick - t0) * k
        body.append(S.line(x, TOP - 4, x, height - 30, "#eee"))
        body.append(S.text(x, height - 16, S.fmt_s(tick), 10, "middle", "#666"))
    for p, i in lane.items():
        y = TOP + i * LH
        body.append(S.line(LEFT, y + LH - 4, width - RIGHT, y + LH - 4, "#f0f0f0"))
        body.append(S.text(LEFT - 8, y + LH / 2, f"process {p}", 11, "end", "#333"))
    fkey = _key(failing) if isinstance(failing, dict) else None
    for o in sorted(timed, key=lambda o: o["start"]):
        key = _key(o)
        x0 = LEFT + max(0.0, _num(o["start"]) - t0) * k
        e = _num(o.get("end"))
        open_ended = e is None
        x1 = width - RIGHT if open_ended else min(width - RIGHT, LEFT + (e - t0) * k)
        y = TOP + lane[o.get("process")] * LH + 4
        label = f"{o.get('f')} {short_json(o.get('value'), 30)}"
        if key == fkey:
            fill, stroke, sw = "#f4a6ad", "#b0000f", 3
        elif key in steps:
            fill, stroke, sw = "#bfe3c3", "#3a8f46", 1
        else:
            fill, stroke, sw = "#e6e6e6", "#999", 1
        title = f"{label} ({o.get('type')})" + (" \u2014 no completion: may take effect any time later" if open_ended else "")
        if key in steps:
            title += f"; step {steps[key][0]}, state after: {short_json(steps[key][1], 60)}"
        body.append(S.rect(x0, y, x1 - x0, 22, fill, stroke, sw, title=title, rx=3))
        room = x1 - x0 - 8
        if open_ended:
            body.append(S.text(x1 - 4, y + 15, "\u2192?", 11, "end", "#666"))
        if room > 6.5 * 3:
            fit = max(2, int(room / 6.5))
            body.append(S.text(x0 + 4, y + 15, label if len(label) <= fit else label[: fit - 1] + "\u2026", 11, fill="#111"))
        if key in steps:
            n, state = steps[key]
            body.append(f'<circle cx="{x0:.1f}" cy="{y:.1f}" r="11" fill="#3a8f46"/>')
            body.append(S.text(x0, y + 3.5, n, 9, "middle", "#fff", "bold"))
            if room > 60:
                body.append(S.text(x0 + 11, y + 35, f"then: {short_json(state, max(4, int(room / 6) - 6))}", 10, fill="#3a8f46"))
        if key == fkey:
            body.append(S.text(x0 + 4, y + 35, "cannot be linearized", 10, fill="#b0000f", weight="bold"))
    return S.svg(width, height, body, "failing window of operations, one lane per process")
