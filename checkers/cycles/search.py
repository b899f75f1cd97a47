"""Finds short dependency cycles of each anomaly type, with bounded work.

First the SCCs of the whole graph: a valid history usually has none, and then
nothing else runs. Inside each SCC, each anomaly type is a breadth-first
search over (txn, state) pairs, where the small state counts what the path has
used so far (a wr edge? how many rw edges? a process or real-time edge?), so
that e.g. "exactly one rw edge" or "at least two" can be asked for directly.
Each search starts from an edge of the kind the type cannot do without, which
makes the first cycle found through it a shortest one. Work is capped per
search and overall; when a cap stops a search, a plain search still finds some
cycle in every SCC that has one, so cycles are never missed, only perhaps
named less precisely (the result says where that happened).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from unkindness.checkers.cycles.graph import ALL, DATA, KINDS, PROCESS, REALTIME, RW, WR, WW, TxnGraph
from unkindness.checkers.cycles.scc import sccs

Cycle = list[tuple[int, int, int]]  # (from txn, to txn, kind) steps, closing at the start

# State bits: wr seen (bit 0), rw count capped at 2 (bits 1-2), process (bit 3),
# realtime (bit 4), last step was rw (bit 5).
_NSTATES = 64


def _wr(s: int) -> int: return s & 1
def _rw(s: int) -> int: return (s >> 1) & 3
def _proc(s: int) -> int: return (s >> 3) & 1
def _rt(s: int) -> int: return (s >> 4) & 1
def _last_rw(s: int) -> int: return (s >> 5) & 1


def _after(s: int, kind: int) -> int:
    s &= ~32
    if kind == WR:
        return s | 1
    if kind == RW:
        return (s & ~6) | (min(_rw(s) + 1, 2) << 1) | 32
    if kind == PROCESS:
        return s | 8
    if kind == REALTIME:
        return s | 16
    return s


# Severity order within a variant, as Elle searches. G-nonadjacent: two or
# more rw edges, no two in a row; snapshot isolation forbids it, unlike the
# rest of G2-item.
BASES = ("G0", "G1c", "G-single", "G-nonadjacent", "G2-item")
VARIANTS = ("", "-process", "-realtime")


@dataclass(frozen=True)
class CycleType:
    name: str
    allowed: int  # edge kinds a cycle of this type may use
    special: int  # the kind every such cycle has: searches start from one
    max_rw: int
    base: str
    variant: str
    nonadjacent: bool

    def accepts(self, s: int) -> bool:
        base_ok = {
            "G0": _wr(s) == 0 and _rw(s) == 0,
            "G1c": _wr(s) == 1 and _rw(s) == 0,
            "G-single": _rw(s) == 1,
            # the closing step is the start edge: rw in the plain variant
            "G-nonadjacent": _rw(s) == 2 and (self.variant != "" or not _last_rw(s)),
            "G2-item": _rw(s) == 2,
        }[self.base]
        var_ok = {
            "": _proc(s) == 0 and _rt(s) == 0,
            "-process": _proc(s) == 1 and _rt(s) == 0,
            "-realtime": _rt(s) == 1,
        }[self.variant]
        return base_ok and var_ok


def _make_types() -> list[CycleType]:
    base_allowed = {"G0": WW, "G1c": WW | WR, "G-single": DATA, "G-nonadjacent": DATA, "G2-item": DATA}
    base_special = {"G0": WW, "G1c": WR, "G-single": RW, "G-nonadjacent": RW, "G2-item": RW}
    out = []
    for variant in VARIANTS:  # severity order, as Elle searches
        for base in BASES:
            extra = {"": 0, "-process": PROCESS, "-realtime": PROCESS | REALTIME}[variant]
            special = {"": base_special[base], "-process": PROCESS, "-realtime": REALTIME}[variant]
            out.append(CycleType(base + variant, base_allowed[base] | extra, special,
                                 1 if base == "G-single" else 2, base, variant, base == "G-nonadjacent"))
    return out


CYCLE_TYPES = _make_types()
CYCLE_TYPE_NAMES = [t.name for t in CYCLE_TYPES]


def classify(cycle: Cycle) -> str:
    """The anomaly type of a cycle, from the kinds of its steps."""
    kinds = [k for _, _, k in cycle]
    rw = kinds.count(RW)
    n = len(kinds)
    if rw >= 2:
        adjacent = any(kinds[i] == RW and kinds[(i + 1) % n] == RW for i in range(n))
        base = "G2-item" if adjacent else "G-nonadjacent"
    elif rw == 1:
        base = "G-single"
    elif WR in kinds:
        base = "G1c"
    else:
        base = "G0"
    if REALTIME in kinds:
        return base + "-realtime"
    if PROCESS in kinds:
        return base + "-process"
    return base


def _transitions(t: CycleType | None, allowed: int) -> list[list[int]]:
    table = []
    for s in range(_NSTATES):
        row = []
        for k in KINDS:
            if not k & allowed:
                row.append(-1)
                continue
            ns = _after(s, k)
            if t is not None and (_rw(ns) > t.max_rw or (t.nonadjacent and k == RW and _last_rw(s))):
                row.append(-1)
            else:
                row.append(ns)
        table.append(row)
    return table


def _simple(path: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cuts loops out of a walk [(node, kind-into-node)], keeping its ends."""
    out: list[tuple[int, int]] = []
    pos: dict[int, int] = {}
    for node, kind in path:
        if node in pos:
            cut = pos[node]
            for n, _ in out[cut + 1:]:
                pos.pop(n, None)
            del out[cut + 1:]
            continue
        pos[node] = len(out)
        out.append((node, kind))
    return out


