"""results/index.html: every run with its time, workload, nemesis, verdict and a link.

Runs are folders holding a test.json or results.json or history, found at
any depth up to three below results/ (``<workload>-<nemesis>/<timestamp>/``);
the ``latest`` symlink is skipped so no run is listed twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .evidence import verdict_class, verdict_word
from .render import asset, atomic_write
from .rundata import find_history, to_unix
from .svg import esc

DASH = "\u2014"
MARKERS = ("test.json", "results.json")


def find_runs(results_dir: Path, depth: int = 3) -> list[Path]:
    """Run folders under results_dir, not following symlinks."""
    runs: list[Path] = []

    def walk(d: Path, level: int) -> None:
        try:
            children = sorted(d.iterdir())
        except OSError:
            return
        if d != results_dir and (any((d / m).is_file() for m in MARKERS) or find_history(d)):
            runs.append(d)
            return
        if level >= depth:
            return
        for c in children:
            if c.is_dir() and not c.is_symlink() and not c.name.startswith("."):
                walk(c, level + 1)

    walk(results_dir, 0)
    return runs


def _load(p: Path) -> dict:
    try:
        v = json.loads(p.read_text(encoding="utf-8"))
        return v if isinstance(v, dict) else {}
    except (OSError, ValueError):
        return {}


def run_row(results_dir: Path, run: Path) -> dict[str, Any]:
    """What the index shows about one run."""
    test = _load(run / "test.json")
    res = _load(run / "results.json")
    start = to_unix(test.get("start_time"))
    if start is None:
        try:
            start = (run / "test.json" if (run / "test.json").exists() else run).stat().st_mtime
        except OSError:
            start = None
    return {
        "path": run.relative_to(results_dir).as_posix(),
        "start": start,
        "workload": test.get("workload"),
        "nemesis": test.get("nemesis"),
        "valid": res.get("valid") if res else None,
        "checked": bool(res),
        "summary": res.get("summary"),
        "duration": test.get("duration_s"),
        "has_report": (run / "report.html").is_file(),
    }


def _matrix_html(results_dir: Path) -> str:
    """The newest `harness test-all` matrix, if any: its table first, as the nightly job's summary."""
    summary = _load(results_dir / "test-all" / "latest" / "summary.json")
    runs = summary.get("runs") if isinstance(summary.get("runs"), list) else []
    if not runs:
        return ""
    trs = []
    for r in runs:
        if not isinstance(r, dict):
            continue
        word = str(r.get("verdict"))
        valid = {"VALID": True, "INVALID": False, "UNKNOWN": "unknown"}.get(word)
        ops = r.get("ops") if isinstance(r.get("ops"), dict) else {}
        link = (f"<a href='{esc(r['run_dir'])}/report.html'>{esc(r['run_dir'])}</a>" if r.get("run_dir")
                else esc(r.get("summary") or DASH))
        trs.append(f"<tr data-verdict='{esc(word)}'><td>{esc(r.get('workload'))}</td><td>{esc(r.get('nemesis'))}</td>"
                   f"<td><span class='badge v-{verdict_class(valid)}'>{esc(word)}</span></td>"
                   f"<td>{esc(ops.get('ok', 0))} / {esc(ops.get('fail', 0))} / {esc(ops.get('info', 0))}</td>"
                   f"<td>{link}</td></tr>")
    return (f"<h2>Latest test-all: {esc(summary.get('verdict'))}</h2><p class='muted'>{esc(summary.get('started'))}: "
            f"<code>{esc(summary.get('command'))}</code></p><table id='matrix'><tr><th>workload</th><th>nemesis</th>"
            f"<th>verdict</th><th>ok / fail / info</th><th>report</th></tr>{''.join(trs)}</table>"
            "<h2>Every run</h2>")


def render_index(results_dir: Path) -> str:
    rows = sorted((run_row(results_dir, r) for r in find_runs(results_dir)),
                  key=lambda r: r["start"] or 0, reverse=True)
    counts: dict[str, int] = {}
    for r in rows:
        w = verdict_word(r["valid"]) if r["checked"] else "not checked"
        counts[w] = counts.get(w, 0) + 1
    trs = []
    for r in rows:
        when = (datetime.fromtimestamp(r["start"], tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                if r["start"] else "not recorded")
        word = verdict_word(r["valid"]) if r["checked"] else "not checked"
        dur = f"{r['duration']:.1f} s" if isinstance(r["duration"], (int, float)) and not isinstance(r["duration"], bool) else "\u2014"
        trs.append(
            f"<tr data-verdict='{esc(word)}'><td>{esc(when)}</td><td>{esc(r['workload'] or DASH)}</td>"
            f"<td>{esc(r['nemesis'] or DASH)}</td>"
            f"<td><span class='badge v-{verdict_class(r['valid'] if r['checked'] else None)}'>{esc(word)}</span></td>"
            f"<td>{dur}</td><td><a href='{esc(r['path'])}/report.html'>{esc(r['path'])}</a></td>"
            f"<td class='muted'>{esc((r['summary'] or '')[:160])}</td></tr>")
    tally = ", ".join(f"{n} {w}" for w, n in counts.items()) or "no runs yet"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Unkindness runs</title>
<style>{asset("report.css")}</style></head>
<body data-ready="yes"><main>
<h1>Unkindness test runs</h1>
{_matrix_html(results_dir)}
<p>{len(rows)} runs: {esc(tally)}. Newest first. Each link opens that run's report.</p>
<table id="runs"><tr><th>started (UTC)</th><th>workload</th><th>nemesis</th><th>verdict</th><th>duration</th>
<th>report</th><th>summary</th></tr>
{''.join(trs)}
</table>
</main></body></html>
"""


def write_index(results_dir: Path) -> Path:
    """Regenerates ``results_dir/index.html``; returns its path."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / "index.html"
    atomic_write(out, render_index(results_dir))
    return out
