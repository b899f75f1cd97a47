"""One module per workload: its client operations, its op source and the checkers it composes.

`get(name)` returns the workload class; `checkers_for(name)` the checkers a
stored run of that workload is re-checked with (used by `harness check`).
"""

from __future__ import annotations

import importlib

WORKLOADS = {"bank": "bank", "set": "set_workload", "register": "register"}
# Workloads whose checkers are known before their client code exists here.
_PLANNED = {"engineer-pool": (["linearizable", "stats"], "cmpxchg"),
            "cart": (["convergence", "cart", "stats"], None),
            "list-append": (["list-append", "stats"], None)}


def names() -> list[str]:
    return sorted(WORKLOADS)


def get(name: str):
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}; choose from {', '.join(names())}")
    return importlib.import_module(f"unkindness.workloads.{WORKLOADS[name]}").WORKLOAD


def checkers_for(name: str) -> tuple[list[str], str | None] | None:
    """(checker names, linearizability model) for a workload, or None if unknown."""
    if name in WORKLOADS:
        w = get(name)
        return list(w.CHECKERS), getattr(w, "MODEL", None)
    return _PLANNED.get(name)


def note_for(test: dict, result: dict) -> str | None:
    """Words for a verdict that is the documented behaviour of this configuration, if any."""
    name = str(test.get("workload"))
    if name not in WORKLOADS:
        return None
    note = getattr(get(name), "expected_note", None)
    return note(test, result) if note else None
