"""Read atomicity and a consistent prefix per origin node, for list-append over a multi-master store.

What a correct multi-master database layer promises when each key is written
through one node only (its *origin*) and replication keeps transactions whole
(seed 004; with revisions, even when a document changed again later): every
node holds, of each origin's writes, a prefix of that origin's commit order.
So any one read snapshot, wherever it is taken, sees of each origin a prefix:
- it never sees part of a transaction (read atomicity: no fractured read);
- it never sees a transaction while missing one its origin committed before.

The origin's commit order is only partly observable. We know T1 committed
before T2 at the same origin when T1's element precedes T2's in a key's list
(version order), when T2 read T1's append (T2's reads happen before its
commit, at the origin), or when T1 was acknowledged before T2 was invoked
(real time on one node). Each transaction gets the earliest bound on its
commit (invoke, or later when something committed before it began) and the
latest (acknowledgement, or earlier when something committed after it was
acknowledged first); T1 is before T2 when a chain of those facts says so.

For each read transaction R and origin o, only two transactions per pair of
keys (ki, kj) of o that R read matter: the first one R missed on ki (the
append right after what R saw, or an acknowledged append no read shows) and
the last one R saw on kj. R violates the prefix when the missed one is the
seen one (fractured) or committed before it (out of order).

Input: Elle's list-append history whose txns name the node that ran them
(the completion's `node`). Keys appended through more than one node are
outside the promise: they are listed and left out, and the verdict is
unknown when nothing else is wrong.
"""

from __future__ import annotations

from typing import Any, Hashable

from unkindness.checkers.cycles.txns import Txn, parse_txns
from unkindness.checkers.cycles.versions import Versions, infer_versions

MAX_LISTED = 20
INF = float("inf")


def _origins(txns: list[Txn]) -> tuple[dict[Hashable, Any], dict[Hashable, list]]:
    """key -> the one node it was appended through; and the keys with several."""
    seen: dict[Hashable, set] = {}
    for t in txns:
        if t.failed:
            continue
        for k in t.appends:
            seen.setdefault(k, set()).add(t.op.node)
    origin = {k: next(iter(ns)) for k, ns in seen.items() if len(ns) == 1 and None not in ns}
    multi = {k: sorted(map(str, ns)) for k, ns in seen.items() if k not in origin}
    return origin, multi


class _Order:
    """What is known of one origin's commit order: edges, reachability, time bounds."""

    def __init__(self, members: list[int]) -> None:
        self.members = members
        self.slot = {t: i for i, t in enumerate(members)}
        self.succ: list[set[int]] = [set() for _ in members]
        self.cycle = False

    def edge(self, a: int, b: int) -> None:
        if a != b:
            self.succ[self.slot[a]].add(self.slot[b])

    def close(self, lb: list[float], ub: list[float]) -> None:
        """Ancestor bitsets and propagated bounds, in a topological order (Kahn)."""
        n = len(self.members)
        indeg = [0] * n
        for s in self.succ:
            for j in s:
                indeg[j] += 1
        order = [i for i in range(n) if indeg[i] == 0]
        for i in order:  # grows while we walk it
            for j in self.succ[i]:
                indeg[j] -= 1
                if indeg[j] == 0:
                    order.append(j)
        if len(order) < n:
            self.cycle = True  # contradictory facts; Elle's cycle search explains them
            order += [i for i in range(n) if indeg[i] > 0]
        self.anc = [0] * n
        self.lb = list(lb)
        for i in order:
            for j in self.succ[i]:
                self.anc[j] |= self.anc[i] | (1 << i)
                if self.lb[i] > self.lb[j]:
                    self.lb[j] = self.lb[i]
        self.ub = list(ub)
        for i in reversed(order):
            for j in self.succ[i]:
                if self.ub[j] < self.ub[i]:
                    self.ub[i] = self.ub[j]

    def before(self, a: int, b: int) -> bool:
        """Did txn a commit at or before txn b (the same one counts)?"""
        i, j = self.slot[a], self.slot[b]
        return i == j or bool(self.anc[j] >> i & 1) or self.ub[i] < self.lb[j]


def _build_orders(txns: list[Txn], v: Versions, origin: dict) -> dict[Any, _Order]:
    by_origin: dict[Any, list[int]] = {}
    for t in txns:
        if t.failed:
            continue
        keys = [k for k in t.appends if k in origin]
        if keys:
            by_origin.setdefault(origin[keys[0]], []).append(t.id)
    orders = {o: _Order(ms) for o, ms in by_origin.items()}
    for key, order in v.order.items():
        o = origin.get(key)
        if o is None:
            continue
        prev = None
        for e in order:
            w = v.live_writer(key, e)
            if w is None or w not in orders[o].slot:
                continue
            if prev is not None:
                orders[o].edge(prev, w)
            prev = w
    for t in txns:  # T read T1's append at their common origin: T1 committed before T loaded
        if t.failed or t.id not in orders.get(t.op.node, _Order([])).slot:
            continue
        for key, read in t.ext_reads.items():
            if origin.get(key) != t.op.node:
                continue
            for e in read:
                w = v.live_writer(key, e)
                if w is not None and w in orders[t.op.node].slot:
                    orders[t.op.node].edge(w, t.id)
    for o, order in orders.items():
        lb = [float(txns[t].op.start) for t in order.members]
        ub = [float(txns[t].op.end) if txns[t].ok and txns[t].op.end is not None else INF for t in order.members]
        order.close(lb, ub)
    return orders


