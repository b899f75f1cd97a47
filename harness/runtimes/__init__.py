"""Where nodes live: network namespaces (netns), containers (docker), machines (ssh), or plain
processes on loopback addresses of this machine (local: no root, no partitions).

The registry: name -> module. Each module defines `RUNTIME`, a class with a
`name`, an `Options` dataclass (its CLI flags and test.json fields), and
`setup()` / `teardown()` / `nodes`; and `clean_entries(entries)` (remove what
a run's journal names) and `orphans(live_run_ids)` (remove what is
recognisably ours with no journal). Every runtime gives each node the same
interface (runtimes/base.py), so nemeses work on every runtime or are refused
up front with a clear message.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from unkindness.harness.runtimes.base import RuntimeError_

REGISTRY = {
    "netns": "netns",
    "docker": "docker",
    "ssh": "ssh",
    "local": "local",
}


def names() -> list[str]:
    return list(REGISTRY)


def module(name: str) -> ModuleType:
    if name not in REGISTRY:
        raise RuntimeError_(f"unknown runtime {name!r}; choose from {', '.join(names())}")
    return importlib.import_module(f"unkindness.harness.runtimes.{REGISTRY[name]}")


def get(name: str) -> type:
    return module(name).RUNTIME


def clean_entries(entries: list[dict]) -> list[str]:
    """Removes what one run's journal names, whichever runtime made it."""
    removed: list[str] = []
    for name in names():
        removed += module(name).clean_entries(entries)
    return removed


def orphans(live_run_ids: set[str]) -> list[str]:
    """Removes, in every runtime, what is ours and belongs to no live run (its journal lost)."""
    removed: list[str] = []
    for name in names():
        removed += module(name).orphans(live_run_ids)
    return removed
