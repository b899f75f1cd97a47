"""Tiny helpers for writing static SVG pictures as strings (evidence pictures are small)."""

from __future__ import annotations

from html import escape
from typing import Any


def esc(s: Any) -> str:
    return escape(str(s), quote=True)


def text(x: float, y: float, s: Any, size: int = 11, anchor: str = "start", fill: str = "#333",
         weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}">{esc(s)}</text>')


def rect(x: float, y: float, w: float, h: float, fill: str, stroke: str = "none", sw: float = 1,
         title: str | None = None, rx: float = 0) -> str:
    t = f"<title>{esc(title)}</title>" if title else ""
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 1):.1f}" height="{h:.1f}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{sw}" rx="{rx}">{t}</rect>')


def line(x1: float, y1: float, x2: float, y2: float, stroke: str = "#999", sw: float = 1, dash: str = "") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{sw}"{d}/>'


def svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg class="evidence-svg" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(label)}" '
            f'data-marks="{len(body)}">' + "".join(body) + "</svg>")


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    import math
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / target
    p = 10 ** math.floor(math.log10(raw))
    m = raw / p
    step = (1 if m < 1.5 else 2 if m < 3.5 else 5 if m < 7.5 else 10) * p
    first = math.ceil(lo / step) * step
    out = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    return out


def fmt_s(ns: float) -> str:
    s = ns / 1e9
    if abs(s) >= 100:
        return f"{s:.0f} s"
    if abs(s) >= 1:
        return f"{s:.2f} s"
    return f"{s * 1000:.1f} ms"
