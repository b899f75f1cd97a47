"""The engineer-pool picture: who held which engineer when, one lane per engineer."""

from __future__ import annotations

from typing import Any

from . import svg as S

COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f", "#e377c2")


def draw(holdings: dict[str, list[dict]], doubles: list[dict], faults: list[tuple[int, int | None, str]],
         end_time: int, width: int = 1000) -> str:
    """``holdings``: the pool checker's {engineer: [{"call", "from", "to" (None: to the end)}]};
    ``doubles``: its double bookings, drawn in red over the lanes."""
    lanes = [(str(e), [h for h in spans if isinstance(h, dict) and isinstance(h.get("from"), (int, float))])
             for e, spans in holdings.items() if isinstance(spans, list)]
    if not lanes:
        return ""
    LEFT, RIGHT, TOP, BOTTOM, LANE = 90, 20, 18, 30, 26
    height = TOP + BOTTOM + LANE * len(lanes)
    t1 = max([end_time] + [h["from"] for _, spans in lanes for h in spans]
             + [h["to"] for _, spans in lanes for h in spans if isinstance(h.get("to"), (int, float))]) or 1
    kx = (width - LEFT - RIGHT) / t1

    def X(t: float) -> float:
        return LEFT + t * kx

    body: list[str] = []
    for fs, fe, kind in faults:
        xe = X(fe if fe is not None else t1)
        body.append(S.rect(X(fs), TOP, xe - X(fs), LANE * len(lanes), "rgba(214,39,40,0.10)", title=kind))
        body.append(S.text(X(fs) + 3, TOP - 4, kind, 10, fill="#8a1c1c", weight="bold"))
    for tt in S.nice_ticks(0, t1, 8):
        body.append(S.text(X(tt), height - BOTTOM + 16, S.fmt_s(tt), 10, "middle", "#666"))
    calls: dict[Any, str] = {}
    for row, (engineer, spans) in enumerate(lanes):
        y = TOP + row * LANE
        body.append(S.line(LEFT, y + LANE, width - RIGHT, y + LANE, "#eee"))
        body.append(S.text(LEFT - 6, y + LANE / 2 + 4, engineer, 11, "end", "#333", "bold"))
        for h in spans:
            end = h["to"] if isinstance(h.get("to"), (int, float)) else t1
            color = calls.setdefault(h.get("call"), COLORS[len(calls) % len(COLORS)])
            body.append(S.rect(X(h["from"]), y + 4, X(end) - X(h["from"]), LANE - 8, color, rx=2,
                               title=f"{h.get('call')} held {engineer} from {S.fmt_s(h['from'])} to "
                                     f"{S.fmt_s(end) if h.get('to') is not None else 'the end'}"
                                     f" (claim answered by {h.get('node')})"))
    index = {e: i for i, (e, _) in enumerate(lanes)}
    for d in doubles:
        row = index.get(str(d.get("engineer")))
        first, second = d.get("first") or {}, d.get("second") or {}
        if row is None or not isinstance(second.get("from"), (int, float)):
            continue
        start = second["from"]
        stop = min(v for v in (first.get("to"), second.get("to"), t1) if isinstance(v, (int, float)))
        y = TOP + row * LANE
        body.append(S.rect(X(start), y + 1, max(X(stop) - X(start), 3), LANE - 2, "rgba(214,39,40,0.55)",
                           "#d62728", 1.5, title=f"{d.get('engineer')} on two calls at once: "
                                                  f"{first.get('call')} and {second.get('call')}"))
    return S.svg(width, height, body, "engineers held by calls over time")
