"""Op dicts (``Op.to_dict()`` in evidence) as short words and table rows."""

from __future__ import annotations

import json
from typing import Any

from .svg import esc, fmt_s

TYPE_COLORS = {"ok": "#5bb565", "fail": "#e0606c", "info": "#e8b730", "invoke": "#e8b730"}


def is_op(v: Any) -> bool:
    return isinstance(v, dict) and "f" in v and ("process" in v or "type" in v)


def short_json(v: Any, limit: int = 120) -> str:
    try:
        s = json.dumps(v, separators=(", ", ": "), default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= limit else s[: limit - 1] + "\u2026"


def op_words(op: dict) -> str:
    """'process 3 read → 2 (ok)' style description."""
    v = op.get("value")
    val = "" if v is None else " " + short_json(v, 80)
    return f"process {op.get('process')} {op.get('f')}{val} ({op.get('type', '?')})"


def _t(ns: Any) -> str:
    return fmt_s(ns) if isinstance(ns, (int, float)) and not isinstance(ns, bool) else "\u2014"


def op_table(ops: list[dict], mark: dict[int, str] | None = None, limit: int = 50) -> str:
    """A table of ops; ``mark`` maps list positions to a highlight colour."""
    mark = mark or {}
    rows = []
    for i, op in enumerate(ops[:limit]):
        bg = f' style="background:{mark[i]}"' if i in mark else ""
        typ = str(op.get("type", "?"))
        rows.append(
            f"<tr{bg}><td>{esc(op.get('process'))}</td><td>{esc(op.get('f'))}</td>"
            f"<td><code>{esc(short_json(op.get('value'), 160))}</code></td>"
            f"<td><span class='badge' style='background:{TYPE_COLORS.get(typ, '#888')}'>{esc(typ)}</span></td>"
            f"<td>{_t(op.get('start'))}</td><td>{_t(op.get('end'))}</td>"
            f"<td>{esc(op.get('node', ''))}</td><td>{esc(op.get('invoke_index', ''))}</td></tr>"
        )
    more = f"<p class='muted'>\u2026and {len(ops) - limit} more.</p>" if len(ops) > limit else ""
    return ("<table class='ops'><tr><th>process</th><th>f</th><th>value</th><th>type</th>"
            "<th>invoked</th><th>completed</th><th>node</th><th>event</th></tr>" + "".join(rows) + "</table>" + more)
