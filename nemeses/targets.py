"""Jepsen's node specs: which nodes one fault hits.

    one            one random node
    minority       a random minority: majority - 1 nodes (2 of 5)
    majority       a random majority (3 of 5)
    minority-third up to but excluding a third (1 of 5; none of 3)
    all            every node
    leader         the current Raft leader
    primaries      each database's preferred node
    n1+n3          exactly these nodes

A nemesis takes a list of specs (`--kill-targets one,majority`) and draws one
per fault from the run's seeded generator, as jepsen.nemesis.combined does.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

SPECS = ("one", "minority", "majority", "minority-third", "all", "leader", "primaries")


class TargetError(ValueError):
    """A node spec that names nothing this cluster has."""


def majority(n: int) -> int:
    return n // 2 + 1


def validate(specs: Sequence[str], names: Sequence[str]) -> None:
    """Refuses unknown specs and explicit nodes the cluster does not have."""
    for spec in specs:
        if spec in SPECS:
            continue
        wanted = [s for s in spec.split("+") if s]
        unknown = [s for s in wanted if s not in names]
        if not wanted or unknown:
            raise TargetError(f"unknown node spec {spec!r}; choose from {', '.join(SPECS)}, or nodes joined "
                              f"with + (this cluster has {', '.join(names)})")


def pick(spec: str, names: Sequence[str], rng: random.Random,
         leader: Callable[[], str | None] = lambda: None,
         primaries: Callable[[], list[str]] = lambda: []) -> list[str]:
    """The nodes one spec hits now (sorted); empty when it names nobody (no leader, 3 nodes' third)."""
    pool = list(names)
    n = len(pool)
    if spec == "one":
        chosen = rng.sample(pool, 1)
    elif spec == "minority":
        chosen = rng.sample(pool, majority(n) - 1)
    elif spec == "majority":
        chosen = rng.sample(pool, majority(n))
    elif spec == "minority-third":
        chosen = rng.sample(pool, max(0, -(-n // 3) - 1))
    elif spec == "all":
        chosen = pool
    elif spec == "leader":
        who = leader()
        chosen = [who] if who in pool else []
    elif spec == "primaries":
        chosen = [p for p in dict.fromkeys(primaries()) if p in pool]
    else:
        chosen = [s for s in spec.split("+") if s in pool]
    return sorted(chosen, key=lambda s: (len(s), s))
