"""The clock picture: each node's wall-clock offset over the run, as the clock nemesis set it."""

from __future__ import annotations

from typing import Any, Sequence

from . import svg as S

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def offsets_over_time(faults: Sequence[Any]) -> dict[str, list[tuple[int, int | None, float, float]]]:
    """node -> [(from ns, to ns | None, low ms, high ms)]: one span per clock fault; a strobe spans two values."""
    spans: dict[str, list[tuple[int, int | None, float, float]]] = {}
    for f in faults:
        d = f.detail if isinstance(getattr(f, "detail", None), dict) else {}
        if f.kind != "clock" or d.get("fault") == "reset":
            continue
        offsets = d.get("offsets_ms") if isinstance(d.get("offsets_ms"), dict) else {}
        strobe = d.get("strobe") if isinstance(d.get("strobe"), dict) else None
        for node, ms in offsets.items():
            if not isinstance(ms, (int, float)):
                continue
            high = ms + strobe["delta_ms"] if strobe and isinstance(strobe.get("delta_ms"), (int, float)) else ms
            spans.setdefault(str(node), []).append((f.start, f.end, float(ms), float(high)))
    return spans


def draw(faults: Sequence[Any], nodes: Sequence[str], end_time: int, width: int = 1000, height: int = 240) -> str:
    spans = offsets_over_time(faults)
    if not spans:
        return ""
    LEFT, RIGHT, TOP, BOTTOM = 80, 90, 14, 30
    t1 = max([end_time] + [s[1] or s[0] for ss in spans.values() for s in ss]) or 1
    values = [0.0] + [v for ss in spans.values() for s in ss for v in (s[2], s[3])]
    lo, hi = min(values) / 1000, max(values) / 1000
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    kx = (width - LEFT - RIGHT) / t1
    ky = (height - TOP - BOTTOM) / (hi - lo)

    def X(t: float) -> float:
        return LEFT + t * kx

    def Y(seconds: float) -> float:
        return height - BOTTOM - (seconds - lo) * ky

    body: list[str] = []
    for tv in S.nice_ticks(lo, hi, 5):
        body.append(S.line(LEFT, Y(tv), width - RIGHT, Y(tv), "#eee" if tv else "#999"))
        body.append(S.text(LEFT - 6, Y(tv) + 4, f"{tv:+g} s", 10, "end", "#666"))
    for tt in S.nice_ticks(0, t1, 8):
        body.append(S.text(X(tt), height - BOTTOM + 16, S.fmt_s(tt), 10, "middle", "#666"))
    order = [n for n in nodes if n in spans] + sorted(n for n in spans if n not in nodes)
    for i, node in enumerate(order):
        color = COLORS[i % len(COLORS)]
        for start, end, low, high in spans[node]:
            x0, x1 = X(start), X(end if end is not None else t1)
            if high != low:  # a strobe: the clock flips between the two values the whole time
                body.append(S.rect(x0, Y(max(low, high) / 1000), x1 - x0, abs(Y(low / 1000) - Y(high / 1000)),
                                   color + "55", color, 1, title=f"{node}: strobe between {low / 1000:+.3f} s and "
                                                                 f"{high / 1000:+.3f} s"))
            else:
                body.append(S.line(x0, Y(low / 1000), x1, Y(low / 1000), color, 3))
                body.append(f'<circle cx="{x0:.1f}" cy="{Y(low / 1000):.1f}" r="3" fill="{color}">'
                            f'<title>{S.esc(node)}: {low / 1000:+.3f} s from {S.fmt_s(start)}</title></circle>')
        body.append(S.text(width - RIGHT + 8, TOP + 14 + 14 * i, node, 11, "start", color, "bold"))
    body.append(S.text(12, TOP + (height - TOP - BOTTOM) / 2, "offset", 11, "middle", "#555"))
    return S.svg(width, height, body, "each node's clock offset over time")
