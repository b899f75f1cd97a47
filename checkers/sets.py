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

from typing import Any, Collection, Iterable

from .history import HistoryError
from .stats import gc_paused, make_op, scan_ops

MAX_LISTED = 1000  # lost / unexpected elements described in full
MAX_STALE_LISTED = 100
_RANK = {"fail": 0, "info": 1, "ok": 2}
QUANTILES = (0.0, 0.5, 0.95, 0.99, 1.0)


def _quantiles(values_ns: list) -> dict | None:
    if not values_ns:
        return None
    v = sorted(values_ns)
    n = len(v)
    return {str(q): round(v[min(n - 1, int(q * n))] / 1e6, 3) for q in QUANTILES}


def _read_set(value: Any, where: str) -> set:
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise HistoryError(f"{where}: a set read's value must be a list of elements, got {value!r}")
    try:
        return set(value)
    except TypeError:
        raise HistoryError(f"{where}: set elements must be numbers or strings, got {value!r}") from None


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
    adds: dict[Any, list] = {}  # element -> [rank, raw op, ack time or None]
    reads: list[tuple] = []  # (invoke time, completion time, element set, raw op)
    finals: dict[Any, int] = {}  # node -> index into reads of its last ok final-read
    final_tried: set = set()

    for raw in scan_ops(history, ("add", "read", "final-read")):
        f, typ, ipos, iev, cpos, cev = raw
        if f == "add":
            e = iev.get("value")
            rank = _RANK[typ]
            try:
                rec = adds.get(e)
            except TypeError:
                raise HistoryError(
                    f"event {iev.get('index', ipos)}: a set element must be a number or string, got {e!r}"
                ) from None
            ack = None
            if rank == 2:
                ack = cev.get("time")
                if ack is None:
                    ack = cpos
            if rec is None:
                adds[e] = [rank, raw, ack]
            else:
                if rank > rec[0]:
                    rec[0] = rank
                    rec[1] = raw
                if ack is not None and (rec[2] is None or ack < rec[2]):
                    rec[2] = ack
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
        where = f"event {cev.get('index', cpos)} ({f})"
        s = _read_set(cev.get("value"), where)
        ti = iev.get("time")
        tc = cev.get("time")
        reads.append((ipos if ti is None else ti, cpos if tc is None else tc, s, raw))
        if f == "final-read":
            finals[node] = len(reads) - 1

    attempted = sum(1 for rec in adds.values() if rec[0] >= 1)
    acknowledged = sum(1 for rec in adds.values() if rec[0] == 2)
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
    union = set().union(*final_sets)
    inter = set.intersection(*final_sets)

    # First sight (by completion) and last sight (by invocation): set differences keep it in C.
    first_seen: dict[Any, int] = {}
    seen: set = set()
    for k in sorted(range(len(reads)), key=lambda k: reads[k][1]):
        new = reads[k][2] - seen
        if new:
            first_seen.update(dict.fromkeys(new, k))
            seen |= new
    by_invoke_desc = sorted(range(len(reads)), key=lambda k: reads[k][0], reverse=True)
    last_seen: dict[Any, int] = {}
    seen2: set = set()
    for k in by_invoke_desc:
        new = reads[k][2] - seen2
        if new:
            last_seen.update(dict.fromkeys(new, k))
            seen2 |= new

    known: dict[Any, Any] = {e: reads[k][1] for e, k in first_seen.items()}
    for e, rec in adds.items():
        ack = rec[2]
        if ack is not None:
            kt = known.get(e)
            if kt is None or ack < kt:
                known[e] = ack

    # The latest read that missed each element: walking reads from the latest
    # invocation back, an element stays open only while every read contains it,
    # so each read costs at most the size of the read after it.
    last_missed: dict[Any, int] = {}
    open_ = set(known)
    for k in by_invoke_desc:
        if not open_:
            break
        t_inv, _, s, _ = reads[k]
        absent = open_ - s
        if absent:
            for e in absent:
                if known[e] < t_inv:
                    last_missed[e] = k
            open_ &= s

    counts = dict.fromkeys(("ok", "lost", "unexpected", "recovered", "stale", "not_added", "failed"), 0)
    lost: list[dict] = []
    unexpected: list[dict] = []
    stale: list[dict] = []
    recovered: list = []
    stable_ns: list = []
    lost_ns: list = []
    truncated = {"lost": False, "unexpected": False, "stale": False, "recovered": False}
    final_nodes = list(finals.items())

    def read_op(k: int) -> dict:
        return make_op(reads[k][3]).to_dict()

    for e, rec in adds.items():
        rank = rec[0]
        if rank == 0:
            if e in seen:
                counts["unexpected"] += 1
                if len(unexpected) < MAX_LISTED:
                    k = first_seen[e]
                    unexpected.append({"element": e, "first_seen_at": reads[k][1], "read": read_op(k),
                                       "add_failed": True, "op": make_op(rec[1]).to_dict()})
                else:
                    truncated["unexpected"] = True
            else:
                counts["failed"] += 1
        elif e in union:
            k_missed = last_missed.get(e)
            if k_missed is not None or e not in inter:
                counts["stale"] += 1
                if len(stale) < MAX_STALE_LISTED:
                    stale.append({
                        "element": e,
                        "missing_on": sorted(_node_name(n) for n, k in final_nodes if e not in reads[k][2]),
                        "missed_by": None if k_missed is None else read_op(k_missed),
                    })
                else:
                    truncated["stale"] = True
                if e in inter:
                    stable_ns.append(reads[k_missed][0] - known[e])
            else:
                if rank == 2:
                    counts["ok"] += 1
                else:
                    counts["recovered"] += 1
                    if len(recovered) < MAX_LISTED:
                        recovered.append(e)
                    else:
                        truncated["recovered"] = True
                stable_ns.append(0)
        elif rank == 2 or e in seen:
            counts["lost"] += 1
            k_last = last_seen.get(e)
            latency = None if k_last is None else max(0, reads[k_last][0] - known[e])
            if latency is not None:
                lost_ns.append(latency)
            if len(lost) < MAX_LISTED:
                lost.append({
                    "element": e,
                    "op": make_op(rec[1]).to_dict(),
                    "known_at": known[e],
                    "last_seen_at": None if k_last is None else reads[k_last][0],
                    "lost_latency_ms": None if latency is None else round(latency / 1e6, 3),
                })
            else:
                truncated["lost"] = True
        else:
            counts["not_added"] += 1
    for e in seen.difference(adds):
        counts["unexpected"] += 1
        if len(unexpected) < MAX_LISTED:
            k = first_seen[e]
            unexpected.append({"element": e, "first_seen_at": reads[k][1], "read": read_op(k),
                               "add_failed": False, "op": None})
        else:
            truncated["unexpected"] = True

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
    return result
