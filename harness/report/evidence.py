"""Each checker's result as words and pictures a newcomer can follow.

A renderer per checker kind (chosen by name, else by the shape of the
result); every one degrades to showing the raw JSON, so a checker that
changes its evidence never breaks a report. Fields relied on are listed in
each renderer's docstring.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from . import bank_svg, cycle_svg, linear_svg, pool_svg
from .ops import is_op, op_table, op_words, short_json
from .svg import esc, fmt_s

Faults = list[tuple[int, "int | None", str]]  # (start ns, end ns | None, kind)
DASH = "\u2014"

WHAT = {
    "linearizable": (
        "Linearizability: every operation must appear to take effect at one instant between its invocation "
        "and its completion, so that the whole history reads like a single sequential run of the {model} "
        "model. Operations that overlap in time may take effect in either order; an operation that "
        "completed before another began must take effect first."),
    "bank": (
        "Conservation of money: transfers only move money between accounts, so every read of all accounts "
        "must add up to the initial total, and no balance may go negative."),
    "set": (
        "Durability of acknowledged writes: every element whose add the database acknowledged must be "
        "present in the final read of every node; elements nobody added must never appear."),
    "convergence": (
        "Convergence: after the faults are healed and replication has had time to catch up, every node "
        "must hold the same documents, with the same content and change vectors."),
    "list-append": (
        "Transactional isolation (Elle's list-append): from which appends each read saw, the checker "
        "infers who wrote after whom (ww), who read whose write (wr) and who missed a later write (rw). "
        "A cycle of such dependencies means no serial order of the transactions explains what they "
        "observed; {model} forbids the cycle types listed below."),
    "cart": (
        "The shopping-cart property: every item an add-item acknowledged must be in its cart on every node, "
        "at least at the quantity it wrote, after healing (Listing 6.6's merge keeps every product and the "
        "higher quantity), unless a removal or checkout that may have come after it took it away."),
    "origin-prefix": (
        "Read atomicity and a consistent prefix per origin node: each key is written through one node only, "
        "so every read, on any node, must see of each origin's transactions a prefix of that node's commit "
        "order: never part of a transaction, never a later commit without an earlier one."),
    "pool": (
        "The engineer pool: compare-exchange makes a claim atomic, so no engineer may be on two calls at "
        "once, a claim may only take an engineer the pool listed, and no version of the pool may be "
        "replaced twice."),
    "stats": (
        "Operation statistics: how many operations of each kind succeeded, failed or timed out. It fails "
        "only when some kind of operation never succeeded, which would make the other verdicts meaningless."),
}
KIND_ALIASES = {"linear": "linearizable", "linearizability": "linearizable", "set-full": "set",
                "elle": "list-append", "cycles": "list-append", "txn": "list-append", "prefix": "origin-prefix",
                "engineer-pool": "pool"}


def verdict_word(v: Any) -> str:
    return {True: "valid", False: "INVALID"}.get(v, "unknown") if isinstance(v, bool) else (
        "unknown" if v == "unknown" else "not recorded" if v is None else str(v))


def verdict_class(v: Any) -> str:
    return "true" if v is True else "false" if v is False else "unknown" if v == "unknown" else "none"


def kind_of(name: str, result: dict) -> str:
    """Which renderer fits: the checker's name first, then the evidence's shape."""
    n = KIND_ALIASES.get(name, name)
    if n in WHAT:
        return n
    if "prefix" in result or "op_text" in result or "model" in result and "searched_ops" in result:
        return "linearizable"
    if "totals" in result or "bad_read_count" in result:
        return "bank"
    if "anomaly_types" in result or "anomalies" in result:
        return "list-append"
    if "divergent" in result:
        return "convergence"
    if "lost" in result and "counts" in result:
        return "set"
    if "by_f" in result:
        return "stats"
    return "generic"


def _kv(rows: list[tuple[str, Any]]) -> str:
    return "<table class='kv'>" + "".join(
        f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _json_details(result: dict, title: str = "All evidence as JSON") -> str:
    try:
        text = json.dumps(result, indent=1, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(result)
    if len(text) > 60_000:
        text = text[:60_000] + "\n\u2026 (truncated; see results.json)"
    return f"<details><summary>{esc(title)}</summary><pre>{esc(text)}</pre></details>"


def _linear(r: dict, faults: Faults, end: int) -> str:
    """Uses "op", "op_text", "prefix" [{"op","text","state"}], "prefix_length", "prefix_omitted",
    "states", "concurrent", "key", "reason", "deepest"."""
    out = []
    op = r.get("op") if isinstance(r.get("op"), dict) else None
    prefix = [p for p in r.get("prefix") or [] if isinstance(p, dict)]
    conc = [c for c in r.get("concurrent") or [] if isinstance(c, dict)]
    if r.get("valid") == "unknown" and r.get("reason"):
        out.append(f"<p>The search stopped before deciding: {esc(r.get('reason'))}. {esc(r.get('deepest', ''))}</p>")
    if op is None:
        return "".join(out)
    key = "" if r.get("key") is None else f" on key <code>{esc(short_json(r.get('key')))}</code>"
    out.append(f"<p><b>The operation that cannot be linearized{key}:</b> "
               f"{esc(r.get('op_text') or op_words(op))} by process {esc(op.get('process'))} "
               f"(history event {esc(op.get('invoke_index'))}).</p>")
    omitted = r.get("prefix_omitted") or 0
    pic = linear_svg.draw(op, prefix, conc, first_step=omitted + 1)
    if pic:
        out.append("<p class='muted'>The failing window: each bar is an operation from invocation to completion, "
                   "one row per process. Green, numbered ops are the last steps of the longest order the model "
                   "accepts (\u201cthen:\u201d is the model state after each); the red op cannot be placed after "
                   "them; grey ops overlap it. A bar ending in \u2192? never completed. Hover a bar for details.</p>")
        out.append(f"<div class='chart evidence' data-picture='linearizability'>{pic}</div>")
    if prefix:
        note = (f"<p class='muted'>The first {omitted} steps of the {r.get('prefix_length')}-step prefix are "
                f"left out; the last {len(prefix)} are shown.</p>" if omitted else "")
        rows = [
            f"<tr><td>{i + 1 + omitted}</td><td>{esc(p.get('op', {}).get('process') if isinstance(p.get('op'), dict) else '')}</td>"
            f"<td>{esc(p.get('text') or op_words(p.get('op') or {}))}</td><td><code>{esc(short_json(p.get('state')))}</code></td></tr>"
            for i, p in enumerate(prefix)]
        head = "<table><tr><th>step</th><th>process</th><th>operation</th><th>model state after</th></tr>"
        shown = 12
        table = head + "".join(rows[-shown:]) + "</table>"
        if len(rows) > shown:
            table = (f"<details><summary>{len(rows) - shown} earlier steps</summary>{head}"
                     + "".join(rows[:-shown]) + "</table></details>" + table)
        out.append("<h4>The longest linearizable prefix, step by step (ending just before the failure)</h4>"
                   + note + table)
    states = r.get("states")
    if isinstance(states, list) and states:
        out.append("<p>After that prefix the model could only be in: " +
                   ", ".join(f"<code>{esc(short_json(s))}</code>" for s in states[:10]) +
                   f"; the failing operation is impossible in {'that state' if len(states) == 1 else 'each of them'}.</p>")
    if conc:
        out.append("<h4>Operations concurrent with it</h4>" + op_table(conc))
    return "".join(out)


def _bank(r: dict, faults: Faults, end: int) -> str:
    """Uses "totals" [[t, total, ok]], "total", "read_count", "bad_read_count", "bad_reads_by_kind",
    "bad_reads" [{"op","kinds","total","delta"}], "delta_range", "totals_downsampled"."""
    out = []
    pic = bank_svg.draw(r.get("totals") or [], r.get("total"), faults, end)
    if pic:
        out.append("<p class='muted'>Each blue dot is one read's total; red dots are bad reads; the dashed green "
                   "line is the expected total; shaded bands are faults.</p>")
        out.append(f"<div class='chart evidence' data-picture='bank'>{pic}</div>")
        if r.get("totals_downsampled"):
            out.append("<p class='muted'>Good reads are thinned out for drawing; every bad read is kept.</p>")
    kinds = r.get("bad_reads_by_kind") or {}
    out.append(_kv([("reads", esc(r.get("read_count"))), ("bad reads", esc(r.get("bad_read_count"))),
                    ("by kind", esc(", ".join(f"{k}: {v}" for k, v in kinds.items() if v) or "none")),
                    ("expected total", esc(r.get("total"))),
                    ("off by (min, max)", esc(r.get("delta_range") or DASH))]))
    bad = [b for b in r.get("bad_reads") or [] if isinstance(b, dict)]
    if bad:
        rows = "".join(
            f"<tr><td>{fmt_s(b['op'].get('end') or b['op'].get('start') or 0) if isinstance(b.get('op'), dict) else ''}</td>"
            f"<td>{esc((b.get('op') or {}).get('node', ''))}</td><td>{esc(b.get('total'))}</td>"
            f"<td>{esc(b.get('delta'))}</td><td>{esc(', '.join(b.get('kinds') or []))}</td>"
            f"<td><code>{esc(short_json((b.get('op') or {}).get('value'), 100))}</code></td></tr>" for b in bad)
        out.append("<h4>Bad reads</h4><table><tr><th>completed</th><th>node</th><th>total</th><th>delta</th>"
                   "<th>what is wrong</th><th>balances read</th></tr>" + rows + "</table>")
    return "".join(out)


def _set(r: dict, faults: Faults, end: int) -> str:
    """Uses "counts", "lost" [{"element","op","known_at","last_seen_at"}], "unexpected", "stale", "recovered",
    "final_read_sizes"."""
    out = []
    counts = r.get("counts") or {}
    if counts:
        out.append("<table><tr>" + "".join(f"<th>{esc(k)}</th>" for k in counts) + "</tr><tr>" +
                   "".join(f"<td>{esc(v)}</td>" for v in counts.values()) + "</tr></table>")
    lost = [x for x in r.get("lost") or [] if isinstance(x, dict)]
    if lost:
        rows = "".join(
            f"<tr><td><code>{esc(short_json(x.get('element')))}</code></td>"
            f"<td>{esc(op_words(x['op'])) if is_op(x.get('op')) else ''}</td>"
            f"<td>{fmt_s(x['known_at']) if isinstance(x.get('known_at'), (int, float)) else DASH}</td>"
            f"<td>{fmt_s(x['last_seen_at']) if isinstance(x.get('last_seen_at'), (int, float)) else 'never'}</td></tr>"
            for x in lost[:200])
        out.append("<h4>Lost elements: acknowledged, then missing from the final reads</h4>"
                   "<table><tr><th>element</th><th>its add operation</th><th>acknowledged at</th>"
                   "<th>last seen in a read</th></tr>" + rows + "</table>")
    for name, title in (("unexpected", "Unexpected elements (never successfully added)"),
                        ("stale", "Stale elements (missing on some nodes)")):
        items = [x for x in r.get(name) or [] if isinstance(x, dict)]
        if items:
            rows = "".join(f"<tr><td><code>{esc(short_json(x.get('element')))}</code></td><td><code>"
                           f"{esc(short_json({k: v for k, v in x.items() if k != 'element'}, 200))}</code></td></tr>"
                           for x in items[:100])
            out.append(f"<h4>{esc(title)}</h4><table><tr><th>element</th><th>details</th></tr>{rows}</table>")
    return "".join(out)


def _convergence(r: dict, faults: Faults, end: int) -> str:
    """Uses "nodes", "document_count", "divergent" [{"id","present_on","absent_on","change_vectors",
    "body_diff": {path: {node: value}}}]."""
    out = []
    dc = r.get("document_count") or {}
    if dc:
        out.append("<p>Documents per node: " + ", ".join(f"{esc(n)}: {esc(c)}" for n, c in dc.items()) + "</p>")
    div = [d for d in r.get("divergent") or [] if isinstance(d, dict)]
    nodes = [str(n) for n in r.get("nodes") or []]
    for d in div[:30]:
        out.append(f"<h4>Document <code>{esc(d.get('id'))}</code></h4>")
        if d.get("absent_on"):
            out.append(f"<p>Present on {esc(', '.join(map(str, d.get('present_on') or [])))}; "
                       f"<b>missing on {esc(', '.join(map(str, d.get('absent_on') or [])))}</b>.</p>")
        cvs = d.get("change_vectors") or {}
        diff = d.get("body_diff") or {}
        cols = nodes or sorted({str(n) for n in cvs} | {str(n) for v in diff.values() if isinstance(v, dict) for n in v})
        rows = ["<tr><th></th>" + "".join(f"<th>node {esc(n)}</th>" for n in cols) + "</tr>"]
        if cvs:
            rows.append("<tr><th>change vector</th>" + "".join(
                f"<td><code>{esc(cvs.get(n, DASH))}</code></td>" for n in cols) + "</tr>")
        for path, per in list(diff.items())[:40]:
            if isinstance(per, dict):
                rows.append(f"<tr><th><code>{esc(path)}</code></th>" + "".join(
                    f"<td><code>{esc(short_json(per.get(n, per.get(str(n))), 80))}</code></td>" for n in cols) + "</tr>")
        out.append("<table>" + "".join(rows) + "</table>")
    if len(div) > 30:
        out.append(f"<p class='muted'>\u2026and {len(div) - 30} more divergent documents.</p>")
    return "".join(out)


def _cart(r: dict, faults: Faults, end: int) -> str:
    """Uses "cart_contents" {node: {cart: {product: quantity} | None}}, "problems" [{"cart","product",
    "acknowledged_quantity","op","found","during_failover"}], "conflicted_carts", "failover"."""
    out = []
    problems = [p for p in r.get("problems") or [] if isinstance(p, dict)]
    lost = {(str(p.get("cart")), str(p.get("product"))) for p in problems}
    if problems:
        rows = "".join(
            f"<tr><td><code>{esc(p.get('cart'))}</code></td><td><code>{esc(p.get('product'))}</code></td>"
            f"<td>{esc(p.get('acknowledged_quantity'))}</td>"
            f"<td>{esc(op_words(p['op'])) if is_op(p.get('op')) else ''}</td>"
            f"<td>{esc(', '.join(f'{n}: {DASH if q is None else q}' for n, q in (p.get('found') or {}).items()))}</td>"
            f"<td>{'yes' if p.get('during_failover') else 'no' if 'during_failover' in p else DASH}</td></tr>"
            for p in problems[:100])
        out.append("<h4>Lost items: acknowledged, nothing removed them afterwards, missing or short</h4>"
                   "<table><tr><th>cart</th><th>product</th><th>acknowledged quantity</th><th>its add</th>"
                   "<th>quantity per node</th><th>written during failover</th></tr>" + rows + "</table>")
    fo = r.get("failover")
    if isinstance(fo, dict):
        routes = ", ".join(f"{n}: {c}" for n, c in (fo.get("failover_writes_by_route") or {}).items())
        out.append("<h4>Failover (seed 000): writes clients moved to another node</h4>" + _kv([
            ("primary", esc(fo.get("primary") if fo.get("primary") is not None else DASH)),
            ("failover writes (acknowledged)", esc(f"{fo.get('failover_writes')}" + (f" ({routes})" if routes else ""))),
            ("writes any node but the primary took",
             esc(fo.get("writes_off_the_primary") if "writes_off_the_primary" in fo else DASH)),
            ("orphaned carts (no write of theirs on the primary)",
             esc(f"{fo.get('orphaned_count')}: " + ", ".join(map(str, fo.get("orphaned_carts") or [])) or "none")),
            ("carts left in conflict", esc(", ".join(map(str, fo.get("conflicted_carts") or [])) or "none")),
            ("lost items that were failover writes", esc(fo.get("lost_failover_writes")))]))
    contents = r.get("cart_contents") or {}
    nodes = [str(n) for n in contents]
    conflicted = {str(c) for c in r.get("conflicted_carts") or {}}
    lost_carts = {str(c) for c, _ in lost}
    # The table shows 60 carts: those in conflict or with lost items first, so the evidence is never cut off.
    carts = sorted({str(c) for per in contents.values() if isinstance(per, dict) for c in per},
                   key=lambda c: (c not in conflicted, c not in lost_carts, c))
    if nodes and carts:
        def cell(items: Any, cart: str) -> str:
            if items is None:
                return f"<td class='muted'>{DASH} none</td>"
            if not isinstance(items, dict):
                return f"<td>{esc(short_json(items, 80))}</td>"
            parts = [f"<span class='{'lost' if (cart, str(p)) in lost else ''}'>{esc(str(p).split('/')[-1])}"
                     f"×{esc(q)}</span>" for p, q in sorted(items.items(), key=lambda kv: str(kv[0]))]
            return "<td>" + (" ".join(parts) or "empty") + "</td>"
        rows = "".join(
            f"<tr><th><code>{esc(c)}</code>{' (conflict)' if c in conflicted else ''}</th>"
            + "".join(cell((contents[n] or {}).get(c), c) for n in nodes) + "</tr>" for c in carts[:60])
        out.append("<h4>Each node's carts after healing (product × quantity)</h4><table><tr><th>cart</th>"
                   + "".join(f"<th>node {esc(n)}</th>" for n in nodes) + "</tr>" + rows + "</table>")
    return "".join(out)


def _prefix(r: dict, faults: Faults, end: int) -> str:
    """Uses "violations" [{"kind","origin","read","saw","missed","explanation"}], "origins",
    "multi_origin_keys", "reads_checked"."""
    out = []
    origins = r.get("origins") or {}
    if origins:
        out.append("<p>Origins: " + ", ".join(
            f"{esc(o)} ({esc(v.get('keys'))} keys, {esc(v.get('txns'))} writing txns)"
            for o, v in origins.items() if isinstance(v, dict)) + f"; {esc(r.get('reads_checked'))} multi-key reads "
            "checked.</p>")
    rows = []
    for v in [x for x in r.get("violations") or [] if isinstance(x, dict)][:30]:
        saw, missed = v.get("saw") or {}, v.get("missed") or {}
        rows.append(f"<tr><td>{esc(v.get('kind'))}</td><td>{esc(v.get('origin'))}</td>"
                    f"<td>event {esc((v.get('read') or {}).get('complete_index'))} on {esc((v.get('read') or {}).get('node'))}</td>"
                    f"<td>{esc(saw.get('element'))} on key {esc(saw.get('key'))}</td>"
                    f"<td>{esc(missed.get('element'))} on key {esc(missed.get('key'))}</td>"
                    f"<td>{esc(v.get('explanation'))}</td></tr>")
    if rows:
        out.append("<table><tr><th>kind</th><th>origin</th><th>the read</th><th>saw</th><th>missed</th>"
                   "<th>why that is not a prefix</th></tr>" + "".join(rows) + "</table>")
    multi = r.get("multi_origin_keys") or {}
    if multi:
        out.append("<p>Keys written through several nodes (outside the promise): " + esc(
            ", ".join(f"{k} ({', '.join(map(str, v))})" for k, v in multi.items())) + "</p>")
    return "".join(out)


def _pool(r: dict, faults: Faults, end: int) -> str:
    """Uses "holdings" {engineer: [{"call","from","to","node"}]}, "double_bookings", "phantom_claims", "forks"."""
    out = []
    pic = pool_svg.draw(r.get("holdings") or {}, [d for d in r.get("double_bookings") or [] if isinstance(d, dict)],
                        faults, end)
    if pic:
        out.append("<p class='muted'>One lane per engineer; each bar is a support call holding it, from its claim's "
                   "acknowledgement until it began to release it (one colour per call); red marks two calls at "
                   "once; shaded bands are faults. Hover a bar for the call.</p>")
        out.append(f"<div class='chart evidence' data-picture='pool'>{pic}</div>")
    for d in [x for x in r.get("double_bookings") or [] if isinstance(x, dict)][:20]:
        f, s = d.get("first") or {}, d.get("second") or {}
        out.append(f"<p><b>{esc(d.get('engineer'))}</b>: {esc(f.get('call'))} (claim event {esc(f.get('claim_index'))}, "
                   f"{esc(f.get('node'))}) and {esc(s.get('call'))} (claim event {esc(s.get('claim_index'))}, "
                   f"{esc(s.get('node'))}) from {fmt_s(s.get('from') or 0)}.</p>")
    forks = [x for x in r.get("forks") or [] if isinstance(x, dict)]
    if forks:
        out.append("<h4>Versions replaced more than once</h4>" + "".join(
            f"<p>index {esc(fk.get('index'))}:</p>" + op_table([o for o in fk.get("ops") or [] if is_op(o)])
            for fk in forks[:5]))
    return "".join(out)


def _cycles(r: dict, faults: Faults, end: int) -> str:
    """Uses "anomaly_types", "anomalies" {type: [{"type","steps","txns","explanation"}]}, "anomaly_counts",
    "strongest_satisfied", "not"."""
    out = []
    types = r.get("anomaly_types") or []
    if types:
        counts = r.get("anomaly_counts") or {}
        out.append("<p>Anomalies found: " + ", ".join(
            f"<b>{esc(t)}</b> ({esc(counts.get(t, '?'))})" for t in types) + ".</p>")
    if r.get("strongest_satisfied"):
        out.append(f"<p>Strongest consistency model the history still satisfies: "
                   f"{esc(', '.join(map(str, r['strongest_satisfied'])))}.</p>")
    anomalies = r.get("anomalies") or {}
    for t, items in anomalies.items():
        for j, a in enumerate(items if isinstance(items, list) else []):
            if not isinstance(a, dict):
                continue
            block = [f"<h4>{esc(t)} #{j + 1}</h4>"]
            if a.get("explanation"):
                block.append(f"<p class='why'>{esc(a['explanation'])}</p>")
            steps = [s for s in a.get("steps") or [] if isinstance(s, dict)]
            if steps:
                block.append(f"<div class='chart evidence' data-picture='cycle'>{cycle_svg.draw(steps)}</div>")
                block.append("<table><tr><th>edge</th><th>kind</th><th>key</th><th>value</th><th>why</th></tr>" + "".join(
                    f"<tr><td>{esc(s.get('from'))} \u2192 {esc(s.get('to'))}</td><td>{esc(s.get('kind'))}</td>"
                    f"<td>{esc(short_json(s.get('key')))}</td><td>{esc(short_json(s.get('value')))}</td>"
                    f"<td>{esc(s.get('why'))}</td></tr>" for s in steps) + "</table>")
            txns = a.get("txns")
            if isinstance(txns, dict) and txns:
                block.append("<table><tr><th>txn</th><th>what it did</th></tr>" + "".join(
                    f"<tr><td>{esc(k)}</td><td><code>{esc(short_json(v, 300))}</code></td></tr>" for k, v in txns.items())
                    + "</table>")
            elif not steps:
                block.append(_json_details(a, "This anomaly as JSON"))
            html = "".join(block)
            out.append(html if j < 3 else f"<details><summary>{esc(t)} #{j + 1}</summary>{html}</details>")
    return "".join(out)


def _stats(r: dict, faults: Faults, end: int) -> str:
    """Uses "by_f" {f: {"count","ok","fail","info","ok_fraction"}}."""
    by_f = r.get("by_f") or {}
    if not isinstance(by_f, dict) or not by_f:
        return ""
    rows = "".join(
        f"<tr><td>{esc(f)}</td><td>{esc(v.get('count'))}</td><td>{esc(v.get('ok'))}</td><td>{esc(v.get('fail'))}</td>"
        f"<td>{esc(v.get('info'))}</td><td>{esc(round(100 * v['ok_fraction'], 1) if isinstance(v.get('ok_fraction'), (int, float)) else '')}%</td></tr>"
        for f, v in by_f.items() if isinstance(v, dict))
    return ("<table><tr><th>f</th><th>count</th><th>ok</th><th>fail</th><th>info (unknown)</th><th>ok %</th></tr>"
            + rows + "</table>")


def _generic(r: dict, faults: Faults, end: int) -> str:
    scal = [(k, esc(short_json(v, 300))) for k, v in r.items()
            if k not in ("valid", "summary", "explanation") and not isinstance(v, (dict, list))]
    out = [_kv(scal)] if scal else []
    for k, v in r.items():
        if isinstance(v, list) and v and all(is_op(x) for x in v):
            out.append(f"<h4>{esc(k)}</h4>" + op_table(v))
        elif is_op(v):
            out.append(f"<p><b>{esc(k)}:</b> {esc(op_words(v))}</p>")
    return "".join(out)


RENDERERS: dict[str, Callable[[dict, Faults, int], str]] = {
    "linearizable": _linear, "bank": _bank, "set": _set, "convergence": _convergence, "cart": _cart,
    "list-append": _cycles, "origin-prefix": _prefix, "pool": _pool, "stats": _stats, "generic": _generic,
}


def render_checker(name: str, result: Any, faults: Faults, end_time: int) -> str:
    """One checker's section: what was checked, the verdict, why, pictures, raw evidence."""
    if not isinstance(result, dict):
        return (f"<section class='checker c-unknown'><h3>{esc(name)}</h3><p>This checker returned something "
                f"that is not a result: <code>{esc(short_json(result, 300))}</code></p></section>")
    v = result.get("valid")
    kind = kind_of(name, result)
    model = result.get("model") or result.get("consistency_model") or "expected"
    what = WHAT.get(kind, "").format(model=model)
    parts = [f"<section class='checker c-{verdict_class(v)}' id='checker-{esc(name)}' data-kind='{kind}'>",
             f"<h3>{esc(name)} <span class='badge v-{verdict_class(v)}'>{esc(verdict_word(v))}</span></h3>"]
    if what:
        parts.append(f"<p class='what'><b>What was checked.</b> {esc(what)}</p>")
    parts.append(f"<p><b>Result.</b> {esc(result.get('summary') or 'no summary given')}</p>")
    if result.get("explanation"):
        label = "Why this is an anomaly." if v is False else "Why."
        parts.append(f"<p class='why'><b>{label}</b> {esc(result['explanation'])}</p>")
    try:
        parts.append(RENDERERS[kind](result, faults, end_time))
    except Exception as e:  # a renderer must never cost the reader the rest of the report
        parts.append(f"<p class='notes'>This evidence could not be drawn ({esc(type(e).__name__)}: {esc(e)}); "
                     "the raw JSON follows.</p>")
    parts.append(_json_details(result))
    parts.append("</section>")
    return "".join(parts)
