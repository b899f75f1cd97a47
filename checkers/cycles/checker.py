"""The list-append checker: from a history to a verdict under a consistency model."""

from __future__ import annotations

from unkindness.checkers.cycles.direct import find_direct_anomalies
from unkindness.checkers.cycles.explain import explain_cycle
from unkindness.checkers.cycles.graph import build_graph
from unkindness.checkers.cycles.consistency import (
    ANOMALY_TYPES, MODELS, check_model_name, forbidden_by, ruled_out_by, strongest,
)
from unkindness.checkers.cycles.search import CYCLE_TYPE_NAMES, search_cycles
from unkindness.checkers.cycles.txns import parse_txns
from unkindness.checkers.cycles.versions import infer_versions
from unkindness.checkers.history import gc_paused

DEFAULT_MODEL = "strict-serializable"


def _order_types(types) -> list[str]:
    rank = {a: i for i, a in enumerate(ANOMALY_TYPES)}
    return sorted(types, key=lambda a: (rank.get(a, len(rank)), a))


def check_list_append(history: list[dict], consistency_model: str = DEFAULT_MODEL, *,
                      max_cycles_per_type: int = 10, max_search_work: int = 5_000_000,
                      semantics: str = "porcupine") -> dict:
    """Checks an Elle list-append history against ``consistency_model``.

    ``semantics="jepsen"`` reads a nil read as the empty list, as Elle does.
    Returns ``{"valid", "consistency_model", "semantics", "anomaly_types", "anomalies",
    "anomaly_counts", "not", "ruled_out_by", "strongest_satisfied", "summary",
    "explanation" (when invalid), "txns", "search"}``. Raises ValueError for an
    unknown model and HistoryError (a ValueError) for a malformed history.
    ``max_search_work`` caps the (txn, state) visits of all typed cycle
    searches together; a cycle is reported whatever the cap, but a cap can
    leave its type less precise, and then the verdict may be "unknown".
    """
    consistency_model = check_model_name(consistency_model)
    for name, n in (("max_cycles_per_type", max_cycles_per_type), ("max_search_work", max_search_work)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name} must be a positive integer, got {n!r}")
    if semantics not in ("porcupine", "jepsen"):
        raise ValueError(f"unknown semantics {semantics!r}; choose from porcupine, jepsen")
    with gc_paused():
        result = _check(history, consistency_model, max_cycles_per_type, max_search_work, semantics)
    result["semantics"] = semantics
    if semantics == "jepsen":
        result["summary"] = f"{result.get('summary', '')} [Jepsen's reading]".strip()
    result["reading"] = ("Jepsen's reading (Elle's): a read of nil in an ok transaction saw the empty list"
                         if semantics == "jepsen" else "strict reading: an ok read must be a list")
    return result


def _check(history: list[dict], consistency_model: str, max_cycles_per_type: int, max_work: int,
           semantics: str = "porcupine") -> dict:
    txns, skipped = parse_txns(history, nil_read_empty=semantics == "jepsen")
    versions = infer_versions(txns)
    found: dict[str, list] = {}
    for kind, items in versions.anomalies.items():
        found.setdefault(kind, []).extend(items)
    for kind, items in find_direct_anomalies(txns, versions).items():
        found.setdefault(kind, []).extend(items)
    graph = build_graph(txns, versions)
    result = search_cycles(graph, max_per_type=max_cycles_per_type,
                           per_search=min(200_000, max_work), total=max_work)
    for kind, cycles in result.cycles.items():
        found.setdefault(kind, []).extend(explain_cycle(txns, versions, c, kind) for c in cycles)

    types = _order_types(found)
    counts = {t: len(found[t]) for t in types}
    anomalies = {t: found[t][:max_cycles_per_type] for t in types}
    ruled = {t: ruled_out_by(t) for t in types}
    impossible = {m for ms in ruled.values() for m in ms}
    satisfied = {m for m in MODELS if m not in impossible}
    forbidden = forbidden_by(consistency_model)
    bad = [t for t in types if t in forbidden]
    # A cap may have stopped the search for a type this model forbids before it
    # found one; cycles themselves are never missed (see search.py).
    undecided = sorted(t for t in result.truncated if t in forbidden and t not in found)
    if bad:
        valid: bool | str = False
    elif undecided:
        valid = "unknown"
    else:
        valid = True

    out = {
        "valid": valid,
        "consistency_model": consistency_model,
        "anomaly_types": types,
        "anomalies": anomalies,
        "anomaly_counts": counts,
        "not": [m for m in MODELS if m in impossible],
        "ruled_out_by": ruled,
        "strongest_satisfied": strongest(satisfied),
        "txns": len(txns),
        "search": {
            "edges": graph.edge_count(),
            "sccs": result.scc_count,
            "largest_scc": result.largest_scc,
            "truncated_types": sorted(result.truncated),
            "cycle_types_searched": CYCLE_TYPE_NAMES,
        },
    }
    if skipped:
        out["skipped_non_txn_ops"] = skipped
    sat = " and ".join(out["strongest_satisfied"]) or "none of the models this checker knows"
    if valid is True:
        extra = f" (it also shows {', '.join(types)}, which {consistency_model} allows)" if types else ""
        out["summary"] = (f"{len(txns)} txns are consistent with {consistency_model}{extra}; "
                          f"strongest model satisfied: {sat}.")
    elif valid == "unknown":
        out["summary"] = (f"{len(txns)} txns: no anomaly {consistency_model} forbids was found, but the cycle "
                          f"search hit its work cap for {', '.join(undecided)}.")
        out["explanation"] = ("The dependency graph has cycles too large to classify fully within the "
                              "search budget, so the verdict is unknown rather than a guess.")
    else:
        out["summary"] = (f"{len(txns)} txns violate {consistency_model}: found "
                          + ", ".join(f"{t} ({counts[t]})" for t in bad)
                          + f"; strongest model satisfied: {sat}.")
        first = anomalies[bad[0]][0]
        out["explanation"] = (
            f"{consistency_model} forbids {', '.join(bad)}. For example, {first['explanation']}"
        )
    return out
