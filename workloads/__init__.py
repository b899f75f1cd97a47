"""The workload registry: name -> module. Adding a workload is one module plus one line here.

Each module defines `WORKLOAD`, a `workloads.base.Workload` subclass with
its `Options`; `harness test` builds its flags from them, and `harness
check` re-checks a stored run from its test.json alone (`checks_for`).
"""

from __future__ import annotations

import importlib
from typing import Any

from unkindness.workloads.base import Check, Workload, WorkloadError

REGISTRY = {
    "bank": "bank",
    "set": "set_workload",
    "register": "register",
    "cart": "cart",
    "list-append": "list_append",
    "engineer-pool": "engineer_pool",
}


def names() -> list[str]:
    return sorted(REGISTRY)


def get(name: str) -> type[Workload]:
    if name not in REGISTRY:
        raise WorkloadError(f"unknown workload {name!r}; choose from {', '.join(names())}")
    return importlib.import_module(f"unkindness.workloads.{REGISTRY[name]}").WORKLOAD


def all_workloads() -> list[type[Workload]]:
    return [get(n) for n in names()]


def options_from_test(cls: type[Workload], test: dict[str, Any]) -> Any:
    """The workload's options as a stored run recorded them (defaults for what it lacks)."""
    from unkindness.harness.options import from_json

    return from_json(cls.Options, test.get("workload_options"), cls.name)


def checks_for(test: dict[str, Any]) -> list[Check] | None:
    """The checks a stored run of a known workload is re-checked with, or None."""
    name = str(test.get("workload"))
    if name not in REGISTRY:
        return None
    cls = get(name)
    return cls.checks(options_from_test(cls, test), test)


def note_for(test: dict[str, Any], result: dict[str, Any]) -> str | None:
    """Words for a verdict that is the documented behaviour of this configuration, if any."""
    name = str(test.get("workload"))
    if name not in REGISTRY:
        return None
    cls = get(name)
    return cls.note(options_from_test(cls, test), test, result)
