"""The bank picture: every read's total over time against the expected total."""

from __future__ import annotations

from typing import Any

from . import svg as S


def draw(points: list, expected: Any, faults: list[tuple[int, int | None, str]], end_time: int,
         width: int = 1000, height: int = 260) -> str:
    """``points`` are the checker's ``[[time_ns, total, ok], ...]``; bad reads drawn red."""
    pts = [p for p in points if isinstance(p, (list, tuple)) and len(p) >= 3
           and isinstance(p[0], (int, float)) and isinstance(p[1], (int, float))]
    if not pts:
        return ""
    LEFT, RIGHT, TOP, BOTTOM = 70, 20, 14, 34
    t1 = max([end_time] + [p[0] for p in pts]) or 1
    vals = [p[1] for p in pts] + ([expected] if isinstance(expected, (int, float)) else [])
    lo, hi = min(vals), max(vals)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.1
    lo, hi = lo - pad, hi + pad
    kx = (width - LEFT - RIGHT) / t1
    ky = (height - TOP - BOTTOM) / (hi - lo)

    def X(t: float) -> float:
        return LEFT + t * kx

    def Y(v: float) -> float:
        return height - BOTTOM - (v - lo) * ky

    body: list[str] = []
    for fs, fe, kind in faults:
        xe = X(fe if fe is not None else t1)
        body.append(S.rect(X(fs), TOP, xe - X(fs), height - TOP - BOTTOM, "rgba(214,39,40,0.12)", title=kind))
        body.append(S.text(X(fs) + 3, TOP + 11, kind, 10, fill="#8a1c1c", weight="bold"))
    for tv in S.nice_ticks(lo, hi, 5):
        body.append(S.line(LEFT, Y(tv), width - RIGHT, Y(tv), "#eee"))
        body.append(S.text(LEFT - 6, Y(tv) + 4, f"{tv:g}", 10, "end", "#666"))
    for tt in S.nice_ticks(0, t1, 8):
        body.append(S.text(X(tt), height - BOTTOM + 16, S.fmt_s(tt), 10, "middle", "#666"))
    if isinstance(expected, (int, float)):
        body.append(S.line(LEFT, Y(expected), width - RIGHT, Y(expected), "#2e8b47", 2, "6 4"))
        body.append(S.text(width - RIGHT, Y(expected) - 5, f"expected total {expected:g}", 11, "end", "#2e8b47", "bold"))
    good = " ".join(f"M{X(p[0]):.1f},{Y(p[1]):.1f}h0" for p in pts if p[2])
    if good:
        body.append(f'<path d="{good}" stroke="#1f77b4" stroke-width="4" stroke-linecap="round"/>')
    for p in pts:
        if not p[2]:
            body.append(f'<circle cx="{X(p[0]):.1f}" cy="{Y(p[1]):.1f}" r="4" fill="#d62728" stroke="#fff">'
                        f'<title>bad read at {S.fmt_s(p[0])}: total {p[1]}</title></circle>')
    body.append(S.text(12, TOP + (height - TOP - BOTTOM) / 2, "total", 11, "middle", "#555"))
    return S.svg(width, height, body, "total of each read over time")
