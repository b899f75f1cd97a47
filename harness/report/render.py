"""Writes report.html for one results folder: one self-contained file, opens offline.

Order follows what a reader needs: the verdict, what was tested (and how to
rerun it), each checker's evidence, then the timeline, latency and
throughput, and the node logs. CSS and JS are inlined from assets/; chart
data is one JSON block of packed columns (see chartdata.py).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import chartdata, clock_svg, evidence, logs
from .rundata import RunData, read_run, wall_start
from .svg import esc

ASSETS = Path(__file__).with_name("assets")
NOT_RECORDED = "<span class='muted'>not recorded</span>"


def asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _fmt_time(v: Any) -> str:
    from .rundata import to_unix
    t = to_unix(v)
    if t is None:
        return esc(v) if v is not None else NOT_RECORDED
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _field(test: dict, key: str) -> str:
    v = test.get(key)
    if v is None or v == "" or v == []:
        return NOT_RECORDED
    if isinstance(v, (dict, list)):
        if isinstance(v, dict) and all(not isinstance(x, (dict, list)) for x in v.values()):
            return ", ".join(f"{esc(k)} {esc(x)}" for k, x in v.items())
        return f"<code>{esc(json.dumps(v, default=str))}</code>"
    return esc(v)


def overall(rd: RunData) -> tuple[Any, str]:
    """The run's verdict and its one-line summary."""
    if rd.results is None:
        return None, "No results.json: this run has not been checked (run `harness check` on this folder)."
    return rd.results.get("valid"), str(rd.results.get("summary") or "")


def _verdict_html(rd: RunData) -> str:
    v, summary = overall(rd)
    meaning = {
        True: "No checker found an anomaly in this run.",
        False: "At least one checker found an anomaly: the system did something its guarantees forbid. "
               "The evidence below shows exactly what.",
        "unknown": "The checkers could not decide (a search ran out of budget, or there was too little data). "
                   "This is neither a pass nor a failure.",
    }.get(v, "")
    results = (rd.results or {}).get("results") or {}
    chips = " ".join(
        f"<a href='#checker-{esc(n)}' class='badge v-{evidence.verdict_class(r.get('valid') if isinstance(r, dict) else None)}'>"
        f"{esc(n)}: {esc(evidence.verdict_word(r.get('valid') if isinstance(r, dict) else None))}</a>"
        for n, r in results.items())
    note = (rd.results or {}).get("note")
    note_html = (f"<div class='note' id='verdict-note'><b>Read this first.</b> {esc(note)}</div>" if note else "")
    return (f"<div class='verdict v-{evidence.verdict_class(v)}' id='verdict' data-verdict='{esc(evidence.verdict_word(v))}'>"
            f"<div class='word'>{esc(evidence.verdict_word(v)).upper()}</div><div>{esc(summary)}</div>"
            f"<div>{esc(meaning)}</div></div>{note_html}<p>{chips}</p>")


def _test_html(rd: RunData) -> str:
    t = rd.test
    cmd = t.get("reproduce") or t.get("command")  # the exact command, seed included
    if isinstance(cmd, list):
        cmd = " ".join(map(str, cmd))
    cmd_html = (f"<pre class='cmd'>{esc(cmd)}</pre>" if cmd else
                "<p>The command line that reproduces this run was " + NOT_RECORDED + ".</p>")
    dur = t.get("duration_s")
    dur_html = f"{dur:.1f} s" if isinstance(dur, (int, float)) and not isinstance(dur, bool) else NOT_RECORDED
    nodes = t.get("nodes")
    rows = [("workload", _field(t, "workload")), ("nemesis", _field(t, "nemesis")),
            ("nodes", _field(t, "nodes") if not isinstance(nodes, list) else esc(", ".join(map(str, nodes)))),
            ("seed", _field(t, "seed")), ("versions", _field(t, "versions")),
            ("started", _fmt_time(t.get("start_time"))), ("duration", dur_html),
            ("operations", f"{len(rd.ops)} client operations, {len(rd.nemesis)} nemesis events, "
                           f"{len(rd.faults)} fault intervals")]
    other = {k: v for k, v in t.items() if k not in ("workload", "nemesis", "nodes", "seed", "versions",
                                                      "start_time", "duration_s", "command")}
    extra = (f"<details><summary>Full configuration (test.json)</summary><pre>{esc(json.dumps(other, indent=1, default=str))}</pre></details>"
             if other else "")
    return ("<p>To reproduce this run:</p>" + cmd_html + "<table class='kv'>" +
            "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>" + extra)


def _faults_table(rd: RunData) -> str:
    if not rd.faults:
        return "<p class='muted'>No faults were injected (or none were recorded).</p>"
    rows = "".join(
        f"<tr><td>{esc(f.kind)}</td><td>{f.start / 1e9:.2f} s</td>"
        f"<td>{'%.2f s' % (f.end / 1e9) if f.end is not None else '<b>never healed</b>'}</td>"
        f"<td>{esc((f.detail or {}).get('description', '')) if isinstance(f.detail, dict) else ''}</td>"
        f"<td><code>{esc(json.dumps(f.nodes, default=str)[:200]) if f.nodes is not None else ''}</code></td></tr>"
        for f in rd.faults[:500])
    return ("<table><tr><th>fault</th><th>applied</th><th>healed</th><th>what</th><th>nodes / grudge</th></tr>"
            + rows + "</table>"
            + (f"<p class='muted'>\u2026and {len(rd.faults) - 500} more.</p>" if len(rd.faults) > 500 else ""))