def _missed_candidates(v: Versions, key: Hashable, read: list, reader: int) -> list[tuple[int, Any]]:
    """The first append after `read` in the key's order, and every acknowledged append no read shows."""
    out = []
    nxt = v.next_writer(key, read, reader)
    if nxt is not None:
        out.append(nxt)
    if v.read_everything(key, read) or nxt is None:
        out += [(w, e) for e, w in v.unread.get(key, ()) if w != reader]
    return out


def _last_seen(v: Versions, key: Hashable, read: list) -> tuple[int, Any] | None:
    for e in reversed(read):
        w = v.live_writer(key, e)
        if w is not None:
            return w, e
    return None


def check_origin_prefix(history: list[dict]) -> dict:
    """Valid when every read saw, of each origin node, a prefix of its commit order.

    Result: ``{"valid", "summary", ["explanation"], "violations": [{"kind":
    "fractured" | "out-of-order", "origin", "read": op, "saw": {"key",
    "element", "op"}, "missed": {"key", "element", "op"}, "explanation"}],
    "violation_count", "origins": {node: {"keys", "txns"}},
    "multi_origin_keys": {key: [nodes]}, "reads_checked", "order_cycle_at"}``.
    """
    txns, _ = parse_txns(history)
    v = infer_versions(txns)
    origin, multi = _origins(txns)
    orders = _build_orders(txns, v, origin)
    violations: list[dict] = []
    count = 0
    checked = 0
    not_prefix = {(tid, key) for tid, key, _ in v.incompatible}  # Elle's incompatible-order reports these
    for r in txns:
        if not r.ok:
            continue
        per_origin: dict[Any, list[Hashable]] = {}
        for key in r.ext_reads:
            if key in origin and (r.id, key) not in not_prefix:
                per_origin.setdefault(origin[key], []).append(key)
        for o, keys in per_origin.items():
            if len(keys) < 2 or o not in orders:
                continue
            checked += 1
            order = orders[o]
            seen = {k: _last_seen(v, k, r.ext_reads[k]) for k in keys}
            missed = {k: _missed_candidates(v, k, r.ext_reads[k], r.id) for k in keys}
            found = _first_violation(keys, seen, missed, order, r.id)
            if found is None:
                continue
            count += 1
            if len(violations) < MAX_LISTED:
                violations.append(_describe(found, o, r, txns))
    result: dict[str, Any] = {
        "valid": True,
        "violation_count": count,
        "violations": violations,
        "origins": {str(o): {"keys": sum(1 for k in origin if origin[k] == o), "txns": len(order.members)}
                    for o, order in sorted(orders.items(), key=lambda kv: str(kv[0]))},
        "multi_origin_keys": {str(k): ns for k, ns in list(multi.items())[:MAX_LISTED]},
        "reads_checked": checked,
        "order_cycle_at": sorted(str(o) for o, order in orders.items() if order.cycle),
    }
    if count:
        first = violations[0]
        result["valid"] = False
        kinds = sorted({x["kind"] for x in violations})
        result["summary"] = (f"{count} read(s) saw more than a prefix of an origin's commits "
                             f"({', '.join(kinds)}).")
        result["explanation"] = first["explanation"]
    elif multi:
        result["valid"] = "unknown"
        result["summary"] = (f"No violation among the keys written through one node, but {len(multi)} key(s) "
                             "were written through several nodes, where no prefix is promised (run with "
                             "--client-mode pinned).")
    else:
        result["summary"] = (f"All {checked} multi-key reads saw, of each origin node, a prefix of its commits "
                             f"({len(origin)} keys on {len(orders)} origins).")
    return result


def _first_violation(keys: list, seen: dict, missed: dict, order: _Order, reader: int) -> tuple | None:
    for ki in keys:
        for m, me in missed[ki]:
            if m not in order.slot:
                continue
            for kj in keys:
                if kj == ki or seen[kj] is None:
                    continue
                s, se = seen[kj]
                if s not in order.slot or s == reader:
                    continue
                if order.before(m, s):
                    return ("fractured" if m == s else "out-of-order", ki, m, me, kj, s, se)
    return None


def _describe(found: tuple, o: Any, r: Txn, txns: list[Txn]) -> dict:
    kind, ki, m, me, kj, s, se = found
    if kind == "fractured":
        words = (f"The read (event {r.op.complete_index}) saw element {se!r} that the transaction at event "
                 f"{txns[s].op.invoke_index} appended to key {kj!r}, but not element {me!r} that the same "
                 f"transaction appended to key {ki!r}: it saw half of a transaction committed on {o}. Replication "
                 "must deliver a transaction whole (seed 004: one batch, revisions for documents changed since).")
    else:
        words = (f"The read (event {r.op.complete_index}) saw element {se!r} on key {kj!r} (transaction at event "
                 f"{txns[s].op.invoke_index}) but missed element {me!r} on key {ki!r} (transaction at event "
                 f"{txns[m].op.invoke_index}), which {o} committed earlier: it saw a later commit of {o} without "
                 "an earlier one, which no prefix of that node's commits contains.")
    return {"kind": kind, "origin": o, "read": txns[r.id].describe(),
            "saw": {"key": kj, "element": se, "op": txns[s].describe()},
            "missed": {"key": ki, "element": me, "op": txns[m].describe()}, "explanation": words}
