"""Turns a list-append history into transactions the rest of the package reasons about.

A transaction's micro-ops ("mops") are ``[f, key, value]`` with ``f`` either
``"append"`` (value: the appended element) or ``"r"`` (value: the list read,
``None`` in the invoke; the completion carries it). Parsing lives here so the
other modules can assume well-formed data, and bad input fails once, with a
message naming the event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable

from unkindness.checkers.history import HistoryError, Op, pair

APPEND = "append"
READ = "r"
TXN_F = "txn"


@dataclass(slots=True)
class Txn:
    """One transaction: a paired op plus what it appended and read."""

    id: int  # dense, 0..n-1, in invocation order
    op: Op
    mops: list[tuple[str, Hashable, Any]]
    # key -> the elements this txn appended to it, in order
    appends: dict[Hashable, list] = field(default_factory=dict)
    # key -> what the txn saw of other txns' appends: its first read of the
    # key, minus its own earlier appends (None when it never read the key)
    ext_reads: dict[Hashable, list] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.op.type

    @property
    def ok(self) -> bool:
        return self.op.type == "ok"

    @property
    def failed(self) -> bool:
        return self.op.type == "fail"

    def describe(self) -> dict:
        """The op as a JSON-ready dict, for evidence and drawings."""
        d = {
            "process": self.op.process,
            "type": self.op.type,
            "index": self.op.invoke_index,
            "complete_index": self.op.complete_index,
            "value": [list(m) for m in self.mops],
        }
        if self.op.node is not None:
            d["node"] = self.op.node
        return d


def _key_ok(k: Any) -> bool:
    return isinstance(k, (str, int)) and not isinstance(k, bool)


def _elem_ok(v: Any) -> bool:
    return isinstance(v, (str, int, float)) and not isinstance(v, bool)


def _parse_mops(op: Op, nil_read_empty: bool = False) -> list[tuple[str, Hashable, Any]]:
    where = f"event {op.complete_index if op.complete_index is not None else op.invoke_index}"
    value = op.value if op.ok else op.invoke_value
    if op.ok and op.value is None:
        raise HistoryError(f"{where}: an ok txn must carry its micro-ops (with read results) as its value")
    if not isinstance(value, list):
        raise HistoryError(f"{where}: a txn's value must be a list of [f, key, value] micro-ops, got {value!r}")
    inv = op.invoke_value
    if op.ok and isinstance(inv, list) and len(inv) != len(value):
        raise HistoryError(
            f"{where}: the completion has {len(value)} micro-ops but its invoke "
            f"(event {op.invoke_index}) had {len(inv)}"
        )
    mops: list[tuple[str, Hashable, Any]] = []
    for i, m in enumerate(value):
        if not isinstance(m, (list, tuple)) or len(m) != 3:
            raise HistoryError(f"{where}: micro-op {i} must be [f, key, value], got {m!r}")
        f, k, v = m
        if f not in (APPEND, READ):
            raise HistoryError(f"{where}: micro-op {i} has f {f!r}; list-append knows only 'append' and 'r'")
        if not _key_ok(k):
            raise HistoryError(f"{where}: micro-op {i} has key {k!r}; keys must be strings or integers")
        if f == APPEND:
            if not _elem_ok(v):
                raise HistoryError(f"{where}: micro-op {i} appends {v!r}; elements must be numbers or strings")
        elif op.ok:
            if v is None and nil_read_empty:
                v = []  # Elle: a nil read of a key is the empty list (elle/list_append.clj)
            if not isinstance(v, list):
                raise HistoryError(f"{where}: micro-op {i} reads {k!r} as {v!r}; an ok read must be a list of elements")
            # Elements are checked in versions.py, once per distinct read
            # rather than once per read: reads repeat each other's prefixes.
        else:
            v = None  # an unfinished read observed nothing we can trust
        if op.ok and isinstance(inv, list):
            im = inv[i]
            if not isinstance(im, (list, tuple)) or len(im) != 3 or im[0] != f or im[1] != k:
                raise HistoryError(
                    f"{where}: micro-op {i} {[f, k]!r} does not match the invoke's {im!r} (event {op.invoke_index})"
                )
        mops.append((f, k, v))
    return mops


def _summarise(txn: Txn) -> None:
    """Fills appends and ext_reads; internal consistency is judged elsewhere."""
    for f, k, v in txn.mops:
        if f == APPEND:
            txn.appends.setdefault(k, []).append(v)
        elif v is not None and k not in txn.ext_reads:
            own = len(txn.appends.get(k, ()))
            # Strip our own appends from the tail: what remains is what other
            # txns had appended when we read (if the read is internally sane).
            if own and v[-own:] == txn.appends[k]:
                txn.ext_reads[k] = v[:-own]
            elif not own:
                txn.ext_reads[k] = v


def parse_txns(history: list[dict], *, nil_read_empty: bool = False) -> tuple[list[Txn], int]:
    """Returns the txns (failed ones included) and how many non-txn ops were skipped.
    `nil_read_empty`: Jepsen's reading, a read of nil in an ok txn saw the empty list."""
    if not isinstance(history, list):
        raise HistoryError(f"a history must be a list of events, got {type(history).__name__}")
    txns: list[Txn] = []
    skipped = 0
    for op in pair(history).ops:
        if op.f != TXN_F:
            skipped += 1
            continue
        t = Txn(id=len(txns), op=op, mops=_parse_mops(op, nil_read_empty))
        _summarise(t)
        txns.append(t)
    return txns, skipped
