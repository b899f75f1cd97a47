"""The set checker: acknowledged adds survive, nothing appears from nowhere.

Jepsen's set-full semantics, judged on the final reads of every node.

History format (the set workload emits exactly this):
- ``{"f": "add", "value": element}``: ``ok`` = acknowledged, ``info`` =
  unknown, ``fail`` = certainly not added. The element is the invoke's value.
- ``{"f": "read", "type": "ok", "value": [element, ...]}``: a read during the run.
- ``{"f": "final-read", "type": "ok", "value": [element, ...], "node": n}``:
  one or more per node, after the cluster healed and recovered. A node's
  *final state* is its last ok final-read (by completion); earlier ones count
  as ordinary reads.

Timing (used for ``stale`` and the latencies): an element is *known* from the
earliest of its add's ok completion and the completion of the first read that
saw it. A read *misses* an element when it began after the element was known
and does not contain it. Every ok read and final-read takes part.

Latencies (quantiles in ms): *stable*, from when an element was known to the
last read that missed it (0 when none did), for elements in every final
state; *lost*, from when a lost element was known to the last read that saw it.

Each element falls in exactly one class:
- ``unexpected``: seen in some read, but never attempted (no add, or only
  failed adds: ``fail`` means certainly not applied).
- ``lost``: acknowledged (or seen in a read, so it did take effect), yet
  absent from every node's final state.
- ``stale``: present in some node's final state, but either missing from
  another node's final state, or missed by some read that began after it was
  known (it vanished for a while, then came back).
- ``recovered``: an ``info`` add, present in every final state, never missed.
- ``ok``: an acknowledged add, present in every final state, never missed.
- ``not_added``: an ``info`` add never seen anywhere (allowed: it may never
  have happened); ``failed``: a failed add never seen (correct).

Verdict (durability): invalid when anything is lost or unexpected; stale
elements are reported but allowed (multi-master replication is asynchronous;
the convergence checker judges divergence). No final read at all, or no add
attempted, gives ``"unknown"``.
"""

from __future__ import annotations

import heapq
from typing import Any, Collection, Iterable

from .history import HistoryError
from .history import brief, gc_paused, make_op, scan_ops

MAX_LISTED = 1000  # lost / unexpected elements described in full
MAX_STALE_LISTED = 100
_RANK = {"fail": 0, "info": 1, "ok": 2}  # which add of an element decides its class
QUANTILES = (0.0, 0.5, 0.95, 0.99, 1.0)


def _quantiles(values_ns: list) -> dict | None:
    if not values_ns:
        return None
    v = sorted(values_ns)
    n = len(v)
    return {str(q): round(v[min(n - 1, int(q * n))] / 1e6, 3) for q in QUANTILES}


def _read_set(value: Any, where: str) -> set:
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise HistoryError(f"{where}: a set read's value must be a list of elements, got {brief(value)}")
    try:
        return set(value)
    except TypeError:
        raise HistoryError(f"{where}: set elements must be numbers or strings, got {brief(value)}") from None


def _node_name(node: Any) -> str:
    return node if isinstance(node, str) else str(node)