CHARTS_HTML = """
<div id="charts-body">
<div class="controls"><button class="reset-zoom" type="button">Reset zoom</button>
Scroll over any chart to zoom in time, drag to pan; all charts share the same time window.
Hover over an operation to see it, click to keep it below.</div>
<h3>Timeline: one row per process</h3>
<p class="muted">Each bar is one operation from its invocation to its completion. After a timeout (info) a worker
continues as a new process, so rows appear as the run goes on. Shaded bands are fault intervals.</p>
<div class="chart"><canvas id="timeline"></canvas></div>
<div class="legend" id="timeline-legend"></div>
<div id="op-detail">Click an operation to see it here.</div>
<h3>Latency and throughput</h3>
<div class="controls">Show: node <select id="node-filter"><option value="-1">all nodes</option></select>
operation <select id="f-filter"><option value="-1">all operations</option></select></div>
<p class="muted">Every operation's latency (log scale) at its invocation time, coloured by operation:</p>
<div class="chart"><canvas id="latency"></canvas></div><div class="legend" id="latency-legend"></div>
<p class="muted">Latency quantiles of successful operations per time window:</p>
<div class="chart"><canvas id="quantiles"></canvas></div><div class="legend" id="quantiles-legend"></div>
<p class="muted">Throughput: completed operations per second, by outcome:</p>
<div class="chart"><canvas id="throughput"></canvas></div><div class="legend" id="throughput-legend"></div>
</div>
"""


def _clock_html(rd: RunData) -> str:
    """Each node's clock offset over time, when the run moved clocks."""
    nodes = [str(a.get("name")) for a in rd.test.get("node_addresses") or [] if isinstance(a, dict)]
    pic = clock_svg.draw(rd.faults, nodes, rd.end_time)
    if not pic:
        return ""
    return ("<h3>Clock offsets</h3><p class='muted'>Each node's wall clock against true time, as the clock "
            "nemesis set it (libfaketime): a line is a bump held until healed, a band a strobe flipping between "
            "its two values every few milliseconds. Between faults every clock is true.</p>"
            f"<div class='chart evidence' data-picture='clock'>{pic}</div>")


def _script_json(data: Any) -> str:
    # "</" must not appear inside a <script> block.
    return json.dumps(data, separators=(",", ":"), default=str, ensure_ascii=False).replace("</", "<\\/")


def render_html(rd: RunData) -> str:
    """The whole report as one string."""
    t = rd.test
    title = " / ".join(str(t.get(k)) for k in ("workload", "nemesis") if t.get(k)) or rd.run_dir.name
    v, _ = overall(rd)
    faults = [(f.start, f.end, f.kind) for f in rd.faults]
    results = (rd.results or {}).get("results")
    if isinstance(results, dict) and results:
        checkers = "".join(evidence.render_checker(str(n), r, faults, rd.end_time) for n, r in results.items())
    elif rd.results is not None and "valid" in rd.results:
        checkers = evidence.render_checker("result", rd.results, faults, rd.end_time)
    else:
        checkers = "<p class='muted'>No checker results recorded.</p>"
    notes = ("<div class='notes'><b>Problems reading this results folder:</b><ul>" +
             "".join(f"<li>{esc(n)}</li>" for n in rd.notes) + "</ul></div>") if rd.notes else ""
    data = chartdata.pack(rd) if rd.ops else None
    charts = (CHARTS_HTML if data else "<p class='muted'>No operations to draw.</p>")
    data_block = f"<script type='application/json' id='chart-data'>{_script_json(data)}</script>" if data else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(evidence.verdict_word(v))}: {esc(title)}</title>
<style>{asset("report.css")}</style></head>
<body data-ready="no"><main>
<div id="js-errors" hidden></div>
<p class="muted">Unkindness test report \u2014 <code>{esc(rd.run_dir.name)}</code></p>
<h1>{esc(title)}</h1>
<p class="toc"><a href="#verdict">Verdict</a><a href="#test">The test</a><a href="#checkers">Checkers</a>
<a href="#charts">Timeline and latency</a><a href="#logs">Node logs</a></p>
{_verdict_html(rd)}
{notes}
<h2 id="test">The test</h2>
{_test_html(rd)}
<h3>Faults</h3>
{_faults_table(rd)}
{_clock_html(rd)}
<h2 id="checkers">What the checkers found</h2>
{checkers}
<h2 id="charts">Timeline, latency and throughput</h2>
{charts}
<h2 id="logs">Node logs around each fault</h2>
{logs.render(rd.node_logs, rd.faults, wall_start(t), rd.end_time)}
</main>
<div id="tooltip" hidden></div>
{data_block}
<script>{asset("report.js")}</script>
</body></html>
"""


def atomic_write(path: Path, text: str) -> None:
    """Writes via a temporary file, so a server never serves a half-written report."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(run_dir: Path) -> Path:
    """Renders ``run_dir/report.html`` from whatever the folder holds; returns its path.

    Raises ReportError only when ``run_dir`` is not a folder.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: not a results folder")
    rd = read_run(run_dir)
    out = run_dir / "report.html"
    atomic_write(out, render_html(rd))
    return out


class ReportError(ValueError):
    """A report cannot be written (the message says why)."""
