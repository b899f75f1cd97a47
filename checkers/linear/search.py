"""Wing-Gong depth-first search with Lowe's memo, over one partition.

Configurations are (linearized set, model state). The set is an int bitset:
bits ``0..m-1`` are the required ops sorted by completion time, bits
``m..n-1`` the optional (info) ops sorted by invocation. The lowest clear bit
of the set is then the earliest-completing op still to place; an op may go
next only if it was invoked no later than that op completed (otherwise that
op precedes it in real time), which is one precomputed mask per required op.
All required bits set means a linearization exists (optional ops may simply
never have happened).

Two reductions keep the tree small without changing the answer:
- Read-only ops (reads, failed-cas observations) that hold in the current
  state are placed at once, without branching. Placing such an op earlier
  never hurts: it changes no state, and every op still pending completes after
  it could start, so no real-time edge is broken (the proof is in the tests'
  oracle comparisons).
- Optional ops with the same effect are interchangeable, so they are only
  placed in invocation order (the later twin waits for the earlier one).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from unkindness.checkers.models.base import Step

BEST_STATES_CAP = 16


class OutOfBudget(Exception):
    """Raised by a budget check; carries the reason in words."""


@dataclass
class Outcome:
    """What one search found: valid True/False, or stopped by the budget."""

    valid: bool | str
    explored: int
    order: list[Step]  # the steps in bit order (required by end, then optional by start)
    required: int  # m
    best_j: int  # the earliest-completing required op no explored order got past
    best_path: list[int]  # branch choices (bits) leading to a best configuration
    best_states: list[Any] = field(default_factory=list)
    reason: str | None = None
    witness: list[int] | None = None  # branch choices of a full linearization when valid


class Search:
    """One partition's search; ``run`` explores, ``replay`` rebuilds a path."""

    def __init__(self, steps: list[Step], fns: list[Callable], init: Any) -> None:
        req = sorted((i for i in range(len(steps)) if steps[i].required),
                     key=lambda i: (steps[i].end, steps[i].start))
        opt = sorted((i for i in range(len(steps)) if not steps[i].required), key=lambda i: steps[i].start)
        idx = req + opt
        self.order = [steps[i] for i in idx]
        self.fns = [fns[i] for i in idx]
        self.m = len(req)
        self.n = len(idx)
        self.init = init
        n = self.n
        by_start = sorted(range(n), key=lambda b: self.order[b].start)
        self.masks: list[int] = []
        acc, p = 0, 0
        for j in range(self.m):
            end = self.order[j].end
            while p < n and self.order[by_start[p]].start <= end:
                acc |= 1 << by_start[p]
                p += 1
            self.masks.append(acc)
        self.ro_mask = 0
        for b, s in enumerate(self.order):
            if s.read_only:
                self.ro_mask |= 1 << b
        self.eff_mask = ((1 << n) - 1) & ~self.ro_mask
        self.twin_prev = [0] * n
        last: dict = {}
        for b in range(self.m, n):
            sig = self.order[b].signature
            if sig in last:
                self.twin_prev[b] = 1 << last[sig]
            last[sig] = b

    def settle(self, S: int, state: Any, record: list[int] | None = None) -> tuple[int, int, int]:
        """Places every read-only op that holds; returns (set, lowest pending, branch candidates)."""
        masks, ro_mask, F, m = self.masks, self.ro_mask, self.fns, self.m
        tried = refine = 0
        while True:
            j = (~S & (S + 1)).bit_length() - 1
            if j >= m:
                return S, j, 0
            en = masks[j] & ~S
            ro = en & ro_mask & ~tried
            if ro:
                tried |= ro
                grew = False
                while ro:
                    b = ro & -ro
                    ro ^= b
                    r = F[b.bit_length() - 1](state)
                    if r is None:
                        continue
                    if r is state or r == state:
                        S |= b
                        grew = True
                        if record is not None:
                            record.append(b.bit_length() - 1)
                    else:
                        refine |= b
                if grew:
                    continue
            return S, j, (en & self.eff_mask) | (refine & ~S)

    def run(self, tick: Callable[[int, int, Any], None]) -> Outcome:
        """Explores until a linearization is found or every configuration is seen.

        ``tick(explored, bitset, state)`` is called every 1024 steps and may raise
        OutOfBudget; the outcome then says "unknown" with what was explored.
        """
        m, F, twin_prev, settle = self.m, self.fns, self.twin_prev, self.settle
        out = Outcome(True, 0, self.order, m, -1, [])
        S, j, cand = settle(0, self.init)
        if j >= m:
            out.witness = []
            return out
        out.best_j, out.best_states = j, [self.init]
        visited: set = set()
        memo: dict = {}
        dominance = self.n > m  # only optional (info) ops can make one configuration dominate another
        req_all = (1 << m) - 1
        explored = 0
        stack: list[list] = [[S, self.init, cand]]
        path: list[int] = []
        best_j, best_states = j, out.best_states
        it = 0
        try:
            while stack:
                it += 1
                if not it & 1023:
                    tick(explored, stack[-1][0], stack[-1][1])
                fr = stack[-1]
                cand = fr[2]
                if not cand:
                    stack.pop()
                    if path:
                        path.pop()
                    continue
                b = cand & -cand
                fr[2] = cand ^ b
                i = b.bit_length() - 1
                S = fr[0]
                tp = twin_prev[i]
                if tp and not S & tp:
                    continue
                r = F[i](fr[1])
                if r is None:
                    continue
                S |= b
                if dominance:
                    # Same required ops and state, fewer optional ops placed: that
                    # configuration can do all this one can, so this one is redundant.
                    key = (S & req_all, r)
                    o = S >> m
                    seen = memo.get(key)
                    if seen is None:
                        memo[key] = [o]
                    else:
                        for x in seen:
                            if not x & ~o:
                                break
                        else:
                            seen.append(o)
                            x = None
                        if x is not None:
                            continue
                    explored += 1
                else:
                    key = (S, r)
                    if key in visited:
                        continue
                    visited.add(key)
                    explored += 1
                S, j, cand = settle(S, r)
                if j >= m:
                    out.witness = path + [i]
                    out.explored = explored
                    return out
                if j > best_j:
                    best_j, best_states = j, [r]
                    out.best_j, out.best_path, out.best_states = j, path + [i], best_states
                elif j == best_j and len(best_states) < BEST_STATES_CAP and r not in best_states:
                    best_states.append(r)
                if cand:
                    stack.append([S, r, cand])
                    path.append(i)
        except OutOfBudget as e:
            out.valid, out.reason = "unknown", str(e)
            out.explored = explored
            return out
        out.valid = False
        out.explored = explored
        return out

    def replay(self, branches: list[int]) -> list[tuple[int, Any]]:
        """The full order (bits, with the state after each) that a branch path denotes."""
        seq: list[tuple[int, Any]] = []
        state = self.init
        S = 0
        for i in [None] + list(branches):
            if i is not None:
                state = self.fns[i](state)
                S |= 1 << i
                seq.append((i, state))
            rec: list[int] = []
            S, _, _ = self.settle(S, state, rec)
            seq.extend((b, state) for b in rec)
        return seq


def entry_bytes(bitset: int, state: Any) -> int:
    """A rough size of one memo entry: set slot, the pair, the bitset, the state."""
    return 64 + 56 + sys.getsizeof(bitset) + sys.getsizeof(state)
