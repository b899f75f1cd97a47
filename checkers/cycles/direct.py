"""Anomalies visible without a cycle: aborted reads (G1a), intermediate reads
(G1b), reads of elements nobody appended, internal inconsistency and lost
updates.

These need only the writer index, so they are cheap linear scans, and they
hold even when the dependency graph is acyclic.
"""

from __future__ import annotations

from typing import Any, Hashable

from unkindness.checkers.cycles.txns import APPEND, Txn
from unkindness.checkers.cycles.versions import Versions, short_list


def _note(out: dict[str, list], kind: str, item: dict) -> None:
    out.setdefault(kind, []).append(item)


def _bad_elements(v: Versions, key: Hashable, read: list) -> tuple[Any, Any]:
    """The first element of ``read`` appended by a failed txn, and the first appended by nobody."""
    wk = v.writers.get(key, {})
    aborted = garbage = None
    if not wk.keys() >= set(read) or not v.aborted.get(key, set()).isdisjoint(read):
        for e in read:
            w = wk.get(e)
            if w is None:
                garbage = e if garbage is None else garbage
            elif w in v.dead:
                aborted = e if aborted is None else aborted
    return aborted, garbage


def _scan_reads(txns: list[Txn], v: Versions, out: dict[str, list]) -> None:
    # Every compatible read is a prefix of its key's version order, so checking
    # the orders and the incompatible reads covers every element read.
    checks = [(v.order_reader[k], k, order) for k, order in v.order.items()] + v.incompatible
    for tid, key, val in checks:
        t = txns[tid]
        aborted, garbage = _bad_elements(v, key, val)
        if aborted is not None:
            wt = txns[v.writers[key][aborted]]
            _note(out, "G1a", {
                "key": key, "value": aborted, "read": val,
                "reader": t.describe(), "writer": wt.describe(),
                "explanation": (
                    f"the txn invoked at event {t.op.invoke_index} (process {t.op.process}) read key "
                    f"{key!r} = {short_list(val)}, which includes {aborted!r}, appended by the txn invoked at "
                    f"event {wt.op.invoke_index}, which failed and so never took effect (aborted read)"
                ),
            })
        if garbage is not None:
            _note(out, "garbage-read", {
                "key": key, "value": garbage, "read": val, "reader": t.describe(),
                "explanation": (
                    f"the txn invoked at event {t.op.invoke_index} read key {key!r} = {short_list(val)}, "
                    f"which includes {garbage!r}, but no txn in the history ever appended it"
                ),
            })
    for t in txns:
        if not t.ok:
            continue
        for key, read in t.ext_reads.items():
            if not read or read[-1] not in v.intermediate.get(key, ()):
                continue
            w = v.live_writer(key, read[-1])
            if w is None or w == t.id:
                continue
            wt = txns[w]
            _note(out, "G1b", {
                "key": key, "value": read[-1], "final_value": wt.appends[key][-1], "read": read,
                "reader": t.describe(), "writer": wt.describe(),
                "explanation": (
                    f"the txn invoked at event {t.op.invoke_index} read key {key!r} = {short_list(read)}, "
                    f"ending at {read[-1]!r}, an intermediate state of the txn invoked at event "
                    f"{wt.op.invoke_index}, which went on to append {wt.appends[key][-1]!r} to the same key "
                    f"(intermediate read)"
                ),
            })


def _internal(t: Txn, out: dict[str, list]) -> None:
    """A txn's reads must agree with its own earlier reads and appends."""
    known: dict[Hashable, list] = {}  # key -> state at the last read, plus appends since
    pending: dict[Hashable, list] = {}  # key -> own appends with no read since
    later: dict[Hashable, set] = {k: set(vs) for k, vs in t.appends.items()}
    for i, (f, key, val) in enumerate(t.mops):
        if f == APPEND:
            pending.setdefault(key, []).append(val)
            later[key].discard(val)
            continue
        own = pending.pop(key, [])
        problem = None
        if key in known:
            expected = known[key] + own
            if val != expected:
                problem = (expected, f"expected {short_list(expected)}: its previous read plus its own appends since")
        elif own and val[-len(own):] != own:
            problem = ({"ends_with": own}, f"expected a list ending with its own appends {own!r}")
        lk = later.get(key)
        future = [e for e in val if e in lk] if lk else []
        if problem is None and future:
            problem = (None, f"it contains {future!r}, which this txn appends only later")
        if problem is not None:
            _note(out, "internal", {
                "key": key, "mop_index": i, "read": val, "expected": problem[0], "op": t.describe(),
                "explanation": (
                    f"the txn invoked at event {t.op.invoke_index} (process {t.op.process}) read key "
                    f"{key!r} = {short_list(val)} at micro-op {i}, but {problem[1]} (internal inconsistency)"
                ),
            })
        known[key] = val


def _lost_updates(txns: list[Txn], out: dict[str, list]) -> None:
    """Two committed txns that read the same state of a key and both appended to it.

    In any serial order the later of them would have seen the other's append,
    so one update was lost. Unlike the G2-item cycle this needs no later read
    of the key, so it holds when the version order is incomplete.
    """
    groups: dict[tuple, list[int]] = {}
    for t in txns:
        if not t.ok:
            continue
        for key in t.appends:
            read = t.ext_reads.get(key)
            if read is not None:
                groups.setdefault((key, (read[-1],) if read else ()), []).append(t.id)
    for (key, last), tids in groups.items():
        if len(tids) < 2:
            continue
        state = f"ending at {last[0]!r}" if last else "empty"
        _note(out, "lost-update", {
            "key": key, "value": last[0] if last else None, "ops": [txns[i].describe() for i in tids],
            "explanation": (
                f"{len(tids)} committed txns (invoked at events "
                f"{', '.join(str(txns[i].op.invoke_index) for i in tids)}) each read key {key!r} {state} "
                f"and then appended to it; whichever ran second should have seen the other's append "
                f"(lost update)"
            ),
        })


def find_direct_anomalies(txns: list[Txn], v: Versions) -> dict[str, list]:
    out: dict[str, list] = {}
    _scan_reads(txns, v, out)
    for t in txns:
        if t.ok:
            _internal(t, out)
    _lost_updates(txns, out)
    return out
