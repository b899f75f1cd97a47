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

from unkindness.checkers.cycles.txns import READ, Txn


@dataclass(slots=True)
class Writer:
    """Who appended an element: the txn and whether it was its last append to the key."""

    txn: int
    final: bool


@dataclass
class Versions:
    writers: dict[Hashable, dict[Any, Writer]] = field(default_factory=dict)
    order: dict[Hashable, list] = field(default_factory=dict)  # key -> version order
    position: dict[Hashable, dict[Any, int]] = field(default_factory=dict)  # key -> element -> index
    order_reader: dict[Hashable, int] = field(default_factory=dict)  # key -> txn whose read is the order
    anomalies: dict[str, list] = field(default_factory=dict)

    def writer(self, key: Hashable, elem: Any) -> Writer | None:
        return self.writers.get(key, {}).get(elem)

    def next_writer(self, txns: list[Txn], key: Hashable, read: list, reader: int) -> tuple[int, Any] | None:
        """The txn that appended the version right after ``read`` (an rw edge's target).

        Skips the reader's own appends (it may append right after reading) and
        appends of failed txns (they never happened; G1a reports them).
        """
        order = self.order.get(key)
        if not order:
            return None
        if read:
            i = self.position[key].get(read[-1])
            if i is None:
                return None
        else:
            i = -1
        for elem in order[i + 1:]:
            w = self.writer(key, elem)
            if w is None or txns[w.txn].failed:
                continue
            if w.txn == reader:
                return None  # the reader wrote the next version itself: no anti-dependency
            return w.txn, elem
        return None


def _note(versions: Versions, kind: str, item: dict) -> None:
    versions.anomalies.setdefault(kind, []).append(item)


def _index_writers(txns: list[Txn], v: Versions) -> None:
    dups: dict[tuple, list[int]] = {}
    for t in txns:
        for key, elems in t.appends.items():
            per_key = v.writers.setdefault(key, {})
            last = len(elems) - 1
            for i, e in enumerate(elems):
                prev = per_key.get(e)
                if prev is None:
                    per_key[e] = Writer(t.id, i == last)
                else:
                    dups.setdefault((key, e), [prev.txn]).append(t.id)
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
    reads: list[tuple[int, Hashable, list]] = []
    for t in txns:
        if not t.ok:
            continue
        for f, key, val in t.mops:
            if f != READ:
                continue
            reads.append((t.id, key, val))
            cur = longest.get(key)
            if cur is None or len(val) > len(cur[1]):
                longest[key] = (t.id, val)
            if len(set(val)) != len(val):
                dups = sorted({e for e in val if val.count(e) > 1}, key=repr)
                _note(v, "duplicate-elements", {
                    "key": key, "read": val, "duplicates": dups, "op": t.describe(),
                    "explanation": f"a read of key {key!r} returned {dups!r} more than once, "
                                   f"but each element was appended once",
                })
    for key, (tid, order) in longest.items():
        v.order[key] = order
        v.order_reader[key] = tid
        pos: dict[Any, int] = {}
        for i, e in enumerate(order):
            pos.setdefault(e, i)
        v.position[key] = pos
    reported: set[tuple] = set()
    for tid, key, val in reads:
        order = v.order[key]
        if len(val) and order[:len(val)] != val:
            sig = (key, tuple(val))
            if sig in reported:
                continue
            reported.add(sig)
            _note(v, "incompatible-order", {
                "key": key, "read": val, "longest_read": order,
                "op": txns[tid].describe(), "longest_op": txns[v.order_reader[key]].describe(),
                "explanation": (
                    f"two reads of key {key!r} disagree on the order of its appends: {_short(val)} is not "
                    f"a prefix of the longest read {_short(order)}, so they cannot both be states of one list"
                ),
            })


def _short(lst: list, n: int = 8) -> str:
    if len(lst) <= n:
        return repr(lst)
    return "[" + ", ".join(repr(e) for e in lst[: n // 2]) + ", ..., " + ", ".join(repr(e) for e in lst[-n // 2:]) + "]"


def infer_versions(txns: list[Txn]) -> Versions:
    v = Versions()
    _index_writers(txns, v)
    _infer_orders(txns, v)
    return v


short_list = _short
