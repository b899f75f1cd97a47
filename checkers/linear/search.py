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
- When the op due first is the only one that can go next, it is placed at
  once too: there is no choice to remember, so no stack frame or memo entry.

And one pruning, for models whose state only grows between resets (``Reach``,
e.g. kv appends): a configuration is dropped when the earliest-completing read
still to place saw a value its state can no longer grow into, and no op that
may come before that read resets the state.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from unkindness.checkers.models.base import Reach, Step

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

    def __init__(self, steps: list[Step], fns: list[Callable], init: Any, reach: Reach | None = None) -> None:
        starts = [s.start for s in steps]
        ends = [s.end for s in steps]
        # Sorts are stable and steps come in invocation order, so ties keep it.
        req = [k for k, s in enumerate(steps) if s.required]
        req.sort(key=starts.__getitem__)
        req.sort(key=ends.__getitem__)
        self.m = m = len(req)
        if m < len(steps):
            opt = [k for k, s in enumerate(steps) if not s.required]
            opt.sort(key=starts.__getitem__)
            req += opt
        self.order = order = [steps[k] for k in req]
        self.fns = [fns[k] for k in req]
        self.n = n = len(req)
        self.init = init
        self.force = n == m  # forced moves (settle); with optional ops the memo is by dominance, so run decides
        # Op j's mask: every op invoked no later than j completed. Required ops are
        # in completion order, so the masks only grow: one sweep over the ops in
        # invocation order fills them all.
        bit_of = [0] * n
        for b, k in enumerate(req):
            bit_of[k] = b
        by_start = sorted(range(n), key=starts.__getitem__)
        self.masks = masks = []
        p = acc = 0
        for k in req[:m]:
            e = ends[k]
            while p < n and starts[by_start[p]] <= e:
                acc |= 1 << bit_of[by_start[p]]
                p += 1
            masks.append(acc)
        self.twin_prev = [0] * n
        last: dict = {}
        for b in range(m, n):
            sig = order[b].signature
            if sig in last:
                self.twin_prev[b] = 1 << last[sig]
            last[sig] = b
        # Read-only ops, and for Reach pruning (models.base.Reach) the required
        # reads, what they saw, and the steps that reset the state.
        ro = reads = resets = 0
        self.seen: list[Any] = [None] * n
        read, resetting = (reach.read_kind, reach.reset_kinds) if reach is not None else (None, ())
        for b, s in enumerate(order):
            if s.read_only:
                ro |= 1 << b
                if s.kind == read and b < m:
                    reads |= 1 << b
                    self.seen[b] = s.args[0]
            elif s.kind in resetting:
                resets |= 1 << b
        self.ro_mask, self.reads, self.resets = ro, reads, resets
        self.eff_mask = ((1 << n) - 1) & ~ro
        self.possible: Callable[[Any, Any], bool] | None = reach.possible if reads else None

    def settle(self, S: int, state: Any, record: list | None = None,
               visited: set | None = None) -> tuple[int, Any, int, int]:
        """Places every op whose place is forced; returns (set, state, lowest pending, candidates).

        Forced: a read-only op that holds (see the module docstring), and, when
        the partition has no optional ops, the op due first when it is the only
        one able to go next (no choice, so no stack frame; it still goes into
        ``visited``, and one seen before ends the path, so ``run`` counts
        them with the rest of ``visited``). ``record`` receives (bit, state after) for every op placed here.
        """
        masks, ro_mask, eff_mask, F, m, force = self.masks, self.ro_mask, self.eff_mask, self.fns, self.m, self.force
        tried = refine = 0
        while True:
            j = (~S & (S + 1)).bit_length() - 1
            if j >= m:
                return S, state, j, 0
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
                            record.append((b.bit_length() - 1, state))
                    else:
                        refine |= b
                if grew:
                    continue
            cand = (en & eff_mask) | (refine & ~S)
            if not force or cand & (cand - 1):
                return S, state, j, cand
            if cand == 1 << j:  # the op due first is the only one that can go next
                r = F[j](state)
                if r is not None:
                    if visited is not None:
                        key = (S | cand, r)
                        if key in visited:
                            return S, state, j, 0
                        visited.add(key)
                    S |= cand
                    state = r
                    tried = refine = 0
                    if record is not None:
                        record.append((j, r))
                    continue
                cand = 0
            return S, state, j, cand

    def run(self, tick: Callable[[int, int, Any], None]) -> Outcome:
        """Explores until a linearization is found or every configuration is seen.

        ``tick(explored, bitset, state)`` is called every 1024 steps and may raise
        OutOfBudget; the outcome then says "unknown" with what was explored.
        """
        m, F, twin_prev, settle = self.m, self.fns, self.twin_prev, self.settle
        masks, reads, resets, observed, possible = self.masks, self.reads, self.resets, self.seen, self.possible
        out = Outcome(True, 0, self.order, m, -1, [])
        visited: set = set()
        explored = 0  # memo entries by dominance; without dominance every configuration is in `visited`
        S, state, j, cand = settle(0, self.init, None, visited)
        if j >= m:
            out.witness = []
            out.explored = len(visited)
            return out
        out.best_j, out.best_states = j, [state]
        memo: dict = {}
        dominance = self.n > m  # only optional (info) ops can make one configuration dominate another
        req_all = (1 << m) - 1
        stack: list[list] = [[S, state, cand]]
        path: list[int] = []
        best_j, best_states = j, out.best_states
        it = 0
        try:
            while stack:
                it += 1
                if not it & 1023:
                    tick(explored + len(visited), stack[-1][0], stack[-1][1])
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
                S, r, j, cand = settle(S, r, None, visited)
                if j >= m:
                    out.witness = path + [i]
                    out.explored = explored + len(visited)
                    return out
                if j > best_j:
                    best_j, best_states = j, [r]
                    out.best_j, out.best_path, out.best_states = j, path + [i], best_states
                elif j == best_j and len(best_states) < BEST_STATES_CAP and r not in best_states:
                    best_states.append(r)
                if cand and possible is not None:
                    # The earliest-completing read still to place comes before every op
                    # invoked after it completed; if none of those before it resets the
                    # state, the state must still be able to grow into what it saw.
                    x = ~S & reads
                    if x:
                        g = (x & -x).bit_length() - 1
                        if not masks[g] & ~S & resets and not possible(r, observed[g]):
                            cand = 0
                if cand:
                    stack.append([S, r, cand])
                    path.append(i)
        except OutOfBudget as e:
            out.valid, out.reason = "unknown", str(e)
            out.explored = explored + len(visited)
            return out
        out.valid = False
        out.explored = explored + len(visited)
        return out

    def replay(self, branches: list[int]) -> list[tuple[int, Any]]:
        """The full order (bits, with the state after each) that a branch path denotes."""
        seq: list[tuple[int, Any]] = []
        S, state, _, _ = self.settle(0, self.init, seq)
        for i in branches:
            state = self.fns[i](state)
            S |= 1 << i
            seq.append((i, state))
            S, state, _, _ = self.settle(S, state, seq)
        return seq


def entry_bytes(bitset: int, state: Any) -> int:
    """A rough size of one memo entry: set slot, the pair, the bitset, the state."""
    return 64 + 56 + sys.getsizeof(bitset) + sys.getsizeof(state)
