"""Node logs around each fault: what each node said while it was being broken.

Lines are JSON objects with a "ts" (unix seconds or ISO text) and a "msg" or
"event"; anything else (plain text, missing ts) is kept as text, so a log
that is not ours still shows.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .rundata import Fault, to_unix
from .svg import esc

BEFORE_S = 3.0
AFTER_S = 5.0
MAX_LINES_PER_WINDOW = 150
MAX_BYTES = 20_000_000  # larger logs are read from their end


def _read_lines(path: Path) -> list[str]:
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size > MAX_BYTES:
                f.seek(size - MAX_BYTES)
                f.readline()
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()


def parse(line: str) -> tuple[float | None, str]:
    """(unix seconds or None, the line as short text)."""
    s = line.strip()
    if not s.startswith("{"):
        return None, s
    try:
        rec = json.loads(s)
    except json.JSONDecodeError:
        return None, s
    if not isinstance(rec, dict):
        return None, s
    ms = rec.get("ts_ms")  # our server's logs
    ts = ms / 1000 if isinstance(ms, (int, float)) and not isinstance(ms, bool) else to_unix(
        rec.get("ts", rec.get("time", rec.get("timestamp"))))
    msg = rec.get("msg", rec.get("event", rec.get("message", "")))
    level = rec.get("level", rec.get("lvl", ""))
    rest = {k: v for k, v in rec.items() if k not in ("ts", "ts_ms", "time", "timestamp", "msg", "event", "message", "level", "lvl")}
    extra = " " + json.dumps(rest, separators=(",", ":"), default=str, ensure_ascii=False)[:300] if rest else ""
    return ts, f"{level + ' ' if level else ''}{msg}{extra}"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def windows(faults: list[Fault], start_unix: float | None, end_ns: int) -> list[tuple[str, float, float]]:
    """(label, from unix s, to unix s) around each fault's start and heal."""
    if start_unix is None:
        return []
    out = []
    for f in faults:
        a = start_unix + f.start / 1e9
        out.append((f"{f.kind} applied at {f.start / 1e9:.2f} s", a - BEFORE_S, a + AFTER_S))
        if f.end is not None:
            b = start_unix + f.end / 1e9
            out.append((f"{f.kind} healed at {f.end / 1e9:.2f} s", b - BEFORE_S, b + AFTER_S))
    return out


def render(node_logs: dict[str, Path], faults: list[Fault], start_unix: float | None, end_ns: int) -> str:
    """A collapsed section per node with the log lines around each fault (or the log's tail)."""
    if not node_logs:
        return "<p class='muted'>No node logs were recorded for this run.</p>"
    wins = windows(faults, start_unix, end_ns)
    parts = []
    for node, path in node_logs.items():
        parsed = [parse(ln) for ln in _read_lines(path) if ln.strip()]
        body = []
        if wins:
            for label, a, b in wins:
                lines = [(ts, txt) for ts, txt in parsed if ts is not None and a <= ts <= b]
                shown = lines[:MAX_LINES_PER_WINDOW]
                text = "\n".join(f"{_clock(ts)} (t={ts - start_unix:7.2f} s)  {txt}" for ts, txt in shown)
                more = f"\n\u2026 {len(lines) - len(shown)} more lines" if len(lines) > len(shown) else ""
                body.append(f"<h4>{esc(label)} ({len(lines)} lines from {BEFORE_S:g} s before to {AFTER_S:g} s after)</h4>"
                            f"<pre>{esc(text + more) if lines else '(nothing logged in this window)'}</pre>")
        else:
            tail = parsed[-100:]
            why = ("no faults were injected" if start_unix is not None
                   else "the run's start time is not recorded, so log times cannot be matched to faults")
            body.append(f"<p class='muted'>Showing the last {len(tail)} lines ({why}).</p><pre>" + esc("\n".join(
                (f"{_clock(ts)}  " if ts is not None else "") + txt for ts, txt in tail)) + "</pre>")
        parts.append(f"<details class='node-log'><summary>node {esc(node)} \u2014 {len(parsed)} log lines "
                     f"(<code>{esc(path.name)}</code>)</summary>{''.join(body)}</details>")
    return "".join(parts)
