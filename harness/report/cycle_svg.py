"""A transactional cycle as a small graph: transactions around a circle, edges labelled by kind."""

from __future__ import annotations

import math
from typing import Any

from . import svg as S

EDGE_COLORS = {"ww": "#1f77b4", "wr": "#2ca02c", "rw": "#d62728", "process": "#7f7f7f", "realtime": "#9467bd",
               "rt": "#9467bd"}


def _name(v: Any) -> str:
    if isinstance(v, dict):
        for k in ("name", "id", "index", "invoke_index"):
            if k in v:
                return f"T{v[k]}"
    return f"T{v}" if isinstance(v, int) else str(v)


def draw(steps: list[dict], size: int = 360) -> str:
    """SVG of one cycle from its steps ``[{"from", "to", "kind", ...}]``; '' if unusable."""
    edges = [(_name(s.get("from")), _name(s.get("to")), str(s.get("kind", "?")))
             for s in steps if isinstance(s, dict) and "from" in s and "to" in s]
    if not edges:
        return ""
    names: list[str] = []
    for a, b, _ in edges:
        for n in (a, b):
            if n not in names:
                names.append(n)
    n = len(names)
    cx = cy = size / 2
    r = size / 2 - 50 if n > 1 else 0
    pos = {nm: (cx + r * math.cos(2 * math.pi * i / n - math.pi / 2), cy + r * math.sin(2 * math.pi * i / n - math.pi / 2))
           for i, nm in enumerate(names)}
    body = ['<defs>' + "".join(
        f'<marker id="arr-{k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
        f'<path d="M0,0L10,5L0,10z" fill="{c}"/></marker>' for k, c in list(EDGE_COLORS.items()) + [("other", "#444")]) +
        '</defs>']
    R = 22
    for a, b, kind in edges:
        (x1, y1), (x2, y2) = pos[a], pos[b]
        color = EDGE_COLORS.get(kind, "#444")
        mk = kind if kind in EDGE_COLORS else "other"
        if a == b:
            body.append(f'<path d="M{x1 - 10:.1f},{y1 - R:.1f} C{x1 - 40:.1f},{y1 - 80:.1f} {x1 + 40:.1f},{y1 - 80:.1f} '
                        f'{x1 + 10:.1f},{y1 - R:.1f}" fill="none" stroke="{color}" stroke-width="2" marker-end="url(#arr-{mk})"/>')
            body.append(S.text(x1, y1 - 66, kind, 12, "middle", color, "bold"))
            continue
        dx, dy = x2 - x1, y2 - y1
        d = math.hypot(dx, dy) or 1
        ux, uy = dx / d, dy / d
        # Bend each edge to its left so a pair of opposite edges stays apart.
        mx, my = (x1 + x2) / 2 - uy * 28, (y1 + y2) / 2 + ux * 28
        sx, sy = x1 + ux * R, y1 + uy * R
        ex, ey = x2 - ux * R, y2 - uy * R
        body.append(f'<path d="M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}" fill="none" stroke="{color}" '
                    f'stroke-width="2" marker-end="url(#arr-{mk})"/>')
        body.append(S.text(mx, my + 4, kind, 12, "middle", color, "bold"))
    for nm, (x, y) in pos.items():
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{R}" fill="#fff" stroke="#333" stroke-width="1.5"/>')
        body.append(S.text(x, y + 4, nm, 12, "middle", "#111", "bold"))
    return S.svg(size, size, body, "dependency cycle between transactions")
