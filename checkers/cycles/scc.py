"""Strongly connected components by Tarjan's algorithm, iteratively.

Iterative because histories of 100k txns make dependency chains far deeper
than Python's recursion limit. Only components of two or more txns are
returned: the graph has no self-edges, so only those can hold a cycle.
"""

from __future__ import annotations

from typing import Iterable

from unkindness.checkers.cycles.graph import TxnGraph


def sccs(g: TxnGraph, mask: int, nodes: Iterable[int] | None = None) -> list[list[int]]:
    """Nontrivial SCCs of the subgraph with edges of kinds in ``mask``, over ``nodes`` (default all)."""
    out = g.out
    if nodes is None:
        order: Iterable[int] = range(len(out))
        member = None
    else:
        order = list(nodes)
        member = set(order)
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    result: list[list[int]] = []
    counter = 0

    def succ(u: int):
        for w, m in out[u].items():
            if m & mask and (member is None or w in member):
                yield w

    for root in order:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, succ(root))]
        while work:
            u, it = work[-1]
            descended = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, succ(w)))
                    descended = True
                    break
                if w in on_stack and index[w] < low[u]:
                    low[u] = index[w]
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[u] < low[parent]:
                    low[parent] = low[u]
            if low[u] == index[u]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == u:
                        break
                if len(comp) > 1:
                    result.append(comp)
    return result