@dataclass
class Budget:
    per_search: int
    total: int
    used: int = 0

    def left(self) -> int:
        return min(self.per_search, self.total - self.used)


def _bfs(g: TxnGraph, member: set[int], table: list[list[int]], allowed: int, accept,
         u: int, v: int, s0: int, budget: Budget, limit: int) -> tuple[Cycle | None, bool]:
    """Shortest walk v -> ... -> u whose final state is accepted; returns (cycle, ran out)."""
    out = g.out
    start = v * _NSTATES + s0
    parent: dict[int, int] = {start: -1}
    via: dict[int, int] = {}
    queue = deque([start])
    visits = 0
    kinds = list(enumerate(KINDS))
    while queue:
        cur = queue.popleft()
        visits += 1
        if visits > limit:
            budget.used += visits
            return None, True
        node, st = divmod(cur, _NSTATES)
        if node == u:
            if accept(st):
                budget.used += visits
                walk = []
                c = cur
                while c != -1:
                    walk.append((c // _NSTATES, via.get(c, 0)))
                    c = parent[c]
                walk.reverse()
                walk = _simple(walk)
                cycle = [(u, v, 0)]
                for (a, _), (b, k) in zip(walk, walk[1:]):
                    cycle.append((a, b, k))
                return cycle, False
            continue  # never pass through the target: keeps cycles simple
        row = table[st]
        for w, m in out[node].items():
            m &= allowed
            if not m or w not in member:
                continue
            for i, k in kinds:
                if m & k:
                    ns = row[i]
                    if ns < 0:
                        continue
                    key = w * _NSTATES + ns
                    if key not in parent:
                        parent[key] = cur
                        via[key] = k
                        queue.append(key)
    budget.used += visits
    return None, False


@dataclass
class SearchResult:
    cycles: dict[str, list[Cycle]] = field(default_factory=dict)
    truncated: set[str] = field(default_factory=set)  # types whose search hit a work cap
    scc_count: int = 0
    largest_scc: int = 0


def _record(res: SearchResult, seen: set, cycle: Cycle, cap: int) -> bool:
    name = classify(cycle)
    # One report per set of txns: the first, most severe, naming wins.
    sig = frozenset(a for a, _, _ in cycle)
    if sig in seen or len(res.cycles.get(name, ())) >= cap:
        return False
    seen.add(sig)
    res.cycles.setdefault(name, []).append(cycle)
    return True


def _special_edges(g: TxnGraph, comp: list[int], member: set[int], kind: int):
    for a in comp:
        for b, m in g.out[a].items():
            if m & kind and b in member:
                yield a, b


def _search_type(g: TxnGraph, t: CycleType, comps: list[list[int]], res: SearchResult,
                 seen: set, cap: int, budget: Budget) -> None:
    table = _transitions(t, t.allowed)
    for comp in comps:
        member = set(comp)
        limit = budget.left()
        covered: set[tuple[int, int]] = set()
        for a, b in _special_edges(g, comp, member, t.special):
            if len(res.cycles.get(t.name, ())) >= cap:
                return
            if limit <= 0:
                res.truncated.add(t.name)
                return
            if (a, b) in covered:
                continue
            s0 = table[0][KINDS.index(t.special)]
            before = budget.used
            cycle, ran_out = _bfs(g, member, table, t.allowed, t.accepts, a, b, s0, budget, limit)
            limit -= budget.used - before
            if ran_out:
                res.truncated.add(t.name)
                break
            if cycle is not None:
                cycle[0] = (a, b, t.special)
                if _record(res, seen, cycle, cap):
                    covered.update((x, y) for x, y, _ in cycle)


def _fallback(g: TxnGraph, comp: list[int], mask: int, special: int, res: SearchResult,
              seen: set, cap: int) -> bool:
    """Any cycle through a ``special`` edge of ``comp``: in an SCC a plain BFS always finds one."""
    member = set(comp)
    table = _transitions(None, mask)
    room = len(member) * _NSTATES + 1
    for a, b in _special_edges(g, comp, member, special):
        s0 = table[0][KINDS.index(special)]
        cycle, _ = _bfs(g, member, table, mask, lambda s: True, a, b, s0, Budget(room, room), room)
        if cycle is not None:
            cycle[0] = (a, b, special)
            _record(res, seen, cycle, cap)
            return True
    return False


def _kinds_of(cycle: Cycle) -> int:
    m = 0
    for _, _, k in cycle:
        m |= k
    return m


# Subgraphs whose cycles some model forbids outright, with the edge kind that
# distinguishes each from the one before. Every one that has a cycle must end
# up with at least one reported cycle inside it, whatever the caps did.
_LEVELS = ((WW, WW), (WW | WR, WR), (DATA, RW), (DATA | PROCESS, PROCESS), (ALL, REALTIME))


def search_cycles(g: TxnGraph, max_per_type: int = 10, per_search: int = 200_000,
                  total: int = 5_000_000) -> SearchResult:
    res = SearchResult()
    top = sccs(g, ALL)
    res.scc_count = len(top)
    res.largest_scc = max((len(c) for c in top), default=0)
    budget = Budget(per_search, total)
    seen: set = set()
    cache: dict[tuple[int, int], list[list[int]]] = {}

    def subs(i: int, mask: int) -> list[list[int]]:
        if (i, mask) not in cache:
            cache[(i, mask)] = [top[i]] if mask == ALL else sccs(g, mask, top[i])
        return cache[(i, mask)]

    for i in range(len(top)):
        for t in CYCLE_TYPES:
            comps = subs(i, t.allowed)
            if comps:
                _search_type(g, t, comps, res, seen, max_per_type, budget)
    for mask, special in _LEVELS:
        if any(_kinds_of(c) & ~mask == 0 for cs in res.cycles.values() for c in cs):
            continue
        done = False
        for i in range(len(top)):
            for sub in subs(i, mask):
                if _fallback(g, sub, mask, special, res, seen, max_per_type):
                    done = True
                    break
            if done:
                break
    for cycles in res.cycles.values():
        cycles.sort(key=len)  # each is shortest through its start edge; show the shortest first
    return res
