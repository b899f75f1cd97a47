"""Partition shapes as grudges: for each node, the set of nodes it drops traffic from.

Pure functions of the node list and a seeded random generator, so a fault
schedule is reproducible from the run's seed. A grudge is symmetric unless
it is one-way. Shapes (Jepsen's names where it has them):
- halves: two sides, the larger keeps the majority;
- isolated: one node cut off from everyone;
- majorities-ring: every node sees a majority, but no two see the same one;
- bridge: two halves that share one node, which sees everyone;
- one-way: some nodes stop hearing others, who still hear them;
- leader-isolated: the current Raft leader cut off from everyone;
- primaries: each database's preferred node alone, the rest together.
"""

from __future__ import annotations

import random
from typing import Sequence

Grudge = dict[str, set[str]]
KINDS = ("halves", "isolated", "majorities-ring", "bridge", "one-way", "leader-isolated", "primaries")


def from_components(nodes: Sequence[str], components: Sequence[Sequence[str]]) -> Grudge:
    """Every node drops every node outside its own component."""
    where = {n: i for i, comp in enumerate(components) for n in comp}
    return {n: {m for m in nodes if where.get(m) != where.get(n)} for n in nodes}


def halves(nodes: Sequence[str], rng: random.Random) -> Grudge:
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    cut = len(shuffled) // 2
    return from_components(nodes, [shuffled[:cut], shuffled[cut:]])


def isolated(nodes: Sequence[str], rng: random.Random, node: str | None = None) -> Grudge:
    victim = node if node is not None else rng.choice(list(nodes))
    return from_components(nodes, [[victim], [n for n in nodes if n != victim]])


def majorities_ring(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """In a shuffled ring each node sees its neighbours within distance d, a majority
    window that differs per node. Symmetric windows give a symmetric grudge; with 3
    nodes no such ring exists, and the shape falls back to a bridge."""
    ring = list(nodes)
    rng.shuffle(ring)
    n = len(ring)
    d = (n // 2 + 1) // 2
    if 2 * d + 1 >= n:
        return bridge(nodes, rng)
    grudge: Grudge = {}
    for i, node in enumerate(ring):
        seen = {ring[(i + k) % n] for k in range(-d, d + 1)}
        grudge[node] = set(ring) - seen
    return grudge


def bridge(nodes: Sequence[str], rng: random.Random) -> Grudge:
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    middle = shuffled[len(shuffled) // 2]
    left, right = shuffled[: len(shuffled) // 2], shuffled[len(shuffled) // 2 + 1:]
    grudge = {n: set() for n in nodes}
    for a in left:
        for b in right:
            grudge[a].add(b)
            grudge[b].add(a)
    grudge[middle] = set()
    return grudge


def one_way(nodes: Sequence[str], rng: random.Random) -> Grudge:
    """A random minority stops hearing the rest; the rest still hear them."""
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    deaf = shuffled[: max(1, (len(shuffled) - 1) // 2)]
    return {n: ({m for m in nodes if m not in deaf} if n in deaf else set()) for n in nodes}


def describe(grudge: Grudge) -> str:
    """One line for logs and reports, e.g. 'n1 drops n2,n3; n2 drops n1'."""
    parts = [f"{n} drops {','.join(sorted(g))}" for n, g in sorted(grudge.items()) if g]
    return "; ".join(parts) if parts else "no grudge"


def make(kind: str, nodes: Sequence[str], rng: random.Random, leader: str | None = None,
         primaries: Sequence[str] = ()) -> Grudge:
    """The grudge of one partition kind; `leader-isolated` needs the current leader,
    `primaries` each database's preferred node."""
    if len(nodes) < 2:
        raise ValueError("a partition needs at least 2 nodes")
    if kind == "halves":
        return halves(nodes, rng)
    if kind == "isolated":
        return isolated(nodes, rng)
    if kind == "leader-isolated":
        if leader is None:
            raise ValueError("leader-isolated needs the current leader")
        return isolated(nodes, rng, leader)
    if kind == "primaries":
        alone = [p for p in dict.fromkeys(primaries) if p in nodes]
        if not alone:
            raise ValueError("primaries needs the databases' preferred nodes")
        return from_components(nodes, [[p] for p in alone] + [[n for n in nodes if n not in alone]])
    if kind == "majorities-ring":
        return majorities_ring(nodes, rng)
    if kind == "bridge":
        if len(nodes) < 3:
            raise ValueError("a bridge partition needs at least 3 nodes")
        return bridge(nodes, rng)
    if kind == "one-way":
        return one_way(nodes, rng)
    raise ValueError(f"unknown partition kind {kind!r}; choose from {', '.join(KINDS)}")