@gc_paused()
def check_set(history: Iterable[dict], *, nodes: Collection | None = None) -> dict:
    """Classifies every element from the adds and all reads (see module docstring).

    ``nodes`` (optional) names the nodes that should have a final read; any
    without one is reported. Result: ``{"valid", "summary", ["explanation"],
    "counts": {class: n, "attempted", "acknowledged"}, "lost": [{"element",
    "op", "known_at", "last_seen_at", "lost_latency_ms"}], "unexpected":
    [{"element", "first_seen_at", "read", "add_failed", "op"}], "stale":
    [{"element", "missing_on", "missed_by"}], "recovered": [element, ...],
    "final_read_sizes": {node: n}, "nodes_without_final_read": [node, ...],
    "latency": {"stable_ms": {quantile: ms}, "lost_ms": {...}}, "truncated":
    {list: bool}}``. Times are ns since the run started.
    """
    adds: dict[Any, tuple] = {}  # element -> the raw add op that decides its rank (ok > info > fail)
    acks: dict[Any, Any] = {}  # element -> earliest ok completion time of its adds
    reads: list[tuple] = []  # (invoke time, completion time, element set, raw op)
    finals: dict[Any, int] = {}  # node -> index into reads of its last ok final-read
    final_tried: set = set()
    prev_value: Any = None
    prev_set: set = set()

    for raw in scan_ops(history, ("add", "read", "final-read")):
        f, typ, ipos, iev, cpos, cev = raw
        if f == "add":
            e = iev.get("value")
            try:
                prev = adds.get(e)
            except TypeError:
                raise HistoryError(
                    f"event {iev.get('index', ipos)}: a set element must be a number or string, got {brief(e)}"
                ) from None
            if prev is None or _RANK[typ] > _RANK[prev[1]]:
                adds[e] = raw
            if typ == "ok":
                ack = cev.get("time")
                if ack is None:
                    ack = cpos
                old = acks.get(e)
                if old is None or ack < old:
                    acks[e] = ack
            continue
        if f == "final-read":
            node = cev.get("node") if cev is not None else None
            if node is None:
                node = iev.get("node")
            if node is None or isinstance(node, (dict, list)):
                where = cev if cev is not None else iev
                raise HistoryError(
                    f"event {where.get('index', cpos if cev is not None else ipos)}: "
                    f"a final-read must name the node it read from"
                )
            final_tried.add(node)
        if typ != "ok":
            continue
        value = cev.get("value")
        if value is not prev_value and value != prev_value:  # final reads usually repeat: share the set
            prev_set = _read_set(value, f"event {cev.get('index', cpos)} ({f})")
            prev_value = value
        ti = iev.get("time")
        tc = cev.get("time")
        reads.append((ipos if ti is None else ti, cpos if tc is None else tc, prev_set, raw))
        if f == "final-read":
            finals[node] = len(reads) - 1

    not_acked = adds.keys() - acks.keys()
    failed_only = {e for e in not_acked if adds[e][1] == "fail"}
    info_only = not_acked - failed_only
    acked = acks.keys()
    attempted = len(adds) - len(failed_only)
    acknowledged = len(acks)
    expected_nodes = set(final_tried) | (set(nodes) if nodes is not None else set())
    missing_nodes = sorted((_node_name(n) for n in expected_nodes if n not in finals))
    base: dict[str, Any] = {
        "final_read_sizes": {_node_name(n): len(reads[k][2]) for n, k in sorted(finals.items(), key=lambda x: str(x[0]))},
        "nodes_without_final_read": missing_nodes,
    }
    if not finals:
        return {
            "valid": "unknown",
            "summary": "No node's final read succeeded, so durability cannot be judged.",
            "counts": {"attempted": attempted, "acknowledged": acknowledged},
            **base,
        }

    final_sets = [reads[k][2] for k in finals.values()]
    if all(fs is final_sets[0] or fs == final_sets[0] for fs in final_sets):
        union = inter = final_sets[0]
    else:
        union = set().union(*final_sets)
        inter = set.intersection(*final_sets)

    # First sight (by completion) and last sight (by invocation): set differences keep it in C.
    # A set object shared by several reads (equal values) adds nothing the second time.
    first_seen: dict[Any, int] = {}
    seen: set = set()
    done: set = set()
    for k in sorted(range(len(reads)), key=lambda k: reads[k][1]):
        rs = reads[k][2]
        if id(rs) in done:
            continue
        done.add(id(rs))
        new = rs - seen
        if new:
            first_seen.update(dict.fromkeys(new, k))
            seen |= new
    by_invoke_desc = sorted(range(len(reads)), key=lambda k: reads[k][0], reverse=True)
    last_seen: dict[Any, int] = {}
    seen2: set = set()
    done.clear()
    for k in by_invoke_desc:
        rs = reads[k][2]
        if id(rs) in done:
            continue
        done.add(id(rs))
        new = rs - seen2
        if new:
            last_seen.update(dict.fromkeys(new, k))
            seen2 |= new

    def known(e: Any) -> Any:
        """When e was known to exist: its first ack or the completion of the first read that saw it."""
        k = first_seen.get(e)
        ack = acks.get(e)
        if k is None:
            return ack
        return reads[k][1] if ack is None or reads[k][1] < ack else ack

    # The latest read that missed each element: walking reads from the latest
    # invocation back, an element stays open only while every read contains it,
    # so each read costs at most the size of the read after it.
    last_missed: dict[Any, int] = {}
    acks_get, first_get = acks.get, first_seen.get
    open_ = seen | acked
    prev_rs = None
    for k in by_invoke_desc:
        if not open_:
            break
        t_inv, _, rs, _ = reads[k]
        if rs is prev_rs:
            continue  # open_ is already a subset of it
        prev_rs = rs
        absent = open_ - rs
        if absent:
            for e in absent:  # known(e) < t_inv, inlined: this loop meets every element once
                ack = acks_get(e)
                if ack is not None and ack < t_inv:
                    last_missed[e] = k
                    continue
                k_first = first_get(e)
                if k_first is not None and reads[k_first][1] < t_inv:
                    last_missed[e] = k
            open_ &= rs

    # Classes by set algebra (see the module docstring); only anomalies are walked in Python.
    attempted_set = adds.keys() - failed_only
    unexpected_set = (seen - adds.keys()) | (failed_only & seen)
    lost_set = (acked | (info_only & seen)) - union
    good = (attempted_set & inter) - last_missed.keys()
    stale_set = (attempted_set & union) - good
    recovered_set = good & info_only
    counts = {
        "ok": len(good) - len(recovered_set),
        "lost": len(lost_set),
        "unexpected": len(unexpected_set),
        "recovered": len(recovered_set),
        "stale": len(stale_set),
        "not_added": len(info_only - seen),
        "failed": len(failed_only - seen),
    }
    final_nodes = list(finals.items())

    def read_op(k: int) -> dict:
        return make_op(reads[k][3]).to_dict()

    def add_order(e: Any) -> int:
        return adds[e][2]

    lost_ns: list = []
    for e in lost_set:
        k_last = last_seen.get(e)
        if k_last is not None:
            lost_ns.append(max(0, reads[k_last][0] - known(e)))
    lost = []
    for e in heapq.nsmallest(MAX_LISTED, lost_set, key=add_order):
        k_last = last_seen.get(e)
        latency = None if k_last is None else max(0, reads[k_last][0] - known(e))
        lost.append({
            "element": e,
            "op": make_op(adds[e]).to_dict(),
            "known_at": known(e),
            "last_seen_at": None if k_last is None else reads[k_last][0],
            "lost_latency_ms": None if latency is None else round(latency / 1e6, 3),
        })
    unexpected = []
    for e in heapq.nsmallest(MAX_LISTED, unexpected_set, key=lambda e: first_seen[e]):
        k = first_seen[e]
        failed_add = adds.get(e)
        unexpected.append({
            "element": e, "first_seen_at": reads[k][1], "read": read_op(k),
            "add_failed": failed_add is not None,
            "op": None if failed_add is None else make_op(failed_add).to_dict(),
        })
    stable_ns = [0] * len(good)
    for e in stale_set & inter:
        stable_ns.append(reads[last_missed[e]][0] - known(e))
    stale = []
    for e in heapq.nsmallest(MAX_STALE_LISTED, stale_set, key=add_order):
        k_missed = last_missed.get(e)
        stale.append({
            "element": e,
            "missing_on": sorted(_node_name(n) for n, k in final_nodes if e not in reads[k][2]),
            "missed_by": None if k_missed is None else read_op(k_missed),
        })
    recovered = [e for e in heapq.nsmallest(MAX_LISTED, recovered_set, key=add_order)]
    truncated = {
        "lost": len(lost_set) > len(lost),
        "unexpected": len(unexpected_set) > len(unexpected),
        "stale": len(stale_set) > len(stale),
        "recovered": len(recovered_set) > len(recovered),
    }

    result: dict[str, Any] = {
        "valid": True,
        "counts": {**counts, "attempted": attempted, "acknowledged": acknowledged},
        "lost": lost,
        "unexpected": unexpected,
        "stale": stale,
        "recovered": recovered,
        **base,
        "latency": {"stable_ms": _quantiles(stable_ns), "lost_ms": _quantiles(lost_ns)},
        "truncated": truncated,
    }
    node_note = ""
    if missing_nodes:
        node_note = (
            f" No final read from {', '.join(missing_nodes)}: judged on the other "
            f"{len(finals)} node(s) only."
        )
    if counts["lost"] or counts["unexpected"]:
        result["valid"] = False
        parts = []
        if counts["lost"]:
            parts.append(f"{counts['lost']} lost")
        if counts["unexpected"]:
            parts.append(f"{counts['unexpected']} unexpected")
        result["summary"] = (
            f"{' and '.join(parts)} of {attempted} attempted elements "
            f"({counts['ok']} ok, {counts['stale']} stale, {counts['recovered']} recovered)." + node_note
        )
        words = []
        if counts["lost"]:
            first = lost[0]
            words.append(
                f"{counts['lost']} element(s) were acknowledged to the client (or seen by a read), yet no "
                f"node's final read contains them: the database lost data it had confirmed. For example "
                f"element {first['element']!r}, added by process {first['op']['process']!r} "
                f"(event {first['op']['invoke_index']})."
            )
        if counts["unexpected"]:
            words.append(
                f"{counts['unexpected']} element(s) were read although no add of them could have taken "
                f"effect (never attempted, or the add failed): the database returned data nobody wrote."
            )
        result["explanation"] = " ".join(words)
    elif attempted == 0:
        result["valid"] = "unknown"
        result["summary"] = "No add was attempted, so there was nothing to lose." + node_note
    else:
        result["summary"] = (
            f"All {acknowledged} acknowledged adds are in the final reads and nothing unexpected appeared "
            f"({counts['ok']} ok, {counts['stale']} stale, {counts['recovered']} recovered from "
            f"{attempted - acknowledged} unknown adds)." + node_note
        )
    if counts["stale"]:
        result["stale_explanation"] = (
            f"{counts['stale']} element(s) are stale: present in some node's final read but missing from "
            "another node's (listed under missing_on), or missed by a read that began after the element "
            "was known to exist (missed_by). Stale is allowed (replication between nodes is asynchronous) "
            "and does not fail this check; the convergence check judges whether the nodes agree."
        )
    return result
