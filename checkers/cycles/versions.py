"""Infers each key's version order from the reads, as Elle does for list-append.

Appended elements are unique per key, so every element names the txn that
appended it. The longest read of a key is its version order; every other
read must be a prefix of it. What breaks these assumptions (duplicate
appends, duplicate elements in a read, reads that are not prefixes) is
reported here as anomalies, since nothing else can be trusted about that key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

from unkindness.checkers.history import HistoryError
from unkindness.checkers.cycles.txns import READ, Txn


@dataclass
class Versions:
    writers: dict[Hashable, dict[Any, int]] = field(default_factory=dict)  # key -> element -> txn
    intermediate: dict[Hashable, set] = field(default_factory=dict)  # key -> non-final appends of a txn
    dead: set[int] = field(default_factory=set)  # failed txns: their appends never happened
    aborted: dict[Hashable, set] = field(default_factory=dict)  # key -> elements failed txns appended
    order: dict[Hashable, list] = field(default_factory=dict)  # key -> version order
    position: dict[Hashable, dict[Any, int]] = field(default_factory=dict)  # key -> element -> index
    order_reader: dict[Hashable, int] = field(default_factory=dict)  # key -> txn whose read is the order
    incompatible: list[tuple[int, Hashable, list]] = field(default_factory=list)  # (txn, key, read)
    # key -> [(element, txn)]: appends of committed txns that no read shows.
    # A read shows every earlier append, so these came after the whole order.
    unread: dict[Hashable, list[tuple[Any, int]]] = field(default_factory=dict)
    anomalies: dict[str, list] = field(default_factory=dict)

    def writer(self, key: Hashable, elem: Any) -> int | None:
        """The txn that appended ``elem`` to ``key``, whether or not it failed."""
        return self.writers.get(key, {}).get(elem)

    def live_writer(self, key: Hashable, elem: Any) -> int | None:
        """As writer(), but None for appends of failed txns."""
        w = self.writers.get(key, {}).get(elem)
        return None if w is None or w in self.dead else w

    def last_writer(self, key: Hashable) -> int | None:
        """The txn that appended the last live element of the key's version order."""
        order = self.order.get(key, ())
        for j in range(len(order) - 1, -1, -1):
            w = self.live_writer(key, order[j])
            if w is not None:
                return w
        return None

    def read_everything(self, key: Hashable, read: list) -> bool:
        """Whether ``read`` is the key's whole version order (so it precedes every unread append)."""
        order = self.order.get(key, [])
        return len(read) == len(order) and (not read or read[-1] == order[-1])

    def next_writer(self, key: Hashable, read: list, reader: int) -> tuple[int, Any] | None:
        """The txn that appended the version right after ``read`` (an rw edge's target).

        Skips appends of failed txns (they never happened; G1a reports them)
        and of nobody; None when the reader itself wrote the next version.
        """
        order = self.order.get(key)
        if not order:
            return None
        if read:
            i = self.position[key].get(read[-1])
            if i is None:
                return None
            i += 1
        else:
            i = 0
        wk = self.writers.get(key, {})
        dead = self.dead
        for j in range(i, len(order)):
            w = wk.get(order[j])
            if w is None or w in dead:
                continue
            if w == reader:
                return None
            return w, order[j]
        return None


def _note(versions: Versions, kind: str, item: dict) -> None:
    versions.anomalies.setdefault(kind, []).append(item)


def _index_writers(txns: list[Txn], v: Versions) -> None:
    dups: dict[tuple, list[int]] = {}
    for t in txns:
        if t.failed:
            v.dead.add(t.id)
            for key, elems in t.appends.items():
                v.aborted.setdefault(key, set()).update(elems)
        for key, elems in t.appends.items():
            per_key = v.writers.setdefault(key, {})
            for e in elems:
                prev = per_key.get(e)
                if prev is None:
                    per_key[e] = t.id
                else:
                    dups.setdefault((key, e), [prev]).append(t.id)
            if len(elems) > 1:
                v.intermediate.setdefault(key, set()).update(elems[:-1])
    for (key, e), tids in dups.items():
        _note(v, "duplicate-appends", {
            "key": key, "value": e, "ops": [txns[i].describe() for i in tids],
            "explanation": (
                f"{e!r} was appended to key {key!r} {len(tids)} times (by the txns invoked at events "
                f"{', '.join(str(txns[i].op.invoke_index) for i in tids)}); list-append relies on each "
                f"element being appended once per key, so a read of it cannot say whose append it saw"
            ),
        })


def _infer_orders(txns: list[Txn], v: Versions) -> None:
    longest: dict[Hashable, tuple[int, list]] = {}
    for t in txns:
        if not t.ok:
            continue
        for f, key, val in t.mops:
            if f == READ:
                cur = longest.get(key)
                if cur is None or len(val) > len(cur[1]):
                    longest[key] = (t.id, val)
    for key, (tid, order) in longest.items():
        _check_elements(txns[tid], key, order, v)
        v.order[key] = order
        v.order_reader[key] = tid
        pos: dict[Any, int] = {}
        for i, e in enumerate(order):
            pos.setdefault(e, i)
        v.position[key] = pos
    reported: set[tuple] = set()
    for t in txns:
        if not t.ok:
            continue
        for f, key, val in t.mops:
            if f != READ or not val:
                continue
            order = v.order[key]
            n = len(val)
            if order[:n] == val:
                continue
            _check_elements(t, key, val, v)
            v.incompatible.append((t.id, key, val))
            sig = (key, tuple(val))
            if sig in reported:
                continue
            reported.add(sig)
            _note(v, "incompatible-order", {
                "key": key, "read": val, "longest_read": order,
                "op": t.describe(), "longest_op": txns[v.order_reader[key]].describe(),
                "explanation": (
                    f"two reads of key {key!r} disagree on the order of its appends: {_short(val)} is not "
                    f"a prefix of the longest read {_short(order)}, so they cannot both be states of one list"
                ),
            })


def _check_elements(t: Txn, key: Hashable, read: list, v: Versions) -> None:
    """Elements must be hashable scalars, and a read holds each at most once.

    Called for each key's longest read and for reads that are not prefixes of
    it: every other read is a prefix, so this covers all elements read.
    """
    for e in read:
        if isinstance(e, (list, dict)):
            raise HistoryError(
                f"event {t.op.complete_index}: a read of key {key!r} holds {e!r}; elements must be numbers or strings")
    if len(set(read)) == len(read):
        return
    dups = sorted({e for e in read if read.count(e) > 1}, key=repr)
    _note(v, "duplicate-elements", {
        "key": key, "read": read, "duplicates": dups, "op": t.describe(),
        "explanation": f"a read of key {key!r} returned {dups!r} more than once, "
                       f"but each element was appended once",
    })


def _short(lst: list, n: int = 8) -> str:
    if len(lst) <= n:
        return repr(lst)
    return "[" + ", ".join(repr(e) for e in lst[: n // 2]) + ", ..., " + ", ".join(repr(e) for e in lst[-n // 2:]) + "]"


def _find_unread(txns: list[Txn], v: Versions) -> None:
    for key, wk in v.writers.items():
        pos = v.position.get(key, {})
        unread = [(e, w) for e, w in wk.items() if e not in pos and txns[w].ok]
        if unread:
            v.unread[key] = unread


def infer_versions(txns: list[Txn]) -> Versions:
    v = Versions()
    _index_writers(txns, v)
    _infer_orders(txns, v)
    _find_unread(txns, v)
    return v


short_list = _short
